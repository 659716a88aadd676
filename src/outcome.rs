//! What checking an exercise comes to, and what happens meanwhile: the values `check` produces
//! and the reporter renders ([`Checked`], [`Report`], [`Event`]). Commands make them; only the
//! reporter turns them into text.

use std::time::Duration;

use httplings_judge::judge::{Failure, Verdict};

use crate::catalog::Lesson;

/// Everything the reporter needs to show how a check went.
#[derive(Debug)]
pub struct Report {
    /// In the order the lesson lists them.
    pub checks: Vec<CheckResult>,
    /// Why judging stopped before every check was decided: the one cause, said once.
    pub interruption: Option<Interruption>,
    /// The seed this run's randomness came from: `--seed` replays it.
    pub seed: u64,
    /// The compiler's warnings about the learner's file.
    pub warnings: Vec<String>,
    /// What walled the learner's process in; `None` when it never said hello.
    pub sandbox: Option<httplings::protocol::Sandbox>,
    /// Some process the learner's code started could not be ended.
    pub left_running: bool,
}

#[derive(Debug, Clone)]
pub struct Interruption {
    pub cause: String,
    /// The last lines the learner's process wrote, for context.
    pub log_tail: String,
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's id, as progress and hints name it.
    pub id: String,
    /// Its sentence, as the report shows it.
    pub name: String,
    /// Why it matters, when the lesson's data says.
    pub why: Option<String>,
    pub state: CheckState,
    /// What the learner's code printed while this check was being judged.
    pub output: String,
}

#[derive(Debug, Clone)]
pub enum CheckState {
    Passed,
    Failed(Failure),
    /// Judging stopped before this check was decided (see the interruption).
    NotJudged,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.interruption.is_none()
            && !self.left_running
            && self.checks.iter().all(|check| matches!(check.state, CheckState::Passed))
    }

    pub fn passed_count(&self) -> usize {
        self.checks.iter().filter(|check| matches!(check.state, CheckState::Passed)).count()
    }
}

/// What checking an exercise came to.
#[derive(Debug)]
pub enum Checked {
    /// It does not compile: cargo's rendered diagnostics.
    CompileFailed(String),
    Ran(Report),
}

impl Checked {
    pub fn passed(&self) -> bool {
        matches!(self, Checked::Ran(report) if report.passed())
    }
}

/// What happens during a check, as it happens.
#[derive(Debug)]
pub enum Event<'a> {
    /// Cargo is still building the exercise, this long after it started.
    Building(Duration),
    /// The exercise compiled; judging starts.
    Started,
    /// The learner's process said hello: what walls it in.
    Greeted(&'a httplings::protocol::Sandbox),
    Decided(&'a Verdict),
    /// Judging stopped early, for this reason.
    Interrupted(&'a Interruption),
    /// Still running, this long after judging started.
    Waiting(Duration),
}

/// A check's result, from its verdict (`None`: not judged): the one place a verdict becomes
/// what the report shows.
pub fn result(lesson: &Lesson, id: &str, verdict: Option<&Verdict>, output: String) -> CheckResult {
    let check = lesson.check(id);
    let state = match verdict.map(|verdict| &verdict.outcome) {
        Some(httplings_judge::judge::Outcome::Pass) => CheckState::Passed,
        Some(httplings_judge::judge::Outcome::Fail(failure)) => CheckState::Failed(failure.clone()),
        None => CheckState::NotJudged,
    };
    CheckResult {
        id: id.to_string(),
        name: check.map_or_else(|| id.to_string(), |check| check.name.clone()),
        why: check.and_then(|check| check.why.clone()),
        state,
        output,
    }
}

/// The first check that failed, for the hint that helps with it; `None` when all passed (an
/// empty id when the exercise did not compile).
pub fn first_failed(outcome: &Checked) -> Option<String> {
    match outcome {
        Checked::CompileFailed(_) => Some(String::new()),
        Checked::Ran(report) if report.passed() => None,
        Checked::Ran(report) => Some(
            report
                .checks
                .iter()
                .find(|check| !matches!(check.state, CheckState::Passed))
                .map_or_else(String::new, |check| check.id.clone()),
        ),
    }
}

/// One lesson of a `check --all` run: what checking it came to.
#[derive(Debug)]
pub struct Graded {
    pub lesson: &'static Lesson,
    pub outcome: Checked,
}

impl Graded {
    /// Its checks that passed, and all its checks.
    pub fn counts(&self) -> (usize, usize) {
        self.outcome.counts(self.lesson)
    }
}

impl Checked {
    /// The checks that passed, and all of `lesson`'s (none passed when it did not compile).
    pub fn counts(&self, lesson: &Lesson) -> (usize, usize) {
        match self {
            Checked::Ran(report) => (report.passed_count(), report.checks.len()),
            Checked::CompileFailed(_) => (0, lesson.checks.len()),
        }
    }
}
