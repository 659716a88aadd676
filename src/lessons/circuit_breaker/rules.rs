//! The breaker's rules, written once as a [`Model`]: for each step of a walk, what the learner's
//! service may answer (status, body, `Retry-After`, how fast), whether the inventory may be
//! asked, and where that leaves the breaker. The judge knows spans, not instants (when a request
//! went and came back, when the inventory saw it): a step that falls where either state is
//! possible is accepted either way.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use httplings::BreakerPolicy;

use super::plan::{Fault, Item, Script};
use super::walk::{Act, Got, Observed, Step};
use crate::judge::Evidence;
use crate::judge::answer::{Answer, Shown, brief, error_problem, expected_error};
use crate::judge::bounds::{AT_ONCE, Bound, CLOCK_GRAIN, LATE_FLOOR, Timing, millis};
use crate::judge::model::Model;

/// Each rule is one check of the lesson, in the order of its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rule {
    Closed,
    Opens,
    Counts,
    NotFound,
    RetryAfter,
    OneTrial,
    Closes,
    Reopens,
    Abandoned,
    Live,
    Ready,
    Draining,
    NoQueue,
}

/// A step the rules do not accept: which rule, what happened, and a diff where it helps.
#[derive(Debug, Clone)]
pub(super) struct Broken {
    pub(super) rule: Rule,
    pub(super) why: String,
    pub(super) evidence: Option<Evidence>,
}

fn broken(rule: Rule, why: impl Into<String>) -> Broken {
    Broken { rule, why: why.into(), evidence: None }
}

impl Broken {
    fn showing(mut self, expected: &Shown, got: &Got) -> Self {
        let retry_after = expected.render().contains("\nretry-after:");
        let names: &[&str] = if retry_after { &["content-type", "retry-after"] } else { &[] };
        let actual = Shown::of_result(&got.exchange.answer, names);
        let actual = actual.media_type_shown_as("application/json").render();
        self.evidence = Some(Evidence::Diff { expected: expected.render(), actual });
        self
    }
}

/// Between two instants: when something happened, as closely as the judge can tell.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) earliest: Instant,
    pub(super) latest: Instant,
}

/// When the learner's breaker can have learnt how a call went: not before the inventory's
/// answer was written (for a silence, before the timeout was up), and before the judge had the
/// service's answer.
pub(super) fn recorded(item: &Item, got: &Got, timeout: Duration) -> Span {
    let latest = got.exchange.received + CLOCK_GRAIN;
    let earliest = match (item.script.delay(), got.asked.first()) {
        (Some(delay), Some(seen)) => seen.at + delay,
        _ => (got.exchange.sent + timeout).checked_sub(CLOCK_GRAIN).unwrap_or(got.exchange.sent),
    };
    Span { earliest: earliest.min(latest), latest }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Threshold,
    FailedTrial,
    HungUp,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// `failures` in a row; as many had 404s counted too (`with_404`), or had no success
    /// reset the count since the breaker closed (`ever`).
    Closed {
        failures: u32,
        with_404: u32,
        ever: u32,
    },
    Open {
        from: Span,
        cause: Cause,
    },
    /// Half-open: the trial for `id` under way, its outcome not known before `ends`; `rival`:
    /// another request reached the inventory as it ended.
    Trial {
        id: u32,
        ends: Instant,
        after: Cause,
        rival: bool,
    },
    /// The trial lost its client: the next request may be the trial, or a new cooldown runs.
    HungUp {
        at: Span,
    },
}

const CLOSED: State = State::Closed { failures: 0, with_404: 0, ever: 0 };

/// A call let through, its outcome still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flight {
    /// Let through while closed, in this epoch: an outcome from an older one is late.
    Closed(u32),
    Trial,
    /// Let through as a trial ended: closed if it succeeded, a second trial if it failed.
    Tentative,
}

