//! `hint N`: the lesson's hints, one more each time it is asked.

use std::process::ExitCode;

use crate::catalog::Lesson;
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;

pub fn show(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let (mut progress, notice) = Progress::load(&project::root()?);
    if let Some(notice) = notice {
        reporter.notice(&notice);
    }
    let shown_before = progress.next_hint(lesson);
    reporter.hint(lesson, shown_before)?;
    progress.save()?;
    Ok(ExitCode::SUCCESS)
}
