//! Verdicts on a budget at its edges: asked long after a call set out, asked after a refused
//! connection, and set to allow nothing.

use std::time::Duration;

use super::round::{
    Client, LATE_ANSWERED, LATE_CALLS, LATE_FROM, LATE_HEALTHY, Made, REFUSED_FOR, REPAID_WAVE,
};
use crate::judge::bounds::millis;
use crate::judge::{Evidence, Failure, Row};

fn retries(calls: &[Made]) -> usize {
    calls.iter().map(|made| made.attempts.len().saturating_sub(1)).sum()
}

/// Retries a ratio allows for `deposits` first attempts, with no floor: whole ones, rounded
/// down (as a budget in whole retries, or tower's, counts them).
fn share(client: &Client, deposits: usize) -> usize {
    (client.budget.ratio * deposits as f64).floor() as usize
}

/// `window`: the late client's failing calls ask the budget 1.2 windows after its healthy
/// calls and 0.7 of one after they set out, and find exactly their own share. The bounds follow
/// what the server saw: a healthy call whose first attempt came less than a window before the
/// first failing answer may still count, and a failing call that ended a window or more after
/// it set out may not (neither happens unless the machine ran hundreds of milliseconds late).
pub fn late(client: &Client, calls: &[Made]) -> Option<Failure> {
    let (healthy, failing) = calls.split_at(LATE_HEALTHY.min(calls.len()));
    let window = client.budget.window;
    let first_answer = failing.iter().filter_map(|made| made.attempts.first()?.ended).min()?;
    let still_in = healthy
        .iter()
        .filter(|made| made.attempts.first().is_none_or(|first| first.at + window > first_answer))
        .count();
    let set_out = client.calls.get(LATE_HEALTHY..)?;
    let surely_in = failing
        .iter()
        .zip(set_out)
        .filter(|(made, set_out)| {
            let asked = made.attempts.get(1).map_or(made.returned, |retry| retry.at);
            asked < **set_out + window
        })
        .count();
    let (least, most) = (share(client, surely_in), share(client, failing.len() + still_in));
    let got = retries(failing);
    if (least..=most).contains(&got) {
        return None;
    }
    let expected = if least == most { format!("{least}") } else { format!("{least} to {most}") };
    let rows = vec![
        Row {
            cells: vec![
                format!("+0: {LATE_HEALTHY} healthy calls"),
                format!(
                    "{} first attempts",
                    healthy.iter().filter(|m| !m.attempts.is_empty()).count()
                ),
                format!(
                    "out of the window {} later, when the others ask",
                    millis(window.mul_f64(LATE_ANSWERED))
                ),
            ],
            ok: true,
        },
        Row {
            cells: vec![
                format!(
                    "+{}: {LATE_CALLS} calls, each answered a 503 at +{}",
                    millis(window.mul_f64(LATE_FROM)),
                    millis(window.mul_f64(LATE_ANSWERED))
                ),
                format!("{got} retries"),
                expected.clone(),
            ],
            ok: false,
        },
    ];
    let rule = format!(
        "ratio {:.2} × the {LATE_CALLS} first attempts in the {} window, no floor",
        client.budget.ratio,
        millis(window)
    );
    let evidence = Evidence::Table {
        columns: ["calls", "the server saw", "the budget allows"].map(String::from).to_vec(),
        rows,
    };
    let (summary, why) = if got > most {
        (
            format!(
                "{LATE_CALLS} calls that asked for a retry {} after {LATE_HEALTHY} healthy calls \
                 got {got} retries; the budget held {expected} ({rule}): the healthy calls' \
                 deposits had left the window by the moment of asking",
                millis(window.mul_f64(LATE_ANSWERED))
            ),
            "The window reaches back from the moment a retry is asked for, not from when its \
             call set out: a call that waited long for its answer must not spend deposits that \
             expired meanwhile. Forget what is older than the window in every withdrawal, not \
             only when a call deposits.",
        )
    } else {
        (
            format!(
                "{LATE_CALLS} calls that asked for a retry {} after they set out got {got} \
                 retries; the budget held {expected} ({rule}): their own deposits were still in \
                 the window",
                millis(window.mul_f64(LATE_ANSWERED - LATE_FROM))
            ),
            "A sliding window forgets each deposit a window after it was made, not all of them \
             at once: a window that starts afresh once it has run out forgets deposits made a \
             moment before, and refuses retries they paid for. And a share that is a whole \
             number of retries allows that many: the count after the retry may equal it.",
        )
    };
    Some(Failure::new(summary, why).with(evidence))
}

