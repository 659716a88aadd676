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
    /// A token count in atomics that nothing clears: deposits add `ratio`, time adds
    /// `min_per_second`. No window: healthy traffic banks retries for the next outage.
    Atomic,
    /// A ring of slots, each a window's twentieth, under a `Mutex`, in thousandths of a retry.
    Slots,
    /// A window that forgets withdrawals but never deposits.
    DepositsStay,
    /// A window that forgets deposits but never withdrawals: after one outage, no retry again.
    RetriesStay,
    /// The ratio alone, no floor.
    NoFloor,
    /// The floor as a reserve spent once (first), never refilled by the window.
    FloorOnce,
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
    /// A sliding window that allows one retry past its share (`<=` where `<` was meant).
    OneMore,
    /// A sliding window that records a withdrawal whether or not it grants it.
    RecordsRefusals,
    /// A window that starts afresh, empty, once it has run out (a tumbling window).
    Tumbling,
    /// A sliding window that forgets only when a call deposits, never when a retry asks.
    ForgetsOnDeposit,
    /// A sliding window whose every entry is dated when its call set out, retries too.
    DatedAtTheStart,
    /// A sliding window that refuses the retry that would bring the count to its allowance.
    StrictShare,
    /// A sliding window whose floor is `min_per_second` for the whole window.
    FloorPerWindow,
    /// A sliding window that takes back the withdrawal of a retry that succeeded.
    Refunds,
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
    /// The ratio rounded up to a tenth (0.25 works as 0.3).
    pub ratio_to_tenths: bool,
    /// A `Retry-After` above `max_delay` waited as `max_delay` and retried.
    pub caps_long_retry_after: bool,
    /// One attempt more than `max_attempts`.
    pub one_attempt_more: bool,
    /// Every answer with a `Retry-After` returned at once, even one within `max_delay`.
    pub returns_every_retry_after: bool,
    /// Counts attempts down instead of up: the second backoff underflows, and the call panics.
    pub counts_attempts_down: bool,
    /// The window the budget counts over, from the one configured.
    pub window_as: fn(Duration) -> Duration,
    /// Refused a retry, hands back the first attempt's response, not the last.
    pub returns_first_when_refused: bool,
    /// Never retries a failure on the way (a reset, a refused connection).
    pub no_transport_retries: bool,
    /// The whole backoff every time.
    pub no_jitter: bool,
    /// Retries a server asked for with `Retry-After` skip the budget.
    pub retry_after_free: bool,
    /// The backoff's exponent counts attempts, not retries: every wait doubled.
    pub doubled_backoff: bool,
    /// The backoff never capped at `max_delay`.
    pub uncapped: bool,
    /// Asks the budget for a retry before checking `max_attempts`: the last attempt pays for a
    /// retry that never happens.
    pub pays_past_the_last: bool,
    /// Asks the budget for a retry on a 4xx, which it then does not make.
    pub pays_for_a_4xx: bool,
    /// Asks the budget for a retry before seeing that the `Retry-After` is beyond `max_delay`.
    pub pays_before_a_long_retry_after: bool,
    /// Jitter from a generator seeded with a constant (per thread: in process, each learner
    /// runs its calls on a thread of its own, as each process would start from the constant).
    pub constant_seed: bool,
    /// Retries a 500 (unset: only the "transient" 502, 503 and 504).
    pub retries_500: bool,
    /// Waits a `Retry-After` only when a 503 asks; other 5xx get the backoff.
    pub retry_after_on_503_only: bool,
    /// Retries an attempt that timed out.
    pub retries_timeouts: bool,
    /// A transport failure costs no attempt: only answers count towards `max_attempts`.
    pub resets_free: bool,
    /// The backoff's jittered wait added on top of a `Retry-After`.
    pub backoff_after_retry_after: bool,
    /// Every wait drawn below `base_delay`: no exponential growth.
    pub constant_backoff: bool,
    /// A `Retry-After` of `max_delay` or more returned at once (`>=` for "more than").
    pub returns_retry_after_of_max_delay: bool,
    /// One random share per call, taken of every bound.
    pub one_share_per_call: bool,
    /// A retry after a `Retry-After` costs no attempt.
    pub asked_costs_no_attempt: bool,
    /// After a transport failure, the backoff of the first retry: it grows after a 5xx only.
    pub flat_after_resets: bool,
    /// A budget of ratio 0 and no floor read as no budget at all.
    pub zero_is_unlimited: bool,
    /// A retry after a refused connection skips the budget.
    pub refused_connections_free: bool,
    /// A first attempt pays in only once it has connected.
    pub deposits_when_connected: bool,
}

