//! A right answer in another style, written by a reviewer from the lesson alone: equal jitter
//! from the random top bits of a v4 UUID, a `for` over the attempts, a Retry-After parser of its
//! own (every HTTP-date form through httpdate), and a body drained by chunks, with a limit.

use std::time::{Duration, SystemTime};

use httplings::RetryPolicy;
use reqwest::{Client, Error, Response};

/// What a retryable outcome asks of the next wait.
enum Next {
    Backoff,
    Exactly(Duration),
    GiveUp,
}

fn unit_random() -> f64 {
    // The top 48 bits of a v4 UUID are random; its version and variant bits lie below them.
    let bits = (uuid::Uuid::new_v4().as_u128() >> 80) as u64;
    bits as f64 / (1u64 << 48) as f64
}

fn ceiling(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1));
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

fn server_asks(response: &Response, policy: &RetryPolicy) -> Next {
    let Some(raw) = response.headers().get(reqwest::header::RETRY_AFTER) else {
        return Next::Backoff;
    };
    let Ok(text) = raw.to_str() else { return Next::Backoff };
    let text = text.trim();
    let wait = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        match text.parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => return Next::GiveUp, // more digits than u64: far beyond any max_delay
        }
    } else {
        match httpdate::parse_http_date(text) {
            Ok(date) => date.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO),
            Err(_) => return Next::Backoff,
        }
    };
    if wait.is_zero() {
        Next::Backoff
    } else if wait > policy.max_delay {
        Next::GiveUp
    } else {
        Next::Exactly(wait)
    }
}

async fn drain(mut response: Response) {
    let mut read = 0usize;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > 8 * 1024 {
            break;
        }
    }
}

pub async fn get_with_retry(
    client: &Client,
    url: &str,
    policy: &RetryPolicy,
) -> Result<Response, Error> {
    let attempts = policy.max_attempts.max(1);
    for attempt in 1..=attempts {
        let outcome = client.get(url).send().await;
        let last = attempt == attempts;
        let next = match &outcome {
            Ok(response) if response.status().is_server_error() => server_asks(response, policy),
            Ok(_) => return outcome,
            Err(error) if error.is_builder() || error.is_redirect() => return outcome,
            Err(_) => Next::Backoff,
        };
        if last {
            return outcome;
        }
        let wait = match next {
            Next::GiveUp => return outcome,
            Next::Exactly(d) => d,
            Next::Backoff => {
                let d = ceiling(policy, attempt);
                d / 2 + (d / 2).mul_f64(unit_random())
            }
        };
        if let Ok(response) = outcome {
            drain(response).await;
        }
        tokio::time::sleep(wait).await;
    }
    unreachable!("the last attempt returns")
}
