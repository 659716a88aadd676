//! What the rules of lesson 3 demand of one call: which requests, how long apart, and what it
//! finally returns.

use std::time::Duration;

use super::scenario::{PlannedCall, Target};
use super::server::Step;
use httplings::RetryPolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Expected {
    pub(super) requests: Vec<ExpectedRequest>,
    pub(super) returns: Returns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Returns {
    /// The response to the last request, as it came.
    LastResponse,
    /// The last transport error (or, with no request at all, the error that prevented one).
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExpectedRequest {
    pub(super) step: Step,
    /// The wait before this request; `None` for the first.
    pub(super) wait: Option<Wait>,
}

/// A wait the rules ask for before a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// Backoff: anything from nothing (full jitter) up to this.
    Backoff(Duration),
    /// The server's Retry-After: at least this (a little more is fine).
    Asked(Duration),
}

/// The wait before retry `retry` (1 for the first): base × 2^(retry−1), capped.
pub(crate) fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.checked_pow(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// A `Retry-After` a client can read: delay-seconds, digits only.
fn delay_seconds(value: &str) -> Option<Duration> {
    let digits_only = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    digits_only.then(|| value.parse().ok().map(Duration::from_secs)).flatten()
}

/// What the rules demand of `call`.
pub(super) fn expect(call: &PlannedCall) -> Expected {
    if matches!(call.target, Target::Unsendable(_)) {
        return Expected { requests: Vec::new(), returns: Returns::Error };
    }
    let policy = RetryPolicy {
        max_attempts: call.max_attempts,
        base_delay: call.base_delay,
        max_delay: call.max_delay,
    };
    let attempts = policy.max_attempts.max(1);
    let mut requests = Vec::new();
    let mut wait = None;
    for attempt in 1..=attempts {
        let step = call.script[(attempt as usize - 1).min(call.script.len() - 1)].clone();
        requests.push(ExpectedRequest { step: step.clone(), wait });
        let last = attempt == attempts;
        let (status, asked) = match (&step, &call.target) {
            (_, Target::Refused) | (Step::Reset | Step::Hang, _) => (None, None),
            (Step::Reply { status, retry_after }, _) => {
                (Some(*status), retry_after.as_deref().and_then(delay_seconds))
            }
        };
        match status {
            Some(status) if status < 500 || last => {
                return Expected { requests, returns: Returns::LastResponse };
            }
            None if last => return Expected { requests, returns: Returns::Error },
            Some(_) if asked.is_some_and(|asked| asked > policy.max_delay) => {
                return Expected { requests, returns: Returns::LastResponse };
            }
            _ => {
                wait = Some(
                    asked.map_or_else(|| Wait::Backoff(backoff(&policy, attempt)), Wait::Asked),
                )
            }
        }
    }
    unreachable!("the last attempt always returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(script: Vec<Step>, max_attempts: u32, base: u64, max: u64) -> PlannedCall {
        PlannedCall {
            target: Target::Scripted,
            script,
            max_attempts,
            base_delay: Duration::from_millis(base),
            max_delay: Duration::from_millis(max),
            deadline: Duration::from_secs(5),
        }
    }

    #[test]
    fn backoff_doubles_and_stops_at_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
        };
        let waits: Vec<_> = (1..=5).map(|retry| backoff(&policy, retry).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 40, 40]);
        assert_eq!(
            backoff(&policy, 200),
            Duration::from_millis(40),
            "no overflow for late retries"
        );
    }

    #[test]
    fn a_5xx_is_retried_until_attempts_run_out() {
        let expected = expect(&planned(vec![Step::status(500)], 3, 10, 1_000));
        let waits: Vec<_> = expected.requests.iter().map(|request| request.wait).collect();
        let backoff = |millis| Some(Wait::Backoff(Duration::from_millis(millis)));
        assert_eq!(waits, [None, backoff(10), backoff(20)]);
        assert_eq!(expected.returns, Returns::LastResponse);
    }

    #[test]
    fn a_long_retry_after_ends_the_call_and_an_unreadable_one_is_ignored() {
        let expected =
            expect(&planned(vec![Step::asking(502, "5"), Step::status(200)], 4, 10, 2_000));
        assert_eq!((expected.requests.len(), expected.returns), (1, Returns::LastResponse));
        let expected =
            expect(&planned(vec![Step::asking(502, "+1"), Step::status(200)], 4, 10, 2_000));
        assert_eq!(expected.requests[1].wait, Some(Wait::Backoff(Duration::from_millis(10))));
    }

    #[test]
    fn refused_connections_end_in_an_error() {
        let expected = expect(&PlannedCall {
            target: Target::Refused,
            ..planned(vec![Step::Reset], 3, 10, 100)
        });
        assert_eq!((expected.requests.len(), expected.returns), (3, Returns::Error));
    }
}
