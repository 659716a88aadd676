//! Lesson 2, 503 and Retry-After: the judge has `app` served and its database taken down and
//! up, `parse_retry_after` called on values it chooses, and `retry_after` read from responses
//! its own server sends.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::adapter::{self, Handler};
use crate::fixtures::{Database, DatabaseSetup};

/// The three functions the exercise exports.
#[derive(Debug, Clone, Copy)]
pub struct Exercise {
    pub app: fn(Database) -> Router,
    pub parse_retry_after: fn(&str, SystemTime) -> Option<Duration>,
    pub retry_after: fn(&reqwest::Response) -> Option<Duration>,
}

/// The `main` of lesson 2's check targets.
pub fn main(built_from: Option<&str>, exercise: Exercise) -> ExitCode {
    adapter::main(built_from, Adapter::new(exercise))
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Call {
    Serve(DatabaseSetup),
    SetDown(bool),
    /// `now` is the time since the Unix epoch.
    Parse {
        value: String,
        now: Duration,
    },
    RetryAfter {
        url: String,
    },
}

/// What a call returned, as the judge reads it: the value alone (`Served` as the
/// `Result<String, String>` every lesson's `app()` replies with).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Served(Result<String, String>),
    Done,
    Parsed(Option<Duration>),
    /// What `retry_after` read, or why there was no response to read.
    Read(Result<Option<Duration>, String>),
}

#[derive(Debug)]
pub struct Adapter {
    exercise: Exercise,
    databases: RefCell<Vec<Database>>,
}

impl Adapter {
    pub fn new(exercise: Exercise) -> Self {
        Self { exercise, databases: RefCell::default() }
    }
}

impl Handler for Adapter {
    type Call = Call;
    type Reply = Reply;

    async fn handle(self: Rc<Self>, call: Call) -> Reply {
        match call {
            Call::Serve(setup) => {
                let db = Database::new(setup);
                self.databases.borrow_mut().push(db.clone());
                Reply::Served(adapter::serve_app(|| (self.exercise.app)(db)).await)
            }
            Call::SetDown(down) => {
                self.databases.borrow().iter().for_each(|db| db.set_down(down));
                Reply::Done
            }
            Call::Parse { value, now } => {
                Reply::Parsed((self.exercise.parse_retry_after)(&value, UNIX_EPOCH + now))
            }
            Call::RetryAfter { url } => {
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("a client without TLS always builds");
                let response = match client.get(url).send().await {
                    Ok(response) => response,
                    Err(error) => return Reply::Read(Err(error.to_string())),
                };
                Reply::Read(Ok((self.exercise.retry_after)(&response)))
            }
        }
    }
}
