//! Lesson 5, 503 on purpose: a circuit breaker in front of a failing dependency, and readiness
//! that drains an instance.
//!
//! The judge serves the learner's app five times, each over an inventory of its own, and walks
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
use crate::judge::bounds::millis;
use crate::judge::confirm::confirmed;
use crate::judge::model::replay;
use crate::judge::{
    self, APP_DEADLINE, Evidence, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder,
    Returned,
};

const CLOSED: &str = "closed";
const OPENS: &str = "opens";
const COUNTS: &str = "counts";
const NOT_FOUND: &str = "not-found";
const RETRY_AFTER: &str = "retry-after";
const ONE_TRIAL: &str = "one-trial";
const CLOSES: &str = "closes";
const REOPENS: &str = "reopens";
const ABANDONED: &str = "abandoned";
const LIVE: &str = "live";
const READY: &str = "ready";
const DRAINING: &str = "draining";
const NO_QUEUE: &str = "no-queue";

/// Each check, and the rule it judges.
const RULES: [(&str, Rule); 13] = [
    (CLOSED, Rule::Closed),
    (OPENS, Rule::Opens),
    (COUNTS, Rule::Counts),
    (NOT_FOUND, Rule::NotFound),
    (RETRY_AFTER, Rule::RetryAfter),
    (ONE_TRIAL, Rule::OneTrial),
    (CLOSES, Rule::Closes),
    (REOPENS, Rule::Reopens),
    (ABANDONED, Rule::Abandoned),
    (LIVE, Rule::Live),
    (READY, Rule::Ready),
    (DRAINING, Rule::Draining),
    (NO_QUEUE, Rule::NoQueue),
];

pub const CHECKS: &[&str] = &[
    CLOSED,
    OPENS,
    COUNTS,
    NOT_FOUND,
    RETRY_AFTER,
    ONE_TRIAL,
    CLOSES,
    REOPENS,
    ABANDONED,
    LIVE,
    READY,
    DRAINING,
    NO_QUEUE,
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

/// How one instance's walks went.
#[derive(Debug, Default)]
struct Walked {
    /// The rule broken in every walk, with how the first walk broke it.
    broken: Option<(Rule, Failure)>,
    /// The rules seen to hold.
    held: BTreeSet<Rule>,
    lost: Option<Lost>,
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Plan::draw(seed);
    let mut served = Vec::new();
    for instance in &plan.instances {
        let inventory = Inventory::start(&plan.items).await;
        let call = serve_call(instance, &inventory);
        match judge::serve(learner, recorder, &call, app_failed).await? {
            Some(base) => served.push((inventory, base)),
            None => return Ok(()),
        }
    }
    let walked = join_all(
        plan.instances
            .iter()
            .zip(served)
            .map(|(instance, first)| judged(learner, &plan, instance, first)),
    )
    .await;
    if let Some(lost) = walked.iter().find_map(|walked| walked.lost.clone()) {
        return Err(lost);
    }
    for (check, rule) in RULES {
        recorder.decide(check, verdict(rule, &walked));
    }
    Ok(())
}

fn serve_call(instance: &Instance, inventory: &Inventory) -> Call {
    Call::Serve {
        inventory: UpstreamSetup {
            base: inventory.upstream.base.clone(),
            timeout: instance.timeout,
        },
        failure_threshold: instance.policy.failure_threshold,
        cooldown: instance.policy.cooldown,
    }
}

/// Walks `instance` (first on the instance already served), again while it fails.
async fn judged(
    learner: &Learner,
    plan: &Plan,
    instance: &Instance,
    first: (Inventory, String),
) -> Walked {
    let first = RefCell::new(Some(first));
    let plays: RefCell<Vec<Walked>> = RefCell::default();
    let failure = confirmed(|_| async {
        let played = play(learner, plan, instance, first.borrow_mut().take()).await;
        let failure = played.broken.as_ref().map(|(_, failure)| failure.clone());
        plays.borrow_mut().push(played);
        failure
    })
    .await;
    let mut plays = plays.into_inner();
    let last = plays.pop().unwrap_or_default();
    match failure {
        Some(failure) => {
            let first = plays.into_iter().next().unwrap_or(last);
            let rule = first.broken.map_or(Rule::Closed, |(rule, _)| rule);
            Walked { broken: Some((rule, failure)), ..first }
        }
        None => last,
    }
}

/// One walk of `instance`, on `served` or on a fresh instance.
async fn play(
    learner: &Learner,
    plan: &Plan,
    instance: &Instance,
    served: Option<(Inventory, String)>,
) -> Walked {
    let (inventory, base) = match served {
        Some(served) => served,
        None => {
            let inventory = Inventory::start(&plan.items).await;
            let call = serve_call(instance, &inventory);
            match learner.call::<_, Result<String, String>>("app()", &call, APP_DEADLINE).await {
                Ok(Returned::Value(Ok(base))) => (inventory, base),
                Ok(_) => {
                    return Walked {
                        broken: Some((
                            Rule::Closed,
                            app_failed("app() failed on a fresh instance"),
                        )),
                        ..Walked::default()
                    };
                }
                Err(lost) => {
                    return Walked {
                        lost: Some(lost.clone()),
                        broken: Some((Rule::Closed, Failure::of(lost.to_string()))),
                        ..Walked::default()
                    };
                }
            }
        }
    };
    let drain = async || {
        // A lost process shows in the answers that follow; the judge goes on to decide.
        let call = Call::Drain { base: base.clone() };
        let _: Result<Returned<Result<String, String>>, Lost> =
            learner.call("Lifecycle draining", &call, Duration::from_secs(2)).await;
    };
    let start = Instant::now();
    let history = walk::walk(instance, &base, &inventory, drain).await;
    let replayed = replay(Breaker::new(instance.policy, instance.timeout, start), &history);
    let broken = replayed.divergence.map(|divergence| {
        let (step, observed) = &history[divergence.at];
        let broken = replayed.model.broken(step, observed).expect("the step the model refused");
        let policy = &instance.policy;
        let summary = format!(
            "instance {} (threshold {}, cooldown {}, timeout {}), step {}: {}",
            instance.name,
            policy.failure_threshold,
            millis(policy.cooldown),
            millis(instance.timeout),
            divergence.at + 1,
            broken.why
        );
        let title = format!(
            "instance {}, from its breaker's last rest (times from its first request); before step {}, by the rules: {}",
            instance.name,
            divergence.at + 1,
            divergence.state
        );
        let timeline = Evidence::Text { title, body: divergence.history.join("\n") };
        let failure = Failure::of(summary).with(timeline);
        (broken.rule, broken.evidence.into_iter().fold(failure, Failure::with))
    });
    Walked { broken, held: replayed.model.judged, lost: None }
}

/// A check's verdict: failed where its rule broke, passed where it was seen to hold, and failed
/// as not judged where every walk went wrong before it could be seen.
fn verdict(rule: Rule, walked: &[Walked]) -> Option<Failure> {
    if let Some((_, failure)) = walked
        .iter()
        .filter_map(|walked| walked.broken.as_ref())
        .find(|(broken, _)| *broken == rule)
    {
        return Some(failure.clone());
    }
    if walked.iter().any(|walked| walked.held.contains(&rule)) {
        return None;
    }
    Some(Failure::new(
        "not judged: every instance went wrong before its breaker got this far",
        "Each instance walks the breaker's whole cycle, and this rule shows only once its breaker gets that far. Fix the first ✗ above: it stops the walks.",
    ))
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No request can be answered until the router builds. In axum 0.8, path parameters are \
         written /items/{id}.",
    )
}
