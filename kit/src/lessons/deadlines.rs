//! Lesson 7, deadlines: the judge has `get_before` call its scripted servers with a deadline it
//! describes (so many milliseconds from now, or already passed), and has `app` served in front of
//! an upstream it runs.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::RetryPolicy;
use crate::adapter::{self, Handler, SeenError, SeenResponse};
use crate::fixtures::{GaveUp, Upstream, UpstreamSetup};
pub use crate::lessons::wire::Policy;

/// What the exercise exports besides `app`: `get_before`, as any async function of its shape.
pub trait GetBefore:
    AsyncFn(&reqwest::Client, &str, Instant, RetryPolicy) -> Result<reqwest::Response, GaveUp> + 'static
{
}

impl<F> GetBefore for F where
    F: AsyncFn(&reqwest::Client, &str, Instant, RetryPolicy) -> Result<reqwest::Response, GaveUp>
        + 'static
{
}

/// The exercise's gateway: `GET /quotes/{symbol}` in front of `upstream`.
pub type App = fn(Upstream) -> Router;

/// The `main` of lesson 7's check targets.
pub fn main(built_from: Option<&str>, app: App, get_before: impl GetBefore) -> ExitCode {
    adapter::main(built_from, Adapter { app, get_before })
}

/// A deadline, as the judge describes it: an `Instant` means nothing in another process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deadline {
    /// So long after the call reaches the learner's process.
    In(Duration),
    /// Passed already, so long ago.
    Passed(Duration),
}

impl Deadline {
    /// The deadline as an `Instant` of this process, counted from now.
    pub fn instant(self) -> Instant {
        let now = Instant::now();
        match self {
            Deadline::In(left) => now + left,
            Deadline::Passed(ago) => now.checked_sub(ago).unwrap_or(now),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Call {
    /// Serve `app` in front of this upstream.
    Serve { upstream: UpstreamSetup },
    /// Call `get_before` with a client whose own timeout is `client_timeout` (longer than any
    /// deadline: keeping the deadline is the learner's work).
    GetBefore { url: String, deadline: Deadline, policy: Policy, client_timeout: Duration },
}

/// Why `get_before` came back without a response, as the judge reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gave {
    DeadlineExceeded,
    Transport(SeenError),
}

/// Each call's reply: the base URL of a served app, or what `get_before` returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    Served(Result<String, String>),
    Got(Result<SeenResponse, Gave>),
}

#[derive(Debug)]
pub struct Adapter<G> {
    pub app: App,
    pub get_before: G,
}

impl<G: GetBefore> Handler for Adapter<G> {
    type Call = Call;
    type Reply = Reply;

    async fn handle(self: Rc<Self>, call: Call) -> Reply {
        match call {
            Call::Serve { upstream } => {
                Reply::Served(adapter::serve_app(|| (self.app)(Upstream::new(upstream))).await)
            }
            Call::GetBefore { url, deadline, policy, client_timeout } => {
                adapter::ensure_log();
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(client_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("a client without TLS always builds");
                let returned =
                    (self.get_before)(&client, &url, deadline.instant(), policy.into()).await;
                Reply::Got(match returned {
                    Ok(response) => adapter::seen(Ok(response)).await.map_err(Gave::Transport),
                    Err(GaveUp::DeadlineExceeded) => Err(Gave::DeadlineExceeded),
                    Err(GaveUp::Transport(error)) => Err(Gave::Transport(SeenError::of(&error))),
                })
            }
        }
    }
}
