//! Lesson 3's checks against its solution and known-wrong answers.
//!
//! Each wrong answer makes one mistake a learner is likely to make, and must be rejected by
//! the scenario written for that mistake, for that reason: a check that fails for some other
//! reason would not tell the learner what to fix.

#[path = "../../solutions/03_retry_on_5xx.rs"]
mod solution;

#[path = "../../exercises/.starters/03_retry_on_5xx.rs"]
mod starter;

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use httplings::lessons::retry_on_5xx;
use httplings::protocol::{Outcome, Verdict};
use httplings::{Recorder, RetryPolicy};
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Error, Response};

use crate::support;

/// Plays every scenario against `get_with_retry` and returns the verdicts.
async fn check(
    get_with_retry: impl AsyncFn(&Client, &str, &RetryPolicy) -> Result<Response, Error>,
) -> Vec<Verdict> {
    let mut recorder = Recorder::new();
    retry_on_5xx::run(&get_with_retry, &mut recorder).await;
    let verdicts = recorder.verdicts().to_vec();
    // A missing verdict would make every "this one passes" below vacuous.
    assert_eq!(verdicts.len(), 15, "one verdict per scenario:\n{}", report(&verdicts));
    verdicts
}

/// The verdict of the one scenario whose name contains `part`. Insisting on exactly one
/// keeps a renamed scenario from turning an assertion about it into one about nothing.
fn verdict<'v>(verdicts: &'v [Verdict], part: &str) -> &'v Verdict {
    let mut matching = verdicts.iter().filter(|verdict| verdict.check.contains(part));
    let found = matching.next().unwrap_or_else(|| panic!("no scenario's name contains {part:?}"));
    assert!(matching.next().is_none(), "more than one scenario's name contains {part:?}");
    found
}

fn failed(verdicts: &[Verdict], part: &str) -> bool {
    let name = verdict(verdicts, part).check.as_str();
    support::failed(verdicts).contains(&name)
}

fn summary<'v>(verdicts: &'v [Verdict], part: &str) -> Option<&'v str> {
    match &verdict(verdicts, part).outcome {
        Outcome::Fail(failure) => Some(&failure.summary),
        _ => None,
    }
}

/// Every verdict on one line each, so that a failed assertion shows what the checks said.
fn report(verdicts: &[Verdict]) -> String {
    verdicts
        .iter()
        .map(|verdict| match &verdict.outcome {
            Outcome::Fail(failure) => format!("✗ {}: {}\n", verdict.check, failure.summary),
            _ => format!("✓ {}\n", verdict.check),
        })
        .collect()
}

/// The scenario named by `part` must fail, and its summary must give `reason`: rejected for
/// the mistake it was written for, not by accident.
#[track_caller]
fn assert_rejected(verdicts: &[Verdict], part: &str, reason: &str) {
    let summary = summary(verdicts, part);
    assert!(
        summary.is_some_and(|summary| summary.contains(reason)),
        "{part:?} should fail saying {reason:?}; it said {summary:?}\n{}",
        report(verdicts)
    );
}

#[track_caller]
fn assert_passed(verdicts: &[Verdict], part: &str) {
    assert!(!failed(verdicts, part), "{part:?} should pass\n{}", report(verdicts));
}

const OK_AT_ONCE: &str = "a 200 is returned at once";
const FLAKY: &str = "503, 503, 200";
const NO_4XX_RETRY: &str = "4xx is never retried";
const FOREVER: &str = "500 forever";
const GATEWAY: &str = "gateway errors are retried";
const DOUBLING: &str = "each wait twice as long";
const CAPPED: &str = "no wait is longer than max_delay";
const ASKED_ONE_SECOND: &str = "Retry-After: 1,";
const ASKED_AN_HOUR: &str = "Retry-After: 3600";
const RESET: &str = "a reset connection";
const TIMEOUT: &str = "no answer (timeout)";
const REFUSED: &str = "nothing listening";
const SINGLE_ATTEMPT: &str = "max_attempts: 1";
const LONG_HAUL: &str = "late retries neither overflow";
const UNREADABLE_HINT: &str = "Retry-After: +1";

/// What a `get_with_retry` hands back.
type Sent = Result<Response, Error>;

/// How a client retries, piece by piece: [`RIGHT`], the solution's way, then one mistake per
/// known-wrong answer below, so that each differs from a right one only by its mistake.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Whether an outcome may come out otherwise if the request is sent again.
    worth_retrying: fn(&Sent) -> bool,
    /// How long a response's Retry-After asks to wait, as the client reads it.
    retry_after: fn(&Response) -> Option<Duration>,
    /// Whether a Retry-After beyond max_delay makes it give up rather than wait.
    gives_up_beyond_max_delay: bool,
    /// The wait before retry `retry` (1 for the first) when the server asked for none.
    backoff: fn(&RetryPolicy, u32) -> Duration,
    /// Whether it sleeps at all before a retry.
    waits: bool,
    /// Whether `attempt` requests are all that `max_attempts` allows.
    exhausted: fn(u32, u32) -> bool,
    /// What it makes of the last response when the attempts run out.
    last_response: fn(Response) -> Sent,
}

