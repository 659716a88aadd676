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
    if !force && progress.status(lesson) != Status::Done {
        let question = format!(
            "Your exercise {} has not passed a check as it is now. Look at the solution anyway?",
            lesson.number
        );
        match reporter.confirm(&question)? {
            Some(true) => {}
            Some(false) => return Ok(ExitCode::SUCCESS),
            None => {
                return Err(UsageError(format!(
                    "exercise {n} has not passed a check as it is now: run `cargo run -- check {n}`, \
                     or `cargo run -- solution {n} --force` to see the solution anyway",
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
