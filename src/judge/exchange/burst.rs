//! Requests released together. Each goes on a connection of its own, opened (and accepted by
//! the kernel) before anything is sent; each request goes out but for its last byte; then the
//! last bytes go, one right after the other. A server parses a request only when it is whole,
//! so its handlers start within microseconds of each other, whatever the request's method:
//! the moment a check-then-act race needs, instead of whenever connections happened to be set up.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Exchange, Request};
use crate::judge::answer::Answer;

/// How long the connections have to send all but their last byte. Loopback takes microseconds;
/// the rest is for a busy machine.
pub const SETTLE: Duration = Duration::from_millis(30);

pub(super) async fn send(base: &str, requests: Vec<Request>, timeout: Duration) -> Vec<Exchange> {
    let authority = base.trim_start_matches("http://").trim_end_matches('/').to_string();
    // Connections first, all of them, so that no handshake sits between the last bytes.
    let connections = join_all(requests.iter().map(|_| TcpStream::connect(&authority))).await;
    let mut held = Vec::new();
    for (request, connection) in requests.into_iter().zip(connections) {
        let bytes = wire(&request, &authority, false);
        let connection = match connection {
            Ok(mut stream) => {
                let _ = stream.set_nodelay(true);
                let written = stream.write_all(&bytes[..bytes.len() - 1]).await;
                written.map(|()| stream).map_err(|error| format!("(could not send: {error})"))
            }
            Err(error) => Err(format!("no answer: could not connect ({error})")),
        };
        held.push((request, bytes[bytes.len() - 1], connection));
    }
    tokio::time::sleep(SETTLE).await;
    let sent = Instant::now();
    let mut waiting = Vec::new();
    for (request, last, connection) in held {
        let connection = match connection {
            Ok(mut stream) => stream.write_all(&[last]).await.map(|()| stream).map_err(|error| {
                format!("no answer: the connection closed before a response ({error})")
            }),
            Err(problem) => Err(problem),
        };
        waiting.push((request, connection));
    }
    join_all(waiting.into_iter().map(|(request, connection)| async move {
        let answer = match connection {
            Ok(mut stream) => tokio::time::timeout(timeout, read_answer(&mut stream))
                .await
                .unwrap_or_else(|_| Err("no answer: the request timed out".into())),
            Err(problem) => Err(problem),
        };
        Exchange { request, sent, received: Instant::now(), answer }
    }))
    .await
}

/// The request as bytes, asking to close its connection after the answer unless `keep_alive`.
pub(super) fn wire(request: &Request, authority: &str, keep_alive: bool) -> Vec<u8> {
    let mut head = format!("{} {} HTTP/1.1\r\nhost: {authority}\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    head.push_str(&format!(
        "content-length: {}\r\nconnection: {connection}\r\n\r\n",
        request.body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    bytes
}

/// Reads a whole response: its head, and a body by `content-length`, chunks, or to the close.
pub(super) async fn read_answer(stream: &mut TcpStream) -> Result<Answer, String> {
    let mut bytes = Vec::new();
    let mut chunk = [0; 8192];
    loop {
        let read = stream.read(&mut chunk).await.map_err(|error| {
            format!("no answer: the connection closed before a response ({error})")
        })?;
        bytes.extend_from_slice(&chunk[..read]);
        if let Some(answer) = parse(&bytes, read == 0)? {
            return Ok(answer);
        }
        if read == 0 {
            return Err("no answer: the connection closed before a response".into());
        }
    }
}

/// The response in `bytes`, once it is whole; `closed` says no more will come.
fn parse(bytes: &[u8], closed: bool) -> Result<Option<Answer>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(format!("no answer: not HTTP ({error})")),
    };
    let status = StatusCode::from_u16(response.code.unwrap_or(0))
        .map_err(|_| "no answer: not HTTP (a bad status)".to_string())?;
    let mut map = HeaderMap::new();
    for header in response.headers.iter() {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(header.name.as_bytes()), HeaderValue::from_bytes(header.value))
        {
            map.append(name, value);
        }
    }
    let rest = &bytes[head..];
    let body = if matches!(status.as_u16(), 100..=199 | 204 | 304) {
        Some(Vec::new())
    } else if let Some(length) =
        map.get("content-length").and_then(|v| v.to_str().ok()?.parse().ok())
    {
        (rest.len() >= length).then(|| rest[..length].to_vec())
    } else if map.get("transfer-encoding").is_some_and(|v| v.as_bytes().ends_with(b"chunked")) {
        dechunked(rest)
    } else {
        closed.then(|| rest.to_vec())
    };
    Ok(body.map(|body| Answer { status, headers: map, body }))
}

/// A chunked body, once its last chunk has come.
fn dechunked(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = rest.windows(2).position(|window| window == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line]).ok()?.split(';').next()?.trim();
        let size = usize::from_str_radix(size, 16).ok()?;
        rest = &rest[line + 2..];
        if size == 0 {
            return Some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::routing::{get, post};

    use super::*;
    use crate::judge::exchange::Client;

    /// No handler starts before the last bytes are released, GET or POST, and every answer
    /// comes back whole, by length or in chunks.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handlers_start_together_and_every_answer_comes_back_whole() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let (noted_get, noted_post) = (Arc::clone(&starts), Arc::clone(&starts));
        let app = Router::new()
            .route(
                "/get",
                get(move || async move {
                    noted_get.lock().unwrap().push(Instant::now());
                    "x".repeat(100_000)
                }),
            )
            .route(
                "/echo",
                post(move |body: String| async move {
                    noted_post.lock().unwrap().push(Instant::now());
                    axum::body::Body::from_stream(futures_util::stream::iter([
                        Ok::<_, std::io::Error>(body),
                        Ok(" and more".into()),
                    ]))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = Client::new(format!("http://{}", listener.local_addr().unwrap()));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let before = Instant::now();
        let requests = vec![
            Request::get("/get"),
            Request::post_json("/echo", &serde_json::json!({"a": 1})),
            Request::get("/get"),
        ];
        let exchanges = client.burst(requests).await;
        assert_eq!(exchanges[0].answer.as_ref().unwrap().body.len(), 100_000);
        assert_eq!(exchanges[1].answer.as_ref().unwrap().text(), r#"{"a":1} and more"#);
        let starts = starts.lock().unwrap();
        assert_eq!(starts.len(), 3);
        assert!(starts.iter().all(|start| *start >= before + SETTLE), "a handler started early");
    }
}