const RIGHT: Behaviour = Behaviour {
    worth_retrying,
    retry_after,
    gives_up_beyond_max_delay: true,
    backoff,
    waits: true,
    exhausted: |attempt, max_attempts| attempt >= max_attempts,
    last_response: Ok,
};

impl Behaviour {
    /// The solution's loop, each step taken the way this behaviour says.
    async fn get(self, client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
        let mut attempt = 1;
        loop {
            let outcome = client.get(url).send().await;
            if !(self.worth_retrying)(&outcome) {
                return outcome;
            }
            if (self.exhausted)(attempt, policy.max_attempts) {
                return outcome.and_then(self.last_response);
            }
            let wait = match outcome.as_ref().ok().and_then(self.retry_after) {
                Some(asked) if asked > policy.max_delay && self.gives_up_beyond_max_delay => {
                    return outcome;
                }
                Some(asked) => asked,
                None => (self.backoff)(policy, attempt),
            };
            if self.waits {
                tokio::time::sleep(wait).await;
            }
            attempt += 1;
        }
    }
}

fn worth_retrying(outcome: &Sent) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(_) => true,
    }
}

fn retry_after(response: &Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if seconds.is_empty() || !seconds.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    seconds.parse().ok().map(Duration::from_secs)
}

fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    policy.base_delay.saturating_mul(2u32.saturating_pow(retry - 1)).min(policy.max_delay)
}

// Reads Retry-After with a bare `parse`, which also takes "+1": an invalid hint obeyed.
async fn lenient_retry_after(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { retry_after: parse_any_retry_after, ..RIGHT }.get(client, url, policy).await
}

fn parse_any_retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

// Retries every non-2xx, so a 4xx is sent again although it can only come back the same.
async fn retries_4xx(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { worth_retrying: unless_success, ..RIGHT }.get(client, url, policy).await
}

fn unless_success(outcome: &Sent) -> bool {
    outcome.as_ref().map_or(true, |response| !response.status().is_success())
}

// Retries at once, hitting a struggling server again before it had any chance to recover.
async fn no_wait(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { waits: false, ..RIGHT }.get(client, url, policy).await
}

// Waits base_delay every time: the load from retries never falls off.
async fn constant_wait(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { backoff: |policy, _| policy.base_delay, ..RIGHT }.get(client, url, policy).await
}

// Doubles the wait without ever capping it at max_delay.
async fn no_cap(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { backoff: uncapped_backoff, ..RIGHT }.get(client, url, policy).await
}

fn uncapped_backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    policy.base_delay.saturating_mul(2u32.saturating_pow(retry - 1))
}

// Computes the factor with a plain `pow`: fine for a few retries, a panic at the 33rd.
async fn overflows(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { backoff: overflowing_backoff, ..RIGHT }.get(client, url, policy).await
}

fn overflowing_backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    (policy.base_delay * 2u32.pow(retry - 1)).min(policy.max_delay)
}

// Backs off by its own schedule whatever Retry-After the server sends.
async fn ignores_retry_after(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { retry_after: |_| None, ..RIGHT }.get(client, url, policy).await
}

// Sleeps for whatever Retry-After asks, an hour included, instead of giving up beyond max_delay.
async fn sleeps_any_retry_after(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { gives_up_beyond_max_delay: false, ..RIGHT }.get(client, url, policy).await
}

// Returns a transport error at once: refused, reset and timed-out requests are never retried.
async fn gives_up_on_transport_errors(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { worth_retrying: only_5xx, ..RIGHT }.get(client, url, policy).await
}

fn only_5xx(outcome: &Sent) -> bool {
    outcome.as_ref().is_ok_and(|response| response.status().is_server_error())
}

// `>` where `>=` belongs: one request more than max_attempts allows.
async fn one_attempt_too_many(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { exhausted: |attempt, max| attempt > max, ..RIGHT }.get(client, url, policy).await
}

// Turns the last 5xx into an Err, losing the status, headers and body the caller needs.
async fn error_for_last_status(client: &Client, url: &str, policy: &RetryPolicy) -> Sent {
    Behaviour { last_response: Response::error_for_status, ..RIGHT }.get(client, url, policy).await
}

// Retries a 5xx at once and for ever: the server is all that can stop it.
async fn runaway(client: &Client, url: &str, _policy: &RetryPolicy) -> Result<Response, Error> {
    loop {
        let response = client.get(url).send().await?;
        if !response.status().is_server_error() {
            return Ok(response);
        }
    }
}

/// A right answer shaped unlike the solution (a bounded `for` loop, the next delay carried
/// along rather than computed), with equal jitter: the checks must accept any wait in
/// [d/2, d], not only the solution's exact d.
async fn equal_jitter(client: &Client, url: &str, policy: &RetryPolicy) -> Result<Response, Error> {
    let attempts = policy.max_attempts.max(1);
    let mut delay = policy.base_delay.min(policy.max_delay);
    for attempt in 1..=attempts {
        let outcome = client.get(url).send().await;
        let asked = match &outcome {
            Ok(response) if !response.status().is_server_error() => return outcome,
            Ok(response) => retry_after(response),
            Err(_) => None,
        };
        if attempt == attempts {
            return outcome;
        }
        let wait = match asked {
            Some(asked) if asked > policy.max_delay => return outcome,
            Some(asked) => asked,
            None => delay / 2 + (delay / 2).mul_f64(random_fraction()),
        };
        tokio::time::sleep(wait).await;
        delay = delay.saturating_mul(2).min(policy.max_delay);
    }
    unreachable!("the last attempt returns whatever it got")
}

