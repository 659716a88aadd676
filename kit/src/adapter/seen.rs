//! What a learner's client function returned, read whole by the adapter for the judge to
//! compare with what its own server sent: [`SeenResponse`] or [`SeenError`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest body read from a returned response.
const BODY_LIMIT: usize = 64 * 1024;

/// A response a learner's client function returned, read whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body, or what kept it from being read.
    pub body: Result<String, String>,
}

/// An error a learner's client function returned, with reqwest's own classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenError {
    pub text: String,
    pub builder: bool,
    pub connect: bool,
    pub timeout: bool,
    pub status: Option<u16>,
}

impl SeenError {
    pub fn of(error: &reqwest::Error) -> Self {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Self {
            text,
            builder: error.is_builder(),
            connect: error.is_connect(),
            timeout: error.is_timeout(),
            status: error.status().map(|status| status.as_u16()),
        }
    }
}

/// What a client function returned, as the judge reads it.
pub async fn seen(
    returned: Result<reqwest::Response, reqwest::Error>,
) -> Result<SeenResponse, SeenError> {
    let response = returned.map_err(|error| SeenError::of(&error))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect();
    let body = super::read_body(response, BODY_LIMIT, Duration::from_secs(2))
        .await
        .map(|body| String::from_utf8_lossy(&body).into_owned());
    Ok(SeenResponse { status, headers, body })
}
