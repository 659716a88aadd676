//! What crosses between the judge and the learner's process: JSON lines on one loopback
//! connection that the learner's process opens to the judge at start-up.
//!
//! The learner's process (the [`adapter`](crate::adapter)) only ever *answers*: the judge sends a
//! [`Request`] ("call `parse_retry_after` with this", "serve `app` over this database") and the
//! adapter sends back a [`Response`] with what the learner's code returned. No verdict crosses
//! this line in either direction; the judge decides every one from what it saw.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The command-line flag that names the judge's address for the control connection.
pub const CONTROL_FLAG: &str = "--control";

/// The command-line flag that carries the token the adapter greets the judge with, so that
/// the judge talks only to the process it started.
pub const TOKEN_FLAG: &str = "--token";

/// The first line the adapter sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub token: String,
}

/// One request from the judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    /// The adapter gives up on the call after this long (the judge waits a little longer,
    /// and draws its own conclusions if even that passes).
    pub deadline_ms: u64,
    pub body: RequestBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "call", rename_all = "snake_case")]
pub enum RequestBody {
    /// Answered by the adapter's control loop itself: a late pong means learner code is
    /// blocking the thread that runs it.
    Ping,
    /// A lesson-specific call, in that lesson's own types.
    Call(Value),
}

/// One answer from the adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    pub body: ResponseBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ResponseBody {
    Pong,
    /// The call returned; the value is in the lesson's reply type.
    Returned(Value),
    /// Learner code panicked during the call: the message, and where when known.
    Panicked(String),
    /// The call was still running at its deadline and was dropped.
    TimedOut,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_are_one_line_each() {
        let request = Request { id: 7, deadline_ms: 500, body: RequestBody::Call(Value::from(1)) };
        let line = serde_json::to_string(&request).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), request);
        let response = Response { id: 7, body: ResponseBody::Panicked("a\nb".into()) };
        let line = serde_json::to_string(&response).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Response>(&line).unwrap(), response);
    }
}
