//! `list`: every lesson with its exercise file and the learner's progress. In a terminal, it
//! then offers to open one in watch mode.

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use crate::catalog::{self, LESSONS};
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;
use crate::watch;

pub fn show(reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let (progress, notice) = Progress::load(&project::root()?);
    if let Some(notice) = notice {
        reporter.notice(&notice);
    }
    reporter.list(&LESSONS, &progress)?;
    if !(io::stdin().is_terminal() && io::stdout().is_terminal()) {
        return Ok(ExitCode::SUCCESS);
    }
    match reporter.choose_lesson(LESSONS.len())? {
        Some(number) => watch::run(None, catalog::lesson(number), reporter),
        None => Ok(ExitCode::SUCCESS),
    }
}
