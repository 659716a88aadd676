//! The twin client: the same client made in each of two learner processes before anything else
//! runs there, and called the same way in both. A generator seeded with a constant makes both
//! wait alike, call by call; and with `max_delay` just above `base_delay`, an uncapped backoff
//! shows in every second retry.

use std::time::Duration;

use httplings::RetryPolicy;
use httplings::lessons::retry_budget::Budget;

use super::round::{self, Client, Script};
use crate::judge::bounds::{ALIKE_BETWEEN_PROCESSES, LATE_RATE, late, millis};
use crate::judge::schedule::backoff;
use crate::judge::seed::{self, Rng};
use crate::judge::{Evidence, Failure, Learner, Lost, Row};

/// How many calls the twin makes in each process.
const CALLS: u32 = 20;

/// How far apart the twin's calls start: more than a busy machine reorders two failures by, so
/// that the calls draw their jitter in the same order in both processes.
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
        policy: RetryPolicy { max_attempts: 3, base_delay: base, max_delay: base.mul_f64(1.1) },
        budget: Budget { ratio: 1.0, min_per_second: 40, window: Duration::from_secs(1) },
        calls: (0..CALLS).map(|call| GAP * call).collect(),
        script: vec![Script::Down(503); CALLS as usize],
    }
}

/// One wait of the twin's: before retry `retry` of call `call`, if that retry came.
#[derive(Debug, Clone, Copy)]
pub struct Waited {
    pub call: usize,
    pub retry: u32,
    pub waited: Option<Duration>,
}

/// The twin's backoff waits as played in `learner` (client `id`), call by call and retry by
/// retry; `None` when `new` failed.
pub async fn waits(
    learner: &Learner,
    client: &Client,
    id: u32,
) -> Result<Option<Vec<Waited>>, Lost> {
    let Ok(calls) = round::play_client(learner, client, id).await? else { return Ok(None) };
    let waits = calls
        .iter()
        .enumerate()
        .flat_map(|(call, made)| {
            (1..client.policy.max_attempts).map(move |retry| {
                let before = made.attempts.get(retry as usize - 1);
                let after = made.attempts.get(retry as usize);
                let waited = before
                    .zip(after)
                    .and_then(|(before, after)| Some(after.at.saturating_sub(before.ended?)));
                Waited { call, retry, waited }
            })
        })
        .collect();
    Ok(Some(waits))
}

/// The twin's verdict from both processes' waits: too long, or drawn alike.
pub fn judge(
    policy: &RetryPolicy,
    lag: Duration,
    first: &[Waited],
    second: &[Waited],
) -> Option<Failure> {
    too_long(policy, lag, first, second).or_else(|| alike(first, second))
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
                one.waited.filter(|waited| *waited > late(d) + lag).map(|_| (*one, d))
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

/// Half the waits or more the same, call by call and retry by retry, in both processes.
fn alike(first: &[Waited], second: &[Waited]) -> Option<Failure> {
    let pairs: Vec<(Waited, Duration, Duration)> = first
        .iter()
        .zip(second)
        .filter_map(|(one, other)| Some((*one, one.waited?, other.waited?)))
        .collect();
    let alike = pairs
        .iter()
        .filter(|(_, one, other)| one.abs_diff(*other) <= ALIKE_BETWEEN_PROCESSES)
        .count();
    (pairs.len() >= first.len() * 4 / 5 && alike * 2 >= first.len()).then(|| {
        let rows = pairs
            .iter()
            .take(10)
            .map(|(waited, one, other)| Row {
                cells: vec![
                    format!("call {}, retry {}", waited.call, waited.retry),
                    millis(*one),
                    millis(*other),
                ],
                ok: false,
            })
            .collect();
        Failure::of(format!(
            "two processes running your code each made the same client first thing and made the \
             same {CALLS} calls, one after another; {alike} of their {} waits were the same in \
             both (within {}). The jitter comes from a generator seeded with a constant, so every \
             instance of the client retries in step with every other",
            first.len(),
            millis(ALIKE_BETWEEN_PROCESSES),
        ))
        .with(Evidence::Table {
            columns: ["wait", "in one", "in the other"].map(String::from).to_vec(),
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
            })
            .collect()
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
        assert!(alike(&drawn(1, 0), &drawn(1, 3)).is_some());
        assert!(alike(&drawn(1, 0), &drawn(2, 0)).is_none());
        assert_eq!(judge(&policy(), Duration::ZERO, &drawn(1, 0), &drawn(2, 0)), None);
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
