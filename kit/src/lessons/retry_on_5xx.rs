//! Lesson 3, retry on 5xx, never on 4xx: the judge has `get_with_retry` call its scripted
//! servers, with a client and a policy it describes, and hears back what the call returned.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    /// connection attempt starts with a lookup).
    pub resolves_to: IpAddr,
    /// A server of the judge's told of each lookup before it is answered: a refused connection
    /// leaves no trace anywhere else, and so the judge sees each attempt to open one, and when.
    pub lookups_told_to: Option<SocketAddr>,
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
        let resolver = TellingResolver {
            to: call.resolves_to,
            told: call.lookups_told_to,
            tag: call.tag.clone(),
        };
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
            .dns_resolver(Arc::new(resolver))
            .build()
            .expect("a client without TLS always builds");
        let returned =
            adapter::seen((self.get_with_retry)(&client, &call.url, &call.policy()).await).await;
        Came { returned }
    }
}

/// Resolves every host name to the address the judge chose, once the judge's server has heard
/// of the lookup: each attempt to open a connection starts with one, and a refused connection
/// leaves no trace anywhere else.
#[derive(Debug, Clone)]
struct TellingResolver {
    to: IpAddr,
    told: Option<SocketAddr>,
    tag: Option<(String, String)>,
}

impl reqwest::dns::Resolve for TellingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            if let Some(server) = this.told {
                tell(server, name.as_str(), this.tag.as_ref()).await;
            }
            let address: reqwest::dns::Addrs =
                Box::new(std::iter::once(SocketAddr::new(this.to, 0)));
            Ok(address)
        })
    }
}

/// Tells `server` of a lookup of `host` (with the call's tag, as the call's requests carry it),
/// and waits for its answer, so that the lookup is on record before the attempt it leads to.
async fn tell(server: SocketAddr, host: &str, tag: Option<&(String, String)>) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(server).await else { return };
    let tag = tag.map(|(name, value)| format!("{name}: {value}\r\n")).unwrap_or_default();
    let request =
        format!("GET /lookup/{host} HTTP/1.1\r\nhost: {server}\r\n{tag}connection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_ok() {
        let _ = stream.read_to_end(&mut Vec::new()).await;
    }
}