/// How long after the refused client's server is up an attempt may still be a first one, made
/// late by a busy machine: only the attempts after it are surely retries.
const REFUSED_DOUBT: Duration = Duration::from_millis(150);

/// `outage`: every retry after a refused connection took from the budget: no more reached the
/// server, once it was up, than the ratio's share of the first attempts. And a refused first
/// attempt is a first attempt, which pays in: some of those retries reach it (none does only
/// when every wait drawn ends before the server is up, about one play in a few thousand with
/// full jitter, and a failure is played again before it is believed).
pub fn refused(client: &Client, calls: &[Made]) -> Option<Failure> {
    let after = REFUSED_FOR + REFUSED_DOUBT;
    let reached = calls
        .iter()
        .filter(|made| made.attempts.first().is_some_and(|attempt| attempt.at >= after))
        .count();
    let most = share(client, calls.len());
    if reached == 0 {
        return Some(Failure::new(
            format!(
                "{} calls to a server that refused connections for its first {}: none reached it \
                 with a retry after +{}; the budget held {most} (ratio {:.2} × {} first \
                 attempts, no floor)",
                calls.len(),
                millis(REFUSED_FOR),
                millis(after),
                client.budget.ratio,
                calls.len()
            ),
            "A first attempt is a first attempt however it ended: a refused connection pays into \
             the budget like any other, and its retry may draw on it.",
        ));
    }
    (reached > most).then(|| {
        Failure::new(
            format!(
                "{} calls to a server that refused connections for its first {}: {reached} \
                 reached it with a retry (after +{}); the budget held {most} (ratio {:.2} × {} \
                 first attempts, no floor)",
                calls.len(),
                millis(REFUSED_FOR),
                millis(after),
                client.budget.ratio,
                calls.len()
            ),
            "A refused connection is what an outage looks like from the client (a server \
             restarting, no healthy backend), and its retries arrive together the moment the \
             server is back: every retry asks the budget, whatever failed before it.",
        )
    })
}

/// `outage`: a budget of no ratio and no floor allows no retry at all.
pub fn zero(client: &Client, calls: &[Made]) -> Option<Failure> {
    let got = retries(calls);
    (got > 0).then(|| {
        Failure::new(
            format!(
                "a budget of ratio 0 and 0/s over {} allows no retry; {} calls failing once \
                 made {got}",
                millis(client.budget.window),
                calls.len()
            ),
            "Zero is a limit like any other: a layer told to leave retries to another gets a \
             budget of nothing, not no budget.",
        )
    })
}

/// `window`: a budget of a floor alone holds `min_per_second` for every second of its window:
/// as many retries as that, or its whole seconds' (tower's count), or one second's more.
pub fn floor_only(client: &Client, calls: &[Made]) -> Option<Failure> {
    let budget = client.budget;
    let per_second = f64::from(budget.min_per_second);
    let seconds = budget.window.as_secs_f64();
    let least = ((per_second * seconds.floor()) as usize).min(calls.len());
    let most = (per_second * (seconds + 1.0)).floor() as usize;
    let got = retries(calls);
    if (least..=most).contains(&got) {
        return None;
    }
    Some(Failure::new(
        format!(
            "{} calls failing once, with a budget of ratio 0 and {}/s over {}, got {got} retries; \
             the floor holds {least} to {most}: {}/s for every second of the window",
            calls.len(),
            budget.min_per_second,
            millis(budget.window),
            budget.min_per_second
        ),
        "The floor is `min_per_second × window` retries inside the window, whatever the ratio \
         says: a client that makes few calls can still retry that many.",
    ))
}

