//! Each check's verdict, from the calls of a round as played.

use std::time::{Duration, Instant};

use super::round::{
    Client, ENDS_FIRST, ENDS_WAVE, INSIDE_AT, INSIDE_HEALTHY, Made, NoOutcome, REFUSALS_FIRST,
    REFUSALS_HEALTHY, Script, Windows,
};
use crate::judge::bounds::{
    AT_ONCE, AT_ONCE_ON_AVERAGE, LATE_RATE, Lateness, MOST_LATE, Timing, late, millis,
};
use crate::judge::schedule::{Sample, Wait, backoff, growth, jittered, past_backoff};
use crate::judge::upstream::Reply;
use crate::judge::{Evidence, Failure, Row};

/// How many of the calls that fail once must end with a 200.
const RECOVERED: f64 = 0.8;

/// How many of the calls made together must be in flight at once at the server.
const TOGETHER: f64 = 0.75;

/// Retries a window's count may be off by: a budget that rounds, or one that counts a request a
/// moment apart from when the judge's server sees it.
const WINDOW_SPARE: f64 = 2.0;

/// The share of backoff waits that may run past `late(d)` and the lag the machine had before
/// the waits are too long: one or two on a busy machine, not one in ten (a backoff one doubling
/// ahead puts a third of its waits there). Measured at the judge's server, from one attempt's
/// end to the next one's start, the reference's waits stayed within 1.05 × d beside five CPU
/// hogs (300 waits); what the scheduler adds shows in the lag. Only waits whose `d` is long
/// enough to tell (`TOO_LONG_FROM`) are counted, and at least `TOO_LONG_LEAST` must be over.
const TOO_LONG_SHARE: f64 = 0.1;
const TOO_LONG_FROM: Duration = Duration::from_millis(100);
const TOO_LONG_LEAST: usize = 3;

/// The rules client's name in [`lesson_3`]'s list.
pub const RULES: &str = "rules";

/// How many waits for one and the same `d` show whether a client jitters.
const JITTER_SAMPLES: usize = 6;

/// How many of the waits a `Retry-After` set may run past `late(asked)` and the lag before they
/// are too long: two, and a quarter of them. A wait asked for is that long, give or take what
/// the machine adds; a backoff added on top of it (half a second or so, here) puts most there.
const ASKED_TOO_LONG_LEAST: usize = 2;
const ASKED_TOO_LONG_SHARE: f64 = 0.25;

fn table(columns: &[&str], rows: Vec<Row>) -> Evidence {
    Evidence::Table { columns: columns.iter().map(|column| column.to_string()).collect(), rows }
}

fn got(made: &Made) -> String {
    match &made.got {
        Ok(Ok(response)) => response.status.to_string(),
        Ok(Err(error)) => format!("Err({})", error.text),
        Err(problem) => problem.to_string(),
    }
}

fn status(made: &Made) -> Option<u16> {
    made.got.as_ref().ok()?.as_ref().ok().map(|response| response.status)
}

/// `first`: every call's first attempt reaches the server, whatever the budget holds.
pub fn first(clients: &[(&str, &[Made])]) -> Option<Failure> {
    let rows: Vec<Row> = clients
        .iter()
        .flat_map(|(name, calls)| {
            calls.iter().enumerate().filter(|(_, made)| made.attempts.is_empty()).map(
                move |(call, made)| Row {
                    cells: vec![
                        format!("{name}, call {call}"),
                        "at least 1 request".into(),
                        format!("none; it returned {}", got(made)),
                    ],
                    ok: false,
                },
            )
        })
        .take(10)
        .collect();
    (!rows.is_empty()).then(|| {
        Failure::of("calls whose first attempt never reached the server")
            .with(table(&["call", "expected", "got"], rows))
    })
}

