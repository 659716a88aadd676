//! `solution N`: how the learner's exercise differs from the reference solution.

use std::process::ExitCode;

use anyhow::Context;

use crate::catalog::{Lesson, Side};
use crate::project;
use crate::reporter::Reporter;

pub fn show(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let read = |side: Side| {
        let path = root.join(lesson.file(side));
        std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))
    };
    reporter.solution_diff(lesson, &read(Side::Exercise)?, &read(Side::Solution)?)?;
    Ok(ExitCode::SUCCESS)
}
