//! Lesson 6, retrying a POST safely: idempotency keys, from both ends. The learner's server
//! takes payments under keys and charges through a processor of the judge's, which counts every
//! charge; its keys' lives are checked against the rules written once as a model. The learner's
//! client makes keys (in two processes) and pays a payments server of the judge's with them,
//! which notes every attempt's key, body and time. Both halves run at once, with payments, keys
//! and failures drawn from the seed; a half in which a check fails is played again, afresh,
//! before the failure is believed.

mod client;
mod life;
mod plan;
mod processor;
mod server;

use std::cell::RefCell;
use std::time::Duration;

use httplings::fixtures::UpstreamSetup;
use httplings::lessons::idempotency_key::{Adapter, App, Call, NewKey, Pay};

use self::plan::Payments;
use self::processor::Processor;
use crate::judge::bounds::{Lateness, PROBE_OFTEN};
use crate::judge::confirm::{confirmed_checks, confirmed_checks_quiet};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, seed};

const NO_KEY: &str = "no-key";
const CHARGES: &str = "charges";
const REPLAYS: &str = "replays";
const CHANGED: &str = "changed";
const IN_FLIGHT: &str = "in-flight";
const NO_QUEUE: &str = "no-queue";
const ABANDONED: &str = "abandoned";
const RACES: &str = "races";
const GATEWAY: &str = "gateway";
const NOT_STORED: &str = "not-stored";
const SCOPED: &str = "scoped";
const KEYED: &str = "keyed";
const FRESH: &str = "fresh";
const RETRIES: &str = "retries";
const NEVER: &str = "never";
const GIVES_UP: &str = "gives-up";
const WAITS: &str = "waits";
const JITTER: &str = "jitter";

pub const CHECKS: &[&str] = &[
    NO_KEY, CHARGES, REPLAYS, CHANGED, IN_FLIGHT, NO_QUEUE, ABANDONED, RACES, GATEWAY, NOT_STORED,
    SCOPED, KEYED, FRESH, RETRIES, NEVER, GIVES_UP, WAITS, JITTER,
];

/// Judges `app`, `new_idempotency_key` and `pay` on threads of this process (the project's
/// tests).
pub async fn judge_in_process(
    app: App,
    new_key: NewKey,
    pay: impl Pay + Send + Clone,
    seed: u64,
) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app, new_key, pay: pay.clone() }, seed).await
}

/// Lesson 6's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "06_idempotency_key";
    const CHECKS: &'static [&'static str] = CHECKS;
    /// A second process makes keys too: a generator seeded with a constant makes the same.
    const PROCESSES: usize = 2;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let mut payments = Payments::new(seed);
    // Long enough that a deadline a fifth too long is late by more than a busy machine blurs.
    let timeout = seed::duration_spread(
        payments.rng(),
        Duration::from_millis(400),
        Duration::from_millis(700),
    );
    let processor = Processor::start(payments.charge_ids(400)).await;
    let call = Call::Serve { processor: UpstreamSetup { base: processor.base.clone(), timeout } };
    let Some(base) = judge::serve(learner, recorder, &call, app_failed).await? else {
        return Ok(());
    };
    let second = learner.other(0).unwrap_or(learner);
    let (lateness, lost) = (RefCell::new(Lateness::default()), RefCell::new(None));
    // The twin herd's verdict, from the first play only (see `client::play`).
    let in_step = RefCell::new(None);
    // A processor timeout a fifth too long hides in a busy play's lateness: such a pass of
    // `gateway` is played again.
    let server_half = confirmed_checks_quiet(|play| {
        let plan =
            server::Plan::draw(&mut Payments::new(seed ^ 0x5e ^ u64::from(play) << 40), timeout);
        let (processor, base, lateness) = (&processor, &base, &lateness);
        async move { server::play(&plan, base, processor, lateness, NO_KEY, NO_QUEUE).await }
    });
    // A full jitter drawn from 70 % of `d` hides in a busy play's lateness, and so does a herd
    // without jitter, spread by it: such a pass of `waits` or `jitter` is played again.
    let client_half = confirmed_checks_quiet(|play| {
        let mut payments = Payments::new(seed ^ 0xc1 ^ u64::from(play) << 40);
        let plan = client::Plan::draw(&mut payments);
        let (lateness, lost, in_step) = (&lateness, &lost, &in_step);
        async move {
            match client::play(&plan, learner, second, lateness, payments.rng()).await {
                // Keys and waits are compared across processes in the first play only: a
                // generator seeded with a constant is in step with the other process there, and
                // only there. Two processes in step are believed at once.
                Ok(client::ClientPlay { decided, busy, .. }) if play > 0 => {
                    (decided.into_iter().filter(|(check, _)| *check != FRESH).collect(), busy)
                }
                Ok(client::ClientPlay { decided, in_step: twins, busy }) => {
                    *in_step.borrow_mut() = twins;
                    (decided, busy)
                }
                Err(gone) => {
                    lost.borrow_mut().get_or_insert(gone);
                    let decided = [KEYED, FRESH, RETRIES, NEVER, GIVES_UP, WAITS, JITTER]
                        .map(|check| (check, Some(Failure::of("the learner's process was lost"))))
                        .to_vec();
                    (decided, Vec::new())
                }
            }
        }
    });
    // Once the server half is done: see `client::Plan::overflow`.
    let overflow = confirmed_checks(|play| {
        let mut payments = Payments::new(seed ^ 0x0f ^ u64::from(play) << 40);
        let plan = client::Plan::overflow(&mut payments);
        let lost = &lost;
        async move {
            match client::play_overflow(&plan, learner, payments.rng()).await {
                Ok(decided) => decided,
                Err(gone) => {
                    lost.borrow_mut().get_or_insert(gone);
                    Vec::new()
                }
            }
        }
    });
    let server_then_overflow = async { (server_half.await, overflow.await) };
    let ((server_decided, overflow), client_decided) = learner
        .gauged(PROBE_OFTEN, &lateness, async { tokio::join!(server_then_overflow, client_half) })
        .await?;
    if let Some(gone) = lost.into_inner() {
        return Err(gone);
    }
    // A check fails with the first failure any part saw.
    let decided: Vec<_> = server_decided
        .into_iter()
        .chain([(JITTER, in_step.into_inner())])
        .chain(client_decided)
        .chain(overflow)
        .collect();
    for check in CHECKS {
        let failure = decided
            .iter()
            .filter(|(decided, _)| decided == check)
            .find_map(|(_, failure)| failure.clone());
        recorder.decide(check, failure);
    }
    Ok(())
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No payment can be taken until the router builds. In axum 0.8, routes are written /payments, and a handler that takes the body takes it last.",
    )
}
