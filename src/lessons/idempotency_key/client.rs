//! The client half of lesson 6: `new_idempotency_key` makes keys in two processes, and `pay`
//! meets a payments server of the judge's that answers each call's attempts as scripted
//! (created, a 5xx, a 409, a 4xx, a dropped connection, silence, `Retry-After`), and notes every
//! request: its key, its body, when it came. Each call pays with a key the judge got from
//! `new_idempotency_key`; one intent is paid twice, its key kept.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use futures_util::future::join_all;
use httplings::RetryPolicy;
use httplings::adapter::{SeenError, SeenResponse};
use httplings::fixtures::Payment;
use httplings::lessons::idempotency_key::Call as LearnerCall;
use serde_json::{Value, json};

use super::plan::Payments;
use super::{FRESH, GIVES_UP, JITTER, KEYED, NEVER, RETRIES, WAITS};
use crate::judge::bounds::{Bound, LATE_FLOOR, Lateness, Timing, millis};
use crate::judge::http_date::{DateForm, format_time, whole_second_after};
use crate::judge::schedule::{self, Sample, Wait, backoff, date_asked};
use crate::judge::upstream::{Opener, Options, Reply, Seen, Upstream};
use crate::judge::{Evidence, Failure, Learner, Lost, Returned, seed};

mod twins;

/// How the payments server answers one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Created,
    Status(u16),
    /// A 503 (or a 409) with `Retry-After` of this many seconds (0: the usual backoff).
    Asking(u16, u64),
    /// A 503 with `Retry-After` as an HTTP-date in this form, a little more than `DATE_AHEAD`
    /// ahead.
    AskingDate(DateForm),
    /// This status with `Retry-After` as an HTTP-date in this form, [`LATER`] ahead: past
    /// max_delay.
    AskingLater(u16, DateForm),
    /// A 503 with `Retry-After` as an HTTP-date in this form, [`PAST`] gone: the usual backoff.
    AskingPast(DateForm),
    /// This status with `Retry-After` of [`HUGE`] seconds: delay-seconds past what a `u64`
    /// holds, past max_delay all the same.
    AskingHuge(u16),
    /// The request read, the connection closed without a word.
    Drop,
    /// No answer until the client gives up.
    Hang,
}

/// What a call is for: the check its outcome belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Succeeds,
    Refused,
    Unbuildable,
    Broken,
    Asked,
    /// Asked for more than max_delay: returned at once, then paid again (`Again`).
    TooLong,
    Again,
    Long,
    /// A long outage whose failure changes kind at every attempt (a 503, a 409, a dropped
    /// connection): backoff counts attempts, not failures of one kind.
    Mixed,
    Herd,
    /// Calls that failed together, told to come back at a date already past: the usual backoff.
    PastHerd,
    /// Sent to a payments server that refuses connections for [`REFUSED_FOR`], then listens: a
    /// refused connection is retried like any failure to send.
    RefusedFirst,
    /// A second asked for and waited out, then 5xx: the backoff before the later retries counts
    /// every attempt, the one that asked too.
    AfterAsked,
    /// Calls that time out together: each backs off after it, as after any failure.
    TimedOut,
    /// A 503 at every attempt but the last of forty, past where 2^(n−1) overflows a u32 (retry
    /// 33): the waits stay at the cap.
    Overflow,
    /// Played in both processes at once, before anything else: see [`twins`].
    Twin,
    /// Paid alone, after every other call, and created at the first attempt, on a long backoff:
    /// nothing is due before a first attempt, so it goes out at once.
    First,
}

#[derive(Debug, Clone)]
struct Planned {
    kind: Kind,
    payment: Payment,
    steps: Vec<Step>,
    policy: RetryPolicy,
}

/// A call, what it was given and what came of it.
#[derive(Debug)]
struct Played<'a> {
    planned: &'a Planned,
    key: String,
    paid: Result<Result<SeenResponse, SeenError>, String>,
    started: Instant,
    returned: Instant,
    seen: Vec<Seen>,
}

#[derive(Debug)]
pub(super) struct Plan {
    calls: Vec<Planned>,
    /// Each process's share of the twin herd.
    twins: [Vec<Planned>; 2],
}

/// How long a request may hang before the client handed to `pay` times out: long enough that
/// an answer never misses it on a busy machine.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(500);

/// How long one call of `pay` may take.
const PAY_DEADLINE: Duration = Duration::from_secs(6);

/// When the long outages start, and how far apart.
const LONG_STARTS_AFTER: Duration = Duration::from_millis(300);
const LONG_APART: Duration = Duration::from_millis(15);

/// How long the herd's first requests are held, so that every call hears its failure at once.
const HERD_HELD: Duration = Duration::from_millis(60);

/// The failures of the long outages, judged each on its own: a client patient after a 503 may
/// rush after a 409 or a dropped connection.
const LONG_FAILURES: [Step; 3] = [Step::Status(503), Step::Status(409), Step::Drop];

/// How many keys the second process makes.
const SECOND_KEYS: usize = 8;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