/// The breaker, by the rules.
#[derive(Debug, Clone)]
pub(super) struct Breaker {
    policy: BreakerPolicy,
    timeout: Duration,
    start: Instant,
    state: State,
    draining: bool,
    flying: Vec<(u32, Flight)>,
    epoch: u32,
    /// Whether a trial closed the breaker, and it has not opened since.
    trial_closed: bool,
    /// A request let through before the breaker opened, back with a success after.
    late_success: Option<u32>,
    /// A request let through before the breaker last opened, back failing once it had closed
    /// again, and no success since.
    late_failure: Option<u32>,
    /// A request whose client hung up while the breaker was closed, with nothing counted since:
    /// named when the breaker is then found open, as a hang-up taken for a failure.
    hung_up: Option<u32>,
    /// Every rule seen to hold at least once.
    pub(super) judged: BTreeSet<Rule>,
    /// The widest span in which the breaker can have opened: how closely, at worst, the judge
    /// could tell when a cooldown started.
    pub(super) widest_opening: Duration,
}

impl Breaker {
    pub(super) fn new(policy: BreakerPolicy, timeout: Duration, start: Instant) -> Self {
        let (state, flying, trial_closed, judged) = (CLOSED, Vec::new(), false, BTreeSet::new());
        let (draining, epoch, late_success, late_failure) = (false, 0, None, None);
        Self {
            policy,
            timeout,
            start,
            state,
            draining,
            flying,
            epoch,
            trial_closed,
            late_success,
            late_failure,
            hung_up: None,
            judged,
            widest_opening: Duration::ZERO,
        }
    }

    /// Which rule `step` breaks, if any.
    pub(super) fn broken(&self, step: &Step, observed: &Observed) -> Option<Broken> {
        self.clone().step(step, observed).err()
    }

    fn step(&mut self, step: &Step, observed: &Observed) -> Result<(), Broken> {
        let gots = &observed.gots;
        match &step.act {
            Act::Warm(_) | Act::Live => gots.iter().try_for_each(|got| self.live(got)),
            Act::Ready => self.ready(&gots[0]),
            Act::Drain => {
                self.draining = true;
                Ok(())
            }
            Act::Ask(item) => match self.admit(item, &gots[0])? {
                Some(flight) => self.outcome(item, &gots[0], flight),
                None => Ok(()),
            },
            Act::Send(item) => self.send(item, &gots[0]),
            Act::Answer(item) => match self.flying.iter().position(|(id, _)| *id == item.id) {
                Some(at) => {
                    let (_, flight) = self.flying.remove(at);
                    self.outcome(item, &gots[0], flight)
                }
                None => Ok(()),
            },
            Act::HangUp(item) => self.hang_up(item, &gots[0]),
            Act::Burst(items) => {
                // Those that reached the inventory first, in the order they did: the first of
                // them may be the trial.
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_by_key(|&at| {
                    (gots[at].asked.is_empty(), gots[at].asked.first().map(|s| s.at))
                });
                order.into_iter().try_for_each(|at| self.send(&items[at], &gots[at]))
            }
        }
    }

    fn send(&mut self, item: &Item, got: &Got) -> Result<(), Broken> {
        if let Some(flight) = self.admit(item, got)? {
            self.flying.push((item.id, flight));
        }
        Ok(())
    }

