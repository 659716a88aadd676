//! Lesson 3, retry on 5xx, never on 4xx: reference solution.
//!
//! Retry what may pass (a 5xx; a connection refused, reset or timed out), never what cannot (a
//! 4xx, a request that cannot even be built), wait longer after each failure with full jitter,
//! listen when the server says how long, and give up after a bounded number of attempts,
//! handing the caller the last outcome as it came.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant, SystemTime};

use httplings::RetryPolicy;
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Error, Response};

pub async fn get_with_retry(
    client: &Client,
    url: &str,
    policy: &RetryPolicy,
) -> Result<Response, Error> {
    let mut attempt = 1;
    loop {
        let outcome = client.get(url).send().await;
        if attempt >= policy.max_attempts || !worth_retrying(&outcome) {
            return outcome;
        }
        let asked = outcome.as_ref().ok().and_then(retry_after);
        let wait = match asked {
            // The server asked for more patience than we have: stop, and let the caller decide.
            Some(asked) if asked > policy.max_delay => return outcome,
            // "Come back now" is no reason to come back all at once: the usual backoff.
            Some(asked) if !asked.is_zero() => asked,
            _ => full_jitter(backoff(policy, attempt)),
        };
        if let Ok(response) = outcome {
            discard(response).await;
        }
        // `tokio::time::sleep`, never `std::thread::sleep`: it must not block the runtime.
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// A 5xx, or a failure on the way that may heal: refused (restarting), reset, timed out.
/// reqwest's `is_request()` is its general "sending failed", and covers all of these (its
/// `is_connect()` and `is_timeout()` are finer views of the same errors); what it leaves out
/// cannot heal by itself: a request that could not be built (a URL that does not parse, a
/// scheme the client cannot speak), a redirect loop. A 2xx, 3xx or 4xx will not change on
/// retry either: those come back as they are.
fn worth_retrying(outcome: &Result<Response, Error>) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(error) => error.is_request(),
    }
}

/// The longest wait before retry `retry` (1 for the first): base_delay × 2^(retry−1), at most
/// max_delay. Saturating, so a long run of retries stays at the cap instead of overflowing.
fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry - 1);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// Full jitter: a wait anywhere in `[0, longest]`, so that clients that failed together do not
/// come back together. `RandomState` is keyed afresh in every process and for every call:
/// random enough to spread retries, and never the same in two instances of a service.
fn full_jitter(longest: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    longest.mul_f64(random as f64 / u64::MAX as f64)
}

/// The wait a response's `Retry-After` asks for, in either form (lesson 2), from now.
fn retry_after(response: &Response) -> Option<Duration> {
    // `to_str` fails on bytes that are not visible ASCII: an unreadable hint is no hint.
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    // Whitespace around a field value is spaces and tabs (RFC 9110 §5.5).
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        // More seconds than a u64 holds is still a wait longer than any max_delay.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    // A date already past means "now".
    Some(date.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Lets go of a response we are done with. Dropped unread, its connection closes; read to its
/// end, the connection goes back to the pool for the retry. Error bodies are small: read up to
/// a few kilobytes, and give up on a bigger one (dropping it then is the cheaper way out).
async fn discard(mut response: Response) {
    let mut left: usize = 16 * 1024;
    while let Ok(Some(chunk)) = response.chunk().await {
        left = match left.checked_sub(chunk.len()) {
            Some(left) => left,
            None => return,
        };
    }
}
