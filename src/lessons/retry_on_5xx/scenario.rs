//! The scenarios of lesson 3, drawn from the run's seed: which statuses, in which order, what
//! `Retry-After` says, and the policy the client is given. Each belongs to one check.

use std::time::Duration;

use super::server::Step;
use crate::judge::seed::Rng;

/// The statuses a 5xx can be, in a scenario that mixes them.
const FIVE_XX: [u16; 4] = [500, 502, 503, 504];

/// Client errors that every client agrees must not be retried (408 and 429 are grey: many
/// clients retry them, and the lesson says so).
const FOUR_XX: [u16; 9] = [400, 401, 403, 404, 405, 409, 410, 415, 422];

/// A request that hangs becomes a timeout after this long.
pub(super) const CLIENT_TIMEOUT: Duration = Duration::from_millis(400);

/// A situation the client meets: one or more calls of `get_with_retry`, made at once, each on a
/// path of its own.
#[derive(Debug, Clone)]
pub(super) struct Scenario {
    /// The check it decides.
    pub(super) check: &'static str,
    /// Why the rule matters, for a failure's explanation.
    pub(super) why: &'static str,
    pub(super) calls: Vec<PlannedCall>,
    /// Its backoff waits count towards the growth check.
    pub(super) counts_for_growth: bool,
}

#[derive(Debug, Clone)]
pub(super) struct PlannedCall {
    pub(super) target: Target,
    pub(super) script: Vec<Step>,
    pub(super) max_attempts: u32,
    pub(super) base_delay: Duration,
    pub(super) max_delay: Duration,
    /// How long the call may take before it is stopped.
    pub(super) deadline: Duration,
}

/// Where a call is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// The scenario's scripted server.
    Scripted,
    /// A port on which nothing listens, under a host name (so each attempt is a lookup).
    Refused,
    /// A URL no client can send: it must come back at once.
    Unsendable(&'static str),
}

pub(super) const TWO_XX: &str = "two-xx";
pub(super) const THREE_XX: &str = "three-xx";
pub(super) const NEVER_4XX: &str = "never-4xx";
pub(super) const FLAKY: &str = "flaky";
pub(super) const BROKEN: &str = "broken";
pub(super) const DOUBLES: &str = "doubles";
pub(super) const CAPPED: &str = "capped";
pub(super) const ASKED: &str = "asked";
pub(super) const TOO_LONG: &str = "too-long";
pub(super) const UNREADABLE: &str = "unreadable";
pub(super) const RESET: &str = "reset";
pub(super) const TIMEOUT: &str = "timeout";
pub(super) const REFUSED: &str = "refused";
pub(super) const LONG_HAUL: &str = "long-haul";
pub(super) const ONCE: &str = "once";
pub(super) const UNSENDABLE: &str = "unsendable";
pub(super) const GROWTH: &str = "growth";
pub(super) const SLEEPS: &str = "sleeps";

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn call(script: Vec<Step>, max_attempts: u32, base: u64, max: u64) -> PlannedCall {
    PlannedCall {
        target: Target::Scripted,
        script,
        max_attempts,
        base_delay: ms(base),
        max_delay: ms(max),
        deadline: Duration::from_secs(5),
    }
}

fn one(check: &'static str, why: &'static str, planned: PlannedCall) -> Scenario {
    Scenario { check, why, calls: vec![planned], counts_for_growth: false }
}

fn five_xx(rng: &mut Rng) -> u16 {
    FIVE_XX[rng.usize(..FIVE_XX.len())]
}

/// `count` 5xx replies, statuses mixed.
fn failures(rng: &mut Rng, count: usize) -> Vec<Step> {
    (0..count).map(|_| Step::status(five_xx(rng))).collect()
}

