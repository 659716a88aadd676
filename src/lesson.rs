//! `lesson N`: shows a lesson's text.

use std::process::ExitCode;

use anyhow::Context;

use crate::catalog::Lesson;
use crate::project;
use crate::reporter::Reporter;

pub fn show(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let path = project::root()?.join(lesson.lesson_file());
    let markdown = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    reporter.lesson(&markdown)?;
    Ok(ExitCode::SUCCESS)
}
