//! Lesson 5, 503 on purpose: a circuit breaker in front of a failing dependency, and readiness
//! that drains an instance.
//!
//! The judge serves the learner's app seven times, each over an inventory of its own, and walks
//! the instances through the breaker's whole cycle, all at once ([`plan`], [`walk`]): open;
//! half-open with a trial that fails (timed out, slow, at once, or abandoned by its client); open
//! again; a trial that succeeds; closed, the count started again; open again. Every request of
//! every walk is checked against the rules, written once as a model ([`rules::Breaker`]); the
//! first step they do not accept fails the check of its rule, shown from the breaker's last
//! rest. A walk that fails is walked again on a fresh instance before it is believed.

mod inventory;
mod plan;
mod rules;
mod walk;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use httplings::fixtures::UpstreamSetup;
use httplings::lessons::circuit_breaker::{Adapter, App, Call};

use self::inventory::Inventory;
use self::plan::{Instance, Plan};
use self::rules::{Breaker, Rule};
use crate::judge::bounds::{AT_ONCE_ON_AVERAGE, OPENED_WITHIN, REFUSAL_LAG, millis};
use crate::judge::confirm::confirmed_quiet;
use crate::judge::model::replay;
use crate::judge::{self, APP_DEADLINE, Evidence, Failure, JudgeFuture, Judged, Learner};
use crate::judge::{Lesson, Lost, Recorder, Returned};

/// Each check's id, in the order of [`Rule`]: the rule a check judges is the one in its place.
pub const CHECKS: &[&str] = &[
    "closed",
    "opens",
    "counts",
    "not-found",
    "retry-after",
    "one-trial",
    "closes",
    "reopens",
    "abandoned",
    "live",
    "ready",
    "draining",
    "no-queue",
];

/// Judges `app` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter::new(app), seed).await
}

/// Lesson 5's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "05_circuit_breaker";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// How an instance's walks went.
#[derive(Debug, Default)]
struct Walked {
    /// The rule broken in every walk, with how the first walk broke it.
    broken: Option<(Rule, Failure)>,
    /// The rules seen to hold.
    held: BTreeSet<Rule>,
    /// Why `app()` gave no router, when it did not.
    unserved: Option<String>,
    lost: Option<Lost>,
    /// How much longer each refusal asked alone took than the control request sent beside it.
    lags: Vec<Duration>,
    /// The same, for each refusal made while the inventory held another request (a trial).
    beside_trials: Vec<Duration>,
    /// How long each `GET /health/live` took, the controls' included.
    lives: Vec<Duration>,
    /// Whether the judge could pin when the breaker opened only loosely (see [`OPENED_WITHIN`]):
    /// a pass then may be the machine's doing.
    busy: bool,
}

impl Walked {
    /// Whether the rule at `at` of [`CHECKS`] was seen to hold.
    fn held_at(&self, at: usize) -> bool {
        self.held.iter().any(|rule| *rule as usize == at)
    }

    /// Whether the walk could not be made at all: no router, or the learner's process gone.
    fn stopped(&self) -> bool {
        self.unserved.is_some() || self.lost.is_some()
    }
}

/// How many times every walk is played again when none broke a rule but some rule went
/// unjudged: on a busy machine an answer can come too late to prove a rule, never too late to
/// break one, so an unjudged rule is not believed until the walks have had these chances.
const REPLAYS_FOR_UNJUDGED: usize = 2;

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Plan::draw(seed);
    let walk_all =
        || join_all(plan.instances.iter().map(|instance| judged(learner, &plan, instance)));
    let mut walked = walk_all().await;
    for _ in 0..REPLAYS_FOR_UNJUDGED {
        let nothing_broken = walked.iter().all(|walked| walked.broken.is_none());
        let unjudged = (0..CHECKS.len()).any(|at| !walked.iter().any(|w| w.held_at(at)));
        if !nothing_broken || !unjudged || walked.iter().any(Walked::stopped) {
            break;
        }
        for (walked, again) in walked.iter_mut().zip(walk_all().await) {
            walked.held.extend(again.held);
            walked.broken = walked.broken.take().or(again.broken);
            walked.unserved = walked.unserved.take().or(again.unserved);
            walked.lost = walked.lost.take().or(again.lost);
        }
    }
    if let Some(lost) = walked.iter().find_map(|walked| walked.lost.clone()) {
        return Err(lost);
    }
    if let Some(problem) = walked.iter().find_map(|walked| walked.unserved.as_deref()) {
        recorder.fail_the_rest(&Failure::new(
            problem,
            "No request can be answered until the router builds. In axum 0.8, path parameters \
             are written /items/{id}.",
        ));
        return Ok(());
    }
    // A refusal that waits a little every time (a pause under the slack any one of them is
    // allowed), or a liveness probe that does, shows in the median of them all, and again in a
    // second play.
    let (mut slow_refusals, mut slow_lives) = (refusals_wait(&walked), lives_wait(&walked));
    let mut slow_beside_trials = refused_beside_trials_wait(&walked);
    if slow_refusals.is_some() || slow_lives.is_some() || slow_beside_trials.is_some() {
        let again = walk_all().await;
        slow_refusals = slow_refusals.and(refusals_wait(&again));
        slow_lives = slow_lives.and(lives_wait(&again));
        slow_beside_trials = slow_beside_trials.and(refused_beside_trials_wait(&again));
    }
    for (at, check) in CHECKS.iter().enumerate() {
        let failure = verdict(at, &walked);
        let failure = match (*check, failure) {
            ("opens", None) => slow_refusals.take(),
            ("one-trial", None) => slow_beside_trials.take(),
            ("live", None) => slow_lives.take(),
            (_, failure) => failure,
        };
        recorder.decide(check, failure);
    }
    Ok(())
}

