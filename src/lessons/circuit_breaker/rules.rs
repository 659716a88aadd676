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
use crate::judge::answer::{Shown, error_problem, expected_error};
use crate::judge::bounds::{AT_ONCE, CLOCK_GRAIN, millis};
use crate::judge::model::Model;

/// Each rule is one check of the lesson.
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

/// A step the rules do not accept: which rule, why, and what was expected where it helps.
#[derive(Debug, Clone)]
pub(super) struct Broken {
    pub(super) rule: Rule,
    pub(super) why: String,
    pub(super) evidence: Option<Evidence>,
}

impl Broken {
    fn new(rule: Rule, why: impl Into<String>) -> Self {
        Self { rule, why: why.into(), evidence: None }
    }

    fn showing(mut self, expected: &Shown, got: &Got) -> Self {
        let actual = Shown::of_result(&got.exchange.answer, &["content-type", "retry-after"]);
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
/// answer was written (or, for a silence, before the timeout was up), and before the answer
/// came back to the judge.
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
    /// `failures` in a row; `with_404`: as many, had 404s counted as failures too.
    Closed {
        failures: u32,
        with_404: u32,
    },
    Open {
        from: Span,
        cause: Cause,
    },
    /// Half-open: the trial for `id` is under way, and no outcome can be known before `ends`;
    /// `after`: what opened the breaker before it.
    Trial {
        id: u32,
        ends: Instant,
        after: Cause,
    },
    /// The trial's client hung up (the trial went out at `sent`): the next request may be the
    /// trial, or a new cooldown runs.
    HungUp {
        at: Span,
        sent: Instant,
    },
}

/// A call let through, whose outcome is still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flight {
    /// Let through while closed, in this epoch: an outcome from an older one is late.
    Closed(u32),
    Trial,
    /// Let through as a trial ended: closed if it succeeded, a second trial if it failed.
    Tentative,
}

/// What the closed run before the last opening showed, for the rules it proved.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    reset: bool,
    missing: bool,
    after_trial: bool,
}

/// Where a request falls, as the rules see it.
enum Phase {
    Closed,
    Refusing(Span, Cause),
    Due(Cause),
    /// Near the end of a cooldown: a trial, or a 503.
    Blurred,
    UnderWay(u32, Cause),
    /// As a trial's outcome became known.
    Overlap,
    AfterHangUp(Span, Instant),
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
    run: Run,
    /// A request let through before the breaker opened that came back with a success after.
    late_success: Option<u32>,
    /// Every rule seen to hold at least once.
    pub(super) judged: BTreeSet<Rule>,
}