/// `at-once`: in an outage, every call returns at once after its last attempt: a refused retry
/// waits for nothing. A call that returned while the learner's process was held up too long to
/// tell ([`Lateness::too_busy`]) is set aside: beside four CPU hogs, a right answer's call came
/// back 160 ms late in three rounds running. A wait before giving up shows in every call.
pub fn at_once(calls: &[Made], lag: Duration, lateness: &Lateness) -> Option<Failure> {
    let gaps: Vec<(usize, &Made, Duration, Duration)> = calls
        .iter()
        .enumerate()
        .filter_map(|(call, made)| {
            let ended = made.attempts.last()?.ended?;
            let busy = lateness.too_busy(made.made_at + ended, made.made_at + made.returned);
            (!busy).then(|| (call, made, ended, made.returned.saturating_sub(ended)))
        })
        .collect();
    let row = |(call, made, ended, gap): &(usize, &Made, Duration, Duration)| Row {
        cells: vec![
            format!("call {call}"),
            format!("{} attempt(s), the last over at +{}", made.attempts.len(), millis(*ended)),
            format!("returned at +{} ({} later)", millis(made.returned), millis(*gap)),
        ],
        ok: false,
    };
    let late: Vec<Row> = gaps.iter().filter(|(.., gap)| *gap > AT_ONCE + lag).map(row).collect();
    if !late.is_empty() {
        return Some(
            Failure::of(format!(
                "{} of {} calls returned more than {} after their last attempt: a retry the \
                 budget refuses ends the call at once",
                late.len(),
                calls.len(),
                millis(AT_ONCE + lag)
            ))
            .with(table(&["call", "attempts", "returned"], late.into_iter().take(10).collect())),
        );
    }
    // Each within the lag a busy machine had, but together: a wait before giving up shows in
    // the mean even where the lag hid each one.
    let total: Duration = gaps.iter().map(|(.., gap)| *gap).sum();
    let mean = total / u32::try_from(gaps.len()).unwrap_or(u32::MAX).max(1);
    let mut slowest: Vec<_> = gaps.iter().collect();
    slowest.sort_by_key(|(.., gap)| std::cmp::Reverse(*gap));
    (mean > AT_ONCE_ON_AVERAGE).then(|| {
        Failure::of(format!(
            "{} calls returned {} on average after their last attempt (at most {} is at once): \
             a retry the budget refuses ends the call at once, without its wait",
            gaps.len(),
            millis(mean),
            millis(AT_ONCE_ON_AVERAGE)
        ))
        .with(table(
            &["call", "attempts", "returned"],
            slowest.into_iter().take(10).map(row).collect(),
        ))
    })
}

/// `partial`: one call in ten fails once; nearly all of them are retried and succeed.
pub fn partial(client: &Client, calls: &[Made]) -> Option<Failure> {
    let failing: Vec<(usize, &Made)> = calls
        .iter()
        .enumerate()
        .filter(|(call, _)| matches!(client.script[*call], Script::FailsOnce(..)))
        .collect();
    let recovered = failing.iter().filter(|(_, made)| status(made) == Some(200)).count();
    let healthy_wrong: Vec<Row> = calls
        .iter()
        .enumerate()
        .filter(|(call, made)| client.script[*call] == Script::Fine && status(made) != Some(200))
        .map(|(call, made)| Row {
            cells: vec![format!("call {call} (never fails)"), "200".into(), got(made)],
            ok: false,
        })
        .collect();
    let needed = (failing.len() as f64 * RECOVERED).ceil() as usize;
    // After the first third, what the calls before paid in leaves room for every retry: each
    // call that fails once (a 503, one asking Retry-After: 1, a reset) is retried to a 200.
    let later_lost = failing
        .iter()
        .find(|(call, made)| *call >= calls.len() / 3 && status(made) != Some(200))
        .map(|(call, _)| match client.script[*call] {
            Script::FailsOnce(Some(_), _) => "a 503 asking Retry-After: 1 (within max_delay)",
            Script::FailsOnce(_, true) => "a reset",
            _ => "a 503",
        });
    if recovered >= needed && healthy_wrong.is_empty() && later_lost.is_none() {
        return None;
    }
    let mut rows: Vec<Row> = failing
        .iter()
        .map(|(call, made)| Row {
            cells: vec![
                format!("call {call} (fails once)"),
                "200 after a retry".into(),
                format!("{} after {} attempt(s)", got(made), made.attempts.len()),
            ],
            ok: status(made) == Some(200),
        })
        .collect();
    rows.extend(healthy_wrong);
    Some(
        Failure::of(if let Some(failed) = later_lost {
            format!(
                "with {} calls and one in ten failing once, a call after the first third that \
                 got {failed} was not retried to a 200, with ratio {:.2} leaving room: a 5xx \
                 and a failure on the way are retried (after the Retry-After, when one asks)",
                calls.len(),
                client.budget.ratio
            )
        } else {
            format!(
                "with {} calls and one in ten failing once, {recovered} of the {} failing calls \
                 were retried to a 200 (at least {needed} should be: ratio {:.2} leaves room for \
                 them all)",
                calls.len(),
                failing.len(),
                client.budget.ratio
            )
        })
        .with(table(&["call", "expected", "got"], rows)),
    )
}

