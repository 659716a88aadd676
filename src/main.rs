//! The httplings runner. `main` parses the command line, hands it to [`run`], and turns the
//! outcome into an exit code: 0 all passed, 1 a check failed, 2 bad input, 3 broken tooling.

mod catalog;
mod check;
mod cli;
mod dev;
mod grade;
mod hint;
mod lesson;
mod list;
mod outcome;
mod progress;
mod project;
mod quiz;
mod reporter;
mod reset;
mod solution;
mod watch;

use std::fmt;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::catalog::Lesson;
use crate::cli::{Cli, Command, DevCommand};
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

fn run(command: Option<Command>, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    match command.unwrap_or(Command::Watch { edit_cmd: None, from: None }) {
        Command::Watch { edit_cmd, from } => watch::run(edit_cmd, from, reporter),
        Command::Lesson { lesson } => lesson::show(chosen(lesson)?, reporter),
        Command::Check { all: true, only, solution, json, seed, time_limit, .. } => {
            let options = check::Options { seed, time_limit, colored: false };
            let lessons = check::all::chosen(only.as_deref())?;
            check::all::run(&lessons, solution.into(), json, options, reporter)
        }
        Command::Check { lesson, solution, json, seed, time_limit, .. } => {
            let options = check::Options { seed, time_limit, colored: false };
            check::run(chosen(lesson)?, solution.into(), json, options, reporter)
        }
        Command::Hint { lesson } => hint::show(chosen(lesson)?, reporter),
        Command::Solution { lesson, force } => solution::show(chosen(lesson)?, force, reporter),
        Command::Reset { lesson, all: true, yes } => reset::all(lesson.is_some(), yes, reporter),
        Command::Reset { lesson, all: false, yes } => reset::run(chosen(lesson)?, yes, reporter),
        Command::Quiz { lesson } => quiz::run(chosen(lesson)?, reporter),
        Command::List => list::show(reporter),
        Command::Grade { files, csv, course_hash } => {
            grade::run(&files, csv, course_hash, reporter)
        }
        Command::Dev(DevCommand::Check) => dev::check(reporter),
        Command::Dev(DevCommand::New { name }) => dev::new(&name, reporter),
    }
}

/// The lesson a command names, or else the learner's current one.
fn chosen(lesson: Option<&'static Lesson>) -> anyhow::Result<&'static Lesson> {
    match lesson {
        Some(lesson) => Ok(lesson),
        None => Ok(progress::Progress::load(&project::root()?).0.current()),
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