impl Knobs {
    pub const RIGHT: Knobs = Knobs {
        kind: Kind::Window,
        sleeps_when_refused: false,
        lock_across_await: false,
        retries_4xx: false,
        jitter_on_top: false,
        ratio_to_tenths: false,
        caps_long_retry_after: false,
        one_attempt_more: false,
        returns_every_retry_after: false,
        counts_attempts_down: false,
        window_as: |window| window,
        returns_first_when_refused: false,
        no_transport_retries: false,
        no_jitter: false,
        retry_after_free: false,
        doubled_backoff: false,
        uncapped: false,
        pays_past_the_last: false,
        pays_for_a_4xx: false,
        pays_before_a_long_retry_after: false,
        constant_seed: false,
        retries_500: true,
        retry_after_on_503_only: false,
        retries_timeouts: true,
        resets_free: false,
        backoff_after_retry_after: false,
        constant_backoff: false,
        returns_retry_after_of_max_delay: false,
        one_share_per_call: false,
        asked_costs_no_attempt: false,
        flat_after_resets: false,
        zero_is_unlimited: false,
        refused_connections_free: false,
        deposits_when_connected: false,
    };
}

#[derive(Debug, Default)]
struct Window {
    deposits: VecDeque<Instant>,
    withdrawals: VecDeque<Instant>,
    /// What keeps some of it from being forgotten, or the floor from being counted as usual.
    kind: Option<Kind>,
    /// The floor's reserve spent so far, where it is a reserve spent once.
    reserve_spent: f64,
    /// When a tumbling window began.
    started: Option<Instant>,
}

impl Window {
    fn of(kind: Kind) -> Self {
        Self { kind: Some(kind), ..Self::default() }
    }

    fn deposit(&mut self, limits: &RetryBudget, now: Instant) {
        self.forget(limits, now);
        self.deposits.push_back(now);
    }

    fn withdraw(&mut self, limits: &RetryBudget, ratio: f64, now: Instant) -> bool {
        if self.kind != Some(Kind::ForgetsOnDeposit) {
            self.forget(limits, now);
        }
        let floor = match self.kind {
            Some(Kind::FloorPerWindow) => f64::from(limits.min_per_second),
            _ => f64::from(limits.min_per_second) * limits.window.as_secs_f64(),
        };
        let from_ratio = ratio * self.deposits.len() as f64;
        let ok = match self.kind {
            Some(Kind::NoFloor) => self.withdrawals.len() as f64 + 1.0 <= from_ratio,
            Some(Kind::FloorOnce) if self.reserve_spent + 1.0 <= floor => {
                self.reserve_spent += 1.0;
                return true;
            }
            Some(Kind::FloorOnce) => self.withdrawals.len() as f64 + 1.0 <= from_ratio,
            Some(Kind::OneMore) => self.withdrawals.len() as f64 <= from_ratio + floor,
            Some(Kind::StrictShare) => self.withdrawals.len() as f64 + 1.0 < from_ratio + floor,
            _ => self.withdrawals.len() as f64 + 1.0 <= from_ratio + floor,
        };
        if ok || self.kind == Some(Kind::RecordsRefusals) {
            self.withdrawals.push_back(now);
        }
        ok
    }

    fn forget(&mut self, limits: &RetryBudget, now: Instant) {
        if self.kind == Some(Kind::Tumbling) {
            let started = *self.started.get_or_insert(now);
            if now.duration_since(started) >= limits.window {
                self.deposits.clear();
                self.withdrawals.clear();
                self.started = Some(now);
            }
            return;
        }
        let Some(start) = now.checked_sub(limits.window) else { return };
        let (deposits, withdrawals) = match self.kind {
            Some(Kind::DepositsStay) => (false, true),
            Some(Kind::RetriesStay) => (true, false),
            _ => (true, true),
        };
        for (times, forgets) in
            [(&mut self.deposits, deposits), (&mut self.withdrawals, withdrawals)]
        {
            while forgets && times.front().is_some_and(|time| *time < start) {
                times.pop_front();
            }
        }
    }
}

/// A ring of slots, each a twentieth of the window, in thousandths of a retry: (slot number,
/// earned, spent).
#[derive(Debug)]
struct Slots {
    started: Instant,
    slot: Duration,
    ring: [(u64, i64, i64); 20],
}

impl Slots {
    fn new(window: Duration) -> Self {
        let slot = (window / 20).max(Duration::from_millis(1));
        Self { started: Instant::now(), slot, ring: [(u64::MAX, 0, 0); 20] }
    }

    fn now(&self) -> u64 {
        (self.started.elapsed().as_nanos() / self.slot.as_nanos()) as u64
    }

    fn cell(&mut self) -> &mut (u64, i64, i64) {
        let now = self.now();
        let cell = &mut self.ring[(now % 20) as usize];
        if cell.0 != now {
            *cell = (now, 0, 0);
        }
        cell
    }

