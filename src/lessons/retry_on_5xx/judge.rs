//! Judges a scenario: the requests the server saw and what the call returned, against what
//! the rules expect. A failure shows both request logs as a diff, and a timeline.

use std::time::{Duration, Instant};

use super::scenario::{CLIENT_TIMEOUT, Expected, Scenario, Wait, expect};
use super::server::{Arrival, REQUEST_CAP, Step};
use crate::protocol::{Evidence, Failure, Verdict};

/// How one call of the learner's function ended.
#[derive(Debug, Clone)]
pub(super) enum CallOutcome {
    /// It returned: the response's status, or a description of the error.
    Returned(Result<u16, String>),
    Panicked(String),
    /// Still running at the deadline, and stopped.
    TimedOut(Duration),
    /// Stopped when the server had seen [`REQUEST_CAP`] requests.
    Capped,
}

#[derive(Debug)]
pub(super) struct CallRecord {
    pub(super) started: Instant,
    pub(super) ended: Instant,
    pub(super) outcome: CallOutcome,
}

/// What is wrong with a scenario, grouped so that the most telling comes first: a call that
/// ran away, then the requests made, then the waits between them, then what came back.
#[derive(Debug, Default)]
struct Problems {
    runaway: Vec<String>,
    requests: Vec<String>,
    waits: Vec<String>,
    returns: Vec<String>,
}

impl Problems {
    fn most_telling(self) -> Option<String> {
        [self.runaway, self.requests, self.waits, self.returns].into_iter().flatten().next()
    }
}

/// Returning this long after the last request means the client slept after its final attempt.
const LINGER: Duration = Duration::from_millis(400);

pub(super) fn judge(scenario: &Scenario, calls: &[CallRecord], arrivals: &[Arrival]) -> Verdict {
    let mut problems = Problems::default();
    let mut expected_log = Vec::new();
    let mut actual_log = Vec::new();
    let expectations: Vec<Expected> =
        scenario.calls.iter().map(|(_, script)| expect(script, &scenario.policy)).collect();
    for (((path, _), expected), call) in scenario.calls.iter().zip(&expectations).zip(calls) {
        let seen: Vec<&Arrival> = arrivals.iter().filter(|arrival| arrival.path == *path).collect();
        let log = if scenario.listening {
            compare_requests(path, expected, &seen, call, &mut problems)
        } else {
            compare_refused(path, expected, call, &mut problems)
        };
        expected_log.extend(log.0);
        actual_log.extend(log.1);
        compare_returns(expected, call, &seen, &mut problems);
        expected_log.push(expected_return(expected));
        actual_log.push(actual_return(expected, call, &seen));
    }
    let Some(summary) = problems.most_telling() else {
        return Verdict::pass(scenario.name);
    };
    let mut failure = Failure::new(summary, scenario.why)
        .with(Evidence::Diff { expected: lines(&expected_log), actual: lines(&actual_log) });
    if let ([expected], [call]) = (expectations.as_slice(), calls)
        && scenario.listening
    {
        failure = failure.with(timeline(expected, arrivals, call));
    }
    Verdict::fail(scenario.name, failure)
}

/// The expected and actual request logs of one call, line by line; a problem for each
/// difference that matters.
fn compare_requests(
    path: &str,
    expected: &Expected,
    seen: &[&Arrival],
    call: &CallRecord,
    problems: &mut Problems,
) -> (Vec<String>, Vec<String>) {
    let expected_lines: Vec<String> = expected
        .requests
        .iter()
        .enumerate()
        .map(|(index, request)| {
            request_line(index + 1, "GET", path, request.step) + &wait_text(request.wait)
        })
        .collect();
    let mut actual_lines = Vec::new();
    for (index, arrival) in seen.iter().enumerate() {
        let mut line = request_line(index + 1, &arrival.method, &arrival.path, arrival.step);
        if index == 0 && arrival.method != "GET" {
            problems.requests.push(format!("the request was a {}, not a GET", arrival.method));
        }
        if index > 0 {
            let gap = arrival.at.duration_since(seen[index - 1].at);
            let wanted = expected.requests.get(index).and_then(|request| request.wait);
            line.push_str(&judge_wait(index + 1, gap, wanted, &mut problems.waits));
        }
        actual_lines.push(line);
    }
    if seen.len() != expected.requests.len()
        && !matches!(call.outcome, CallOutcome::Capped | CallOutcome::Panicked(_))
    {
        problems.requests.push(count_problem(expected, seen.len()));
    }
    if let (CallOutcome::Returned(_), Some(last)) = (&call.outcome, seen.last()) {
        let lingered = call.ended.saturating_duration_since(last.at);
        let allowed =
            LINGER + if last.step == Step::Hang { CLIENT_TIMEOUT } else { Duration::ZERO };
        if lingered > allowed {
            problems.waits.push(format!(
                "returned {} ms after the last request: there is no point waiting after the final attempt",
                lingered.as_millis()
            ));
        }
    }
    (expected_lines, actual_lines)
}

