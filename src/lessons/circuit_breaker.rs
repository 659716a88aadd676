//! Lesson 5, 503 on purpose: a circuit breaker in front of a failing dependency, and readiness
//! that drains an instance without failing a request.
//!
//! The judge builds the learner's app five times, each over an inventory of its own whose mood
//! it changes as it goes: instance X is opened by failures, and closed again by a trial that
//! succeeds; Y opens on a timeout, and its trial fails; Z is drained while a request is in
//! flight; W's trial is abandoned by its client; V has a threshold and a long cooldown of its
//! own. All five at once.

mod evidence;
mod exchange;
mod inventory;
mod plan;
mod timelines;
mod verdicts;

use std::time::Duration;

use futures_util::future::join_all;
use httplings::fixtures::UpstreamSetup;
use httplings::lessons::circuit_breaker::{Adapter, App, Call};

use self::exchange::Client;
use self::inventory::Inventory;
use self::plan::Plan;
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned};

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

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Plan::draw(seed);
    // X, Y, Z and W share a policy; V has one of its own.
    let policies = [plan.policy(), plan.policy(), plan.policy(), plan.policy(), plan.v_policy()];
    let inventories = join_all(policies.iter().map(|_| Inventory::start())).await;
    let mut clients = Vec::new();
    for (inventory, policy) in inventories.iter().zip(policies) {
        let call = Call::Serve {
            inventory: UpstreamSetup { base: inventory.server.base.clone(), timeout: plan.timeout },
            failure_threshold: policy.failure_threshold,
            cooldown: policy.cooldown,
        };
        match judge::serve(learner, recorder, &call, app_failed).await? {
            Some(base) => clients.push(Client::new(base)),
            None => return Ok(()),
        }
    }
    let drain = async || {
        // A lost process shows in the answers that follow; the judge goes on to decide.
        let _: Result<Returned<Result<String, String>>, Lost> = learner
            .call("Lifecycle draining", &Call::Drain { instance: 2 }, Duration::from_secs(2))
            .await;
    };
    let (x, y, z, w, v) = tokio::join!(
        timelines::closing(&plan, &clients[0], &inventories[0]),
        timelines::reopening(&plan, &clients[1], &inventories[1]),
        timelines::draining(&plan, &clients[2], &inventories[2], drain),
        timelines::abandoning(&plan, &clients[3], &inventories[3]),
        timelines::counting_down(&plan, &clients[4], &inventories[4]),
    );
    let seen = Seen { plan: &plan, x: &x, y: &y, z: &z, w: &w, v: &v };
    recorder.decide(CLOSED, verdicts::closed(&seen));
    recorder.decide(OPENS, verdicts::opens(&seen));
    recorder.decide(COUNTS, verdicts::counts(&seen));
    recorder.decide(NOT_FOUND, verdicts::not_found(&seen));
    recorder.decide(RETRY_AFTER, verdicts::retry_after(&seen));
    recorder.decide(ONE_TRIAL, verdicts::one_trial(&seen));
    recorder.decide(CLOSES, verdicts::closes(&seen));
    recorder.decide(REOPENS, verdicts::reopens(&seen));
    recorder.decide(ABANDONED, verdicts::abandoned(&seen));
    recorder.decide(LIVE, verdicts::live(&seen));
    recorder.decide(READY, verdicts::ready(&seen));
    recorder.decide(DRAINING, verdicts::draining(&seen));
    recorder.decide(NO_QUEUE, verdicts::no_queue(&seen));
    Ok(())
}

/// Everything the five instances saw, for the verdicts.
struct Seen<'a> {
    plan: &'a Plan,
    x: &'a timelines::Closing,
    y: &'a timelines::Reopening,
    z: &'a timelines::Draining,
    w: &'a timelines::Abandoning,
    v: &'a timelines::CountingDown,
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No request can be answered until the router builds. In axum 0.8, path parameters are \
         written /items/{id}.",
    )
}
