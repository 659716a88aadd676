//! Lesson 3's judge, run in process against its solution, its starter, good answers in other
//! styles, and known-wrong answers. Each wrong answer makes one mistake a learner is likely to
//! make, and must be rejected by the check written for that mistake, for that reason.
//!
//! A judge run takes a second or more of waiting, so each test judges several answers at once
//! (each on threads and runtimes of its own, as each would be in processes of its own).

#[path = "../../solutions/03_retry_on_5xx.rs"]
mod solution;

#[path = "../../exercises/.starters/03_retry_on_5xx.rs"]
mod starter;

mod uuid_equal_jitter;

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState};
use std::time::{Duration, Instant, SystemTime};

use futures_util::{StreamExt, stream};
use httplings::RetryPolicy;
use httplings::lessons::retry_on_5xx::GetWithRetry;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::retry_on_5xx::{self, CHECKS};
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Error, RequestBuilder, Response};

use crate::support::{
    assert_failed, assert_rejected, assert_rejected_any, caught_by, report, seed, taking_turns,
};

const TWO_XX: &str = CHECKS[0];
const THREE_XX: &str = CHECKS[1];
const NEVER_4XX: &str = CHECKS[2];
const FLAKY: &str = CHECKS[3];
const BROKEN: &str = CHECKS[4];
const DOUBLES: &str = CHECKS[5];
const CAPPED: &str = CHECKS[6];
const ASKED: &str = CHECKS[7];
const COUNTS: &str = CHECKS[8];
const TOO_LONG: &str = CHECKS[9];
const UNREADABLE: &str = CHECKS[10];
const DATE: &str = CHECKS[11];
const ZERO: &str = CHECKS[12];
const RESET: &str = CHECKS[13];
const TIMEOUT: &str = CHECKS[14];
const REFUSED: &str = CHECKS[15];
const LONG_HAUL: &str = CHECKS[16];
const ONCE: &str = CHECKS[17];
const UNSENDABLE: &str = CHECKS[18];
const GROWTH: &str = CHECKS[19];
const JITTER: &str = CHECKS[20];
const SLEEPS: &str = CHECKS[21];

/// What a `get_with_retry` hands back.
type Sent = Result<Response, Error>;

/// How a client retries, piece by piece: [`RIGHT`], the solution's way, then one mistake per
/// known-wrong answer below, so that each differs from a right one only by its mistake.
#[derive(Clone, Copy)]
struct Behaviour {
    /// How each attempt's request is made.
    request: fn(&Client, &str) -> RequestBuilder,
    /// Whether an outcome may come out otherwise if the request is sent again.
    worth_retrying: fn(&Sent) -> bool,
    /// How long a response's Retry-After asks to wait, as the client reads it.
    retry_after: fn(&Response) -> Option<Duration>,
    /// Whether a Retry-After of zero (or a date past) waits nothing instead of the backoff.
    zero_waits_nothing: bool,
    /// Whether a Retry-After beyond max_delay makes it give up rather than wait.
    gives_up_beyond_max_delay: bool,
    /// Whether the retry after a Retry-After counts as an attempt.
    counts_asked: bool,
    /// Whether it counts towards the backoff's exponent too.
    backoff_counts_asked: bool,
    /// The longest wait before retry `retry` (1 for the first) when the server asked for none.
    backoff: fn(&RetryPolicy, u32) -> Duration,
    /// The wait taken, given that longest one, the URL and the retry.
    jitter: fn(Duration, &str, u32) -> Duration,
    /// How it waits.
    wait: Wait,
    /// Whether `attempt` requests are all that `max_attempts` allows.
    exhausted: fn(u32, u32) -> bool,
    /// What it makes of the last response when the attempts run out.
    last_response: fn(Response) -> Sent,
    /// Whether it keeps the first response to return, instead of the last.
    returns_the_first: bool,
    /// Whether it sleeps once more after the last attempt.
    lingers: bool,
    /// Whether it keeps the first error to return, instead of the last.
    returns_the_first_error: bool,
    /// Whether it counts a Retry-After from when it sent the request, not from the answer.
    asked_from_sending: bool,
    /// Whether it waits a backoff on top of a Retry-After, not instead of it.
    backoff_on_top_of_asked: bool,
    /// The same, for an HTTP-date only.
    backoff_on_top_of_dates: bool,
    /// Whether it reads a response it retries to its end, however long (no limit).
    drains_whole: bool,
    /// Whether it counts a backoff from when it sent the request (so that a timeout has spent
    /// it), not from the failure.
    backoff_from_sending: bool,
    /// Whether it waits a backoff before the first attempt too (a loop that sleeps at its top).
    sleeps_before_first: bool,
    /// Whether it waits the longer of a Retry-After and a jittered backoff (a right answer).
    asked_or_backoff: bool,
    /// Whether it waits a Retry-After only when it is longer than the backoff's bound, and a
    /// jittered backoff otherwise.
    asked_only_above_backoff: bool,
    /// Whether it sleeps once more after its last attempt when that ended in an error.
    lingers_after_errors: bool,
    /// Whether it comes straight back after a transport error (backoff after a 5xx only).
    no_wait_after_errors: bool,
    /// Whether it comes straight back after a refused connection (the request never left).
    no_wait_after_refusals: bool,
    /// Whether it waits the backoff's whole bound after a transport error (jitter after a 5xx
    /// only).
    unjittered_after_errors: bool,
    /// Whether its backoff after a transport error stays at the first bound (it grows after a
    /// 5xx only).
    flat_after_errors: bool,
    /// Whether it reads Retry-After on the first answer of a call only.
    asked_on_first_only: bool,
    /// Whether a Retry-After, once read, holds for every later 5xx of the call that has none.
    remembers_asked: bool,
    /// Whether it draws one random share per call and takes it of every bound (instead of
    /// `jitter`'s draw afresh for every wait).
    one_share_per_call: bool,
    /// Whether it jitters the uncapped bound and caps the draw (instead of jittering below the
    /// capped bound).
    caps_after_jitter: bool,
}

