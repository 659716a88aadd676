//! Lesson 4, 502 and 504: the learner's service is the gateway. It asks a pricing service of
//! the judge's, and must turn each of its failures into the right 5xx of its own, in time,
//! without passing on anything of the pricing service's, and asking it once per request.
//!
//! The judge builds the learner's app four times: over two pricing services that behave the
//! same but differ in address and secrets (for the comparison), over one that is down, and over
//! one that never completes a connection.

mod asked;
mod plan;
mod verdicts;

use std::sync::Arc;

use httplings::fixtures::UpstreamSetup;
use httplings::lessons::bad_gateway::{Adapter, App};

use self::asked::Asked;
use self::plan::Plan;
use crate::judge::upstream_old::{self as upstream, ScriptedUpstream};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder};

const PRICE: &str = "price";
const NOT_FOUND: &str = "not-found";
const REFUSED: &str = "refused";
const UNUSABLE: &str = "unusable";
const TIMEOUT: &str = "timeout";
const UNAVAILABLE: &str = "unavailable";
const NO_LEAK: &str = "no-leak";
const ONCE: &str = "once";
const LOGGED: &str = "logged";

pub const CHECKS: &[&str] =
    &[PRICE, NOT_FOUND, REFUSED, UNUSABLE, TIMEOUT, UNAVAILABLE, NO_LEAK, ONCE, LOGGED];

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

/// The gateways of a run, by what stands behind each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gateway {
    /// Over pricing service 0 (A) or 1 (B): they differ only in address and secrets.
    Priced(usize),
    Down,
    Unreachable,
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Arc::new(Plan::draw(seed));
    let mut services = Vec::new();
    for service in 0..2 {
        let plan = Arc::clone(&plan);
        services.push(
            ScriptedUpstream::start(move |seen| plan.reply(service, symbol_of(&seen.target))).await,
        );
    }
    let (down, _down) = upstream::refused();
    let (unreachable, _unreachable) = upstream::unreachable().await;
    let upstreams = [
        services[0].base.clone(),
        services[1].base.clone(),
        format!("http://{down}"),
        format!("http://{unreachable}"),
    ];
    let mut bases = Vec::new();
    for base in upstreams {
        let setup = UpstreamSetup { base, timeout: plan.timeout };
        match judge::serve(learner, recorder, &setup, app_failed).await? {
            Some(gateway) => bases.push(gateway),
            None => return Ok(()),
        }
    }
    let asked = Asked::ask(&plan, &bases).await;
    let seen = [services[0].seen(), services[1].seen()];
    recorder.decide(PRICE, verdicts::prices(&plan, &asked));
    recorder.decide(NOT_FOUND, verdicts::unknown(&plan, &asked));
    recorder.decide(REFUSED, verdicts::down(&asked));
    recorder.decide(UNUSABLE, verdicts::unusable(&plan, &asked));
    recorder.decide(TIMEOUT, verdicts::timeouts(&plan, &asked));
    recorder.decide(UNAVAILABLE, verdicts::unavailable(&plan, &asked));
    recorder.decide(
        NO_LEAK,
        verdicts::leaks(
            &plan,
            &asked,
            &[services[0].address, services[1].address, down, unreachable],
        ),
    );
    recorder.decide(ONCE, verdicts::once(&asked, &seen));
    recorder.decide(LOGGED, verdicts::logged(learner, &plan, &asked).await?);
    Ok(())
}

/// The symbol a request to the pricing service asks for: `/prices/{symbol}`.
pub(crate) fn symbol_of(target: &str) -> &str {
    target.split('?').next().and_then(|path| path.strip_prefix("/prices/")).unwrap_or_default()
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No request can be answered until the router builds. In axum 0.8, path parameters are \
         written /quotes/{symbol}.",
    )
}
