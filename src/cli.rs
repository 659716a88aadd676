//! The command line: one clap enum, whose doc comments are the `--help` text.

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalog::{self, Lesson};

/// Learn how servers and clients should handle HTTP 5xx errors, one exercise at a time,
/// each checked against a live server on your machine.
#[derive(Debug, Parser)]
#[command(
    name = "httplings",
    version,
    after_help = "Start with: cargo run -- lesson 1"
)]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a lesson: what to know, and what the exercise asks.
    Lesson {
        /// The lesson's number (see `list`).
        #[arg(value_parser = lesson_number)]
        number: &'static Lesson,
    },
    /// Compile an exercise, run it against a local test server, and report each check.
    Check {
        /// The lesson's number (see `list`).
        #[arg(value_parser = lesson_number)]
        number: &'static Lesson,
        /// Check the reference solution instead of your exercise.
        #[arg(long)]
        solution: bool,
    },
    /// Show how your exercise differs from the reference solution.
    Solution {
        /// The lesson's number (see `list`).
        #[arg(value_parser = lesson_number)]
        number: &'static Lesson,
    },
    /// Print the next hint for an exercise.
    Hint {
        /// The lesson's number (see `list`).
        #[arg(value_parser = lesson_number)]
        number: &'static Lesson,
    },
    /// List the lessons and their exercise files.
    List,
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
    let number: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not {range}"))?;
    number
        .checked_sub(1)
        .and_then(|index| lessons.get(index))
        .ok_or_else(|| format!("there is no lesson {number}: choose {range}"))
}
