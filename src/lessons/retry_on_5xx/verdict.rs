//! Judges a played scenario: each call's requests, waits and result against what the rules
//! demand (a failure shows both request logs as a diff, and a timeline), then the calls
//! together (growth over long outages, waits past 2^32, the spread of a herd's waits).

use std::time::Duration;

use super::plan::{
    Asked, CLIENT_TIMEOUT, ENDLESS_SENT, ENDLESS_TIMEOUT, Scenario, Step, Target, Together,
};
use super::play::{Outcome, PlayedCall};
use super::rules::{Expected, Returns, expected, step, wait_before};
use crate::judge::bounds::{AT_ONCE, Bound, Lateness, Timing, late, millis};
use crate::judge::confirm::Cause;
use crate::judge::http_date::DateForm;
use crate::judge::schedule::{self, Sample, Wait, backoff};
use crate::judge::upstream::Seen;
use crate::judge::{Evidence, Failure};

/// What is wrong with a scenario, most telling first.
#[derive(Debug, Default)]
struct Problems {
    runaway: Vec<String>,
    requests: Vec<String>,
    /// Waits cut short: never a busy machine's doing.
    waits: Vec<String>,
    returns: Vec<String>,
    /// Waits too long: told last, since a busy moment can make them of a right answer too.
    late: Vec<String>,
}

impl Problems {
    fn count(&self) -> usize {
        [&self.runaway, &self.requests, &self.waits, &self.returns, &self.late]
            .iter()
            .map(|problems| problems.len())
            .sum()
    }

    fn most_telling(self) -> Option<String> {
        [self.runaway, self.requests, self.waits, self.returns, self.late]
            .into_iter()
            .flatten()
            .next()
    }
}

/// The judge's and the client's request logs, line by line.
#[derive(Debug, Default)]
struct Logs {
    expected: Vec<String>,
    actual: Vec<String>,
}

impl Logs {
    fn both(&mut self, line: String) {
        self.expected.push(line.clone());
        self.actual.push(line);
    }
}

/// How many of a scenario's calls that went wrong its diff shows.
const SHOWN_CALLS: usize = 4;

/// The least `base_delay` on which a call's one attempt is judged for coming at once: a backoff
/// slept before it, jittered below `base_delay`, runs past a round trip on most calls there
/// (the starter's one attempt, on a 20 ms base, came 162 ms after its call beside two CPU hogs).
const FIRST_ATTEMPT_TELLS: Duration = Duration::from_millis(300);

/// A scenario's verdict, and whether a pass could be a busy machine's doing.
pub(super) struct Judgement {
    /// What failed, and why: [`Cause::Busy`] where the only problems are waits too long and
    /// the machine ran too late meanwhile to tell ([`Lateness::too_busy`]).
    pub(super) failure: Option<(Failure, Cause)>,
    /// The longest waits came near their bounds only with the lateness measured meanwhile left
    /// in (waits drawn from below their bounds could pass so), or a herd's waits differ by no
    /// more than it (waits drawn alike could). Such a pass is played again.
    pub(super) busy: bool,
}

/// Judges `calls`; `lateness` says how late the machine ran meanwhile (a wait may run over its
/// bound by as much). A failure comes with its cause: a call that panicked or never returned
/// is a broken rule; anything else might be a busy moment's doing, and is played again.
pub(super) fn judge(scenario: &Scenario, calls: &[PlayedCall], lateness: &Lateness) -> Judgement {
    let mut samples: Vec<Vec<(usize, Sample)>> = Vec::new();
    let (failure, only_late) = judged(scenario, calls, lateness, &mut samples);
    let busy = failure.is_none() && passed_busy(scenario, calls, &samples, lateness);
    let span = calls.iter().map(|call| call.started).min().zip(calls.iter().map(|c| c.ended).max());
    let too_busy = span.is_some_and(|(from, to)| lateness.too_busy(from, to));
    let failure = failure.map(|(failure, cause)| match cause {
        Cause::Timing if only_late && too_busy => (failure, Cause::Busy),
        cause => (failure, cause),
    });
    Judgement { failure, busy }
}

