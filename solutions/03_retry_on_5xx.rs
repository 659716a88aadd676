//! Lesson 3, retry on 5xx, never on 4xx: reference solution.
//!
//! Retry what may pass (5xx, a connection refused, reset or timed out), never what cannot (a 4xx,
//! a request that cannot even be built), wait longer after each failure with full jitter, listen
//! when the server says how long, and give up after a bounded number of attempts, handing the
//! caller the last outcome as it came.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

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
        let wait = match outcome.as_ref().ok().and_then(retry_after) {
            // The server asked for more patience than we have: stop, and let the caller decide.
            Some(asked) if asked > policy.max_delay => return outcome,
            Some(asked) => asked,
            None => full_jitter(backoff(policy, attempt)),
        };
        // Let go of the response, and the connection under it, before sleeping.
        drop(outcome);
        // `tokio::time::sleep`, never `std::thread::sleep`: it must not block the runtime.
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// A 5xx, or a failure on the way that may heal: refused (restarting), reset, timed out.
/// A 2xx, 3xx or 4xx will not change on retry, nor will a request that could not be built
/// (a URL that does not parse, a scheme the client cannot speak): those come back as they are.
fn worth_retrying(outcome: &Result<Response, Error>) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
    }
}

/// The longest wait before retry `retry` (1 for the first): base_delay × 2^(retry−1), at most
/// max_delay. Saturating, so a long run of retries caps instead of overflowing.
fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry - 1);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// Full jitter: a wait anywhere in `[0, longest]`, so that clients that failed together do not
/// come back together. `RandomState` is keyed afresh each time: random enough to spread retries.
fn full_jitter(longest: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    longest.mul_f64(random as f64 / u64::MAX as f64)
}

/// A `Retry-After` in delay-seconds (lesson 2 reads the date forms too). Whitespace around a
/// field value is spaces and tabs (RFC 9110 §5.5), so that is all that is trimmed.
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim_matches([' ', '\t']);
    if seconds.is_empty() || !seconds.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    // More seconds than a u64 holds is still a wait longer than any max_delay.
    Some(Duration::from_secs(seconds.parse().unwrap_or(u64::MAX)))
}