impl Breaker {
    pub(super) fn new(policy: BreakerPolicy, timeout: Duration, start: Instant) -> Self {
        Self {
            policy,
            timeout,
            start,
            state: State::Closed { failures: 0, with_404: 0 },
            draining: false,
            flying: Vec::new(),
            epoch: 0,
            run: Run::default(),
            late_success: None,
            judged: BTreeSet::new(),
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
                // Those that reached the inventory first: one of them may be the trial.
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_by_key(|&at| gots[at].asked.is_empty());
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

    fn phase(&self, got: &Got) -> Phase {
        let cooldown = self.policy.cooldown;
        match self.state {
            State::Closed { .. } => Phase::Closed,
            State::Open { from, cause } if got.exchange.received < from.earliest + cooldown => {
                Phase::Refusing(from, cause)
            }
            State::Open { from, cause } if got.exchange.sent > from.latest + cooldown => {
                Phase::Due(cause)
            }
            State::Open { .. } => Phase::Blurred,
            State::Trial { id, ends, after } if got.exchange.received < ends => {
                Phase::UnderWay(id, after)
            }
            State::Trial { .. } => Phase::Overlap,
            State::HungUp { at, sent } => Phase::AfterHangUp(at, sent),
        }
    }

    /// Whether the request may call the inventory now, and did as it may; the call it became.
    fn admit(&mut self, item: &Item, got: &Got) -> Result<Option<Flight>, Broken> {
        if got.asked.len() > 1 {
            let why = format!(
                "the inventory was asked {} times for this one request: the breaker's gateway asks once, and retrying behind a breaker multiplies the load it holds off",
                got.asked.len()
            );
            return Err(Broken::new(Rule::Closed, why));
        }
        let reached = got.asked.len() == 1;
        let loose = self.loose_range();
        match self.phase(got) {
            Phase::Closed if reached => {
                if got.busy && item.script.delay() == Some(Duration::ZERO) {
                    self.at_once(got, Rule::NoQueue, "the inventory answered it at once")?;
                    self.judged.insert(Rule::NoQueue);
                }
                Ok(Some(Flight::Closed(self.epoch)))
            }
            Phase::Closed => Err(self.refused_while_closed(got)),
            Phase::Refusing(from, cause) => {
                let rule = rule_of(cause);
                if reached {
                    let left = (from.earliest + self.policy.cooldown)
                        .saturating_duration_since(got.exchange.received);
                    let why = format!(
                        "it reached the inventory with {} of the cooldown left: an open breaker leaves it alone{}",
                        millis(left),
                        self.late_note()
                    );
                    return Err(Broken::new(rule, why));
                }
                let range = self.open_range(from, got);
                self.refuse(got, rule, range)?;
                self.proved(cause);
                Ok(None)
            }
            Phase::Due(_) | Phase::Blurred if reached => Ok(Some(self.start_trial(item, got))),
            Phase::Due(cause) => {
                let State::Open { from, .. } = self.state else {
                    unreachable!("due only when open")
                };
                let past =
                    got.exchange.sent.saturating_duration_since(from.latest + self.policy.cooldown);
                let why = format!(
                    "the cooldown of {} was over {} before this request, and it did not reach the inventory: the next request after the cooldown is the trial",
                    millis(self.policy.cooldown),
                    millis(past)
                );
                Err(Broken::new(due_rule(cause), why))
            }
            Phase::Blurred => self.refuse(got, Rule::OneTrial, loose).map(|()| None),
            Phase::UnderWay(id, Cause::HungUp) if reached => Err(Broken::new(
                Rule::Abandoned,
                format!(
                    "it reached the inventory after GET /items/{id} had too, both right after a trial whose client hung up: that trial decided nothing, so the breaker is not closed"
                ),
            )),
            Phase::UnderWay(id, _) if reached => Err(Broken::new(
                Rule::OneTrial,
                format!(
                    "it reached the inventory while the trial, GET /items/{id}, was under way: half-open lets one request through"
                ),
            )),
            Phase::UnderWay(..) => {
                self.refuse(got, Rule::OneTrial, loose)?;
                self.judged.insert(Rule::OneTrial);
                Ok(None)
            }
            Phase::Overlap if reached => Ok(Some(Flight::Tentative)),
            Phase::Overlap => self.refuse(got, Rule::OneTrial, loose).map(|()| None),
            Phase::AfterHangUp(_, _) if reached => Ok(Some(self.start_trial(item, got))),
            Phase::AfterHangUp(at, sent) => {
                self.refuse(got, Rule::Abandoned, loose)?;
                // A new cooldown, counted from the trial or from its end: both are fair.
                let from = Span { earliest: sent, latest: at.latest };
                self.state = State::Open { from, cause: Cause::HungUp };
                Ok(None)
            }
        }
    }

    fn start_trial(&mut self, item: &Item, got: &Got) -> Flight {
        let after = match self.state {
            State::Open { cause, .. } => cause,
            _ => Cause::HungUp,
        };
        if after == Cause::HungUp {
            self.judged.insert(Rule::Abandoned);
        }
        let ends = recorded(item, got, self.timeout).earliest;
        self.state = State::Trial { id: item.id, ends, after };
        Flight::Trial
    }

    /// A refusal (or the wrong answer) while closed: which rule, by what the breaker counted.
    fn refused_while_closed(&self, got: &Got) -> Broken {
        let State::Closed { failures, with_404 } = self.state else { unreachable!("closed") };
        let threshold = self.policy.failure_threshold;
        let answer = shown_answer(got);
        if got.exchange.status() != Some(503) {
            return Broken::new(
                Rule::Closed,
                format!(
                    "{answer} without asking the inventory: a closed breaker lets every request through"
                ),
            );
        }
        let (rule, why) = if self.draining {
            (Rule::Draining, "while draining, /items serves what reaches it as ever".to_string())
        } else if self.run.after_trial {
            let why = format!(
                "a trial succeeded and closed the breaker, and only {failures} failures came since: the count starts again from 0"
            );
            (Rule::Closes, why)
        } else if with_404 >= threshold {
            let why = format!(
                "{failures} failures in a row since the last 404 (threshold {threshold}): a 404 is the inventory working, not a failure"
            );
            (Rule::NotFound, why)
        } else {
            let why = format!(
                "only {failures} failures in a row since the last success (threshold {threshold}): a success starts the count again"
            );
            (Rule::Counts, why)
        };
        Broken::new(rule, format!("{answer} without asking the inventory, with {why}"))
    }

    /// The answer to a call that reached the inventory, and what its outcome does.
    fn outcome(&mut self, item: &Item, got: &Got, flight: Flight) -> Result<(), Broken> {
        let current = flight == Flight::Closed(self.epoch);
        let trips = current
            && item.script.fails()
            && matches!(self.state, State::Closed { failures, .. } if failures + 1 >= self.policy.failure_threshold);
        if let Some((problem, expected)) = answer_problem(item, got, self.timeout) {
            let rule = match (trips, flight, item.script) {
                (true, ..) => Rule::Opens,
                (_, Flight::Trial, Script::Fault(..)) => Rule::Reopens,
                (_, _, Script::Missing) => Rule::NotFound,
                _ if self.draining => Rule::Draining,
                _ => Rule::Closed,
            };
            let why = match rule {
                Rule::Opens | Rule::Reopens => format!(
                    "{problem}: the request that opens the breaker asked the inventory, so it gets its own answer; only later ones get 503"
                ),
                _ => problem,
            };
            return Err(Broken::new(rule, why).showing(&expected, got));
        }
        self.judged.insert(if self.draining { Rule::Draining } else { Rule::Closed });
        if flight == Flight::Trial
            && item.script.fails()
            && self.flying.iter().any(|(_, f)| *f == Flight::Tentative)
        {
            return Err(Broken::new(
                Rule::OneTrial,
                "the trial failed, and a request that came as it ended reached the inventory too",
            ));
        }
        self.settle(item, got, flight);
        Ok(())
    }

    /// Where an outcome leaves the breaker.
    fn settle(&mut self, item: &Item, got: &Got, flight: Flight) {
        let threshold = self.policy.failure_threshold;
        let recorded = recorded(item, got, self.timeout);
        match (flight, self.state) {
            (Flight::Closed(epoch), State::Closed { failures, with_404 })
                if epoch == self.epoch =>
            {
                self.state = match item.script {
                    Script::Fault(..) if failures + 1 >= threshold => {
                        return self.open(recorded, Cause::Threshold);
                    }
                    Script::Fault(..) => {
                        State::Closed { failures: failures + 1, with_404: with_404 + 1 }
                    }
                    Script::Missing => {
                        self.run.missing = true;
                        self.run.reset |= failures > 0;
                        State::Closed { failures: 0, with_404: with_404 + 1 }
                    }
                    Script::Item(_) => {
                        self.run.reset |= failures > 0;
                        State::Closed { failures: 0, with_404: 0 }
                    }
                };
            }
            (Flight::Trial, _) if item.script.fails() => self.open(recorded, Cause::FailedTrial),
            (Flight::Trial, _) => {
                self.state = State::Closed { failures: 0, with_404: 0 };
                self.run = Run { after_trial: true, ..Run::default() };
                self.epoch += 1;
            }
            (Flight::Tentative, State::Closed { .. }) => {
                self.state = State::Closed { failures: 0, with_404: 0 };
            }
            (Flight::Closed(_), State::Open { .. }) if !item.script.fails() => {
                self.late_success = Some(item.id);
            }
            // Late: let through before the breaker moved on, it decides nothing now.
            _ => {}
        }
    }

    fn open(&mut self, from: Span, cause: Cause) {
        self.state = State::Open { from, cause };
        self.late_success = None;
        self.epoch += 1;
    }

    /// The first refusal of an opening proves the rules of the run that led to it.
    fn proved(&mut self, cause: Cause) {
        self.judged.insert(rule_of(cause));
        if cause == Cause::Threshold {
            let run = std::mem::take(&mut self.run);
            let proved = [
                (run.reset, Rule::Counts),
                (run.missing, Rule::NotFound),
                (run.after_trial, Rule::Closes),
            ];
            self.judged.extend(proved.into_iter().filter(|(held, _)| *held).map(|(_, rule)| rule));
        }
    }

    fn hang_up(&mut self, item: &Item, got: &Got) -> Result<(), Broken> {
        let Some(flight) = self.admit(item, got)? else { return Ok(()) };
        let seen = &got.asked[0];
        if got.exchange.answer.is_ok() || !seen.abandoned {
            // Answered before the judge hung up, or the service saw its call through anyway.
            if got.exchange.answer.is_ok() {
                return self.outcome(item, got, flight);
            }
            self.settle(item, got, flight);
            return Ok(());
        }
        if flight == Flight::Trial {
            let latest = seen.ended.unwrap_or(got.exchange.received) + CLOCK_GRAIN;
            let at = Span { earliest: got.exchange.received, latest };
            self.state = State::HungUp { at, sent: got.exchange.sent };
            self.epoch += 1;
        }
        Ok(())
    }

    /// A 503 from the breaker itself: at once, in the course's shape, with a fair Retry-After.
    fn refuse(&mut self, got: &Got, rule: Rule, range: (u64, u64)) -> Result<(), Broken> {
        let expected = expected_error(
            &got.exchange.answer,
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
        )
        .header(
            "retry-after",
            if range.0 == range.1 {
                range.0.to_string()
            } else {
                format!("{} to {}", range.0, range.1)
            },
        );
        if let Some(problem) = error_problem(
            &got.exchange.answer,
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
        ) {
            let why = format!(
                "{}, without asking the inventory ({problem}): a breaker that does not call answers 503 itself",
                shown_answer(got)
            );
            return Err(Broken::new(rule, why).showing(&expected, got));
        }
        self.at_once(got, if got.busy { Rule::NoQueue } else { rule }, "the breaker asks nobody")?;
        let seconds = retry_after_seconds(got);
        if !seconds.as_ref().is_ok_and(|seconds| (range.0..=range.1).contains(seconds)) {
            let sent =
                seconds.map_or_else(|shown| shown, |seconds| format!("Retry-After: {seconds}"));
            let why = format!(
                "{sent}, where {} to {} is right: the cooldown left ({}), in whole seconds rounded up, at least 1, plus at most half a cooldown of jitter",
                range.0,
                range.1,
                self.left_shown(got)
            );
            return Err(Broken::new(Rule::RetryAfter, why).showing(&expected, got));
        }
        self.judged.insert(Rule::RetryAfter);
        Ok(())
    }

    fn at_once(&self, got: &Got, rule: Rule, reason: &str) -> Result<(), Broken> {
        let took = got.exchange.took();
        if took <= AT_ONCE {
            return Ok(());
        }
        let waiting = if got.busy { ", while another request waited on the inventory" } else { "" };
        let why = format!(
            "it took {}{waiting}: {reason}, so it comes back at once (within {})",
            millis(took),
            millis(AT_ONCE)
        );
        Err(Broken::new(rule, why))
    }

    /// The Retry-After values right for a 503 sent while open: the cooldown left when it was
    /// decided, rounded up, at least 1; jitter may add up to half a cooldown.
    fn open_range(&self, from: Span, got: &Got) -> (u64, u64) {
        let cooldown = self.policy.cooldown;
        let least =
            cooldown.saturating_sub(got.exchange.received.saturating_duration_since(from.earliest));
        let most =
            cooldown.saturating_sub(got.exchange.sent.saturating_duration_since(from.latest));
        (whole_seconds(least), whole_seconds(most + cooldown / 2))
    }

    /// While a trial is under way (or may be): from 1 up to a whole cooldown and its jitter.
    fn loose_range(&self) -> (u64, u64) {
        (1, whole_seconds(self.policy.cooldown.mul_f64(1.5)))
    }

    fn left_shown(&self, got: &Got) -> String {
        match self.state {
            State::Open { from, .. } => {
                let cooldown = self.policy.cooldown;
                let least = cooldown
                    .saturating_sub(got.exchange.received.saturating_duration_since(from.earliest));
                let most = cooldown
                    .saturating_sub(got.exchange.sent.saturating_duration_since(from.latest));
                format!("{}–{} of {}", millis(least), millis(most), millis(cooldown))
            }
            _ => format!(
                "none: the cooldown of {} is over, a trial under way or due",
                millis(self.policy.cooldown)
            ),
        }
    }

    fn late_note(&self) -> String {
        self.late_success.map_or_else(String::new, |id| {
            format!(" (GET /items/{id}, let through before it opened, came back with its item after: a late outcome changes nothing)")
        })
    }

    fn live(&mut self, got: &Got) -> Result<(), Broken> {
        if let Some(problem) = not_a_quick_yes(got) {
            return Err(Broken::new(Rule::Live, format!("/health/live: {problem}")));
        }
        self.judged.insert(Rule::Live);
        Ok(())
    }

    fn ready(&mut self, got: &Got) -> Result<(), Broken> {
        if !self.draining {
            if let Some(problem) = not_a_quick_yes(got) {
                return Err(Broken::new(
                    Rule::Ready,
                    format!("/health/ready, not draining: {problem}"),
                ));
            }
            return Ok(());
        }
        let problem = match &got.exchange.answer {
            Ok(answer) if answer.status != StatusCode::SERVICE_UNAVAILABLE => {
                Some(format!("{}, not 503", answer.status.as_u16()))
            }
            Ok(answer) => draining_retry_after(answer.header("retry-after")),
            Err(what) => Some(what.clone()),
        };
        if let Some(problem) = problem
            .or_else(|| self.at_once(got, Rule::Ready, "a probe asks nobody").err().map(|b| b.why))
        {
            let expected = Shown::status(StatusCode::SERVICE_UNAVAILABLE)
                .header("retry-after", "<1 or more seconds>");
            return Err(Broken::new(
                Rule::Ready,
                format!("/health/ready while draining: {problem}"),
            )
            .showing(&expected, got));
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
        matches!(self.state, State::Closed { failures: 0, with_404: 0 }) && self.flying.is_empty()
    }

    fn describe(&self) -> String {
        let at = |instant: Instant| millis(instant.saturating_duration_since(self.start));
        let threshold = self.policy.failure_threshold;
        let state = match self.state {
            State::Closed { failures, .. } => {
                format!("closed, {failures} failure(s) in a row counted (threshold {threshold})")
            }
            State::Open { from, .. } => format!(
                "open since {}–{}, for a cooldown of {}",
                at(from.earliest),
                at(from.latest),
                millis(self.policy.cooldown)
            ),
            State::Trial { id, .. } => format!("half-open: the trial, GET /items/{id}, under way"),
            State::HungUp { at: span, .. } => format!(
                "the trial's client hung up at {}: the next request may be the trial, or a new cooldown runs",
                at(span.earliest)
            ),
        };
        if self.draining { format!("{state}; draining") } else { state }
    }
}

fn rule_of(cause: Cause) -> Rule {
    match cause {
        Cause::Threshold => Rule::Opens,
        Cause::FailedTrial => Rule::Reopens,
        Cause::HungUp => Rule::Abandoned,
    }
}

/// The rule a missing trial breaks.
fn due_rule(cause: Cause) -> Rule {
    match cause {
        Cause::Threshold => Rule::OneTrial,
        cause => rule_of(cause),
    }
}

fn whole_seconds(duration: Duration) -> u64 {
    (duration.as_secs() + u64::from(duration.subsec_nanos() > 0)).max(1)
}

/// What is wrong with the answer to a request the inventory answered, with what was expected.
fn answer_problem(item: &Item, got: &Got, timeout: Duration) -> Option<(String, Shown)> {
    let answer = &got.exchange.answer;
    let error = |status, code| {
        error_problem(answer, status, code)
            .map(|problem| (problem, expected_error(answer, status, code)))
    };
    match item.script {
        Script::Item(_) => {
            let served = serde_json::json!({"id": item.id, "stock": item.stock});
            let right = answer.as_ref().is_ok_and(|answer| {
                answer.status == StatusCode::OK
                    && answer.media_type().as_deref() == Some("application/json")
                    && answer.json().is_some_and(|body| {
                        body["id"] == served["id"] && body["stock"] == served["stock"]
                    })
            });
            let expected = Shown::status(StatusCode::OK)
                .header("content-type", "application/json")
                .json(&served);
            (!right).then(|| {
                (
                    format!(
                        "{}: the item, as the inventory served it, did not come through",
                        shown_answer(got)
                    ),
                    expected,
                )
            })
        }
        Script::Missing => (got.exchange.status() != Some(404)).then(|| {
            let why = format!(
                "the inventory answered 404, and the service answered {}",
                shown_answer(got)
            );
            (why, Shown::status(StatusCode::NOT_FOUND))
        }),
        Script::Fault(Fault::Silence, _) => error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT")
            .or_else(|| {
                let took = got.exchange.took();
                (took + CLOCK_GRAIN < timeout).then(|| {
                    let why = format!(
                        "a 504 after {}, before the timeout of {} was up",
                        millis(took),
                        millis(timeout)
                    );
                    (why, expected_error(answer, StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT"))
                })
            }),
        // The inventory's own 504 is an answer (a 502), but passing it on is common, and fine.
        Script::Fault(Fault::Status(504), _) => error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY")
            .filter(|_| error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT").is_some()),
        Script::Fault(..) => error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY"),
    }
}

fn retry_after_seconds(got: &Got) -> Result<u64, String> {
    let Ok(answer) = &got.exchange.answer else { return Err("no answer".into()) };
    let values: Vec<_> = answer.headers.get_all("retry-after").iter().collect();
    match values.as_slice() {
        [] => Err("no Retry-After".into()),
        [value] => {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
            digits
                .then(|| text.parse().ok())
                .flatten()
                .ok_or(format!("Retry-After: {text} (not whole seconds)"))
        }
        _ => Err(format!("{} Retry-After headers", values.len())),
    }
}

/// What is wrong with a draining instance's Retry-After: it must ask for at least a second,
/// as delay-seconds or as an HTTP-date later than now.
fn draining_retry_after(value: Option<&axum::http::HeaderValue>) -> Option<String> {
    let Some(text) = value.and_then(|value| value.to_str().ok()).map(str::trim) else {
        return Some("no Retry-After".into());
    };
    let ahead = match text.parse::<u64>() {
        Ok(seconds) => seconds >= 1,
        Err(_) => httpdate::parse_http_date(text).is_ok_and(|date| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            date.duration_since(std::time::UNIX_EPOCH)
                .is_ok_and(|date| date.as_secs() > now.as_secs())
        }),
    };
    (!ahead).then(|| format!("Retry-After: {text}, which asks for no wait at all: at least 1"))
}

/// What keeps a probe's answer from a quick yes: any 2xx, at once.
fn not_a_quick_yes(got: &Got) -> Option<String> {
    match &got.exchange.answer {
        Ok(answer) if !answer.status.is_success() => {
            Some(format!("{}, not a 2xx such as 200", answer.status.as_u16()))
        }
        Ok(_) if got.exchange.took() > AT_ONCE => Some(format!(
            "it took {}: a probe answers at once, without asking anyone (within {})",
            millis(got.exchange.took()),
            millis(AT_ONCE)
        )),
        Ok(_) => None,
        Err(what) => Some(what.clone()),
    }
}

/// An answer in a few words: `503 Retry-After: 1`, `200 {"id":1,"stock":3}`, `no answer: …`.
pub(super) fn shown_answer(got: &Got) -> String {
    let Ok(answer) = &got.exchange.answer else {
        return got.exchange.answer.clone().err().unwrap_or_default();
    };
    let mut shown = answer.status.as_u16().to_string();
    if let Some(value) = answer.header("retry-after") {
        shown.push_str(&format!(" Retry-After: {}", String::from_utf8_lossy(value.as_bytes())));
    }
    if answer.status == StatusCode::OK {
        let text = answer.text();
        let cut: String = text.chars().take(48).collect();
        shown.push_str(&format!(" {cut}{}", if cut.len() < text.len() { "…" } else { "" }));
    }
    shown
}