/// `outage`: a retry that succeeded was still a retry. The repaid client's second wave finds
/// half of both waves' first attempts, less the retries the first wave made, no more.
pub fn repaid(client: &Client, calls: &[Made]) -> Option<Failure> {
    let (first, second) = calls.split_at(REPAID_WAVE.min(calls.len()));
    let spent = retries(first);
    let most = share(client, calls.len()).saturating_sub(spent);
    let got = retries(second);
    (got > most).then(|| {
        Failure::new(
            format!(
                "{} calls failing once made {spent} retries, which succeeded; then {} calls \
                 failing every time got {got} retries, within one {} window; the budget held \
                 {most} (ratio {:.2} × {} first attempts, less the {spent} retries made)",
                first.len(),
                second.len(),
                millis(client.budget.window),
                client.budget.ratio,
                calls.len()
            ),
            "A withdrawal stays in the window whatever came of its retry: a budget that takes \
             back the retries that succeeded lets a flapping server draw many more than the \
             ratio allows.",
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use httplings::RetryPolicy;
    use httplings::lessons::retry_budget::Budget;

    use super::super::round::{Attempt, Script};
    use super::*;
    use crate::judge::upstream::Reply;

    const WINDOW: Duration = Duration::from_millis(1000);

    fn client() -> Client {
        let set_out = WINDOW.mul_f64(LATE_FROM);
        Client {
            policy: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(40),
            },
            budget: Budget { ratio: 0.5, min_per_second: 0, window: WINDOW },
            timeout: Duration::from_secs(3),
            refuses_for: None,
            calls: [vec![Duration::ZERO; LATE_HEALTHY], vec![set_out; LATE_CALLS]].concat(),
            script: vec![Script::Fine; LATE_HEALTHY + LATE_CALLS],
        }
    }

    fn attempt(at_ms: u64, ended_ms: u64) -> Attempt {
        let (at, ended) = (Duration::from_millis(at_ms), Duration::from_millis(ended_ms));
        Attempt { at, ended: Some(ended), reply: Reply::status(200) }
    }

    /// The late client's calls as the server saw them: healthy calls first seen at `healthy_at`
    /// ms, and failing ones answered at 1.2 windows, `retried` of them retried.
    fn played(healthy_at: u64, retried: usize) -> Vec<Made> {
        let made = |attempts: Vec<Attempt>| Made {
            made_at: Instant::now(),
            returned: attempts.last().and_then(|attempt| attempt.ended).unwrap_or_default(),
            got: Err(super::super::round::NoOutcome::Unexpected),
            attempts,
        };
        let healthy = (0..LATE_HEALTHY).map(|_| made(vec![attempt(healthy_at, healthy_at + 2)]));
        let failing = (0..LATE_CALLS).map(|call| {
            let mut attempts = vec![attempt(505, 1200)];
            if call < retried {
                attempts.push(attempt(1215, 1217));
            }
            made(attempts)
        });
        healthy.chain(failing).collect()
    }

    #[test]
    fn the_late_calls_find_exactly_their_own_share() {
        assert!(late(&client(), &played(5, 5)).is_none());
        let spent_expired = late(&client(), &played(5, 10)).expect("ten retries caught");
        assert!(spent_expired.summary.contains("had left the window"), "{spent_expired:?}");
        for forgot_own in [0, 4] {
            let failure = late(&client(), &played(5, forgot_own)).expect("too few caught");
            assert!(failure.summary.contains("were still in the window"), "{failure:?}");
        }
    }

    /// Healthy calls a busy machine sent late may still be in the window when the others ask:
    /// their deposits may pay, and only what is sure is held against the client.
    #[test]
    fn deposits_the_machine_made_late_may_still_count() {
        assert!(late(&client(), &played(300, 10)).is_none());
        assert!(late(&client(), &played(300, 5)).is_none());
    }
}