impl Plan {
    pub(super) fn draw(payments: &mut Payments) -> Self {
        let mut calls = Vec::new();
        let mut call = |payments: &mut Payments, kind, steps, policy| {
            calls.push(Planned { kind, payment: payments.next(), steps, policy });
        };
        let drawn = |payments: &mut Payments, attempts| RetryPolicy {
            max_attempts: attempts,
            base_delay: seed::duration_spread(payments.rng(), ms(20), ms(60)),
            max_delay: seed::duration_spread(payments.rng(), ms(150), ms(300)),
        };
        let five_xx = |payments: &mut Payments| {
            Step::Status(*seed::pick(payments.rng(), &[500, 502, 503, 504]))
        };
        for steps in [
            vec![Step::Created],
            vec![five_xx(payments), five_xx(payments), Step::Created],
            vec![Step::Status(409), Step::Status(409), Step::Created],
            vec![Step::Drop, Step::Created],
            vec![Step::Hang, Step::Created],
        ] {
            let policy = drawn(payments, 5);
            call(payments, Kind::Succeeds, steps, policy);
        }
        // Bounds of hundreds of milliseconds, so that a wait 20 % too long shows: full jitter
        // stretched 1.2× breaks late(d) on about 8 % of the last waits (d of 600 to 800 ms) and
        // 4 % of the third ones, so sixty-four calls at once show about eight (none at all,
        // about once in 3,000 plays); equal jitter stretched alike, twice as many. Four retries,
        // so that the last bound is eight times the first: a backoff that grows linearly
        // reaches half of it at most.
        let base = seed::duration_spread(payments.rng(), ms(75), ms(100));
        for _ in 0..64 {
            let policy = RetryPolicy { max_attempts: 5, base_delay: base, max_delay: ms(2_000) };
            let mut steps: Vec<Step> = (0..4).map(|_| five_xx(payments)).collect();
            steps.push(Step::Created);
            call(payments, Kind::Succeeds, steps, policy);
        }
        // Every one, every run: a client that retries one of them passes no run.
        for status in [400, 401, 403, 404, 410, 422] {
            let policy = drawn(payments, 4);
            call(payments, Kind::Refused, vec![Step::Status(status)], policy);
        }
        // A server not up yet: a refused connection never reached it, and is retried. Eight
        // attempts on bounds from 60 ms reach past REFUSED_FOR but for once in millions of plays.
        let policy = RetryPolicy { max_attempts: 8, base_delay: ms(60), max_delay: ms(1_000) };
        call(payments, Kind::RefusedFirst, vec![Step::Created], policy);
        // Waits long enough that a client retrying what can never be sent shows it.
        let policy = RetryPolicy { max_attempts: 4, base_delay: ms(300), max_delay: ms(2_000) };
        call(payments, Kind::Unbuildable, Vec::new(), policy);
        // One attempt allowed is one request, whatever failed.
        for (step, attempts) in [
            (Step::Status(503), 4),
            (Step::Status(409), 3),
            (Step::Drop, 3),
            (Step::Status(503), 1),
            (Step::Drop, 1),
        ] {
            let policy = drawn(payments, attempts);
            call(payments, Kind::Broken, vec![step; 6], policy);
        }
        // A timeout, then dropped connections: the error returned is the last one, not the
        // first.
        let policy = drawn(payments, 3);
        call(payments, Kind::Broken, vec![Step::Hang, Step::Drop, Step::Drop], policy);
        // Outages whose next wait would be 0.8-1 s: a client that waits once more after its
        // last attempt keeps pay from returning for far longer than the most a busy machine
        // makes a return late (`MOST_LATE`), so that wait shows on any machine.
        let base = seed::duration_spread(payments.rng(), ms(200), ms(260));
        for step in [Step::Status(503), Step::Status(500), Step::Drop] {
            let policy = RetryPolicy { max_attempts: 3, base_delay: base, max_delay: ms(2_000) };
            call(payments, Kind::Broken, vec![step; 6], policy);
        }
        let one_second = RetryPolicy { max_attempts: 4, base_delay: ms(40), max_delay: ms(1_000) };
        // Exactly max_delay: "more than max_delay" it is not, so it is waited out. A 409 may ask
        // for a wait too: the first attempt is still being processed. The backoff is as long as
        // max_delay allows, so that one added on top of the wait asked for shows, even where the
        // machine runs late: full jitter runs past a bound 280 ms late on about seven calls in
        // ten, and on none of the five about once in 1,000 plays (once in 300,000 on an idle
        // machine, whose bound is 80 ms late).
        let long_backoff = RetryPolicy {
            base_delay: seed::duration_spread(payments.rng(), ms(800), ms(1_000)),
            ..one_second
        };
        for status in [503, 409, 503, 409] {
            call(payments, Kind::Asked, vec![Step::Asking(status, 1), Step::Created], long_backoff);
        }
        // More than max_delay asked, in seconds or as a date, by a 503 or a 409: handed back.
        let form = *seed::pick(payments.rng(), &DateForm::ALL);
        for asking in [
            Step::Asking(503, 3),
            Step::Asking(409, 3),
            Step::AskingLater(503, form),
            Step::AskingLater(409, form),
            Step::AskingHuge(503),
        ] {
            call(payments, Kind::TooLong, vec![asking, Step::Created], one_second);
        }
        // Two seconds asked, on a policy that allows them: a wait a fifth too long runs 400 ms
        // over, past the most a busy machine makes a wait late (`MOST_LATE`).
        let two_seconds = RetryPolicy { max_delay: ms(2_000), base_delay: ms(2_000), ..one_second };
        call(payments, Kind::Asked, vec![Step::Asking(503, 2), Step::Created], two_seconds);
        // A date in each of the three forms a recipient must read (RFC 9110, section 5.6.7),
        // which a client that reads seconds only, or IMF-fixdate only, does not wait for: its
        // backoff is short beside the date's 200 ms at least.
        let date = RetryPolicy { max_delay: ms(2_000), ..one_second };
        for form in DateForm::ALL {
            call(payments, Kind::Asked, vec![Step::AskingDate(form), Step::Created], date);
        }
        // Long outages, each on a policy of its own: the waits' growth is judged over them all,
        // measured against each policy's own base.
        for failure in LONG_FAILURES {
            for _ in 0..6 {
                let base = seed::duration_spread(payments.rng(), ms(5), ms(15));
                let policy =
                    RetryPolicy { max_attempts: 11, base_delay: base, max_delay: base * 12 };
                let mut steps = vec![failure; 10];
                steps.push(Step::Created);
                call(payments, Kind::Long, steps, policy);
            }
        }
        for _ in 0..6 {
            let base = seed::duration_spread(payments.rng(), ms(5), ms(15));
            let policy = RetryPolicy { max_attempts: 11, base_delay: base, max_delay: base * 12 };
            let mut steps: Vec<Step> = Vec::new();
            while steps.len() < 10 {
                let failure = *seed::pick(payments.rng(), &LONG_FAILURES);
                if steps.last() != Some(&failure) {
                    steps.push(failure);
                }
            }
            steps.push(Step::Created);
            call(payments, Kind::Mixed, steps, policy);
        }
        // The herd fails four times, its bound at the cap from the second retry on (uncapped:
        // 2, 4 and 8 times d): a wait drawn and then capped, or one left unjittered after the
        // first retry, piles up there. Its first 503 says `Retry-After: 0`, which is the usual
        // backoff, jitter and all: taken as "at once", the herd comes back together. Two of its
        // failures are dropped connections, so that waits jittered after a 5xx only pile up too.
        // Four waits a call at one bound: a share drawn once per call makes them alike.
        let d = seed::duration_spread(payments.rng(), ms(250), ms(400));
        for _ in 0..8 {
            let policy = RetryPolicy { max_attempts: 5, base_delay: d, max_delay: d };
            let steps = vec![
                Step::Asking(503, 0),
                Step::Drop,
                Step::Status(503),
                Step::Drop,
                Step::Created,
            ];
            call(payments, Kind::Herd, steps, policy);
        }
        // A herd told to come back at a date already past (one form for all): that is the usual
        // backoff too, and taken as "at once", the herd comes back together.
        let d = seed::duration_spread(payments.rng(), ms(250), ms(400));
        let form = *seed::pick(payments.rng(), &DateForm::ALL);
        for _ in 0..8 {
            let policy = RetryPolicy { max_attempts: 2, base_delay: d, max_delay: d };
            call(payments, Kind::PastHerd, vec![Step::AskingPast(form), Step::Created], policy);
        }
        // A second asked for and waited out, then three 5xx: the bounds before retries 2 to 4
        // are 2, 4 and 8 times base_delay. A backoff that starts again after the wait reaches
        // half of each at most, and none of its forty-eight waits comes within 40 % of its
        // bound, where full jitter takes fewer than five about once in a million plays.
        let base = seed::duration_spread(payments.rng(), ms(45), ms(60));
        for _ in 0..AFTER_ASKED_CALLS {
            let policy = RetryPolicy { max_attempts: 5, base_delay: base, max_delay: ms(2_000) };
            let mut steps = vec![Step::Asking(503, 1)];
            steps.extend((0..3).map(|_| five_xx(payments)));
            steps.push(Step::Created);
            call(payments, Kind::AfterAsked, steps, policy);
        }
        // Timeouts together, on a bound long enough that coming back at once shows.
        let d = seed::duration_spread(payments.rng(), ms(250), ms(400));
        for _ in 0..TIMED_OUT_CALLS {
            let policy = RetryPolicy { max_attempts: 3, base_delay: d, max_delay: d };
            call(payments, Kind::TimedOut, vec![Step::Hang, Step::Created], policy);
        }
        // Last in the plan, and played last.
        for _ in 0..FIRST_CALLS {
            let base_delay = seed::duration_spread(payments.rng(), ms(1_500), ms(2_000));
            let policy = RetryPolicy { max_attempts: 3, base_delay, max_delay: base_delay };
            call(payments, Kind::First, vec![Step::Created], policy);
        }
        let twins = twins::draw(payments);
        Self { calls, twins }
    }