/// `window`, within one: the inside client's outage, most of a window after its healthy calls,
/// finds their deposits still paying for retries (no fewer than they and the floor allow).
pub fn inside(client: &Client, calls: &[Made]) -> Option<Failure> {
    let failing = calls.get(INSIDE_HEALTHY..)?;
    let (budget, policy) = (client.budget, client.policy);
    let wanted = failing.len() * (policy.max_attempts as usize - 1);
    let deposits = calls.iter().filter(|made| !made.attempts.is_empty()).count() as f64;
    // The floor counted as tower counts it, in whole seconds of the window: the least of the ways.
    let floor = f64::from(budget.min_per_second) * budget.window.as_secs_f64().floor().max(1.0);
    let least = (wanted as f64).min((budget.ratio * deposits + floor).floor()) - 1.0;
    let got: usize = failing.iter().map(|made| made.attempts.len().saturating_sub(1)).sum();
    ((got as f64) < least).then(|| {
        Failure::new(
            format!(
                "{} calls failing together, {} after {INSIDE_HEALTHY} healthy calls (within the \
                 {} window), got {got} retries; the budget had room for at least {least} (ratio \
                 {:.2} × {deposits} first attempts + {}/s): deposits younger than the window \
                 still count",
                failing.len(),
                millis(budget.window.mul_f64(INSIDE_AT)),
                millis(budget.window),
                budget.ratio,
                budget.min_per_second
            ),
            "A window shorter than the one configured (cut to whole seconds, say) forgets the \
             traffic that earned the retries, and refuses retries the budget was meant to allow.",
        )
    })
}

/// `window`: the windows client's later calls find the budget as the window says: what the
/// first calls paid in has left it (no more retries than these calls' own deposits and the
/// floor), and so have the first calls' retries (no fewer: the floor is whole again).
pub fn window(client: &Client, phases: Windows, calls: &[Made]) -> Option<Failure> {
    let retries = |calls: &[Made]| -> usize {
        calls.iter().map(|made| made.attempts.len().saturating_sub(1)).sum()
    };
    let later = calls.get(phases.later..)?;
    let earlier = &calls[..phases.later];
    let (budget, policy) = (client.budget, client.policy);
    let n = later.len() as f64;
    let wanted = later.len() * (policy.max_attempts as usize - 1);
    let seconds = budget.window.as_secs_f64();
    let floor = f64::from(budget.min_per_second);
    let held = held(budget.window, earlier, later);
    // Counted per window (m × window) or per second (a second more); tower counts whole seconds.
    let most = budget.ratio * n + floor * (seconds + 1.0) + WINDOW_SPARE;
    let least = (wanted as f64).min((budget.ratio * n + floor * seconds.floor().max(1.0)).floor())
        - 1.0
        - held as f64;
    let got = retries(later);
    let rows = vec![
        Row {
            cells: vec![
                format!(
                    "+{}: {} healthy calls, {} failing",
                    millis(super::round::WINDOWS_FROM),
                    phases.healthy,
                    phases.failing
                ),
                format!(
                    "{} first attempts, {} retries",
                    earlier.iter().filter(|made| !made.attempts.is_empty()).count(),
                    retries(earlier)
                ),
                if held == 0 {
                    "(left the window)".into()
                } else {
                    format!("{held} of its retries came late, and may still count")
                },
            ],
            ok: true,
        },
        Row {
            cells: vec![
                format!(
                    "+{}: {} calls failing together",
                    millis(super::round::later_at(budget.window)),
                    later.len()
                ),
                format!("{got} retries"),
                format!("{} to {}", least.max(0.0), most.floor()),
            ],
            ok: false,
        },
    ];
    let evidence = table(&["calls", "the server saw", "the budget allows"], rows);
    let rule = format!(
        "ratio {:.2} × {} first attempts + {}/s over a {} window",
        budget.ratio,
        later.len(),
        budget.min_per_second,
        millis(budget.window)
    );
    if got as f64 > most {
        return Some(
            Failure::of(format!(
                "{} calls failing together, a window after forty healthy calls, got {got} \
                 retries; the budget holds at most {} ({rule}): deposits older than the window \
                 still paid for retries",
                later.len(),
                most.floor()
            ))
            .with(evidence),
        );
    }
    ((got as f64) < least).then(|| {
        Failure::new(
            format!(
                "{} calls failing together, a window after an earlier outage, got {got} retries; \
                 the budget had room for at least {} ({rule}): what the earlier calls spent, \
                 and the floor, must come back as they leave the window",
                later.len(),
                least
            ),
            "A budget that only drains (a floor spent once, retries that never leave the \
             window) stops a client from retrying for good after its first outage, though \
             nothing is amplifying anything.",
        )
        .with(evidence)
    })
}

/// How many of the windows client's first retries a budget may still hold when its later calls
/// fail: on a busy machine the first calls' retries come late, and what a budget noted late
/// leaves its window late. A retry the server saw was asked for before; those seen a window or
/// more before the first later failure have surely left, and on a quiet machine all have.
fn held(window: Duration, earlier: &[Made], later: &[Made]) -> usize {
    let Some(failed) = later.iter().filter_map(|made| made.attempts.first()?.ended).min() else {
        return 0;
    };
    earlier
        .iter()
        .flat_map(|made| made.attempts.iter().skip(1))
        .filter(|retry| retry.at + window > failed)
        .count()
}

