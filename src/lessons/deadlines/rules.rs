//! The client's rules, written once as a [`Model`]: lesson 3's retries, inside a deadline. Each
//! check reads the same history through one [`Rule`]: a step the rules refuse under that rule
//! is its failure, shown with the steps that led to it.

use std::fmt;
use std::time::Duration;

use httplings::adapter::SeenResponse;
use httplings::lessons::deadlines::{Deadline, Gave};

use super::client::{Kind, Played, Scenario};
use crate::judge::bounds::{
    AT_ONCE, CALL_SKEW, CLOCK_GRAIN, DEADLINE_HEADROOM, LATE_FLOOR, ROOM_TO_RETRY, late, millis,
};
use crate::judge::model::{Model, first_divergence};
use crate::judge::schedule::{Wait, backoff, jittered};
use crate::judge::upstream::{Reply, Seen};
use crate::judge::{Evidence, Failure};

/// What each check holds the client to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A deadline already passed: nothing sent, `DeadlineExceeded` at once.
    Past,
    /// Back by the deadline, every attempt closed by then.
    InTime,
    /// No attempt starts after the deadline.
    NoLateAttempt,
    /// A client that will not try again returns at once, with the last response it got.
    AtOnce,
    /// Lesson 3's retries, where the time left allows them.
    Retries,
}

/// One attempt as the upstream saw it, its times counted from the call.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub n: u32,
    pub at: Duration,
    /// When it was over: answered, reset, or the client hung up. `None`: still open.
    pub ended: Option<Duration>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Answered {
        status: u16,
        retry_after: Option<u64>,
        id: String,
    },
    Reset,
    /// No answer reached the client: it hung up first.
    Cut,
}

impl Attempt {
    pub fn of(n: u32, seen: &Seen, call: std::time::Instant) -> Self {
        let answered = |reply: &Reply| match reply {
            Reply::Respond { status, headers, .. } => {
                let header = |name: &str| {
                    headers.iter().find(|(known, _)| known == name).map(|(_, value)| value.clone())
                };
                Some(Outcome::Answered {
                    status: *status,
                    retry_after: header("retry-after").and_then(|value| value.parse().ok()),
                    id: header("x-attempt").unwrap_or_default(),
                })
            }
            _ => None,
        };
        let outcome = match &seen.reply {
            _ if seen.abandoned => Outcome::Cut,
            Reply::Reset => Outcome::Reset,
            Reply::Delayed(_, later) => answered(later).unwrap_or(Outcome::Cut),
            reply => answered(reply).unwrap_or(Outcome::Cut),
        };
        Self {
            n,
            at: seen.at.saturating_duration_since(call),
            ended: seen.ended.map(|ended| ended.saturating_duration_since(call)),
            outcome,
        }
    }
}

/// What `get_before` came back with.
#[derive(Debug, Clone)]
pub enum Returned {
    Value {
        at: Duration,
        got: Result<SeenResponse, Gave>,
    },
    /// It panicked, or never returned.
    Broken(String),
}

/// A step of a history: the call, or an attempt.
#[derive(Debug, Clone)]
pub enum Step {
    Called(Deadline),
    Tried(Attempt),
}

/// What followed a step.
#[derive(Debug, Clone)]
pub enum Next {
    Attempt { at: Duration },
    Returned(Returned),
}

/// The rules, for one scenario, read through one [`Rule`].
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    rule: Rule,
    scenario: &'a Scenario,
    /// Whether the call has been made (the history is shown from it).
    called: bool,
    /// The attempts so far.
    tried: u32,
    /// The ids of the responses the client got.
    got: Vec<String>,
    /// How late the machine's timers ran while the scenario played: allowed on top of every
    /// upper bound.
    lag: Duration,
}

impl<'a> Rules<'a> {
    pub fn new(rule: Rule, scenario: &'a Scenario, lag: Duration) -> Self {
        Self { rule, scenario, called: false, tried: 0, got: Vec::new(), lag }
    }

    /// The latest anything may happen: the deadline, with the usual slack and the lag.
    fn limit(&self) -> Duration {
        late(self.budget()) + self.lag
    }

    /// How long "at once" may take, with the lag.
    fn at_once(&self) -> Duration {
        AT_ONCE + self.lag
    }

    fn budget(&self) -> Duration {
        self.scenario.budget()
    }

