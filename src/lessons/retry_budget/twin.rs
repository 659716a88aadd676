//! The twin client: the same client made in each of two learner processes before anything else
//! runs there, and called the same way in both. A generator seeded with a constant makes both
//! wait alike, draw by draw; and with `max_delay` just above `base_delay`, an uncapped backoff
//! shows in every second retry. Last come two calls whose 503 asks for more than `max_delay`:
//! with the twin's budget ample, a client that retries them cannot hide behind a budget empty
//! at that moment.

use std::time::Duration;

use httplings::RetryPolicy;
use httplings::lessons::retry_budget::Budget;

use super::round::{self, Client, Script};
use crate::judge::bounds::{ALIKE_BETWEEN_PROCESSES, LATE_RATE, late, millis};
use crate::judge::schedule::{self, Sample, backoff, past_backoff};
use crate::judge::seed::{self, Rng};
use crate::judge::{Evidence, Failure, Learner, Lost, Row};

/// How many calls the twin makes in each process.
const CALLS: u32 = 20;

/// Calls made after the twenty, whose 503 asks in `Retry-After` for more than `max_delay`.
const ASKING: u32 = 2;

/// How far apart the twin's calls start: more than a busy machine usually reorders two failures
/// by, so that the calls draw their jitter in much the same order in both processes (waits are
/// paired in the order their failures came, which survives a reordering too).
const GAP: Duration = Duration::from_millis(10);

/// Waits past `late(d)` and the lag, over both processes, that make the backoff too long (and
/// at least one in each: a busy moment in one process is not believed alone). An uncapped
/// backoff puts a third of the second retries' waits there; the reference none in 300 beside
/// five CPU hogs.
const TOO_LONG: usize = 4;

/// Twenty calls made one after another, each failing every time, with room in the budget to
/// retry them all twice. Each process draws its jitter for the calls in the order they fail,
/// the same in both. `max_delay` is a tenth above `base_delay`: the second retry's `d` is
/// capped, where `base_delay × 2` would be nearly twice as long.
pub fn draw(rng: &mut Rng) -> Client {
    let base = seed::duration_spread(rng, Duration::from_millis(200), Duration::from_millis(250));
    Client {
        timeout: round::TIMEOUT,
        refuses_for: None,
        policy: RetryPolicy { max_attempts: 3, base_delay: base, max_delay: base.mul_f64(1.1) },
        budget: Budget { ratio: 1.0, min_per_second: 40, window: Duration::from_secs(1) },
        calls: (0..CALLS + ASKING).map(|call| GAP * call).collect(),
        script: (0..CALLS + ASKING)
            .map(|call| if call < CALLS { Script::Down(503) } else { Script::DownAsking(1) })
            .collect(),
    }
}

/// The twin as one process played it.
#[derive(Debug, Clone)]
pub struct Played {
    /// The backoff waits of the calls that fail every time, call by call, retry by retry.
    pub waits: Vec<Waited>,
    /// How many attempts each call asked for more than `max_delay` made.
    pub asked_too_long: Vec<usize>,
}

/// One wait of the twin's: before retry `retry` of call `call`, if that retry came, and when
/// the failure before it ended (about when the client drew its jitter).
#[derive(Debug, Clone, Copy)]
pub struct Waited {
    pub call: usize,
    pub retry: u32,
    pub waited: Option<Duration>,
    pub failed: Option<Duration>,
}

/// The twin as played in `learner` (client `id`); `None` when `new` failed.
pub async fn play(learner: &Learner, client: &Client, id: u32) -> Result<Option<Played>, Lost> {
    let Ok(calls) = round::play_client(learner, client, id).await? else { return Ok(None) };
    let asked_too_long = calls[CALLS as usize..].iter().map(|made| made.attempts.len()).collect();
    let waits = calls[..CALLS as usize]
        .iter()
        .enumerate()
        .flat_map(|(call, made)| {
            (1..client.policy.max_attempts).map(move |retry| {
                let before = made.attempts.get(retry as usize - 1);
                let after = made.attempts.get(retry as usize);
                let failed = before.and_then(|before| before.ended);
                let waited =
                    after.zip(failed).map(|(after, failed)| after.at.saturating_sub(failed));
                Waited { call, retry, waited, failed }
            })
        })
        .collect();
    Ok(Some(Played { waits, asked_too_long }))
}

/// The twin's verdict from both processes: a `Retry-After` over `max_delay` retried, waits too
/// long, or drawn alike.
pub fn judge(
    policy: &RetryPolicy,
    lag: Duration,
    first: &Played,
    second: &Played,
) -> Option<Failure> {
    asked_too_long(policy, first)
        .or_else(|| asked_too_long(policy, second))
        .or_else(|| too_long(policy, lag, &first.waits, &second.waits))
        .or_else(|| alike(policy, &first.waits, &second.waits))
        .or_else(|| one_share_per_call(policy, &first.waits))
        .or_else(|| one_share_per_call(policy, &second.waits))
}

