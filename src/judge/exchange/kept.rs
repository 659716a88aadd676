//! [`KeptAlive`]: connections to one server that stay open from one request to the next
//! (HTTP/1.1 keep-alive), and bursts released together on them. A load balancer's pool talks to
//! a server this way: requests arrive on connections that carried others before, at the same
//! moment, with no handshake in front of them ([`super::Client::burst`] opens a fresh
//! connection per request instead).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::burst::{SETTLE, read_answer, wire};
use super::{Client, Exchange, Request};

/// Connections kept open to one server.
#[derive(Debug)]
pub struct KeptAlive {
    authority: String,
    timeout: Duration,
    /// Each connection; `None` once the server closed it, or said it would.
    streams: Vec<Option<TcpStream>>,
}

impl Client {
    /// Opens `count` connections and sends `first` on each, released together; the connections
    /// stay open for later bursts. Returns them with the answers to `first`.
    pub async fn keep_alive(&self, count: usize, first: &Request) -> (KeptAlive, Vec<Exchange>) {
        let authority = self.base.trim_start_matches("http://").trim_end_matches('/').to_string();
        let mut kept = KeptAlive { authority, timeout: self.timeout, streams: Vec::new() };
        kept.streams.resize_with(count, || None);
        let exchanges = kept.burst(vec![first.clone(); count]).await;
        (kept, exchanges)
    }
}

impl KeptAlive {
    /// Sends `requests` together, one per connection (opening again any the server closed, and
    /// more when there are more requests than connections): all but the last byte of each
    /// first, then the last bytes one right after the other.
    pub async fn burst(&mut self, requests: Vec<Request>) -> Vec<Exchange> {
        if self.streams.len() < requests.len() {
            self.streams.resize_with(requests.len(), || None);
        }
        let authority = self.authority.clone();
        for stream in self.streams.iter_mut().take(requests.len()).filter(|s| s.is_none()) {
            *stream = TcpStream::connect(&authority).await.ok();
            if let Some(stream) = stream {
                let _ = stream.set_nodelay(true);
            }
        }
        let mut held = Vec::new();
        for (request, slot) in requests.into_iter().zip(self.streams.iter_mut()) {
            let bytes = wire(&request, &authority, true);
            let written = match slot {
                Some(stream) => stream.write_all(&bytes[..bytes.len() - 1]).await.is_ok(),
                None => false,
            };
            held.push((request, bytes[bytes.len() - 1], written, slot));
        }
        tokio::time::sleep(SETTLE).await;
        let sent = Instant::now();
        let mut waiting = Vec::new();
        for (request, last, written, slot) in held {
            let ready = match slot.as_mut() {
                Some(stream) if written => stream.write_all(&[last]).await.is_ok(),
                _ => false,
            };
            waiting.push((request, ready, slot));
        }
        let timeout = self.timeout;
        join_all(waiting.into_iter().map(|(request, ready, slot)| async move {
            let answer = match slot.as_mut() {
                Some(stream) if ready => tokio::time::timeout(timeout, read_answer(stream))
                    .await
                    .unwrap_or_else(|_| Err("no answer: the request timed out".into())),
                _ => Err("no answer: the connection closed before a response".into()),
            };
            let closes = answer.as_ref().map_or(true, |answer| {
                answer.header("connection").is_some_and(|value| value.as_bytes() == b"close")
            });
            if closes {
                *slot = None;
            }
            Exchange { request, sent, received: Instant::now(), answer }
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::extract::connect_info::ConnectInfo;
    use axum::routing::get;

    use super::*;

    /// Every request after the first on a connection comes on a connection that carried one
    /// before, the handlers start together, and a connection the server closes is opened again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bursts_come_on_connections_that_carried_a_request_before() {
        let peers = Arc::new(Mutex::new(Vec::new()));
        let closing = Arc::new(AtomicUsize::new(0));
        let (noted, closed) = (Arc::clone(&peers), Arc::clone(&closing));
        let app = Router::new()
            .route(
                "/",
                get(move |ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>| async move {
                    noted.lock().unwrap().push((peer, Instant::now()));
                    "ok"
                }),
            )
            .route(
                "/bye",
                get(move || async move {
                    closed.fetch_add(1, Ordering::SeqCst);
                    ([("connection", "close")], "bye")
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = Client::new(format!("http://{}", listener.local_addr().unwrap()));
        tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await
        });

        let (mut kept, first) = client.keep_alive(3, &Request::get("/")).await;
        assert!(first.iter().all(|exchange| exchange.status() == Some(200)));
        let before = Instant::now();
        let again = kept.burst(vec![Request::get("/"); 3]).await;
        assert!(again.iter().all(|exchange| exchange.answer().is_some_and(|a| a.text() == "ok")));
        let peers = peers.lock().unwrap().clone();
        let (first_peers, later): (Vec<_>, Vec<_>) = (peers[..3].to_vec(), peers[3..].to_vec());
        for (peer, started) in &later {
            assert!(first_peers.iter().any(|(known, _)| known == peer), "a fresh connection");
            assert!(*started >= before + SETTLE, "a handler started early");
        }
        let bye = kept.burst(vec![Request::get("/bye")]).await;
        assert_eq!(bye[0].status(), Some(200));
        let after = kept.burst(vec![Request::get("/"); 2]).await;
        assert!(after.iter().all(|exchange| exchange.status() == Some(200)));
        assert_eq!(closing.load(Ordering::SeqCst), 1);
    }
}