    /// Every rule `next` breaks after `step`, each with why.
    fn broken(&self, step: &Step, next: &Next) -> Vec<(Rule, String)> {
        let mut broken = Vec::new();
        let budget = self.budget();
        let limit = self.limit();
        match (step, next) {
            (Step::Called(Deadline::Passed(_)), next) => broken.extend(self.after_passed(next)),
            (Step::Called(_), Next::Attempt { at }) => {
                if *at > limit {
                    broken.push((
                        Rule::NoLateAttempt,
                        format!(
                            "the first attempt started at +{}, after the deadline at +{}",
                            millis(*at),
                            millis(budget)
                        ),
                    ));
                }
                if *at > self.at_once() {
                    broken.push((Rule::Retries, format!(
                        "the first attempt started only at +{}: nothing asked the client to wait",
                        millis(*at))));
                }
            }
            (Step::Called(_), Next::Returned(returned)) => {
                broken.extend(self.returned_in_time(returned));
                if self.scenario.kind != Kind::Unreachable {
                    broken.push((
                        Rule::Retries,
                        format!(
                            "it returned without sending a request, with {} left",
                            millis(budget)
                        ),
                    ));
                } else if let Returned::Value { got: Ok(_), .. } = returned {
                    broken.push((Rule::AtOnce, "it returned a response no server sent".into()));
                }
            }
            (Step::Tried(attempt), next) => {
                match attempt.ended {
                    Some(ended) if ended > limit => broken.push((Rule::InTime, format!(
                        "attempt {} was still waiting for its answer at +{}, past the deadline at \
                         +{}: no attempt may have more time than is left",
                        attempt.n, millis(ended), millis(budget)))),
                    None => broken.push((Rule::InTime, format!(
                        "attempt {} was still open at +{}, past the deadline at +{}: no attempt \
                         may have more time than is left, nor go on after the call returns",
                        attempt.n, millis(limit), millis(budget)))),
                    // Given up with no answer well before the deadline: the attempt had less
                    // than the time left (a tenth of the budget may be kept for the way back,
                    // as a gateway may). A busy machine makes a cut later, never sooner (the
                    // learner's deadline is set after the judge's), so only the clock's grain
                    // is allowed on top: a fixed margin of 20 ms shows on a short budget.
                    Some(ended)
                        if attempt.outcome == Outcome::Cut
                            && ended + budget.mul_f64(DEADLINE_HEADROOM) + CLOCK_GRAIN
                                < budget =>
                    {
                        broken.push((Rule::InTime, format!(
                            "attempt {} was given up at +{} with no answer yet, {} before the \
                             deadline at +{}: an attempt gets all the time that is left",
                            attempt.n, millis(ended), millis(budget - ended), millis(budget))));
                    }
                    _ => {}
                }
                match next {
                    Next::Attempt { at } => broken.extend(self.retried(attempt, *at)),
                    Next::Returned(returned) => {
                        broken.extend(self.returned_in_time(returned));
                        broken.extend(self.gave_up(attempt, returned));
                    }
                }
            }
        }
        broken
    }

    fn after_passed(&self, next: &Next) -> Vec<(Rule, String)> {
        let problem = match next {
            Next::Attempt { at } => format!(
                "it sent a request (at +{}) although the deadline had passed before the call",
                millis(*at)
            ),
            Next::Returned(Returned::Broken(why)) => why.clone(),
            Next::Returned(Returned::Value { at, .. }) if *at > self.at_once() => format!(
                "it returned only at +{}: with the deadline passed there is nothing to wait for",
                millis(*at)
            ),
            Next::Returned(Returned::Value { got: Err(Gave::DeadlineExceeded), .. }) => {
                return Vec::new();
            }
            Next::Returned(Returned::Value { got, .. }) => {
                format!("it returned {} instead of GaveUp::DeadlineExceeded", shown(got))
            }
        };
        vec![(Rule::Past, problem)]
    }

    fn returned_in_time(&self, returned: &Returned) -> Vec<(Rule, String)> {
        let budget = self.budget();
        match returned {
            Returned::Broken(why) => vec![(Rule::InTime, why.clone()), (Rule::AtOnce, why.clone())],
            Returned::Value { at, .. } if *at > self.limit() => vec![(
                Rule::InTime,
                format!(
                    "it returned at +{}, after the deadline at +{}",
                    millis(*at),
                    millis(budget)
                ),
            )],
            Returned::Value { .. } => Vec::new(),
        }
    }