/// [`judge`]'s failure, and whether waits too long are all it found; each call's backoff waits
/// are left in `samples`.
fn judged(
    scenario: &Scenario,
    calls: &[PlayedCall],
    lateness: &Lateness,
    samples: &mut Vec<Vec<(usize, Sample)>>,
) -> (Option<(Failure, Cause)>, bool) {
    let (mut problems, mut logs) = (Problems::default(), Logs::default());
    let mut wrong = 0;
    // A herd is judged on the spread of its waits alone, never on their length: how busy the
    // machine is lengthens waits, and a herd must not fail for that.
    let timed =
        !matches!(scenario.together, Together::Spread | Together::Afresh | Together::Untimed);
    // Long outages are judged in aggregate; only a wait cut short is judged one by one there.
    let each_wait_bounded = matches!(
        scenario.together,
        Together::Alone | Together::Reaching | Together::Capped | Together::TimedOut
    );
    for call in calls {
        let (expected, before, mut log) =
            (expected(&call.planned), problems.count(), Logs::default());
        samples.push(Vec::new());
        match call.planned.target {
            Target::Scripted => {
                let waits =
                    if timed { Some((&mut problems.waits, &mut problems.late)) } else { None };
                requests(
                    call,
                    &expected,
                    &mut problems.requests,
                    waits,
                    &mut log,
                    samples.last_mut().expect("pushed for this call"),
                    (lateness, each_wait_bounded),
                );
            }
            Target::Refused => refused(call, &expected, &mut problems, &mut log, lateness),
            Target::Unsendable(url) => unsendable(call, url, &mut problems, &mut log, lateness),
        }
        returned(call, &expected, &mut problems, &mut log);
        // Only the calls that went wrong are shown, and only the first few: a diff of a dozen
        // right ones, or of sixty-four that went wrong alike, says nothing more.
        if problems.count() > before {
            if wrong < SHOWN_CALLS {
                logs.expected.append(&mut log.expected);
                logs.actual.append(&mut log.actual);
            }
            wrong += 1;
        }
    }
    if wrong > SHOWN_CALLS {
        logs.both(format!("… and {} more calls that went wrong", wrong - SHOWN_CALLS));
    }
    let single = match calls {
        [call] if call.planned.target == Target::Scripted => Some(call),
        _ => None,
    };
    let cause = if problems.runaway.is_empty() { Cause::Timing } else { Cause::Rule };
    // A wait too long may be a busy moment's doing; waits that never come near their bounds
    // cannot be (a busy moment only lengthens them), so when both are seen, that is told first.
    let reaching = matches!(scenario.together, Together::Reaching | Together::Capped);
    let only_late = !problems.late.is_empty() && problems.count() == problems.late.len();
    if reaching
        && only_late
        && let Some(short) = together(scenario, calls, samples, lateness)
    {
        return (Some(short), false);
    }
    let Some(summary) = problems.most_telling() else {
        return (together(scenario, calls, samples, lateness), false);
    };
    let failure = Failure::of(summary)
        .with(Evidence::Diff { expected: lines(&logs.expected), actual: lines(&logs.actual) });
    let failure = match single {
        Some(call) => failure.with(timeline(call)),
        None => failure,
    };
    (Some((failure, cause)), only_late)
}

/// Whether the longest waits of `samples` came near their bounds only with the machine's
/// lateness left in, or waits that must differ (a herd's, a bound's in many calls) or be long
/// enough (after a timeout) only by as much as it (see [`Judgement::busy`]).
fn passed_busy(
    scenario: &Scenario,
    calls: &[PlayedCall],
    samples: &[Vec<(usize, Sample)>],
    lateness: &Lateness,
) -> bool {
    let on_time = samples.iter().flatten().map(|(_, sample)| sample.without_lateness());
    match scenario.together {
        Together::Reaching => schedule::top_reach(&on_time.collect::<Vec<_>>()).is_some(),
        Together::Capped => capped_short(calls, on_time).is_some(),
        Together::Afresh => schedule::pile_smeared_by_lateness(&per_call(samples)),
        Together::TimedOut => {
            let d = calls.first().map(|call| call.planned.policy.base_delay).unwrap_or_default();
            let firsts: Vec<Sample> =
                calls.iter().filter_map(|call| first_sample(call, lateness)).collect();
            schedule::timeouts_waited_by_lateness(d, &firsts)
        }
        Together::Spread => {
            herds(calls, |call| first_sample(call, lateness)).iter().any(|(_, herd)| {
                herd.first()
                    .is_some_and(|first| schedule::herd_spread_by_lateness(first.nominal, herd))
            })
        }
        _ => false,
    }
}

