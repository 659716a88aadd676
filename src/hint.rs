//! `hint N`: the lesson's hints, one more each time it is asked.

use std::process::ExitCode;

use crate::catalog::Lesson;
use crate::reporter::Reporter;

pub fn show(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    reporter.hint(lesson, 0)?;
    Ok(ExitCode::SUCCESS)
}
