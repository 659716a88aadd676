//! Lesson 5, 503 on purpose: a circuit breaker in front of a failing dependency, and readiness
//! that drains an instance without failing a request.
//!
//! The judge builds the learner's app three times, each over an inventory of its own whose mood
//! it changes as it goes: instance X is opened by failures, and closed again by a trial that
//! succeeds; on Y the trial fails; Z is drained while a request is in flight. All three at once.

mod inventory;
mod plan;
mod timelines;
mod verdicts;

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};

use self::inventory::Inventory;
use self::plan::Plan;
use self::timelines::Client;
use crate::BreakerPolicy;
use crate::adapter::{self, Handler};
use crate::fixtures::{Lifecycle, Upstream, UpstreamSetup};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lost, Recorder, Returned};

/// The exercise's entry point.
pub type App = fn(Upstream, BreakerPolicy, Lifecycle) -> Router;

const CLOSED: &str =
    "while the breaker is closed, items come through and a failure is a 502 or 504";
const OPENS: &str = "after failure_threshold failures in a row it opens: a 503 at once, and the inventory left alone";
const COUNTS: &str = "only failures in a row count: a success in between starts the count again";
const RETRY_AFTER: &str =
    "an open breaker's 503 says when to come back: the cooldown left, rounded up to whole seconds";
const ONE_TRIAL: &str =
    "after the cooldown, one trial request reaches the inventory, however many arrive";
const CLOSES: &str = "a trial that succeeds closes the breaker";
const REOPENS: &str = "a trial that fails opens the breaker for a whole cooldown again";
const LIVE: &str = "/health/live answers 2xx, whatever the breaker or the lifecycle";
const READY: &str =
    "/health/ready answers 2xx whatever the breaker, and 503 with Retry-After while draining";
const DRAINING: &str =
    "while draining, /items still serves what it gets, and a request in flight completes";
const NO_QUEUE: &str =
    "requests never wait for each other: no lock is held across the inventory call";

pub const CHECKS: &[&str] = &[
    CLOSED,
    OPENS,
    COUNTS,
    RETRY_AFTER,
    ONE_TRIAL,
    CLOSES,
    REOPENS,
    LIVE,
    READY,
    DRAINING,
    NO_QUEUE,
];

/// The `main` of lesson 5's check targets.
pub fn main(app: App) -> ExitCode {
    adapter::main(Adapter { app, lifecycles: RefCell::default() })
}

/// Judges `app` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {
    judge::in_process(Adapter { app, lifecycles: RefCell::default() }, CHECKS, judge, seed).await
}

pub fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
    Box::pin(run(learner, recorder, seed))
}

#[derive(Debug, Serialize, Deserialize)]
enum Call {
    Serve {
        inventory: UpstreamSetup,
        failure_threshold: u32,
        cooldown: Duration,
    },
    /// Starts draining the instance served `instance`-th.
    Drain {
        instance: usize,
    },
}

struct Adapter {
    app: App,
    lifecycles: RefCell<Vec<Lifecycle>>,
}

impl Handler for Adapter {
    type Call = Call;
    type Reply = Result<String, String>;

    async fn handle(self: Rc<Self>, call: Call) -> Result<String, String> {
        match call {
            Call::Serve { inventory, failure_threshold, cooldown } => {
                let lifecycle = Lifecycle::default();
                self.lifecycles.borrow_mut().push(lifecycle.clone());
                let policy = BreakerPolicy { failure_threshold, cooldown };
                adapter::serve_app(|| (self.app)(Upstream::new(inventory), policy, lifecycle)).await
            }
            Call::Drain { instance } => {
                let lifecycles = self.lifecycles.borrow();
                let lifecycle = lifecycles.get(instance).ok_or("no such instance")?;
                lifecycle.set_draining(true);
                Ok("draining".into())
            }
        }
    }
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Plan::draw(seed);
    let inventories =
        [Inventory::start().await, Inventory::start().await, Inventory::start().await];
    let mut clients = Vec::new();
    for inventory in &inventories {
        let call = Call::Serve {
            inventory: UpstreamSetup { base: inventory.server.base.clone(), timeout: plan.timeout },
            failure_threshold: plan.threshold,
            cooldown: plan.cooldown,
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
    let (closing, reopening, draining) = tokio::join!(
        timelines::closing(&plan, &clients[0], &inventories[0]),
        timelines::reopening(&plan, &clients[1], &inventories[1]),
        timelines::draining(&plan, &clients[2], &inventories[2], drain),
    );
    recorder.decide(CLOSED, verdicts::closed(&plan, &closing));
    recorder.decide(OPENS, verdicts::opens(&plan, &closing));
    recorder.decide(COUNTS, verdicts::counts(&plan, &closing));
    recorder.decide(RETRY_AFTER, verdicts::retry_after(&plan, &closing, &reopening));
    recorder.decide(ONE_TRIAL, verdicts::one_trial(&plan, &closing));
    recorder.decide(CLOSES, verdicts::closes(&plan, &closing));
    recorder.decide(REOPENS, verdicts::reopens(&plan, &closing, &reopening));
    recorder.decide(LIVE, verdicts::live(&plan, &closing, &draining));
    recorder.decide(READY, verdicts::ready(&plan, &closing, &draining));
    recorder.decide(DRAINING, verdicts::draining(&draining));
    recorder.decide(NO_QUEUE, verdicts::no_queue(&plan, &closing));
    Ok(())
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No request can be answered until the router builds. In axum 0.8, path parameters are \
         written /items/{id}.",
    )
}
