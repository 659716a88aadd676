//! Lesson 4, 502 and 504: the learner's service is the gateway. It asks pricing services of
//! the judge's, and must turn each of their failures into the right answer of its own, in
//! time, without passing on anything of theirs, asking once per request, and logging what went
//! wrong.
//!
//! The judge builds the learner's app eight times ([`BEHIND`]): twice over pricing service A
//! and once over B (they differ only in address and secrets, so that what changes with them is
//! a leak and what changes with the instance is not), over two more with timeouts of their own,
//! over one that is asked symbols that need escaping, over one that is down and over one that
//! never completes a connection. Every symbol is asked in two rounds, its answer changed between.

mod answers;
mod asking;
mod behind;
mod plan;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join;
use httplings::fixtures::UpstreamSetup;
use httplings::lessons::bad_gateway::{Adapter, App};

use self::asking::{Asked, Record};
use self::plan::Plan;
use crate::judge::bounds::{HANG_UP_TELLS, Lag};
use crate::judge::confirm::{self, confirmed};
use crate::judge::exchange::Client;
use crate::judge::upstream::{self, Upstream};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder};

const PRICE: &str = "price";
const NOT_FOUND: &str = "not-found";
const CLIENT_ERRORS: &str = "client-errors";
const REFUSED: &str = "refused";
const UNUSABLE: &str = "unusable";
const TIMEOUT: &str = "timeout";
const UNAVAILABLE: &str = "unavailable";
const PATH: &str = "path";
const NO_LEAK: &str = "no-leak";
const ONCE: &str = "once";
const LOGGED: &str = "logged";

pub const CHECKS: &[&str] = &[
    PRICE,
    NOT_FOUND,
    CLIENT_ERRORS,
    REFUSED,
    UNUSABLE,
    TIMEOUT,
    UNAVAILABLE,
    PATH,
    NO_LEAK,
    ONCE,
    LOGGED,
];

/// What stands behind one of the gateways the judge builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behind {
    /// A pricing service of the judge's, by number.
    Service(usize),
    Refused,
    Unreachable,
}

/// The gateways, by number: what stands behind each.
const BEHIND: [Behind; GATEWAYS] = [
    Behind::Service(0),
    Behind::Service(0),
    Behind::Service(1),
    Behind::Service(2),
    Behind::Service(3),
    Behind::Service(ESCAPING),
    Behind::Refused,
    Behind::Unreachable,
];
const GATEWAYS: usize = 8;
const SERVICES: usize = 5;
/// The service asked for symbols that need escaping.
const ESCAPING: usize = 4;
/// Gateways with a role of their own: the first over A, the one over B, the one asked symbols
/// that need escaping, the one over a service that is down, the one never reached.
const A: usize = 0;
const B: usize = 2;
const ESCAPES: usize = 5;
const DOWN: usize = 6;
const UNREACHABLE: usize = 7;

/// Judges `app` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app }, seed).await
}

/// Lesson 4's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "04_bad_gateway";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Arc::new(Plan::draw(seed));
    let round = Arc::new(AtomicUsize::new(0));
    let mut services: Vec<Upstream> = Vec::new();
    for service in 0..SERVICES {
        let (plan, round) = (Arc::clone(&plan), Arc::clone(&round));
        let script = move |seen: &_| plan.reply(service, round.load(Ordering::SeqCst), seen);
        // Connections kept open after a complete answer: a gateway with one client (and its
        // pool) comes back on them; one that builds a client per request never does.
        let options = upstream::Options { cap: usize::MAX, keep_alive: true };
        services.push(Upstream::with(options, script).await);
    }
    let (refused, unreachable) = (upstream::refused(), upstream::unreachable().await);
    let mut gateways = Vec::new();
    for (gateway, behind) in BEHIND.iter().enumerate() {
        let base = match behind {
            Behind::Service(service) => services[*service].base.clone(),
            Behind::Refused => format!("http://{}", refused.address),
            Behind::Unreachable => format!("http://{}", unreachable.address),
        };
        let setup = UpstreamSetup { base, timeout: plan.timeouts[gateway] };
        match judge::serve(learner, recorder, &setup, app_failed).await? {
            Some(base) => gateways.push(Client::new(base)),
            None => return Ok(()),
        }
    }
    let record = Record::new(&plan, &gateways, &round);
    let (_, escapes) = join(record.round_one(), record.escapes(&services[ESCAPING])).await;
    record.round_two().await;
    // Every verdict on answers is confirmed: a request answered wrong is asked again, twice.
    for check in [PRICE, NOT_FOUND, CLIENT_ERRORS, REFUSED, UNUSABLE, TIMEOUT, UNAVAILABLE] {
        let judged_by = |asked: &Asked| answers::check_of(&plan, asked) == check;
        let mut failure =
            confirm::confirmed_narrowing(|play| record.replayed(play, judged_by)).await;
        if check == TIMEOUT && failure.is_none() {
            failure = hung_up_early(&record, &plan, &services).await;
        }
        if check == TIMEOUT && failure.is_none() {
            failure = behind::left_open(&plan, &services).await;
        }
        if check == REFUSED && failure.is_none() {
            let quiet = |play: u32| plan.quiet_windows[play as usize % plan.quiet_windows.len()];
            failure = confirmed(|play| {
                behind::refused_in_a_loop(&gateways[DOWN], &plan.refused, quiet(play))
            })
            .await;
        }
        recorder.decide(check, failure);
    }
    recorder.decide(PATH, answers::escapes(&escapes));
    let mut addresses: Vec<_> = services.iter().map(|service| service.address).collect();
    addresses.extend([refused.address, unreachable.address]);
    recorder.decide(NO_LEAK, behind::leaks(&record, &addresses).await);
    recorder.decide(ONCE, behind::once(&record.asked(), &services));
    recorder.decide(LOGGED, behind::logged(learner, &record).await?);
    Ok(())
}

/// Whether the gateways hung up early on the requests that wait on their timeout, as the
/// pricing services saw it: in round one, and again in replays of those requests alone, which
/// decide ([`confirm::PLAYS`] failing in all). On a busy machine the way from the gateway's
/// timer to the service reading the request takes longer (beside two CPU hogs, a right
/// gateway's median came 14 ms short in one replay), and each replay allows for as much as the
/// machine's timers ran late. A replay whose timers ran [`HANG_UP_TELLS`] late or more could
/// hide a gateway that gives up 15 ms early, so its pass is played again.
async fn hung_up_early(record: &Record<'_>, plan: &Plan, services: &[Upstream]) -> Option<Failure> {
    confirm::confirmed_quiet(|play| async move {
        if play == 0 {
            let failure = behind::hung_up_early(plan, services, &[0; SERVICES], Duration::ZERO);
            return Some((failure, false));
        }
        let since: Vec<usize> = services.iter().map(Upstream::asked).collect();
        let lag = Lag::start();
        record.timing_again().await;
        let late = lag.worst();
        Some((behind::hung_up_early(plan, services, &since, late), late >= HANG_UP_TELLS))
    })
    .await
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No request can be answered until the router builds. In axum 0.8, path parameters are \
         written /quotes/{symbol}.",
    )
}
