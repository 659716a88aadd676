//! The command line: one clap enum, whose doc comments are the `--help` text.

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalog::{self, LESSONS, Lesson};

/// Learn how servers and clients should handle HTTP 5xx errors, one exercise at a time,
/// each checked against live HTTP on your machine.
///
/// With no command, httplings watches your current exercise and checks it on every save.
/// Where a command takes a lesson number N, it may be left out: it then means your current
/// exercise (the one last checked or opened in watch mode).
#[derive(Debug, Parser)]
#[command(name = "httplings", version, after_help = "Start with: cargo run -- lesson 1")]
pub struct Cli {
    /// When to colour the output (NO_COLOR in the environment also turns it off).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch the current exercise: check it on every save, with keys for hints and more.
    Watch {
        /// The command that opens an exercise for the `e` key (default: $VISUAL or $EDITOR).
        #[arg(long, value_name = "COMMAND")]
        edit_cmd: Option<String>,
        /// Start at this lesson instead of the current one.
        #[arg(long, value_parser = lesson_number, value_name = "N")]
        from: Option<&'static Lesson>,
    },
    /// Show a lesson: what to know, and what the exercise asks.
    Lesson {
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: Option<&'static Lesson>,
    },
    /// Compile an exercise, run it against local servers and clients, and report each check.
    Check {
        #[arg(value_parser = lesson_number, value_name = "N", conflicts_with = "all")]
        lesson: Option<&'static Lesson>,
        /// Check every lesson in one run (one build, then each lesson in turn): a row per lesson,
        /// or with --json one document for a grader.
        #[arg(long)]
        all: bool,
        /// With --all, only these lessons: `--only 1,2,4`.
        #[arg(long, value_name = "N,N,…", value_delimiter = ',', requires = "all")]
        only: Option<Vec<u8>>,
        /// Check the reference solution instead of your exercise.
        #[arg(long)]
        solution: bool,
        /// Print only the results, as JSON in the exercism test-runner format (version 3).
        #[arg(long)]
        json: bool,
        /// Replay a run: the seed its report printed (the checks draw ids, secrets and inputs from it).
        #[arg(long, value_name = "S")]
        seed: Option<u64>,
        /// Stop the checks after this many seconds instead of the lesson's own limit.
        #[arg(long, value_name = "SECONDS", value_parser = seconds, hide = true)]
        time_limit: Option<Duration>,
    },
    /// Print the next hint for an exercise: for the first check that failed last time, each
    /// time a little more.
    Hint {
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: Option<&'static Lesson>,
    },
    /// Show how your exercise differs from the reference solution.
    Solution {
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: Option<&'static Lesson>,
        /// Show it even though your exercise does not pass yet, without asking.
        #[arg(long)]
        force: bool,
    },
    /// Put the starter back in place of your exercise, keeping your file as a backup.
    Reset {
        #[arg(value_parser = lesson_number, value_name = "N", conflicts_with = "all")]
        lesson: Option<&'static Lesson>,
        /// Reset every exercise (each one that differs from its starter is backed up first).
        #[arg(long)]
        all: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Answer the lesson's questions (interactively, or one letter per line on standard input).
    Quiz {
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: Option<&'static Lesson>,
    },
    /// List the lessons, their exercise files and your progress; in a terminal, pick one to
    /// work on.
    List,
    /// For teachers: one table of many students' `check --all --json` results.
    Grade {
        /// The students' result files (a folder per student works: artifacts/alice/results.json).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<std::path::PathBuf>,
        /// Write the table as CSV.
        #[arg(long)]
        csv: bool,
        /// The course's own fingerprint (`course_hash` of `check --all --json` on the course as
        /// published); without it, the one most students have.
        #[arg(long, value_name = "SHA256")]
        course_hash: Option<String>,
    },
    /// Tools for course authors.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Verify the course: every lesson has its files, data and check targets, every solution
    /// passes its checks, and every starter compiles and fails them.
    Check,
    /// Scaffold a new lesson: its text, data, starter, solution, judge and check targets.
    New {
        /// The new lesson's name, in snake_case (e.g. `bad_gateway`).
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

/// Parses a lesson number, naming the valid range when it is not one.
fn lesson_number(text: &str) -> Result<&'static Lesson, String> {
    let range = format!("a lesson number from 1 to {}", LESSONS.len());
    let number: u8 = text.trim().parse().map_err(|_| format!("'{text}' is not {range}"))?;
    catalog::lesson(number).ok_or_else(|| format!("there is no lesson {number}: choose {range}"))
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("'{text}' is not a whole number of seconds"))
}
