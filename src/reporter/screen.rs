//! Watch mode's screen: the whole of it redrawn at once, from the current state, each time.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use colored::Colorize;

use super::{Reporter, evidence};
use crate::catalog::{LESSONS, Lesson, Side};
use crate::outcome::Checked;
use crate::progress::{Progress, Status};

/// What watch mode shows.
#[derive(Debug)]
pub struct Screen<'a> {
    pub lesson: &'a Lesson,
    pub exercise: &'a std::path::Path,
    pub progress: &'a Progress,
    /// The last check's report, rendered.
    pub report: &'a str,
    pub panel: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// Collects what a reporter writes, to be shown later as a whole (watch mode).
#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Reporter {
    /// Renders into a string what `render` would print.
    fn rendered(&self, render: impl FnOnce(&mut Reporter) -> io::Result<()>) -> String {
        let capture = Capture::default();
        let mut inner = Reporter {
            out: Box::new(capture.clone()),
            err: Box::new(io::sink()),
            colored: self.colored,
            interactive: false,
            width: self.width,
        };
        render(&mut inner).expect("writing to memory cannot fail");
        String::from_utf8_lossy(&capture.0.borrow()).into_owned()
    }

    pub fn render_outcome(&self, lesson: &Lesson, side: Side, outcome: &Checked) -> String {
        self.rendered(|reporter| reporter.outcome(lesson, side, outcome, false))
    }

    pub fn render_hint(
        &self,
        lesson: &Lesson,
        hint: &crate::catalog::Hint,
        index: usize,
        more: bool,
    ) -> String {
        self.rendered(|reporter| reporter.hint(lesson, hint, index, more))
    }

    /// The lessons, one line each, with the keys that choose one.
    pub fn lesson_chooser(&self, progress: &Progress, selected: usize) -> String {
        let mut text = String::from(
            "Choose a lesson: ↑/↓ (or its number), Enter to open it, Esc to go back.\n",
        );
        for (index, lesson) in LESSONS.iter().enumerate() {
            let line = self.list_line(lesson, progress, index == selected);
            text.push_str(&if index == selected { line.reversed().to_string() } else { line });
            text.push('\n');
        }
        text
    }

    /// Redraws watch mode's whole screen (the terminal is in raw mode: lines end in \r\n).
    pub fn watch_screen(&mut self, screen: &Screen) -> io::Result<()> {
        let exercise = screen.exercise.display().to_string();
        let shown_path = screen.lesson.file(Side::Exercise);
        // OSC 8 makes the path clickable in terminals that support it; others show the text.
        let link = if self.colored {
            format!("\x1b]8;;file://{exercise}\x1b\\{}\x1b]8;;\x1b\\", shown_path.underline())
        } else {
            shown_path
        };
        let (done, total) = (screen.progress.done_count(), LESSONS.len());
        let filled = 20 * done / total.max(1);
        let bar = format!("{}{}", "█".repeat(filled).green(), "░".repeat(20 - filled).dimmed());
        let status = match screen.progress.status(screen.lesson) {
            Status::Done => "passes".green().bold(),
            Status::Failing => "does not pass yet".red(),
            Status::Pending => "not checked yet".dimmed(),
        };
        let rule = "─".repeat(self.width).dimmed().to_string();
        // The report first and the status last: the end of the screen is what stays in view.
        let mut text = format!(
            "{}\n{rule}\n{} lesson {}/{total}: {}\n{} {link} {status}\n{} {bar} {done}/{total} exercises\n",
            self.wrapped_block(screen.report.trim_end()),
            "httplings".bold().cyan(),
            screen.lesson.number,
            screen.lesson.title.bold(),
            "exercise".dimmed(),
            "progress".dimmed(),
        );
        if let Some(panel) = screen.panel {
            text.push_str(&self.wrapped_block(panel.trim_end()));
            text.push('\n');
        }
        if let Some(message) = screen.message {
            text.push_str(&format!("{}\n", self.wrapped_block(message).bold()));
        }
        let keys = "n next · p previous · h hint · l list · r re-check · e edit · x reset · q quit";
        text.push_str(&keys.dimmed().to_string());
        write!(self.out, "\x1b[2J\x1b[H{}", text.replace('\n', "\r\n"))?;
        self.out.flush()
    }

    /// Leaves watch mode's screen: the prompt goes on a line of its own.
    pub fn watch_ended(&mut self) -> io::Result<()> {
        writeln!(self.out, "\r")?;
        self.out.flush()
    }

    /// `text` with every line longer than the terminal wrapped at word boundaries, keeping the
    /// indentation of the line it came from.
    fn wrapped_block(&self, text: &str) -> String {
        let mut out = Vec::new();
        for line in text.lines() {
            if visible_width(line) <= self.width {
                out.push(line.to_string());
                continue;
            }
            let indent: String = line.chars().take_while(|char| *char == ' ').collect();
            for piece in
                evidence::wrap(line.trim_start(), self.width.saturating_sub(indent.len()).max(20))
            {
                out.push(format!("{indent}{piece}"));
            }
        }
        out.join("\n")
    }
}

/// The width of `line` on screen: escape sequences (colour, links) take no room.
fn visible_width(line: &str) -> usize {
    let mut width = 0;
    let mut chars = line.chars().peekable();
    while let Some(char) = chars.next() {
        if char == '\x1b' {
            match chars.peek() {
                Some('[') => {
                    for char in chars.by_ref() {
                        if char.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
                Some(']') => {
                    // OSC: up to the string terminator ESC \.
                    while let Some(char) = chars.next() {
                        if char == '\x1b' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            }
        } else {
            width += 1;
        }
    }
    width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_take_no_room() {
        assert_eq!(visible_width("\x1b[1;32m✓\x1b[0m ok"), 4);
        assert_eq!(visible_width("\x1b]8;;file:///x\x1b\\path\x1b]8;;\x1b\\"), 4);
    }
}
