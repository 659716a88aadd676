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

    /// Adds `rows` as a table under `columns`: every wrong row, and the first [`SHOWN_RIGHT`]
    /// right ones for contrast. When a row's last cell says its call panicked (`panicked: …`),
    /// the first such panic is shown whole before the table, named by the row's first cell: a
    /// cell is cut short, and where a panic happened matters.
    pub fn with_rows(mut self, columns: &[&str], mut rows: Vec<Row>) -> Self {
        let panic = rows.iter().find_map(|row| {
            let message = row.cells.last()?.strip_prefix("panicked: ")?;
            Some(format!("with {}: panicked: {message}", row.cells.first()?))
        });
        if let Some(panic) = panic {
            self = self.with(Evidence::Text { title: "the first panic".into(), body: panic });
        }
        let mut right = 0;
        rows.retain(|row| {
            right += usize::from(row.ok);
            !row.ok || right <= SHOWN_RIGHT
        });
        let columns = columns.iter().map(ToString::to_string).collect();
        self.with(Evidence::Table { columns, rows })
    }
}

/// At most this many right rows are shown around the wrong ones of a table.
pub const SHOWN_RIGHT: usize = 8;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_keeps_every_wrong_row_a_few_right_ones_and_the_first_panic_whole() {
        let row = |input: &str, got: &str, ok| Row { cells: vec![input.into(), got.into()], ok };
        let mut rows: Vec<Row> = (0..20).map(|n| row(&n.to_string(), "ok", true)).collect();
        rows.push(row("\"x\"", "panicked: index out of bounds (at src/lib.rs:3:9)", false));
        rows.push(row("\"y\"", "None", false));
        let failure = Failure::of("2 of 22 wrong").with_rows(&["input", "got"], rows);
        let [Evidence::Text { body, .. }, Evidence::Table { rows, .. }] = &failure.evidence[..]
        else {
            panic!("{failure:?}")
        };
        assert_eq!(body, "with \"x\": panicked: index out of bounds (at src/lib.rs:3:9)");
        assert_eq!(rows.len(), SHOWN_RIGHT + 2);
        assert_eq!(rows.iter().filter(|row| !row.ok).count(), 2);
    }
}
