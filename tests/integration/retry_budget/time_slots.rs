//! A right answer in another style: a ring of time slots in milli-retries under a std Mutex, exact ratio, full jitter.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use httplings::{RetryBudget, RetryPolicy};
use reqwest::{Client, Error, Response};

const SLOTS: usize = 20;

pub struct BudgetedClient {
    client: Client,
    policy: RetryPolicy,
    #[allow(dead_code)]
    budget: RetryBudget,
    ledger: Mutex<Ledger>,
}

/// Thousandths of a retry: a first attempt earns `ratio × 1000`, a retry costs 1000.
struct Ledger {
    slot_len: Duration,
    started: Instant,
    /// (slot number, earned, spent) per ring position.
    ring: [(u64, i64, i64); SLOTS],
    earned_per_call: i64,
    reserve: i64,
}

impl Ledger {
    fn new(budget: RetryBudget) -> Self {
        let slot_len = (budget.window / SLOTS as u32).max(Duration::from_millis(1));
        Self {
            slot_len,
            started: Instant::now(),
            ring: [(u64::MAX, 0, 0); SLOTS],
            earned_per_call: (budget.ratio * 1000.0).round() as i64,
            reserve: (budget.min_per_second as f64 * budget.window.as_secs_f64() * 1000.0) as i64,
        }
    }

    fn now_slot(&self) -> u64 {
        (self.started.elapsed().as_nanos() / self.slot_len.as_nanos()) as u64
    }

    fn cell(&mut self) -> &mut (u64, i64, i64) {
        let now = self.now_slot();
        let cell = &mut self.ring[now as usize % SLOTS];
        if cell.0 != now {
            *cell = (now, 0, 0);
        }
        cell
    }

    fn deposit(&mut self) {
        let earned = self.earned_per_call;
        self.cell().1 += earned;
    }

    fn spend(&mut self) {
        self.cell().2 += 1000;
    }

    fn live(&self) -> impl Iterator<Item = &(u64, i64, i64)> {
        let now = self.now_slot();
        self.ring.iter().filter(move |(slot, _, _)| *slot != u64::MAX && slot + SLOTS as u64 > now)
    }

    fn balance(&self) -> i64 {
        let earned: i64 = self.live().map(|cell| cell.1).sum();
        let spent: i64 = self.live().map(|cell| cell.2).sum();
        self.reserve + earned - spent
    }

    fn take(&mut self) -> bool {
        if self.balance() >= 1000 {
            self.spend();
            true
        } else {
            false
        }
    }
}

impl BudgetedClient {
    pub fn new(client: Client, policy: RetryPolicy, budget: RetryBudget) -> Self {
        Self { client, policy, budget, ledger: Mutex::new(Ledger::new(budget)) }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        self.ledger().deposit();
        let mut attempt = 1;
        loop {
            let outcome = self.client.get(url).send().await;
            let retryable = match &outcome {
                Ok(response) => response.status().is_server_error(),
                Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
            };
            if !retryable || attempt >= self.policy.max_attempts {
                return outcome;
            }
            let asked = outcome.as_ref().ok().and_then(|response| {
                let value = response.headers().get("Retry-After")?.to_str().ok()?;
                let value = value.trim_matches(|c| c == ' ' || c == '\t');
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(value.parse::<u64>().map_or(Duration::MAX, Duration::from_secs))
            });
            let wait = match asked {
                Some(asked) if asked > self.policy.max_delay => return outcome,
                Some(asked) => asked,
                None => {
                    let shift = (attempt - 1).min(31);
                    let cap = self.policy.base_delay.saturating_mul(1 << shift);
                    cap.min(self.policy.max_delay).mul_f64(fraction())
                }
            };
            if !self.ledger().take() {
                return outcome;
            }
            drop(outcome);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

fn fraction() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}
