//! The judge: everything that decides a verdict, in a process the learner's code never runs in
//! (the runner), or, for the project's tests, beside an adapter running on a thread.
//!
//! A lesson's judge gets a [`Learner`] (the learner's module, reached through its adapter), a
//! [`Recorder`] for verdicts and a seed. It decides each check from what crossed the wire, what
//! its own servers saw, the learner's log and the clock, and nothing the learner's code says
//! about itself.

pub mod answer;
mod learner;
pub mod log;
mod recorder;
pub mod seed;
pub(crate) mod together;
pub mod upstream;
mod verdict;

use std::future::Future;
use std::pin::Pin;

pub use self::learner::{Learner, Lost, Returned};
pub use self::recorder::Recorder;
pub use self::verdict::{Evidence, Failure, Outcome, Row, Verdict};

use httplings::adapter::{self, Handler};

/// A lesson's judge, as the runner and the tests call it.
pub type JudgeFn = for<'a> fn(&'a Learner, &'a mut Recorder, u64) -> JudgeFuture<'a>;

/// What a judge returns: `Err` when the learner's process was lost before every check was decided.
pub type JudgeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Lost>> + 'a>>;

/// How long the learner's `app()` may take to build a router.
pub const APP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Asks the learner's process to build its app for `call` and serve it (the adapter replies
/// `Result<String, String>`: the base URL, or what went wrong). When that fails, every check not
/// decided yet fails with the reason, as `failed` words it, and the answer is `None`.
pub async fn serve<C: serde::Serialize>(
    learner: &Learner,
    recorder: &mut Recorder,
    call: &C,
    failed: impl Fn(&str) -> Failure,
) -> Result<Option<String>, Lost> {
    let problem = match learner.call("app()", call, APP_DEADLINE).await? {
        Returned::Value(Ok(base)) => return Ok(Some(base)),
        Returned::Value(Err(problem)) | Returned::Panicked(problem) => problem,
        Returned::TimedOut(limit) => format!("app() did not return within {} s", limit.as_secs()),
    };
    recorder.fail_the_rest(&failed(&problem));
    Ok(None)
}

/// How judging went, with the learner's code on a thread of this process (the project's tests).
#[derive(Debug)]
pub struct Judged {
    pub verdicts: Vec<Verdict>,
    /// Why judging stopped before every check was decided.
    pub lost: Option<Lost>,
    /// What the learner's code logged.
    pub log: String,
}

impl Judged {
    /// The checks that failed, in the order they were decided.
    pub fn failed(&self) -> Vec<&str> {
        self.verdicts
            .iter()
            .filter(|verdict| !verdict.passed())
            .map(|verdict| verdict.check.as_str())
            .collect()
    }

    /// The failure recorded for `check`, if it failed.
    pub fn failure(&self, check: &str) -> Option<&Failure> {
        self.verdicts.iter().find(|verdict| verdict.check == check).and_then(|verdict| {
            match &verdict.outcome {
                Outcome::Fail(failure) => Some(failure),
                Outcome::Pass => None,
            }
        })
    }
}

/// Runs `judge` against `handler` on a thread of this process, with the checks named `checks`.
pub async fn in_process<H: Handler + Send>(
    handler: H,
    checks: &'static [&'static str],
    judge: JudgeFn,
    seed: u64,
) -> Judged {
    let adapter = adapter::in_process(handler);
    let learner = Learner::connect(adapter.stream, adapter.log.clone(), adapter.cpu);
    let mut recorder = Recorder::new(checks, None);
    let lost = judge(&learner, &mut recorder, seed).await.err();
    Judged { verdicts: recorder.into_verdicts(), lost, log: adapter.log.snapshot().text() }
}