/// Each call's two waits the same share of their bounds, call after call: the share is drawn
/// once per call and reused (with `max_delay` a tenth above `base_delay`, the second wait is
/// then the first's times 1.1).
fn one_share_per_call(policy: &RetryPolicy, waits: &[Waited]) -> Option<Failure> {
    let calls: Vec<Vec<Sample>> = (0..CALLS as usize)
        .map(|call| {
            let waited = |retry| waits.iter().find(|one| one.call == call && one.retry == retry);
            (1..=2)
                .filter_map(|retry| {
                    Some(Sample::new(waited(retry)?.waited?, backoff(policy, retry)))
                })
                .collect()
        })
        .collect();
    schedule::drawn_afresh(&calls, schedule::TWO_WAITS).map(Failure::of)
}

/// A call whose 503 asked for more than `max_delay`, retried all the same.
fn asked_too_long(policy: &RetryPolicy, played: &Played) -> Option<Failure> {
    let attempts = played.asked_too_long.iter().copied().find(|attempts| *attempts > 1)?;
    Some(Failure::of(format!(
        "a call whose first attempt was a 503 asking Retry-After: 1 s, more than max_delay ({}), \
         made {attempts} attempts, with room in the budget: such an answer is returned at once",
        millis(policy.max_delay)
    )))
}

/// Waits longer than `d = min(max_delay, base_delay × 2^(n−1))` allows, in both processes.
fn too_long(
    policy: &RetryPolicy,
    lag: Duration,
    first: &[Waited],
    second: &[Waited],
) -> Option<Failure> {
    let over = |waits: &[Waited]| -> Vec<(Waited, Duration)> {
        waits
            .iter()
            .filter_map(|one| {
                let d = backoff(policy, one.retry);
                one.waited.filter(|waited| past_backoff(*waited, d, lag)).map(|_| (*one, d))
            })
            .collect()
    };
    let (one, other) = (over(first), over(second));
    if one.is_empty() || other.is_empty() || one.len() + other.len() < TOO_LONG {
        return None;
    }
    let rows = one
        .iter()
        .chain(&other)
        .take(10)
        .map(|(waited, d)| Row {
            cells: vec![
                format!("call {}, retry {}", waited.call, waited.retry),
                format!("at most {}", millis(*d)),
                format!("waited {}", waited.waited.map_or_else(String::new, millis)),
            ],
            ok: false,
        })
        .collect();
    Some(
        Failure::of(format!(
            "{CALLS} calls in each of two processes, each retried twice (base_delay {}, max_delay \
             {}): {} and {} waits were longer than d allows (by more than {:.0} % and {}, and the \
             {} the machine's timers ran late). The wait before retry n is at most d = \
             min(max_delay, base_delay × 2^(n−1)), jitter below it",
            millis(policy.base_delay),
            millis(policy.max_delay),
            one.len(),
            other.len(),
            LATE_RATE * 100.0,
            millis(late(Duration::ZERO)),
            millis(lag)
        ))
        .with(Evidence::Table {
            columns: ["wait", "backoff allows", "the client"].map(String::from).to_vec(),
            rows,
        }),
    )
}

