//! Judges a scenario from what the judge's own server saw (every request, when it came, what it
//! was answered) and what the call came to, against what the rules expect. A failure shows both
//! request logs as a diff, and a timeline.

use std::time::{Duration, Instant};

use httplings::adapter::SeenResponse;
use httplings::lessons::retry_on_5xx::Came;

use super::call;
use super::expect::{Expected, Returns, Wait, expect};
use super::scenario::{PlannedCall, Scenario, Target};
use super::server::{Arrival, Step};
use super::timeline;
use crate::judge::{Evidence, Failure};

/// How one call of the learner's function ended.
#[derive(Debug, Clone)]
pub(super) enum CallOutcome {
    Came(Came),
    Panicked(String),
    /// Still running at its deadline, and stopped.
    TimedOut(Duration),
    /// Given up on when the server had seen this many requests.
    Capped(usize),
}

#[derive(Debug, Clone)]
pub(super) struct CallRecord {
    pub(super) planned: PlannedCall,
    /// The path (and query) it was sent to on the scripted server.
    pub(super) target: String,
    pub(super) started: Instant,
    pub(super) ended: Instant,
    pub(super) outcome: CallOutcome,
}

/// A backoff wait as measured, beside the nominal wait it stood for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) waited: Duration,
    pub(crate) nominal: Duration,
}

/// The noise a loaded machine adds to a measured wait: scheduling, connecting, the request.
pub(super) const SLACK: Duration = Duration::from_millis(150);

/// Returning this long after the last exchange means the client slept after its final attempt.
const LINGER: Duration = Duration::from_millis(300);

/// A request that cannot be built fails at once; taking longer than this means it was retried.
const AT_ONCE: Duration = Duration::from_millis(150);

/// What is wrong with a scenario, most telling first: a call that ran away, then the requests
/// made, then the waits between them, then what came back.
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

pub(super) fn judge(
    scenario: &Scenario,
    calls: &[CallRecord],
    arrivals: &[Arrival],
) -> (Option<Failure>, Vec<Sample>) {
    let mut problems = Problems::default();
    let (mut expected_log, mut actual_log, mut samples) = (Vec::new(), Vec::new(), Vec::new());
    for call in calls {
        let expected = expect(&call.planned);
        let path = call.target.split('?').next().unwrap_or_default();
        let seen: Vec<&Arrival> =
            arrivals.iter().filter(|arrival| arrival.path() == path).collect();
        let (expected_lines, actual_lines) = match call.planned.target {
            Target::Scripted => requests(call, &expected, &seen, &mut problems, &mut samples),
            Target::Refused => refused(call, &expected, &mut problems),
            Target::Unsendable(url) => unsendable(call, url, &mut problems),
        };
        expected_log.extend(expected_lines);
        actual_log.extend(actual_lines);
        let (expected_line, actual_line) =
            returns(call, &expected, seen.last().copied(), &mut problems);
        expected_log.push(expected_line);
        actual_log.push(actual_line);
    }
    if !scenario.counts_for_growth {
        samples.clear();
    }
    let Some(summary) = problems.most_telling() else { return (None, samples) };
    let mut failure = Failure::new(summary, scenario.why)
        .with(Evidence::Diff { expected: lines(&expected_log), actual: lines(&actual_log) });
    if let [call] = calls
        && call.planned.target == Target::Scripted
    {
        let path = call.target.split('?').next().unwrap_or_default();
        let seen: Vec<&Arrival> =
            arrivals.iter().filter(|arrival| arrival.path() == path).collect();
        failure = failure.with(timeline::render(&expect(&call.planned), &seen, call.started));
    }
    (Some(failure), samples)
}

/// The expected and actual request logs of one call on the scripted server; a problem for
/// each difference that matters.
fn requests(
    call: &CallRecord,
    expected: &Expected,
    seen: &[&Arrival],
    problems: &mut Problems,
    samples: &mut Vec<Sample>,
) -> (Vec<String>, Vec<String>) {
    let expected_lines: Vec<String> = expected
        .requests
        .iter()
        .enumerate()
        .map(|(index, request)| {
            request_line(index + 1, "GET", &call.target, &request.step) + &wait_text(request.wait)
        })
        .collect();
    let mut actual_lines = Vec::new();
    for (index, arrival) in seen.iter().enumerate() {
        let number = index + 1;
        let mut line = request_line(number, &arrival.method, &arrival.target, &arrival.step);
        if arrival.method != "GET" {
            problems
                .requests
                .push(format!("request #{number} was a {}, not a GET", arrival.method));
        } else if arrival.target != call.target {
            problems.requests.push(format!(
                "request #{number} asked for {}, not the URL it was given ({})",
                arrival.target, call.target
            ));
        }
        if index > 0 {
            let waited = arrival.at.saturating_duration_since(seen[index - 1].ended);
            let wanted = expected.requests.get(index).and_then(|request| request.wait);
            line.push_str(&judge_wait(number, waited, wanted, &mut problems.waits));
            if let Some(Wait::Backoff(nominal)) = wanted {
                samples.push(Sample { waited, nominal });
            }
        }
        actual_lines.push(line);
    }
    let runaway = matches!(
        call.outcome,
        CallOutcome::Capped(_) | CallOutcome::Panicked(_) | CallOutcome::TimedOut(_)
    );
    if seen.len() != expected.requests.len() && !runaway {
        problems.requests.push(count_problem(expected, seen.len()));
    }
    if let (CallOutcome::Came(_), Some(last)) = (&call.outcome, seen.last()) {
        let lingered = call.ended.saturating_duration_since(last.ended);
        if lingered > LINGER {
            problems.waits.push(format!(
                "returned {} ms after the last response: there is no point waiting after the final attempt",
                lingered.as_millis()
            ));
        }
    }
    (expected_lines, actual_lines)
}