    /// Whether the request could call the inventory, and did as it could: the call it became.
    fn admit(&mut self, item: &Item, got: &Got) -> Result<Option<Flight>, Broken> {
        let (sent, cooldown) = (got.exchange.sent, self.policy.cooldown);
        // Decided by the time it reached the inventory, or else came back.
        let decided = got.asked.first().map_or(got.exchange.received, |seen| seen.at);
        let (reached, loose) = (got.asked.len() == 1, self.loose_range());
        if got.asked.len() > 1 {
            let why = format!("the inventory was asked {} times for one request", got.asked.len());
            return Err(broken(Rule::Closed, why));
        }
        match self.state {
            State::Closed { .. } if !reached => Err(self.refused_while_closed(got)),
            State::Closed { with_404, ever, .. } => {
                if got.busy && item.script.delay() == Some(Duration::ZERO) {
                    self.at_once(got, Rule::NoQueue)?;
                    self.judged.insert(Rule::NoQueue);
                }
                // Let through where the breaker would have been open, had it counted wrong (once
                // it has been seen to open at all: a breaker that never opens proves nothing).
                let threshold = self.policy.failure_threshold;
                let opened = self.judged.contains(&Rule::Opens);
                let proved = [
                    (ever >= threshold, Rule::Counts),
                    (with_404 >= threshold, Rule::NotFound),
                    (ever >= 1 && self.trial_closed, Rule::Closes),
                ];
                let proved = proved.into_iter().filter(|(held, _)| *held && opened);
                self.judged.extend(proved.map(|(_, rule)| rule));
                Ok(Some(Flight::Closed(self.epoch)))
            }
            // Before the cooldown is over, by the earliest the breaker can have opened (a busy
            // machine only makes it later), but for the clock's grain.
            State::Open { from, cause } if decided + CLOCK_GRAIN < from.earliest + cooldown => {
                let rule = rule_of(cause);
                if reached {
                    let left =
                        millis((from.earliest + cooldown).saturating_duration_since(decided));
                    let late = self.late_success.map_or_else(String::new, |id| {
                        format!(" (a late success, GET /items/{id}, let through before it opened)")
                    });
                    return Err(broken(
                        rule,
                        format!(
                            "it reached the inventory, {left} before the cooldown was over{late}"
                        ),
                    ));
                }
                self.refuse(got, rule, self.open_range(from, got))?;
                self.judged.insert(rule);
                Ok(None)
            }
            State::Open { from, cause } if sent > from.latest + cooldown && !reached => {
                let past = millis(sent.saturating_duration_since(from.latest + cooldown));
                let rule = if cause == Cause::Threshold { Rule::OneTrial } else { rule_of(cause) };
                Err(broken(
                    rule,
                    format!("it did not reach the inventory, {past} after the cooldown was over"),
                ))
            }
            State::Open { .. } | State::HungUp { .. } if reached => {
                Ok(Some(self.start_trial(item, got)))
            }
            State::Open { .. } => self.refuse(got, Rule::OneTrial, loose).map(|()| None),
            State::Trial { ends, ref mut rival, .. } if decided >= ends && reached => {
                *rival = true;
                Ok(Some(Flight::Tentative))
            }
            State::Trial { ends, .. } if decided >= ends => {
                self.refuse(got, Rule::OneTrial, loose).map(|()| None)
            }
            State::Trial { id, after: Cause::HungUp, .. } if reached => Err(broken(
                Rule::Abandoned,
                format!(
                    "it reached the inventory after GET /items/{id} had, once a trial was abandoned"
                ),
            )),
            State::Trial { id, .. } if reached => Err(broken(
                Rule::OneTrial,
                format!("it reached the inventory while the trial, GET /items/{id}, was under way"),
            )),
            State::Trial { .. } => {
                self.refuse(got, Rule::OneTrial, self.trial_range())?;
                self.judged.insert(Rule::OneTrial);
                Ok(None)
            }
            State::HungUp { at } => {
                self.refuse(got, Rule::Abandoned, loose)?;
                // A new cooldown, counted from when the trial was lost, as from a failed one's
                // end: not from when it started.
                self.state = State::Open { from: at, cause: Cause::HungUp };
                Ok(None)
            }
        }
    }

    fn start_trial(&mut self, item: &Item, got: &Got) -> Flight {
        let after = if let State::Open { cause, .. } = self.state { cause } else { Cause::HungUp };
        if after == Cause::HungUp {
            self.judged.insert(Rule::Abandoned);
        }
        let ends = recorded(item, got, self.timeout).earliest;
        self.state = State::Trial { id: item.id, ends, after, rival: false };
        Flight::Trial
    }

    /// A refusal (or a made-up answer) while closed: which rule, by the likeliest mistake.
    fn refused_while_closed(&self, got: &Got) -> Broken {
        let State::Closed { failures, with_404, ever } = self.state else { unreachable!() };
        let (threshold, answer) = (self.policy.failure_threshold, brief(&got.exchange.answer));
        let (rule, why) = if got.exchange.status() != Some(503) {
            (Rule::Closed, String::new())
        } else if with_404 >= threshold {
            (Rule::NotFound, format!("{with_404} answers in a row that were failures or 404s"))
        } else if ever >= threshold {
            (
                Rule::Counts,
                format!("{failures} failures since the last success, {ever} since it closed"),
            )
        } else if let Some(id) = self.late_failure.filter(|_| failures + 1 >= threshold) {
            let late = format!("GET /items/{id}, let through before the breaker last opened");
            (Rule::Opens, format!("{failures} failures in a row and a late one ({late})"))
        } else if let Some(id) = self.hung_up.filter(|_| failures + 1 >= threshold) {
            let what = format!("a client that hung up on GET /items/{id}");
            (Rule::Counts, format!("{failures} failures in a row and {what}, which is no failure"))
        } else if self.trial_closed {
            (Rule::Closes, format!("{ever} failures since a trial closed the breaker"))
        } else if self.draining {
            (Rule::Draining, "nothing to open it: it is draining".into())
        } else {
            (Rule::Counts, format!("{failures} failures in a row"))
        };
        let why =
            if why.is_empty() { why } else { format!(", after {why} (threshold {threshold})") };
        broken(rule, format!("{answer} without asking the inventory{why}"))
    }

