//! Lesson 6, idempotency keys: the judge has `app` served in front of a payment processor it
//! runs, has `new_idempotency_key` make keys, and has `pay` call a payments server of its own
//! with them.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::RetryPolicy;
use crate::adapter::{self, Handler, SeenError, SeenResponse};
use crate::fixtures::{Payment, Upstream, UpstreamSetup};
pub use crate::lessons::wire::Policy;

/// What the exercise exports besides `app` and `new_idempotency_key`: `pay`, as any async
/// function of its shape.
pub trait Pay:
    AsyncFn(
        &reqwest::Client,
        &str,
        &Payment,
        &str,
        &RetryPolicy,
    ) -> Result<reqwest::Response, reqwest::Error>
    + 'static
{
}

impl<F> Pay for F where
    F: AsyncFn(
            &reqwest::Client,
            &str,
            &Payment,
            &str,
            &RetryPolicy,
        ) -> Result<reqwest::Response, reqwest::Error>
        + 'static
{
}

pub type App = fn(Upstream) -> Router;

pub type NewKey = fn() -> String;

/// The `main` of lesson 6's check targets.
pub fn main(built_from: Option<&str>, app: App, new_key: NewKey, pay: impl Pay) -> ExitCode {
    adapter::main(built_from, Adapter { app, new_key, pay })
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Call {
    Serve {
        processor: UpstreamSetup,
    },
    /// `new_idempotency_key()`, `count` times.
    NewKeys {
        count: usize,
    },
    Pay {
        url: String,
        payment: Payment,
        key: String,
        policy: Policy,
        client_timeout: Duration,
    },
}

/// Each call's reply: the base URL of a served app, the keys made, or what `pay` did.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Served(Result<String, String>),
    Keys(Vec<String>),
    Paid(Result<SeenResponse, SeenError>),
}

#[derive(Debug)]
pub struct Adapter<P> {
    pub app: App,
    pub new_key: NewKey,
    pub pay: P,
}

impl<P: Pay> Handler for Adapter<P> {
    type Call = Call;
    type Reply = Reply;

    async fn handle(self: Rc<Self>, call: Call) -> Reply {
        match call {
            Call::Serve { processor } => {
                Reply::Served(adapter::serve_app(|| (self.app)(Upstream::new(processor))).await)
            }
            Call::NewKeys { count } => Reply::Keys((0..count).map(|_| (self.new_key)()).collect()),
            Call::Pay { url, payment, key, policy, client_timeout } => {
                adapter::ensure_log();
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(client_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("a client without TLS always builds");
                let paid = (self.pay)(&client, &url, &payment, &key, &policy.into()).await;
                Reply::Paid(adapter::seen(paid).await)
            }
        }
    }
}
