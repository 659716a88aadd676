//! `list`: every lesson with its exercise file and the learner's progress.

use std::process::ExitCode;

use crate::catalog::LESSONS;
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;

pub fn show(reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let (progress, notice) = Progress::load(&project::root()?);
    if let Some(notice) = notice {
        reporter.notice(&notice);
    }
    reporter.list(LESSONS, &progress)?;
    Ok(ExitCode::SUCCESS)
}