    /// The answer to a call that reached the inventory, and what its outcome does.
    fn outcome(&mut self, item: &Item, got: &Got, flight: Flight) -> Result<(), Broken> {
        let threshold = self.policy.failure_threshold;
        let trips = flight == Flight::Closed(self.epoch)
            && item.script.fails()
            && matches!(self.state, State::Closed { failures, .. } if failures + 1 >= threshold);
        if let Some((problem, expected)) = answer_problem(item, got, self.timeout) {
            let (rule, why) = match (trips, flight, item.script) {
                (true, ..) => {
                    (Rule::Opens, format!("{problem}, for the request that opened the breaker"))
                }
                (_, Flight::Trial, Script::Fault(..)) => {
                    (Rule::Reopens, format!("{problem}, for the failed trial"))
                }
                (_, _, Script::Missing) => (Rule::NotFound, problem),
                _ if self.draining => (Rule::Draining, format!("{problem}, while draining")),
                _ => (Rule::Closed, problem),
            };
            return Err(broken(rule, why).showing(&expected, got));
        }
        self.judged.insert(if self.draining { Rule::Draining } else { Rule::Closed });
        let rival = matches!(self.state, State::Trial { rival: true, .. });
        if flight == Flight::Trial && item.script.fails() && rival {
            let why =
                "the trial failed, and a request that came as it ended reached the inventory too";
            return Err(broken(Rule::OneTrial, why));
        }
        self.settle(item, got, flight);
        Ok(())
    }

    /// Where an outcome leaves the breaker.
    fn settle(&mut self, item: &Item, got: &Got, flight: Flight) {
        let recorded = recorded(item, got, self.timeout);
        match (flight, self.state) {
            (Flight::Closed(epoch), State::Closed { failures, with_404, ever })
                if epoch == self.epoch =>
            {
                self.state = match item.script {
                    Script::Fault(..) if failures + 1 >= self.policy.failure_threshold => {
                        return self.open(recorded, Cause::Threshold);
                    }
                    Script::Fault(..) => State::Closed {
                        failures: failures + 1,
                        with_404: with_404 + 1,
                        ever: ever + 1,
                    },
                    Script::Missing => State::Closed { failures: 0, with_404: with_404 + 1, ever },
                    Script::Item(_) => State::Closed { failures: 0, with_404: 0, ever },
                };
                if !item.script.fails() {
                    self.late_failure = None;
                }
                self.hung_up = None;
            }
            (Flight::Trial, _) if item.script.fails() => self.open(recorded, Cause::FailedTrial),
            (Flight::Trial, _) => {
                (self.state, self.trial_closed) = (CLOSED, true);
                self.epoch += 1;
            }
            (Flight::Tentative, State::Closed { .. }) => self.state = CLOSED,
            (Flight::Closed(_), State::Open { .. }) if !item.script.fails() => {
                self.late_success = Some(item.id);
            }
            // Let through in a closed state before the last opening: it counts for nothing now
            // (noted for the report, should it seem to).
            (Flight::Closed(_), State::Closed { .. }) if item.script.fails() => {
                self.late_failure = Some(item.id);
            }
            // Late: let through before the breaker moved on, it decides nothing now.
            _ => {}
        }
    }

    fn open(&mut self, from: Span, cause: Cause) {
        (self.state, self.late_success, self.late_failure, self.trial_closed) =
            (State::Open { from, cause }, None, None, false);
        self.hung_up = None;
        self.epoch += 1;
        let width = from.latest.saturating_duration_since(from.earliest);
        self.widest_opening = self.widest_opening.max(width);
    }

