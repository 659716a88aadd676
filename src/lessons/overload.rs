//! Lesson "overload": the learner's service sits in front of a slow backend of the judge's, and
//! must refuse what it cannot do well: 503 at once beyond `max_in_flight` backend calls, 429 for
//! a client over its own quota, with an honest `Retry-After`, and never its health endpoint.
//!
//! The judge builds the learner's app five times, each over a backend of its own that counts
//! the calls under way, and plays all five at once: floods released together (one client, many,
//! or no key) with backend failures between them; a stream of requests three times faster than
//! the backend; two instances whose quotas it spends, then comes back when told; and one whose
//! window is minutes long, where it only reads what a refusal says. A failure
//! is believed only when every replay shows it.

mod floods;
mod plan;
mod quotas;
mod said;
mod shown;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use httplings::fixtures::UpstreamSetup;
use httplings::lessons::overload::{Adapter, App, Serve};

use self::plan::Plan;
use crate::judge::confirm;
use crate::judge::upstream::Upstream;
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned};

const LIMIT: &str = "limit";
const FULL: &str = "full";
const REFUSED: &str = "refused";
const GOODPUT: &str = "goodput";
const QUOTA: &str = "quota";
const PER_CLIENT: &str = "per-client";
const RETRY_AFTER: &str = "retry-after";
const ANONYMOUS: &str = "anonymous";
const HEALTH: &str = "health";
const FAILURES: &str = "failures";
const NO_LEAK: &str = "no-leak";

pub const CHECKS: &[&str] = &[
    LIMIT,
    FULL,
    REFUSED,
    GOODPUT,
    QUOTA,
    PER_CLIENT,
    RETRY_AFTER,
    ANONYMOUS,
    HEALTH,
    FAILURES,
    NO_LEAK,
];

/// The header that names a client.
const API_KEY: &str = "x-api-key";

/// Lesson "overload"'s judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "08_overload";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// Judges `app` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app }, seed).await
}

/// The failures a scenario saw, by check: the first one seen for each.
type Failures = BTreeMap<&'static str, Failure>;

fn note(failures: &mut Failures, check: &'static str, failure: Failure) {
    failures.entry(check).or_insert(failure);
}

/// Why a play could not go on.
enum Stop {
    Lost(Lost),
    /// The learner's `app()` did not serve.
    App(String),
}

impl From<Lost> for Stop {
    fn from(lost: Lost) -> Self {
        Stop::Lost(lost)
    }
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Arc::new(Plan::draw(seed));
    let played = confirm::confirmed_each(|_| play(learner, &plan)).await;
    let mut failures = match played {
        Ok(failures) => failures,
        Err(Stop::Lost(lost)) => return Err(lost),
        Err(Stop::App(problem)) => {
            recorder.fail_the_rest(&Failure::new(
                problem,
                "No request can be answered until the router builds. In axum 0.8, path \
                 parameters are written /reports/{id}.",
            ));
            return Ok(());
        }
    };
    for check in CHECKS {
        recorder.decide(check, failures.remove(check));
    }
    Ok(())
}

/// One play of every scenario, all at once, each on instances of its own.
async fn play(learner: &Learner, plan: &Arc<Plan>) -> Result<Failures, Stop> {
    let (burst, stream, single, several, long) = tokio::join!(
        floods::bursts(learner, plan),
        floods::stream(learner, plan),
        quotas::spend(learner, plan, 0),
        quotas::spend(learner, plan, 1),
        quotas::long_window(learner, plan),
    );
    let ((burst, burst_said), (stream, stream_said)) = (burst?, stream?);
    let mut failures = Failures::new();
    for found in [burst, stream, single?, several?, long?] {
        for (check, failure) in found {
            note(&mut failures, check, failure);
        }
    }
    if let Some(failure) = said::judge(burst_said.as_ref(), stream_said.as_ref()) {
        note(&mut failures, NO_LEAK, failure);
    }
    Ok(failures)
}

/// A backend of the judge's, scripted by the plan.
async fn backend(plan: &Arc<Plan>) -> Upstream {
    let plan = Arc::clone(plan);
    Upstream::start(move |seen| plan.reply(seen)).await
}

/// Has the learner's app served in front of `backend` with these limits; its base URL.
async fn serve(
    learner: &Learner,
    plan: &Plan,
    backend: &Upstream,
    max_in_flight: usize,
    per_client: u32,
    window: Duration,
) -> Result<String, Stop> {
    let call = Serve {
        backend: UpstreamSetup { base: backend.base.clone(), timeout: plan.timeout },
        max_in_flight,
        per_client,
        window,
    };
    match learner.call("app()", &call, judge::APP_DEADLINE).await? {
        Returned::Value(Ok(base)) => Ok(base),
        Returned::Value(Err(problem)) | Returned::Panicked(problem) => Err(Stop::App(problem)),
        Returned::TimedOut(limit) => {
            Err(Stop::App(format!("app() did not return within {} s", limit.as_secs())))
        }
    }
}
