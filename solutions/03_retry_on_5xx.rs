//! Lesson 3, retry on 5xx, never on 4xx: reference solution.
//!
//! Retry what may pass (5xx, network failures), never what cannot (4xx), wait longer after
//! each failure, listen when the server says how long, and give up after a bounded number of
//! attempts, handing the caller the last outcome as it came.

use std::time::Duration;

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
        // A 2xx, 3xx or 4xx will not change on retry: hand it back as it is.
        let worth_retrying = match &outcome {
            Ok(response) => response.status().is_server_error(),
            Err(_) => true, // refused, reset, timed out: often passing
        };
        if !worth_retrying || attempt >= policy.max_attempts {
            return outcome;
        }
        let wait = match outcome.as_ref().ok().and_then(retry_after) {
            // The server asked for more patience than we have: stop, and let the caller decide.
            Some(asked) if asked > policy.max_delay => return outcome,
            Some(asked) => asked,
            None => backoff(policy, attempt),
        };
        // `tokio::time::sleep`, never `std::thread::sleep`: it must not block the runtime.
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The wait before retry `retry` (1 for the first): base_delay × 2^(retry−1), at most max_delay.
fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    // Saturating, so a long run of retries caps instead of overflowing.
    let factor = 2u32.saturating_pow(retry - 1);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// A `Retry-After` in delay-seconds (lesson 2 reads the date forms too).
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if seconds.is_empty() || !seconds.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    seconds.parse().ok().map(Duration::from_secs)
}
