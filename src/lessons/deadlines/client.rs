//! The client half: scenarios drawn from the seed over the whole space (deadlines already
//! passed, shorter than one attempt, falling mid-backoff; a `Retry-After` beyond the deadline,
//! just beyond it after a slow answer, within it, or beyond `max_delay`; later attempts that
//! hang, well into the budget; resets until no wait fits; an upstream that never completes a
//! connection; calls failing together, for jitter; calls whose deadline cuts the backoff's
//! bound, but not most waits drawn below it; a deadline that leaves a few tens of milliseconds
//! after the longest wait), each played against an upstream of its
//! own, and what happened recorded as a history for the rules ([`super::rules`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use httplings::RetryPolicy;
use httplings::lessons::deadlines::{Call, Deadline, Reply as Came};

use super::rules::{Attempt, Next, Returned, Step};
use crate::judge::bounds::{PATIENCE, late};
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{self, Reply, Seen, Upstream};
use crate::judge::{Learner, Lost, Returned as Called};

/// The kinds of scenario, each drawn with values of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Passed,
    ShorterThanOneAttempt,
    MidBackoff,
    RetryAfterBeyond,
    RetryAfterFits,
    Recovers,
    LaterAttemptHangs,
    ClientError,
    Unreachable,
    AttemptsRunOut,
    /// A slow 503 whose `Retry-After: 1` ends a few tens of milliseconds after the deadline.
    RetryAfterJustBeyond,
    /// A `Retry-After` above `max_delay`, with time enough left to wait `max_delay`.
    RetryAfterOverMax,
    /// Resets, until a wait no longer fits before the deadline.
    ResetsUntilDeadline,
    /// A quick 5xx on a short backoff, whose deadline leaves a few tens of milliseconds after
    /// the longest wait: room enough for a retry.
    RoomAfterWait,
    /// One of several calls made together, each failing once with the same backoff ahead.
    Jitter,
    /// One of several calls, each failing once, whose deadline comes before the backoff's
    /// bound `d` but after most waits drawn below it.
    InsideBound,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Passed => "a deadline that had passed already",
            Kind::ShorterThanOneAttempt => "a deadline shorter than one attempt",
            Kind::MidBackoff => "5xx after 5xx, until the deadline falls during a wait",
            Kind::RetryAfterBeyond => "a 503 whose Retry-After ends after the deadline",
            Kind::RetryAfterFits => "a 503 whose Retry-After ends before the deadline",
            Kind::Recovers => "failures, then a 200, with time to spare",
            Kind::LaterAttemptHangs => "a 5xx, then an attempt that never answers",
            Kind::ClientError => "a 4xx",
            Kind::Unreachable => "an upstream whose connections never complete",
            Kind::AttemptsRunOut => "5xx until max_attempts runs out, with time to spare",
            Kind::RetryAfterJustBeyond => {
                "a slow 503 whose Retry-After ends a moment after the deadline"
            }
            Kind::RetryAfterOverMax => {
                "a 503 whose Retry-After is beyond max_delay, with time to wait max_delay"
            }
            Kind::ResetsUntilDeadline => {
                "connection resets, until no wait fits before the deadline"
            }
            Kind::RoomAfterWait => {
                "a 5xx, whose deadline leaves a few tens of milliseconds after the longest wait"
            }
            Kind::Jitter => "calls made together, each failing once, with the same backoff ahead",
            Kind::InsideBound => {
                "calls failing once, whose deadline comes before the backoff's bound d"
            }
        }
    }
}

/// What the upstream does at one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    Status(u16),
    /// A 503 with `Retry-After: seconds`.
    RetryAfter(u64),
    Reset,
    Silence,
    /// A 200, after this long.
    Slow(Duration),
    /// This status, after this long.
    SlowStatus(u16, Duration),
    /// A 503 with `Retry-After: seconds`, after this long.
    SlowRetryAfter(u64, Duration),
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub kind: Kind,
    pub policy: RetryPolicy,
    pub deadline: Deadline,
    /// One per attempt; the last one again for any attempt past the end.
    pub replies: Vec<Planned>,
}