    /// The outage past the overflow, a plan of its own: it is played once the server half is
    /// done, since forty requests beside it would slow the answers its timeouts are judged on
    /// (and a busy moment's lateness would let a late answer through). The client half's calls
    /// still running then wait out a Retry-After of seconds, or pay one at a time on a
    /// `base_delay` of seconds: a few milliseconds more do not show there.
    pub(super) fn overflow(payments: &mut Payments) -> Self {
        let cap = seed::duration_spread(payments.rng(), ms(16), ms(20));
        let policy =
            RetryPolicy { max_attempts: OVERFLOW_ATTEMPTS, base_delay: ms(1), max_delay: cap };
        let mut steps = vec![Step::Status(503); OVERFLOW_ATTEMPTS as usize - 1];
        steps.push(Step::Created);
        Self {
            calls: vec![Planned { kind: Kind::Overflow, payment: payments.next(), steps, policy }],
            twins: Default::default(),
        }
    }
}

/// How many attempts the outage past the overflow allows: seven retries past 32, where 2^(n−1)
/// no longer fits in a u32 (lesson 3 goes past a u64's too). Full jitter's mean over seven
/// falls below a fifth of the cap (as `schedule::stays_at_cap` asks, with the waits before near
/// half of it) about once in 400 plays, and confirm plays a failure twice more before it is
/// believed.
const OVERFLOW_ATTEMPTS: u32 = 40;

/// How many calls are paid alone at the end, on a `base_delay` of seconds. A wait before the
/// first attempt, jittered below `base_delay`, runs past a bound 260 ms late (a busy machine's)
/// on about seven calls in eight, and on none of four about once in 3,000 plays.
const FIRST_CALLS: usize = 4;

/// How long the payments server of [`Kind::RefusedFirst`] refuses connections once its call has
/// set out: the first attempt (due at once, and late by tens of ms on a busy machine) is refused.
const REFUSED_FOR: Duration = Duration::from_millis(150);

/// How many calls retry after a `Retry-After` waited out (see [`Kind::AfterAsked`]).
const AFTER_ASKED_CALLS: usize = 16;

/// How many calls time out together: enough that full jitter seldom draws most of their waits
/// near nothing (see `schedule::waited_after_timeouts`).
const TIMED_OUT_CALLS: usize = 12;

/// Plays every call (and the intent paid again), on a payments server of its own; the second
/// process makes keys meanwhile. Returns what each check decided.
pub(super) async fn play(
    plan: &Plan,
    learner: &Learner,
    second: &Learner,
    lateness: &RefCell<Lateness>,
    rng: &mut seed::Rng,
) -> Result<ClientPlay, Lost> {
    let tag = seed::token(rng, 8);
    let server = payments_server(plan, &tag).await;
    let (keys, second_keys) =
        tokio::join!(new_keys(learner, plan.calls.len()), new_keys(second, SECOND_KEYS));
    let (keys, second_keys) = (keys?, second_keys?);
    let url = format!("{}/payments", server.base);
    let (not_up, opener) = not_up_yet(&tag);
    // Every call sets out once the twins have drawn their keys; the refusing server opens
    // REFUSED_FOR after that, whatever became of the call that meets it.
    let opening = async move {
        tokio::time::sleep(twins::DRAWN + REFUSED_FOR).await;
        opener.open();
    };
    let twins = async {
        let (one, two) = tokio::join!(
            twins::play(learner, &plan.twins[0], &url, &keys),
            twins::play(second, &plan.twins[1], &url, &second_keys)
        );
        Ok::<_, Lost>((one?, two?))
    };
    let mut long = 0;
    let (alone, together): (Vec<_>, Vec<_>) = plan
        .calls
        .iter()
        .zip(keys.iter().cycle())
        .partition(|(planned, _)| planned.kind == Kind::First);
    let calls = together.into_iter().map(|(planned, key)| {
        let url = match planned.kind {
            Kind::Unbuildable => "http://[::1".to_string(),
            Kind::RefusedFirst => format!("{}/payments", not_up.base),
            _ => url.clone(),
        };
        // The long outages start once the first rush of every call at once is over, one after
        // the other: their first, shortest waits must not be measured in a crowd.
        let starts_after = match planned.kind {
            Kind::Long | Kind::Mixed => {
                long += 1;
                LONG_STARTS_AFTER + LONG_APART * long
            }
            _ => Duration::ZERO,
        };
        async move {
            tokio::time::sleep(twins::DRAWN + starts_after).await;
            pay(learner, planned, url, key.clone()).await
        }
    });
    let (twins, played, ()) = tokio::join!(twins, join_all(calls), opening);
    let ((one, two), mut played) = (twins?, played.into_iter().collect::<Result<Vec<_>, Lost>>()?);
    // The intents that were handed back at once, paid again: the same key, a fresh call.
    let too_long: Vec<usize> =
        (0..played.len()).filter(|at| played[*at].planned.kind == Kind::TooLong).collect();
    let agains: Vec<Planned> = too_long
        .iter()
        .map(|at| Planned { kind: Kind::Again, ..played[*at].planned.clone() })
        .collect();
    let mut paid_again = Vec::new();
    for (again, at) in agains.iter().zip(&too_long) {
        paid_again.push(pay(learner, again, url.clone(), played[*at].key.clone()).await?);
    }
    for played in &mut played {
        let server = if played.planned.kind == Kind::RefusedFirst { &not_up } else { &server };
        played.seen = server
            .seen()
            .into_iter()
            .filter(|seen| amount_of(seen) == Some(played.planned.payment.amount))
            .collect();
    }
    for ((again, at), paid_again) in agains.iter().zip(&too_long).zip(paid_again) {
        let mut paid_again = Played { planned: again, ..paid_again };
        // The requests after the first call's, for the same amount.
        paid_again.seen = server
            .seen()
            .into_iter()
            .filter(|seen| {
                amount_of(seen) == Some(again.payment.amount) && seen.at >= paid_again.started
            })
            .collect();
        played[*at].seen.retain(|seen| seen.at < paid_again.started);
        played.push(paid_again);
    }
    // One at a time, in a quiet moment: how soon the first attempt comes is measured on them.
    for (planned, key) in alone {
        let mut paid = pay(learner, planned, url.clone(), key.clone()).await?;
        paid.seen = server
            .seen()
            .into_iter()
            .filter(|seen| amount_of(seen) == Some(planned.payment.amount))
            .collect();
        played.push(paid);
    }
    let lateness = lateness.borrow();
    let in_step = twins::in_step(&one, &two, &server.seen(), &lateness);
    let decided = vec![
        (KEYED, keyed(&played)),
        (FRESH, fresh(&keys, &second_keys)),
        (
            RETRIES,
            [
                Kind::Succeeds,
                Kind::RefusedFirst,
                Kind::Asked,
                Kind::AfterAsked,
                Kind::PastHerd,
                Kind::First,
            ]
            .into_iter()
            .find_map(|kind| each(&played, kind, |played| count(played, created_at(played))))
            .or_else(|| own_timeout(&played, &lateness)),
        ),
        (
            NEVER,
            each(&played, Kind::Refused, |played| count(played, 1))
                .or_else(|| unbuildable(&played, &lateness)),
        ),
        (
            GIVES_UP,
            each(&played, Kind::Broken, |played| {
                count(played, played.planned.policy.max_attempts as usize)
                    .or_else(|| returned_at_once(played, &lateness))
            }),
        ),
        (WAITS, waits(&played, &lateness)),
        (JITTER, herd(&played)),
    ];
    let passed =
        |check| decided.iter().any(|(decided, failure)| *decided == check && failure.is_none());
    let mut busy = Vec::new();
    if passed(WAITS) && waits_busy(&played, &lateness) {
        busy.push(WAITS);
    }
    if passed(JITTER) && herd_busy(&played, &lateness) {
        busy.push(JITTER);
    }
    Ok(ClientPlay { decided, in_step, busy })
}

