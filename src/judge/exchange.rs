//! [`Exchange`]: one request to a learner's server and what came back, timed by the judge;
//! [`Client`]: the judge's client for one server, which sends requests one at a time, all at
//! once ([`Client::burst`]: released together, down to the last byte), or hangs up on them;
//! [`KeptAlive`]: connections kept open between requests, for bursts on connections that carried
//! requests before.

mod burst;
mod kept;

use std::time::{Duration, Instant};

use axum::http::Method;

use super::answer::{Answer, describe};
use super::bounds::PATIENCE;

/// How long after it is asked for a burst's requests are released together: a walk that wants
/// a burst to land at a moment starts it this much earlier.
pub use self::burst::SETTLE as BURST_SETTLE;
pub use self::kept::KeptAlive;

/// A request the judge sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// Path and query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// A POST of `body` as JSON.
    pub fn post_json(path: impl Into<String>, body: &serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// How a report names it: `GET /orders/7`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// One request and what came back, with the judge's times: when it went, when the answer was
/// whole (or the attempt given up).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Request,
    pub sent: Instant,
    pub received: Instant,
    /// The answer, or what the client saw instead, in a learner's words.
    pub answer: Result<Answer, String>,
}

impl Exchange {
    pub fn took(&self) -> Duration {
        self.received.duration_since(self.sent)
    }

    pub fn status(&self) -> Option<u16> {
        self.answer.as_ref().ok().map(|answer| answer.status.as_u16())
    }

    pub fn answer(&self) -> Option<&Answer> {
        self.answer.as_ref().ok()
    }
}

/// The judge's client for one server: no proxy, no redirects, a deadline on every answer.
#[derive(Debug, Clone)]
pub struct Client {
    /// `http://127.0.0.1:port`.
    pub base: String,
    http: reqwest::Client,
    timeout: Duration,
}

impl Client {
    pub fn new(base: impl Into<String>) -> Self {
        Self::with_timeout(base, PATIENCE)
    }

    /// A client that gives up on an answer after `timeout`.
    pub fn with_timeout(base: impl Into<String>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .expect("a client without TLS always builds");
        Self { base: base.into(), http, timeout }
    }

    pub async fn get(&self, path: &str) -> Exchange {
        self.send(Request::get(path)).await
    }

    pub async fn send(&self, request: Request) -> Exchange {
        let sent = Instant::now();
        let answer = Answer::send(self.builder(&request)).await;
        Exchange { request, sent, received: Instant::now(), answer }
    }

    /// Sends `request` and hangs up after `after`, unless the answer came first: a caller who
    /// stops waiting.
    pub async fn hang_up_after(&self, request: Request, after: Duration) -> Exchange {
        let sent = Instant::now();
        let answer = match tokio::time::timeout(after, Answer::send(self.builder(&request))).await {
            Ok(answer) => answer,
            Err(_) => Err("(the judge hung up)".to_string()),
        };
        Exchange { request, sent, received: Instant::now(), answer }
    }

    /// Sends every request at the same moment, each on a connection of its own opened
    /// beforehand: all but the last byte of each goes out first, then the last bytes together,
    /// so that the server's handlers start within microseconds of each other.
    pub async fn burst(&self, requests: Vec<Request>) -> Vec<Exchange> {
        burst::send(&self.base, requests, self.timeout).await
    }

    fn builder(&self, request: &Request) -> reqwest::RequestBuilder {
        let mut builder =
            self.http.request(request.method.clone(), format!("{}{}", self.base, request.path));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder.body(request.body.clone())
    }
}

/// `text` as one path segment of a request: every byte but letters, digits, `-`, `.`, `_` and
/// `~` percent-encoded, and the dots too when it is nothing but dots. Sent by [`Client::burst`],
/// which puts a path on the wire as it is, `%2E%2E` reaches a server unresolved; a client that
/// parses URLs (reqwest) resolves it as `..`.
pub fn segment(text: &str) -> String {
    let dots = text.bytes().all(|byte| byte == b'.');
    let kept = |byte: u8| {
        byte.is_ascii_alphanumeric() || b"-_~".contains(&byte) || (byte == b'.' && !dots)
    };
    text.bytes()
        .map(|byte| if kept(byte) { char::from(byte).to_string() } else { format!("%{byte:02X}") })
        .collect()
}

/// Says what a client saw when no answer came (re-exported for the lessons' own clients).
pub fn no_answer(error: &reqwest::Error) -> String {
    describe(error)
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn a_segment_escapes_what_would_end_or_split_it_and_dots_alone() {
        assert_eq!(segment("BRK.B"), "BRK.B");
        assert_eq!(segment("../admin"), "..%2Fadmin");
        assert_eq!(segment("A?b=1#c d%"), "A%3Fb%3D1%23c%20d%25");
        assert_eq!(segment(".."), "%2E%2E");
    }
}
