//! Requests that reach a server at the same moment. Each goes out on a connection of its own
//! with all but the last byte of its body; once every one is on its way, the last bytes go
//! together. A handler that reads the body starts only when the body is complete, so the
//! handlers start within microseconds of each other: the moment a check-then-act race in the
//! server needs, instead of whenever the connections happened to be set up.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, Method, Request, header};
use bytes::Bytes;
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::answer::{ANSWER_TIMEOUT, Answer};

/// How long every connection has to send all but its last byte. Loopback takes microseconds;
/// the rest is for a busy machine.
const SETTLE: Duration = Duration::from_millis(40);

/// One POST to send together with others.
pub(crate) struct Post {
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: String,
}

/// What came back for one [`Post`], and when it went and came.
pub(crate) struct Sent {
    pub(crate) sent: Instant,
    pub(crate) received: Instant,
    pub(crate) answer: Result<Answer, String>,
}

/// POSTs each of `posts` to `url` (`http://host:port/path`), their last bytes at once.
pub(crate) async fn post_at_once(url: &str, posts: Vec<Post>) -> Vec<Sent> {
    let (go, ready) = watch::channel(false);
    let release = async {
        tokio::time::sleep(SETTLE).await;
        // Every receiver may be gone already (they all failed to connect): nothing to release.
        let _ = go.send(true);
    };
    let sending = posts.into_iter().map(|post| held_back(url, post, ready.clone()));
    let (sent, ()) = tokio::join!(join_all(sending), release);
    sent
}

async fn held_back(url: &str, post: Post, ready: watch::Receiver<bool>) -> Sent {
    let sent = Instant::now();
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, exchange(url, post, ready))
        .await
        .unwrap_or_else(|_| Err(format!("(no answer within {} s)", ANSWER_TIMEOUT.as_secs())));
    Sent { sent, received: Instant::now(), answer }
}

async fn exchange(
    url: &str,
    post: Post,
    mut ready: watch::Receiver<bool>,
) -> Result<Answer, String> {
    let url = reqwest::Url::parse(url).map_err(|error| format!("(a bad URL: {error})"))?;
    let host = url.host_str().unwrap_or("127.0.0.1");
    let authority = format!("{host}:{}", url.port_or_known_default().unwrap_or(80));

    let mut body = post.body.into_bytes();
    let last = body.pop().map(|byte| Bytes::from(vec![byte]));
    let length = body.len() + usize::from(last.is_some());
    let tail = async move {
        // The sender is dropped only after sending `true`, or when every post has failed.
        let _ = ready.wait_for(|go| *go).await;
        last
    };
    let frames = stream::once(async move { Some(Bytes::from(body)) })
        .chain(stream::once(tail))
        .filter_map(|chunk| async move { chunk.filter(|chunk| !chunk.is_empty()) })
        .map(|chunk| Ok::<_, Infallible>(Frame::data(chunk)));

    let mut request = Request::builder().method(Method::POST).uri(url.path());
    let headers = request.headers_mut().expect("a fresh builder has headers");
    headers.insert(header::HOST, header_value(&authority)?);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    for (name, value) in post.headers {
        headers.insert(name, header_value(&value)?);
    }
    let request = request.body(StreamBody::new(frames)).map_err(|error| format!("({error})"))?;

    let stream = TcpStream::connect(&authority)
        .await
        .map_err(|error| format!("(could not connect: {error})"))?;
    // The first part must leave at once, not wait for the last byte to fill a packet.
    stream.set_nodelay(true).map_err(|error| format!("({error})"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("({error})"))?;
    // Ends when the answer is read and `sender` dropped, or the server closes the connection.
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("(the connection failed: {error})"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| format!("(the body was cut short: {error})"))?
        .to_bytes()
        .to_vec();
    Ok(Answer { status: parts.status, headers: parts.headers, body })
}

fn header_value(value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|error| format!("(a bad header value: {error})"))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::routing::post;

    use super::*;

    /// No handler starts before the last bytes are released, however long its body, and every
    /// answer comes back whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handlers_start_together_and_every_answer_comes_back() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let noted = Arc::clone(&starts);
        let app = Router::new().route(
            "/echo",
            post(move |body: String| async move {
                noted.lock().unwrap().push(Instant::now());
                body
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/echo", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let bodies = ["{}".to_string(), "x".repeat(70_000), "y".into()];
        let posts = bodies
            .iter()
            .map(|body| Post { headers: vec![("x-test", "1".into())], body: body.clone() })
            .collect();
        let before = Instant::now();
        let sent = post_at_once(&url, posts).await;

        for (sent, body) in sent.iter().zip(&bodies) {
            let answer = sent.answer.as_ref().expect("an answer");
            assert_eq!(answer.body, body.as_bytes());
        }
        let starts = starts.lock().unwrap();
        assert_eq!(starts.len(), bodies.len());
        assert!(starts.iter().all(|start| *start >= before + SETTLE), "a handler started early");
    }
}
