//! [`Upstream`]: the judge's scripted HTTP/1.1 server, the one every lesson puts behind a
//! learner's service or in front of a learner's client. A script decides each reply from the
//! request (and whatever state the script keeps): a response, a reset, broken HTTP, an answer
//! cut off or stalled half-way, one trickled byte by byte, silence, or any of these after a
//! delay. The upstream notes every connection and every request: when it arrived, what was
//! decided for it (before it is sent, so that a client quick to report it never finds it
//! missing), and when the exchange ended (the reply written, the connection reset, or the client
//! hanging up).
//!
//! Each upstream listens on a loopback address of its own (`127.x.y.z`, where the system allows
//! it), so an answer that names "which upstream" shows it. [`refused`] and [`unreachable`] are
//! addresses where nothing answers: a refused connection, and one never completed.

mod address;
mod read;
mod reply;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use self::address::{
    Refused, Unreachable, failed_connection_attempts, loopback, refused, unreachable,
};
pub use self::reply::{Release, Reply};

/// A request as the upstream saw it, and what became of it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names in lower case, with their values, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When its head was read whole.
    pub at: Instant,
    /// Which of the upstream's connections it came on (counted from 0).
    pub connection: usize,
    /// What the script decided to send back.
    pub reply: Reply,
    /// When the exchange was over: the reply written, the connection reset, or (for a reply
    /// that waits) the client hanging up. `None` while it goes on.
    pub ended: Option<Instant>,
    /// Whether the client hung up before the reply was written whole.
    pub abandoned: bool,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(known, _)| known == name).map(|(_, value)| value.as_str())
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The path's segments, each percent-decoded: `/prices/BRK%2FB` is `["prices", "BRK/B"]`.
    /// `None` when one is not a segment a server could read (see [`percent_decoded`]).
    pub fn segments(&self) -> Option<Vec<String>> {
        self.path().strip_prefix('/')?.split('/').map(percent_decoded).collect()
    }
}

/// `text` percent-decoded, strictly: `None` when a `%` is not followed by two hex digits, or
/// the bytes are not UTF-8.
pub fn percent_decoded(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

/// How an upstream behaves beyond its script.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// After this many requests, every further one is held silent (a runaway client slows down,
    /// and the judge sees it ran away). `usize::MAX`: no cap.
    pub cap: usize,
    /// Whether a connection stays open for another request after a complete response (what the
    /// response's own `connection` header says otherwise).
    pub keep_alive: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { cap: usize::MAX, keep_alive: false }
    }
}

pub struct Upstream {
    /// `http://127.x.y.z:port`.
    pub base: String,
    pub address: std::net::SocketAddr,
    state: Arc<State>,
    accepting: JoinHandle<()>,
}

struct State {
    script: Box<Script>,
    options: Options,
    seen: Mutex<Vec<Seen>>,
    connections: AtomicUsize,
    /// Woken at every arrival and every end of an exchange.
    changed: Notify,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Opens a [`Upstream::refusing`]: from then on, it listens.
#[derive(Debug)]
pub struct Opener(tokio::sync::oneshot::Sender<()>);

impl Opener {
    pub fn open(self) {
        let _ = self.0.send(());
    }
}

impl Upstream {
    /// Serves on a fresh loopback address, answering each request as `script` says.
    pub async fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        Self::with(Options::default(), script).await
    }

    pub async fn with(
        options: Options,
        script: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener: TcpListener = address::listener().await;
        let address = listener.local_addr().expect("a bound listener has an address");
        Self::on(address, async { listener }, options, script)
    }