/// What one play of the client half decided.
pub(super) struct ClientPlay {
    pub(super) decided: Vec<(&'static str, Option<Failure>)>,
    /// Whether the twin herd kept in step (see `twins::in_step`).
    pub(super) in_step: Option<Failure>,
    /// The checks that passed only as a busy machine could have made them pass.
    pub(super) busy: Vec<&'static str>,
}

async fn new_keys(learner: &Learner, count: usize) -> Result<Vec<String>, Lost> {
    Ok(
        match learner
            .call("new_idempotency_key()", &LearnerCall::NewKeys { count }, PAY_DEADLINE)
            .await?
        {
            Returned::Value(keys) => keys,
            Returned::Panicked(_) | Returned::TimedOut(_) => Vec::new(),
        },
    )
}

async fn pay<'a>(
    learner: &Learner,
    planned: &'a Planned,
    url: String,
    key: String,
) -> Result<Played<'a>, Lost> {
    let call = LearnerCall::Pay {
        url,
        payment: planned.payment.clone(),
        key: key.clone(),
        policy: planned.policy.into(),
        client_timeout: CLIENT_TIMEOUT,
    };
    let started = Instant::now();
    let paid = match learner.call("pay()", &call, PAY_DEADLINE).await? {
        Returned::Value(paid) => Ok(paid),
        Returned::Panicked(panic) => Err(format!("it panicked: {panic}")),
        Returned::TimedOut(limit) => Err(format!("it did not return within {}", millis(limit))),
    };
    Ok(Played { planned, key, paid, started, returned: Instant::now(), seen: Vec::new() })
}

/// The judge's payments server: every call's attempts answered as its script says, by amount.
/// A payments server that refuses every connection until it is opened, then creates whatever
/// payment comes.
fn not_up_yet(tag: &str) -> (Upstream, Opener) {
    let tag = tag.to_string();
    Upstream::refusing(Options { cap: 100, keep_alive: true }, move |seen| {
        match serde_json::from_slice::<Payment>(&seen.body) {
            Ok(payment) => Reply::json(201, &body_of(Step::Created, &payment, 1, &tag)),
            Err(_) => Reply::json(400, &json!({"error": {"code": "NOT_A_PAYMENT"}})),
        }
    })
}

async fn payments_server(plan: &Plan, tag: &str) -> Upstream {
    let scripts: HashMap<u64, Vec<Step>> = plan
        .calls
        .iter()
        .chain(plan.twins.iter().flatten())
        .map(|planned| (planned.payment.amount, planned.steps.clone()))
        .collect();
    let herd: Vec<u64> = plan
        .calls
        .iter()
        .filter(|planned| planned.kind == Kind::Herd)
        .map(|planned| planned.payment.amount)
        .collect();
    let twins: HashMap<u64, usize> = plan
        .twins
        .iter()
        .flat_map(|twins| twins.iter().enumerate())
        .map(|(index, planned)| (planned.payment.amount, index))
        .collect();
    let attempts = Mutex::new(HashMap::<u64, usize>::new());
    let (herd_failed, twins_failed) = (Mutex::new(None::<Instant>), Mutex::new(None::<Instant>));
    let tag = tag.to_string();
    Upstream::with(Options { cap: 2_000, keep_alive: true }, move |seen| {
        let Ok(payment) = serde_json::from_slice::<Payment>(&seen.body) else {
            return Reply::json(
                400,
                &json!({"error": {"code": "NOT_A_PAYMENT", "message": "send the payment as JSON"}}),
            );
        };
        let attempt = {
            let mut attempts = attempts.lock().unwrap_or_else(PoisonError::into_inner);
            let attempt = attempts.entry(payment.amount).or_default();
            *attempt += 1;
            *attempt
        };
        let steps = scripts.get(&payment.amount).map_or(&[Step::Created][..], Vec::as_slice);
        let step = steps[(attempt - 1).min(steps.len() - 1)];
        let body = body_of(step, &payment, attempt, &tag);
        // The herd's first failures go out together, however long each call took to set out;
        // the twins' one after the other (see `twins`).
        let first_of = |failed: &Mutex<Option<Instant>>| {
            *failed.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(seen.at)
        };
        let released = match (attempt, twins.get(&payment.amount)) {
            (1, _) if herd.contains(&payment.amount) => Some(first_of(&herd_failed) + HERD_HELD),
            (1, Some(index)) => Some(twins::released(*index, first_of(&twins_failed))),
            _ => None,
        };
        match released {
            Some(at) => {
                Reply::Delayed(at.saturating_duration_since(seen.at), Box::new(reply(step, &body)))
            }
            None => reply(step, &body),
        }
    })
    .await
}

/// How far ahead a `Retry-After` date past max_delay is at least: three times the one second
/// its calls allow.
const LATER: Duration = Duration::from_secs(3);

/// How far ahead a `Retry-After` date is at least: five times the backoff of its call, so that
/// a client that reads only seconds is seen coming back too soon.
const DATE_AHEAD: Duration = Duration::from_millis(200);

/// How long ago a `Retry-After` date already past is.
const PAST: Duration = Duration::from_secs(5);

/// Seconds past what a `u64` holds (about 1.8 × 10¹⁹): still delay-seconds, any run of digits
/// (RFC 9110, section 10.2.3), so a value beyond any max_delay, not one to ignore.
const HUGE: &str = "184467440737095516160";

fn reply(step: Step, body: &Value) -> Reply {
    match step {
        Step::Created => Reply::json(201, body),
        Step::Status(status) => Reply::json(status, body),
        Step::Asking(status, seconds) => {
            Reply::json(status, body).with_header("retry-after", &seconds.to_string())
        }
        Step::AskingDate(form) => {
            let date = whole_second_after(SystemTime::now() + DATE_AHEAD);
            Reply::json(503, body).with_header("retry-after", &format_time(date, form))
        }
        Step::AskingLater(status, form) => {
            let date = whole_second_after(SystemTime::now() + LATER);
            Reply::json(status, body).with_header("retry-after", &format_time(date, form))
        }
        Step::AskingPast(form) => {
            let date = SystemTime::now() - PAST;
            Reply::json(503, body).with_header("retry-after", &format_time(date, form))
        }
        Step::AskingHuge(status) => Reply::json(status, body).with_header("retry-after", HUGE),
        Step::Drop => Reply::Raw(Vec::new()),
        Step::Hang => Reply::Silence,
    }
}

/// The body the payments server sends for `attempt`: what `pay` must hand back.
fn body_of(step: Step, payment: &Payment, attempt: usize, tag: &str) -> Value {
    match step {
        Step::Created => {
            json!({"payment_id": format!("pay_{tag}_{}_{attempt}", payment.amount), "amount": payment.amount, "currency": payment.currency})
        }
        _ => {
            json!({"error": {"code": "FAILED", "message": format!("attempt {attempt} failed"), "tag": tag}})
        }
    }
}

