//! [`ScriptedUpstream`]: a bare-bones HTTP/1.1 server of the judge's that stands behind a
//! learner's service. A script decides each reply from the request: a response, bytes that are
//! not HTTP, an answer cut off mid-body, or silence. It notes every request it sees.
//! Also [`refused`] and [`unreachable`]: upstreams that refuse a connection, or never finish one.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(known, _)| known == name).map(|(_, value)| value.as_str())
    }
}

/// What the upstream does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// These bytes, as they are (not HTTP, say), then the connection closed.
    Raw(Vec<u8>),
    /// A head that promises more body than comes, part of it, and a reset connection.
    CutOff {
        status: u16,
        promised: usize,
        sent: Vec<u8>,
    },
    /// A head that promises more body than comes, part of it, and then nothing, until the
    /// client hangs up: an answer that stalls half-way.
    Stalled {
        status: u16,
        promised: usize,
        sent: Vec<u8>,
    },
    /// Nothing, until the client hangs up.
    Silence,
    /// Another reply, after a while.
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        let headers = vec![("content-type".into(), "application/json".into())];
        Reply::Respond { status, headers, body: body.to_string().into_bytes() }
    }
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

pub struct ScriptedUpstream {
    pub base: String,
    pub address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    accepting: JoinHandle<()>,
}

impl std::fmt::Debug for ScriptedUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedUpstream").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Drop for ScriptedUpstream {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl ScriptedUpstream {
    /// Serves on a fresh loopback port, answering each request as `script` says.
    pub async fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a loopback port for the judge");
        let address = listener.local_addr().expect("a bound listener has an address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let noted = Arc::clone(&seen);
        let accepting = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, Arc::clone(&script), Arc::clone(&noted)));
            }
        });
        Self { base: format!("http://{address}"), address, seen, accepting }
    }

    /// Every request seen so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many requests asked for `path` (the target without its query).
    pub fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|seen| seen.target.split('?').next() == Some(path)).count()
    }
}

async fn answer(mut stream: TcpStream, script: Arc<Script>, seen: Arc<Mutex<Vec<Seen>>>) {
    let Some(request) = read_request(&mut stream).await else { return };
    let mut reply = script(&request);
    seen.lock().unwrap_or_else(PoisonError::into_inner).push(request);
    while let Reply::Delayed(delay, later) = reply {
        tokio::time::sleep(delay).await;
        reply = *later;
    }
    // The client may have given up already: nothing to do about that here.
    match reply {
        Reply::Respond { status, headers, body } => {
            let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::CutOff { status, promised, sent } => {
            write_part(&mut stream, status, promised, &sent).await;
            // Give the client the head and the start of the body, then reset.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = stream.set_zero_linger();
        }
        Reply::Stalled { status, promised, sent } => {
            write_part(&mut stream, status, promised, &sent).await;
            wait_for_hang_up(&mut stream).await;
        }
        Reply::Delayed(..) => unreachable!("waited out above"),
        Reply::Silence => wait_for_hang_up(&mut stream).await,
    }
}

fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("")
}

/// Reads a request: its head, and a body as long as its `content-length`.
async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut bytes = Vec::new();
    let mut chunk = [0; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if read == 0 || bytes.len() > 64 * 1024 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..read]);
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (request_line.next()?.to_string(), request_line.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = bytes[head_end..].to_vec();
    while body.len() < length {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some(Seen { method, target, headers, body, at })
}

/// A loopback address on which nothing listens: connecting to it is refused. The port stays
/// bound (never listening) until the guard is dropped, so that no other server, of another
/// check or test running at the same time, can take it meanwhile and answer.
pub fn refused() -> (SocketAddr, impl Sized) {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.bind((Ipv4Addr::LOCALHOST, 0).into()).expect("a loopback port");
    let address = socket.local_addr().expect("a bound socket has an address");
    (address, socket)
}

/// A loopback address whose connections are never completed: its listener's queue is full and
/// never drained, so the kernel drops every new handshake and a client waits until its own
/// connect timeout. Dropping the guard closes it.
pub async fn unreachable() -> (SocketAddr, impl Sized) {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.bind((Ipv4Addr::LOCALHOST, 0).into()).expect("a loopback port");
    let listener = socket.listen(0).expect("a listener");
    let address = listener.local_addr().expect("a bound listener has an address");
    // Fill the accept queue: the connections that fit stay open, the rest are given up on.
    let mut filling = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_millis(50), TcpStream::connect(address)).await
        {
            filling.push(stream);
        }
    }
    (address, (listener, filling))
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

/// Reads (and drops) whatever comes until the client closes the connection, for at most 30 s.
async fn wait_for_hang_up(stream: &mut TcpStream) {
    let mut rest = [0; 256];
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(1..) = stream.read(&mut rest).await {}
    })
    .await;
}
