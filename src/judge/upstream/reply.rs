//! [`Reply`]: what an upstream does with one request, and how it is put on the wire.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// What the upstream does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A whole response: `content-length` is added.
    Respond { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// These bytes, as they are (not HTTP, say), then the connection closed.
    Raw(Vec<u8>),
    /// The connection reset (RST) at once, without a word.
    Reset,
    /// A head that promises `promised` bytes of body, the first of them (`sent`), then a reset.
    CutOff { status: u16, promised: usize, sent: Vec<u8> },
    /// A head that promises more body than comes, part of it, then nothing until the client
    /// hangs up: an answer that stalls half-way.
    Stalled { status: u16, promised: usize, sent: Vec<u8> },
    /// A whole response, written `chunk` bytes at a time, `every` apart: a head that trickles,
    /// or a head in time and a body that trickles, as the chunk size makes it.
    Trickle { response: Box<Reply>, chunk: usize, every: Duration },
    /// A whole response whose head goes at once and whose body follows `chunk` bytes at a time,
    /// `every` apart: an answer that starts in time and takes long to finish.
    TrickleBody { response: Box<Reply>, chunk: usize, every: Duration },
    /// A whole response (or raw bytes), the first `at_once` bytes of it at once, then nothing
    /// for `pause`, then the rest `chunk` bytes at a time, `every` apart: a body too big to wait
    /// for, which a client with a limit gives up on at once, and one without reads on long after.
    Paced { response: Box<Reply>, at_once: usize, pause: Duration, chunk: usize, every: Duration },
    /// Nothing, until the client hangs up.
    Silence,
    /// Another reply, after a while.
    Delayed(Duration, Box<Reply>),
    /// Another reply, once the judge opens `release`, or after `at_most` if it never does: an
    /// answer held for as long as something else takes, however busy the machine is.
    Held { release: Release, at_most: Duration, then: Box<Reply> },
}

/// What lets a [`Reply::Held`] go: opened once, by the judge, for every reply that holds it.
#[derive(Debug, Clone)]
pub struct Release(watch::Sender<bool>);

impl Default for Release {
    fn default() -> Self {
        Self(watch::channel(false).0)
    }
}

impl Release {
    /// Lets every reply held by it go (and any held by it from now on, at once).
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn opened(&self) {
        let _ = self.0.subscribe().wait_for(|open| *open).await;
    }
}

/// Two releases are the same when they are one switch.
impl PartialEq for Release {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_channel(&other.0)
    }
}

impl Eq for Release {}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        let headers = vec![("content-type".into(), "application/json".into())];
        Reply::Respond { status, headers, body: body.to_string().into_bytes() }
    }

    /// A response with no body but its status.
    pub fn status(status: u16) -> Self {
        Reply::Respond { status, headers: Vec::new(), body: Vec::new() }
    }

    /// The same reply, with a header added (for a `Respond`; others are left as they are).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// How long after the exchange began its last byte goes out, as planned: `None` when
    /// that waits on the client or on the judge, or is not planned to the byte.
    pub fn written_after(&self) -> Option<Duration> {
        match self {
            Reply::Respond { .. } => Some(Duration::ZERO),
            Reply::Delayed(delay, later) => Some(*delay + later.written_after()?),
            Reply::TrickleBody { response, chunk, every } => {
                let Reply::Respond { body, .. } = response.as_ref() else { return None };
                Some(*every * body.len().div_ceil((*chunk).max(1)) as u32)
            }
            _ => None,
        }
    }

    /// The status it sends, if it sends one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Reply::Respond { status, .. }
            | Reply::CutOff { status, .. }
            | Reply::Stalled { status, .. } => Some(*status),
            Reply::Trickle { response, .. }
            | Reply::TrickleBody { response, .. }
            | Reply::Paced { response, .. }
            | Reply::Delayed(_, response)
            | Reply::Held { then: response, .. } => response.status_code(),
            Reply::Raw(_) | Reply::Reset | Reply::Silence => None,
        }
    }
}

/// How an exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The reply was written whole; the connection closed.
    Closed,
    /// The reply was written whole; the connection stays open for another request.
    KeptOpen,
    /// The client hung up first.
    HungUp,
}