/// The calls judged together, once each passed on its own. Every such failure is played again
/// before it is believed: a busy machine can stamp waits alike (the judge's server held up
/// while retries queue, then reading them all in one instant), and a wrong answer fails every
/// play (a constant seed, a share reused, a wait left unjittered).
fn together(
    scenario: &Scenario,
    calls: &[PlayedCall],
    samples: &[Vec<(usize, Sample)>],
    lateness: &Lateness,
) -> Option<(Failure, Cause)> {
    let cause = Cause::Timing;
    let pooled: Vec<Sample> = samples.iter().flatten().map(|(_, sample)| *sample).collect();
    let failure = match scenario.together {
        Together::Alone | Together::Untimed => None,
        Together::Reaching => schedule::reach_all(&samples.concat()).map(Failure::of),
        Together::Growth => schedule::growth(&pooled).map(|problem| {
            let rows: Vec<String> = pooled
                .iter()
                .take(30)
                .map(|sample| {
                    format!("{:>5} of ≤ {}", millis(sample.waited), millis(sample.nominal))
                })
                .collect();
            Failure::of(problem).with(Evidence::Text {
                title: "the first waits (measured, of the bound d)".into(),
                body: rows.join("\n"),
            })
        }),
        Together::TimedOut => {
            let d = calls.first()?.planned.policy.base_delay;
            let firsts: Vec<Duration> = calls.iter().filter_map(first_wait).collect();
            schedule::waited_after_timeouts(d, &firsts).map(Failure::of)
        }
        Together::Capped => {
            let cap = calls.first()?.planned.policy.max_delay;
            capped_short(calls, pooled.iter().copied()).map(|(longest, judged)| {
                Failure::of(format!(
                    "over {judged} waits where backoff reaches max_delay ({}), the longest came to \
                     {:.0} % of it: jitter draws below max_delay itself, so over so many waits \
                     some come within a tenth of it; waits that never do are capped below it",
                    millis(cap),
                    longest * 100.0
                ))
            })
        }
        Together::StaysAtCap => {
            let cap = calls.first().map(|call| call.planned.policy.max_delay).unwrap_or_default();
            let waits: Vec<Vec<Duration>> =
                calls.iter().map(|call| schedule::waits(&call.seen)).collect();
            schedule::stays_at_cap(cap, &waits).map(Failure::of)
        }
        Together::Afresh => {
            let per_call = per_call(samples);
            schedule::piled_up(&per_call)
                .or_else(|| schedule::never_below(&per_call))
                .or_else(|| schedule::drawn_afresh(&per_call, schedule::THREE_WAITS))
                .map(Failure::of)
        }
        // Calls that failed alike are a herd of their own: a scenario may hold herds that
        // failed in different ways (Retry-After: 0 and a date past), each to be spread.
        Together::Spread => {
            let d = calls.first()?.planned.policy.base_delay;
            let herds = herds(calls, |call| first_sample(call, lateness));
            herds.iter().find_map(|(failed, samples)| {
                let waits: Vec<Duration> = samples.iter().map(|sample| sample.waited).collect();
                // Clients that did not wait at all waited alike too: that is told first, and
                // of waits alike, also where only the machine's lateness kept them from looking
                // like none (a busy machine held every refused client's retry up 64-104 ms).
                let problem = schedule::came_straight_back(d, &waits).or_else(|| {
                    let alike = schedule::jittered(d, &waits)?;
                    let on_time: Vec<Duration> =
                        samples.iter().map(|sample| sample.without_lateness().waited).collect();
                    let (least, most) = (waits.iter().min()?, waits.iter().max()?);
                    let late = samples.iter().map(|sample| sample.late).max()?;
                    Some(schedule::came_straight_back(d, &on_time).map_or(alike, |problem| {
                        format!(
                            "{problem} (as measured, they came back {}–{} ms after it, on a \
                             machine that ran up to {} late meanwhile, which is taken off)",
                            least.as_millis(),
                            most.as_millis(),
                            millis(late)
                        )
                    }))
                })?;
                Some(Failure::of(match failed {
                    Some(step) if herds.len() > 1 => {
                        format!("{problem} (each answered {})", answered(*step))
                    }
                    _ => problem,
                }))
            })
        }
    };
    failure.map(|failure| (failure, cause))
}

