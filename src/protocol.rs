//! What a check process tells the runner: one [`Message`] per line of JSON.
//!
//! A check process first sends a [`Message::Plan`] naming every check it will run, then a
//! [`Message::Verdict`] per check as soon as it is reached. The runner treats a planned check
//! that never reports as failed, so a process that crashes or exits early can never pass.

use serde::{Deserialize, Serialize};

/// The environment variable through which the runner names the report file.
pub const REPORT_PATH_VAR: &str = "HTTPLINGS_REPORT";

/// How a check process starts the line it writes to stderr for a panic. Such lines are not
/// the learner's logging, so [`Outcome::LogMustContain`] does not look at them.
pub const PANIC_LINE_PREFIX: &str = "httplings: learner code panicked";

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// The names of every check, in the order they will report.
    Plan { checks: Vec<String> },
    /// How one check went.
    Verdict(Verdict),
}

/// The outcome of one named check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub check: String,
    pub outcome: Outcome,
}

impl Verdict {
    pub fn pass(check: impl Into<String>) -> Self {
        Self { check: check.into(), outcome: Outcome::Pass }
    }

    pub fn fail(check: impl Into<String>, failure: Failure) -> Self {
        Self { check: check.into(), outcome: Outcome::Fail(failure) }
    }

    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Pass)
    }
}

/// Pass, fail, or "the runner decides": some facts are only visible from outside the process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail(Failure),
    /// Passes when the check process's stderr (its server log) contains `needle`;
    /// otherwise fails with `failure`. Only the runner sees the whole stderr stream.
    LogMustContain {
        needle: String,
        failure: Failure,
    },
}

/// Why a check failed, with the evidence a learner needs to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong, in one line.
    pub summary: String,
    /// Why it matters, in a sentence or two.
    pub why: String,
    pub evidence: Vec<Evidence>,
}

impl Failure {
    pub fn new(summary: impl Into<String>, why: impl Into<String>) -> Self {
        Self { summary: summary.into(), why: why.into(), evidence: Vec::new() }
    }

    pub fn with(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }
}

/// A piece of evidence, rendered by the runner's reporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// Shown as a unified diff, line by line.
    Diff { expected: String, actual: String },
    /// Shown as a table; rows that are not `ok` are marked.
    Table { columns: Vec<String>, rows: Vec<Row> },
    /// Preformatted text under a title (a timeline, a log excerpt).
    Text { title: String, body: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub cells: Vec<String>,
    pub ok: bool,
}