    fn hang_up(&mut self, item: &Item, got: &Got) -> Result<(), Broken> {
        let Some(flight) = self.admit(item, got)? else { return Ok(()) };
        let seen = &got.asked[0];
        if got.exchange.answer.is_ok() {
            return self.outcome(item, got, flight);
        } else if !seen.abandoned {
            // The service saw the call through although its client had gone: fine too.
            self.judged.insert(Rule::Abandoned);
            self.settle(item, got, flight);
        } else if flight == Flight::Trial {
            let latest = seen.ended.unwrap_or(got.exchange.received) + CLOCK_GRAIN;
            let at = Span { earliest: got.exchange.received, latest };
            self.state = State::HungUp { at };
            self.epoch += 1;
        } else if matches!(self.state, State::Closed { .. }) {
            self.hung_up = Some(item.id);
        }
        Ok(())
    }

    /// A 503 from the breaker itself: at once, in the course's shape, with a fair Retry-After.
    fn refuse(&mut self, got: &Got, rule: Rule, (least, most): (u64, u64)) -> Result<(), Broken> {
        let (status, code) = (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
        let range = if least == most { least.to_string() } else { format!("{least} to {most}") };
        let expected =
            expected_error(&got.exchange.answer, status, code).header("retry-after", &range);
        if let Some(problem) = error_problem(&got.exchange.answer, status, code) {
            let why =
                format!("{} without asking the inventory ({problem})", brief(&got.exchange.answer));
            return Err(broken(rule, why).showing(&expected, got));
        }
        self.refused_at_once(got, rule)?;
        // Whole seconds: the breaker's clock is a monotonic one, and the lesson asks for them.
        let sent = match got.exchange.answer().map(delay_seconds) {
            Some(Ok(seconds)) if (least..=most).contains(&seconds) => {
                self.judged.insert(Rule::RetryAfter);
                return Ok(());
            }
            Some(Ok(seconds)) => format!("Retry-After: {seconds}"),
            Some(Err(problem)) => problem,
            None => "no answer".into(),
        };
        let why =
            format!("{sent}, with {} of the cooldown left: {range} expected", self.left_shown(got));
        Err(broken(Rule::RetryAfter, why).showing(&expected, got))
    }

    fn at_once(&self, got: &Got, rule: Rule) -> Result<(), Broken> {
        let took = got.exchange.took();
        let waiting = if got.busy { ", while another request waited on the inventory" } else { "" };
        let why =
            format!("it took {}{waiting} (at once is within {})", millis(took), millis(AT_ONCE));
        if took <= AT_ONCE { Ok(()) } else { Err(broken(rule, why)) }
    }

    /// A refusal asks nobody: it comes as fast as the control request sent beside it, but for
    /// [`Bound::no_wait`]'s slack, so that a pause of a few tens of milliseconds shows on a quiet
    /// machine and a busy one, which holds the control up as much, is no excuse. Never later than
    /// [`AT_ONCE`], the most any answer "at once" may take; past it, with a call held by the
    /// inventory meanwhile, the refusal waited for that call.
    fn refused_at_once(&self, got: &Got, rule: Rule) -> Result<(), Broken> {
        let took = got.exchange.took();
        if took > AT_ONCE && got.busy {
            return self.at_once(got, Rule::NoQueue);
        }
        let Some(control) = got.control else { return self.at_once(got, rule) };
        let bound = Bound::no_wait().later_by(control).no_later_than(AT_ONCE);
        if bound.holds(took) {
            return Ok(());
        }
        let why = format!(
            "it took {}, where GET /health/live sent beside it took {} (at once is within {} of it)",
            millis(took),
            millis(control),
            millis(LATE_FLOOR)
        );
        Err(broken(rule, why))
    }

    /// The cooldown left when a 503 was decided, at least and at most.
    fn left(&self, from: Span, got: &Got) -> (Duration, Duration) {
        let (cooldown, exchange) = (self.policy.cooldown, &got.exchange);
        let least =
            cooldown.saturating_sub(exchange.received.saturating_duration_since(from.earliest));
        (least, cooldown.saturating_sub(exchange.sent.saturating_duration_since(from.latest)))
    }

    /// The right Retry-After for a 503 while open: the cooldown left, rounded up, at least 1;
    /// jitter may add up to half a cooldown.
    fn open_range(&self, from: Span, got: &Got) -> (u64, u64) {
        let (least, most) = self.left(from, got);
        (whole_seconds(least), whole_seconds(most + self.policy.cooldown / 2))
    }

    /// While the trial is surely under way: no cooldown is left, so 1, or what its jitter adds
    /// (up to half a cooldown), rounded up. The whole cooldown, as if the breaker had just opened,
    /// sends every client away for longer than the breaker waits.
    fn trial_range(&self) -> (u64, u64) {
        (1, whole_seconds(self.policy.cooldown / 2))
    }

    /// While a trial may be under way, or may have failed just now: from 1 up to a whole
    /// cooldown and its jitter.
    fn loose_range(&self) -> (u64, u64) {
        (1, whole_seconds(self.policy.cooldown.mul_f64(1.5)))
    }

    fn left_shown(&self, got: &Got) -> String {
        let State::Open { from, .. } = self.state else { return "none".into() };
        let (least, most) = self.left(from, got);
        format!("{}–{} of {}", millis(least), millis(most), millis(self.policy.cooldown))
    }

    fn live(&mut self, got: &Got) -> Result<(), Broken> {
        if let Some(problem) = not_a_quick_yes(got) {
            return Err(broken(Rule::Live, format!("/health/live: {problem}")));
        }
        self.judged.insert(Rule::Live);
        Ok(())
    }

    fn ready(&mut self, got: &Got) -> Result<(), Broken> {
        if !self.draining {
            let problem = not_a_quick_yes(got)
                .map(|problem| format!("/health/ready, not draining: {problem}"));
            return problem.map_or(Ok(()), |why| Err(broken(Rule::Ready, why)));
        }
        let problem = match &got.exchange.answer {
            Ok(answer) if answer.status != StatusCode::SERVICE_UNAVAILABLE => {
                Some(format!("{}, not 503", answer.status))
            }
            Ok(answer) => match answer.retry_after_seconds() {
                Some(0) => {
                    Some("a Retry-After of no wait at all, where at least 1 is right".into())
                }
                Some(_) => None,
                None => Some("no Retry-After that a client can read".into()),
            },
            Err(what) => Some(what.clone()),
        };
        if let Some(problem) =
            problem.or_else(|| self.at_once(got, Rule::Ready).err().map(|b| b.why))
        {
            let expected =
                Shown::status(StatusCode::SERVICE_UNAVAILABLE).header("retry-after", "<1 or more>");
            let why = format!("/health/ready while draining: {problem}");
            return Err(broken(Rule::Ready, why).showing(&expected, got));
        }
        self.judged.insert(Rule::Ready);
        Ok(())
    }
}

impl Model for Breaker {
    type Step = Step;
    type Observed = Observed;

