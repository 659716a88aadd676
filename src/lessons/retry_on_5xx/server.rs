//! [`ScriptedServer`]: a bare-bones HTTP/1.1 server of the judge's whose replies follow a script
//! per path (a status, with or without `Retry-After`, or a fault: a reset, a hang). It tags every
//! response with an id of this run, notes when each request arrived and when its exchange ended,
//! and stops answering a runaway client at a cap: twice the requests the rules allow, and more.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A client that sends this many more requests than twice the rules allow is out of control.
const CAP_MARGIN: usize = 20;

/// One reply of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Reply {
        status: u16,
        retry_after: Option<String>,
    },
    /// Read the request, then reset the connection without a word.
    Reset,
    /// Read the request and never answer, until the client gives up.
    Hang,
}

impl Step {
    pub(super) fn status(status: u16) -> Self {
        Step::Reply { status, retry_after: None }
    }

    pub(super) fn asking(status: u16, retry_after: &str) -> Self {
        Step::Reply { status, retry_after: Some(retry_after.to_string()) }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(super) struct Arrival {
    pub(super) method: String,
    /// The request target: path and query.
    pub(super) target: String,
    pub(super) at: Instant,
    /// When the exchange was over: the reply sent, the connection reset, or (after a hang) the
    /// client hung up.
    pub(super) ended: Instant,
    pub(super) step: Step,
    /// The id this response carried, and its body.
    pub(super) tag: Option<String>,
    pub(super) body: String,
}

impl Arrival {
    pub(super) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

pub(super) struct ScriptedServer {
    pub(super) base: String,
    /// The requests after which it stops answering.
    pub(super) cap: usize,
    state: Arc<State>,
    capped: watch::Receiver<bool>,
    accepting: JoinHandle<()>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

struct State {
    /// Each path's script; a path past the end of its script repeats the last step.
    scripts: HashMap<String, Vec<Step>>,
    cap: usize,
    arrivals: Mutex<Vec<Arrival>>,
    cap_reached: watch::Sender<bool>,
    /// Tags are this run's token and a number.
    token: String,
}

impl ScriptedServer {
    /// Serves `scripts`, for calls the rules allow `allowed` requests in all.
    pub(super) async fn start(
        scripts: HashMap<String, Vec<Step>>,
        token: String,
        allowed: usize,
    ) -> Self {
        let cap = 2 * allowed + CAP_MARGIN;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a loopback port for the judge");
        let base =
            format!("http://{}", listener.local_addr().expect("a bound listener has an address"));
        let (cap_reached, capped) = watch::channel(false);
        let state =
            Arc::new(State { scripts, cap, arrivals: Mutex::default(), cap_reached, token });
        let serving = Arc::clone(&state);
        let accepting = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(answer(stream, Arc::clone(&serving)));
            }
        });
        Self { base, cap, state, capped, accepting }
    }

    pub(super) fn arrivals(&self) -> Vec<Arrival> {
        self.state.arrivals.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Resolves once the client has sent as many requests as the cap.
    pub(super) async fn cap_reached(&self) {
        let mut capped = self.capped.clone();
        if capped.wait_for(|capped| *capped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl State {
    /// Notes the arrival and decides the reply; `None` once the cap is reached.
    fn arrive(&self, method: String, target: String) -> Option<(usize, Step, String)> {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        if arrivals.len() >= self.cap {
            return None;
        }
        let path = target.split('?').next().unwrap_or_default().to_string();
        let earlier = arrivals.iter().filter(|arrival| arrival.path() == path).count();
        let step = match self.scripts.get(&path) {
            Some(script) => script[earlier.min(script.len() - 1)].clone(),
            None => Step::status(404),
        };
        let tag = format!("{}-{}", self.token, arrivals.len() + 1);
        let now = Instant::now();
        let index = arrivals.len();
        // What the reply will be is known now: noted before it is sent, so that a client quick to
        // report it never finds it missing.
        let (tag, body) = match &step {
            Step::Reply { status, .. } => (Some(tag.clone()), reply_body(*status, &tag)),
            Step::Reset | Step::Hang => (None, String::new()),
        };
        arrivals.push(Arrival {
            method,
            target,
            at: now,
            ended: now,
            step: step.clone(),
            tag: tag.clone(),
            body,
        });
        if arrivals.len() >= self.cap {
            self.cap_reached.send_replace(true);
        }
        Some((index, step, tag.unwrap_or_default()))
    }

    fn end(&self, index: usize) {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(arrival) = arrivals.get_mut(index) {
            arrival.ended = Instant::now();
        }
    }
}

async fn answer(mut stream: TcpStream, state: Arc<State>) {
    let Some((method, target)) = read_request_line(&mut stream).await else { return };
    let Some((index, step, tag)) = state.arrive(method, target) else {
        // Past the cap: hold the connection, silent, so that a runaway client slows down.
        hold(&mut stream).await;
        return;
    };
    match step {
        Step::Reply { status, retry_after } => {
            // The client may have given up already; nothing to do about that here.
            let _ = stream.write_all(reply(status, retry_after.as_deref(), &tag).as_bytes()).await;
            let _ = stream.shutdown().await;
            state.end(index);
        }
        Step::Reset => {
            // Closing with a zero linger sends RST instead of FIN: "connection reset by peer".
            let _ = stream.set_zero_linger();
            drop(stream);
            state.end(index);
        }
        Step::Hang => {
            hold(&mut stream).await;
            state.end(index);
        }
    }
}

/// Holds the connection without a word until the client hangs up (or half a minute passes).
async fn hold(stream: &mut TcpStream) {
    let mut rest = [0; 256];
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(1..) = stream.read(&mut rest).await {}
    })
    .await;
}

/// The body of a scripted reply: its status and its tag. 204 and 304 carry no body by
/// definition: the tag rides in the header alone.
fn reply_body(status: u16, tag: &str) -> String {
    if matches!(status, 204 | 304) {
        String::new()
    } else {
        format!("{{\"status\":{status},\"response\":\"{tag}\"}}")
    }
}

/// A scripted reply, whole, tagged with `tag`.
fn reply(status: u16, retry_after: Option<&str>, tag: &str) -> String {
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("");
    let body = reply_body(status, tag);
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nx-response-id: {tag}\r\n"
    );
    if let Some(value) = retry_after {
        head.push_str(&format!("retry-after: {value}\r\n"));
    }
    if (300..400).contains(&status) && status != 304 {
        head.push_str("location: /somewhere-else\r\n");
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    head + &body
}

/// Reads a request head and returns its method and target; `None` for anything that is not one.
async fn read_request_line(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut head = Vec::new();
    let mut chunk = [0; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if read == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let request_line = String::from_utf8_lossy(&head).lines().next()?.to_string();
    let mut parts = request_line.split(' ');
    Some((parts.next()?.to_string(), parts.next()?.to_string()))
}