    /// What the rules say of a retry at `at` after `attempt`.
    fn retried(&self, attempt: &Attempt, at: Duration) -> Vec<(Rule, String)> {
        let (budget, policy) = (self.budget(), self.scenario.policy);
        let mut broken = Vec::new();
        if at > self.limit() {
            broken.push((
                Rule::NoLateAttempt,
                format!(
                    "attempt {} started at +{}, after the deadline at +{}",
                    attempt.n + 1,
                    millis(at),
                    millis(budget)
                ),
            ));
        }
        // A Retry-After is a wait known to the millisecond: one that ends past the deadline
        // (past the learner's too) is never to be started, however little it overruns.
        if let (Outcome::Answered { retry_after: Some(seconds), .. }, Some(ended)) =
            (&attempt.outcome, attempt.ended)
        {
            let wake = ended + Duration::from_secs(*seconds);
            if wake >= budget + CALL_SKEW && at >= budget && at <= self.limit() {
                broken.push((
                    Rule::NoLateAttempt,
                    format!(
                        "attempt {} asked for Retry-After: {seconds}, a wait that would end at \
                         +{}, after the deadline at +{}; the client waited it out and started \
                         attempt {} at +{}",
                        attempt.n,
                        millis(wake),
                        millis(budget),
                        attempt.n + 1,
                        millis(at)
                    ),
                ));
            }
        }
        let retry = match &attempt.outcome {
            Outcome::Answered { status, .. } if *status < 500 => Some(format!(
                "attempt {} was answered {status}, which is final, yet the client tried again",
                attempt.n
            )),
            _ if attempt.n >= policy.max_attempts => Some(format!(
                "attempt {} is one more than max_attempts = {}",
                attempt.n + 1,
                policy.max_attempts
            )),
            Outcome::Answered { retry_after: Some(seconds), .. }
                if Duration::from_secs(*seconds) > policy.max_delay =>
            {
                Some(format!(
                    "attempt {} asked for Retry-After: {seconds}, more than max_delay ({}): lesson 3 \
                 returns that response instead of waiting",
                    attempt.n,
                    millis(policy.max_delay)
                ))
            }
            _ => attempt.ended.and_then(|ended| {
                let wait = wait_after(attempt, &policy);
                let waited = at.saturating_sub(ended);
                (!wait.bound().later_by(self.lag).holds(waited)).then(|| {
                    format!(
                        "it waited {} after attempt {} ({}); lesson 3's rules allow {}",
                        millis(waited),
                        attempt.n,
                        outcome(&attempt.outcome),
                        wait.bound().later_by(self.lag)
                    )
                })
            }),
        };
        broken.extend(retry.map(|problem| (Rule::Retries, problem)));
        broken
    }

    /// What the rules say of returning after `attempt`.
    fn gave_up(&self, attempt: &Attempt, returned: &Returned) -> Vec<(Rule, String)> {
        let Returned::Value { at, got } = returned else { return Vec::new() };
        let (budget, policy) = (self.budget(), self.scenario.policy);
        let mut broken = Vec::new();
        let idle = attempt
            .ended
            .filter(|ended| *ended <= budget && at.saturating_sub(*ended) > self.at_once());
        if let Some(ended) = idle {
            broken.push((
                Rule::AtOnce,
                format!(
                    "attempt {} was over at +{}, but the client returned only at +{}: a client \
                     that will not try again returns at once (it starts no wait that would end \
                     after the deadline)",
                    attempt.n,
                    millis(ended),
                    millis(*at)
                ),
            ));
        }
        let value = match (&attempt.outcome, got) {
            (Outcome::Answered { id, .. }, Ok(response)) if attempt_of(response) == Some(id) => {
                None
            }
            // An answer written at the deadline may reach a client whose attempt the deadline
            // has just cut (its deadline and the judge's differ by the call's way there).
            (Outcome::Answered { .. }, Err(_))
                if attempt.ended.is_some_and(|ended| ended + LATE_FLOOR >= budget) =>
            {
                None
            }
            (Outcome::Answered { status, .. }, got) => Some(format!(
                "it returned {} instead of the {status} attempt {} got (the last response)",
                shown(got),
                attempt.n
            )),
            (_, Ok(response)) if attempt_of(response).is_some_and(|id| self.got.contains(id)) => {
                None
            }
            (_, Ok(_)) => Some("it returned a response the upstream never sent".to_string()),
            // Before the deadline (by the judge's clock, which starts before the client's), a
            // client that gives up after a reset holds that error: DeadlineExceeded says a
            // deadline came that had not, and drops what went wrong.
            (Outcome::Reset, Err(Gave::DeadlineExceeded)) if *at < budget => Some(format!(
                "it returned Err(GaveUp::DeadlineExceeded) at +{}, before the deadline at +{}, \
                 though what it had was attempt {}'s connection reset: \
                 GaveUp::Transport carries that error to the caller",
                millis(*at),
                millis(budget),
                attempt.n
            )),
            (_, Err(_)) => None,
        };
        broken.extend(value.map(|problem| (Rule::AtOnce, problem)));
        let retryable = match &attempt.outcome {
            Outcome::Answered { status, retry_after, .. } => {
                *status >= 500
                    && retry_after
                        .is_none_or(|seconds| Duration::from_secs(seconds) <= policy.max_delay)
            }
            Outcome::Reset => true,
            Outcome::Cut => false,
        };
        if let Some(ended) = attempt.ended.filter(|_| retryable && attempt.n < policy.max_attempts)
        {
            let wait = wait_after(attempt, &policy).nominal();
            if ended + wait + ROOM_TO_RETRY + self.lag <= budget {
                broken.push((Rule::Retries, format!(
                    "it gave up after attempt {} ({}) at +{}, though even the longest wait ({}) \
                     would have ended at +{}, well before the deadline at +{}",
                    attempt.n, outcome(&attempt.outcome), millis(ended), millis(wait),
                    millis(ended + wait), millis(budget))));
            }
        }
        broken
    }
}