fn amount_of(seen: &Seen) -> Option<u64> {
    serde_json::from_slice::<Value>(&seen.body).ok()?["amount"].as_u64()
}

/// The key a request carried, quotes and all trimmed.
fn key_of(seen: &Seen) -> Option<&str> {
    seen.header("idempotency-key")
        .map(|key| key.trim().trim_matches('"'))
        .filter(|key| !key.is_empty())
}

/// The `Retry-After` the payments server sent in answer to `seen`.
fn date_sent(seen: &Seen) -> String {
    schedule::retry_after_sent(seen).unwrap_or_default().to_string()
}

fn step_of(played: &Played, attempt: usize) -> Step {
    let steps = &played.planned.steps;
    steps[(attempt.max(1) - 1).min(steps.len().saturating_sub(1))]
}

/// How many requests a call that ends in a 201 needs.
fn created_at(played: &Played) -> usize {
    played.planned.steps.iter().position(|step| *step == Step::Created).map_or(0, |at| at + 1)
}

/// A failure about one call, with its request log.
fn about(played: &Played, summary: String) -> Failure {
    let first = played.seen.first().map(|seen| seen.at);
    let mut body = String::new();
    for (index, seen) in played.seen.iter().enumerate() {
        let at = first.map_or(0, |first| seen.at.saturating_duration_since(first).as_millis());
        let answered = match step_of(played, index + 1) {
            Step::Created => "201 Created".to_string(),
            Step::Status(status) => status.to_string(),
            Step::Asking(status, seconds) => format!("{status}, Retry-After: {seconds}"),
            Step::AskingDate(_) | Step::AskingPast(_) => {
                format!("503, Retry-After: {}", date_sent(seen))
            }
            Step::AskingLater(status, _) => format!("{status}, Retry-After: {}", date_sent(seen)),
            Step::AskingHuge(status) => format!("{status}, Retry-After: {HUGE}"),
            Step::Drop => "(connection closed, no answer)".into(),
            Step::Hang => "(no answer)".into(),
        };
        let key = seen.header("idempotency-key").unwrap_or("(no Idempotency-Key)");
        body.push_str(&format!(
            "{at:>5} ms  POST {}  Idempotency-Key: {key}\n          {}\n          → {answered}\n",
            seen.target,
            String::from_utf8_lossy(&seen.body)
        ));
    }
    let returned = match &played.paid {
        Ok(returned) => format!("pay returned {}", schedule::returned(returned)),
        Err(problem) => format!("pay did not return: {problem}"),
    };
    body.push_str(&format!("          {returned}\n"));
    Failure::of(summary).with(Evidence::Text {
        title: format!(
            "the payments server saw, for {} {} (pay was given the key {})",
            played.planned.payment.amount, played.planned.payment.currency, played.key
        ),
        body,
    })
}

fn keyed(plays: &[Played]) -> Option<Failure> {
    for played in plays.iter().filter(|played| played.planned.kind != Kind::Unbuildable) {
        for seen in &played.seen {
            if key_of(seen) != Some(played.key.as_str()) {
                let summary = match (key_of(seen), played.planned.kind) {
                    (None, _) => "a request came without an Idempotency-Key".to_string(),
                    (Some(_), Kind::Again) => "paying the same intent again, pay sent another key than the one it was given: the key belongs to the payment, not to the call".into(),
                    (Some(other), _) => format!("pay was given the key {}, and sent {other}: send the key you are given, on every attempt", played.key),
                };
                return Some(about(played, summary));
            }
            let json_body = seen
                .header("content-type")
                .is_some_and(|value| value.starts_with("application/json"));
            // The payment's own fields and nothing else: a field added on a retry (an attempt
            // number) makes it another payment to a server that fingerprints the body.
            let body: Option<Value> = serde_json::from_slice(&seen.body).ok();
            let sent = serde_json::to_value(&played.planned.payment).ok();
            if !json_body || body.is_none() || body != sent {
                return Some(about(
                    played,
                    "a request did not carry the payment as JSON (Content-Type: application/json)"
                        .into(),
                ));
            }
        }
    }
    None
}

/// Keys must be unique (across both processes, and across calls), unguessable, and within what
/// servers take: 1 to 255 visible ASCII characters.
fn fresh(first: &[String], second: &[String]) -> Option<Failure> {
    let keys: Vec<&str> = first.iter().chain(second).map(String::as_str).collect();
    let shown = Evidence::Text {
        title: "keys made by new_idempotency_key() (the last few in a second process)".into(),
        body: first
            .iter()
            .take(12)
            .chain(second.iter().take(4))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let problem = if first.is_empty() || second.is_empty() {
        Some("new_idempotency_key() did not return keys".to_string())
    } else if let Some(bad) = keys
        .iter()
        .find(|key| !(1..=255).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()))
    {
        Some(format!("the key {bad:?} is not 1 to 255 visible ASCII characters: servers refuse it"))
    } else {
        let mut distinct = keys.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < keys.len() {
            let across = first.iter().any(|key| second.contains(key));
            Some(if across {
                format!(
                    "two processes made the same keys ({} distinct of {}): a generator seeded with a \
                     constant, or with the process id (1 in every container), gives every \
                     instance of the service the same keys, and their payments collide",
                    distinct.len(),
                    keys.len()
                )
            } else {
                format!(
                    "{} keys, {} distinct: a key was made twice, and two payments would share it",
                    keys.len(),
                    distinct.len()
                )
            })
        } else {
            unguessable(&keys).err()
        }
    };
    problem.map(|problem| Failure::of(problem).with(shown))
}

/// Whether `keys` look random: long enough, and any two of a length differing in most places.
fn unguessable(keys: &[&str]) -> Result<(), String> {
    if let Some(short) = keys.iter().find(|key| key.len() < 16) {
        return Err(format!(
            "the key {short:?} is too short to be unguessable (use 16 characters or more: a v4 UUID has 36)"
        ));
    }
    for (at, one) in keys.iter().enumerate() {
        for other in keys[at + 1..].iter().filter(|other| other.len() == one.len()) {
            let differing = one.bytes().zip(other.bytes()).filter(|(a, b)| a != b).count();
            if differing < 8 {
                return Err(format!(
                    "the keys {one:?} and {other:?} differ in {differing} places: keys that follow a pattern can be guessed, and collide"
                ));
            }
        }
    }
    Ok(())
}

/// Judges the calls of `kind`: `requests` says what is wrong with how many came.
fn each(
    plays: &[Played],
    kind: Kind,
    requests: impl Fn(&Played) -> Option<String>,
) -> Option<Failure> {
    plays.iter().filter(|played| played.planned.kind == kind).find_map(|played| {
        let problem = requests(played).or_else(|| returned_problem(played))?;
        Some(about(played, problem))
    })
}

/// After the last attempt there is nothing left to wait for: pay returns as soon as its answer
/// is in, within a round trip to the learner's process (and however late the machine ran).
fn returned_at_once(played: &Played, lateness: &Lateness) -> Option<String> {
    let last = played.seen.last()?.at;
    let took = played.returned.saturating_duration_since(last);
    let bound = Bound::no_wait().later_by(LATE_FLOOR + lateness.during(last, played.returned));
    (!bound.holds(took)).then(|| {
        format!(
            "pay returned {} after its last attempt came, more than {bound}: it waited after \
             the last attempt, with nothing left to wait for",
            millis(took)
        )
    })
}