fn request_line(number: usize, method: &str, path: &str, step: Step) -> String {
    let answer = match step {
        Step::Reply { status, retry_after: None } => status.to_string(),
        Step::Reply { status, retry_after: Some(seconds) } => {
            format!("{status}, Retry-After: {seconds}")
        }
        Step::Reset => "connection reset".into(),
        Step::Hang => "no answer (the client times out)".into(),
    };
    format!("#{number} {method} {path} → {answer}")
}

fn wait_text(wait: Option<Wait>) -> String {
    match wait {
        None => String::new(),
        Some(wait) => format!(" · after {}", wanted(&wait)),
    }
}

fn wanted(wait: &Wait) -> String {
    if wait.after_timeout {
        format!("the client's timeout, then {}–{} ms", wait.min.as_millis(), wait.max.as_millis())
    } else if wait.asked {
        format!("≥ {} ms, as asked", wait.min.as_millis())
    } else {
        format!("{}–{} ms", wait.min.as_millis(), wait.max.as_millis())
    }
}

/// A wait within bounds reads exactly as expected, so the diff stays quiet about it; one
/// outside them shows the measured gap.
fn judge_wait(
    number: usize,
    gap: Duration,
    wait: Option<Wait>,
    problems: &mut Vec<String>,
) -> String {
    let Some(wait) = wait else {
        return format!(" · after {} ms", gap.as_millis());
    };
    if gap < wait.floor() {
        problems.push(format!(
            "waited only {} ms before request #{number}; want {}",
            gap.as_millis(),
            wanted(&wait)
        ));
    } else if gap > wait.ceiling() {
        problems.push(format!(
            "waited {} ms before request #{number}; the wait should be at most {} ms",
            gap.as_millis(),
            wait.max.as_millis()
        ));
    } else {
        return wait_text(Some(wait));
    }
    format!(" · after {} ms (want {})", gap.as_millis(), wanted(&wait))
}

fn count_problem(expected: &Expected, made: usize) -> String {
    let wanted = expected.requests.len();
    let last = expected.requests.last().map(|request| request.step);
    if made > wanted {
        let reason = match (last, expected.returns) {
            (Some(Step::Reply { status, .. }), _) if status < 500 => {
                format!("a {status} must not be retried")
            }
            (Some(Step::Reply { retry_after: Some(_), .. }), _) if wanted == 1 => {
                "Retry-After asked for more than max_delay, so the client should give up at once"
                    .into()
            }
            _ => format!("max_attempts allows {wanted} in all, the first included"),
        };
        format!("made {made} requests, {wanted} expected: {reason}")
    } else if made == 0 {
        format!("made no request at all, {wanted} expected")
    } else if made == 1 {
        format!("never retried: made 1 request, {wanted} expected")
    } else {
        format!("gave up too soon: made {made} requests, {wanted} expected")
    }
}

/// Without a server there are no requests to see: judge the time spent waiting instead.
fn compare_refused(
    path: &str,
    expected: &Expected,
    call: &CallRecord,
    problems: &mut Problems,
) -> (Vec<String>, Vec<String>) {
    // Refused connections leave no trace at a server, so attempts cannot be counted here:
    // the time spent waiting is what shows the backoff. ("500 forever" counts attempts.)
    let least: Duration =
        expected.requests.iter().filter_map(|request| request.wait).map(|wait| wait.min).sum();
    let attempts = expected.requests.len();
    let expected_line = format!(
        "GET {path} → connection refused, {attempts} attempts with ≥ {} ms of waiting",
        least.as_millis()
    );
    let spent = call.ended.duration_since(call.started);
    let actual_line = if spent >= least || !matches!(call.outcome, CallOutcome::Returned(_)) {
        expected_line.clone()
    } else {
        problems.waits.push(format!(
            "gave up after {} ms: {attempts} attempts with backoff take at least {} ms",
            spent.as_millis(),
            least.as_millis()
        ));
        format!("GET {path} → connection refused, gave up after {} ms", spent.as_millis())
    };
    (vec![expected_line], vec![actual_line])
}