/// `window`, at the other end: a retry `max_attempts` forbids is never paid for. The ends
/// client's first wave has used all its attempts; the second, made while the budget still holds
/// about a wave, must find a retry for nearly every call that fails once.
pub fn ends(client: &Client, calls: &[Made]) -> Option<Failure> {
    let (first, second) = calls.split_at(ENDS_FIRST.min(calls.len()));
    let retried = second.iter().filter(|made| made.attempts.len() >= 2).count();
    let needed = second.len().saturating_sub(1);
    (retried < needed).then(|| {
        let spent: usize = first.iter().map(|made| made.attempts.len().saturating_sub(1)).sum();
        let rows = vec![
            Row {
                cells: vec![
                    format!(
                        "+0: {ENDS_WAVE} calls failing every time (max_attempts 2), {ENDS_WAVE} \
                         answered 404, {ENDS_WAVE} asking a Retry-After beyond max_delay"
                    ),
                    format!("{spent} retries"),
                    format!("{ENDS_WAVE}: one for each call failing every time"),
                ],
                ok: true,
            },
            Row {
                cells: vec![
                    format!("+250 ms: {} calls failing once", second.len()),
                    format!("{retried} retried"),
                    format!("at least {needed}"),
                ],
                ok: false,
            },
        ];
        Failure::new(
            format!(
                "{} calls failing once, a quarter of a second after {ENDS_WAVE} calls had used all \
                 their attempts (and {ENDS_WAVE} were answered 404, {ENDS_WAVE} asked for a \
                 Retry-After beyond max_delay), got {retried} retries; the budget (floor {}/s over \
                 a {} window, so about {} retries) had room for at least {needed}: a retry that \
                 max_attempts, a 4xx or a long Retry-After forbids was paid for anyway",
                second.len(),
                client.budget.min_per_second,
                millis(client.budget.window),
                client.budget.min_per_second
            ),
            "Ask the budget only for a retry you will make: check max_attempts, whether the \
             answer is retryable and whether its Retry-After is too long first. A withdrawal for a retry that never happens drains the \
             budget as a real retry would, and the calls after it go without.",
        )
        .with(table(&["calls", "the server saw", "the budget allows"], rows))
    })
}

/// `window`: the refusals client's last calls, each failing once, find room in the budget for
/// a retry each but one: what its first wave was refused took nothing from it.
pub fn refusals(client: &Client, calls: &[Made]) -> Option<Failure> {
    let later = calls.get(REFUSALS_FIRST + REFUSALS_HEALTHY..)?;
    let made: usize =
        calls[..REFUSALS_FIRST].iter().map(|made| made.attempts.len().saturating_sub(1)).sum();
    // What every first attempt paid in, less what the first calls spent. A busy machine may
    // send the first calls' retries after the healthy calls' deposits, which pay for more of
    // them and leave less: seen beside four CPU hogs, 26 retries made and 3 left.
    let first_attempts = calls.iter().filter(|made| !made.attempts.is_empty()).count();
    let room = (client.budget.ratio * first_attempts as f64).floor() as usize;
    let left = room.saturating_sub(made);
    let retried = later.iter().filter(|made| made.attempts.len() >= 2).count();
    let needed = later.len().saturating_sub(1).min(left.saturating_sub(1));
    (retried < needed).then(|| {
        Failure::new(
            format!(
                "{REFUSALS_FIRST} calls failing every time made {made} retries (the budget, a \
                 ratio of {:.2} and no floor, refused the rest); then {REFUSALS_HEALTHY} healthy \
                 calls, then {} calls failing once got {retried} retries, within one {} window: \
                 the budget had room for {left} ({room} for {first_attempts} first attempts, \
                 less the {made} retries made), so at least {needed} of them. A refused retry \
                 takes nothing from the budget",
                client.budget.ratio,
                later.len(),
                millis(client.budget.window)
            ),
            "Record a withdrawal only when the budget grants it. A refusal counted as a retry \
             drains the budget in exactly the outage it is meant to ride out, and the calls \
             after it go without.",
        )
    })
}

/// The shortest `d` whose waits are judged for spread (seen beside two CPU hogs: eight of the
/// inside client's waits under a `d` of 16 ms all came 20–21 ms after their failure).
const HERD_LEAST_D: Duration = Duration::from_millis(100);

/// Waits for one and the same `d` that did not spread, judged only when they come near `d`
/// (the longest past half of it, as any jitter's longest of six does, and a wait of `d` itself
/// does): waits that all stay far below `d` spread little against it whatever their jitter, and
/// are a backoff that never grew, which the rules client's reach says as what it is. Nor on a
/// `d` shorter than [`HERD_LEAST_D`]: a busy moment that holds a herd's timers up wakes them
/// all at once, and a jitter of a few milliseconds is lost in it.
fn herded(d: Duration, waits: &[Duration]) -> Option<String> {
    let longest = waits.iter().max()?;
    if waits.len() < JITTER_SAMPLES || *longest < d / 2 || d < HERD_LEAST_D {
        return None;
    }
    jittered(d, waits)
}