/// The calls of a [`Together::Spread`] scenario in herds, by the answer they failed on (none, for
/// a refused connection), each call as `first` sees it (calls it sees nothing of are left out).
fn herds<T>(
    calls: &[PlayedCall],
    first: impl Fn(&PlayedCall) -> Option<T>,
) -> Vec<(Option<Step>, Vec<T>)> {
    let mut herds: Vec<(Option<Step>, Vec<T>)> = Vec::new();
    for call in calls {
        let failed = call.planned.script.first().copied();
        let Some(seen) = first(call) else { continue };
        match herds.iter_mut().find(|(step, _)| *step == failed) {
            Some((_, herd)) => herd.push(seen),
            None => herds.push((failed, vec![seen])),
        }
    }
    herds
}

/// Each call's samples, without their retries' numbers.
fn per_call(samples: &[Vec<(usize, Sample)>]) -> Vec<Vec<Sample>> {
    samples.iter().map(|call| call.iter().map(|(_, sample)| *sample).collect()).collect()
}

/// A call's first wait, with the lateness measured around it.
fn first_sample(call: &PlayedCall, lateness: &Lateness) -> Option<Sample> {
    let waited = first_wait(call)?;
    let retried = call.seen.get(1)?.at;
    let late = lateness.during(retried.checked_sub(waited).unwrap_or(retried), retried);
    Some(Sample { waited, nominal: call.planned.policy.base_delay, late })
}

/// How far short of `max_delay` the longest of the waits at it came, and over how many, when
/// they never came near it (see [`schedule::top_short`]).
fn capped_short(
    calls: &[PlayedCall],
    samples: impl Iterator<Item = Sample>,
) -> Option<(f64, usize)> {
    let cap = calls.first()?.planned.policy.max_delay;
    let at_cap: Vec<Sample> = samples.filter(|sample| sample.nominal == cap).collect();
    schedule::top_short(&at_cap, schedule::TOP_FEWEST_REPLAYED)
}

pub(super) fn first_wait(call: &PlayedCall) -> Option<Duration> {
    schedule::waits(&call.seen).first().copied()
}

