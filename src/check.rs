//! `check N`: compile one exercise, run its checks against a live server, report each one.
//!
//! The check process decides most verdicts; the runner settles what only it can see (the
//! server log on stderr, a crash, a timeout) and turns it all into a [`Report`].

use std::path::Path;
use std::process::ExitCode;

use httplings::protocol::{Evidence, Failure, Message, Outcome, PANIC_LINE_PREFIX, Verdict};

use crate::catalog::{Lesson, Side};
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;
use crate::target::{self, Build, Captured, End, Run};

/// Everything the reporter needs to show how a check went.
#[derive(Debug)]
pub struct Report {
    pub checks: Vec<CheckResult>,
    /// Why the check process stopped before reporting every check, if it did.
    pub interrupted: Option<String>,
    /// The last lines of the server log, when they help explain an interruption.
    pub log_tail: Option<String>,
}

#[derive(Debug)]
pub struct CheckResult {
    pub name: String,
    pub state: CheckState,
}

#[derive(Debug)]
pub enum CheckState {
    Passed,
    Failed(Failure),
    /// The check process ended before this check reported.
    NotReached,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.interrupted.is_none()
            && self.checks.iter().all(|check| matches!(check.state, CheckState::Passed))
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

/// `check N`: prints the report (or, with `json`, only the JSON), records the result in
/// the learner's progress, and exits 0 when every check passed.
pub fn run(
    lesson: &Lesson,
    side: Side,
    json: bool,
    reporter: &mut Reporter,
) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    if !json {
        reporter.checking(lesson, side)?;
    }
    let outcome = perform(&root, lesson, side, reporter.colored() && !json)?;
    if json {
        reporter.json(&outcome)?;
    } else {
        reporter.outcome(lesson, side, &outcome)?;
    }
    if side == Side::Exercise {
        let (mut progress, notice) = Progress::load(&root);
        if let Some(notice) = notice {
            reporter.notice(&notice);
        }
        progress.record_check(lesson, outcome.passed());
        // The lesson being worked on is the one checked last; watch mode starts there.
        progress.set_current(lesson);
        progress.save()?;
    }
    Ok(if outcome.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Builds one side of a lesson and runs its checks; prints nothing.
pub fn perform(root: &Path, lesson: &Lesson, side: Side, colored: bool) -> anyhow::Result<Checked> {
    let executable = match target::build(root, &lesson.check_target(side), colored)? {
        Build::Ready(executable) => executable,
        Build::Failed(diagnostics) => return Ok(Checked::CompileFailed(diagnostics)),
    };
    let run = target::run(&executable, root, lesson.time_limit)?;
    Ok(Checked::Ran(judge(&run)))
}

/// Turns what a check process left behind into a report. A planned check that never
/// reported fails, so a process that dies early can never pass.
pub fn judge(run: &Run) -> Report {
    let mut planned = Vec::new();
    let mut verdicts = Vec::new();
    for message in &run.messages {
        match message {
            // The first plan stands: a later one can only come from learner code.
            Message::Plan { checks } if planned.is_empty() => planned.clone_from(checks),
            Message::Plan { .. } => {}
            Message::Verdict(verdict) => verdicts.push(verdict),
        }
    }
    let checks: Vec<_> = planned
        .iter()
        .map(|name| CheckResult {
            name: name.clone(),
            state: match verdicts.iter().find(|verdict| &verdict.check == name) {
                Some(verdict) => settle(verdict, run),
                None => CheckState::NotReached,
            },
        })
        .collect();
    let complete = !planned.is_empty()
        && checks.iter().all(|check| !matches!(check.state, CheckState::NotReached));
    let interrupted = (!complete).then(|| interruption(run.end));
    let log_tail = interrupted.is_some().then(|| tail(&run.stderr, 12));
    Report { checks, interrupted, log_tail }
}

fn settle(verdict: &Verdict, run: &Run) -> CheckState {
    match &verdict.outcome {
        Outcome::Pass => CheckState::Passed,
        Outcome::Fail(failure) => CheckState::Failed(failure.clone()),
        Outcome::LogMustContain { needle, failure } => {
            if logged(&run.stderr.text(), needle) {
                CheckState::Passed
            } else {
                CheckState::Failed(log_failure(failure, run, needle))
            }
        }
    }
}

/// Whether the learner's own logging wrote `needle`; panic reports do not count.
fn logged(stderr: &str, needle: &str) -> bool {
    stderr
        .lines()
        .filter(|line| !line.starts_with(PANIC_LINE_PREFIX))
        .any(|line| line.contains(needle))
}

fn log_failure(failure: &Failure, run: &Run, needle: &str) -> Failure {
    let mut failure = failure.clone();
    if run.stdout.text().contains(needle) {
        failure.summary.push_str(" (it went to stdout: a server log is stderr)");
    } else if run.stderr.truncated() {
        failure.summary.push_str(&format!(
            " (stderr was {} bytes: only its first and last MiB were searched)",
            run.stderr.total
        ));
    }
    failure
        .with(Evidence::Text { title: "server log (stderr)".into(), body: tail(&run.stderr, 12) })
}

fn interruption(end: End) -> String {
    match end {
        End::TimedOut(limit) => format!(
            "timed out after {} s: the check process was stopped. Something in your code never \
             finishes: a loop, a blocking sleep, or an await that never completes.",
            limit.as_secs()
        ),
        End::Exited(None) => "the check process crashed (killed by a signal, e.g. by \
                              std::process::abort or a stack overflow) before reporting every check"
            .into(),
        End::Exited(Some(code)) => format!(
            "the check process exited with code {code} before reporting every check: does your \
             code call std::process::exit?"
        ),
    }
}

/// The last lines of a stream, for context.
fn tail(stream: &Captured, lines: usize) -> String {
    let text = stream.text();
    let all: Vec<_> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    let shown: Vec<String> =
        all[all.len().saturating_sub(lines)..].iter().map(|line| shortened(line)).collect();
    if shown.is_empty() {
        return "(nothing was written)".into();
    }
    shown.join("\n")
}

/// Lines longer than this are cut when shown: one line can be megabytes.
const SHOWN_LINE: usize = 200;

fn shortened(line: &str) -> String {
    match line.char_indices().nth(SHOWN_LINE) {
        Some((cut, _)) => format!("{}… ({} more bytes)", &line[..cut], line.len() - cut),
        None => line.to_string(),
    }
}
