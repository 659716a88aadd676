//! Each check's verdict, from the calls of a round as played.

use std::time::Duration;

use super::round::{Client, Made, Script};
use crate::judge::bounds::{AT_ONCE, AT_ONCE_ON_AVERAGE, millis};
use crate::judge::schedule::{Sample, Wait, backoff, growth};
use crate::judge::upstream::Reply;
use crate::judge::{Evidence, Failure, Row};

/// How many of the calls that fail once must end with a 200.
const RECOVERED: f64 = 0.8;

/// How many of the calls made together must be in flight at once at the server.
const TOGETHER: f64 = 0.75;

fn table(columns: &[&str], rows: Vec<Row>) -> Evidence {
    Evidence::Table { columns: columns.iter().map(|column| column.to_string()).collect(), rows }
}

fn got(made: &Made) -> String {
    match &made.got {
        Ok(Ok(response)) => response.status.to_string(),
        Ok(Err(error)) => format!("Err({})", error.text),
        Err(problem) => problem.clone(),
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
/// waits for nothing.
pub fn at_once(calls: &[Made], lag: Duration) -> Option<Failure> {
    let gaps: Vec<(usize, &Made, Duration, Duration)> = calls
        .iter()
        .enumerate()
        .filter_map(|(call, made)| {
            let ended = made.attempts.last()?.ended?;
            Some((call, made, ended, made.returned.saturating_sub(ended)))
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
    if recovered >= needed && healthy_wrong.is_empty() {
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
        Failure::of(format!(
            "with {} calls and one in ten failing once, {recovered} of the {} failing calls were \
             retried to a 200 (at least {needed} should be: ratio {:.2} leaves room for them all)",
            calls.len(),
            failing.len(),
            client.budget.ratio
        ))
        .with(table(&["call", "expected", "got"], rows)),
    )
}

/// `lesson-3`: a 4xx is never retried, no call makes more than `max_attempts`, a `Retry-After`
/// is never cut short, and the backoff waits, taken together, are what backoff allows. Single
/// backoff waits are judged together ([`growth`]): with two hundred calls in flight on a busy
/// machine, any one wait may run late, but not all of them.
pub fn lesson_3(clients: &[(&str, &Client, &[Made])]) -> Option<Failure> {
    let mut rows = Vec::new();
    let mut samples = Vec::new();
    for (name, client, calls) in clients {
        for (call, made) in calls.iter().enumerate() {
            match broken(client, made) {
                Err(problem) => rows
                    .push(Row { cells: vec![format!("{name}, call {call}"), problem], ok: false }),
                Ok(waits) => samples.extend(waits),
            }
        }
    }
    if !rows.is_empty() {
        return Some(
            Failure::of(format!("{} call(s) broke lesson 3's rules", rows.len()))
                .with(table(&["call", "what happened"], rows.into_iter().take(10).collect())),
        );
    }
    growth(&samples).map(Failure::of)
}

/// What is wrong with one call's retries, or its backoff waits, measured.
fn broken(client: &Client, made: &Made) -> Result<Vec<Sample>, String> {
    let policy = &client.policy;
    if made.attempts.len() > policy.max_attempts as usize {
        return Err(format!(
            "{} attempts; max_attempts is {}",
            made.attempts.len(),
            policy.max_attempts
        ));
    }
    let mut samples = Vec::new();
    for (index, pair) in made.attempts.windows(2).enumerate() {
        let [before, after] = pair else { continue };
        let n = index as u32 + 1;
        if let Some(status) = before.reply.status_code().filter(|status| *status < 500) {
            return Err(format!("attempt {n} was answered {status}, and retried"));
        }
        let Some(ended) = before.ended else { continue };
        let waited = after.at.saturating_sub(ended);
        match retry_after(&before.reply) {
            Some(seconds) => {
                let asked = Wait::Asked(Duration::from_secs(seconds));
                if waited < asked.bound().at_least {
                    return Err(format!(
                        "waited {} before retry {n}, though Retry-After asked for {seconds} s",
                        millis(waited)
                    ));
                }
            }
            // Judged together: lateness averages out over many waits, where the worst lag
            // added to each would hide a wait that is always too long.
            None => samples.push(Sample { waited, nominal: backoff(policy, n) }),
        }
    }
    Ok(samples)
}

fn retry_after(reply: &Reply) -> Option<u64> {
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
    use crate::judge::upstream::Reply;

    /// A call whose one attempt ended at 100 ms and which returned `gap` later.
    fn call(gap: u64) -> Made {
        let ended = Duration::from_millis(100);
        Made {
            returned: ended + Duration::from_millis(gap),
            got: Err("not read".into()),
            attempts: vec![Attempt {
                at: Duration::ZERO,
                ended: Some(ended),
                reply: Reply::status(503),
            }],
        }
    }

    #[test]
    fn waits_before_giving_up_show_in_the_mean_when_the_lag_hides_each() {
        let lag = Duration::from_millis(200);
        let sleepers: Vec<Made> = [5, 180, 90, 220, 10, 140].map(call).to_vec();
        assert!(at_once(&sleepers, lag).is_some_and(|failure| failure.summary.contains("average")));
        let busy: Vec<Made> = [5, 12, 140, 8, 30, 3].map(call).to_vec();
        assert_eq!(at_once(&busy, lag), None);
        assert!(at_once(&busy, Duration::ZERO).is_none());
        assert!(at_once(&[call(400)], lag).is_some());
    }
}
