//! Watch mode's screen: the whole of it redrawn at once, from pieces rendered to strings.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use colored::Colorize;

use super::{Reporter, evidence};
use crate::catalog::{Lesson, Side};
use crate::check::Checked;
use crate::progress::{Progress, Status};

/// What watch mode shows.
#[derive(Debug)]
pub struct Screen<'a> {
    pub lesson: &'a Lesson,
    pub exercise: &'a std::path::Path,
    pub done: usize,
    pub total: usize,
    pub status: Status,
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
            width: self.width,
        };
        render(&mut inner).expect("writing to memory cannot fail");
        String::from_utf8_lossy(&capture.0.borrow()).into_owned()
    }

    pub fn render_outcome(&self, lesson: &Lesson, side: Side, outcome: &Checked) -> String {
        self.rendered(|reporter| reporter.outcome(lesson, side, outcome))
    }

    /// `text` wrapped to the terminal's width.
    pub fn wrapped(&self, text: &str) -> String {
        evidence::wrap(text, self.width).join("\n")
    }

    pub fn lesson_list(&self, lessons: &[Lesson], progress: &Progress) -> String {
        self.rendered(|reporter| reporter.list(lessons, progress))
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
        let filled = 20 * screen.done / screen.total.max(1);
        let bar = format!("{}{}", "█".repeat(filled).green(), "░".repeat(20 - filled).dimmed());
        let status = match screen.status {
            Status::Done => "passes".green().bold(),
            Status::Failing => "does not pass yet".red(),
            Status::Pending => "not checked yet".dimmed(),
        };
        let rule = "─".repeat(self.width).dimmed().to_string();
        // The report first and the status last: the end of the screen is what stays in view.
        let mut text = format!(
            "{}\n{rule}\n{} lesson {}/{}: {}\n{} {link} {status}\n{} {bar} {}/{} exercises\n",
            screen.report.trim_end(),
            "httplings".bold().cyan(),
            screen.lesson.number,
            screen.total,
            screen.lesson.title.bold(),
            "exercise".dimmed(),
            "progress".dimmed(),
            screen.done,
            screen.total,
        );
        if let Some(panel) = screen.panel {
            text.push_str(panel.trim_end());
            text.push('\n');
        }
        if let Some(message) = screen.message {
            text.push_str(&format!("{}\n", message.bold()));
        }
        let keys = "n next · p previous · h hint · l list · r re-check · e edit · x reset · q quit";
        text.push_str(&keys.dimmed().to_string());
        write!(self.out, "\x1b[2J\x1b[H{}", text.replace('\n', "\r\n"))?;
        self.out.flush()
    }
}
