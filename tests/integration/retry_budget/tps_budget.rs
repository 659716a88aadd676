//! A right answer in another style: tower's TpsBudget as the ledger (the lesson names it), Arc-shared, equal jitter.

use std::sync::Arc;
use std::time::Duration;

use httplings::{RetryBudget, RetryPolicy};
use reqwest::{Client, Error, Response, StatusCode};
use tower::retry::budget::{Budget, TpsBudget};

pub struct BudgetedClient {
    client: Client,
    policy: RetryPolicy,
    budget: Arc<TpsBudget>,
}

impl BudgetedClient {
    pub fn new(client: Client, policy: RetryPolicy, budget: RetryBudget) -> Self {
        // TpsBudget takes windows of 1 to 60 s only.
        let ttl = budget.window.clamp(Duration::from_secs(1), Duration::from_secs(60));
        let budget = Arc::new(TpsBudget::new(ttl, budget.min_per_second, budget.ratio as f32));
        Self { client, policy, budget }
    }

    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        self.budget.deposit();
        let mut retries_done = 0u32;
        loop {
            let outcome = self.client.get(url).send().await;
            let verdict = judge(&outcome, self.policy.max_delay);
            let pause = match verdict {
                Next::Done => return outcome,
                Next::After(asked) => asked,
                Next::Backoff => equal_jitter(cap(&self.policy, retries_done + 1)),
            };
            if retries_done + 1 >= self.policy.max_attempts || !self.budget.withdraw() {
                return outcome;
            }
            drop(outcome);
            tokio::time::sleep(pause).await;
            retries_done += 1;
        }
    }
}

enum Next {
    Done,
    After(Duration),
    Backoff,
}

fn judge(outcome: &Result<Response, Error>, max_delay: Duration) -> Next {
    match outcome {
        Ok(response) if response.status().is_server_error() => match asked_wait(response) {
            Some(asked) if asked > max_delay => Next::Done,
            Some(asked) => Next::After(asked),
            None => Next::Backoff,
        },
        Ok(_) => Next::Done,
        Err(error) if error.is_connect() || error.is_timeout() || error.is_request() => {
            Next::Backoff
        }
        Err(_) => Next::Done,
    }
}

fn cap(policy: &RetryPolicy, retry: u32) -> Duration {
    let doubled = policy.base_delay.checked_mul(1u32.checked_shl(retry - 1).unwrap_or(u32::MAX));
    doubled.unwrap_or(Duration::MAX).min(policy.max_delay)
}

/// Half the cap, plus a random share of the other half.
fn equal_jitter(cap: Duration) -> Duration {
    let half = cap / 2;
    half + half.mul_f64(random_unit())
}

fn random_unit() -> f64 {
    // The top 53 bits: a v4 UUID's low 64 start with its fixed variant bits.
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

fn asked_wait(response: &Response) -> Option<Duration> {
    let _ = StatusCode::OK;
    let value = response.headers().get("retry-after")?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}
