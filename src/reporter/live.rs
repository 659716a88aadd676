//! [`Live`]: a check's report as it happens. Each check's ✓ or ✗ line appears the moment it is
//! decided; while the checks wait (on a slow client, a timeout), a terminal shows a line that
//! says so and counts the seconds, so a long wait never looks like a frozen screen.

use std::io::Write;
use std::time::Duration;

use colored::Colorize;

use super::Reporter;
use crate::check::{CheckResult, CheckState, Event};

/// Waiting shorter than this is not worth a line.
const SHOW_AFTER: Duration = Duration::from_millis(750);

pub struct Live<'a> {
    reporter: &'a mut Reporter,
    decided: usize,
    total: usize,
    /// Whether the waiting line is on screen now.
    waiting: bool,
}

impl<'a> Live<'a> {
    pub(super) fn new(reporter: &'a mut Reporter, total: usize) -> Self {
        Self { reporter, decided: 0, total, waiting: false }
    }

    pub fn event(&mut self, event: &Event<'_>) {
        // Output that cannot be written (a closed pipe) is the caller's to notice at the end.
        let _ = match event {
            Event::Started | Event::Waiting(_) if !self.reporter.interactive => Ok(()),
            Event::Started => Ok(()),
            Event::Greeted(sandbox) => self.reporter.sandbox(sandbox),
            Event::Waiting(elapsed) if *elapsed < SHOW_AFTER => Ok(()),
            Event::Waiting(elapsed) => self.waiting_line(*elapsed),
            Event::Decided(verdict) => {
                self.clear();
                self.decided += 1;
                let state = match &verdict.outcome {
                    httplings_judge::judge::Outcome::Pass => CheckState::Passed,
                    httplings_judge::judge::Outcome::Fail(failure) => {
                        CheckState::Failed(failure.clone())
                    }
                };
                self.reporter.verdict_line(&CheckResult {
                    name: verdict.check.clone(),
                    state,
                    output: String::new(),
                })
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