/// `lesson-3`: a 4xx is never retried, no call makes more than `max_attempts`, a `Retry-After`
/// is never cut short (nor retried when it asks for more than `max_delay`), and the backoff
/// waits, taken together, are what backoff allows. Single backoff waits are judged together
/// ([`growth`]): with two hundred calls in flight on a busy machine, any one wait may run late,
/// but not all of them, nor one in twenty past `late(d)` and the lag the machine had.
pub fn lesson_3(
    clients: &[(&str, &Client, &[Made])],
    lag: Duration,
    lateness: &Lateness,
) -> Option<Failure> {
    let mut rows = Vec::new();
    let mut samples = Vec::new();
    let mut rules_samples = Vec::new();
    let mut asked = Vec::new();
    let mut unjittered = Vec::new();
    for (name, client, calls) in clients {
        let mut own = Vec::new();
        for (call, made) in calls.iter().enumerate() {
            match broken(client, made) {
                Err(problem) => rows
                    .push(Row { cells: vec![format!("{name}, call {call}"), problem], ok: false }),
                Ok(waits) => {
                    own.extend(waits.backoff);
                    asked.extend(waits.asked);
                }
            }
        }
        let mut nominals: Vec<Duration> = own.iter().map(|timed| timed.sample.nominal).collect();
        nominals.sort();
        nominals.dedup();
        for d in nominals {
            let waits: Vec<Duration> = own
                .iter()
                .filter(|timed| timed.sample.nominal == d)
                .map(|timed| timed.sample.waited)
                .collect();
            if let Some(why) = herded(d, &waits) {
                unjittered.push(format!("{name}: {why}"));
            }
        }
        // The rules client's waits come while the others' outages keep the machine busiest: they
        // are judged apart (for their reach in [`super::rules`], and on their own for waits too
        // long), not pooled with the others' growth.
        if *name == RULES {
            // Past its first retries, which its sixteen calls make in one herd: crowded
            // together in the learner's process, they come late alike on a busy machine.
            let base = client.policy.base_delay;
            rules_samples.extend(own.into_iter().filter(|timed| timed.sample.nominal > base));
        } else {
            samples.extend(own);
        }
    }
    if !rows.is_empty() {
        return Some(
            Failure::of(format!("{} call(s) broke lesson 3's rules", rows.len()))
                .with(table(&["call", "what happened"], rows.into_iter().take(10).collect())),
        );
    }
    if let Some(why) = unjittered.first() {
        return Some(Failure::of(why.clone()));
    }
    if let Some(failure) = asked_too_long(&asked, lag, lateness) {
        return Some(failure);
    }
    // The rules client's pool has the longest `d`s, where a wait too long shows most.
    let too_long = |samples| too_long(samples, lag, lateness);
    if let Some(failure) = too_long(&samples).or_else(|| too_long(&rules_samples)) {
        return Some(failure);
    }
    growth(&samples.iter().map(|timed| timed.sample).collect::<Vec<_>>()).map(Failure::of)
}

/// Backoff waits longer than `d` allows, when too many of them are (at least `TOO_LONG_LEAST`,
/// and `TOO_LONG_SHARE` of those whose `d` is long enough to tell): one or two may have met a
/// busy moment; a backoff one doubling ahead puts a third of its waits there. A wait while the
/// learner's process was held up too long to tell ([`Lateness::too_busy`]) is set aside: CI's
/// slow tier, two judges at once, once stretched a right schedule's waits 60-400 ms past `d`
/// in three plays running.
fn too_long(samples: &[Timed], lag: Duration, lateness: &Lateness) -> Option<Failure> {
    let long: Vec<&Sample> = samples
        .iter()
        .filter(|timed| !lateness.too_busy(timed.from, timed.to))
        .map(|timed| &timed.sample)
        .filter(|sample| sample.nominal >= TOO_LONG_FROM)
        .collect();
    let over: Vec<&Sample> =
        long.iter().copied().filter(|s| past_backoff(s.waited, s.nominal, lag)).collect();
    if over.len() < TOO_LONG_LEAST || (over.len() as f64) < long.len() as f64 * TOO_LONG_SHARE {
        return None;
    }
    let rows = over
        .iter()
        .take(10)
        .map(|sample| Row {
            cells: vec![
                format!("at most {} (d)", millis(sample.nominal)),
                format!("waited {}", millis(sample.waited)),
            ],
            ok: false,
        })
        .collect();
    Some(
        Failure::of(format!(
            "{} of {} backoff waits of {} or more were longer than d (by more than {:.0} % and \
             {}, and the {} the machine's timers ran late): no wait may be longer than d = \
             min(max_delay, base_delay × 2^(n−1)); jitter goes below it",
            over.len(),
            long.len(),
            millis(TOO_LONG_FROM),
            LATE_RATE * 100.0,
            millis(late(Duration::ZERO)),
            millis(lag)
        ))
        .with(table(&["backoff allows", "the client"], rows)),
    )
}