pub(super) fn all(rng: &mut Rng) -> Vec<Scenario> {
    let ok = || Step::status(200);
    let mut four_xx = FOUR_XX.to_vec();
    rng.shuffle(&mut four_xx);
    let flaky_failures = rng.usize(1..=3);
    let broken_attempts = rng.u32(3..=5);
    let mut unreadable = ["+1", "1.5", "soon", "-1", "1s", "1e0", " 1 1"];
    rng.shuffle(&mut unreadable);
    let too_long = ["3", "5", "7", "3600"][rng.usize(..4)];
    let mut scenarios = vec![
        one(
            TWO_XX,
            "Success needs no second try: every extra request costs the server and the user's time.",
            call(vec![Step::status([200, 201, 202, 203][rng.usize(..4)])], 4, 50, 1_000),
        ),
        one(
            THREE_XX,
            "A 3xx is an answer, not a failure: the caller decides whether to follow it.",
            call(vec![Step::status([301, 302, 304, 307, 308][rng.usize(..5)])], 4, 50, 1_000),
        ),
        Scenario {
            check: NEVER_4XX,
            why: "A 4xx says the request itself is wrong. Sending it again changes nothing, and only adds load.",
            calls: four_xx[..5]
                .iter()
                .map(|status| call(vec![Step::status(*status)], 4, 50, 1_000))
                .collect(),
            counts_for_growth: false,
        },
        one(
            FLAKY,
            "5xx errors are often passing: a deploy, a blip, a busy moment. Waiting a little and trying again turns them into successes.",
            call(failures(rng, flaky_failures).into_iter().chain([ok()]).collect(), 5, 50, 1_000),
        ),
        one(
            BROKEN,
            "A bound on attempts keeps a retrying client from hammering a server that is down. When attempts run out, the caller gets the last answer as it came (status, headers and body), and decides.",
            call(failures(rng, broken_attempts as usize + 1), broken_attempts, 60, 1_000),
        ),
        one(
            DOUBLES,
            "Doubling the wait after each failure gives a short blip a quick second chance without hammering a long outage.",
            call(failures(rng, 4).into_iter().chain([ok()]).collect(), 5, 50, 2_000),
        ),
        one(
            CAPPED,
            "Without a ceiling, exponential waits soon reach minutes: max_delay keeps a client responsive.",
            call(failures(rng, 4).into_iter().chain([ok()]).collect(), 5, 100, 250),
        ),
        // One call per 5xx, each asked to wait a second; max_delay is exactly the wait asked
        // for: "longer than max_delay" it is not.
        Scenario {
            check: ASKED,
            why: "The server knows best when it will be ready; Retry-After is worth obeying on any 5xx, not only 503. Coming back sooner only adds load to a server that asked for a break.",
            calls: FIVE_XX
                .iter()
                .map(|status| call(vec![Step::asking(*status, "1"), ok()], 4, 20, 1_000))
                .collect(),
            counts_for_growth: false,
        },
        Scenario {
            check: TOO_LONG,
            why: "When the server asks for a longer wait than you are willing to spend, give up now and let the caller decide, rather than sleeping past your own deadline or ignoring the request.",
            calls: FIVE_XX
                .iter()
                .map(|status| call(vec![Step::asking(*status, too_long), ok()], 4, 20, 2_000))
                .collect(),
            counts_for_growth: false,
        },
        Scenario {
            check: UNREADABLE,
            why: "delay-seconds is digits only. A hint you cannot read is no hint: fall back to your own backoff rather than guess what the server meant.",
            calls: unreadable
                .iter()
                .map(|value| call(vec![Step::asking(five_xx(rng), value), ok()], 4, 50, 1_000))
                .collect(),
            counts_for_growth: false,
        },
        one(
            RESET,
            "A reset connection is a network failure: the server may be restarting. Like a 5xx, it is worth another try.",
            call(vec![Step::Reset, ok()], 4, 50, 1_000),
        ),
        one(
            TIMEOUT,
            "A timeout is a network failure too. (For requests that change things, a timeout means the server may have acted: retry only idempotent ones.)",
            PlannedCall {
                deadline: Duration::from_secs(8),
                ..call(vec![Step::Hang, ok()], 4, 100, 1_000)
            },
        ),
        one(
            REFUSED,
            "Connection refused usually means the server is restarting. Retry with backoff, and when attempts run out, return the error itself so the caller can see what happened.",
            PlannedCall { target: Target::Refused, ..call(vec![Step::Reset], 3, 100, 1_000) },
        ),
        one(
            LONG_HAUL,
            "Long-lived clients can reach high retry counts: 2^32 does not fit in a u32, and Duration * u32 panics on overflow. Saturate the arithmetic, then cap it.",
            call(failures(rng, 35).into_iter().chain([ok()]).collect(), 36, 1, 4),
        ),
        one(
            ONCE,
            "max_attempts counts every request, the first included: 1 means one request and no retry.",
            call(failures(rng, 1), 1, 50, 1_000),
        ),
        Scenario {
            check: UNSENDABLE,
            why: "A URL that does not parse, or a scheme the client cannot speak, fails the same way every time: only errors that may heal (a refused or reset connection, a timeout) are worth a retry.",
            calls: ["http://[::1", "ftp://127.0.0.1/file"]
                .into_iter()
                .map(|url| PlannedCall {
                    target: Target::Unsendable(url),
                    ..call(vec![Step::Reset], 5, 300, 2_000)
                })
                .collect(),
            counts_for_growth: false,
        },
    ];
    // Long outages, for the growth check: many waits, so that jitter averages out.
    scenarios.push(Scenario {
        check: GROWTH,
        why: "Backoff is what gives a struggling server room to recover. Waits that stay short \
              hammer it; waits longer than the policy allows (jitter added on top, a doubled cap) \
              leave the caller waiting for nothing.",
        calls: Vec::new(),
        counts_for_growth: true,
    });
    let growth = scenarios.last_mut().expect("just pushed");
    for _ in 0..6 {
        growth.calls.push(call(failures(rng, 10).into_iter().chain([ok()]).collect(), 11, 10, 120));
    }
    scenarios
}

/// Every check lesson 3 reports, in the order it reports them.
pub const CHECKS: &[&str] = &[
    TWO_XX, THREE_XX, NEVER_4XX, FLAKY, BROKEN, DOUBLES, CAPPED, ASKED, TOO_LONG, UNREADABLE,
    RESET, TIMEOUT, REFUSED, LONG_HAUL, ONCE, UNSENDABLE, GROWTH, SLEEPS,
];