/// The call's requests at its scripted server against the rules: count, method, URL, waits.
fn requests(
    call: &PlayedCall,
    expected: &Expected,
    problems: &mut Vec<String>,
    mut timing: Option<(&mut Vec<String>, &mut Vec<String>)>,
    logs: &mut Logs,
    samples: &mut Vec<(usize, Sample)>,
    (measured, bounded): (&Lateness, bool),
) {
    // Each wait is bounded where the scenario's waits are judged one by one; every sample keeps
    // the lateness measured around it, which the rules over many waits allow for.
    let lateness = bounded.then_some(measured);
    let policy = &call.planned.policy;
    let endless = |number: usize| matches!(step(&call.planned, number), Some(Step::Endless(_)));
    let waits = schedule::waits(&call.seen);
    let rule = |retry: usize| -> Option<Wait> {
        wait_before(retry, step(&call.planned, retry)?, call.seen.get(retry - 1), policy)
    };
    for attempt in 1..=expected.attempts {
        let answer = step(&call.planned, attempt).map_or_else(String::new, answered);
        let wait = match attempt {
            1 => String::new(),
            _ => rule(attempt - 1).map_or_else(|| " · after the date it gave".into(), wanted),
        };
        logs.expected.push(format!("#{attempt} GET {} → {answer}{wait}", call.target));
    }
    for (index, seen) in call.seen.iter().enumerate() {
        let number = index + 1;
        let answer = step(&call.planned, number).map_or_else(String::new, answered);
        let mut line = format!("#{number} {} {} → {answer}", seen.method, seen.target);
        if seen.method != "GET" {
            problems.push(format!("request #{number} was a {}, not a GET", seen.method));
        } else if seen.target != call.target {
            problems.push(format!(
                "request #{number} asked for {}, not the URL it was given ({})",
                seen.target, call.target
            ));
        }
        let before = index.checked_sub(1).map(|at| waits[at]);
        if let Some((waited, wait)) = before.zip(if index > 0 { rule(index) } else { None }) {
            let (mut early, mut too_late) = (Vec::new(), Vec::new());
            let from = seen.at.checked_sub(waited).unwrap_or(seen.at);
            let late = lateness.map(|lateness| lateness.during(from, seen.at));
            if endless(index)
                && let Some(held) = read_on(&call.seen[index - 1], wait, late)
            {
                // Not a wait judged too long but a rule broken, told before any wait: no busy
                // moment keeps a connection open until the client's timeout.
                problems.push(format!(
                    "request #{number} came {} after the head of a 5xx whose body never ends \
                     ({} MiB at once, then nothing): the client read on into it for {} before \
                     letting go. Read at most a few KiB of an error body before a retry, then \
                     let it go",
                    millis(waited),
                    ENDLESS_SENT >> 20,
                    millis(held)
                ));
                line.push_str(&format!(" · after {} (read on into the body)", millis(waited)));
            } else {
                let (early, too_late) = match timing.as_mut() {
                    Some((early, too_late)) => (&mut **early, &mut **too_late),
                    None => (&mut early, &mut too_late),
                };
                line.push_str(&judged_wait(number, waited, wait, late, early, too_late));
                if let Wait::Backoff(nominal) = wait {
                    let late = measured.during(from, seen.at);
                    samples.push((index, Sample { waited, nominal, late }));
                }
            }
        }
        if let (Some(Step::Silence), Some(ended), Some((early, too_late))) =
            (step(&call.planned, number), seen.ended, timing.as_mut())
        {
            // The request may have reached the judge late (so that it seems held for less):
            // the lateness counted reaches back a client timeout before it arrived.
            let since = seen.at.checked_sub(CLIENT_TIMEOUT).unwrap_or(seen.at);
            let late = lateness.map_or(Duration::MAX, |lateness| lateness.during(since, ended));
            if let Some((timing, problem)) =
                gave_up(number, ended.saturating_duration_since(seen.at), late)
            {
                line.push_str(&format!(" · {problem}"));
                match timing {
                    Timing::Early => early.push(problem),
                    _ => too_late.push(problem),
                }
            }
        }
        logs.actual.push(line);
    }
    // Nothing is due before a first attempt: where it is the only one, on a base_delay long
    // enough that a backoff slept before it shows, it comes within a round trip to the learner's
    // process, however late the machine ran. On a short base_delay it is not judged: the play
    // starts dozens of calls together, and on a busy machine the last of them reach the wire
    // later than such a backoff would have them.
    if let (Some(first), Some((_, too_late)), Some(lateness), 1) =
        (call.seen.first(), timing.as_mut(), lateness, expected.attempts)
        && call.planned.policy.base_delay >= FIRST_ATTEMPT_TELLS
    {
        let took = first.at.saturating_duration_since(call.started);
        let bound = Bound::no_wait().later_by(lateness.during(call.started, first.at));
        if !bound.holds(took) {
            too_late.push(format!(
                "the first attempt came {} after get_with_retry was called, more than {bound}: \
                 nothing is due before the first attempt (backoff comes between attempts)",
                millis(took)
            ));
        }
    }
    match &call.outcome {
        Outcome::Panicked(_) | Outcome::TimedOut(_) => {}
        _ if call.seen.len() != expected.attempts => problems.push(count_problem(call, expected)),
        Outcome::Came(_) => {
            let Some((_, too_late)) = timing else { return };
            let Some(last) = call.seen.last() else { return };
            // A request the server never answered ended when the client gave up on it; until
            // the server has seen that, there is nothing to measure from.
            let silent = step(&call.planned, call.seen.len()) == Some(Step::Silence);
            let Some(answered) = last.ended.or((!silent).then_some(last.at)) else { return };
            let lingered = call.ended.saturating_duration_since(answered);
            let late =
                lateness.map_or(Duration::MAX, |lateness| lateness.during(answered, call.ended));
            if lingered > AT_ONCE.saturating_add(late) {
                too_late.push(format!(
                    "returned {} after the last response: there is no point waiting after the final attempt",
                    millis(lingered)
                ));
            }
        }
        Outcome::RanAway => {}
    }
}

/// How long the client held `head`, a 5xx whose body never ends, when it held it past the moment
/// its retry was due (`wait`'s bound, plus the machine's lateness) and close to the timeout it
/// was handed: it read on into the body until its timeout cut it off. One that drops the
/// response unread hangs up at once; one that holds it through its sleep hangs up as it retries,
/// which a busy machine can delay by hundreds of milliseconds, but not to the timeout. Not
/// judged where waits are not bounded (`late` is `None`).
fn read_on(head: &Seen, wait: Wait, late: Option<Duration>) -> Option<Duration> {
    let due = wait.bound().later_by(late?).at_most;
    let held = head.ended?.saturating_duration_since(head.at);
    (held > due && held >= ENDLESS_TIMEOUT.mul_f64(READ_ON_TILL)).then_some(held)
}

