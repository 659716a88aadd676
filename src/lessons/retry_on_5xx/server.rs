//! [`ScriptedServer`]: a bare-bones HTTP/1.1 server whose replies follow a script per path (a
//! status, with or without `Retry-After`, or a fault: a reset, a hang) and which notes when
//! every request arrived. It stops a runaway client at [`REQUEST_CAP`] requests.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::harness;

/// More requests than this in one scenario is a client out of control.
pub(super) const REQUEST_CAP: usize = 50;

/// One reply of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Reply {
        status: u16,
        retry_after: Option<&'static str>,
    },
    /// Read the request, then reset the connection without a word.
    Reset,
    /// Read the request and never answer.
    Hang,
}

impl Step {
    pub(super) const fn status(status: u16) -> Self {
        Step::Reply { status, retry_after: None }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(super) struct Arrival {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) at: Instant,
    pub(super) step: Step,
}

pub(super) struct ScriptedServer {
    pub(super) base: String,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    capped: watch::Receiver<bool>,
    accepting: JoinHandle<()>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Each path's script; a path past the end of its script repeats the last step.
pub(super) type Scripts = HashMap<String, Vec<Step>>;

impl ScriptedServer {
    pub(super) fn start(scripts: Scripts) -> Self {
        let listener = harness::loopback_listener();
        let base =
            format!("http://{}", listener.local_addr().expect("a bound listener has an address"));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let (cap_reached, capped) = watch::channel(false);
        let state = Arc::new(State { scripts, arrivals: Arc::clone(&arrivals), cap_reached });
        // On the servers' own runtime: arrival times stay true while the client misbehaves.
        let accepting = harness::server_runtime().spawn(async move {
            let listener = TcpListener::from_std(listener).expect("a listener tokio can use");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, Arc::clone(&state)));
            }
        });
        Self { base, arrivals, capped, accepting }
    }

    pub(super) fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Resolves once the client has sent [`REQUEST_CAP`] requests.
    pub(super) async fn cap_reached(&self) {
        let mut capped = self.capped.clone();
        // An Err means the server is gone, so the cap can no longer be reached: wait forever.
        if capped.wait_for(|capped| *capped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A port on which nothing listens: connecting to it is refused.
pub(super) async fn unused_port() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("a loopback port");
    listener.local_addr().expect("a bound listener has an address")
}

struct State {
    scripts: Scripts,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    cap_reached: watch::Sender<bool>,
}

impl State {
    /// Notes the arrival and decides the reply.
    fn arrive(&self, method: &str, path: &str) -> Step {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        let earlier = arrivals.iter().filter(|arrival| arrival.path == path).count();
        let step = match self.scripts.get(path) {
            Some(script) => script[earlier.min(script.len() - 1)],
            None => Step::status(404),
        };
        arrivals.push(Arrival {
            method: method.to_string(),
            path: path.to_string(),
            at: Instant::now(),
            step,
        });
        if arrivals.len() >= REQUEST_CAP {
            self.cap_reached.send_replace(true);
        }
        step
    }
}

async fn answer(mut stream: TcpStream, state: Arc<State>) {
    let Some((method, path)) = read_request_line(&mut stream).await else {
        return;
    };
    match state.arrive(&method, &path) {
        Step::Reply { status, retry_after } => {
            let reason = axum::http::StatusCode::from_u16(status)
                .ok()
                .and_then(|status| status.canonical_reason())
                .unwrap_or("");
            let body = format!("{status} {reason}\n");
            let mut head = format!("HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\n");
            if let Some(seconds) = retry_after {
                head.push_str(&format!("retry-after: {seconds}\r\n"));
            }
            head.push_str(&format!(
                "content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ));
            // The client may have given up already; nothing to do about that here.
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Step::Reset => {
            // Closing with a zero linger sends RST instead of FIN: "connection reset by peer".
            let _ = stream.set_zero_linger();
        }
        Step::Hang => {
            // Hold the connection, silent, until the client gives up and closes it.
            let mut rest = [0; 256];
            let _ = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut rest)).await;
        }
    }
}

/// Reads a request head and returns its method and path; `None` for anything that is not one.
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
