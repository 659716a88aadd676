//! [`Reporter`]: the one owner of terminal output. Commands hand it results; it decides colour
//! once and turns them into text, diffs and tables.

mod evidence;
mod json;
mod markdown;
mod prompt;
mod screen;

pub use screen::Screen;

use std::io::{self, IsTerminal, Write};

use colored::Colorize;

use crate::catalog::{LESSONS, Lesson, Side};
use crate::check::{CheckState, Checked, Report};
use crate::cli::ColorChoice;
use crate::progress::{Progress, Status};

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
            Side::Starter => "the starter",
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

    pub fn outcome(&mut self, lesson: &Lesson, side: Side, outcome: &Checked) -> io::Result<()> {
        match outcome {
            Checked::CompileFailed(diagnostics) => self.compile_failed(lesson, side, diagnostics),
            Checked::Ran(report) => self.report(lesson, side, report),
        }
    }

    /// The outcome as exercism's test-runner JSON (version 3), alone on stdout.
    pub fn json(&mut self, outcome: &Checked) -> io::Result<()> {
        colored::control::set_override(false);
        let json = json::results(outcome);
        writeln!(
            self.out,
            "{}",
            serde_json::to_string_pretty(&json).expect("JSON values serialise")
        )
    }

    /// One line of `dev check`: a fact about the course that holds, or does not.
    pub fn dev_fact(&mut self, holds: bool, fact: &str) -> io::Result<()> {
        let mark = if holds { "✓".green().bold() } else { "✗".red().bold() };
        writeln!(self.out, "{mark} {fact}")
    }

    /// A one-line remark that is not part of any report.
    pub fn notice(&mut self, message: &str) {
        let _ = writeln!(self.err, "{} {message}", "httplings:".yellow());
    }

    fn compile_failed(&mut self, lesson: &Lesson, side: Side, diagnostics: &str) -> io::Result<()> {
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

    fn report(&mut self, lesson: &Lesson, side: Side, report: &Report) -> io::Result<()> {
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
        let ended_on_a_failure =
            report.checks.last().is_some_and(|check| matches!(check.state, CheckState::Failed(_)));
        if report.interrupted.is_some() || !ended_on_a_failure {
            writeln!(self.out)?;
        }
        self.summary(lesson, side, report)
    }

    fn summary(&mut self, lesson: &Lesson, side: Side, report: &Report) -> io::Result<()> {
        let passed =
            report.checks.iter().filter(|check| matches!(check.state, CheckState::Passed)).count();
        let total = report.checks.len();
        if report.passed() {
            let next = match side {
                Side::Exercise if usize::from(lesson.number) == LESSONS.len() => format!(
                    "Compare with the reference: `cargo run -- solution {}`. That was the last \
                     lesson: the course is done. The quizzes wait at `cargo run -- quiz N`.",
                    lesson.number
                ),
                Side::Exercise => format!(
                    "Compare with the reference: `cargo run -- solution {}`. Then on to lesson {}.",
                    lesson.number,
                    lesson.number + 1
                ),
                Side::Solution => "The reference solution passes.".to_string(),
                Side::Starter => "But a starter should fail until it is solved.".to_string(),
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

    pub fn list(&mut self, lessons: &[Lesson], progress: &Progress) -> io::Result<()> {
        for lesson in lessons {
            let current = if progress.current().number == lesson.number { "→" } else { " " };
            let status = match progress.status(lesson) {
                Status::Done => "done   ".green(),
                Status::Failing => "failing".red(),
                Status::Pending => "pending".dimmed(),
            };
            let quiz = match progress.quiz_result(lesson) {
                Some(true) => "quiz ✓".green(),
                Some(false) => "quiz ✗".yellow(),
                None => "      ".normal(),
            };
            let line = format!(
                "{current} {:>2}  {status}  {:<28} {}  {quiz}",
                lesson.number.to_string().bold(),
                lesson.title,
                lesson.file(Side::Exercise).dimmed()
            );
            writeln!(self.out, "{}", line.trim_end())?;
        }
        writeln!(self.out)?;
        if progress.done_count() == lessons.len() {
            return writeln!(
                self.out,
                "{}",
                "Every exercise passes: the course is done.".green().bold()
            );
        }
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
        for line in evidence::wrap(lesson.hints[index], self.width) {
            writeln!(self.out, "{line}")?;
        }
        let more = if index + 1 < total {
            "(run the same command again for a stronger hint)"
        } else {
            "(that was the last hint: `cargo run -- solution N --force` shows the answer)"
        };
        writeln!(self.out, "{}", more.replace(" N ", &format!(" {} ", lesson.number)).dimmed())?;
        Ok(())
    }

    pub fn reset_done(
        &mut self,
        exercise: &str,
        backup: Option<&std::path::Path>,
    ) -> io::Result<()> {
        match backup {
            Some(backup) => writeln!(
                self.out,
                "{} {exercise} is the starter again; your version is saved as {}.",
                "✓".green().bold(),
                backup.display().to_string().underline()
            ),
            None => writeln!(self.out, "{exercise} is already the starter: nothing to do."),
        }
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