#[derive(Clone, Copy)]
enum Wait {
    Sleep,
    /// `yield_now` until the time is up: awaits, and still burns a core.
    Yield,
    /// `std::thread::sleep`: blocks the thread that runs every call.
    BlockThread,
}

const RIGHT: Behaviour = Behaviour {
    request: |client, url| client.get(url),
    worth_retrying,
    retry_after,
    zero_waits_nothing: false,
    gives_up_beyond_max_delay: true,
    counts_asked: true,
    backoff_counts_asked: true,
    backoff,
    jitter: |longest, _, _| full_jitter(longest),
    wait: Wait::Sleep,
    exhausted: |attempt, max_attempts| attempt >= max_attempts,
    last_response: Ok,
    returns_the_first: false,
    lingers: false,
    returns_the_first_error: false,
    asked_from_sending: false,
    backoff_on_top_of_asked: false,
    backoff_on_top_of_dates: false,
    drains_whole: false,
    backoff_from_sending: false,
    sleeps_before_first: false,
    asked_or_backoff: false,
    asked_only_above_backoff: false,
    asked_on_first_only: false,
    remembers_asked: false,
    lingers_after_errors: false,
    no_wait_after_errors: false,
    no_wait_after_refusals: false,
    unjittered_after_errors: false,
    flat_after_errors: false,
    one_share_per_call: false,
    caps_after_jitter: false,
};

impl Behaviour {
    /// The solution's loop, each step taken the way this behaviour says.
    async fn get(self, client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
        let (mut attempt, mut timed) = (1, 0);
        let (mut kept, mut first_error, mut remembered) = (None, None, None);
        let share = random();
        if self.sleeps_before_first {
            self.pause((self.jitter)((self.backoff)(policy, 1), url, 0)).await;
        }
        loop {
            // The backoff's exponent: the retry's number, less those the server timed when they
            // are not counted.
            let retry = if self.backoff_counts_asked { attempt } else { attempt - timed };
            let sent = Instant::now();
            let mut outcome = (self.request)(client, url).send().await;
            if !(self.worth_retrying)(&outcome) || (self.exhausted)(attempt, policy.max_attempts) {
                if self.lingers || (self.lingers_after_errors && outcome.is_err()) {
                    self.pause((self.backoff)(policy, retry)).await;
                }
                if let (Err(_), Some(first)) = (&outcome, first_error) {
                    return Err(first);
                }
                return kept.map_or(outcome, Ok).and_then(self.last_response);
            }
            let asked = outcome.as_ref().ok().and_then(self.retry_after);
            let asked = asked.filter(|_| attempt == 1 || !self.asked_on_first_only);
            let asked = match asked {
                None if self.remembers_asked && outcome.is_ok() => remembered,
                _ => {
                    remembered = asked;
                    asked
                }
            };
            let wait = match asked {
                Some(asked) if asked > policy.max_delay && self.gives_up_beyond_max_delay => {
                    return outcome;
                }
                Some(asked) if !asked.is_zero() && self.asked_or_backoff => {
                    asked.max((self.jitter)((self.backoff)(policy, retry), url, attempt))
                }
                Some(asked)
                    if !asked.is_zero()
                        && self.asked_only_above_backoff
                        && asked <= (self.backoff)(policy, retry) =>
                {
                    (self.jitter)((self.backoff)(policy, retry), url, attempt)
                }
                Some(asked)
                    if !asked.is_zero()
                        && (self.backoff_on_top_of_asked
                            || (self.backoff_on_top_of_dates && asked_a_date(&outcome))) =>
                {
                    asked.min(policy.max_delay)
                        + (self.jitter)((self.backoff)(policy, retry), url, attempt)
                }
                Some(asked) if !asked.is_zero() || self.zero_waits_nothing => {
                    asked.min(policy.max_delay)
                }
                _ if self.one_share_per_call => (self.backoff)(policy, retry).mul_f64(share),
                _ if self.caps_after_jitter => {
                    let uncapped = RetryPolicy { max_delay: Duration::MAX, ..*policy };
                    let drawn = (self.jitter)((self.backoff)(&uncapped, attempt), url, attempt);
                    drawn.min(policy.max_delay)
                }
                _ => (self.jitter)((self.backoff)(policy, retry), url, attempt),
            };
            let wait = match asked {
                Some(_) if self.asked_from_sending => wait.saturating_sub(sent.elapsed()),
                None if self.backoff_from_sending => wait.saturating_sub(sent.elapsed()),
                _ if self.no_wait_after_errors && outcome.is_err() => Duration::ZERO,
                _ if self.no_wait_after_refusals
                    && outcome.as_ref().is_err_and(Error::is_connect) =>
                {
                    Duration::ZERO
                }
                _ if self.unjittered_after_errors && outcome.is_err() => {
                    (self.backoff)(policy, retry)
                }
                _ if self.flat_after_errors && outcome.is_err() => {
                    (self.jitter)((self.backoff)(policy, 1), url, attempt)
                }
                _ => wait,
            };
            if let (true, Ok(response)) = (self.drains_whole, &mut outcome) {
                while let Ok(Some(_)) = response.chunk().await {}
            }
            if self.returns_the_first && attempt == 1 {
                kept = outcome.ok();
            } else if self.returns_the_first_error && first_error.is_none() {
                first_error = outcome.err();
            }
            self.pause(wait).await;
            if self.counts_asked || asked.is_none() {
                attempt += 1;
            }
            timed += u32::from(asked.is_some_and(|asked| !asked.is_zero()));
        }
    }