    /// Like [`Upstream::with`], on an address that refuses every connection until the
    /// [`Opener`] opens it: a server that is not up yet. Dropped unopened, it never listens (and
    /// keeps its port).
    pub fn refusing(
        options: Options,
        script: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> (Self, Opener) {
        let socket = address::bound();
        let address = socket.local_addr().expect("a bound socket has an address");
        let (open, opened) = tokio::sync::oneshot::channel();
        let listening = async move {
            match opened.await {
                Ok(()) => socket.listen(1024).expect("a bound socket listens"),
                Err(_) => std::future::pending().await,
            }
        };
        (Self::on(address, listening, options, script), Opener(open))
    }

    fn on(
        address: std::net::SocketAddr,
        listening: impl Future<Output = TcpListener> + Send + 'static,
        options: Options,
        script: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let state = Arc::new(State {
            script: Box::new(script),
            options,
            seen: Mutex::default(),
            connections: AtomicUsize::new(0),
            changed: Notify::new(),
        });
        let serving = Arc::clone(&state);
        let accepting = tokio::spawn(async move {
            let listener = listening.await;
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let connection = serving.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, connection, Arc::clone(&serving)));
            }
        });
        Self { base: format!("http://{address}"), address, state, accepting }
    }

    /// Every request seen so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen().clone()
    }

    /// How many requests have arrived.
    pub fn asked(&self) -> usize {
        self.state.seen().len()
    }

    /// How many requests asked for `path` (the target without its query).
    pub fn asked_for(&self, path: &str) -> usize {
        self.state.seen().iter().filter(|seen| seen.path() == path).count()
    }

    /// How many connections were opened to it, whether or not a request came on them.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The requests that were in progress together at the busiest moment so far: the most that
    /// a client had under way at once. A request counts from its arrival until its reply's last
    /// byte went out: when its plan says ([`Reply::written_after`]), or else the end of the
    /// exchange less `tolerance` (the upstream notes an end a moment after it happened, and a
    /// client quick to send the next request must not be counted twice). A client that lets go
    /// of a call once its head has come, while the body is still on its way, has not ended it.
    pub fn most_at_once(&self, tolerance: Duration) -> Vec<Seen> {
        let seen = self.seen();
        let now = Instant::now();
        let under_way = |request: &Seen, at: Instant| {
            let ended = request.ended.unwrap_or(now).checked_sub(tolerance);
            let end = match request.reply.written_after() {
                Some(written) => ended.map(|ended| ended.min(request.at + written)),
                None => ended,
            };
            request.at <= at && end.is_some_and(|end| end > at)
        };
        let mut busiest: Vec<Seen> = Vec::new();
        for arrival in &seen {
            let together: Vec<Seen> = seen
                .iter()
                .filter(|request| std::ptr::eq(*request, arrival) || under_way(request, arrival.at))
                .cloned()
                .collect();
            if together.len() > busiest.len() {
                busiest = together;
            }
        }
        busiest
    }

    /// Whether the cap was reached: the client would not stop.
    pub fn capped(&self) -> bool {
        self.asked() >= self.state.options.cap
    }

    /// Waits until `until` holds of what was seen, or `limit` passes; returns whether it held.
    pub async fn wait_until(&self, limit: Duration, until: impl Fn(&[Seen]) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let changed = self.state.changed.notified();
            if until(&self.state.seen()) {
                return true;
            }
            if tokio::time::timeout_at(deadline.into(), changed).await.is_err() {
                return until(&self.state.seen());
            }
        }
    }
}

impl State {
    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes a request and decides its reply; `None` past the cap.
    fn arrive(&self, mut request: Seen) -> Option<(usize, Reply)> {
        let mut seen = self.seen();
        if seen.len() >= self.options.cap {
            return None;
        }
        request.reply = (self.script)(&request);
        let reply = request.reply.clone();
        let index = seen.len();
        seen.push(request);
        drop(seen);
        self.changed.notify_waiters();
        Some((index, reply))
    }

    fn end(&self, index: usize, abandoned: bool) {
        if let Some(seen) = self.seen().get_mut(index) {
            seen.ended = Some(Instant::now());
            seen.abandoned = abandoned;
        }
        self.changed.notify_waiters();
    }
}

/// Serves one connection: requests one after another, for as long as replies keep it open.
async fn serve(mut stream: TcpStream, connection: usize, state: Arc<State>) {
    let mut buffered = Vec::new();
    loop {
        let Some(request) = read::request(&mut stream, &mut buffered, connection).await else {
            return;
        };
        let Some((index, reply)) = state.arrive(request) else {
            reply::hold(&mut stream).await;
            return;
        };
        let ended = reply::send(&mut stream, &reply, state.options.keep_alive).await;
        state.end(index, ended == reply::Ended::HungUp);
        if ended != reply::Ended::KeptOpen {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
