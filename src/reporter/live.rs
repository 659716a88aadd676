//! [`Live`]: a check's report as it happens. Each check's ✓ or ✗ line appears the moment it is
//! decided; while the checks wait (on a slow client, a timeout), a terminal shows a line that
//! says so and counts the seconds, so a long wait never looks like a frozen screen.

use std::io::Write;
use std::time::Duration;

use colored::Colorize;

use super::Reporter;
use crate::catalog::Lesson;
use crate::outcome::Event;

/// Waiting shorter than this is not worth a line.
const SHOW_AFTER: Duration = Duration::from_millis(750);

pub struct Live<'a> {
    reporter: &'a mut Reporter,
    lesson: &'a Lesson,
    decided: usize,
    total: usize,
    /// Whether the waiting line is on screen now.
    waiting: bool,
}

impl<'a> Live<'a> {
    pub(super) fn new(reporter: &'a mut Reporter, lesson: &'a Lesson) -> Self {
        Self { reporter, lesson, decided: 0, total: lesson.checks.len(), waiting: false }
    }

    pub fn event(&mut self, event: &Event<'_>) {
        // Output that cannot be written (a closed pipe) is the caller's to notice at the end.
        let _ = match event {
            Event::Started | Event::Waiting(_) | Event::Building(_)
                if !self.reporter.interactive =>
            {
                Ok(())
            }
            Event::Building(elapsed) if *elapsed < SHOW_AFTER => Ok(()),
            Event::Building(elapsed) => self.building_line(*elapsed),
            Event::Started => {
                self.clear();
                Ok(())
            }
            Event::Greeted(sandbox) => self.reporter.sandbox(sandbox),
            Event::Waiting(elapsed) if *elapsed < SHOW_AFTER => Ok(()),
            Event::Waiting(elapsed) => self.waiting_line(*elapsed),
            Event::Decided(verdict) => {
                self.clear();
                self.decided += 1;
                let result = crate::outcome::result(
                    self.lesson,
                    &verdict.check,
                    Some(verdict),
                    String::new(),
                );
                self.reporter.verdict_line(&result)
            }
            Event::Interrupted(interruption) => {
                self.clear();
                self.reporter.interruption(interruption)
            }
        };
        let _ = self.reporter.out.flush();
    }

    fn waiting_line(&mut self, elapsed: Duration) -> std::io::Result<()> {
        let line = format!(
            "  running… {} s ({} of {} checks decided)",
            elapsed.as_secs(),
            self.decided,
            self.total
        );
        write!(self.reporter.out, "\r\x1b[2K{}", line.dimmed())?;
        self.waiting = true;
        Ok(())
    }

    fn building_line(&mut self, elapsed: Duration) -> std::io::Result<()> {
        let line = format!(
            "  compiling {}… {} s (the first build of an exercise takes longest)",
            self.lesson.file(crate::catalog::Side::Exercise),
            elapsed.as_secs()
        );
        write!(self.reporter.out, "\r\x1b[2K{}", line.dimmed())?;
        self.waiting = true;
        Ok(())
    }

    fn clear(&mut self) {
        if std::mem::take(&mut self.waiting) {
            let _ = write!(self.reporter.out, "\r\x1b[2K");
        }
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.clear();
        let _ = self.reporter.out.flush();
    }
}