    async fn pause(self, wait: Duration) {
        let until = Instant::now() + wait;
        match self.wait {
            Wait::Sleep => tokio::time::sleep(wait).await,
            Wait::Yield => {
                while Instant::now() < until {
                    tokio::task::yield_now().await;
                }
            }
            Wait::BlockThread => std::thread::sleep(wait),
        }
    }
}

fn worth_retrying(outcome: &Sent) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
    }
}

/// Whether the response asked for its wait with an HTTP-date.
fn asked_a_date(outcome: &Sent) -> bool {
    let value = outcome.as_ref().ok().and_then(|response| response.headers().get(RETRY_AFTER));
    value
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| delay_seconds(value.trim()).is_none())
}

/// Both forms, as lesson 2 reads them.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Some(seconds) = delay_seconds(value) {
        return Some(seconds);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or_default())
}

fn delay_seconds(value: &str) -> Option<Duration> {
    let digits = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    digits.then(|| Duration::from_secs(value.parse().unwrap_or(u64::MAX)))
}

fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    policy.base_delay.saturating_mul(2u32.saturating_pow(retry - 1)).min(policy.max_delay)
}

/// A number in `[0, 1]`, different each time.
fn random() -> f64 {
    RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64
}

fn full_jitter(longest: Duration) -> Duration {
    longest.mul_f64(random())
}

fn equal_jitter(longest: Duration) -> Duration {
    longest / 2 + (longest / 2).mul_f64(random())
}

thread_local! {
    /// The previous wait of each call (by its URL), for decorrelated jitter. Shared between
    /// calls, it drew a call's waits at the cap from another call's first ones, which do not grow.
    static PREVIOUS: RefCell<HashMap<String, Duration>> = RefCell::new(HashMap::new());
    /// A generator seeded with a constant, once per process (the learner's thread stands for one).
    static SEEDED: RefCell<fastrand::Rng> = const { RefCell::new(fastrand::Rng::with_seed(42)) };
}

/// Decorrelated jitter, kept below the backoff's bound: each wait random between half the first
/// bound and three times the wait before, never above d.
fn decorrelated_bounded(longest: Duration, url: &str, retry: u32) -> Duration {
    PREVIOUS.with_borrow_mut(|previous| {
        let previous = previous.entry(url.to_string()).or_default();
        // The first draw of a call, or the first after waits the server timed: from d.
        let (floor, ceiling) = if retry == 1 || previous.is_zero() {
            (longest / 2, longest)
        } else {
            ((*previous).min(longest) / 2, (*previous * 3).min(longest))
        };
        *previous = floor + (ceiling.saturating_sub(floor)).mul_f64(random());
        *previous
    })
}

/// Judges `get_with_retry` with a fresh seed. A test judges its answers one after the other:
/// each plays some sixty calls in two processes, with waits judged to a few per cent.
async fn judge(get_with_retry: impl GetWithRetry + Send + Clone) -> (Judged, u64) {
    let seed = seed();
    (retry_on_5xx::judge_in_process(get_with_retry, seed).await, seed)
}

/// Judges each behaviour, one after the other, each with its own seed, and returns what was
/// decided, in order.
async fn judged(behaviours: Vec<Behaviour>) -> Vec<(Judged, u64)> {
    stream::iter(behaviours.into_iter().map(|behaviour| {
        judge(async move |client: &Client, url: &str, policy: &RetryPolicy| {
            behaviour.get(client, url, policy).await
        })
    }))
    .buffered(1)
    .collect()
    .await
}

/// A known-wrong answer: `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        Behaviour { $($field: $value,)* ..RIGHT }
    };
}