fn request_line(number: usize, method: &str, target: &str, step: &Step) -> String {
    let answer = match step {
        Step::Reply { status, retry_after: None } => status.to_string(),
        Step::Reply { status, retry_after: Some(value) } => {
            format!("{status}, Retry-After: {value}")
        }
        Step::Reset => "connection reset".into(),
        Step::Hang => "no answer (the client times out)".into(),
    };
    format!("#{number} {method} {target} → {answer}")
}

fn wait_text(wait: Option<Wait>) -> String {
    wait.map_or_else(String::new, |wait| format!(" · after {}", wanted(wait)))
}

fn wanted(wait: Wait) -> String {
    match wait {
        Wait::Backoff(nominal) => format!("≤ {} ms", nominal.as_millis()),
        Wait::Asked(asked) => format!("≥ {} ms, as asked", asked.as_millis()),
    }
}

/// The longest wait accepted for `wait`: a busy machine can oversleep, never undersleep, so
/// there is slack above, and none below.
fn ceiling(wait: Wait) -> Duration {
    match wait {
        Wait::Backoff(nominal) => nominal + SLACK,
        // A little random delay on top of Retry-After is fine (it spreads a herd); twice is not.
        Wait::Asked(asked) => asked + asked / 2 + SLACK,
    }
}

/// A wait within bounds reads exactly as expected, so the diff stays quiet about it; one
/// outside them shows the measured gap.
fn judge_wait(
    number: usize,
    waited: Duration,
    wait: Option<Wait>,
    problems: &mut Vec<String>,
) -> String {
    let Some(wait) = wait else {
        return format!(" · after {} ms", waited.as_millis());
    };
    let millis = waited.as_millis();
    match wait {
        // The client hears the reply a moment after the server sent it: a few ms of grace.
        Wait::Asked(asked) if waited + Duration::from_millis(15) < asked => problems.push(format!(
            "waited only {millis} ms before request #{number}: the server asked for {} s",
            asked.as_secs()
        )),
        _ if waited > ceiling(wait) => problems.push(match wait {
            Wait::Backoff(nominal) => format!(
                "waited {millis} ms before request #{number}: backoff allows at most {} ms there \
                 (base_delay × 2^(n−1), capped at max_delay; jitter goes below it, not above)",
                nominal.as_millis()
            ),
            Wait::Asked(asked) => format!(
                "waited {millis} ms before request #{number}: the server asked for {} s",
                asked.as_secs()
            ),
        }),
        _ => return wait_text(Some(wait)),
    }
    format!(" · after {millis} ms (want {})", wanted(wait))
}