fn count(played: &Played, wanted: usize) -> Option<String> {
    let made = played.seen.len();
    if made == wanted {
        return None;
    }
    let first = step_of(played, 1);
    Some(match (played.planned.kind, first) {
        (Kind::Refused, Step::Status(status)) => {
            format!("a {status} was retried: {made} requests came")
        }
        (Kind::Asked, Step::Asking(status, seconds)) => format!(
            "a {status} asked for Retry-After: {seconds}, no more than max_delay ({}), and {made} \
             requests came: such a wait is waited out, then the payment retried",
            millis(played.planned.policy.max_delay)
        ),
        (Kind::Asked, Step::AskingDate(_)) => format!(
            "a 503 asked for Retry-After: {}, less than max_delay ({}) ahead, and {made} \
             requests came: such a wait is waited out, then the payment retried",
            played.seen.first().map_or_else(String::new, date_sent),
            millis(played.planned.policy.max_delay)
        ),
        (Kind::RefusedFirst, _) if made == 0 => format!(
            "the payments server refused connections for the first {} of the call, then \
             listened, and no request came: pay returned after {}. A refused connection never \
             reached the server: retry it, after its backoff, like any failure to send",
            millis(REFUSED_FOR),
            millis(played.returned.saturating_duration_since(played.started))
        ),
        (Kind::Broken, _) => format!(
            "the server {} every time, and {made} requests came; max_attempts is {wanted}",
            match first {
                Step::Drop => "dropped the connection".to_string(),
                Step::Status(status) => format!("answered {status}"),
                _ => "failed".into(),
            }
        ),
        _ => format!("{made} requests came; the payment needed {wanted}"),
    })
}

/// What is wrong with what `pay` returned: the last response as it came, or, when the last
/// attempt got no answer, an error.
fn returned_problem(played: &Played) -> Option<String> {
    let answered = played.seen.last().filter(|seen| seen.reply.status_code().is_some());
    let problem = match (&played.paid, answered) {
        (Err(problem), _) => return Some(format!("pay did not return: {problem}")),
        (Ok(Ok(response)), Some(last)) => schedule::returned_as_sent(response, last)?,
        (Ok(returned @ Err(error)), None) if !error.builder => {
            let hung = step_of(played, played.seen.len()) == Step::Hang;
            if error.timeout == hung {
                return None;
            }
            let last = if hung { "a timeout" } else { "a dropped connection" };
            format!(
                "returned {}, when the last attempt ended in {last}",
                schedule::returned(returned)
            )
        }
        (Ok(returned), Some(_)) => {
            format!("returned {}, not the last response", schedule::returned(returned))
        }
        (Ok(returned), None) => format!(
            "returned {}, when the last attempt got no answer at all",
            schedule::returned(returned)
        ),
    };
    Some(format!("pay {problem}"))
}

/// A URL that cannot be built: an error at once, nothing sent.
fn unbuildable(plays: &[Played], lateness: &Lateness) -> Option<Failure> {
    let played = plays.iter().find(|played| played.planned.kind == Kind::Unbuildable)?;
    let took = played.returned.saturating_duration_since(played.started);
    let at_once = Bound::at_once().later_by(lateness.during(played.started, played.returned));
    match &played.paid {
        Ok(Err(error)) if error.builder && at_once.holds(took) => None,
        Ok(Err(error)) if error.builder => Some(format!(
            "pay took {} to give up on a URL that cannot be built (is_builder()): it was retried, or waited for, and can never be sent",
            millis(took)
        )),
        Ok(returned) => Some(format!("pay was given a URL that cannot be built, and returned {}", schedule::returned(returned))),
        Err(problem) => Some(format!("pay was given a URL that cannot be built, and did not return: {problem}")),
    }
    .map(|problem| about(played, problem))
}

/// Nothing is due before a first attempt: paid alone, a call's first request comes within a
/// round trip to the learner's process (and however late the machine ran meanwhile).
fn first_at_once(plays: &[Played], lateness: &Lateness) -> Option<Failure> {
    plays.iter().filter(|played| played.planned.kind == Kind::First).find_map(|played| {
        let first = played.seen.first()?.at;
        let took = first.saturating_duration_since(played.started);
        let bound = Bound::no_wait().later_by(lateness.during(played.started, first));
        (!bound.holds(took)).then(|| {
            about(
                played,
                format!(
                    "the first attempt came {} after pay was called, more than {bound}: nothing \
                     is due before the first attempt (backoff comes between attempts)",
                    millis(took)
                ),
            )
        })
    })
}

/// Plays the outage past the overflow (`Plan::overflow`) on a payments server of its own, and
/// says what retries and waits make of it.
pub(super) async fn play_overflow(
    plan: &Plan,
    learner: &Learner,
    rng: &mut seed::Rng,
) -> Result<Vec<(&'static str, Option<Failure>)>, Lost> {
    let server = payments_server(plan, &seed::token(rng, 8)).await;
    let keys = new_keys(learner, 1).await?;
    let (Some(planned), Some(key)) = (plan.calls.first(), keys.first()) else {
        return Ok(Vec::new());
    };
    let mut played =
        pay(learner, planned, format!("{}/payments", server.base), key.clone()).await?;
    played.seen = server.seen();
    Ok(vec![(RETRIES, overflow_retried(&played)), (WAITS, past_overflow(&played))])
}

/// The outage past the overflows, retried to its end (a panic is the waits check's to say).
fn overflow_retried(played: &Played) -> Option<Failure> {
    if played.paid.is_err() {
        return None;
    }
    let problem = count(played, OVERFLOW_ATTEMPTS as usize).or_else(|| returned_problem(played))?;
    Some(about(played, problem))
}

/// Past where 2^(n−1) overflows, the waits stay at the cap: a panic, or waits that start again
/// from base_delay (or fall to nothing), break the rule however the overflow was met.
fn past_overflow(played: &Played) -> Option<Failure> {
    let cap = played.planned.policy.max_delay;
    let problem = match &played.paid {
        Err(problem) => format!(
            "in an outage of {OVERFLOW_ATTEMPTS} attempts (max_delay {}), pay did not return \
             after {} requests: {problem}. Past retry 32, 2^(n−1) overflows a u32: saturate, \
             and the wait stays at max_delay",
            millis(cap),
            played.seen.len()
        ),
        // Too few requests, or the wrong one returned, are the retries check's to say.
        Ok(_) if played.seen.len() != OVERFLOW_ATTEMPTS as usize => return None,
        Ok(_) => schedule::stays_at_cap(cap, &[schedule::waits(&played.seen)])?,
    };
    // Forty requests make a log nobody reads: the sentence says it.
    Some(Failure::of(problem))
}

/// The waits between one call's requests, each with the rule it had.
fn judged_waits(played: &Played) -> Vec<(Duration, Wait)> {
    schedule::waits(&played.seen)
        .into_iter()
        .enumerate()
        .map(|(index, waited)| {
            let backoff = Wait::Backoff(backoff(&played.planned.policy, index as u32 + 1));
            let wait = match step_of(played, index + 1) {
                Step::Asking(_, seconds) if seconds > 0 => {
                    Wait::Asked(Duration::from_secs(seconds))
                }
                Step::AskingDate(_) => {
                    played.seen.get(index).and_then(date_asked).map_or(backoff, Wait::Asked)
                }
                _ => backoff,
            };
            (waited, wait)
        })
        .collect()
}

