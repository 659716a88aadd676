//! [`Reporter`]: the one owner of terminal output. Commands hand it results and events; it
//! decides colour once and turns them into text, diffs and tables.

mod class;
mod course;
mod evidence;
mod inert;
pub(crate) mod json;
mod live;
mod markdown;
mod prompt;
mod screen;

pub use live::Live;
pub use screen::Screen;

use std::io::{self, IsTerminal, Write};

use colored::Colorize;

use httplings::protocol::{Confinement, Sandbox};

use crate::catalog::{LESSONS, Lesson, Side};
use crate::cli::ColorChoice;
use crate::outcome::{CheckResult, CheckState, Checked, Interruption, Report};

/// Prose (a lesson, a hint, why a rule matters) is wrapped at the terminal's width, but never
/// wider than this: long lines of prose are hard to read. Lists, tables and status lines use the
/// whole width.
const PROSE_WIDTH: usize = 100;

pub struct Reporter {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    colored: bool,
    /// Whether stdout is a terminal: live lines are drawn only there.
    interactive: bool,
    /// The terminal's width (80 when it cannot be told).
    width: usize,
    /// Where the output is read: what the learner does next is said in its terms.
    surface: Surface,
    /// Which report watch mode's screen showed last (see `watch_screen`).
    painted: Option<u64>,
}

/// Where a report is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// After a command: the next step is another command.
    Command,
    /// In watch mode: the next step is a save, or a key.
    Watch,
}

/// A terminal stream whose failures (a closed pipe, a reader that died, a full disk) are not
/// the report's to stop on: what a command exits with is decided by what it did, never by
/// whether anyone was still reading.
struct Unbreakable<W>(W);

