//! `check N`: compile one exercise, run it in a process of its own, judge it from outside, and
//! report each check as soon as it is decided.
//!
//! The learner's process only answers calls; every verdict is decided here, by the lesson's
//! judge, from what crossed the wire and what the judge's own servers saw. The runner also sees
//! what only it can: the process crashing, exiting or running out of time.

pub mod all;
mod build;
pub mod course_hash;
#[cfg(unix)]
mod direct;
#[cfg(unix)]
mod group;
#[cfg(unix)]
mod judging;
#[cfg(unix)]
mod process;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use self::build::Build;
use crate::catalog::{Lesson, Side};
use crate::outcome::{Checked, Event, Report, first_failed, result};
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;

/// How to run a check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Replays a run's randomness; a fresh seed when `None`.
    pub seed: Option<u64>,
    /// Overrides the lesson's time limit (the project's tests shorten it).
    pub time_limit: Option<Duration>,
    pub colored: bool,
}

/// `check N`: streams the report (or, with `json`, prints only the JSON), records the result in
/// the learner's progress, and exits 0 when every check passed.
pub fn run(
    lesson: &Lesson,
    side: Side,
    json: bool,
    options: Options,
    reporter: &mut Reporter,
) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let options = Options { colored: reporter.colored() && !json, ..options };
    let outcome = if json {
        perform(&root, lesson, side, &options, &mut |_| {})?
    } else {
        reporter.checking(lesson, side)?;
        let mut live = reporter.live(lesson);
        let outcome = perform(&root, lesson, side, &options, &mut |event| live.event(&event))?;
        drop(live);
        outcome
    };
    if json {
        reporter.json(&outcome)?;
    } else {
        reporter.outcome(lesson, side, &outcome, true)?;
    }
    if side == Side::Exercise {
        record(&root, lesson, &outcome, reporter);
    }
    Ok(if outcome.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Builds one side of a lesson and judges it; tells `on_event` what happens as it happens.
pub fn perform(
    root: &Path,
    lesson: &Lesson,
    side: Side,
    options: &Options,
    on_event: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<Checked> {
    let source = build::source_hash(&root.join(lesson.file(side)))?;
    let target = lesson.check_target(side);
    // Built on a thread of its own, so that a long build (the first one, on a busy machine)
    // shows it is under way.
    let built = std::thread::scope(|scope| {
        let (done, finished) = std::sync::mpsc::channel();
        let (target, source) = (&target, &source);
        scope.spawn(move || done.send(build::build(root, target, source, options.colored)));
        let started = std::time::Instant::now();
        loop {
            match finished.recv_timeout(Duration::from_millis(250)) {
                Ok(built) => return built,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    on_event(Event::Building(started.elapsed()));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("building {target} stopped without a word")
                }
            }
        }
    })?;
    judge_built(root, lesson, side, built, &source, options, on_event)
}

/// Judges a lesson's side that cargo built (or could not), from the file whose hash is `source`.
fn judge_built(
    root: &Path,
    lesson: &Lesson,
    side: Side,
    built: Build,
    source: &str,
    options: &Options,
    on_event: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<Checked> {
    let (executable, warnings) = match built {
        Build::Ready { executable, warnings } => (executable, warnings),
        Build::Failed(diagnostics) => return Ok(Checked::CompileFailed(diagnostics)),
    };
    on_event(Event::Started);
    let seed = options.seed.unwrap_or_else(httplings_judge::judge::seed::fresh);
    let limit = options.time_limit.unwrap_or(lesson.time_limit);
    let (judged, built_from) =
        judging::judge(root, &executable, lesson.judge, seed, limit, on_event)?;
    if let Some(other) = built_from.0.filter(|built| built != source) {
        anyhow::bail!(
            "the program that ran was built from another version of {} (SHA-256 {other}, not \
             {source}): run the check again",
            lesson.file(side)
        );
    }
    let checks = lesson
        .checks
        .iter()
        .map(|check| {
            let verdict = judged.verdicts.iter().find(|verdict| verdict.check == check.id);
            let output = judged.outputs.get(&check.id).cloned().unwrap_or_default();
            result(lesson, &check.id, verdict, output)
        })
        .collect();
    Ok(Checked::Ran(Report {
        checks,
        interruption: judged.interruption,
        seed,
        warnings,
        sandbox: judged.sandbox,
        left_running: judged.left_running,
    }))
}

/// Records a check of the learner's exercise in their progress. Progress is a convenience:
/// failing to record it never changes the verdict, so a problem is only said.
fn record(root: &Path, lesson: &Lesson, outcome: &Checked, reporter: &mut Reporter) {
    let first_failed = first_failed(outcome);
    let recorded = Progress::update(root, |progress| {
        progress.record_check(lesson, first_failed.as_deref());
        // The lesson being worked on is the one checked last; watch mode starts there.
        progress.set_current(lesson);
    });
    match recorded {
        Ok((_, Some(notice))) => reporter.notice(&notice),
        Ok((_, None)) => {}
        Err(error) => reporter.notice(&format!("{error:#}")),
    }
}
