//! [`Reporter`]: the one owner of terminal output. Commands hand it results; it decides colour
//! once and turns them into text, diffs and tables.

mod evidence;
mod markdown;

use std::io::{self, IsTerminal, Write};

use colored::Colorize;

use crate::catalog::{Lesson, Side};
use crate::check::{CheckState, Report};
use crate::cli::ColorChoice;

/// Lines are wrapped at the terminal's width, but never wider than this: long lines are
/// hard to read.
const MAX_WIDTH: usize = 100;

pub struct Reporter {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    colored: bool,
    width: usize,
}

impl Reporter {
    /// Writes to stdout (stderr for errors), in colour when `choice` and the terminal allow.
    pub fn stdout(choice: ColorChoice) -> Self {
        let colored = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        };
        colored::control::set_override(colored);
        let width = terminal_size::terminal_size().map_or(80, |(width, _)| usize::from(width.0));
        Self {
            out: Box::new(io::stdout()),
            err: Box::new(io::stderr()),
            colored,
            width: width.clamp(40, MAX_WIDTH),
        }
    }

    /// Whether output is coloured; cargo's output is coloured to match.
    pub fn colored(&self) -> bool {
        self.colored
    }

    pub fn usage_error(&mut self, message: &str) {
        let _ = writeln!(self.err, "{} {message}", "httplings:".red().bold());
    }

    pub fn tool_error(&mut self, error: &anyhow::Error) {
        let _ = writeln!(self.err, "{} {error:#}", "httplings: error:".red().bold());
    }

    pub fn checking(&mut self, lesson: &Lesson, side: Side) -> io::Result<()> {
        let whose = match side {
            Side::Exercise => "your exercise",
            Side::Solution => "the reference solution",
        };
        writeln!(
            self.out,
            "{} {whose} for lesson {}, {} ({})",
            "Checking".bold(),
            lesson.number,
            lesson.title,
            lesson.file(side).underline()
        )?;
        self.out.flush()
    }

    pub fn compile_failed(
        &mut self,
        lesson: &Lesson,
        side: Side,
        diagnostics: &str,
    ) -> io::Result<()> {
        writeln!(self.out)?;
        writeln!(self.out, "{}", diagnostics.trim_end())?;
        writeln!(self.out)?;
        writeln!(
            self.out,
            "{} {} does not compile: fix the first error above, then run `cargo run -- check {}` again.",
            "✗".red().bold(),
            lesson.file(side),
            lesson.number
        )
    }

    pub fn report(&mut self, lesson: &Lesson, side: Side, report: &Report) -> io::Result<()> {
        writeln!(self.out)?;
        for check in &report.checks {
            match &check.state {
                CheckState::Passed => writeln!(self.out, "{} {}", "✓".green().bold(), check.name)?,
                CheckState::NotReached => writeln!(
                    self.out,
                    "{} {} {}",
                    "✗".red().bold(),
                    check.name.bold(),
                    "(never reported)".red()
                )?,
                CheckState::Failed(failure) => {
                    writeln!(self.out, "{} {}", "✗".red().bold(), check.name.bold())?;
                    evidence::failure(&mut self.out, failure, self.width)?;
                    writeln!(self.out)?;
                }
            }
        }
        if let Some(interrupted) = &report.interrupted {
            writeln!(self.out)?;
            writeln!(self.out, "{} {interrupted}", "✗".red().bold())?;
            if let Some(log) = &report.log_tail {
                evidence::titled(&mut self.out, "server log (stderr), last lines", log)?;
            }
        }
        let ended_on_a_failure = report
            .checks
            .last()
            .is_some_and(|check| matches!(check.state, CheckState::Failed(_)));
        if report.interrupted.is_some() || !ended_on_a_failure {
            writeln!(self.out)?;
        }
        self.summary(lesson, side, report)
    }

    fn summary(&mut self, lesson: &Lesson, side: Side, report: &Report) -> io::Result<()> {
        let passed = report
            .checks
            .iter()
            .filter(|check| matches!(check.state, CheckState::Passed))
            .count();
        let total = report.checks.len();
        if report.passed() {
            let next = match side {
                Side::Exercise => format!(
                    "Compare with the reference: `cargo run -- solution {}`. Then on to lesson {}.",
                    lesson.number,
                    lesson.number + 1
                ),
                Side::Solution => "The reference solution passes.".to_string(),
            };
            return writeln!(
                self.out,
                "{} {}",
                format!("All {total} checks pass.").green().bold(),
                next
            );
        }
        writeln!(
            self.out,
            "{} Fix the first ✗, then run `cargo run -- check {n}` again. Stuck? `cargo run -- hint {n}`.",
            format!("{passed} of {total} checks pass.").red().bold(),
            n = lesson.number
        )
    }

    /// Renders a lesson's markdown for the terminal (plain text without colour).
    pub fn lesson(&mut self, markdown: &str) -> io::Result<()> {
        let rendered = markdown::render(markdown, self.width);
        write!(self.out, "{rendered}")
    }

    pub fn list(&mut self, lessons: &[Lesson]) -> io::Result<()> {
        for lesson in lessons {
            writeln!(
                self.out,
                "{:>2}  {:<32} {}",
                lesson.number.to_string().bold(),
                lesson.title,
                lesson.file(Side::Exercise).dimmed()
            )?;
        }
        writeln!(self.out)?;
        writeln!(
            self.out,
            "Read a lesson with `cargo run -- lesson N`, check it with `cargo run -- check N`."
        )
    }

    pub fn hint(&mut self, lesson: &Lesson, shown: usize) -> io::Result<()> {
        let total = lesson.hints.len();
        let index = shown.min(total - 1);
        writeln!(
            self.out,
            "{} {}/{total} for lesson {}:",
            "Hint".yellow().bold(),
            index + 1,
            lesson.number
        )?;
        writeln!(self.out, "{}", lesson.hints[index])?;
        if index + 1 < total {
            writeln!(
                self.out,
                "{}",
                "(run the same command again for a stronger hint)".dimmed()
            )?;
        }
        Ok(())
    }

    /// Shows how the learner's file differs from the reference solution.
    pub fn solution_diff(
        &mut self,
        lesson: &Lesson,
        exercise: &str,
        solution: &str,
    ) -> io::Result<()> {
        if exercise == solution {
            return writeln!(
                self.out,
                "{} is the same as the reference solution.",
                lesson.file(Side::Exercise)
            );
        }
        let names = (lesson.file(Side::Exercise), lesson.file(Side::Solution));
        evidence::file_diff(&mut self.out, exercise, solution, (&names.0, &names.1))
    }
}
