//! What crosses between the judge and the learner's process: JSON lines on one connection, a
//! socket the runner hands the learner's process as its standard input.
//!
//! The learner's process (the [`adapter`](crate::adapter)) only ever *answers*: the judge sends a
//! [`Request`] ("call `parse_retry_after` with this", "serve `app` over this database") and the
//! adapter sends back a [`Response`] with what the learner's code returned. No verdict crosses
//! this line in either direction; the judge decides every one from what it saw.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The command-line flag with which the runner starts a check target: the control connection
/// is then the process's standard input (a socket the runner holds the other end of), which the
/// adapter takes for itself before any learner code runs, leaving `/dev/null` in its place.
/// Nothing secret is on the command line or in the environment: the connection is the secret.
pub const CONTROL_ON_STDIN: &str = "--control-on-stdin";

/// The first line the adapter sends, before any learner code has run: what it could not have
/// been told by learner code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub sandbox: Sandbox,
    /// The SHA-256 of the learner's file as the runner saw it when it asked cargo for this
    /// binary (cargo rebuilds the binary when this changes); `None` when built by other means.
    pub built_from: Option<String>,
}

/// What the learner's process is walled in by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sandbox {
    pub landlock: Confinement,
    pub seccomp: bool,
}

impl Sandbox {
    /// Everything this sandbox is made of is in force.
    pub fn complete(&self) -> bool {
        self.landlock == Confinement::Full && self.seccomp
    }
}

/// How much of a Landlock policy the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confinement {
    Full,
    /// An older kernel: the parts it knows of.
    Partial,
    Missing,
}

/// How the adapter's flush lines start; the judge leaves them out of what it shows of the log.
pub const FLUSH_LINE_PREFIX: &str = "httplings: flush ";

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
    /// The adapter writes a line starting with [`FLUSH_LINE_PREFIX`] and `marker` on stdout and
    /// on stderr, after what learner code wrote there so far, and answers: once the judge reads
    /// both lines, it knows the log up to now.
    Flush { marker: String },
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
    Flushed,
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
