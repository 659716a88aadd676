//! Lesson 3's judge, run in process against its solution, its starter, good answers in other
//! styles, and known-wrong answers. Each wrong answer makes one mistake a learner is likely to
//! make, and must be rejected by the check written for that mistake, for that reason.
//!
//! A judge run takes a second or more of waiting, so each test judges several answers at once
//! (each on a thread and a runtime of its own, as each would be in a process of its own).

#[path = "../../solutions/03_retry_on_5xx.rs"]
mod solution;

#[path = "../../exercises/.starters/03_retry_on_5xx.rs"]
mod starter;

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use httplings::RetryPolicy;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::retry_on_5xx::{self, CHECKS};
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Error, RequestBuilder, Response};

use crate::support::{assert_failed, assert_rejected, report, seed};

const TWO_XX: &str = CHECKS[0];
const THREE_XX: &str = CHECKS[1];
const NEVER_4XX: &str = CHECKS[2];
const FLAKY: &str = CHECKS[3];
const BROKEN: &str = CHECKS[4];
const DOUBLES: &str = CHECKS[5];
const CAPPED: &str = CHECKS[6];
const ASKED: &str = CHECKS[7];
const TOO_LONG: &str = CHECKS[8];
const UNREADABLE: &str = CHECKS[9];
const RESET: &str = CHECKS[10];
const TIMEOUT: &str = CHECKS[11];
const REFUSED: &str = CHECKS[12];
const LONG_HAUL: &str = CHECKS[13];
const ONCE: &str = CHECKS[14];
const UNSENDABLE: &str = CHECKS[15];
const GROWTH: &str = CHECKS[16];
const SLEEPS: &str = CHECKS[17];

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
    /// Whether a Retry-After beyond max_delay makes it give up rather than wait.
    gives_up_beyond_max_delay: bool,
    /// The longest wait before retry `retry` (1 for the first) when the server asked for none.
    backoff: fn(&RetryPolicy, u32) -> Duration,
    /// The wait taken, given that longest one.
    jitter: fn(Duration) -> Duration,
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
    gives_up_beyond_max_delay: true,
    backoff,
    jitter: full_jitter,
    wait: Wait::Sleep,
    exhausted: |attempt, max_attempts| attempt >= max_attempts,
    last_response: Ok,
    returns_the_first: false,
    lingers: false,
};