    fn check(&self, step: &Step, observed: &Observed) -> Result<(), String> {
        self.clone().step(step, observed).map_err(|broken| broken.why)
    }

    fn advance(&mut self, step: &Step, observed: &Observed) {
        let _ = self.step(step, observed);
    }

    fn at_rest(&self) -> bool {
        matches!(self.state, State::Closed { failures: 0, with_404: 0, .. })
            && self.flying.is_empty()
    }

    fn describe(&self) -> String {
        let at = |instant: Instant| millis(instant.saturating_duration_since(self.start));
        let state = match self.state {
            State::Closed { failures, .. } => format!("closed, {failures} failure(s) in a row"),
            State::Open { from, .. } => {
                format!("open since {}–{}", at(from.earliest), at(from.latest))
            }
            State::Trial { id, .. } => format!("half-open, the trial GET /items/{id} under way"),
            State::HungUp { at: span, .. } => {
                format!("the trial's client hung up at {}", at(span.earliest))
            }
        };
        if self.draining { format!("{state}, draining") } else { state }
    }
}

/// The one `Retry-After` of `answer` as delay-seconds, or what it is instead.
fn delay_seconds(answer: &Answer) -> Result<u64, String> {
    let values: Vec<_> = answer.headers.get_all("retry-after").iter().collect();
    let value = match values.as_slice() {
        [] => return Err("no Retry-After".into()),
        [value] => String::from_utf8_lossy(value.as_bytes()).trim().to_string(),
        _ => return Err(format!("{} Retry-After headers", values.len())),
    };
    let digits = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    let seconds = value.parse().ok().filter(|_| digits);
    seconds.ok_or(format!("Retry-After: {value} (not whole seconds)"))
}

fn rule_of(cause: Cause) -> Rule {
    match cause {
        Cause::Threshold => Rule::Opens,
        Cause::FailedTrial => Rule::Reopens,
        Cause::HungUp => Rule::Abandoned,
    }
}

fn whole_seconds(duration: Duration) -> u64 {
    (duration.as_secs() + u64::from(duration.subsec_nanos() > 0)).max(1)
}

/// What is wrong with the answer to a request the inventory answered, with what was expected.
fn answer_problem(item: &Item, got: &Got, timeout: Duration) -> Option<(String, Shown)> {
    let answer = &got.exchange.answer;
    let error = |status, code| {
        Some((error_problem(answer, status, code)?, expected_error(answer, status, code)))
    };
    let (gateway, bad) = (
        (StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT"),
        (StatusCode::BAD_GATEWAY, "BAD_GATEWAY"),
    );
    match item.script {
        Script::Item(_) => {
            let served = serde_json::json!({"id": item.id, "stock": item.stock});
            let right = got.exchange.answer().is_some_and(|answer| {
                let body = answer.json().unwrap_or_default();
                let json = answer.media_type().as_deref() == Some("application/json");
                answer.status == StatusCode::OK
                    && json
                    && body["id"] == served["id"]
                    && body["stock"] == served["stock"]
            });
            let expected = Shown::status(StatusCode::OK).header("content-type", "application/json");
            let why =
                format!("{}, not the item as the inventory served it", brief(&got.exchange.answer));
            (!right).then(|| (why, expected.json(&served)))
        }
        Script::Missing => (got.exchange.status() != Some(404)).then(|| {
            (
                format!("{}, where the inventory answered 404", brief(&got.exchange.answer)),
                Shown::status(StatusCode::NOT_FOUND),
            )
        }),
        Script::Fault(Fault::Silence, _) => error(gateway.0, gateway.1).or_else(|| {
            let took = got.exchange.took();
            // Late by more than the slack and what the control beside it took: the client
            // waited longer than `inventory.timeout()`, the longest it may.
            let bound = Bound::around(timeout).later_by(got.control.unwrap_or_default());
            let why = match bound.judge(took) {
                Timing::InTime => return None,
                Timing::Early => format!(
                    "a 504 after {}, before the timeout of {} was up",
                    millis(took),
                    millis(timeout)
                ),
                Timing::Late => format!(
                    "a 504 after {}, though the timeout of {} was up long before ({bound})",
                    millis(took),
                    millis(timeout)
                ),
            };
            Some((why, expected_error(answer, gateway.0, gateway.1)))
        }),
        // The inventory's own 504 is an answer (a 502), but passing it on is common, and fine.
        Script::Fault(Fault::Status(504), _) => {
            error(bad.0, bad.1).filter(|_| error(gateway.0, gateway.1).is_some())
        }
        // Its own 503 too: lesson 4's gateway passes a 503 on.
        Script::Fault(Fault::Status(503), _) => error(bad.0, bad.1)
            .filter(|_| error(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").is_some()),
        // A failure held most of the timeout: a machine that stalls the learner's process past
        // it (busy enough to hold a wake-up a tenth of a second) makes its timer fire first, and
        // a 504 once the timeout is up is then right too. Never sooner.
        Script::Fault(_, held) if held >= timeout / 2 && got.exchange.took() >= timeout => {
            error(bad.0, bad.1).filter(|_| error(gateway.0, gateway.1).is_some())
        }
        Script::Fault(..) => error(bad.0, bad.1),
    }
}

/// What keeps a probe's answer from a quick yes: any 2xx, at once.
fn not_a_quick_yes(got: &Got) -> Option<String> {
    let took = got.exchange.took();
    match &got.exchange.answer {
        Ok(answer) if !answer.status.is_success() => {
            Some(format!("{}, not a 2xx", answer.status.as_u16()))
        }
        Ok(_) if took > AT_ONCE => {
            Some(format!("it took {} (at once is within {})", millis(took), millis(AT_ONCE)))
        }
        Ok(_) => None,
        Err(what) => Some(what.clone()),
    }
}
