//! The scenarios of lesson 3, and what the exercise's rules say a client must do in each
//! ([`expect`]): which requests, how long apart, and what it finally returns.

use std::time::Duration;

use super::server::Step;
use crate::RetryPolicy;

/// A request that hangs becomes a timeout after this long. Generous, so that a busy machine
/// never turns a slow answer into a timeout, and a retry the script did not plan for.
pub(super) const CLIENT_TIMEOUT: Duration = Duration::from_millis(800);

/// A situation the client meets, with the policy it is given.
#[derive(Debug)]
pub(super) struct Scenario {
    pub(super) name: &'static str,
    /// Why the rule this scenario tests matters, for a failure's explanation.
    pub(super) why: &'static str,
    pub(super) policy: RetryPolicy,
    /// Calls of `get_with_retry`, made one after the other, each with its path's script.
    pub(super) calls: Vec<(&'static str, Vec<Step>)>,
    /// Whether anything listens; when not, every attempt is refused (the scripts are unused).
    pub(super) listening: bool,
    /// How long one call may take before it is stopped.
    pub(super) deadline: Duration,
}

/// What one call must do.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Expected {
    pub(super) requests: Vec<ExpectedRequest>,
    /// `Some(status)`: the response with that status; `None`: the last transport error.
    pub(super) returns: Option<u16>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct ExpectedRequest {
    pub(super) step: Step,
    /// The wait before this request; `None` for the first.
    pub(super) wait: Option<Wait>,
}

/// A wait the rules allow: at least `min`; at most `max`, give or take the machine's noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Wait {
    pub(super) min: Duration,
    pub(super) max: Duration,
    /// The server asked for it with `Retry-After`.
    pub(super) asked: bool,
    /// The request before it hung: the client first waits out its timeout.
    pub(super) after_timeout: bool,
}

impl Wait {
    /// The longest wait accepted: a busy machine can oversleep, never undersleep, so the
    /// upper bound is generous and the lower bound strict.
    /// The shortest gap between two requests that shows this wait was kept. After a hang the
    /// gap holds the client's timeout too, less a margin: the timeout starts when the request
    /// leaves, a moment before the server notes its arrival.
    pub(super) fn floor(&self) -> Duration {
        let timeout = if self.after_timeout {
            CLIENT_TIMEOUT - Duration::from_millis(50)
        } else {
            Duration::ZERO
        };
        timeout + self.min
    }

    pub(super) fn ceiling(&self) -> Duration {
        let timeout = if self.after_timeout { CLIENT_TIMEOUT } else { Duration::ZERO };
        timeout + self.max + self.max.max(Duration::from_millis(300))
    }
}