    fn take(&mut self, limits: &RetryBudget) -> bool {
        let now = self.now();
        let live = self.ring.iter().filter(|(slot, ..)| *slot != u64::MAX && slot + 20 > now);
        let balance: i64 = live.map(|(_, earned, spent)| earned - spent).sum::<i64>()
            + (f64::from(limits.min_per_second) * limits.window.as_secs_f64() * 1000.0) as i64;
        if balance >= 1000 {
            self.cell().2 += 1000;
        }
        balance >= 1000
    }
}

thread_local! {
    /// Every client's budget, where a client wrongly keeps it in one place for all.
    static GLOBAL: RefCell<Window> = RefCell::new(Window::default());
    /// A generator's state, seeded with a constant.
    static SEEDED: std::cell::Cell<u64> = const { std::cell::Cell::new(0x2545_f491_4f6c_dd1d) };
}

/// A share drawn afresh, in [0, 1].
fn random() -> f64 {
    RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64
}

pub struct Client {
    knobs: Knobs,
    client: reqwest::Client,
    policy: RetryPolicy,
    limits: RetryBudget,
    window: Mutex<Window>,
    slots: Mutex<Slots>,
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
        let mut limits = limits;
        limits.window = (knobs.window_as)(limits.window);
        let floor = f64::from(limits.min_per_second) * limits.window.as_secs_f64();
        if knobs.ratio_to_tenths {
            limits.ratio = (limits.ratio * 10.0).ceil() / 10.0;
        }
        Self {
            knobs,
            client,
            policy,
            limits,
            window: Mutex::new(Window::of(knobs.kind)),
            slots: Mutex::new(Slots::new(limits.window)),
            tokens: AtomicI64::new((floor * 1000.0) as i64),
            refilled: AtomicU64::new(0),
            born: Instant::now(),
            tower: TpsBudget::new(limits.window, limits.min_per_second, limits.ratio as f32),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The longest backoff before the retry after `attempt`, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        self.policy.base_delay.saturating_mul(1 << (attempt - 1)).min(self.policy.max_delay)
    }

    fn deposit(&self, own: &mut Window, started: Instant) {
        let now = Instant::now();
        match self.knobs.kind {
            Kind::Window
            | Kind::RetriesDeposit
            | Kind::DepositsStay
            | Kind::RetriesStay
            | Kind::NoFloor
            | Kind::FloorOnce
            | Kind::OneMore
            | Kind::RecordsRefusals
            | Kind::Tumbling
            | Kind::ForgetsOnDeposit
            | Kind::StrictShare
            | Kind::FloorPerWindow
            | Kind::Refunds => self.window.lock().unwrap().deposit(&self.limits, now),
            Kind::DatedAtTheStart => self.window.lock().unwrap().deposit(&self.limits, started),
            Kind::Slots => {
                self.slots.lock().unwrap().cell().1 += (self.limits.ratio * 1000.0) as i64;
            }
            Kind::PerCall => own.deposit(&self.limits, now),
            Kind::Global => GLOBAL.with(|global| global.borrow_mut().deposit(&self.limits, now)),
            Kind::Atomic => {
                self.tokens.fetch_add((self.limits.ratio * 1000.0) as i64, Ordering::SeqCst);
            }
            Kind::Tower => self.tower.deposit(),
            Kind::None | Kind::NeverRefills | Kind::TimeOnly => {}
        }
    }

