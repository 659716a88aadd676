//! Reading a request: its head whole, and a body as long as its `content-length` (or chunked).

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::{Reply, Seen};

/// A head larger than this is not a request the judge takes.
const HEAD_LIMIT: usize = 64 * 1024;
/// Bodies are kept up to this size.
const BODY_LIMIT: usize = 1 << 20;
/// How long a client may take between the bytes of one request.
const PATIENCE: Duration = Duration::from_secs(5);

/// The next request on `stream` (`buffered` holds what was read past the previous one);
/// `None` when the client closed, stalled, or sent something that is not a request.
pub(super) async fn request(
    stream: &mut TcpStream,
    buffered: &mut Vec<u8>,
    connection: usize,
) -> Option<Seen> {
    let head_end = loop {
        if let Some(at) = buffered.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        if buffered.len() > HEAD_LIMIT || !more(stream, buffered).await {
            return None;
        }
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&buffered[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (request_line.next()?.to_string(), request_line.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let header = |name: &str| headers.iter().find(|(known, _)| known == name).map(|(_, v)| v);
    buffered.drain(..head_end);
    let body = if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        chunked(stream, buffered).await?
    } else {
        let length: usize =
            header("content-length").and_then(|value| value.parse().ok()).unwrap_or(0);
        while buffered.len() < length.min(BODY_LIMIT) {
            if !more(stream, buffered).await {
                break;
            }
        }
        buffered.drain(..length.min(buffered.len())).collect()
    };
    Some(Seen {
        method,
        target,
        headers,
        body,
        at,
        connection,
        reply: Reply::Silence,
        ended: None,
        abandoned: false,
    })
}

/// Reads more into `buffered`; false when the client closed or stalled.
async fn more(stream: &mut TcpStream, buffered: &mut Vec<u8>) -> bool {
    let mut chunk = [0; 8192];
    match tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await {
        Ok(Ok(read @ 1..)) => {
            buffered.extend_from_slice(&chunk[..read]);
            true
        }
        _ => false,
    }
}

/// A chunked body, decoded.
async fn chunked(stream: &mut TcpStream, buffered: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(at) = buffered.windows(2).position(|window| window == b"\r\n") {
                break at;
            }
            if !more(stream, buffered).await {
                return None;
            }
        };
        let size_text = String::from_utf8_lossy(&buffered[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        buffered.drain(..line_end + 2);
        while buffered.len() < size + 2 {
            if !more(stream, buffered).await {
                return None;
            }
        }
        if size == 0 {
            // The last chunk (trailers are not expected from the judge's clients).
            buffered.drain(..2);
            return Some(body);
        }
        if body.len() < BODY_LIMIT {
            body.extend_from_slice(&buffered[..size]);
        }
        buffered.drain(..size + 2);
    }
}