/// Waits a `Retry-After` set that ran past `late(asked)`, the lag, and what the learner's code
/// was held up by meanwhile, when there are enough of them: the asked wait replaces the
/// backoff, nothing goes on top. A wait during which the learner's code was held up past
/// [`MOST_LATE`] is not judged: that machine is too busy to tell.
fn asked_too_long(asked: &[Timed], lag: Duration, lateness: &Lateness) -> Option<Failure> {
    let judged: Vec<(&Timed, Duration)> = asked
        .iter()
        .map(|one| (one, lateness.during(one.from, one.to)))
        .filter(|(_, held)| *held < MOST_LATE)
        .collect();
    let over: Vec<&Sample> = judged
        .iter()
        .filter(|(one, held)| {
            let bound = Wait::Asked(one.sample.nominal).bound().later_by(lag + *held);
            bound.judge(one.sample.waited) == Timing::Late
        })
        .map(|(one, _)| &one.sample)
        .collect();
    let enough = (judged.len() as f64 * ASKED_TOO_LONG_SHARE).max(ASKED_TOO_LONG_LEAST as f64);
    ((over.len() as f64) >= enough).then(|| {
        let rows = over
            .iter()
            .take(10)
            .map(|sample| Row {
                cells: vec![
                    format!("Retry-After: {} s", sample.nominal.as_secs()),
                    format!("waited {}", millis(sample.waited)),
                ],
                ok: false,
            })
            .collect();
        Failure::of(format!(
            "{} of {} waits a Retry-After asked for were longer than asked (by more than {:.0} % \
             and {}, and the {} the machine's timers ran late, and what held your code up \
             meanwhile): a Retry-After replaces the backoff, it is not added to it",
            over.len(),
            judged.len(),
            LATE_RATE * 100.0,
            millis(late(Duration::ZERO)),
            millis(lag)
        ))
        .with(table(&["the server asked", "the client"], rows))
    })
}

/// A wait as measured, and when it was (from the answer before it to the retry after it).
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    pub sample: Sample,
    pub from: Instant,
    pub to: Instant,
}

/// A call's waits before its retries, as measured: the backoff ones, and those a `Retry-After`
/// set (its `nominal` what was asked).
#[derive(Debug, Default)]
pub struct Waits {
    pub backoff: Vec<Timed>,
    /// The backoff waits after a 5xx, again.
    pub after_a_5xx: Vec<Sample>,
    /// The backoff waits after an attempt that got no response (a reset, a timeout), again.
    pub after_no_response: Vec<Sample>,
    /// Those a `Retry-After` set, each `nominal` what was asked.
    pub asked: Vec<Timed>,
}

/// What is wrong with one call's retries, or its waits, measured.
pub fn broken(client: &Client, made: &Made) -> Result<Waits, String> {
    if let Err(NoOutcome::Panicked(problem)) = &made.got {
        return Err(format!(
            "it panicked ({problem}): a call hands back the last outcome as it came, a response \
             or an error"
        ));
    }
    // However the call ends (out of attempts, refused a retry, a 4xx), what it hands back is
    // what the last attempt got.
    if let (Some(last), Ok(got)) = (made.attempts.last(), &made.got) {
        let got_status = got.as_ref().ok().map(|response| response.status);
        let last_status = last.reply.status_code();
        if got_status != last_status {
            let shown =
                |status: Option<u16>| status.map_or("no response".into(), |s| s.to_string());
            return Err(format!(
                "it returned {}, but its last attempt got {}: a call hands back the last outcome \
                 as it came",
                shown(got_status),
                shown(last_status)
            ));
        }
    }
    let policy = &client.policy;
    if made.attempts.len() > policy.max_attempts as usize {
        return Err(format!(
            "{} attempts; max_attempts is {}",
            made.attempts.len(),
            policy.max_attempts
        ));
    }
    let mut waits = Waits::default();
    for (index, pair) in made.attempts.windows(2).enumerate() {
        let [before, after] = pair else { continue };
        let n = index as u32 + 1;
        if let Some(status) = before.reply.status_code().filter(|status| *status < 500) {
            return Err(format!("attempt {n} was answered {status}, and retried"));
        }
        let Some(ended) = before.ended else { continue };
        let waited = after.at.saturating_sub(ended);
        match retry_after(&before.reply) {
            Some(seconds) if Duration::from_secs(seconds) > policy.max_delay => {
                return Err(format!(
                    "attempt {n} was a {} asking Retry-After: {seconds} s, more than max_delay \
                     ({}), and it was retried: such an answer is returned at once",
                    before.reply.status_code().unwrap_or_default(),
                    millis(policy.max_delay)
                ));
            }
            Some(seconds) => {
                let asked = Wait::Asked(Duration::from_secs(seconds));
                if waited < asked.bound().at_least {
                    return Err(format!(
                        "waited {} before retry {n}, though the {} asked Retry-After: {seconds} \
                         s (max_delay {}): a Retry-After on any 5xx replaces the backoff",
                        millis(waited),
                        before.reply.status_code().unwrap_or_default(),
                        millis(policy.max_delay)
                    ));
                }
                waits.asked.push(Timed {
                    sample: Sample::new(waited, asked.nominal()),
                    from: made.made_at + ended,
                    to: made.made_at + after.at,
                });
            }
            // Judged together: lateness averages out over many waits, where the worst lag
            // added to each would hide a wait that is always too long.
            None => {
                let sample = Sample::new(waited, backoff(policy, n));
                match before.reply.status_code() {
                    Some(_) => waits.after_a_5xx.push(sample),
                    None => waits.after_no_response.push(sample),
                }
                waits.backoff.push(Timed {
                    sample,
                    from: made.made_at + ended,
                    to: made.made_at + after.at,
                });
            }
        }
    }
    Ok(waits)
}