/// Half the waits or more drawn alike in both processes. Waits are paired in the order the
/// failures before them ended, the order a client draws its jitter in: a generator seeded with
/// a constant gives the n-th draw the same value in both, whichever call a busy moment made
/// fail n-th. Each is compared as the share of its `d` it took.
fn alike(policy: &RetryPolicy, first: &[Waited], second: &[Waited]) -> Option<Failure> {
    let drawn = |waits: &[Waited]| -> Vec<(Waited, Duration)> {
        let mut drawn: Vec<(Waited, Duration)> =
            waits.iter().filter_map(|one| Some((*one, one.waited?))).collect();
        drawn.sort_by_key(|(one, _)| one.failed);
        drawn
    };
    let share = |one: &Waited, waited: Duration| {
        waited.as_secs_f64() / backoff(policy, one.retry).as_secs_f64()
    };
    let pairs: Vec<((Waited, Duration), (Waited, Duration))> =
        drawn(first).into_iter().zip(drawn(second)).collect();
    let within = |((one, a), (other, b)): &((Waited, Duration), (Waited, Duration))| {
        let d = backoff(policy, one.retry).min(backoff(policy, other.retry));
        (share(one, *a) - share(other, *b)).abs() * d.as_secs_f64()
            <= ALIKE_BETWEEN_PROCESSES.as_secs_f64()
    };
    let alike = pairs.iter().filter(|pair| within(pair)).count();
    (pairs.len() >= first.len() * 4 / 5 && alike * 2 >= first.len()).then(|| {
        let rows = pairs
            .iter()
            .take(10)
            .map(|((one, a), (other, b))| Row {
                cells: vec![
                    format!("call {}, retry {}: {}", one.call, one.retry, millis(*a)),
                    format!("call {}, retry {}: {}", other.call, other.retry, millis(*b)),
                ],
                ok: false,
            })
            .collect();
        Failure::of(format!(
            "two processes running your code each made the same client first thing and made the \
             same {CALLS} calls, one after another; {alike} of their {} waits, taken in the order \
             the failures came, were the same share of their bound in both (within {}). The \
             jitter comes from a generator seeded with a constant (or the process id, 1 in \
             every container), so every instance of the client retries in step with every other",
            first.len(),
            millis(ALIKE_BETWEEN_PROCESSES),
        ))
        .with(Evidence::Table {
            columns: ["in one", "in the other"].map(String::from).to_vec(),
            rows,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        let base = Duration::from_millis(200);
        RetryPolicy { max_attempts: 3, base_delay: base, max_delay: base.mul_f64(1.1) }
    }

    /// Forty waits, call by call, from `wait(call, retry)` in milliseconds.
    fn waits(wait: impl Fn(usize, u32) -> u64) -> Vec<Waited> {
        (0..CALLS as usize)
            .flat_map(|call| (1..3).map(move |retry| (call, retry)))
            .map(|(call, retry)| Waited {
                call,
                retry,
                waited: Some(Duration::from_millis(wait(call, retry))),
                failed: Some(failed(call, retry)),
            })
            .collect()
    }

    /// When the failure before a wait ended: calls 10 ms apart, second retries after the first.
    fn failed(call: usize, retry: u32) -> Duration {
        Duration::from_millis(call as u64 * 10 + u64::from(retry - 1) * 1_000)
    }

    /// A deterministic spread in [0, 1): the same for the same inputs.
    fn spread(call: usize, retry: u32, salt: u64) -> f64 {
        let x = (call as u64 * 7919 + u64::from(retry) * 104_729 + salt * 1_299_709) % 1000;
        x as f64 / 1000.0
    }

    #[test]
    fn the_same_draws_in_both_processes_are_alike_and_other_draws_are_not() {
        let d = |retry: u32| backoff(&policy(), retry).as_millis() as f64;
        let drawn = |salt: u64, noise: u64| {
            waits(move |call, retry| (d(retry) * spread(call, retry, salt)) as u64 + noise)
        };
        assert!(alike(&policy(), &drawn(1, 0), &drawn(1, 3)).is_some());
        assert!(alike(&policy(), &drawn(1, 0), &drawn(2, 0)).is_none());
        let played = |waits| Played { waits, asked_too_long: vec![1; ASKING as usize] };
        let (one, other) = (played(drawn(1, 0)), played(drawn(2, 0)));
        assert_eq!(judge(&policy(), Duration::ZERO, &one, &other), None);
        let retried = Played { asked_too_long: vec![1, 3], ..other.clone() };
        let failure = judge(&policy(), Duration::ZERO, &one, &retried);
        assert!(failure.is_some_and(|failure| failure.summary.contains("made 3 attempts")));
    }

    #[test]
    fn draws_alike_stay_alike_however_a_busy_moment_reorders_the_failures() {
        // The n-th draw is the same in both; in the second process the calls failed in the
        // reverse order, so each took the draw of the call at the mirror place.
        let d = |retry: u32| backoff(&policy(), retry).as_millis() as f64;
        let nth = |call: usize, retry: u32| spread(call, retry, 1);
        let mirror = |call: usize| CALLS as usize - 1 - call;
        let one = waits(|call, retry| (d(retry) * nth(call, retry)) as u64);
        let mut other = waits(|call, retry| (d(retry) * nth(mirror(call), retry)) as u64);
        for wait in &mut other {
            wait.failed = Some(failed(mirror(wait.call), wait.retry));
        }
        assert!(alike(&policy(), &one, &other).is_some());
    }

    #[test]
    fn one_share_reused_for_both_waits_of_a_call_is_seen_and_fresh_draws_are_not() {
        let d = |retry: u32| backoff(&policy(), retry).as_millis() as f64;
        // A share per call, a few milliseconds of scheduling on top.
        let reused = waits(|call, retry| (d(retry) * spread(call, 1, 1)) as u64 + 3);
        let failure = one_share_per_call(&policy(), &reused);
        assert!(failure.is_some_and(|failure| failure.summary.contains("drawn once per call")));
        // Draws afresh, from a thousand seeds: equal jitter, whose draws are the closest.
        for seed in 0..1_000 {
            let rng = std::cell::RefCell::new(seed::rng(seed));
            let equal = waits(|_, retry| (d(retry) * (0.5 + rng.borrow_mut().f64() / 2.0)) as u64);
            assert_eq!(one_share_per_call(&policy(), &equal), None, "seed {seed}");
        }
    }

    #[test]
    fn waits_past_the_cap_in_both_processes_are_too_long() {
        let uncapped = |salt: u64| {
            waits(move |call, retry| {
                let d = 200.0 * f64::from(1 << (retry - 1));
                (d * spread(call, retry, salt)) as u64
            })
        };
        let failure = too_long(&policy(), Duration::ZERO, &uncapped(1), &uncapped(2));
        assert!(failure.is_some_and(|failure| failure.summary.contains("longer than d")));
        // Past the cap in one process only: a busy moment there, not believed.
        let capped = waits(|call, retry| {
            (backoff(&policy(), retry).as_millis() as f64 * spread(call, retry, 3)) as u64
        });
        assert_eq!(too_long(&policy(), Duration::ZERO, &uncapped(1), &capped), None);
    }
}