impl Scenario {
    /// The time the client has: nothing for a deadline already passed.
    pub fn budget(&self) -> Duration {
        match self.deadline {
            Deadline::In(budget) => budget,
            Deadline::Passed(_) => Duration::ZERO,
        }
    }
}

/// Every scenario of a run.
pub fn draw(rng: &mut Rng) -> Vec<Scenario> {
    // Six deadlines already passed: a client that polls an attempt once before it looks at the
    // clock opens a connection in most of them, not always in one (a busy moment can leave the
    // first poll short of the connect; CI saw two escape together once).
    let kinds = [
        (Kind::Passed, 6),
        (Kind::ShorterThanOneAttempt, 2),
        (Kind::MidBackoff, 3),
        (Kind::RetryAfterBeyond, 2),
        (Kind::RetryAfterFits, 4),
        (Kind::Recovers, 2),
        (Kind::LaterAttemptHangs, 2),
        (Kind::ClientError, 1),
        (Kind::Unreachable, 1),
        (Kind::AttemptsRunOut, 1),
        (Kind::RetryAfterJustBeyond, 2),
        (Kind::RetryAfterOverMax, 2),
        (Kind::ResetsUntilDeadline, 2),
        (Kind::RoomAfterWait, 2),
    ];
    let mut scenarios: Vec<Scenario> = kinds
        .into_iter()
        .flat_map(|(kind, count)| (0..count).map(move |nth| (kind, nth)))
        .map(|(kind, nth)| scenario(rng, kind, nth))
        .collect();
    // One Retry-After at least that max_delay allows: a wait the deadline alone rules out.
    let asked = scenarios
        .iter_mut()
        .filter(|scenario| scenario.kind == Kind::RetryAfterBeyond)
        .flat_map(|scenario| scenario.replies.iter_mut())
        .find(|reply| matches!(reply, Planned::RetryAfter(_)));
    if let Some(asked) = asked {
        *asked = Planned::RetryAfter(1);
    }
    scenarios.extend(jitter(rng));
    scenarios.extend(inside_bound(rng));
    scenarios
}

/// How many calls judge the waits drawn inside a bound the deadline cuts: enough that a client
/// with equal jitter and the most room the rules allow retries in one of them, every play but
/// once in thousands.
pub const INSIDE_BOUND_CALLS: usize = 8;

/// Calls that fail once, with a backoff bound `d` of about a second ahead and a deadline at
/// 85-92 % of it: `d` does not fit, but most waits drawn below it do, with room for the retry
/// ([`crate::judge::bounds::ROOM_TO_RETRY`]). A client that weighs the bound instead of the
/// wait it drew never retries in any of them.
fn inside_bound(rng: &mut Rng) -> Vec<Scenario> {
    (0..INSIDE_BOUND_CALLS)
        .map(|_| {
            let base = millis(rng, 900, 1100);
            let policy = RetryPolicy {
                max_attempts: rng.u32(2..=3),
                base_delay: base,
                max_delay: Duration::from_secs(2),
            };
            Scenario {
                kind: Kind::InsideBound,
                policy,
                deadline: Deadline::In(base.mul_f64(0.85 + 0.07 * rng.f64())),
                replies: vec![
                    Planned::Status(*seed::pick(rng, &[500, 502, 503, 504])),
                    Planned::Status(200),
                ],
            }
        })
        .collect()
}

/// How many calls judge jitter together: enough that equal jitter (waits spread over half of
/// `d`) never looks bunched in every play, few enough to cost nothing.
pub const JITTERED_CALLS: usize = 5;

/// Calls made together, one policy for all: a 5xx, then a 200 after the backoff. Without jitter
/// their waits are one and the same; with it they spread over the backoff (`d` of 150 ms or
/// more, so that a spread shows past what a busy scheduler adds).
fn jitter(rng: &mut Rng) -> Vec<Scenario> {
    let base = millis(rng, 150, 250);
    let policy =
        RetryPolicy { max_attempts: 3, base_delay: base, max_delay: Duration::from_secs(2) };
    (0..JITTERED_CALLS)
        .map(|_| Scenario {
            kind: Kind::Jitter,
            policy,
            deadline: Deadline::In(millis(rng, 900, 1100)),
            replies: vec![
                Planned::Status(*seed::pick(rng, &[500, 502, 503, 504])),
                Planned::Status(200),
            ],
        })
        .collect()
}