/// A failure when `GET /health/live` took more than [`AT_ONCE_ON_AVERAGE`] in the median of a
/// run's probes and controls: a busy machine holds some of them up, never most.
fn lives_wait(walked: &[Walked]) -> Option<Failure> {
    let lives = walked.iter().flat_map(|walked| walked.lives.clone()).collect();
    let (median, count) = median_past(lives, AT_ONCE_ON_AVERAGE)?;
    Some(Failure::of(format!(
        "GET /health/live took {} in the median of {count} asks (at once is within {} in the \
         median): a liveness probe that waits tells the orchestrator nothing it can act on",
        millis(median),
        millis(AT_ONCE_ON_AVERAGE)
    )))
}

/// A failure when the refusals asked alone took, in their median, more than [`REFUSAL_LAG`]
/// longer than the control requests sent beside them.
fn refusals_wait(walked: &[Walked]) -> Option<Failure> {
    let lags = walked.iter().flat_map(|walked| walked.lags.clone()).collect();
    let (median, count) = median_past(lags, REFUSAL_LAG)?;
    Some(Failure::of(format!(
        "the open breaker's 503s took {} longer than GET /health/live sent beside them, in the \
         median of {count} refusals (at most {} is allowed): a refusal asks nobody, so nothing \
         should hold it up",
        millis(median),
        millis(REFUSAL_LAG)
    )))
}

/// A failure when the refusals made while a trial was on its way took, in their median, more
/// than [`REFUSAL_LAG`] longer than the control requests sent beside them: a pause of a few
/// tens of milliseconds "in case the trial ends" is under the slack each one is allowed.
fn refused_beside_trials_wait(walked: &[Walked]) -> Option<Failure> {
    let lags = walked.iter().flat_map(|walked| walked.beside_trials.clone()).collect();
    let (median, count) = median_past(lags, REFUSAL_LAG)?;
    Some(Failure::of(format!(
        "the 503s answered while a trial was on its way took {} longer than GET /health/live \
         sent beside them, in the median of {count} (at most {} is allowed): everyone but the \
         trial is refused at once, however long the trial takes, with no wait for it to end",
        millis(median),
        millis(REFUSAL_LAG)
    )))
}

/// The median of `durations` and how many there are, when it is past `limit` (of a dozen at
/// least: fewer say too little about a pause every answer has).
fn median_past(mut durations: Vec<Duration>, limit: Duration) -> Option<(Duration, usize)> {
    if durations.len() < 12 {
        return None;
    }
    durations.sort();
    let median = durations[durations.len() / 2];
    (median > limit).then_some((median, durations.len()))
}

/// Walks `instance`, and again while it fails, or passed on a machine too busy to tell.
async fn judged(learner: &Learner, plan: &Plan, instance: &Instance) -> Walked {
    let plays: RefCell<Vec<Walked>> = RefCell::default();
    let failure = confirmed_quiet(|_| async {
        let played = play(learner, plan, instance).await;
        let verdict = (played.broken.as_ref().map(|(_, failure)| failure.clone()), played.busy);
        plays.borrow_mut().push(played);
        Some(verdict)
    })
    .await;
    let plays = plays.into_inner();
    match failure {
        Some(failure) => {
            let first =
                plays.into_iter().find(|played| played.broken.is_some()).unwrap_or_default();
            Walked { broken: first.broken.map(|(rule, _)| (rule, failure)), ..first }
        }
        None => plays.into_iter().last().unwrap_or_default(),
    }
}