impl Behaviour {
    /// The solution's loop, each step taken the way this behaviour says.
    async fn get(self, client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
        let mut attempt = 1;
        let mut kept = None;
        loop {
            let outcome = (self.request)(client, url).send().await;
            if !(self.worth_retrying)(&outcome) || (self.exhausted)(attempt, policy.max_attempts) {
                if self.lingers {
                    self.pause((self.backoff)(policy, attempt)).await;
                }
                return kept.map_or(outcome, Ok).and_then(self.last_response);
            }
            let wait = match outcome.as_ref().ok().and_then(self.retry_after) {
                Some(asked) if asked > policy.max_delay && self.gives_up_beyond_max_delay => {
                    return outcome;
                }
                Some(asked) => asked.min(policy.max_delay),
                None => (self.jitter)((self.backoff)(policy, attempt)),
            };
            if self.returns_the_first && attempt == 1 {
                kept = outcome.ok();
            }
            self.pause(wait).await;
            attempt += 1;
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

fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
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

/// Judges each behaviour, two at a time (more would make a busy machine of the test itself),
/// each with its own seed, and returns what was decided, in order.
async fn judged(behaviours: Vec<Behaviour>) -> Vec<(Judged, u64)> {
    stream::iter(behaviours.into_iter().map(|behaviour| async move {
        let seed = seed();
        let get_with_retry = async move |client: &Client, url: &str, policy: &RetryPolicy| {
            behaviour.get(client, url, policy).await
        };
        (retry_on_5xx::judge_in_process(get_with_retry, seed).await, seed)
    }))
    .buffered(2)
    .collect()
    .await
}

/// A known-wrong answer: `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        Behaviour { $($field: $value,)* ..RIGHT }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_the_starter_and_every_jitter_the_lesson_allows() {
    let seed = seed();
    let (solution, starter) = tokio::join!(
        retry_on_5xx::judge_in_process(solution::get_with_retry, seed),
        retry_on_5xx::judge_in_process(starter::get_with_retry, seed),
    );
    assert_failed(&solution, seed, CHECKS, &[]);
    let never_retries = [
        FLAKY, BROKEN, DOUBLES, CAPPED, ASKED, UNREADABLE, RESET, TIMEOUT, REFUSED, LONG_HAUL,
        GROWTH,
    ];
    assert_failed(&starter, seed, CHECKS, &never_retries);
    assert_rejected(&starter, seed, FLAKY, "never retried");
    // Equal jitter, no jitter, and a timeout of the client's own on each request, shorter or
    // longer than the caller's: waits count from when the server saw an attempt end.
    let shorter = |client: &Client, url: &str| client.get(url).timeout(Duration::from_millis(250));
    let longer = |client: &Client, url: &str| client.get(url).timeout(Duration::from_millis(1_500));
    for (judged, seed) in judged(vec![
        with!(jitter: equal_jitter),
        with!(jitter: |longest| longest),
        with!(request: shorter),
        with!(request: longer),
    ])
    .await
    {
        assert_failed(&judged, seed, CHECKS, &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_that_do_not_grow_or_grow_too_far_are_caught() {
    let answers = judged(vec![
        // Jitter added on top of the backoff instead of below it.
        with!(jitter: |longest| longest + longest.mul_f64(random())),
        // A wait that never grows.
        with!(backoff: |policy, _| policy.base_delay, jitter: |longest| longest),
        // The cap doubled.
        with!(backoff: |policy, retry| policy.base_delay.saturating_mul(2u32.saturating_pow(retry - 1)).min(policy.max_delay * 2), jitter: |longest| longest),
        // One doubling ahead: base × 2^n.
        with!(backoff: |policy, retry| backoff(policy, retry + 1), jitter: |longest| longest),
        // One wait whatever the retry, about what backoff averages: it must still grow.
        with!(backoff: |_, _| Duration::from_millis(90), jitter: |longest| longest),
    ])
    .await;
    let [(on_top, a), (flat, b), (double_cap, c), (ahead, d), (fixed, e)] = &answers[..] else {
        unreachable!()
    };
    assert_rejected(on_top, *a, GROWTH, "jitter goes below it, not on top");
    assert_rejected(flat, *b, GROWTH, "the waits do not grow");
    assert_rejected(double_cap, *c, CAPPED, "backoff allows at most 250 ms");
    assert_rejected(ahead, *d, DOUBLES, "backoff allows at most");
    assert_rejected(fixed, *e, GROWTH, "the waits do not grow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_about_what_to_retry_are_caught() {
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
    assert_failed(no_transport, *b, CHECKS, &[RESET, TIMEOUT, REFUSED]);
    assert_failed(builder, *c, CHECKS, &[UNSENDABLE]);
    assert_rejected(builder, *c, UNSENDABLE, "(is_builder()) was retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_about_retry_after_are_caught() {
    let answers = judged(vec![
        // Retry-After ignored.
        with!(retry_after: |_| None),
        // Read on a 503 only.
        with!(retry_after: |response| if response.status() == 503 { retry_after(response) } else { None }),
        // A long Retry-After capped to max_delay and waited for, instead of returned.
        with!(gives_up_beyond_max_delay: false),
        // `+1` read as one second, as `u64::from_str` does.
        with!(retry_after: |response| response.headers().get(RETRY_AFTER)?.to_str().ok()?.parse().ok().map(Duration::from_secs)),
    ])
    .await;
    let [(ignored, a), (only_503, b), (waits_anyway, c), (plus, d)] = &answers[..] else {
        unreachable!()
    };
    // Ignoring Retry-After also retries one that asks for more than max_delay.
    assert_failed(ignored, *a, CHECKS, &[ASKED, TOO_LONG]);
    assert_rejected(ignored, *a, ASKED, "the server asked for 1 s");
    assert_failed(only_503, *b, CHECKS, &[ASKED, TOO_LONG]);
    assert_rejected(waits_anyway, *c, TOO_LONG, "give up at once");
    assert_failed(plus, *d, CHECKS, &[UNREADABLE]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_about_what_comes_back_and_when_are_caught() {
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
    ])
    .await;
    let [(as_error, a), (first, b), (one_more, c), (lingers, d), (post, e)] = &answers[..] else {
        unreachable!()
    };
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
    // Its last wait before returning is the backoff of the last attempt: 800 ms there.
    assert_rejected(lingers, *d, DOUBLES, "no point waiting after the final attempt");
    assert_rejected(post, *e, TWO_XX, "was a POST, not a GET");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_that_is_not_sleeping_is_caught() {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_backoff_is_caught_by_the_long_haul() {
    let overflowing = |policy: &RetryPolicy, retry: u32| {
        (policy.base_delay * 2u32.pow(retry - 1)).min(policy.max_delay)
    };
    let answers = judged(vec![with!(backoff: overflowing)]).await;
    let [(overflows, seed)] = &answers[..] else { unreachable!() };
    assert_failed(overflows, *seed, CHECKS, &[LONG_HAUL]);
    assert_rejected(
        overflows,
        *seed,
        LONG_HAUL,
        "get_with_retry panicked: attempt to multiply with overflow",
    );
}