/// The checks whose scenarios back off: a client whose waits are too long fails any of them.
const BACKING_OFF: &[&str] = &[
    FLAKY, BROKEN, DOUBLES, CAPPED, ASKED, COUNTS, UNREADABLE, RESET, TIMEOUT, REFUSED, LONG_HAUL,
    GROWTH,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_and_the_starter() {
    let (solution, seed) = judge(solution::get_with_retry).await;
    assert_failed(&solution, seed, CHECKS, &[]);
    let (starter, seed) = judge(starter::get_with_retry).await;
    let never_retries = [
        FLAKY, BROKEN, DOUBLES, CAPPED, ASKED, COUNTS, UNREADABLE, DATE, ZERO, RESET, TIMEOUT,
        REFUSED, LONG_HAUL, GROWTH, JITTER,
    ];
    assert_failed(&starter, seed, CHECKS, &never_retries);
    assert_rejected(&starter, seed, FLAKY, "never retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_answers_in_other_styles_pass() {
    // Equal jitter; decorrelated jitter kept below d; the server's wait taken whenever it is
    // the longer of the two.
    for (judged, seed) in judged(vec![
        with!(jitter: |longest, _, _| equal_jitter(longest)),
        with!(jitter: decorrelated_bounded),
        with!(asked_or_backoff: true),
    ])
    .await
    {
        assert_failed(&judged, seed, CHECKS, &[]);
    }
    let (judged, seed) = judge(uuid_equal_jitter::get_with_retry).await;
    assert_failed(&judged, seed, CHECKS, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn waits_that_do_not_grow_or_grow_too_far_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // Jitter added on top of the backoff instead of below it.
        with!(jitter: |longest, _, _| longest + longest.mul_f64(random())),
        // A wait that never grows.
        with!(backoff: |policy, _| policy.base_delay),
        // The cap doubled (equal jitter, so that every run shows it).
        with!(backoff: |policy, retry| backoff(policy, retry).max(backoff(&RetryPolicy { max_delay: policy.max_delay * 2, ..*policy }, retry)), jitter: |longest, _, _| equal_jitter(longest)),
        // One doubling ahead: base × 2^n.
        with!(backoff: |policy, retry| backoff(policy, retry + 1), jitter: |longest, _, _| equal_jitter(longest)),
        // Half as much again, or half as little: "jitter" spread around d instead of below it.
        with!(jitter: |longest, _, _| longest.mul_f64(0.5 + random())),
        // Back to base_delay once 2^(n−1) overflows.
        with!(backoff: |policy, retry| 2u32.checked_pow(retry - 1).map_or(policy.base_delay, |factor| policy.base_delay.saturating_mul(factor).min(policy.max_delay))),
        // Equal jitter 20 % too long: every wait in [0.6 d, 1.2 d].
        with!(jitter: |longest, _, _| equal_jitter(longest).mul_f64(1.2)),
        // Full jitter 20 % too long: every wait in [0, 1.2 d].
        with!(jitter: |longest, _, _| full_jitter(longest).mul_f64(1.2)),
        // 2^(n−1) as a u64, saturated into a u32 factor, and back to base_delay once it
        // overflows the u64.
        with!(backoff: |policy, retry| 2u64.checked_pow(retry - 1).map_or(policy.base_delay, |factor| policy.base_delay.saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX)).min(policy.max_delay))),
    ])
    .await;
    let [
        (on_top, a),
        (flat, b),
        (double_cap, c),
        (ahead, d),
        (around, e),
        (restarts, f),
        (fifth_over, g),
        (fifth_over_full, h),
        (wraps, i),
    ] = &answers[..]
    else {
        unreachable!()
    };
    // Over sixty-four calls' longest bounds, some wait breaks late(d) in every play.
    caught_by(fifth_over, *g, DOUBLES, BACKING_OFF);
    caught_by(fifth_over_full, *h, DOUBLES, BACKING_OFF);
    assert_rejected(fifth_over, *g, DOUBLES, "jitter goes below it, not above");
    caught_by(on_top, *a, DOUBLES, BACKING_OFF);
    assert_rejected(on_top, *a, DOUBLES, "jitter goes below it, not above");
    // Waits that never grow stay low against the doubled bounds, too, and never reach
    // max_delay past retry 32; those after a Retry-After stay low too.
    caught_by(flat, *b, GROWTH, &[DOUBLES, CAPPED, ASKED, RESET, LONG_HAUL]);
    assert_rejected(flat, *b, GROWTH, "the waits do not grow");
    caught_by(double_cap, *c, CAPPED, &[GROWTH, LONG_HAUL]);
    assert_rejected(double_cap, *c, CAPPED, "backoff allows at most");
    caught_by(ahead, *d, DOUBLES, BACKING_OFF);
    // Its waits are drawn afresh each run, so which of the two rules that bound a single wait
    // (every wait under base × 2^(n−1); under max_delay at the cap) sees one above d first
    // is chance: either catches it, and it fails nothing else.
    let over = [DOUBLES, CAPPED].iter().any(|check| around.failed().contains(check));
    assert!(over, "a wait above d should fail\n{}", report(around, *e));
    assert!(
        around.failed().iter().all(|check| BACKING_OFF.contains(check)),
        "{}",
        report(around, *e)
    );
    assert_failed(restarts, *f, CHECKS, &[LONG_HAUL]);
    assert_rejected(restarts, *f, LONG_HAUL, "past retry 32 the waits fell");
    assert_failed(wraps, *i, CHECKS, &[LONG_HAUL]);
    assert_rejected(wraps, *i, LONG_HAUL, "past retry 64 the waits fell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn waits_drawn_short_of_their_bound_or_of_the_cap_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // Full jitter over 70 % of d: it reaches 60 % of d about as often as the reach rule
        // asks, and never the last tenth (a busy machine would have to hold a wait up by a fifth
        // of its bound to hide that).
        with!(jitter: |longest, _, _| full_jitter(longest).mul_f64(0.7)),
        // A cap of 70 % of max_delay.
        with!(backoff: |policy, retry| backoff(policy, retry).min(policy.max_delay.mul_f64(0.7))),
        // A bound that grows 1.7 times, not twice: 72 % of d before retry 3, 61 % before 4.
        // (Saturating: hundreds of retries overflow a Duration.)
        with!(backoff: |policy, retry| {
            let grown = policy.base_delay.as_secs_f64() * 1.7f64.powi(retry as i32 - 1);
            Duration::try_from_secs_f64(grown).unwrap_or(Duration::MAX).min(policy.max_delay)
        }),
    ])
    .await;
    let [(short, a), (low_cap, b), (slow_growth, c)] = &answers[..] else { unreachable!() };
    // Its waits reach 60 % of d a seventh as often as full jitter's: the reach rule may say so
    // first. The waits after a Retry-After and the resets' are judged on their reach too (32
    // and 72 of them, short enough to fall below a tenth reaching in about one play of three),
    // and may fall short there as well.
    caught_by(short, *a, DOUBLES, &[CAPPED, ASKED, RESET]);
    assert_rejected_any(short, *a, DOUBLES, &["the longest came to", "stay low"]);
    caught_by(low_cap, *b, CAPPED, &[]);
    assert_rejected(low_cap, *b, CAPPED, "capped below it");
    caught_by(slow_growth, *c, DOUBLES, &[ASKED, RESET]);
    let reasons = ["the longest came to", "before retry", "stay low"];
    assert_rejected_any(slow_growth, *c, DOUBLES, &reasons);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn waits_without_jitter_or_with_a_predictable_one_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // No jitter at all.
        with!(jitter: |longest, _, _| longest),
        // A generator seeded with a constant for every call.
        with!(jitter: |longest, _, _| longest.mul_f64(fastrand::Rng::with_seed(7).f64())),
        // A generator seeded with a constant once per process.
        with!(jitter: |longest, _, _| longest.mul_f64(SEEDED.with_borrow_mut(fastrand::Rng::f64))),
        // One random share per call, taken of every bound: calls differ, each call's waits
        // keep their place in the herd.
        with!(one_share_per_call: true),
        // Equal jitter drawn below the uncapped bound, then capped: past the cap, every wait is
        // max_delay to the millisecond.
        with!(caps_after_jitter: true, jitter: |longest, _, _| equal_jitter(longest)),
        // Jitter on the first retry only: every later wait is d to the millisecond.
        with!(jitter: |longest, _, retry| if retry == 1 { full_jitter(longest) } else { longest }),
        // A hash of the URL and the retry: every instance of a service calls the same URLs.
        with!(jitter: |longest, url, retry| {
            let mut hasher = DefaultHasher::new();
            (url, retry).hash(&mut hasher);
            longest.mul_f64(hasher.finish() as f64 / u64::MAX as f64)
        }),
        // Jitter after a 5xx only: after a reset, a timeout or a refusal, the whole bound.
        with!(unjittered_after_errors: true),
    ])
    .await;
    let [
        (none, a),
        (per_call, b),
        (per_process, c),
        (share_per_call, e),
        (capped_after, f),
        (first_only, g),
        (by_url, d),
        (errors_unjittered, h),
    ] = &answers[..]
    else {
        unreachable!()
    };
    assert_failed(capped_after, *f, CHECKS, &[JITTER]);
    assert_rejected(capped_after, *f, JITTER, "those waits are not jittered");
    assert_failed(first_only, *g, CHECKS, &[JITTER]);
    assert_rejected(first_only, *g, JITTER, "those waits are not jittered");
    assert_failed(share_per_call, *e, CHECKS, &[JITTER]);
    assert_rejected(share_per_call, *e, JITTER, "drawn once per call and reused");
    // Every kind of failure is a herd of its own: a 5xx, "now", a reset, a timeout, a refusal.
    const HERDS: [&str; 5] = [JITTER, ZERO, RESET, TIMEOUT, REFUSED];
    assert_failed(none, *a, CHECKS, &HERDS);
    assert_rejected(
        none,
        *a,
        JITTER,
        "without jitter, clients that failed together retry together",
    );
    // One share for every wait: every herd waits alike. The share is under 0.9, so the longest
    // waits never come near their bounds either, unless two CPU hogs stretch them there.
    caught_by(per_call, *b, JITTER, &[&HERDS[..], &[DOUBLES, CAPPED]].concat());
    for herd in HERDS {
        assert!(per_call.failed().contains(&herd), "{herd} should fail\n{}", report(per_call, *b));
    }
    assert_failed(per_process, *c, CHECKS, &[JITTER]);
    assert_rejected(per_process, *c, JITTER, "seeded with a constant");
    // Its waits are the URL's: the reset calls' may all stay low, as may the zero herds'.
    caught_by(by_url, *d, JITTER, &HERDS);
    assert_failed(errors_unjittered, *h, CHECKS, &[RESET, TIMEOUT, REFUSED]);
    for check in [RESET, TIMEOUT, REFUSED] {
        assert_rejected(errors_unjittered, *h, check, "without jitter");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn mistakes_about_what_to_retry_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // Every failure retried: 4xx too.
        with!(worth_retrying: |outcome| !matches!(outcome, Ok(response) if response.status().is_success())),
        // Transport errors never retried.
        with!(worth_retrying: |outcome| matches!(outcome, Ok(response) if response.status().is_server_error())),
        // Any Err retried, even a request that could never be sent.
        with!(worth_retrying: |outcome| outcome.as_ref().map_or(true, |response| response.status().is_server_error())),
    ])
    .await;
    let [(everything, a), (no_transport, b), (builder, c)] = &answers[..] else { unreachable!() };
    // "Anything but success" takes in requests that could never be sent, too.
    assert_failed(everything, *a, CHECKS, &[THREE_XX, NEVER_4XX, UNSENDABLE]);
    assert_rejected(everything, *a, NEVER_4XX, "must not be retried");
    assert_failed(no_transport, *b, CHECKS, &[FLAKY, RESET, TIMEOUT, REFUSED]);
    assert_failed(builder, *c, CHECKS, &[UNSENDABLE]);
    assert_rejected(builder, *c, UNSENDABLE, "(is_builder()) was retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn mistakes_about_retry_after_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // Retry-After ignored.
        with!(retry_after: |_| None),
        // Read on a 503 only.
        with!(retry_after: |response| if response.status() == 503 { retry_after(response) } else { None }),
        // A long Retry-After capped to max_delay and waited for, instead of returned.
        with!(gives_up_beyond_max_delay: false),
        // `+1` read as one second, as `u64::from_str` does.
        with!(retry_after: |response| {
            let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
            value.parse().ok().map(Duration::from_secs).or_else(|| retry_after(response))
        }),
        // Seconds only: a date is no hint.
        with!(retry_after: |response| delay_seconds(response.headers().get(RETRY_AFTER)?.to_str().ok()?)),
        // The retry after a Retry-After not counted.
        with!(counts_asked: false),
        // "0" (or a date past) taken at its word: everybody back at once.
        with!(zero_waits_nothing: true),
        // A date past taken at its word, "0" not: back at once after one form only.
        with!(retry_after: |response| {
            let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
            delay_seconds(value).or_else(|| {
                let date = httpdate::parse_http_date(value).ok()?;
                Some(date.duration_since(SystemTime::now()).unwrap_or(Duration::from_nanos(1)))
            })
        }),
        // "0" taken at its word, a date past not.
        with!(retry_after: |response| {
            let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
            match delay_seconds(value) {
                Some(Duration::ZERO) => Some(Duration::from_nanos(1)),
                _ => retry_after(response),
            }
        }),
        // Only IMF-fixdate read: the obsolete RFC 850 and asctime dates, which a recipient must
        // accept, are no hint.
        with!(retry_after: |response| {
            let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
            (delay_seconds(value).is_some() || (value.len() == 29 && value.ends_with(" GMT")))
                .then(|| retry_after(response))
                .flatten()
        }),
        // A backoff waited on top of what was asked for.
        with!(backoff_on_top_of_asked: true),
        // The same, for a date only: the reviewer's round on lesson 3.
        with!(backoff_on_top_of_dates: true),
        // Seconds too many for a u64 taken as unreadable: the usual backoff, and a retry.
        with!(retry_after: |response| {
            let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
            if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
                return value.parse().ok().map(Duration::from_secs);
            }
            retry_after(response)
        }),
        // The third attack round on lesson 3: Retry-After read on a call's first answer only,
        // and one read kept for every later 5xx of the call.
        with!(asked_on_first_only: true),
        with!(remembers_asked: true),
        // The reviewer's round on lesson 3: the retry the server timed counted as an attempt,
        // not in the backoff's exponent, which is then one doubling behind.
        with!(backoff_counts_asked: false),
    ])
    .await;
    let [
        (ignored, a),
        (only_503, b),
        (waits_anyway, c),
        (plus, d),
        (seconds_only, e),
        (uncounted, f),
        (zero, g),
        (past_at_once, h),
        (zero_at_once, i),
        (fixdate_only, j),
        (on_top, k),
        (on_top_of_dates, o),
        (huge_unreadable, l),
        (first_only, m),
        (remembers, n),
        (backoff_uncounted, p),
    ] = &answers[..]
    else {
        unreachable!()
    };
    // Each form of "now" is a herd of its own, every run.
    assert_failed(past_at_once, *h, CHECKS, &[ZERO]);
    assert_rejected(past_at_once, *h, ZERO, "<a date past");
    assert_failed(zero_at_once, *i, CHECKS, &[ZERO]);
    assert_rejected(zero_at_once, *i, ZERO, "Retry-After: 0)");
    // Every run sends a date soon in each form; a date an hour ahead, in any, is not read.
    caught_by(fixdate_only, *j, DATE, &[TOO_LONG]);
    assert_rejected(fixdate_only, *j, DATE, "waited only");
    // Ignoring Retry-After also retries one that asks for more than max_delay.
    assert_failed(ignored, *a, CHECKS, &[ASKED, COUNTS, TOO_LONG, DATE]);
    assert_rejected(ignored, *a, ASKED, "the server asked for 1000 ms");
    assert_failed(only_503, *b, CHECKS, &[ASKED, TOO_LONG, DATE]);
    assert_rejected(waits_anyway, *c, TOO_LONG, "give up at once");
    assert_failed(plus, *d, CHECKS, &[UNREADABLE]);
    assert_failed(seconds_only, *e, CHECKS, &[DATE, TOO_LONG]);
    assert_rejected(seconds_only, *e, DATE, "waited only");
    // Its backoff after a Retry-After is one doubling behind too.
    assert_failed(uncounted, *f, CHECKS, &[COUNTS, ASKED]);
    assert_rejected(uncounted, *f, COUNTS, "counts as an attempt");
    assert_failed(zero, *g, CHECKS, &[ZERO]);
    // The dates' backoff is long and shorter than any date asks for: added, it shows.
    assert_failed(on_top, *k, CHECKS, &[ASKED, DATE]);
    assert_failed(on_top_of_dates, *o, CHECKS, &[DATE]);
    assert_rejected(on_top_of_dates, *o, DATE, "a little more is fine");
    assert_failed(huge_unreadable, *l, CHECKS, &[TOO_LONG]);
    assert_rejected(huge_unreadable, *l, TOO_LONG, "should give up at once");
    assert_rejected(on_top, *k, ASKED, "the server asked for 1000 ms");
    // A Retry-After on the second answer of a call, and a 5xx without one after one that had
    // it, every run.
    assert_failed(first_only, *m, CHECKS, &[ASKED]);
    assert_rejected(first_only, *m, ASKED, "the server asked for 1000 ms");
    assert_failed(remembers, *n, CHECKS, &[ASKED]);
    assert_rejected(remembers, *n, ASKED, "backoff allows at most");
    // Thirty-two calls back off after a Retry-After, every run: each wait is within its bound,
    // and over all of them they stay low.
    assert_failed(backoff_uncounted, *p, CHECKS, &[ASKED]);
    assert_rejected(backoff_uncounted, *p, ASKED, "waits that stay low");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn short_waits_and_the_wrong_error_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // The first error handed back when attempts run out, not the last.
        with!(returns_the_first_error: true),
        // Jitter below half of d only.
        with!(jitter: |longest, _, _| full_jitter(longest / 2)),
        // An exponent one too low: backoff one doubling behind.
        with!(backoff: |policy, retry| backoff(policy, retry) / 2),
        // A Retry-After counted from when the request went out, not from the answer.
        with!(asked_from_sending: true),
        // Backoff after a 5xx, none after a reset, a timeout or a refused connection.
        with!(no_wait_after_errors: true),
        // Backoff after any failure but a refused connection, retried at once.
        with!(no_wait_after_refusals: true),
        // Backoff that grows after a 5xx, and stays at base_delay after a transport error.
        with!(flat_after_errors: true),
        // A backoff before the first attempt too.
        with!(sleeps_before_first: true),
        // A Retry-After shorter than the backoff's bound swapped for a backoff.
        with!(asked_only_above_backoff: true),
        // One more backoff after a last attempt that ended in an error.
        with!(lingers_after_errors: true),
        // A bound that grows linearly: base_delay × n.
        with!(backoff: |policy, retry| policy.base_delay.saturating_mul(retry).min(policy.max_delay)),
        // A backoff counted from sending: after a timeout, it has been spent.
        with!(backoff_from_sending: true),
    ])
    .await;
    let [
        (first_error, b),
        (half, c),
        (behind, d),
        (from_sending, e),
        (no_wait, f),
        (refused_at_once, l),
        (flat_errors, m),
        (sleeps_first, g),
        (only_above, h),
        (lingers_after_errors, i),
        (linear, j),
        (from_sending_all, k),
    ] = &answers[..]
    else {
        unreachable!()
    };
    // The calls that make one attempt are where it shows, which of them is chance, and a URL
    // that cannot be sent comes back late.
    let alone = [TWO_XX, THREE_XX, NEVER_4XX, UNSENDABLE];
    assert!(
        sleeps_first.failed().iter().any(|check| alone.contains(check)),
        "a wait before the first attempt should fail\n{}",
        report(sleeps_first, *g)
    );
    assert!(
        sleeps_first.failed().iter().all(|check| alone.contains(check)),
        "{}",
        report(sleeps_first, *g)
    );
    let said = alone
        .iter()
        .filter_map(|check| sleeps_first.failure(check))
        .any(|failure| failure.summary.contains("nothing is due before the first attempt"));
    assert!(said, "{}", report(sleeps_first, *g));
    assert_failed(only_above, *h, CHECKS, &[ASKED]);
    assert_rejected(only_above, *h, ASKED, "the server asked for 1000 ms");
    // The unjittered backoff after a last error: such calls return late (600-800 ms after a
    // reset; a refused connection's or one that could not be built, by less).
    caught_by(lingers_after_errors, *i, RESET, &[TIMEOUT, REFUSED, UNSENDABLE]);
    assert_rejected(lingers_after_errors, *i, RESET, "no point waiting after the final attempt");
    assert_rejected(no_wait, *f, RESET, "waits that stay low");
    assert_failed(refused_at_once, *l, CHECKS, &[REFUSED]);
    assert_rejected(refused_at_once, *l, REFUSED, "they did not wait");
    // Its first waits reach, its later ones never: before retry 2 or 3, or over all of them.
    assert_failed(flat_errors, *m, CHECKS, &[RESET]);
    assert_rejected_any(flat_errors, *m, RESET, &["before retry", "stay low"]);
    assert_rejected(first_error, *b, TIMEOUT, "not the timeout the last attempt ended in");
    assert_rejected(first_error, *b, RESET, "not the reset the last attempt ended in");
    assert_rejected(half, *c, DOUBLES, "waits that stay low");
    assert_rejected(behind, *d, DOUBLES, "waits that stay low");
    // Its first two bounds are right, its third reached a fifth of the time: the fourth's
    // waits are where it shows.
    // Or, before the fourth is reached, its waits stay low against the bounds after the second:
    // either says the backoff is shorter than the one asked for.
    assert_failed(linear, *j, CHECKS, &[DOUBLES]);
    let said = linear.failure(DOUBLES).is_some_and(|failure| {
        ["before retry", "waits that stay low"].iter().any(|said| failure.summary.contains(said))
    });
    assert!(said, "{}", report(linear, *j));
    // A first answer that comes late in the crowd of the check's first moment shortens the
    // wait after it too, which the first retries' reach may show.
    caught_by(from_sending_all, *k, TIMEOUT, &[DOUBLES]);
    assert_rejected(from_sending_all, *k, TIMEOUT, "after a timeout,");
    assert_rejected(from_sending, *e, ASKED, "the server asked for 1000 ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn mistakes_about_what_comes_back_and_when_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // The last 5xx turned into an error.
        with!(last_response: |response| response.error_for_status()),
        // A response returned, but not the last one the server sent.
        with!(returns_the_first: true),
        // One attempt too many.
        with!(exhausted: |attempt, max_attempts| attempt > max_attempts),
        // A sleep after the last attempt.
        with!(lingers: true),
        // POST instead of GET.
        with!(request: |client, url| client.post(url)),
        // A timeout of its own on each request, in place of the caller's (300 ms): shorter or
        // longer, it is not the caller's choice.
        with!(request: |client, url| client.get(url).timeout(Duration::from_millis(100))),
        with!(request: |client, url| client.get(url).timeout(Duration::from_millis(1_500))),
        // An error body read to its end, without a limit (the reviewer's round).
        with!(drains_whole: true),
    ])
    .await;
    let [
        (as_error, a),
        (first, b),
        (one_more, c),
        (lingers, d),
        (post, e),
        (shorter, f),
        (longer, g),
        (drains, h),
    ] = &answers[..]
    else {
        unreachable!()
    };
    assert_rejected(shorter, *f, TIMEOUT, "before the 300 ms timeout of the client it was handed");
    assert_rejected(longer, *g, TIMEOUT, "though the client it was handed times out after 300 ms");
    assert_rejected(as_error, *a, BROKEN, "should come back as it is");
    // Statuses vary, so the first response differs from the last by its status, or by its id.
    let said = first.failure(BROKEN).map(|failure| failure.summary.clone()).unwrap_or_default();
    assert!(
        said.contains("not the last response the server sent") || said.contains(" instead of the "),
        "{}",
        report(first, *b)
    );
    assert_rejected(one_more, *c, BROKEN, "max_attempts allows");
    assert_rejected(one_more, *c, ONCE, "max_attempts allows 1");
    assert_rejected(one_more, *c, REFUSED, "connection attempt(s), 3 expected");
    // A sleep after the last attempt: the call returns late, and (past the client's timeout,
    // which covers reading the body too) with a body that can no longer be read.
    let said = lingers.failure(DOUBLES).map(|failure| failure.summary.clone()).unwrap_or_default();
    assert!(
        said.contains("no point waiting after the final attempt")
            || said.contains("could not be read"),
        "{}",
        report(lingers, *d)
    );
    assert_rejected(post, *e, TWO_XX, "was a POST, not a GET");
    assert_failed(drains, *h, CHECKS, &[FLAKY]);
    assert_rejected(drains, *h, FLAKY, "a 5xx whose body never ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn waiting_that_is_not_sleeping_is_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![with!(wait: Wait::Yield), with!(wait: Wait::BlockThread)]).await;
    let [(yields, a), (blocks, b)] = &answers[..] else { unreachable!() };
    // yield_now awaits, so every call goes on, while a core burns.
    assert_rejected(yields, *a, SLEEPS, "it spins while it waits");
    // std::thread::sleep holds the thread that runs every call (so does a busy loop, which is
    // left out here: it would burn a core the other tests need): the calls stall each other,
    // and the report says why, first.
    match &blocks.lost {
        Some(lost) => assert!(
            lost.to_string().contains("your code stopped answering"),
            "{}",
            report(blocks, *b)
        ),
        None => assert_rejected(blocks, *b, blocks.failed()[0], "your code blocked its thread"),
    }
}