fn count_problem(expected: &Expected, made: usize) -> String {
    let wanted = expected.requests.len();
    let last = expected.requests.last().map(|request| request.step.clone());
    if made > wanted {
        let reason = match last {
            Some(Step::Reply { status, .. }) if status < 500 => {
                format!("a {status} must not be retried")
            }
            Some(Step::Reply { retry_after: Some(_), .. }) if wanted == 1 => {
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

/// Nothing listens, so no server sees the attempts: the client's host lookups count them, one
/// per connection it tries to open, and the time spent bounds the waits.
fn refused(
    call: &CallRecord,
    expected: &Expected,
    problems: &mut Problems,
) -> (Vec<String>, Vec<String>) {
    let attempts = expected.requests.len();
    let most: Duration =
        expected.requests.iter().filter_map(|request| request.wait).map(ceiling).sum();
    let expected_line = format!(
        "{attempts} connection attempts, refused, with ≤ {} ms of waiting in all",
        most.as_millis()
    );
    let spent = call.ended.saturating_duration_since(call.started);
    let CallOutcome::Came(came) = &call.outcome else {
        return (vec![expected_line.clone()], vec![expected_line]);
    };
    let made = came.lookups as usize;
    let ended = match &came.returned {
        Ok(response) => format!("a {} response", response.status),
        Err(error) => format!("Err({})", error.text),
    };
    let actual_line =
        format!("{made} connection attempts, refused, in {} ms, then {ended}", spent.as_millis());
    if made == 0 {
        problems.requests.push(
            "made no connection attempt through the client it was given: use the `client` \
             parameter, whose settings (its timeout) the caller chose"
                .into(),
        );
    } else if made != attempts {
        problems.requests.push(format!(
            "made {made} connection attempt(s), {attempts} expected: max_attempts allows {attempts} \
             in all, and a refused connection is worth retrying"
        ));
    } else if spent > most + SLACK {
        problems.waits.push(format!(
            "took {} ms; the backoff allows at most {} ms",
            spent.as_millis(),
            most.as_millis()
        ));
    } else {
        return (vec![expected_line.clone()], vec![expected_line]);
    }
    (vec![expected_line], vec![actual_line])
}

/// A URL no client can send must come back at once: retrying it cannot help.
fn unsendable(call: &CallRecord, url: &str, problems: &mut Problems) -> (Vec<String>, Vec<String>) {
    let expected_line = format!("get_with_retry({url:?}) → an error at once, no retry");
    let spent = call.ended.saturating_duration_since(call.started);
    if matches!(call.outcome, CallOutcome::Came(_)) && spent > AT_ONCE {
        problems.waits.push(format!(
            "took {} ms to give up on {url:?}: a request that cannot be built (is_builder()) was retried",
            spent.as_millis()
        ));
        return (
            vec![expected_line],
            vec![format!("get_with_retry({url:?}) → an error after {} ms", spent.as_millis())],
        );
    }
    (vec![expected_line.clone()], vec![expected_line])
}

/// What the call should have returned, and what it did; a problem when they differ.
fn returns(
    call: &CallRecord,
    expected: &Expected,
    last: Option<&Arrival>,
    problems: &mut Problems,
) -> (String, String) {
    let expected_line = match (expected.returns, last) {
        (Returns::LastResponse, Some(Arrival { step: Step::Reply { status, .. }, .. })) => {
            format!("returns Ok({status}), the last response as it came")
        }
        (Returns::LastResponse, _) => "returns Ok(the last response, as it came)".into(),
        (Returns::Error, _) => "returns Err(the last error)".into(),
    };
    let came = match &call.outcome {
        CallOutcome::Came(came) => came,
        CallOutcome::Panicked(message) => {
            problems.runaway.push(format!("get_with_retry panicked: {message}"));
            return (expected_line, format!("panicked: {message}"));
        }
        CallOutcome::TimedOut(limit) => {
            let problem = format!(
                "get_with_retry was still running after {} s and was stopped",
                limit.as_secs()
            );
            problems.runaway.push(problem.clone());
            return (expected_line, problem);
        }
        CallOutcome::Capped(cap) => {
            let problem =
                format!("stopped after {cap} requests: the client does not stop retrying");
            problems.runaway.push(problem.clone());
            return (expected_line, problem);
        }
    };
    let problem = match (expected.returns, &came.returned) {
        (Returns::Error, Err(_)) => return (expected_line.clone(), expected_line),
        (Returns::Error, Ok(response)) => {
            format!("returned a {} where the last error was expected", response.status)
        }
        (Returns::LastResponse, Err(error)) => match last {
            Some(Arrival { step: Step::Reply { status, .. }, .. }) if *status >= 500 => format!(
                "returned {} where the last response ({status}) should come back as it is: \
                 attempts ran out, which is not an error of the client's",
                call::short(error)
            ),
            _ => format!("returned {} instead of the response", call::short(error)),
        },
        (Returns::LastResponse, Ok(response)) => {
            match last.map(|last| response_problem(response, last)) {
                None => format!("returned a {} but the server sent nothing", response.status),
                Some(None) => return (expected_line.clone(), expected_line),
                Some(Some(problem)) => problem,
            }
        }
    };
    let actual_line = match &came.returned {
        Ok(response) => format!("returns Ok({})", response.status),
        Err(error) => format!("returns {}", call::short(error)),
    };
    problems.returns.push(problem);
    (expected_line, actual_line)
}

/// Whether `response` is the reply the server sent for `last`, intact.
fn response_problem(response: &SeenResponse, last: &Arrival) -> Option<String> {
    let Step::Reply { status, .. } = last.step else {
        return Some(format!(
            "returned a {}, but the last attempt got no response",
            response.status
        ));
    };
    if response.status != status {
        return Some(format!("returned a {} instead of the {status}", response.status));
    }
    let tag = response
        .headers
        .iter()
        .find(|(name, _)| name == "x-response-id")
        .map(|(_, value)| value.as_str());
    if tag != last.tag.as_deref() {
        return Some(format!(
            "returned a {status}, but not the last response the server sent (its x-response-id is {}, the last one's {})",
            tag.unwrap_or("missing"),
            last.tag.as_deref().unwrap_or("missing")
        ));
    }
    match &response.body {
        Ok(body) if *body == last.body => None,
        Ok(_) => Some(format!(
            "returned the last {status}, but with another body: return the response as it came"
        )),
        Err(problem) => {
            Some(format!("returned the last {status}, but its body could not be read ({problem})"))
        }
    }
}

fn lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}