fn waits(plays: &[Played], lateness: &Lateness) -> Option<Failure> {
    // A wait cut short is never the machine's doing, and is said first; a wait too long (which a
    // busy moment can make of a right one) is said last, when nothing else is wrong.
    let mut too_late = None;
    for played in plays.iter().filter(|played| {
        matches!(
            played.planned.kind,
            Kind::Succeeds
                | Kind::Broken
                | Kind::Asked
                | Kind::TimedOut
                | Kind::PastHerd
                | Kind::AfterAsked
        )
    }) {
        for (index, (waited, wait)) in judged_waits(played).into_iter().enumerate() {
            let timing =
                wait.bound().later_by(late_over(played, index, waited, lateness)).judge(waited);
            if timing == Timing::InTime || (timing == Timing::Late && too_late.is_some()) {
                continue;
            }
            let after = match step_of(played, index + 1) {
                Step::Status(409) => "a 409".to_string(),
                Step::Status(status) => format!("a {status}"),
                Step::Asking(status, seconds) => format!("a {status} with Retry-After: {seconds}"),
                Step::AskingDate(_) | Step::AskingPast(_) => {
                    format!("a 503 with Retry-After: {}", date_sent(&played.seen[index]))
                }
                Step::AskingLater(status, _) => {
                    format!("a {status} with Retry-After: {}", date_sent(&played.seen[index]))
                }
                Step::AskingHuge(status) => format!("a {status} with Retry-After: {HUGE}"),
                Step::Drop => "a dropped connection".into(),
                Step::Hang => "a timeout".into(),
                Step::Created => "a 201".into(),
            };
            let rule = match wait {
                Wait::Backoff(d) => format!(
                    "backoff allows 0–{} there (base_delay × 2^(n−1), capped at max_delay, jitter below it)",
                    millis(d)
                ),
                Wait::Asked(asked) | Wait::AskedUnderBackoff(asked, _) => {
                    format!("the server asked for {}", millis(asked))
                }
            };
            let failure = about(
                played,
                format!(
                    "after {after}, pay waited {} before retry {}: {rule}",
                    millis(waited),
                    index + 1
                ),
            );
            if timing == Timing::Early {
                return Some(failure);
            }
            too_late = Some(failure);
        }
    }
    if let Some(failure) = first_at_once(plays, lateness) {
        return Some(failure);
    }
    // Handed back at once, then paid again with one request.
    for too_long in plays.iter().filter(|played| played.planned.kind == Kind::TooLong) {
        let took = too_long.returned.saturating_duration_since(
            too_long.seen.first().map_or(too_long.started, |seen| seen.at),
        );
        let at_once =
            Bound::at_once().later_by(lateness.during(too_long.started, too_long.returned));
        if too_long.seen.len() != 1 || !at_once.holds(took) {
            let asked = match (step_of(too_long, 1), too_long.seen.first()) {
                (Step::Asking(status, seconds), _) => {
                    format!("a {status} asked for Retry-After: {seconds}")
                }
                (Step::AskingLater(status, _), Some(seen)) => {
                    format!("a {status} asked for Retry-After: {}", date_sent(seen))
                }
                (Step::AskingHuge(status), _) => {
                    format!("a {status} asked for Retry-After: {HUGE} (past what a u64 holds)")
                }
                (step, _) => format!("{step:?}"),
            };
            return Some(about(
                too_long,
                format!(
                    "{asked}, beyond max_delay (1 s): {} request(s) came, and pay returned {} after the first; it should hand the answer back at once",
                    too_long.seen.len(),
                    millis(took)
                ),
            ));
        }
        if let Some(problem) = returned_problem(too_long) {
            return Some(about(too_long, problem));
        }
    }
    // Growth, after each kind of failure on its own, then after failures that change kind at
    // every attempt, on every policy drawn: each wait measured against its own policy's base.
    let groups = LONG_FAILURES.map(Some).into_iter().chain([None]);
    for failure in groups {
        let long: Vec<&Played> = plays
            .iter()
            .filter(|played| match failure {
                Some(failure) => played.planned.kind == Kind::Long && step_of(played, 1) == failure,
                None => played.planned.kind == Kind::Mixed,
            })
            .collect();
        let samples: Vec<Sample> = long
            .iter()
            .flat_map(|played| {
                let scale = 10.0 / played.planned.policy.base_delay.as_secs_f64() / 1_000.0;
                judged_waits(played).into_iter().map(move |(waited, wait)| {
                    Sample::new(waited.mul_f64(scale), wait.nominal().mul_f64(scale))
                })
            })
            .collect();
        if let Some(problem) = schedule::growth(&samples) {
            let after = match failure {
                Some(Step::Drop) => "a dropped connection".to_string(),
                Some(Step::Status(status)) => format!("a {status}"),
                Some(_) => "a failure".into(),
                None => "failures that change kind at every attempt (a 503, a 409, a dropped \
                         connection, in turn)"
                    .into(),
            };
            let failure = Failure::of(format!("after {after}, {problem}"));
            return Some(match long.first() {
                Some(played) => shown_with(failure, played),
                None => failure,
            });
        }
    }
    reach(plays)
        .or_else(|| reach_after_asked(plays))
        .or_else(|| no_wait_after_timeouts(plays))
        .or(too_late)
}

/// Over the many backoff waits of the calls that fail a few times, some come near their bound,
/// and so before each retry on its own (sixty-four calls retry four times, their last bound
/// eight times their first): waits that all stay low are a backoff shorter than the one asked
/// for, and low before the later retries only, one that grows slower than doubling (linearly,
/// or an exponent behind).
fn reach(plays: &[Played]) -> Option<Failure> {
    let problem = schedule::reach_all(&backoff_samples(plays, Kind::Succeeds, None))?;
    Some(shown_with(Failure::of(problem), example(plays, Kind::Succeeds)?))
}

/// Whether [`reach`] passed only with the machine's lateness left in the waits: taken off, they
/// no longer come near their bounds, as a full jitter drawn from 70 % of `d` would not (or the
/// waits after timeouts come to none). Such a pass is played again; its failure, though, is
/// judged on the waits as measured (a right answer's on a busy machine reach anyway, and a
/// failure is played again too).
fn waits_busy(plays: &[Played], lateness: &Lateness) -> bool {
    schedule::reach_all(&backoff_samples(plays, Kind::Succeeds, Some(lateness))).is_some()
        || timeouts_busy(plays, lateness)
}

/// Whether [`no_wait_after_timeouts`] passed only with the machine's lateness left in the first
/// waits: taken off, they come back at once.
fn timeouts_busy(plays: &[Played], lateness: &Lateness) -> bool {
    let firsts = first_samples(plays, Kind::TimedOut, lateness);
    firsts
        .first()
        .is_some_and(|first| schedule::timeouts_waited_by_lateness(first.nominal, &firsts))
}

/// The first wait of each call of `kind`, on its bound `d` (the call's base_delay), with the
/// lateness measured around it.
fn first_samples(plays: &[Played], kind: Kind, lateness: &Lateness) -> Vec<Sample> {
    plays
        .iter()
        .filter(|played| played.planned.kind == kind)
        .filter_map(|played| {
            let waited = *schedule::waits(&played.seen).first()?;
            let late = late_over(played, 0, waited, lateness);
            Some(Sample { waited, nominal: played.planned.policy.base_delay, late })
        })
        .collect()
}