/// The wait lesson 3's rules ask for after `attempt`.
fn wait_after(attempt: &Attempt, policy: &httplings::RetryPolicy) -> Wait {
    match &attempt.outcome {
        Outcome::Answered { retry_after: Some(seconds), .. } => {
            Wait::Asked(Duration::from_secs(*seconds))
        }
        _ => Wait::Backoff(backoff(policy, attempt.n)),
    }
}

fn attempt_of(response: &SeenResponse) -> Option<&String> {
    response.headers.iter().find(|(name, _)| name == "x-attempt").map(|(_, value)| value)
}

fn shown(got: &Result<SeenResponse, Gave>) -> String {
    match got {
        Ok(response) => match attempt_of(response) {
            Some(id) => {
                format!("Ok({}, the response of attempt {})", response.status, id_number(id))
            }
            None => format!("Ok({})", response.status),
        },
        Err(Gave::DeadlineExceeded) => "Err(GaveUp::DeadlineExceeded)".into(),
        Err(Gave::Transport(error)) => format!("Err(GaveUp::Transport({}))", error.text),
    }
}

fn id_number(id: &str) -> &str {
    id.rsplit('-').next().unwrap_or(id)
}

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Answered { status, retry_after: Some(seconds), .. } => {
            format!("{status}, Retry-After: {seconds}")
        }
        Outcome::Answered { status, .. } => status.to_string(),
        Outcome::Reset => "connection reset".into(),
        Outcome::Cut => "no answer".into(),
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Called(Deadline::In(budget)) => {
                write!(f, "the call, with its deadline {} away", millis(*budget))
            }
            Step::Called(Deadline::Passed(ago)) => {
                write!(f, "the call, with its deadline passed {} before", millis(*ago))
            }
            Step::Tried(attempt) => {
                write!(
                    f,
                    "attempt {} at +{}: {}",
                    attempt.n,
                    millis(attempt.at),
                    outcome(&attempt.outcome)
                )?;
                match (&attempt.outcome, attempt.ended) {
                    (Outcome::Cut, Some(ended)) => {
                        write!(f, ", the client hung up at +{}", millis(ended))
                    }
                    (_, Some(ended)) => write!(f, " at +{}", millis(ended)),
                    (_, None) => write!(f, ", still open"),
                }
            }
        }
    }
}

impl fmt::Display for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Next::Attempt { at } => write!(f, "an attempt at +{}", millis(*at)),
            Next::Returned(Returned::Value { at, got }) => {
                write!(f, "returned at +{}: {}", millis(*at), shown(got))
            }
            Next::Returned(Returned::Broken(why)) => f.write_str(why),
        }
    }
}

impl Model for Rules<'_> {
    type Step = Step;
    type Observed = Next;

    fn check(&self, step: &Step, next: &Next) -> Result<(), String> {
        match self.broken(step, next).into_iter().find(|(rule, _)| *rule == self.rule) {
            Some((_, problem)) => Err(problem),
            None => Ok(()),
        }
    }

    fn advance(&mut self, step: &Step, _: &Next) {
        self.called = true;
        if let Step::Tried(attempt) = step {
            self.tried = attempt.n;
            if let Outcome::Answered { id, .. } = &attempt.outcome {
                self.got.push(id.clone());
            }
        }
    }

    fn at_rest(&self) -> bool {
        !self.called
    }

    fn describe(&self) -> String {
        let policy = self.scenario.policy;
        format!(
            "{} attempt(s) made; max_attempts {}, base_delay {}, max_delay {}",
            self.tried,
            policy.max_attempts,
            millis(policy.base_delay),
            millis(policy.max_delay)
        )
    }
}