/// The wait before retry `retry` (1 for the first): base × 2^(retry−1), capped.
pub(super) fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.checked_pow(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

fn delay_seconds(value: &str) -> Option<Duration> {
    let digits_only = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    digits_only.then(|| value.parse().ok().map(Duration::from_secs)).flatten()
}

/// What the rules demand of a call that meets `script`.
pub(super) fn expect(script: &[Step], policy: &RetryPolicy) -> Expected {
    let mut requests = Vec::new();
    let mut wait = None;
    let attempts = policy.max_attempts.max(1);
    for attempt in 1..=attempts {
        let step = script[(attempt as usize - 1).min(script.len() - 1)];
        requests.push(ExpectedRequest { step, wait });
        let last = attempt == attempts;
        // A Retry-After the client can read: delay-seconds, digits only.
        let asked = match step {
            Step::Reply { retry_after: Some(value), .. } => delay_seconds(value),
            _ => None,
        };
        match step {
            Step::Reply { status, .. } if status < 500 || last => {
                return Expected { requests, returns: Some(status) };
            }
            Step::Reset | Step::Hang if last => return Expected { requests, returns: None },
            Step::Reply { status, .. } if asked.is_some_and(|asked| asked > policy.max_delay) => {
                return Expected { requests, returns: Some(status) };
            }
            _ => {
                wait = Some(match asked {
                    Some(asked) => {
                        Wait { min: asked, max: asked, asked: true, after_timeout: false }
                    }
                    None => {
                        let nominal = backoff(policy, attempt);
                        let after_timeout = step == Step::Hang;
                        Wait { min: nominal / 2, max: nominal, asked: false, after_timeout }
                    }
                });
            }
        }
    }
    unreachable!("the last attempt always returns")
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn policy(max_attempts: u32, base_millis: u64, max_millis: u64) -> RetryPolicy {
    RetryPolicy { max_attempts, base_delay: ms(base_millis), max_delay: ms(max_millis) }
}

fn one_call(
    (name, why): (&'static str, &'static str),
    policy: RetryPolicy,
    path: &'static str,
    script: Vec<Step>,
) -> Scenario {
    Scenario {
        name,
        why,
        policy,
        calls: vec![(path, script)],
        listening: true,
        deadline: Duration::from_secs(5),
    }
}

/// Every scenario, in the order the report lists them.
pub(super) fn all() -> Vec<Scenario> {
    use Step::{Hang, Reset};
    let ok = Step::status(200);
    let usual = policy(4, 50, 1_000);
    let retry_after = |seconds| Step::Reply { status: 503, retry_after: Some(seconds) };
    vec![
        one_call(
            (
                "a 200 is returned at once, after one request",
                "Success needs no second try: every extra request costs the server and the user's time.",
            ),
            usual,
            "/s/ok",
            vec![ok],
        ),
        one_call(
            (
                "503, 503, 200: retried with backoff until it succeeds",
                "5xx errors are often passing: a deploy, a blip, a busy moment. Waiting a little and trying again turns them into successes.",
            ),
            usual,
            "/s/flaky",
            vec![Step::status(503), Step::status(503), ok],
        ),
        Scenario {
            name: "400, 401, 403, 404, 409, 422: a 4xx is never retried",
            why: "A 4xx says the request itself is wrong. Sending it again changes nothing, and \
                  only adds load.",
            policy: usual,
            calls: [400, 401, 403, 404, 409, 422]
                .into_iter()
                .zip([
                    "/s/4xx/400",
                    "/s/4xx/401",
                    "/s/4xx/403",
                    "/s/4xx/404",
                    "/s/4xx/409",
                    "/s/4xx/422",
                ])
                .map(|(status, path)| (path, vec![Step::status(status)]))
                .collect(),
            listening: true,
            deadline: Duration::from_secs(5),
        },
        one_call(
            (
                "500 forever: exactly max_attempts (4) requests, then that 500 returned",
                "A bound on attempts is what keeps a retrying client from hammering a server that is down. When attempts run out, the caller gets the last answer as it came, and decides what to do.",
            ),
            policy(4, 100, 1_000),
            "/s/broken",
            vec![Step::status(500)],
        ),
        one_call(
            (
                "502, 504, 200: gateway errors are retried too",
                "502 and 504 come from a proxy that could not get an answer from the server behind it: as passing as a 503.",
            ),
            usual,
            "/s/gateway",
            vec![Step::status(502), Step::status(504), ok],
        ),
        one_call(
            (
                "500 ×5, then 200: each wait twice as long as the one before",
                "Doubling the wait is what lets a struggling server recover: the load from retries falls off quickly instead of staying constant.",
            ),
            policy(6, 30, 2_000),
            "/s/backoff",
            vec![Step::status(500); 5].into_iter().chain([ok]).collect(),
        ),
        one_call(
            (
                "500 ×7, then 200: no wait is longer than max_delay",
                "Without a cap, the seventh retry waits over a second and the tenth over ten: the user is gone long before.",
            ),
            policy(8, 10, 40),
            "/s/capped",
            vec![Step::status(500); 7].into_iter().chain([ok]).collect(),
        ),
        one_call(
            (
                "503 with Retry-After: 1, then 200: waits the second it was asked to",
                "The server knows best when it will be ready. Coming back sooner only adds load to a server that asked for a break.",
            ),
            // max_delay is exactly the wait asked for: "longer than max_delay" it is not.
            policy(4, 20, 1_000),
            "/s/retry-after",
            vec![retry_after("1"), ok],
        ),
        one_call(
            (
                "503 with Retry-After: +1, then 200: an unreadable hint means the usual backoff",
                "delay-seconds is digits only. A hint you cannot read is no hint: fall back to \
                 your own backoff rather than guess what the server meant.",
            ),
            usual,
            "/s/retry-after-unreadable",
            vec![retry_after("+1"), ok],
        ),
        Scenario {
            deadline: Duration::from_secs(3),
            ..one_call(
                (
                    "503 with Retry-After: 3600, beyond max_delay: returned at once",
                    "When the server asks for a longer wait than you are willing to spend, give up now and let the caller decide, rather than sleeping for an hour or ignoring the request.",
                ),
                policy(4, 20, 2_000),
                "/s/come-back-in-an-hour",
                vec![retry_after("3600")],
            )
        },
        one_call(
            (
                "a reset connection, then 200: retried",
                "A reset connection is a network failure: the server may be restarting. Like a 5xx, it is worth another try.",
            ),
            usual,
            "/s/reset",
            vec![Reset, ok],
        ),
        one_call(
            (
                "no answer (timeout), then 200: retried",
                "A timeout is a network failure too. (For requests that change things, a timeout means the server may have acted: retry only idempotent ones.)",
            ),
            // Waits of 100–200 ms stand out from the 800 ms timeout before them.
            policy(4, 200, 1_000),
            "/s/hang",
            vec![Hang, ok],
        ),
        Scenario {
            listening: false,
            ..one_call(
                (
                    "nothing listening: retried with backoff, then the error returned",
                    "Connection refused usually means the server is restarting. Retry with backoff, and when attempts run out, return the error itself so the caller can see what happened.",
                ),
                policy(3, 100, 1_000),
                "/s/nobody-home",
                vec![Reset],
            )
        },
        one_call(
            (
                "500 ×35, then 200: late retries neither overflow nor panic",
                "Long-lived clients can reach high retry counts: 2^32 does not fit in a u32, and \
                 Duration * u32 panics on overflow. Saturate the arithmetic, then cap it.",
            ),
            policy(36, 1, 4),
            "/s/long-haul",
            vec![Step::status(500); 35].into_iter().chain([ok]).collect(),
        ),
        one_call(
            (
                "max_attempts: 1 and a 503: no retry at all",
                "max_attempts counts every request, the first included: 1 means one request and no retry.",
            ),
            policy(1, 50, 1_000),
            "/s/once",
            vec![Step::status(503)],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stops_at_the_cap() {
        let policy = policy(10, 10, 40);
        let waits: Vec<_> = (1..=5).map(|retry| backoff(&policy, retry).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 40, 40]);
        assert_eq!(backoff(&policy, 200), ms(40), "no overflow for late retries");
    }

    #[test]
    fn a_5xx_is_retried_until_attempts_run_out() {
        let expected = expect(&[Step::status(500)], &policy(3, 10, 1_000));
        let waits: Vec<_> =
            expected.requests.iter().map(|request| request.wait.map(|wait| wait.max)).collect();
        assert_eq!(waits, [None, Some(ms(10)), Some(ms(20))]);
        assert_eq!(expected.returns, Some(500));
    }

    #[test]
    fn a_long_retry_after_ends_the_call() {
        let asked = Step::Reply { status: 503, retry_after: Some("3600") };
        let expected = expect(&[asked], &policy(4, 10, 2_000));
        assert_eq!(expected.requests.len(), 1);
        assert_eq!(expected.returns, Some(503));
    }

    #[test]
    fn every_scenario_has_a_unique_name_and_paths() {
        let scenarios = all();
        assert_eq!(scenarios.len(), 15);
        let mut names: Vec<_> = scenarios.iter().map(|scenario| scenario.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 15);
        let mut paths: Vec<_> =
            scenarios.iter().flat_map(|scenario| &scenario.calls).map(|(path, _)| *path).collect();
        let calls = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), calls, "every call has a path of its own");
    }
}