/// Every backoff the calls of `kind` waited, each with the retry it came before (1 for the
/// first), and with how late the machine ran meanwhile when `lateness` is given.
fn backoff_samples(
    plays: &[Played],
    kind: Kind,
    lateness: Option<&Lateness>,
) -> Vec<(usize, Sample)> {
    plays
        .iter()
        .filter(|played| played.planned.kind == kind)
        .flat_map(|played| {
            judged_waits(played).into_iter().enumerate().filter_map(
                move |(index, (waited, wait))| {
                    let Wait::Backoff(nominal) = wait else { return None };
                    let late = lateness.map_or(Duration::ZERO, |lateness| {
                        late_over(played, index, waited, lateness)
                    });
                    Some((index + 1, Sample { late, ..Sample::new(waited, nominal) }))
                },
            )
        })
        .collect()
}

/// How late the machine ran over `played`'s wait before retry `index + 1`.
fn late_over(played: &Played, index: usize, waited: Duration, lateness: &Lateness) -> Duration {
    let retried = played.seen[index + 1].at;
    lateness.during(retried - waited, retried)
}

/// The first call of `kind`, to show a failure judged over all of them.
fn example<'a>(plays: &'a [Played<'a>], kind: Kind) -> Option<&'a Played<'a>> {
    plays.iter().find(|played| played.planned.kind == kind)
}

/// After a `Retry-After` waited out, the backoff before each later retry counts every attempt
/// made, the one that asked too: waits drawn as if counting started again stay in the lower half
/// of their bounds.
fn reach_after_asked(plays: &[Played]) -> Option<Failure> {
    let samples: Vec<Sample> = backoff_samples(plays, Kind::AfterAsked, None)
        .into_iter()
        .map(|(_, sample)| sample)
        .collect();
    let problem = schedule::reach(&samples)?;
    let failure = Failure::of(format!(
        "after a 503 with Retry-After: 1, waited out, and then 5xx: {problem}. Backoff counts \
         every attempt made, the one answered with Retry-After too: before retry n its bound is \
         base_delay × 2^(n−1), however the waits before it were decided"
    ));
    Some(shown_with(failure, example(plays, Kind::AfterAsked)?))
}

/// A failure judged over many calls, shown with one of them as its example.
fn shown_with(mut failure: Failure, example: &Played) -> Failure {
    failure.evidence = about(example, String::new()).evidence;
    failure
}

/// The fewest attempts that got no answer whose hang-ups are judged together.
const LEAST_HANGS: usize = 5;

/// An attempt that gets no answer ends when the client it was given times out: in the median,
/// no sooner than four fifths of [`CLIENT_TIMEOUT`] (the head reaches the server after the
/// client's clock started) and no later than the usual slack, and however late the machine
/// ran. A timeout of pay's own, shorter or longer, replaces the caller's choice.
fn own_timeout(plays: &[Played], lateness: &Lateness) -> Option<Failure> {
    let mut held: Vec<(Duration, Duration)> = plays
        .iter()
        .flat_map(|played| played.seen.iter().enumerate().map(move |(at, seen)| (played, at, seen)))
        .filter(|(played, at, _)| step_of(played, at + 1) == Step::Hang)
        .filter_map(|(_, _, seen)| {
            let ended = seen.ended?;
            Some((ended.saturating_duration_since(seen.at), lateness.during(seen.at, ended)))
        })
        .collect();
    if held.len() < LEAST_HANGS {
        return None;
    }
    held.sort();
    let (median, late) = held[held.len() / 2];
    let bound = Bound {
        at_least: CLIENT_TIMEOUT.mul_f64(0.8),
        ..Bound::around(CLIENT_TIMEOUT).later_by(late)
    };
    (!bound.holds(median)).then(|| {
        Failure::of(format!(
            "requests that got no answer were given up on after {} (the median of {}; due: \
             {bound}): the client pay was given times out after {}. Use it as it is: its \
             timeout is the caller's choice",
            millis(median),
            held.len(),
            millis(CLIENT_TIMEOUT),
        ))
    })
}

/// After a timeout, pay backs off as after any failure: waiting for the answer was no backoff.
fn no_wait_after_timeouts(plays: &[Played]) -> Option<Failure> {
    let (timed_out, d, firsts) = together(plays, Kind::TimedOut)?;
    schedule::waited_after_timeouts(d, &firsts).map(|problem| about(timed_out[0], problem))
}

/// The calls of `kind`, which failed together on one bound `d` (their base_delay), and each
/// one's first wait.
fn together<'p, 'a>(
    plays: &'p [Played<'a>],
    kind: Kind,
) -> Option<(Vec<&'p Played<'a>>, Duration, Vec<Duration>)> {
    let calls: Vec<&Played> = plays.iter().filter(|played| played.planned.kind == kind).collect();
    let d = calls.first()?.planned.policy.base_delay;
    let firsts =
        calls.iter().filter_map(|played| schedule::waits(&played.seen).first().copied()).collect();
    Some((calls, d, firsts))
}

/// Calls that failed together must not retry together: not in one pile, and not each at its own
/// fixed share of the bound (drawn once per call), which keeps every call's place in the herd.
fn herd(plays: &[Played]) -> Option<Failure> {
    let (herd, d, firsts) = together(plays, Kind::Herd)?;
    let per_call: Vec<Vec<Sample>> = herd
        .iter()
        .map(|played| {
            let waits = judged_waits(played).into_iter();
            waits.map(|(waited, wait)| Sample::new(waited, wait.nominal())).collect()
        })
        .collect();
    schedule::jittered(d, &firsts)
        .map(|why| {
            format!("after a 503 with Retry-After: 0, which asks for the usual backoff: {why}")
        })
        // A share reused makes each call's waits one pile of its own: said as what it is.
        .or_else(|| schedule::drawn_afresh(&per_call, schedule::THREE_WAITS))
        .or_else(|| schedule::piled_up(&per_call))
        .or_else(|| schedule::never_below(&per_call))
        .or_else(|| past_herd(plays))
        .map(Failure::of)
}

/// Whether [`herd`] passed only as the machine's lateness could have made it pass: the herds'
/// first waits spread apart, or a pile of the herd's waits smeared, by no more than the lateness
/// measured around them (see [`schedule::herd_spread_by_lateness`]). Such a pass is played again.
fn herd_busy(plays: &[Played], lateness: &Lateness) -> bool {
    let spread_by_lateness = [Kind::Herd, Kind::PastHerd].into_iter().any(|kind| {
        let samples = first_samples(plays, kind, lateness);
        samples
            .first()
            .is_some_and(|first| schedule::herd_spread_by_lateness(first.nominal, &samples))
    });
    let per_call: Vec<Vec<Sample>> = plays
        .iter()
        .filter(|played| played.planned.kind == Kind::Herd)
        .map(|played| {
            let waits = judged_waits(played).into_iter().enumerate();
            waits
                .map(|(index, (waited, wait))| Sample {
                    late: late_over(played, index, waited, lateness),
                    ..Sample::new(waited, wait.nominal())
                })
                .collect()
        })
        .collect();
    spread_by_lateness || schedule::pile_smeared_by_lateness(&per_call)
}

/// A herd told to come back at a date already past waits its usual backoff, jittered: taken as
/// "at once", it comes back together.
fn past_herd(plays: &[Played]) -> Option<String> {
    let (herd, d, firsts) = together(plays, Kind::PastHerd)?;
    let why =
        schedule::jittered(d, &firsts).or_else(|| schedule::came_straight_back(d, &firsts))?;
    let date = herd[0].seen.first().map(date_sent).unwrap_or_default();
    Some(format!(
        "after a 503 with Retry-After: {date}, a date already past, which asks for the usual \
         backoff: {why}"
    ))
}