fn millis(rng: &mut Rng, low: u64, high: u64) -> Duration {
    seed::duration_spread(rng, Duration::from_millis(low), Duration::from_millis(high))
}

fn policy(rng: &mut Rng, attempts: std::ops::RangeInclusive<u32>, base: Duration) -> RetryPolicy {
    let max_delay = base.mul_f64(2f64.powi(rng.i32(2..=5))).max(Duration::from_millis(1100));
    RetryPolicy { max_attempts: rng.u32(attempts), base_delay: base, max_delay }
}

fn failure(rng: &mut Rng) -> Planned {
    if seed::chance(rng, 0.2) {
        Planned::Reset
    } else {
        Planned::Status(*seed::pick(rng, &[500, 502, 503, 504]))
    }
}

/// Scenario `nth` of its kind.
fn scenario(rng: &mut Rng, kind: Kind, nth: usize) -> Scenario {
    let base = millis(rng, 10, 60);
    let (policy, deadline, replies) = match kind {
        Kind::Passed => {
            let ago = if seed::chance(rng, 0.3) { Duration::ZERO } else { millis(rng, 1, 400) };
            (policy(rng, 2..=5, base), Deadline::Passed(ago), vec![Planned::Status(200)])
        }
        Kind::ShorterThanOneAttempt => {
            // One deadline short, one long: an attempt given a little more than is left (a
            // fifth, say) overruns the long one by far more than the slack on a deadline.
            // The short one 70-100 ms: a fixed margin of 45 ms or more is more than a tenth of
            // it and the slack on top, and still leaves an attempt time to reach the upstream.
            let budget = if nth == 0 { millis(rng, 70, 100) } else { millis(rng, 800, 1200) };
            let first = if seed::chance(rng, 0.5) {
                Planned::Silence
            } else {
                Planned::Slow(budget.mul_f64(1.5 + rng.f64()))
            };
            (policy(rng, 2..=5, base), Deadline::In(budget), vec![first])
        }
        Kind::MidBackoff => {
            let base = millis(rng, 40, 150);
            let policy = policy(rng, 8..=12, base);
            let replies = (0..12).map(|_| failure(rng)).collect();
            (policy, Deadline::In(millis(rng, 300, 1300)), replies)
        }
        Kind::RetryAfterBeyond => {
            // 1 s ends after the deadline; 2 s is beyond max_delay too. The deadline leaves the
            // client long enough idle, if it waits, and comes well before the second attempt,
            // if it tries one, for either to show on a busy machine.
            let mut replies = vec![Planned::RetryAfter(rng.u64(1..=2))];
            if seed::chance(rng, 0.5) {
                replies.insert(0, failure(rng));
            }
            (policy(rng, 3..=5, base), Deadline::In(millis(rng, 450, 700)), replies)
        }
        Kind::RetryAfterFits => {
            // A Retry-After of exactly max_delay is waited for: only more than it is not. It
            // replaces the backoff, whose first wait here is long (250-350 ms): a client that
            // waits both (full jitter on top) shows past the slack on a second in three calls of
            // four; in none of the four, one run in two hundred.
            let base = millis(rng, 250, 350);
            let policy =
                RetryPolicy { max_delay: Duration::from_secs(1), ..policy(rng, 2..=4, base) };
            (
                policy,
                Deadline::In(millis(rng, 1500, 1650)),
                vec![Planned::RetryAfter(1), Planned::Status(200)],
            )
        }
        Kind::Recovers => {
            let policy = policy(rng, 4..=6, base);
            let failures = rng.u32(1..=3).min(policy.max_attempts - 1);
            let mut replies: Vec<Planned> = (0..failures).map(|_| failure(rng)).collect();
            replies.push(Planned::Status(200));
            (policy, Deadline::In(millis(rng, 650, 1400)), replies)
        }
        Kind::LaterAttemptHangs => {
            let budget = millis(rng, 250, 900);
            let last = if seed::chance(rng, 0.5) {
                Planned::Silence
            } else {
                Planned::Slow(budget + millis(rng, 200, 600))
            };
            // The failure takes a third to a half of the budget, so that the attempt that hangs
            // starts well into it: given the whole budget instead of what is left, it runs on
            // past the deadline by that much.
            let status = *seed::pick(rng, &[500, 502, 503, 504]);
            let first = Planned::SlowStatus(status, budget.mul_f64(0.3 + 0.2 * rng.f64()));
            (policy(rng, 3..=5, base), Deadline::In(budget), vec![first, last])
        }
        Kind::ClientError => {
            let status = *seed::pick(rng, &[400, 404, 409, 422]);
            (
                policy(rng, 2..=5, base),
                Deadline::In(millis(rng, 300, 1000)),
                vec![Planned::Status(status)],
            )
        }
        Kind::Unreachable => {
            (policy(rng, 2..=5, base), Deadline::In(millis(rng, 100, 500)), vec![Planned::Silence])
        }
        Kind::AttemptsRunOut => {
            let policy = policy(rng, 2..=3, base);
            let replies =
                (0..3).map(|_| Planned::Status(*seed::pick(rng, &[500, 502, 503]))).collect();
            (policy, Deadline::In(millis(rng, 900, 1400)), replies)
        }
        Kind::RetryAfterJustBeyond => {
            // The 503 comes after `slow`; its wait of 1 s would end `short` after the deadline:
            // too little to see as lateness, all of it a wait that buys nothing. A client that
            // weighs the wait from when the attempt began (not from now), or allows itself a
            // grace of some tens of milliseconds, starts it. More than `CALL_SKEW`: the
            // client's deadline, set when the call reaches its process, is a little later than
            // the judge's, and a right client must still see the wait end after it.
            let slow = millis(rng, 120, 300);
            let short = millis(rng, 20, 40);
            let deadline = slow + Duration::from_secs(1) - short;
            let policy = policy(rng, 2..=4, base);
            (
                policy,
                Deadline::In(deadline),
                vec![Planned::SlowRetryAfter(1, slow), Planned::Status(200)],
            )
        }
        Kind::RetryAfterOverMax => {
            // The deadline would allow a wait of max_delay: a client that caps the Retry-After
            // at max_delay and waits shows it, where lesson 3 returns the response at once. In
            // the second, the deadline would allow the wait asked for too (a second, more than
            // a max_delay under one): a client that waits it shows that.
            let (max_delay, asked) = if nth == 0 {
                (millis(rng, 1100, 1300), *seed::pick(rng, &[2, 3, 30, 120, 3600]))
            } else {
                (millis(rng, 500, 800), 1)
            };
            let policy = RetryPolicy { max_attempts: rng.u32(3..=5), base_delay: base, max_delay };
            let mut replies = vec![Planned::RetryAfter(asked), Planned::Status(200)];
            if seed::chance(rng, 0.5) {
                replies.insert(0, failure(rng));
            }
            let deadline =
                if nth == 0 { max_delay + millis(rng, 250, 450) } else { millis(rng, 1350, 1550) };
            (policy, Deadline::In(deadline), replies)
        }
        Kind::ResetsUntilDeadline => {
            // Backoff doubles until a wait does not fit: the client gives up holding a reset.
            let base = millis(rng, 60, 120);
            (policy(rng, 10..=12, base), Deadline::In(millis(rng, 250, 500)), vec![Planned::Reset])
        }
        Kind::RoomAfterWait => {
            // Even the longest wait (d, 20-40 ms) leaves 80-110 ms: a client whose floor for
            // an attempt is a few milliseconds, as the lesson's, retries; one that wants 150 ms
            // or more never does, whatever it draws.
            let base = millis(rng, 20, 40);
            let policy = RetryPolicy { max_attempts: 3, base_delay: base, max_delay: base * 4 };
            let status = *seed::pick(rng, &[500, 502, 503, 504]);
            let deadline = base + millis(rng, 80, 110);
            (policy, Deadline::In(deadline), vec![Planned::Status(status), Planned::Status(200)])
        }
        Kind::Jitter | Kind::InsideBound => unreachable!("these calls are drawn together"),
    };
    Scenario { kind, policy, deadline, replies }
}

