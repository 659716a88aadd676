//! `list`: every lesson with its title and exercise file.

use std::process::ExitCode;

use crate::catalog::LESSONS;
use crate::reporter::Reporter;

pub fn show(reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    reporter.list(LESSONS)?;
    Ok(ExitCode::SUCCESS)
}
