//! The judge: everything that decides a verdict, in a process the learner's code never runs in
//! (the runner), or, for the project's tests, beside an adapter running on a thread.
//!
//! A lesson's judge ([`Lesson`]) gets a [`Learner`] (the learner's module, reached through its
//! adapter), a [`Recorder`] for verdicts and a seed. It decides each check from what crossed the
//! wire, what its own servers saw, the learner's log and the clock, and nothing the learner's
//! code says about itself.
//!
//! The toolkit every lesson's judge is built from:
//! - [`seed`]: every value a run draws, from one printed seed, across the whole range;
//! - [`upstream`]: the scripted server behind a learner's service or in front of its client;
//! - [`exchange`]: requests to a learner's server, timed, one by one or released together;
//! - [`answer`]: what came back, and how a diff shows it;
//! - [`http_date`]: HTTP-dates in the three forms, for any day of years 1 to 9999;
//! - [`bounds`]: every timing slack, named; [`confirm`]: a timing failure replayed before it
//!   is believed;
//! - [`compare`]: "must not depend on X", asked twice with X changed; secrets in any encoding;
//! - [`schedule`]: backoff, `Retry-After`, growth and jitter, for every retrying client;
//! - [`model`]: the rules of a state machine, checked against a recorded history;
//! - [`log`]: what the learner's code logged, known complete by a flush.

pub mod answer;
pub mod bounds;
pub mod compare;
pub mod confirm;
pub mod exchange;
pub mod http_date;
mod learner;
pub mod log;
pub mod model;
mod recorder;
pub mod schedule;
pub mod seed;
pub mod upstream;
mod verdict;

use std::future::Future;
use std::pin::Pin;

pub use self::learner::{Learner, Lost, Returned};
pub use self::recorder::Recorder;
pub use self::verdict::{Evidence, Failure, Outcome, Row, SHOWN_RIGHT, Verdict};

use httplings::adapter::{self, Handler};

/// A lesson's judge: its checks, and how it decides them. One type per lesson implements it;
/// the runner, `dev check` and the tests drive every lesson through it alike.
pub trait Lesson: 'static {
    /// `01_generic_500`: the name the lesson's files share.
    const SLUG: &'static str;
    /// Every check's id, in the order the report lists them (as `lessons/{SLUG}.toml` has them).
    const CHECKS: &'static [&'static str];
    /// How many processes run the learner's code at once: more than one when a check must tell
    /// what is made once per process (a generator seeded with a constant) from what is fresh.
    const PROCESSES: usize = 1;

    /// Decides every check of [`Self::CHECKS`] from what the learner's code does.
    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a>;
}

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
    let problem = match served(learner, call).await? {
        Ok(base) => return Ok(Some(base)),
        Err(problem) => problem,
    };
    recorder.fail_the_rest(&failed(&problem));
    Ok(None)
}

/// Like [`serve`], for a lesson whose other checks do not need the app: when it cannot be
/// served, only `checks` fail.
pub async fn serve_for<C: serde::Serialize>(
    learner: &Learner,
    recorder: &mut Recorder,
    call: &C,
    checks: &[&str],
    failed: impl Fn(&str) -> Failure,
) -> Result<Option<String>, Lost> {
    let problem = match served(learner, call).await? {
        Ok(base) => return Ok(Some(base)),
        Err(problem) => problem,
    };
    checks.iter().for_each(|check| recorder.fail(check, failed(&problem)));
    Ok(None)
}

/// The base URL the learner's app is served on, or what kept it from being served.
async fn served<C: serde::Serialize>(
    learner: &Learner,
    call: &C,
) -> Result<Result<String, String>, Lost> {
    Ok(match learner.call("app()", call, APP_DEADLINE).await? {
        Returned::Value(Ok(base)) => Ok(base),
        Returned::Value(Err(problem)) | Returned::Panicked(problem) => Err(problem),
        Returned::TimedOut(limit) => {
            Err(format!("app() did not return within {} s", limit.as_secs()))
        }
    })
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

/// Judges `L` against the learner's code on threads of this process (the project's tests):
/// `handler` makes the adapter of each of the lesson's processes (one fresh handler each, as a
/// fresh process would have).
pub async fn in_process<L: Lesson, H: Handler + Send>(
    handler: impl Fn() -> H,
    seed: u64,
) -> Judged {
    let mut adapters = Vec::new();
    let mut learners = Vec::new();
    for _ in 0..L::PROCESSES {
        let adapter = adapter::in_process(handler());
        learners.push(Learner::connect(adapter.stream, adapter.log.clone(), adapter.cpu, 1));
        adapters.push(adapter.log);
    }
    let mut learners = learners.into_iter();
    let learner = learners.next().expect("a lesson runs at least one process");
    let learner = learner.with_others(learners.collect());
    let mut recorder = Recorder::new(L::CHECKS, None);
    let lost = L::judge(&learner, &mut recorder, seed).await.err();
    let log = adapters.iter().map(|log| log::without_flushes(&log.snapshot().text())).collect();
    Judged { verdicts: recorder.into_verdicts(), lost, log }
}