/// One scenario as played: what the upstream saw and what `get_before` came back with, in the
/// judge's times counted from the call.
#[derive(Debug, Clone)]
pub struct Played {
    pub attempts: Vec<Attempt>,
    pub returned: Returned,
    /// How many connections the client opened to the upstream, whether or not it sent a
    /// request on them.
    pub connections: usize,
}

impl Played {
    /// The history the rules read: the call, then each attempt, each with what followed it.
    pub fn history(&self, deadline: Deadline) -> Vec<(Step, Next)> {
        let mut steps = Vec::new();
        let mut before = Step::Called(deadline);
        for attempt in &self.attempts {
            steps.push((before, Next::Attempt { at: attempt.at }));
            before = Step::Tried(attempt.clone());
        }
        steps.push((before, Next::Returned(self.returned.clone())));
        steps
    }
}

/// Plays one scenario; `tag` makes this play's response ids its own.
pub async fn play(learner: &Learner, scenario: &Scenario, tag: &str) -> Result<Played, Lost> {
    let budget = scenario.budget();
    let counter = Arc::new(AtomicUsize::new(0));
    let (replies, tag_owned) = (scenario.replies.clone(), tag.to_string());
    let script = move |_: &Seen| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let planned = replies.get(n).or(replies.last()).copied().unwrap_or(Planned::Silence);
        reply(planned, &format!("{tag_owned}-{}", n + 1))
    };
    let server = Upstream::start(script).await;
    // Held until the call is over: its connections must stay uncompleted meanwhile.
    let unreachable = match scenario.kind {
        Kind::Unreachable => Some(upstream::unreachable().await),
        _ => None,
    };
    let url = match &unreachable {
        Some(nowhere) => format!("http://{}/prices", nowhere.address),
        None => format!("{}/prices", server.base),
    };
    let call = Call::GetBefore {
        url,
        deadline: scenario.deadline,
        policy: scenario.policy.into(),
        client_timeout: PATIENCE * 3,
    };
    let sent = Instant::now();
    let came = learner.call("get_before()", &call, budget + PATIENCE).await?;
    let returned_at = sent.elapsed();
    // An attempt left running is given until the deadline (and the usual slack) to be dropped.
    let settle = (sent + late(budget)).saturating_duration_since(Instant::now());
    server.wait_until(settle, |seen| seen.iter().all(|seen| seen.ended.is_some())).await;
    let attempts = server
        .seen()
        .iter()
        .enumerate()
        .map(|(index, seen)| Attempt::of(index as u32 + 1, seen, sent))
        .collect();
    let returned = match came {
        Called::Value(Came::Got(got)) => Returned::Value { at: returned_at, got },
        Called::Value(Came::Served(_)) => Returned::Broken("an unexpected reply".into()),
        Called::Panicked(panic) => Returned::Broken(format!("it panicked: {panic}")),
        Called::TimedOut(limit) => Returned::Broken(format!(
            "it had not returned {} ms after the call, when the judge stopped waiting",
            limit.as_millis()
        )),
    };
    let connections = server.connections();
    drop(unreachable);
    Ok(Played { attempts, returned, connections })
}

/// The reply for one attempt, carrying its id.
fn reply(planned: Planned, id: &str) -> Reply {
    let respond = |status: u16| {
        Reply::json(status, &serde_json::json!({"id": id})).with_header("x-attempt", id)
    };
    match planned {
        Planned::Status(status) => respond(status),
        Planned::RetryAfter(seconds) => {
            respond(503).with_header("retry-after", &seconds.to_string())
        }
        Planned::Reset => Reply::Reset,
        Planned::Silence => Reply::Silence,
        Planned::Slow(after) => Reply::Delayed(after, Box::new(respond(200))),
        Planned::SlowStatus(status, after) => Reply::Delayed(after, Box::new(respond(status))),
        Planned::SlowRetryAfter(seconds, after) => Reply::Delayed(
            after,
            Box::new(respond(503).with_header("retry-after", &seconds.to_string())),
        ),
    }
}