/// How much of its timeout a client must have held an endless body for [`read_on`] to say it
/// read on: what is left is the way of its request to the judge.
const READ_ON_TILL: f64 = 0.8;

/// What is wrong with when the client gave up on request `number`, which the server never
/// answered, `held` after it arrived: at the timeout of the client it was handed (the
/// caller's choice), or somewhat less (the request took a moment to arrive), never a fifth
/// sooner, and no later than the machine's lateness allows.
fn gave_up(number: usize, held: Duration, lateness: Duration) -> Option<(Timing, String)> {
    let caller = millis(CLIENT_TIMEOUT);
    if held.saturating_add(lateness) < CLIENT_TIMEOUT.mul_f64(0.8) {
        return Some((
            Timing::Early,
            format!(
                "request #{number} was given up {} after it arrived, before the {caller} timeout of \
             the client it was handed: use that client as it is, its timeout is the caller's",
                millis(held)
            ),
        ));
    }
    (held > late(CLIENT_TIMEOUT).saturating_add(lateness)).then(|| {
        (
            Timing::Late,
            format!(
                "request #{number} was given up {} after it arrived, though the client it was \
             handed times out after {caller}: use that client as it is, its timeout is the \
             caller's",
                millis(held)
            ),
        )
    })
}

/// A wait in its bound reads exactly as the expected log has it, so the diff stays quiet about
/// it; one outside shows what was measured. `late` is how late the machine ran meanwhile, or
/// `None` when only a wait cut short is judged.
fn judged_wait(
    number: usize,
    waited: Duration,
    wait: Wait,
    late: Option<Duration>,
    early: &mut Vec<String>,
    too_late: &mut Vec<String>,
) -> String {
    let bound = match late {
        Some(late) => wait.bound().later_by(late),
        None => Bound { at_most: Duration::MAX, ..wait.bound() },
    };
    let timing = bound.judge(waited);
    let problem = match (timing, wait) {
        (Timing::InTime, _) => return wanted(wait),
        (Timing::Early, Wait::Asked(asked) | Wait::AskedUnderBackoff(asked, _)) => {
            format!(
                "waited only {} before request #{number}: the server asked for {}",
                millis(waited),
                millis(asked)
            )
        }
        (Timing::Late, Wait::Asked(asked) | Wait::AskedUnderBackoff(asked, _)) => format!(
            "waited {} before request #{number}: the server asked for {} (a little more is fine, not {})",
            millis(waited),
            millis(asked),
            millis(waited.saturating_sub(asked))
        ),
        (_, Wait::Backoff(nominal)) => format!(
            "waited {} before request #{number}: backoff allows at most {} there (base_delay × \
             2^(n−1), capped at max_delay; jitter goes below it, not above)",
            millis(waited),
            millis(nominal)
        ),
    };
    match timing {
        Timing::Late => too_late.push(problem),
        _ => early.push(problem),
    }
    format!(" · after {} (want {})", millis(waited), wanted(wait).trim_start_matches(" · after "))
}

fn wanted(wait: Wait) -> String {
    match wait {
        Wait::Backoff(nominal) => format!(" · after 0–{}", millis(nominal)),
        Wait::Asked(asked) | Wait::AskedUnderBackoff(asked, _) => {
            format!(" · after ≥ {}, as asked", millis(asked))
        }
    }
}

fn answered(step: Step) -> String {
    match step {
        Step::Status(status) => status.to_string(),
        Step::Asking(status, Asked::Seconds(seconds)) => {
            format!("{status}, Retry-After: {seconds}")
        }
        Step::Asking(status, Asked::Unreadable(value)) => {
            format!("{status}, Retry-After: {value:?}")
        }
        Step::Asking(status, Asked::Huge(value)) => format!("{status}, Retry-After: {value}"),
        Step::Asking(status, Asked::DateAhead(form)) => {
            format!("{status}, Retry-After: <a date soon, {}>", form_name(form))
        }
        Step::Asking(status, Asked::DatePast(form)) => {
            format!("{status}, Retry-After: <a date past, {}>", form_name(form))
        }
        Step::Asking(status, Asked::DateFar(form)) => {
            format!("{status}, Retry-After: <a date an hour ahead, {}>", form_name(form))
        }
        Step::Reset => "connection reset".into(),
        Step::Silence => "no answer (the client times out)".into(),
        Step::Endless(status) => format!("{status}, a body that never ends"),
    }
}