pub fn retry_after(reply: &Reply) -> Option<u64> {
    let Reply::Respond { headers, .. } = reply else { return None };
    headers.iter().find(|(name, _)| name == "retry-after").and_then(|(_, value)| value.parse().ok())
}

/// `shared`: calls made together are in flight together at the server.
pub fn shared(calls: &[Made]) -> Option<Failure> {
    let spans: Vec<(Duration, Duration)> = calls
        .iter()
        .filter_map(|made| {
            made.attempts.first().map(|first| (first.at, first.ended.unwrap_or(Duration::MAX)))
        })
        .collect();
    let most = spans
        .iter()
        .map(|(start, _)| spans.iter().filter(|(from, to)| from <= start && start < to).count())
        .max()
        .unwrap_or(0);
    let needed = (calls.len() as f64 * TOGETHER).ceil() as usize;
    (most < needed).then(|| {
        let rows = calls
            .iter()
            .enumerate()
            .map(|(call, made)| Row {
                cells: vec![
                    format!("call {call}"),
                    made.attempts.first().map_or("never arrived".into(), |first| {
                        format!(
                            "+{} → +{}",
                            millis(first.at),
                            first.ended.map_or("still open".into(), millis)
                        )
                    }),
                ],
                ok: true,
            })
            .collect();
        Failure::of(format!(
            "{} calls made at the same moment, each answered after 150 ms: at most {most} were in \
             flight at once at the server (at least {needed} should be)",
            calls.len()
        ))
        .with(table(&["call", "at the server"], rows))
    })
}

