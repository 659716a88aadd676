//! How a report names what a learner's client function returned (lessons 3 and 6).

use httplings::adapter::SeenError;

/// An error in a few words, for a request log.
pub(crate) fn short(error: &SeenError) -> String {
    if let Some(status) = error.status {
        format!("Err(an error made from the {status} response)")
    } else if error.builder {
        "Err(the request could not be built)".into()
    } else if error.connect {
        "Err(could not connect)".into()
    } else if error.timeout {
        "Err(timed out)".into()
    } else {
        "Err(the connection failed)".into()
    }
}
