//! A budgeted client built from knobs: each knob one way to get a retry budget right or wrong,
//! so that the tests can name a known-wrong answer (or a right one in another style) by the
//! knob it turns.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use httplings::{RetryBudget, RetryPolicy};
use tower::retry::budget::{Budget as _, TpsBudget};

/// How the budget is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `Mutex` over a sliding window of deposits and withdrawals.
    Window,
    /// A token bucket in atomics: deposits add `ratio`, time adds `min_per_second`.
    Atomic,
    /// tower's `TpsBudget`.
    Tower,
    /// No budget at all.
    None,
    /// A fresh window for every call.
    PerCall,
    /// The floor's tokens at the start, and nothing ever again.
    NeverRefills,
    /// A window that counts time alone, not first attempts.
    TimeOnly,
    /// A window in which retries are deposits too.
    RetriesDeposit,
    /// One window for every client of the process.
    Global,
}

#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    pub kind: Kind,
    pub sleeps_when_refused: bool,
    pub lock_across_await: bool,
    /// Retries a 4xx as if it were a 5xx.
    pub retries_4xx: bool,
    /// Puts the jitter on top of the backoff instead of below it.
    pub jitter_on_top: bool,
}

impl Knobs {
    pub const RIGHT: Knobs = Knobs {
        kind: Kind::Window,
        sleeps_when_refused: false,
        lock_across_await: false,
        retries_4xx: false,
        jitter_on_top: false,
    };
}

#[derive(Debug, Default)]
struct Window {
    deposits: VecDeque<Instant>,
    withdrawals: VecDeque<Instant>,
}

impl Window {
    fn deposit(&mut self, limits: &RetryBudget) {
        self.forget(limits);
        self.deposits.push_back(Instant::now());
    }

    fn withdraw(&mut self, limits: &RetryBudget, ratio: f64) -> bool {
        self.forget(limits);
        let allowed = ratio * self.deposits.len() as f64
            + f64::from(limits.min_per_second) * limits.window.as_secs_f64();
        let ok = self.withdrawals.len() as f64 + 1.0 <= allowed;
        if ok {
            self.withdrawals.push_back(Instant::now());
        }
        ok
    }

    fn forget(&mut self, limits: &RetryBudget) {
        let Some(start) = Instant::now().checked_sub(limits.window) else { return };
        for times in [&mut self.deposits, &mut self.withdrawals] {
            while times.front().is_some_and(|time| *time < start) {
                times.pop_front();
            }
        }
    }
}

thread_local! {
    /// Every client's budget, where a client wrongly keeps it in one place for all.
    static GLOBAL: RefCell<Window> = RefCell::new(Window::default());
}

pub struct Client {
    knobs: Knobs,
    client: reqwest::Client,
    policy: RetryPolicy,
    limits: RetryBudget,
    window: Mutex<Window>,
    /// Thousandths of a retry.
    tokens: AtomicI64,
    /// When the bucket was last refilled by time, in µs since `born`.
    refilled: AtomicU64,
    born: Instant,
    tower: TpsBudget,
    lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("knobs", &self.knobs).finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(
        knobs: Knobs,
        client: reqwest::Client,
        policy: RetryPolicy,
        limits: RetryBudget,
    ) -> Self {
        let floor = f64::from(limits.min_per_second) * limits.window.as_secs_f64();
        Self {
            knobs,
            client,
            policy,
            limits,
            window: Mutex::default(),
            tokens: AtomicI64::new((floor * 1000.0) as i64),
            refilled: AtomicU64::new(0),
            born: Instant::now(),
            tower: TpsBudget::new(limits.window, limits.min_per_second, limits.ratio as f32),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn deposit(&self, own: &mut Window) {
        match self.knobs.kind {
            Kind::Window | Kind::RetriesDeposit => {
                self.window.lock().unwrap().deposit(&self.limits)
            }
            Kind::PerCall => own.deposit(&self.limits),
            Kind::Global => GLOBAL.with(|global| global.borrow_mut().deposit(&self.limits)),
            Kind::Atomic => {
                self.tokens.fetch_add((self.limits.ratio * 1000.0) as i64, Ordering::SeqCst);
            }
            Kind::Tower => self.tower.deposit(),
            Kind::None | Kind::NeverRefills | Kind::TimeOnly => {}
        }
    }

    fn withdraw(&self, own: &mut Window) -> bool {
        let limits = &self.limits;
        match self.knobs.kind {
            Kind::Window => self.window.lock().unwrap().withdraw(limits, limits.ratio),
            Kind::TimeOnly => self.window.lock().unwrap().withdraw(limits, 0.0),
            Kind::RetriesDeposit => {
                let mut window = self.window.lock().unwrap();
                window.deposit(limits);
                window.withdraw(limits, limits.ratio)
            }
            Kind::PerCall => own.withdraw(limits, limits.ratio),
            Kind::Global => {
                GLOBAL.with(|global| global.borrow_mut().withdraw(limits, limits.ratio))
            }
            Kind::Atomic => self.take_token(true),
            Kind::NeverRefills => self.take_token(false),
            Kind::Tower => self.tower.withdraw(),
            Kind::None => true,
        }
    }

    /// A token from the bucket, refilled by time first when `refills`.
    fn take_token(&self, refills: bool) -> bool {
        if refills {
            let now = self.born.elapsed().as_micros() as u64;
            let before = self.refilled.swap(now, Ordering::SeqCst);
            let earned = f64::from(self.limits.min_per_second)
                * (now.saturating_sub(before)) as f64
                / 1000.0;
            self.tokens.fetch_add(earned as i64, Ordering::SeqCst);
        }
        if self.tokens.fetch_sub(1000, Ordering::SeqCst) >= 1000 {
            true
        } else {
            self.tokens.fetch_add(1000, Ordering::SeqCst);
            false
        }
    }

    pub async fn get(&self, url: &str) -> Result<reqwest::Response, reqwest::Error> {
        let _serialised =
            if self.knobs.lock_across_await { Some(self.lock.lock().await) } else { None };
        let mut own = Window::default();
        self.deposit(&mut own);
        let mut attempt = 1;
        loop {
            let outcome = self.client.get(url).send().await;
            let retryable = match &outcome {
                Ok(response) => {
                    response.status().is_server_error()
                        || (self.knobs.retries_4xx && response.status().is_client_error())
                }
                Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
            };
            if attempt >= self.policy.max_attempts || !retryable {
                return outcome;
            }
            let asked = outcome.as_ref().ok().and_then(|response| {
                let value = response.headers().get("retry-after")?.to_str().ok()?;
                value.parse().ok().map(Duration::from_secs)
            });
            let wait = match asked {
                Some(asked) if asked > self.policy.max_delay => return outcome,
                Some(asked) => asked,
                None => {
                    let d = self
                        .policy
                        .base_delay
                        .saturating_mul(1 << (attempt - 1))
                        .min(self.policy.max_delay);
                    let random =
                        RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64;
                    if self.knobs.jitter_on_top { d + d.mul_f64(random) } else { d.mul_f64(random) }
                }
            };
            if !self.withdraw(&mut own) {
                if self.knobs.sleeps_when_refused {
                    tokio::time::sleep(wait).await;
                }
                return outcome;
            }
            drop(outcome);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}