/// `fresh`: a client made while others have spent their budgets has its own: its one failing
/// call is retried.
pub fn fresh(calls: &[Made]) -> Option<Failure> {
    let made = calls.first()?;
    (made.attempts.len() < 2 || status(made) != Some(200)).then(|| {
        Failure::of(format!(
            "a BudgetedClient made a moment ago, whose first call failed once while other \
             clients' outages had spent their budgets, sent {} attempt(s) and returned {}: a new \
             client starts with a budget of its own",
            made.attempts.len(),
            got(made)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::super::round::Attempt;
    use super::*;
    use crate::judge::bounds::QUIET_LAG;
    use crate::judge::upstream::Reply;

    /// A call whose one attempt ended at 100 ms and which returned `gap` later.
    fn call(gap: u64) -> Made {
        let ended = Duration::from_millis(100);
        Made {
            made_at: Instant::now(),
            returned: ended + Duration::from_millis(gap),
            got: Err(NoOutcome::Unexpected),
            attempts: vec![Attempt {
                at: Duration::ZERO,
                ended: Some(ended),
                reply: Reply::status(503),
            }],
        }
    }

    #[test]
    fn waits_that_never_came_near_d_are_not_called_unjittered() {
        let ms =
            |waits: &[u64]| waits.iter().copied().map(Duration::from_millis).collect::<Vec<_>>();
        let d = Duration::from_millis(618);
        // A backoff that never grew, fully jittered below base_delay: CI's seed 340045796.
        assert_eq!(herded(d, &ms(&[22, 90, 41, 77, 35, 60, 88, 51, 29, 70])), None);
        assert!(herded(d, &ms(&[612, 620, 618, 625, 619, 630])).is_some());
        assert_eq!(herded(d, &ms(&[612, 620, 618, 625, 619])), None, "too few to tell");
        assert_eq!(herded(d, &ms(&[40, 580, 310, 122, 455, 260])), None);
        let short = Duration::from_millis(16);
        assert_eq!(herded(short, &ms(&[20, 21, 20, 21, 20, 20, 21, 20])), None, "held up alike");
    }

    #[test]
    fn waits_before_giving_up_show_in_the_mean_when_the_lag_hides_each() {
        let (lag, quiet) = (Duration::from_millis(200), Lateness::default());
        let sleepers: Vec<Made> = [5, 180, 90, 220, 10, 140].map(call).to_vec();
        let failed = at_once(&sleepers, lag, &quiet);
        assert!(failed.is_some_and(|failure| failure.summary.contains("average")));
        let busy: Vec<Made> = [5, 12, 140, 8, 30, 3].map(call).to_vec();
        assert_eq!(at_once(&busy, lag, &quiet), None);
        assert!(at_once(&busy, Duration::ZERO, &quiet).is_none());
        assert!(at_once(&[call(400)], lag, &quiet).is_some());
    }

    /// A call of the refusals client that made `attempts` attempts.
    fn attempted(attempts: usize) -> Made {
        let attempt =
            Attempt { at: Duration::ZERO, ended: Some(Duration::ZERO), reply: Reply::status(503) };
        Made { attempts: vec![attempt; attempts], ..call(0) }
    }

    #[test]
    fn the_refusals_clients_last_calls_need_what_the_first_left_them() {
        let plan = super::super::round::Plan::draw(&mut fastrand::Rng::with_seed(7));
        let client = &plan.clients.refusals;
        // `first` retries made by the calls failing every time (of 60 asked for), and `last`
        // by the eight failing once: 29 in all for 58 first attempts.
        let played = |first: usize, last: usize| -> Vec<Made> {
            let first = (0..REFUSALS_FIRST)
                .map(|call| attempted(1 + first / 20 + usize::from(call < first % 20)));
            let healthy = (0..REFUSALS_HEALTHY).map(|_| attempted(1));
            let last = (0..8).map(|call| attempted(1 + usize::from(call < last)));
            first.chain(healthy).chain(last).collect()
        };
        // Quiet: the first calls' ten retries leave nineteen; every one of the eight is retried,
        // or all but one.
        assert_eq!(refusals(client, &played(10, 8)), None);
        assert_eq!(refusals(client, &played(10, 7)), None);
        // Refusals counted as withdrawals: none left.
        assert!(refusals(client, &played(10, 0)).is_some());
        assert!(refusals(client, &played(10, 6)).is_some());
        // Busy: the first calls' retries came after the healthy calls paid in, and spent 26 of
        // the 29; the three left are the eight's.
        assert_eq!(refusals(client, &played(26, 3)), None);
        assert_eq!(refusals(client, &played(26, 2)), None);
        assert!(refusals(client, &played(26, 1)).is_some());
    }

    #[test]
    fn a_call_back_late_while_the_learner_was_held_up_is_set_aside() {
        let late = [call(400)];
        assert!(at_once(&late, Duration::ZERO, &Lateness::default()).is_some());
        let mut held_up = Lateness::default();
        held_up.note(late[0].made_at + Duration::from_millis(100), Duration::from_millis(40));
        assert_eq!(at_once(&late, Duration::ZERO, &held_up), None);
        let mut quick_probe = Lateness::default();
        quick_probe.note(late[0].made_at + Duration::from_millis(100), Duration::from_millis(3));
        assert!(at_once(&late, Duration::ZERO, &quick_probe).is_some());
    }

    /// The rules client's waits past its first retries (`d` of 280 and 560 ms, thirteen each,
    /// a second at most), drawn `over` times `d`, each 3 ms late, a second apart from `start`.
    fn rules_waits(seed: u64, over: f64, start: Instant) -> Vec<Timed> {
        let mut rng = fastrand::Rng::with_seed(seed);
        [280, 560]
            .into_iter()
            .flat_map(|d| std::iter::repeat_n(Duration::from_millis(d), 13))
            .zip(0..)
            .map(|(d, n)| {
                let most = d.mul_f64(over).min(Duration::from_secs(1));
                let waited = most.mul_f64(rng.f64()) + Duration::from_millis(3);
                let from = start + Duration::from_secs(n);
                Timed { sample: Sample::new(waited, d), from, to: from + waited }
            })
            .collect()
    }

    #[test]
    fn the_rules_clients_long_waits_tell_a_backoff_one_doubling_ahead_on_a_busy_round() {
        let (lag, start) = (QUIET_LAG, Instant::now());
        let quiet = Lateness::default();
        let mut held_up = Lateness::default();
        for n in 0..30 {
            held_up.note(start + Duration::from_secs(n), Duration::from_millis(40));
        }
        for seed in 0..20 {
            let (ahead, right) = (rules_waits(seed, 2.0, start), rules_waits(seed, 1.0, start));
            assert!(too_long(&ahead, lag, &quiet).is_some(), "seed {seed}");
            assert_eq!(too_long(&right, lag, &quiet), None, "seed {seed}");
            assert_eq!(too_long(&right, Duration::ZERO, &quiet), None, "seed {seed}");
            assert_eq!(too_long(&ahead, lag, &held_up), None, "too busy to tell, seed {seed}");
        }
    }
}