/// Puts `reply` on the wire.
pub(super) async fn send(stream: &mut TcpStream, reply: &Reply, keep_alive: bool) -> Ended {
    match reply {
        Reply::Delayed(delay, later) => {
            // A client that hangs up while the reply is delayed is noticed when it does.
            let hung_up = tokio::select! {
                () = tokio::time::sleep(*delay) => false,
                () = hang_up(stream) => true,
            };
            if hung_up {
                return Ended::HungUp;
            }
            Box::pin(send(stream, later, keep_alive)).await
        }
        Reply::Held { release, at_most, then } => {
            let hung_up = tokio::select! {
                () = release.opened() => false,
                () = tokio::time::sleep(*at_most) => false,
                () = hang_up(stream) => true,
            };
            if hung_up {
                return Ended::HungUp;
            }
            Box::pin(send(stream, then, keep_alive)).await
        }
        Reply::Respond { status, headers, body } => {
            let keep = keep_alive && !closes(headers);
            let bytes = whole(*status, headers, body, keep);
            if stream.write_all(&bytes).await.is_err() {
                return Ended::HungUp;
            }
            if keep {
                Ended::KeptOpen
            } else {
                let _ = stream.shutdown().await;
                Ended::Closed
            }
        }
        Reply::Raw(bytes) => {
            let written = stream.write_all(bytes).await;
            let _ = stream.shutdown().await;
            if written.is_err() { Ended::HungUp } else { Ended::Closed }
        }
        Reply::Reset => {
            reset(stream);
            Ended::Closed
        }
        Reply::CutOff { status, promised, sent } => {
            write_part(stream, *status, *promised, sent).await;
            // Give the client the head and the start of the body, then reset.
            tokio::time::sleep(Duration::from_millis(20)).await;
            reset(stream);
            Ended::Closed
        }
        Reply::Stalled { status, promised, sent } => {
            write_part(stream, *status, *promised, sent).await;
            hang_up(stream).await;
            Ended::HungUp
        }
        Reply::Trickle { response, chunk, every } => {
            let Reply::Respond { status, headers, body } = response.as_ref() else {
                return Box::pin(send(stream, response, keep_alive)).await;
            };
            let bytes = whole(*status, headers, body, false);
            trickle(stream, bytes.chunks((*chunk).max(1)), *every).await
        }
        Reply::TrickleBody { response, chunk, every } => {
            let Reply::Respond { status, headers, body } = response.as_ref() else {
                return Box::pin(send(stream, response, keep_alive)).await;
            };
            let bytes = whole(*status, headers, body, false);
            let (head, body) = bytes.split_at(bytes.len() - body.len());
            trickle(stream, std::iter::once(head).chain(body.chunks((*chunk).max(1))), *every).await
        }
        Reply::Paced { response, at_once, pause, chunk, every } => {
            let bytes = match response.as_ref() {
                Reply::Respond { status, headers, body } => whole(*status, headers, body, false),
                Reply::Raw(bytes) => bytes.clone(),
                other => return Box::pin(send(stream, other, keep_alive)).await,
            };
            let (first, rest) = bytes.split_at((*at_once).min(bytes.len()));
            if stream.write_all(first).await.is_err() || stream.flush().await.is_err() {
                return Ended::HungUp;
            }
            tokio::time::sleep(*pause).await;
            trickle(stream, rest.chunks((*chunk).max(1)), *every).await
        }
        Reply::Silence => {
            hang_up(stream).await;
            Ended::HungUp
        }
    }
}

/// Writes `pieces` one at a time, `every` apart, then closes.
async fn trickle<'a>(
    stream: &mut TcpStream,
    pieces: impl Iterator<Item = &'a [u8]>,
    every: Duration,
) -> Ended {
    for piece in pieces {
        if stream.write_all(piece).await.is_err() || stream.flush().await.is_err() {
            return Ended::HungUp;
        }
        tokio::time::sleep(every).await;
    }
    let _ = stream.shutdown().await;
    Ended::Closed
}

/// Holds a connection silent until the client hangs up (past an upstream's cap).
pub(super) async fn hold(stream: &mut TcpStream) {
    hang_up(stream).await;
}

/// A response, whole.
fn whole(status: u16, headers: &[(String, String)], body: &[u8], keep_alive: bool) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let bodiless = matches!(status, 100..=199 | 204 | 304);
    if !bodiless {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    if !keep_alive && !closes(headers) {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if !bodiless {
        bytes.extend_from_slice(body);
    }
    bytes
}

fn closes(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(name, value)| name.eq_ignore_ascii_case("connection") && value == "close")
}

fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("")
}

/// A head that promises `promised` bytes of JSON, and the first of them.
async fn write_part(stream: &mut TcpStream, status: u16, promised: usize, sent: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {promised}\r\n\r\n",
        reason(status)
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(sent).await;
    let _ = stream.flush().await;
}

/// Closing with a zero linger sends RST instead of FIN: "connection reset by peer".
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Reads (and drops) whatever comes until the client closes the connection, for at most 30 s.
async fn hang_up(stream: &mut TcpStream) {
    let mut rest = [0; 256];
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(1..) = stream.read(&mut rest).await {}
    })
    .await;
}
