//! Retry budgets: reference solution.
//!
//! Lesson 3's retries, with one more question before each: may this client retry now? Every
//! call's first attempt pays into a budget shared by all the client's calls; each retry draws
//! from it. Over a sliding window, retries may add `ratio` of the first attempts, plus a floor
//! of `min_per_second` so that a quiet client can still retry. A refused retry ends the call at
//! once, with what it got.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use httplings::{RetryBudget, RetryPolicy};
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Error, Response};

pub struct BudgetedClient {
    client: Client,
    policy: RetryPolicy,
    budget: Budget,
}

impl BudgetedClient {
    pub fn new(client: Client, policy: RetryPolicy, budget: RetryBudget) -> Self {
        Self { client, policy, budget: Budget::new(budget) }
    }

    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        // A first attempt always goes out, and earns the right to some retries later.
        self.budget.deposit();
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
            // Ask before sleeping: a refused retry gives up now, not after a wait for nothing.
            if !self.budget.withdraw() {
                return outcome;
            }
            drop(outcome);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// First attempts and retries over the last `window`, shared by every call of one client.
///
/// One `Instant` per call in the window is exact, and plain to read, but its memory grows with
/// the traffic. Production ledgers count in time slots instead: tower's `TpsBudget` keeps ten
/// counters per window, and forgets a slot's worth at a time.
struct Budget {
    limits: RetryBudget,
    ledger: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    deposits: VecDeque<Instant>,
    withdrawals: VecDeque<Instant>,
}

impl Budget {
    fn new(limits: RetryBudget) -> Self {
        Self { limits, ledger: Mutex::default() }
    }

    fn deposit(&self) {
        let now = Instant::now();
        let mut ledger = self.ledger();
        ledger.forget_before(now.checked_sub(self.limits.window));
        ledger.deposits.push_back(now);
    }

    /// Takes one retry from the budget, if it has one. The lock is held for this arithmetic
    /// alone, never across an `.await`.
    fn withdraw(&self) -> bool {
        let now = Instant::now();
        let mut ledger = self.ledger();
        ledger.forget_before(now.checked_sub(self.limits.window));
        let floor = f64::from(self.limits.min_per_second) * self.limits.window.as_secs_f64();
        let allowed = self.limits.ratio * ledger.deposits.len() as f64 + floor;
        if ledger.withdrawals.len() as f64 + 1.0 > allowed {
            return false;
        }
        ledger.withdrawals.push_back(now);
        true
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // The ledger is consistent after every statement: a panic elsewhere cannot break it.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Ledger {
    /// Forgets what happened before `start` (nothing, early in the process's life).
    fn forget_before(&mut self, start: Option<Instant>) {
        let Some(start) = start else { return };
        for times in [&mut self.deposits, &mut self.withdrawals] {
            while times.front().is_some_and(|time| *time < start) {
                times.pop_front();
            }
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
