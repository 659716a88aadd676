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
    pub(super) fn rendered(&self, render: impl FnOnce(&mut Reporter) -> io::Result<()>) -> String {
        let capture = Capture::default();
        let mut inner = Reporter {
            out: Box::new(capture.clone()),
            err: Box::new(io::sink()),
            colored: self.colored,
            interactive: false,
            width: self.width,
            surface: super::Surface::Watch,
            painted: None,
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
            Status::Changed if screen.progress.passed_before(screen.lesson) => {
                "passed before; changed since".yellow()
            }
            Status::Changed => "changed since its last check".yellow(),
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
        let lines: Vec<String> = text.lines().map(|line| self.fitted(line)).collect();
        let height = crossterm::terminal::size().map_or(24, |(_, rows)| usize::from(rows)).max(5);
        let report = hash(screen.report);
        let shown = if lines.len() > height && self.painted == Some(report) {
            // The same tall report as last time: its top is in the scrollback already; redraw
            // only what the screen holds.
            &lines[lines.len() - height..]
        } else {
            &lines[..]
        };
        self.painted = Some(report);
        // Drawn over the last frame from the top, line by line, never cleared as a whole: a
        // terminal multiplexer keeps a copy of a cleared screen in its scrollback. A report
        // taller than the screen scrolls its top into the scrollback once, when it is new.
        let body =
            shown.iter().map(|line| format!("{line}\x1b[K")).collect::<Vec<_>>().join("\r\n");
        write!(self.out, "\x1b[H{body}\x1b[J")?;
        self.out.flush()
    }

    /// `line`, cut at the terminal's width (escape sequences take no room, and are kept): every
    /// line of the screen must take exactly one row, or redrawing in place would miscount.
    fn fitted(&self, line: &str) -> String {
        if visible_width(line) <= self.width {
            return line.to_string();
        }
        let mut kept = String::new();
        let mut width = 0;
        for (piece, visible) in pieces(line) {
            if !visible {
                kept.push_str(piece);
            } else if width + 1 < self.width {
                kept.push_str(piece);
                width += 1;
            }
        }
        kept.push('…');
        kept
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

fn hash(text: &str) -> u64 {
    use std::hash::BuildHasher;
    std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(text)
}

/// `line` cut into characters that take room (`true`) and escape sequences that take none
/// (colour and style `ESC [ … letter`, links `ESC ] … ESC \\`).
fn pieces(line: &str) -> Vec<(&str, bool)> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while let Some(first) = rest.chars().next() {
        let length = if first != '\x1b' {
            first.len_utf8()
        } else if let Some(body) = rest.strip_prefix("\x1b[") {
            2 + body.find(|char: char| char.is_ascii_alphabetic()).map_or(body.len(), |at| at + 1)
        } else if let Some(body) = rest.strip_prefix("\x1b]") {
            2 + body.find("\x1b\\").map_or(body.len(), |at| at + 2)
        } else {
            1
        };
        pieces.push((&rest[..length], first != '\x1b'));
        rest = &rest[length..];
    }
    pieces
}

/// The width of `line` on screen: escape sequences (colour, links) take no room.
fn visible_width(line: &str) -> usize {
    pieces(line).iter().filter(|(_, visible)| *visible).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_take_no_room() {
        assert_eq!(visible_width("\x1b[1;32m✓\x1b[0m ok"), 4);
        assert_eq!(visible_width("\x1b]8;;file:///x\x1b\\path\x1b]8;;\x1b\\"), 4);
    }

    #[test]
    fn long_lines_are_cut_to_the_width_and_keep_their_colours() {
        let mut reporter = Reporter::stdout(crate::cli::ColorChoice::Never);
        reporter.width = 10;
        let cut = reporter.fitted("\x1b[31mabcdefghijklmnop\x1b[0m");
        assert_eq!(visible_width(&cut), 10);
        assert!(cut.starts_with("\x1b[31mabcdefghi") && cut.contains("\x1b[0m"), "{cut:?}");
    }
}
