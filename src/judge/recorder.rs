//! [`Recorder`]: collects a lesson's verdicts and, in the runner, streams each to the reporter
//! the moment it is decided.

use tokio::sync::mpsc::UnboundedSender;

use super::{Failure, Verdict};

#[derive(Debug)]
pub struct Recorder {
    checks: &'static [&'static str],
    verdicts: Vec<Verdict>,
    decided: Option<UnboundedSender<Verdict>>,
}

impl Recorder {
    /// A recorder for `checks`, which sends each verdict to `decided` as it is recorded.
    pub fn new(checks: &'static [&'static str], decided: Option<UnboundedSender<Verdict>>) -> Self {
        Self { checks, verdicts: Vec::new(), decided }
    }

    pub fn record(&mut self, verdict: Verdict) {
        debug_assert!(
            self.checks.contains(&verdict.check.as_str()),
            "{} is not planned",
            verdict.check
        );
        debug_assert!(!self.is_decided(&verdict.check), "{} was decided twice", verdict.check);
        if let Some(decided) = &self.decided {
            // A reporter that went away cannot be told; the verdict is still kept here.
            let _ = decided.send(verdict.clone());
        }
        self.verdicts.push(verdict);
    }

    pub fn pass(&mut self, check: &str) {
        self.record(Verdict::pass(check));
    }

    pub fn fail(&mut self, check: &str, failure: Failure) {
        self.record(Verdict::fail(check, failure));
    }

    /// Records `failure` for `check` when there is one, a pass otherwise.
    pub fn decide(&mut self, check: &str, failure: Option<Failure>) {
        match failure {
            Some(failure) => self.fail(check, failure),
            None => self.pass(check),
        }
    }

    pub fn is_decided(&self, check: &str) -> bool {
        self.verdicts.iter().any(|verdict| verdict.check == check)
    }

    /// Fails every check not decided yet for one shared reason.
    pub fn fail_the_rest(&mut self, failure: &Failure) {
        for check in self.checks {
            if !self.is_decided(check) {
                self.fail(check, failure.clone());
            }
        }
    }

    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    pub fn into_verdicts(self) -> Vec<Verdict> {
        self.verdicts
    }
}