/// One walk of `instance`, on an instance of its own.
async fn play(learner: &Learner, plan: &Plan, instance: &Instance) -> Walked {
    let inventory = Inventory::start(&plan.items).await;
    let (policy, timeout) = (instance.policy, instance.timeout);
    let setup = UpstreamSetup { base: inventory.upstream.base.clone(), timeout };
    let (failure_threshold, cooldown) = (policy.failure_threshold, policy.cooldown);
    let call = Call::Serve { inventory: setup, failure_threshold, cooldown };
    let unserved = |problem: String| Walked { unserved: Some(problem), ..Walked::default() };
    let base = match learner.call::<_, Result<String, String>>("app()", &call, APP_DEADLINE).await {
        Ok(Returned::Value(Ok(base))) => base,
        Ok(Returned::Value(Err(problem)) | Returned::Panicked(problem)) => {
            return unserved(problem);
        }
        Ok(Returned::TimedOut(limit)) => {
            return unserved(format!("app() did not return within {} s", limit.as_secs()));
        }
        Err(lost) => return Walked { lost: Some(lost), ..Walked::default() },
    };
    let drain = async || {
        // A lost process shows in the answers that follow; the judge goes on to decide.
        let call = Call::Drain { base: base.clone() };
        let _: Result<Returned<Result<String, String>>, Lost> =
            learner.call("Lifecycle draining", &call, Duration::from_secs(2)).await;
    };
    let start = Instant::now();
    let history = walk::walk(instance, &base, &inventory, drain).await;
    let replayed = replay(Breaker::new(policy, timeout, start), &history);
    let broken = replayed.divergence.map(|divergence| {
        let (step, observed) = &history[divergence.at];
        let broken = replayed.model.broken(step, observed).expect("the step the model refused");
        let (name, number) = (instance.name, divergence.at + 1);
        let summary = format!(
            "instance {name} (threshold {failure_threshold}, cooldown {}, timeout {}), step {number}: {}",
            millis(cooldown),
            millis(timeout),
            broken.why
        );
        let title = format!(
            "instance {name} since its breaker last rested (times from its first request); before step {number}, by the rules: {}",
            divergence.state
        );
        let timeline = Evidence::Text { title, body: divergence.history.join("\n") };
        let failure = Failure::of(summary).with(timeline);
        (broken.rule, broken.evidence.into_iter().fold(failure, Failure::with))
    });
    let lags = refusal_lags(&history);
    let beside_trials = refusal_lags_beside_trials(&history);
    let lives = live_times(&history);
    let busy = replayed.model.widest_opening > OPENED_WITHIN;
    let held = replayed.model.judged;
    Walked { broken, held, lags, beside_trials, lives, busy, ..Walked::default() }
}

/// How long each `GET /health/live` took: the probes, and the control beside each ask.
fn live_times(history: &walk::History) -> Vec<Duration> {
    let probes = history
        .iter()
        .flat_map(|(_, observed)| &observed.gots)
        .filter(|got| got.exchange.request.path == "/health/live")
        .map(|got| got.exchange.took());
    let controls = history.iter().filter_map(|(_, observed)| observed.gots.first()?.control);
    probes.chain(controls).collect()
}

/// For each refusal (a 503 for an item) asked alone, how much longer it took than its control.
fn refusal_lags(history: &walk::History) -> Vec<Duration> {
    history
        .iter()
        .filter_map(|(_, observed)| match observed.gots.as_slice() {
            [got]
                if got.exchange.status() == Some(503)
                    && got.exchange.request.path.starts_with("/items/") =>
            {
                Some(got.exchange.took().saturating_sub(got.control?))
            }
            _ => None,
        })
        .collect()
}

/// For each refusal (a 503 for an item) made while the inventory held another request (a trial
/// on its way), how much longer it took than its control.
fn refusal_lags_beside_trials(history: &walk::History) -> Vec<Duration> {
    let gots = history.iter().flat_map(|(_, observed)| &observed.gots);
    gots.filter(|got| {
        got.busy
            && got.exchange.status() == Some(503)
            && got.exchange.request.path.starts_with("/items/")
    })
    .filter_map(|got| Some(got.exchange.took().saturating_sub(got.control?)))
    .collect()
}

/// The verdict of the check in place `at`: failed where its rule broke, passed where it was
/// seen to hold, and failed as not judged where every walk went wrong before it could be seen.
fn verdict(at: usize, walked: &[Walked]) -> Option<Failure> {
    let broken = walked.iter().filter_map(|walked| walked.broken.as_ref());
    if let Some((_, failure)) = broken.clone().find(|(rule, _)| *rule as usize == at) {
        return Some(failure.clone());
    }
    if walked.iter().any(|walked| walked.held_at(at)) {
        return None;
    }
    Some(Failure::new(
        "not judged: every instance went wrong, or was held up, before its breaker got this far",
        "Each instance walks the breaker's whole cycle, and this rule shows only once its \
         breaker gets that far. Fix the other ✗ in this list first (a slow answer holds a walk \
         up as surely as a wrong one stops it); then this rule is judged.",
    ))
}