/// The first scenario whose history `rule` refuses, as a failure.
pub fn judge(
    rule: Rule,
    scenarios: &[Scenario],
    played: &[Played],
    lag: Duration,
) -> Option<Failure> {
    let broken = match rule {
        Rule::Past => connected_when_passed(scenarios, played),
        Rule::Retries => unjittered(scenarios, played).or_else(|| bound_weighed(scenarios, played)),
        _ => None,
    };
    broken.or_else(|| diverged(rule, scenarios, played, lag))
}

/// A deadline already passed, and a connection opened all the same (no request on it: the
/// attempt was polled once, then dropped).
fn connected_when_passed(scenarios: &[Scenario], played: &[Played]) -> Option<Failure> {
    scenarios.iter().zip(played).find_map(|(scenario, played)| {
        let Deadline::Passed(ago) = scenario.deadline else { return None };
        (played.attempts.is_empty() && played.connections > 0).then(|| {
            Failure::of(format!(
                "{}: it opened {} connection(s) to the upstream although the deadline had passed \
                 {} before the call: an attempt was started (and dropped) instead of none",
                scenario.kind.describe(),
                played.connections,
                millis(ago)
            ))
        })
    })
}

/// The scenarios of `kind` (calls made together), each with how it was played.
fn of_kind<'a>(
    kind: Kind,
    scenarios: &'a [Scenario],
    played: &'a [Played],
) -> Vec<(&'a Scenario, &'a Played)> {
    scenarios.iter().zip(played).filter(|(scenario, _)| scenario.kind == kind).collect()
}

/// The calls made together with the same backoff ahead, whose waits did not spread.
fn unjittered(scenarios: &[Scenario], played: &[Played]) -> Option<Failure> {
    let together = of_kind(Kind::Jitter, scenarios, played);
    let (first, _) = together.first()?;
    let d = backoff(&first.policy, 1);
    let waits: Vec<Duration> = together
        .iter()
        .filter_map(|(_, played)| match &played.attempts[..] {
            [failed, retry, ..] => failed.ended.map(|ended| retry.at.saturating_sub(ended)),
            _ => None,
        })
        .collect();
    if waits.len() < together.len() {
        return None;
    }
    let problem = jittered(d, &waits)?;
    Some(Failure::of(format!("{}: {problem}", Kind::Jitter.describe())).with(Evidence::Text {
        title: "the waits, in milliseconds".into(),
        body: waits.iter().map(|wait| wait.as_millis().to_string()).collect::<Vec<_>>().join(", "),
    }))
}

/// The calls whose deadline comes inside the backoff's bound, none of which retried: most
/// waits drawn below the bound fit, so a client that never takes one weighs the bound, not the
/// wait it drew.
fn bound_weighed(scenarios: &[Scenario], played: &[Played]) -> Option<Failure> {
    let inside = of_kind(Kind::InsideBound, scenarios, played);
    let gave_up = |played: &Played| {
        played.attempts.len() == 1 && matches!(played.returned, Returned::Value { .. })
    };
    if inside.is_empty() || !inside.iter().all(|(_, played)| gave_up(played)) {
        return None;
    }
    let lines: Vec<String> = inside
        .iter()
        .map(|(scenario, played)| {
            let returned = match &played.returned {
                Returned::Value { at, .. } => format!("returned at +{}", millis(*at)),
                Returned::Broken(why) => why.clone(),
            };
            format!(
                "d {}, deadline +{}: one attempt, {returned}",
                millis(backoff(&scenario.policy, 1)),
                millis(scenario.budget())
            )
        })
        .collect();
    Some(
        Failure::of(format!(
            "{}: none of the {} calls retried, though each deadline came at 85-92 % of d: \
             jitter draws the wait below d, and most such waits end in time with room for the \
             retry. Weigh the wait you drew against the time left, not its bound d",
            Kind::InsideBound.describe(),
            inside.len()
        ))
        .with(Evidence::Text { title: "the calls".into(), body: lines.join("\n") }),
    )
}

/// The first scenario whose history, read through the model, `rule` refuses.
fn diverged(
    rule: Rule,
    scenarios: &[Scenario],
    played: &[Played],
    lag: Duration,
) -> Option<Failure> {
    scenarios.iter().zip(played).find_map(|(scenario, played)| {
        let history = played.history(scenario.deadline);
        let divergence = first_divergence(Rules::new(rule, scenario, lag), &history)?;
        let body = format!(
            "{}\n\n({}; times from the call)",
            divergence.history.join("\n"),
            divergence.state
        );
        Some(
            Failure::of(format!("{}: {}", scenario.kind.describe(), divergence.why))
                .with(Evidence::Text { title: "what happened".into(), body }),
        )
    })
}
