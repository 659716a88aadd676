//! [`Verdict`]: how one check went, with the evidence a learner needs to fix a failure.

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail(Failure),
}

/// Why a check failed, with the evidence a learner needs to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong, in one line.
    pub summary: String,
    /// Why it matters, in a sentence or two, when this failure needs its own words; otherwise
    /// the report shows the check's, from the lesson's data.
    pub why: Option<String>,
    pub evidence: Vec<Evidence>,
}

impl Failure {
    pub fn new(summary: impl Into<String>, why: impl Into<String>) -> Self {
        Self { summary: summary.into(), why: Some(why.into()), evidence: Vec::new() }
    }

    /// A failure whose reason is the check's own (the lesson's data says why it matters).
    pub fn of(summary: impl Into<String>) -> Self {
        Self { summary: summary.into(), why: None, evidence: Vec::new() }
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
