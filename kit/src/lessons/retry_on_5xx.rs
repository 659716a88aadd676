//! Lesson 3, retry on 5xx, never on 4xx: the judge has `get_with_retry` call its scripted
//! servers, with a client and a policy it describes, and hears back what the call returned.

use std::net::{IpAddr, SocketAddr};
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
    /// Where the client's host name lookups lead (a URL may name a host, so that each
    /// connection attempt starts with a lookup the adapter counts).
    pub resolves_to: IpAddr,
    /// A header the client sends with every request, so that calls sharing one URL (as a
    /// herd of clients of one service does) can be told apart by the judge's server.
    pub tag: Option<(String, String)>,
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
        let resolver = CountingResolver { to: call.resolves_to, lookups: Arc::default() };
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some((name, value)) = &call.tag
            && let (Ok(name), Ok(value)) =
                (name.parse::<reqwest::header::HeaderName>(), value.parse())
        {
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(call.client_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .dns_resolver(Arc::new(resolver.clone()))
            .build()
            .expect("a client without TLS always builds");
        let returned =
            adapter::seen((self.get_with_retry)(&client, &call.url, &call.policy()).await).await;
        Came { returned, lookups: resolver.lookups() }
    }
}

/// Resolves every host name to the address the judge chose, counting each lookup: a refused
/// connection leaves no trace at any server, but each attempt to open one starts with a lookup.
#[derive(Debug, Clone)]
struct CountingResolver {
    to: IpAddr,
    lookups: Arc<AtomicU32>,
}

impl CountingResolver {
    fn lookups(&self) -> u32 {
        self.lookups.load(Ordering::SeqCst)
    }
}

impl reqwest::dns::Resolve for CountingResolver {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let address: reqwest::dns::Addrs = Box::new(std::iter::once(SocketAddr::new(self.to, 0)));
        Box::pin(std::future::ready(Ok(address)))
    }
}
