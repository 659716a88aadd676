//! `solution N`: how the learner's exercise differs from the reference solution. Until the
//! exercise passes, it asks first: trying before looking is how the lesson sticks.

use std::process::ExitCode;

use anyhow::Context;

use crate::UsageError;
use crate::catalog::{Lesson, Side};
use crate::progress::{Progress, Status};
use crate::project;
use crate::reporter::Reporter;

pub fn show(lesson: &Lesson, force: bool, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let (progress, _) = Progress::load(&root);
    let status = progress.status(lesson);
    if !force && status != Status::Done {
        let state = match status {
            Status::Changed if progress.passed_before(lesson) => "passed, but has changed since",
            Status::Changed => "has changed since its last check, which it failed",
            Status::Failing => "does not pass yet",
            _ => "has not been checked yet",
        };
        let question =
            format!("Your exercise {} {state}. Look at the solution anyway?", lesson.number);
        match reporter.confirm(&question)? {
            Some(true) => {}
            Some(false) => return Ok(ExitCode::SUCCESS),
            None => {
                return Err(UsageError(format!(
                    "exercise {n} {state}: run `cargo run -- check {n}`, or `cargo run -- \
                     solution {n} --force` to see the solution anyway",
                    n = lesson.number
                ))
                .into());
            }
        }
    }
    let read = |side: Side| {
        let path = root.join(lesson.file(side));
        std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))
    };
    reporter.solution_diff(lesson, &read(Side::Exercise)?, &read(Side::Solution)?)?;
    Ok(ExitCode::SUCCESS)
}