/// A number in [0, 1]. Each `RandomState` is seeded afresh, which is random enough to spread
/// retries without a `rand` dependency.
fn random_fraction() -> f64 {
    RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_every_scenario() {
    let verdicts = check(solution::get_with_retry).await;
    assert!(verdicts.iter().all(Verdict::passed), "{}", report(&verdicts));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_differently_written_answer_with_equal_jitter_passes_every_scenario() {
    let verdicts = check(equal_jitter).await;
    assert!(verdicts.iter().all(Verdict::passed), "{}", report(&verdicts));
}

/// The starter never retries: it must fail every scenario that needs a retry, and only those,
/// so a learner starts from a report that points at the work left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails_exactly_the_scenarios_that_need_a_retry() {
    let verdicts = check(starter::get_with_retry).await;
    for part in [OK_AT_ONCE, NO_4XX_RETRY] {
        assert_passed(&verdicts, part);
    }
    let retrying = [
        FLAKY,
        FOREVER,
        GATEWAY,
        DOUBLING,
        CAPPED,
        ASKED_ONE_SECOND,
        UNREADABLE_HINT,
        RESET,
        TIMEOUT,
    ];
    for part in retrying.into_iter().chain([LONG_HAUL]) {
        assert_rejected(&verdicts, part, "never retried");
    }
    assert_rejected(&verdicts, REFUSED, "gave up after");
    let expected: Vec<&str> = retrying
        .into_iter()
        .chain([REFUSED, LONG_HAUL])
        .map(|part| verdict(&verdicts, part).check.as_str())
        .collect();
    assert_eq!(support::failed(&verdicts), expected, "\n{}", report(&verdicts));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obeying_an_invalid_retry_after_is_rejected() {
    let verdicts = check(lenient_retry_after).await;
    assert_rejected(&verdicts, UNREADABLE_HINT, "waited 1");
    assert_eq!(support::failed(&verdicts), [verdict(&verdicts, UNREADABLE_HINT).check.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arithmetic_that_overflows_on_late_retries_is_rejected() {
    let verdicts = check(overflows).await;
    assert_rejected(&verdicts, LONG_HAUL, "panicked");
    assert_eq!(support::failed(&verdicts), [verdict(&verdicts, LONG_HAUL).check.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_a_4xx_is_rejected() {
    let verdicts = check(retries_4xx).await;
    assert_rejected(&verdicts, NO_4XX_RETRY, "must not be retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_without_waiting_is_rejected() {
    let verdicts = check(no_wait).await;
    for part in [FLAKY, DOUBLING] {
        assert_rejected(&verdicts, part, "waited only");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constant_wait_is_rejected() {
    let verdicts = check(constant_wait).await;
    assert_rejected(&verdicts, DOUBLING, "waited only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_beyond_max_delay_is_rejected() {
    let verdicts = check(no_cap).await;
    assert_rejected(&verdicts, CAPPED, "should be at most 40 ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignoring_retry_after_is_rejected() {
    let verdicts = check(ignores_retry_after).await;
    assert_rejected(&verdicts, ASKED_ONE_SECOND, "waited only");
    assert_rejected(&verdicts, ASKED_AN_HOUR, "Retry-After asked for more than max_delay");
}

/// The hour-long sleep is cut off at the scenario's 3 s deadline, which this test waits out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeping_through_a_retry_after_beyond_max_delay_is_rejected() {
    let verdicts = check(sleeps_any_retry_after).await;
    assert_passed(&verdicts, ASKED_ONE_SECOND);
    assert_rejected(&verdicts, ASKED_AN_HOUR, "still running after 3 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_retrying_transport_errors_is_rejected() {
    let verdicts = check(gives_up_on_transport_errors).await;
    for part in [RESET, TIMEOUT] {
        assert_rejected(&verdicts, part, "never retried");
    }
    assert_rejected(&verdicts, REFUSED, "gave up after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_attempt_too_many_is_rejected() {
    let verdicts = check(one_attempt_too_many).await;
    assert_rejected(&verdicts, FOREVER, "made 5 requests");
    assert_rejected(&verdicts, SINGLE_ATTEMPT, "made 2 requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_the_last_5xx_into_an_error_is_rejected() {
    let verdicts = check(error_for_last_status).await;
    assert_rejected(&verdicts, FOREVER, "returned Err(");
}

/// A client that never stops must be stopped by the checks, with a verdict saying so, rather
/// than hang the run or flood the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_client_is_stopped_at_the_request_cap() {
    let verdicts = check(runaway).await;
    for part in [FOREVER, ASKED_AN_HOUR, SINGLE_ATTEMPT] {
        assert_rejected(&verdicts, part, "stopped after 50 requests");
    }
}
