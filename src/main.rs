//! The httplings runner. `main` parses the command line, hands it to [`run`], and turns the
//! outcome into an exit code: 0 all passed, 1 a check failed, 2 bad input, 3 broken tooling.

mod catalog;
mod check;
mod cli;
mod hint;
mod lesson;
mod list;
mod project;
mod reporter;
mod solution;
mod target;

use std::fmt;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::reporter::Reporter;

/// Input the learner can fix: a wrong lesson number, the wrong folder. Exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_failure(error),
    };
    let mut reporter = Reporter::stdout(cli.color);
    match run(cli.command, &mut reporter) {
        Ok(code) => code,
        Err(error) if error.is::<UsageError>() => {
            reporter.usage_error(&error.to_string());
            ExitCode::from(2)
        }
        Err(error) => {
            reporter.tool_error(&error);
            ExitCode::from(3)
        }
    }
}

fn run(command: Command, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    match command {
        Command::Lesson { number } => lesson::show(number, reporter),
        Command::Check { number, solution } => check::run(number, solution.into(), reporter),
        Command::Solution { number } => solution::show(number, reporter),
        Command::Hint { number } => hint::show(number, reporter),
        Command::List => list::show(reporter),
    }
}

/// A bad lesson number gets one line naming the valid range; clap renders everything else.
fn clap_failure(error: clap::Error) -> ExitCode {
    if error.kind() == ErrorKind::ValueValidation {
        // The source is the lesson parser's own sentence, which names the valid range.
        let message = std::error::Error::source(&error)
            .map_or_else(|| error.to_string(), ToString::to_string);
        Reporter::stdout(cli::ColorChoice::Auto).usage_error(&message);
        return ExitCode::from(2);
    }
    let _ = error.print();
    ExitCode::from(if error.use_stderr() { 2 } else { 0 })
}
