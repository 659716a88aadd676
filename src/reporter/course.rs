//! The reporter's words about the course itself: lessons, the list, hints, resets and the
//! solution diff.

use std::io::{self, Write};
use std::path::Path;

use colored::Colorize;

use super::{Reporter, evidence, markdown};
use crate::catalog::{Hint, LESSONS, Lesson, Side};
use crate::progress::{Progress, Status};

impl Reporter {
    /// Renders a lesson's markdown for the terminal (plain text without colour).
    pub fn lesson(&mut self, markdown: &str) -> io::Result<()> {
        let rendered = markdown::render(markdown, self.prose_width());
        write!(self.out, "{rendered}")
    }

    pub fn list(&mut self, lessons: &[Lesson], progress: &Progress) -> io::Result<()> {
        let current = progress.current().number;
        for lesson in lessons {
            writeln!(self.out, "{}", self.list_line(lesson, progress, lesson.number == current))?;
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

    /// One lesson's line of the list: an arrow at the current one, number, status, title, file,
    /// quiz. Always one line: in a narrow terminal the title is cut short, never the line wrapped.
    pub(super) fn list_line(&self, lesson: &Lesson, progress: &Progress, current: bool) -> String {
        let arrow = if current { "→" } else { " " };
        let status = match progress.status(lesson) {
            Status::Done => "done   ".green(),
            Status::Failing => "failing".red(),
            Status::Pending => "pending".dimmed(),
            Status::Changed => "changed".yellow(),
        };
        let quiz = match progress.quiz_score(lesson) {
            Some((right, total)) if right == total => format!("quiz {right}/{total}").green(),
            Some((right, total)) => format!("quiz {right}/{total}").yellow(),
            None => "".normal(),
        };
        let longest = LESSONS.iter().map(|lesson| lesson.title.chars().count()).max().unwrap_or(0);
        let file_width =
            LESSONS.iter().map(|lesson| lesson.file(Side::Exercise).len()).max().unwrap_or(0);
        // "→ 10  changed  " + title + "  " + file + "  quiz 5/5"
        let fixed = 2 + 2 + 2 + 7 + 2 + 2 + file_width + 2 + "quiz 10/10".len();
        let title_width = longest.min(self.width.saturating_sub(fixed)).max(8);
        let title = if lesson.title.chars().count() > title_width {
            let kept: String = lesson.title.chars().take(title_width - 1).collect();
            format!("{kept}…")
        } else {
            lesson.title.clone()
        };
        let file = format!("{:<file_width$}", lesson.file(Side::Exercise));
        let line = format!(
            "{arrow} {:>2}  {status}  {title:<title_width$}  {}  {quiz}",
            lesson.number.to_string().bold(),
            file.dimmed()
        );
        line.trim_end().to_string()
    }

    /// Shows hint `index` of the lesson's list.
    pub fn hint(
        &mut self,
        lesson: &Lesson,
        hint: &Hint,
        index: usize,
        more: bool,
    ) -> io::Result<()> {
        let about = hint
            .check
            .as_deref()
            .and_then(|id| lesson.check(id))
            .map_or_else(String::new, |check| format!(" ({})", check.name.dimmed()));
        writeln!(
            self.out,
            "{} {}/{} for lesson {}{about}:",
            "Hint".yellow().bold(),
            index + 1,
            lesson.hints.len(),
            lesson.number
        )?;
        write!(self.out, "{}", markdown::render(&hint.text, self.prose_width()))?;
        let again = match self.surface {
            super::Surface::Command => "run the same command again",
            super::Surface::Watch => "press h again",
        };
        let next = if more {
            format!("({again} for the next hint)")
        } else {
            format!(
                "(you have seen every hint; {again} to see them again, and `cargo run -- solution {} --force` shows the answer)",
                lesson.number
            )
        };
        writeln!(self.out, "{}", next.dimmed())
    }

    pub fn reset_done(&mut self, exercise: &str, backup: Option<&Path>) -> io::Result<()> {
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