    fn withdraw(&self, own: &mut Window, started: Instant) -> bool {
        let limits = &self.limits;
        if self.knobs.zero_is_unlimited && limits.ratio == 0.0 && limits.min_per_second == 0 {
            return true;
        }
        let now = Instant::now();
        match self.knobs.kind {
            Kind::Window
            | Kind::DepositsStay
            | Kind::RetriesStay
            | Kind::NoFloor
            | Kind::FloorOnce
            | Kind::OneMore
            | Kind::RecordsRefusals
            | Kind::Tumbling
            | Kind::ForgetsOnDeposit
            | Kind::StrictShare
            | Kind::FloorPerWindow
            | Kind::Refunds => self.window.lock().unwrap().withdraw(limits, limits.ratio, now),
            Kind::DatedAtTheStart => {
                self.window.lock().unwrap().withdraw(limits, limits.ratio, started)
            }
            Kind::Slots => self.slots.lock().unwrap().take(limits),
            Kind::TimeOnly => self.window.lock().unwrap().withdraw(limits, 0.0, now),
            Kind::RetriesDeposit => {
                let mut window = self.window.lock().unwrap();
                window.deposit(limits, now);
                window.withdraw(limits, limits.ratio, now)
            }
            Kind::PerCall => own.withdraw(limits, limits.ratio, now),
            Kind::Global => {
                GLOBAL.with(|global| global.borrow_mut().withdraw(limits, limits.ratio, now))
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
        let started = Instant::now();
        if !self.knobs.deposits_when_connected {
            self.deposit(&mut own, started);
        }
        let mut attempt = 1;
        let mut first = None;
        let share = random();
        loop {
            let outcome = self.client.get(url).send().await;
            let connected = !outcome.as_ref().is_err_and(reqwest::Error::is_connect);
            if self.knobs.deposits_when_connected && attempt == 1 && connected {
                self.deposit(&mut own, started);
            }
            let succeeded = outcome.as_ref().is_ok_and(|r| r.status().is_success());
            if self.knobs.kind == Kind::Refunds && attempt > 1 && succeeded {
                self.window.lock().unwrap().withdrawals.pop_back();
            }
            let retryable = match &outcome {
                Ok(response) if response.status() == 500 => self.knobs.retries_500,
                Ok(response) => {
                    response.status().is_server_error()
                        || (self.knobs.retries_4xx && response.status().is_client_error())
                }
                Err(_) if self.knobs.no_transport_retries => false,
                Err(error) if error.is_timeout() => self.knobs.retries_timeouts,
                Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
            };
            let most = self.policy.max_attempts + u32::from(self.knobs.one_attempt_more);
            if self.knobs.pays_past_the_last && retryable && attempt >= most {
                self.withdraw(&mut own, started);
            }
            let client_error = outcome.as_ref().is_ok_and(|r| r.status().is_client_error());
            if self.knobs.pays_for_a_4xx && client_error {
                self.withdraw(&mut own, started);
            }
            if attempt >= most || !retryable {
                return outcome;
            }
            let asked = outcome.as_ref().ok().and_then(|response| {
                if self.knobs.retry_after_on_503_only && response.status() != 503 {
                    return None;
                }
                let value = response.headers().get("retry-after")?.to_str().ok()?;
                value.parse().ok().map(Duration::from_secs)
            });
            let wait = match asked {
                Some(asked)
                    if asked > self.policy.max_delay && self.knobs.caps_long_retry_after =>
                {
                    self.policy.max_delay
                }
                Some(asked)
                    if asked > self.policy.max_delay
                        || self.knobs.returns_every_retry_after
                        || (self.knobs.returns_retry_after_of_max_delay
                            && asked == self.policy.max_delay) =>
                {
                    if self.knobs.pays_before_a_long_retry_after {
                        self.withdraw(&mut own, started);
                    }
                    return outcome;
                }
                Some(asked) if self.knobs.backoff_after_retry_after => {
                    asked + self.backoff(attempt).mul_f64(random())
                }
                Some(asked) => asked,
                None => {
                    let exponent = match () {
                        () if self.knobs.constant_backoff => 0,
                        () if self.knobs.flat_after_resets && outcome.is_err() => 0,
                        () if self.knobs.doubled_backoff => attempt,
                        () => attempt - 1,
                    };
                    let d = self.policy.base_delay.saturating_mul(1 << exponent);
                    let d = if self.knobs.uncapped { d } else { d.min(self.policy.max_delay) };
                    let random = if self.knobs.constant_seed {
                        SEEDED.with(|state| {
                            let mut x = state.get();
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            state.set(x);
                            (x >> 11) as f64 / (1u64 << 53) as f64
                        })
                    } else if self.knobs.one_share_per_call {
                        share
                    } else {
                        random()
                    };
                    if self.knobs.no_jitter {
                        d
                    } else if self.knobs.jitter_on_top {
                        d + d.mul_f64(random)
                    } else {
                        d.mul_f64(random)
                    }
                }
            };
            let refused = outcome.as_ref().is_err_and(reqwest::Error::is_connect);
            let free = (self.knobs.retry_after_free && asked.is_some())
                || (self.knobs.refused_connections_free && refused);
            if !free && !self.withdraw(&mut own, started) {
                if self.knobs.sleeps_when_refused {
                    tokio::time::sleep(wait).await;
                }
                return first.unwrap_or(outcome);
            }
            let outcome_was_answer = outcome.is_ok();
            if self.knobs.returns_first_when_refused && first.is_none() {
                first = Some(outcome);
            } else {
                drop(outcome);
            }
            let answered = outcome_was_answer;
            tokio::time::sleep(wait).await;
            if self.knobs.counts_attempts_down {
                attempt -= 1;
            } else if (answered || !self.knobs.resets_free)
                && !(self.knobs.asked_costs_no_attempt && asked.is_some())
            {
                attempt += 1;
            }
        }
    }
}