impl<W: Write> Write for Unbreakable<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let _ = self.0.write_all(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

impl Reporter {
    /// Writes to stdout (stderr for errors), in colour when `choice` and the terminal allow.
    pub fn stdout(choice: ColorChoice) -> Self {
        let interactive = io::stdout().is_terminal();
        let colored = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                interactive && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        };
        colored::control::set_override(colored);
        let width = terminal_size::terminal_size().map_or(80, |(width, _)| usize::from(width.0));
        Self {
            out: Box::new(Unbreakable(io::stdout())),
            err: Box::new(Unbreakable(io::stderr())),
            colored,
            interactive,
            width: width.max(40),
            surface: Surface::Command,
            painted: None,
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

    /// A one-line remark that is not part of any report.
    pub fn notice(&mut self, message: &str) {
        let _ = writeln!(self.err, "{} {message}", "httplings:".yellow());
    }

    pub fn checking(&mut self, lesson: &Lesson, side: Side) -> io::Result<()> {
        let whose = match side {
            Side::Exercise => "your exercise",
            Side::Solution => "the reference solution",
            Side::Starter => "the starter",
        };
        writeln!(
            self.out,
            "{} {whose} for lesson {}, {} ({})\n",
            "Checking".bold(),
            lesson.number,
            lesson.title,
            lesson.file(side).underline()
        )?;
        self.out.flush()
    }

    /// Streams a check's events as they happen (see [`Live`]).
    pub fn live<'a>(&'a mut self, lesson: &'a Lesson) -> Live<'a> {
        Live::new(self, lesson)
    }

    /// The report of a check. With `streamed`, each check's line was printed as it was decided
    /// (by [`Live`]); what follows is the rest: what was not judged, the failures in detail, and
    /// the summary.
    pub fn outcome(
        &mut self,
        lesson: &Lesson,
        side: Side,
        outcome: &Checked,
        streamed: bool,
    ) -> io::Result<()> {
        match outcome {
            Checked::CompileFailed(diagnostics) => self.compile_failed(lesson, side, diagnostics),
            Checked::Ran(report) => self.report(lesson, side, report, streamed),
        }
    }

    /// The outcome as exercism's test-runner JSON (version 3), alone on stdout.
    pub fn json(&mut self, outcome: &Checked) -> io::Result<()> {
        colored::control::set_override(false);
        let json = json::results(outcome, self.prose_width());
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

    /// The width prose is wrapped at.
    fn prose_width(&self) -> usize {
        self.width.min(PROSE_WIDTH)
    }

    fn compile_failed(&mut self, lesson: &Lesson, side: Side, diagnostics: &str) -> io::Result<()> {
        let diagnostics = inert::inert_but_colours(diagnostics.trim_end());
        writeln!(self.out, "{}\n", as_opened(&diagnostics))?;
        let then = match self.surface {
            Surface::Command => format!("then run `cargo run -- check {}` again", lesson.number),
            Surface::Watch => "and save: the check runs again".to_string(),
        };
        writeln!(
            self.out,
            "{} {} does not compile: fix the first error above, {then}.",
            "✗".red().bold(),
            lesson.file(side),
        )
    }

    fn report(
        &mut self,
        lesson: &Lesson,
        side: Side,
        report: &Report,
        streamed: bool,
    ) -> io::Result<()> {
        if !streamed {
            if let Some(interruption) = &report.interruption {
                self.interruption(interruption)?;
            }
            for check in &report.checks {
                self.verdict_line(check)?;
            }
        } else {
            for check in
                report.checks.iter().filter(|check| matches!(check.state, CheckState::NotJudged))
            {
                self.verdict_line(check)?;
            }
        }
        if report.left_running {
            writeln!(
                self.out,
                "{} {}",
                "✗".red().bold(),
                "a process your code started could not be ended: it left its process group, \
                 which only a machine without the sandbox allows. Nothing your code starts may \
                 outlive its check."
                    .red()
                    .bold()
            )?;
        }
        if let Some(interruption) = &report.interruption {
            writeln!(self.out)?;
            evidence::titled(
                &mut self.out,
                "the last lines your code wrote",
                &interruption.log_tail,
            )?;
        }
        for check in &report.checks {
            if let CheckState::Failed(failure) = &check.state {
                writeln!(self.out, "\n{} {}", "✗".red().bold(), check.name.bold())?;
                let width = self.prose_width();
                evidence::failure(&mut self.out, failure, check.why.as_deref(), width)?;
            }
        }
        writeln!(self.out)?;
        self.summary(lesson, side, report)?;
        for warning in &report.warnings {
            writeln!(self.out, "{}", inert::inert(warning).yellow())?;
        }
        Ok(())
    }

    /// One check's line: ✓, ✗, or – when it was not judged.
    pub(crate) fn verdict_line(&mut self, check: &CheckResult) -> io::Result<()> {
        match &check.state {
            CheckState::Passed => writeln!(self.out, "{} {}", "✓".green().bold(), check.name),
            CheckState::Failed(_) => writeln!(self.out, "{} {}", "✗".red().bold(), check.name),
            CheckState::NotJudged => {
                writeln!(
                    self.out,
                    "{} {} {}",
                    "–".red(),
                    check.name.dimmed(),
                    "(not judged: see above)".dimmed()
                )
            }
        }
    }

    /// Where the learner's process is not walled in, one line says so, first.
    pub(crate) fn sandbox(&mut self, sandbox: &Sandbox) -> io::Result<()> {
        let Some(missing) = missing_parts(sandbox) else { return Ok(()) };
        writeln!(
            self.out,
            "{} {}",
            "!".yellow().bold(),
            format!(
                "your code runs without {missing} here: it is judged the same, from outside, but \
                 is not walled in"
            )
            .yellow()
        )
    }

    /// Why judging stopped early, said once, before the checks it spoiled.
    pub(crate) fn interruption(&mut self, interruption: &Interruption) -> io::Result<()> {
        let mut lines =
            evidence::wrap(&inert::inert(&interruption.cause), self.prose_width() - 2).into_iter();
        writeln!(
            self.out,
            "{} {}",
            "✗".red().bold(),
            lines.next().unwrap_or_default().red().bold()
        )?;
        for line in lines {
            writeln!(self.out, "  {}", line.red().bold())?;
        }
        Ok(())
    }

    fn summary(&mut self, lesson: &Lesson, side: Side, report: &Report) -> io::Result<()> {
        let total = report.checks.len();
        let flag = if side == Side::Solution { " --solution" } else { "" };
        let replay = format!(
            "seed {} (replay it: `cargo run -- check {}{flag} --seed {}`)",
            report.seed, lesson.number, report.seed
        );
        if report.passed() {
            let next = match side {
                Side::Exercise if usize::from(lesson.number) == LESSONS.len() => format!(
                    "Compare with the reference: `cargo run -- solution {}`. That was the last \
                     lesson: the course is done. The quizzes wait at `cargo run -- quiz N`.",
                    lesson.number
                ),
                Side::Exercise if self.surface == Surface::Watch => format!(
                    "Compare with the reference: `cargo run -- solution {}`, try `cargo run -- \
                     quiz {}`, then press n for lesson {}.",
                    lesson.number,
                    lesson.number,
                    lesson.number + 1
                ),
                Side::Exercise => format!(
                    "Compare with the reference: `cargo run -- solution {}`, try `cargo run -- quiz {}`, then on to lesson {}.",
                    lesson.number,
                    lesson.number,
                    lesson.number + 1
                ),
                Side::Solution => "The reference solution passes.".to_string(),
                Side::Starter => "But a starter should fail until it is solved.".to_string(),
            };
            writeln!(self.out, "{} {}", format!("All {total} checks pass.").green().bold(), next)?;
        } else {
            let next = match self.surface {
                Surface::Command => format!(
                    "Fix the first ✗, then run `cargo run -- check {n}` again. Stuck? `cargo run -- hint {n}`.",
                    n = lesson.number
                ),
                Surface::Watch => {
                    "Fix the first ✗ and save: the check runs again. Stuck? Press h.".into()
                }
            };
            writeln!(
                self.out,
                "{} {next}",
                format!("{} of {total} checks pass.", report.passed_count()).red().bold(),
            )?;
        }
        writeln!(self.out, "{}", replay.dimmed())
    }
}

/// What of the sandbox this machine lacks, in words; `None` when nothing is.
fn missing_parts(sandbox: &Sandbox) -> Option<String> {
    let landlock = match sandbox.landlock {
        Confinement::Full => None,
        Confinement::Partial => Some("part of its Landlock rules (an older kernel)"),
        Confinement::Missing => Some("Landlock"),
    };
    let seccomp = (!sandbox.seccomp).then_some("its seccomp filter");
    match (landlock, seccomp) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (Some(one), Some(other)) => Some(format!("{one} and {other}")),
    }
}

/// Cargo names an exercise by the way its check target reaches it
/// (`kit/src/bin/../../../exercises/04_bad_gateway.rs:117:14`): show the path the learner
/// opened (`exercises/04_bad_gateway.rs:117:14`), which terminals and editors can jump to.
pub fn as_opened(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("src/bin/../") {
        std::borrow::Cow::Owned(
            text.replace("kit/src/bin/../../../", "").replace("src/bin/../../", ""),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_sandbox_is_said_in_one_line_naming_what_is_missing() {
        let full = Sandbox { landlock: Confinement::Full, seccomp: true };
        assert_eq!(missing_parts(&full), None);
        let old = Sandbox { landlock: Confinement::Partial, seccomp: true };
        assert_eq!(
            missing_parts(&old).as_deref(),
            Some("part of its Landlock rules (an older kernel)")
        );
        let none = Sandbox { landlock: Confinement::Missing, seccomp: false };
        assert_eq!(missing_parts(&none).as_deref(), Some("Landlock and its seccomp filter"));
        let said =
            Reporter::stdout(ColorChoice::Never).rendered(|reporter| reporter.sandbox(&none));
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(said.contains("without Landlock and its seccomp filter"), "{said}");
    }

    #[test]
    fn compile_errors_name_the_file_as_the_learner_opened_it() {
        let cargo = " --> kit/src/bin/../../../exercises/04_bad_gateway.rs:117:14";
        assert_eq!(as_opened(cargo), " --> exercises/04_bad_gateway.rs:117:14");
    }
}