/// How a report names an HTTP-date's form.
fn form_name(form: DateForm) -> &'static str {
    match form {
        DateForm::ImfFixdate => "IMF-fixdate",
        DateForm::Rfc850 => "RFC 850 form",
        DateForm::Asctime => "asctime form",
    }
}

fn count_problem(call: &PlayedCall, expected: &Expected) -> String {
    let (made, wanted) = (call.seen.len(), expected.attempts);
    if made > wanted {
        let reason = match step(&call.planned, wanted) {
            Some(Step::Status(status)) if status < 500 => format!("a {status} must not be retried"),
            Some(Step::Asking(_, asked)) if asked.beyond(call.planned.policy.max_delay) => {
                "the Retry-After asked for more than max_delay, so the client should give up at once".into()
            }
            Some(Step::Asking(..)) => format!(
                "a Retry-After is waited out, and the retry after it counts as an attempt: max_attempts allows {wanted} in all"
            ),
            _ => format!("max_attempts allows {wanted} in all, the first included"),
        };
        format!("made {made} requests or more, {wanted} expected: {reason}")
    } else if made == 0 {
        format!("made no request at all, {wanted} expected")
    } else if made == 1 {
        format!("never retried: made 1 request, {wanted} expected")
    } else {
        format!("gave up too soon: made {made} requests, {wanted} expected")
    }
}

/// Nothing listens, so no server sees the attempts: the client's host lookups, of which the
/// judge's server hears, count them (one per connection it tries to open), and the time from
/// the first refusal to the call's return bounds the waits.
fn refused(
    call: &PlayedCall,
    expected: &Expected,
    problems: &mut Problems,
    logs: &mut Logs,
    lateness: &Lateness,
) {
    let attempts = expected.attempts;
    let most: Duration =
        (1..attempts).map(|retry| backoff(&call.planned.policy, retry as u32)).sum();
    let expected_line = format!(
        "{attempts} connection attempts, refused, with 0–{} of waiting in all",
        millis(most)
    );
    let made = call.seen.len();
    let ran_away = matches!(call.outcome, Outcome::RanAway);
    if !ran_away && !matches!(call.outcome, Outcome::Came(_)) {
        return logs.both(expected_line);
    }
    // A herd's first refusals are held back a moment (see `play::serve`): counted from the
    // first one, the time is the client's own.
    let first_refused =
        call.seen.first().map_or(call.started, |seen| seen.ended.unwrap_or(seen.at));
    let spent = call.ended.saturating_duration_since(first_refused);
    if made == 0 {
        problems.requests.push(
            "made no connection attempt through the client it was given: use the `client` \
             parameter, whose settings (its timeout) the caller chose"
                .into(),
        );
    } else if made != attempts || ran_away {
        let or_more = if ran_away { " or more" } else { "" };
        problems.requests.push(format!(
            "made {made}{or_more} connection attempt(s), {attempts} expected: max_attempts allows \
             {attempts} in all, and a refused connection is worth retrying"
        ));
    } else if spent > late(most) + AT_ONCE + lateness.during(first_refused, call.ended) {
        problems.late.push(format!(
            "took {} from the first refusal; the backoff allows at most {}",
            millis(spent),
            millis(most)
        ));
    } else {
        return logs.both(expected_line);
    }
    logs.expected.push(expected_line);
    logs.actual.push(format!("{made} connection attempts, refused, in {}", millis(spent)));
}

