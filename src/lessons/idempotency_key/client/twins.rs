//! The twin herd: the same calls played in both processes at once, before anything else draws a
//! wait, their failures released one call after the other in the same order in both. Each
//! process then draws its waits in that order, so a generator seeded with a constant (or with
//! anything every instance shares) makes call for call the same waits in both: every instance
//! of the service would retry in step with every other.

use std::time::{Duration, Instant};

use httplings::RetryPolicy;

use super::{Kind, Payments, Planned, Played, Step, amount_of, ms, pay};
use crate::judge::bounds::Lateness;
use crate::judge::schedule;
use crate::judge::upstream::Seen;
use crate::judge::{Failure, Learner, Lost, seed};

/// How many calls each process plays: enough for the waits' correlation to say something.
const TWINS: usize = 10;

/// How long the twins' first failures are held after the first arrives, so that every call of
/// both processes has set out; then they go out [`STEP`] apart, call by call. The step is wide
/// enough that a busy machine seldom lets a call hear its failure before the one ahead of it.
const HELD: Duration = Duration::from_millis(40);
const STEP: Duration = Duration::from_millis(10);

/// When the rest of the plan may start: both processes have heard every twin's failure and
/// drawn its wait (after the last release, time for a busy machine to deliver it).
pub(super) const DRAWN: Duration =
    Duration::from_millis(HELD.as_millis() as u64 + STEP.as_millis() as u64 * TWINS as u64 + 40);

/// Both processes' twins, each a 503 and then a payment made, on one bound `d` of hundreds of
/// milliseconds: honest draws land far apart.
pub(super) fn draw(payments: &mut Payments) -> [Vec<Planned>; 2] {
    let d = seed::duration_spread(payments.rng(), ms(250), ms(400));
    let policy = RetryPolicy { max_attempts: 2, base_delay: d, max_delay: d };
    [(); 2].map(|_| {
        (0..TWINS)
            .map(|_| Planned {
                kind: Kind::Twin,
                payment: payments.next(),
                steps: vec![Step::Status(503), Step::Created],
                policy,
            })
            .collect()
    })
}

/// When twin `index`'s first failure goes out, given when the first twin arrived.
pub(super) fn released(index: usize, first: Instant) -> Instant {
    first + HELD + STEP * index as u32
}

/// Plays `twins` in `learner`'s process, all at once, each with one of `keys`.
pub(super) async fn play<'a>(
    learner: &Learner,
    twins: &'a [Planned],
    url: &str,
    keys: &[String],
) -> Result<Vec<Played<'a>>, Lost> {
    let calls = twins
        .iter()
        .zip(keys.iter().cycle())
        .map(|(planned, key)| pay(learner, planned, url.to_string(), key.clone()));
    futures_util::future::join_all(calls).await.into_iter().collect()
}

/// The two processes' twins judged against each other, call by call, on their requests
/// (among `seen`). A machine that held the judge up meanwhile stamps the retries that came in
/// the hold alike. On a quiet machine every call is judged; on a busy one (held up by half of
/// `d` or more, most of the span honest waits cover), only the calls whose retries came in both
/// processes at moments nothing was held up, and only when [`JUDGED_WHEN_BUSY`] of them did.
pub(super) fn in_step(
    one: &[Played],
    two: &[Played],
    seen: &[Seen],
    lateness: &Lateness,
) -> Option<Failure> {
    let d = one.first()?.planned.policy.base_delay;
    let from = one.iter().chain(two).map(|played| played.started).min()?;
    let to = one.iter().chain(two).map(|played| played.returned).max()?;
    let quiet = lateness.during(from, to) < d / 2;
    // A retry stamped in a hold shorter than this cannot be taken for one drawn alike.
    let held = schedule::alike_within(d) / 2;
    let first_retry = |played: &Played| -> Option<(Duration, Instant)> {
        let amount = played.planned.payment.amount;
        let mine: Vec<Seen> =
            seen.iter().filter(|seen| amount_of(seen) == Some(amount)).cloned().collect();
        Some((*schedule::waits(&mine).first()?, mine.get(1)?.at))
    };
    let pairs: Vec<(Duration, Duration)> = one
        .iter()
        .zip(two)
        .filter_map(|(one, two)| Some((first_retry(one)?, first_retry(two)?)))
        .filter(|((_, at_one), (_, at_two))| {
            quiet || !(lateness.held_at(*at_one, held) || lateness.held_at(*at_two, held))
        })
        .map(|((one, _), (two, _))| (one, two))
        .collect();
    if !quiet && pairs.len() < JUDGED_WHEN_BUSY {
        return None;
    }
    let (first, second): (Vec<Duration>, Vec<Duration>) = pairs.into_iter().unzip();
    schedule::differ_between_processes_in_order(d, &first, &second).map(Failure::of)
}

/// The fewest calls judged on a busy machine: honest draws agree on seven of eight about once
/// in ten million runs.
const JUDGED_WHEN_BUSY: usize = 8;
