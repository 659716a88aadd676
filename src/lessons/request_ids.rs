//! Lesson 8, request_ids: TODO say what the judge serves, sends and compares.

use std::time::Duration;

use httplings::lessons::request_ids::{Adapter, App};

use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned};

const FIRST: &str = "first";

pub const CHECKS: &[&str] = &[FIRST];

/// Lesson 8's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "08_request_ids";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// Judges `app` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app }, seed).await
}

async fn run(learner: &Learner, recorder: &mut Recorder, _seed: u64) -> Result<(), Lost> {
    let served: Returned<Result<String, String>> = learner.call("app()", &(), Duration::from_secs(5)).await?;
    let _base = match served {
        Returned::Value(Ok(base)) => base,
        _ => {
            recorder.fail_the_rest(&Failure::new("app() did not serve", "No request can be answered until the router builds."));
            return Ok(());
        }
    };
    recorder.fail(FIRST, Failure::new("TODO: judge the learner's server", "TODO: why it matters."));
    Ok(())
}