/// A URL no client can send must come back at once: retrying it cannot help.
fn unsendable(
    call: &PlayedCall,
    url: &str,
    problems: &mut Problems,
    logs: &mut Logs,
    lateness: &Lateness,
) {
    let expected_line = format!("get_with_retry({url:?}) → an error at once, no retry");
    let spent = call.ended.saturating_duration_since(call.started);
    let at_once = AT_ONCE + lateness.during(call.started, call.ended);
    if matches!(call.outcome, Outcome::Panicked(_)) || spent <= at_once {
        return logs.both(expected_line);
    }
    // A matter of timing, played again before it counts: a machine that stalls the learner's
    // process (a quarter of a second, seen beside two hogs and a build) makes "at once" late,
    // where a client that retries it waits its backoff in every play.
    problems.requests.push(format!(
        "took {} to give up on {url:?}: a request that cannot be built (is_builder()) was \
         retried, or waited for",
        millis(spent)
    ));
    logs.expected.push(expected_line);
    logs.actual.push(format!("get_with_retry({url:?}) → an error after {}", millis(spent)));
}

/// What the call should have returned, and what it did.
fn returned(call: &PlayedCall, expected: &Expected, problems: &mut Problems, logs: &mut Logs) {
    let last = call.seen.last();
    let expected_line = match (expected.returns, step(&call.planned, expected.attempts)) {
        (Returns::Response, Some(Step::Status(status) | Step::Asking(status, _))) => {
            format!("returns Ok({status}), the last response as it came")
        }
        (Returns::Response, _) => "returns Ok(the last response, as it came)".into(),
        (Returns::Error, _) => "returns Err(the last error)".into(),
    };
    let came = match &call.outcome {
        Outcome::Came(came) => came,
        Outcome::Panicked(message) => {
            problems.runaway.push(format!("get_with_retry panicked: {message}"));
            logs.expected.push(expected_line);
            return logs.actual.push(format!("panicked: {message}"));
        }
        Outcome::TimedOut(limit) => {
            let problem = format!(
                "get_with_retry was still running after {} and was stopped",
                millis(*limit)
            );
            if !matches!(call.planned.target, Target::Unsendable(_)) {
                problems.runaway.push(problem.clone());
            }
            logs.expected.push(expected_line);
            return logs.actual.push(problem);
        }
        Outcome::RanAway => {
            logs.expected.push(expected_line);
            return logs.actual.push("(still retrying: the judge stopped waiting)".into());
        }
    };
    let problem = match (expected.returns, &came.returned) {
        (Returns::Error, Err(error)) => match step(&call.planned, expected.attempts) {
            Some(Step::Silence) if !error.timeout => Some(format!(
                "returned {}, not the timeout the last attempt ended in: return the last error",
                schedule::returned(&Err(error.clone()))
            )),
            Some(Step::Reset) if error.timeout => Some(
                "returned a timeout, not the reset the last attempt ended in: return the last error"
                    .to_string(),
            ),
            _ => None,
        },
        (Returns::Error, Ok(response)) => {
            Some(format!("returned a {} where the last error was expected", response.status))
        }
        (Returns::Response, Err(error)) => {
            Some(match last.and_then(|seen| seen.reply.status_code()) {
                Some(status) if status >= 500 => format!(
                    "returned {} where the last response ({status}) should come back as it is: \
                 attempts ran out, which is not an error of the client's",
                    schedule::returned(&Err(error.clone()))
                ),
                _ => format!(
                    "returned {} instead of the response",
                    schedule::returned(&Err(error.clone()))
                ),
            })
        }
        (Returns::Response, Ok(response)) => match last {
            None => Some(format!("returned a {} but the server sent nothing", response.status)),
            Some(last) => schedule::returned_as_sent(response, last),
        },
    };
    match problem {
        None => logs.both(expected_line),
        Some(problem) => {
            problems.returns.push(problem);
            logs.expected.push(expected_line);
            logs.actual.push(format!("returns {}", schedule::returned(&came.returned)));
        }
    }
}

fn lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// A call's requests on a time axis, beside the schedule the rules describe at its longest.
fn timeline(call: &PlayedCall) -> Evidence {
    let origin = call.seen.first().map_or(call.started, |first| first.at);
    let yours: Vec<Duration> =
        call.seen.iter().map(|seen| seen.at.saturating_duration_since(origin)).collect();
    let mut nominal = vec![Duration::ZERO];
    for retry in 1..expected(&call.planned).attempts {
        let wait = step(&call.planned, retry)
            .and_then(|before| {
                wait_before(retry, before, call.seen.get(retry - 1), &call.planned.policy)
            })
            .unwrap_or(Wait::Backoff(backoff(&call.planned.policy, retry as u32)));
        nominal.push(nominal[retry - 1] + wait.nominal());
    }
    schedule::timeline(&yours, &nominal)
}
