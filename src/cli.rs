//! The command line: one clap enum, whose doc comments are the `--help` text.

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalog::{self, Lesson};

/// Learn how servers and clients should handle HTTP 5xx errors, one exercise at a time,
/// each checked against a live server on your machine.
///
/// With no command, httplings watches your current exercise and checks it on every save.
#[derive(Debug, Parser)]
#[command(name = "httplings", version, after_help = "Start with: cargo run -- lesson 1")]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
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
    },
    /// Show a lesson: what to know, and what the exercise asks.
    Lesson {
        /// The lesson's number, from `list`.
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: &'static Lesson,
    },
    /// Compile an exercise, run it against a local test server, and report each check.
    Check {
        /// The lesson's number, from `list`.
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: &'static Lesson,
        /// Check the reference solution instead of your exercise.
        #[arg(long)]
        solution: bool,
        /// Print only the results, as JSON in the exercism test-runner format (version 3).
        #[arg(long)]
        json: bool,
    },
    /// Print the next hint for an exercise: each time a little more.
    Hint {
        /// The lesson's number, from `list`.
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: &'static Lesson,
    },
    /// Show how your exercise differs from the reference solution.
    Solution {
        /// The lesson's number, from `list`.
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: &'static Lesson,
        /// Show it even though your exercise does not pass yet.
        #[arg(long)]
        force: bool,
    },
    /// Put the starter back in place of your exercise, keeping your file as a backup.
    Reset {
        /// The lesson's number, from `list`.
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: &'static Lesson,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Answer the lesson's closing question.
    Quiz {
        /// The lesson's number, from `list`.
        #[arg(value_parser = lesson_number, value_name = "N")]
        lesson: &'static Lesson,
    },
    /// List the lessons, their exercise files and your progress.
    List,
    /// Tools for course authors.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Verify the course: every lesson has its files and hints, every solution passes its
    /// checks, and every starter compiles and fails them.
    Check,
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
    let lessons = catalog::LESSONS;
    let range = format!("a lesson number from 1 to {}", lessons.len());
    let number: usize = text.trim().parse().map_err(|_| format!("'{text}' is not {range}"))?;
    number
        .checked_sub(1)
        .and_then(|index| lessons.get(index))
        .ok_or_else(|| format!("there is no lesson {number}: choose {range}"))
}