/// The eleventh attack round, from the edges of the space: statuses past the usual four, counts
/// past a `u8`, bounds under a millisecond, a `base_delay` above `max_delay`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn mistakes_at_the_edges_of_the_space_are_caught() {
    let _turn = taking_turns().await;
    let answers = judged(vec![
        // AWS's list: 500, 502, 503 and 504 only.
        with!(worth_retrying: |outcome| match outcome {
            Ok(response) => matches!(response.status().as_u16(), 500 | 502 | 503 | 504),
            Err(_) => worth_retrying(outcome),
        }),
        // A range that ends one short: 599 is never retried.
        with!(worth_retrying: |outcome| match outcome {
            Ok(response) => (500..599).contains(&response.status().as_u16()),
            Err(_) => worth_retrying(outcome),
        }),
        // The attempt counted in a u8.
        with!(exhausted: |attempt, max_attempts| {
            let attempt = u8::try_from(attempt).expect("attempt to add with overflow");
            u32::from(attempt) >= max_attempts
        }),
        // A wait drawn modulo the bound in whole milliseconds.
        with!(jitter: |longest, _, _| {
            let drawn = RandomState::new().hash_one(Instant::now());
            Duration::from_millis(drawn % longest.as_millis() as u64)
        }),
        // The bound capped only once it has doubled: the first is base_delay, above the cap.
        with!(backoff: |policy, retry| if retry == 1 { policy.base_delay } else { backoff(policy, retry) }),
    ])
    .await;
    let [(four, a), (short, b), (small, c), (modulo, d), (uncapped, e)] = &answers[..] else {
        unreachable!()
    };
    assert_failed(four, *a, CHECKS, &[FLAKY]);
    assert_failed(short, *b, CHECKS, &[FLAKY]);
    assert_failed(small, *c, CHECKS, &[LONG_HAUL]);
    assert_rejected(small, *c, LONG_HAUL, "attempt to add with overflow");
    assert_failed(modulo, *d, CHECKS, &[LONG_HAUL]);
    assert_rejected(modulo, *d, LONG_HAUL, "panicked");
    assert_failed(uncapped, *e, CHECKS, &[CAPPED]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn an_overflowing_backoff_is_caught_by_the_long_haul() {
    let _turn = taking_turns().await;
    let overflowing = |policy: &RetryPolicy, retry: u32| {
        (policy.base_delay * 2u32.pow(retry - 1)).min(policy.max_delay)
    };
    let answers = judged(vec![
        with!(backoff: overflowing),
        // The reviewer's round: the jitter stops where 2^(n−1) overflows, the cap waited whole.
        with!(jitter: |longest, _, retry| if retry > 32 { longest } else { full_jitter(longest) }),
    ])
    .await;
    let [(overflows, seed), (stops, stops_seed)] = &answers[..] else { unreachable!() };
    assert_failed(overflows, *seed, CHECKS, &[LONG_HAUL]);
    assert_rejected(
        overflows,
        *seed,
        LONG_HAUL,
        "get_with_retry panicked: attempt to multiply with overflow",
    );
    assert_failed(stops, *stops_seed, CHECKS, &[LONG_HAUL]);
    assert_rejected(stops, *stops_seed, LONG_HAUL, "the jitter stopped");
}
