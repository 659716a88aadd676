//! Retry budgets: a client that many tasks share, whose retries must not amplify an outage.
//!
//! It retries by lesson 3's rules, and every call may retry up to `max_attempts` times: in a
//! total outage, the server gets `max_attempts` times its usual load. Cap the retries of all the
//! calls together.
//!
//! Read the lesson with `cargo run -- lesson`, then check with `cargo run -- check`.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use httplings::{RetryBudget, RetryPolicy};
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Error, Response};

pub struct BudgetedClient {
    client: Client,
    policy: RetryPolicy,
    // TODO: a budget that every call of this client shares.
}

impl BudgetedClient {
    pub fn new(client: Client, policy: RetryPolicy, budget: RetryBudget) -> Self {
        // TODO: keep `budget`: retries may add `budget.ratio` of the first attempts made over
        // the last `budget.window`, plus `budget.min_per_second` retries per second.
        let _ = budget;
        Self { client, policy }
    }

    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        // TODO: a first attempt always goes out, and counts towards the budget.
        let mut attempt = 1;
        loop {
            let outcome = self.client.get(url).send().await;
            if attempt >= self.policy.max_attempts || !worth_retrying(&outcome) {
                return outcome;
            }
            let wait = match outcome.as_ref().ok().and_then(retry_after) {
                Some(asked) if asked > self.policy.max_delay => return outcome,
                Some(asked) => asked,
                None => full_jitter(backoff(&self.policy, attempt)),
            };
            // TODO: each retry first asks the budget; a refused retry ends the call at once.
            drop(outcome);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Lesson 3's rule: a 5xx, or a failure on the way that may heal.
fn worth_retrying(outcome: &Result<Response, Error>) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
    }
}

/// base_delay × 2^(retry−1), capped at max_delay, saturating.
fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry - 1);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// A wait anywhere in `[0, longest]`.
fn full_jitter(longest: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    longest.mul_f64(random as f64 / u64::MAX as f64)
}

/// `Retry-After` in delay-seconds.
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim_matches([' ', '\t']);
    if seconds.is_empty() || !seconds.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(seconds.parse().unwrap_or(u64::MAX)))
}
