//! What crosses the wire in lesson 3: the judge asks the learner's process to call
//! `get_with_retry` with a client built to its description, and hears back what came of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::RetryPolicy;

/// One call of `get_with_retry`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Call {
    pub(super) url: String,
    pub(super) max_attempts: u32,
    pub(super) base_delay: Duration,
    pub(super) max_delay: Duration,
    /// The timeout of the client handed to the learner's code.
    pub(super) client_timeout: Duration,
}

impl Call {
    pub(super) fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay: self.base_delay,
            max_delay: self.max_delay,
        }
    }
}

/// What the call came to, as the adapter saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Came {
    pub(super) returned: Result<SeenResponse, SeenError>,
    /// How many times the client looked up a host name: one per connection it tried to open.
    pub(super) lookups: u32,
}

/// A response a learner's client function returned, read whole (lessons 3 and 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeenResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    /// The body, or what kept it from being read.
    pub(crate) body: Result<String, String>,
}

/// An error a learner's client function returned, with reqwest's own classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeenError {
    pub(crate) text: String,
    pub(crate) builder: bool,
    pub(crate) connect: bool,
    pub(crate) timeout: bool,
    pub(crate) status: Option<u16>,
}

impl SeenError {
    pub(crate) fn of(error: &reqwest::Error) -> Self {
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

    /// In a few words, for a request log.
    pub(crate) fn short(&self) -> String {
        if let Some(status) = self.status {
            format!("Err(an error made from the {status} response)")
        } else if self.builder {
            "Err(the request could not be built)".into()
        } else if self.connect {
            "Err(could not connect)".into()
        } else if self.timeout {
            "Err(timed out)".into()
        } else {
            "Err(the connection failed)".into()
        }
    }
}

/// Resolves every host name to the loopback address, counting each lookup: a refused connection
/// leaves no trace at any server, but each attempt to open one starts with a lookup.
#[derive(Debug, Default, Clone)]
pub(super) struct CountingResolver(Arc<AtomicU32>);

impl CountingResolver {
    pub(super) fn lookups(&self) -> u32 {
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