fn compare_returns(
    expected: &Expected,
    call: &CallRecord,
    seen: &[&Arrival],
    problems: &mut Problems,
) {
    let problem = match (&call.outcome, expected.returns) {
        (CallOutcome::Panicked(message), _) => format!("get_with_retry panicked: {message}"),
        (CallOutcome::TimedOut(limit), _) => {
            format!("get_with_retry was still running after {} s and was stopped", limit.as_secs())
        }
        (CallOutcome::Capped, _) => capped(call, seen),
        (CallOutcome::Returned(Ok(got)), Some(want)) if *got == want => return,
        (CallOutcome::Returned(Err(_)), None) => return,
        (CallOutcome::Returned(Err(error)), Some(want)) if want >= 500 => format!(
            "returned Err({error}) where the last response ({want}) should come back as it is: \
             attempts ran out, which is not an error of the client's"
        ),
        (CallOutcome::Returned(Err(error)), Some(want)) => {
            format!("returned Err({error}) instead of the {want} response")
        }
        (CallOutcome::Returned(Ok(got)), Some(want)) => {
            format!("returned a {got} instead of the {want}")
        }
        (CallOutcome::Returned(Ok(got)), None) => {
            format!("returned a {got} where the last error was expected")
        }
    };
    if matches!(call.outcome, CallOutcome::Returned(_)) {
        problems.returns.push(problem);
    } else {
        problems.runaway.push(problem);
    }
}

fn capped(call: &CallRecord, seen: &[&Arrival]) -> String {
    let spent = match (seen.first(), seen.last()) {
        (Some(first), Some(last)) => last.at.duration_since(first.at),
        _ => call.ended.duration_since(call.started),
    };
    format!(
        "stopped after {REQUEST_CAP} requests in {:.2} s: the client does not stop retrying",
        spent.as_secs_f64()
    )
}

fn expected_return(expected: &Expected) -> String {
    match expected.returns {
        Some(status) => format!("returns Ok({status})"),
        None => "returns Err(the last transport error)".into(),
    }
}

fn actual_return(expected: &Expected, call: &CallRecord, seen: &[&Arrival]) -> String {
    match &call.outcome {
        CallOutcome::Returned(Ok(status)) => format!("returns Ok({status})"),
        CallOutcome::Returned(Err(_)) if expected.returns.is_none() => expected_return(expected),
        CallOutcome::Returned(Err(error)) => format!("returns Err({error})"),
        CallOutcome::Panicked(message) => format!("panicked: {message}"),
        CallOutcome::TimedOut(limit) => {
            format!("still running after {} s (stopped)", limit.as_secs())
        }
        CallOutcome::Capped => capped(call, seen),
    }
}

fn lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Columns in a timeline.
const TIMELINE_WIDTH: usize = 48;

/// The requests on a time axis, beside the earliest moments the rules allow: "retried
/// instantly" and "never retried" show at a glance.
fn timeline(expected: &Expected, arrivals: &[Arrival], call: &CallRecord) -> Evidence {
    // Time runs from the first request, so both rows start together.
    let origin = arrivals.first().map_or(call.started, |first| first.at);
    let yours: Vec<Duration> =
        arrivals.iter().map(|arrival| arrival.at.saturating_duration_since(origin)).collect();
    let mut earliest = Vec::new();
    let mut at = Duration::ZERO;
    for request in &expected.requests {
        at += request.wait.map_or(Duration::ZERO, |wait| wait.min);
        earliest.push(at);
    }
    let span = yours
        .iter()
        .chain(&earliest)
        .max()
        .copied()
        .unwrap_or_default()
        .max(Duration::from_millis(1));
    let axis =
        format!("0 ms{:>width$}", format!("{} ms", span.as_millis()), width = TIMELINE_WIDTH - 4);
    let body = format!(
        "          {axis}\nyours     {}\nearliest  {}",
        track(&yours, span),
        track(&earliest, span)
    );
    Evidence::Text { title: "timeline (● a request)".into(), body }
}

/// One row of dots; a digit where several requests fall in one column.
fn track(moments: &[Duration], span: Duration) -> String {
    let mut counts = [0usize; TIMELINE_WIDTH];
    for moment in moments {
        let column = (moment.as_secs_f64() / span.as_secs_f64() * (TIMELINE_WIDTH - 1) as f64)
            .round() as usize;
        counts[column.min(TIMELINE_WIDTH - 1)] += 1;
    }
    let row: String = counts
        .iter()
        .map(|count| match count {
            0 => '·',
            1 => '●',
            2..=9 => char::from_digit(*count as u32, 10).unwrap_or('+'),
            _ => '+',
        })
        .collect();
    row.trim_end_matches('·').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_counts_requests_that_share_a_column() {
        let span = Duration::from_millis(470);
        let moments = [0, 1, 2, 470].map(Duration::from_millis);
        assert_eq!(track(&moments, span), format!("3{}●", "·".repeat(TIMELINE_WIDTH - 2)));
    }
}
