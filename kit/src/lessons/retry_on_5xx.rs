//! Lesson 3, retry on 5xx, never on 4xx: the judge has `get_with_retry` call its scripted
//! servers, with a client and a policy it describes, and hears back what the call returned.

use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::RetryPolicy;
use crate::adapter::{self, Handler, SeenError, SeenResponse};

/// What the exercise exports: `get_with_retry`, as any async function of its shape.
pub trait GetWithRetry:
    AsyncFn(&reqwest::Client, &str, &RetryPolicy) -> Result<reqwest::Response, reqwest::Error> + 'static
{
}

impl<F> GetWithRetry for F where
    F: AsyncFn(&reqwest::Client, &str, &RetryPolicy) -> Result<reqwest::Response, reqwest::Error>
        + 'static
{
}

/// The `main` of lesson 3's check targets.
pub fn main(built_from: Option<&str>, get_with_retry: impl GetWithRetry) -> ExitCode {
    adapter::main(built_from, Adapter { get_with_retry })
}

/// One call of `get_with_retry`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub url: String,
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The timeout of the client handed to the learner's code.
    pub client_timeout: Duration,
}

impl Call {
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay: self.base_delay,
            max_delay: self.max_delay,
        }
    }
}

/// What the call came to, as the adapter saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Came {
    pub returned: Result<SeenResponse, SeenError>,
    /// How many times the client looked up a host name: one per connection it tried to open.
    pub lookups: u32,
}

#[derive(Debug)]
pub struct Adapter<F> {
    pub get_with_retry: F,
}

impl<F: GetWithRetry> Handler for Adapter<F> {
    type Call = Call;
    type Reply = Came;

    async fn handle(self: Rc<Self>, call: Call) -> Came {
        adapter::ensure_log();
        let resolver = CountingResolver::default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(call.client_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver.clone()))
            .build()
            .expect("a client without TLS always builds");
        let returned =
            adapter::seen((self.get_with_retry)(&client, &call.url, &call.policy()).await).await;
        Came { returned, lookups: resolver.lookups() }
    }
}

/// Resolves every host name to the loopback address, counting each lookup: a refused connection
/// leaves no trace at any server, but each attempt to open one starts with a lookup.
#[derive(Debug, Default, Clone)]
struct CountingResolver(Arc<AtomicU32>);

impl CountingResolver {
    fn lookups(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

impl reqwest::dns::Resolve for CountingResolver {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.0.fetch_add(1, Ordering::SeqCst);
        let loopback: reqwest::dns::Addrs =
            Box::new(std::iter::once(std::net::SocketAddr::from(([127, 0, 0, 1], 0))));
        Box::pin(std::future::ready(Ok(loopback)))
    }
}
