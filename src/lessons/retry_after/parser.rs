//! Judges `parse_retry_after`: the fixed table, then the generated inputs, one call each, so
//! that a panic or a hang is pinned on the input that caused it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::expect::shown;
use super::table::{self, Case, Group};
use super::{Call, Reply};
use crate::judge::{Evidence, Failure, Learner, Lost, Returned, Row};

/// How long one call of the parser may take.
const DEADLINE: Duration = Duration::from_secs(2);

/// At most this many right rows are shown around the wrong ones.
const SHOWN_RIGHT: usize = 8;

/// What the learner's parser made of each case of one group.
pub(super) async fn judge(
    learner: &Learner,
    cases: &[Case],
    group: Group,
) -> Result<Option<Failure>, Lost> {
    let mut rows = Vec::new();
    for case in cases.iter().filter(|case| case.group == group) {
        let now = case.now.duration_since(UNIX_EPOCH).expect("every now is after 1970");
        let call = Call::Parse { value: case.input.clone(), now };
        let what = format!("parse_retry_after({:?})", case.input);
        let (ok, got) = match learner.call(&what, &call, DEADLINE).await? {
            Returned::Value(Reply::Parsed(got)) => (case.expect.accepts(got), shown(got)),
            Returned::Value(_) => (false, "(an unexpected reply)".into()),
            Returned::Panicked(message) => (false, format!("panicked: {message}")),
            Returned::TimedOut(limit) => {
                (false, format!("still running after {} s", limit.as_secs()))
            }
        };
        let input = format!("{:?}", case.input);
        let now = if case.now == table::now() { String::new() } else { shown_now(case.now) };
        rows.push(Row { cells: vec![input, now, case.expect.shown(), got], ok });
    }
    let wrong = rows.iter().filter(|row| !row.ok).count();
    if wrong == 0 {
        return Ok(None);
    }
    let total = rows.len();
    // A table cell is short: the first panic is shown whole, with where it happened.
    let panic = rows.iter().find_map(|row| {
        Some(format!(
            "parse_retry_after({}) panicked: {}",
            row.cells[0],
            row.cells[3].strip_prefix("panicked: ")?
        ))
    });
    let columns = ["input", "now", "expected", "got"].map(String::from).to_vec();
    let mut failure = Failure::new(format!("{wrong} of {total} inputs parsed wrongly"), why(group));
    if let Some(panic) = panic {
        failure = failure.with(Evidence::Text { title: "the first panic".into(), body: panic });
    }
    Ok(Some(
        failure
            .with(Evidence::Text {
                title: "now".into(),
                body: format!(
                    "the table's values are read at {} (the RFC's example date less 30 s); \
                     generated ones at the moment in their \"now\" column",
                    table::NOW_SHOWN
                ),
            })
            .with(Evidence::Table { columns, rows: trimmed(rows) }),
    ))
}

fn why(group: Group) -> &'static str {
    match group {
        Group::Seconds => {
            "delay-seconds is the common form: digits, nothing else, with optional whitespace \
             around them (it is not part of the value). A number too large for your clock is \
             the longest wait you can represent, never \"no hint\", which would mean \"now\"."
        }
        Group::Dates => {
            "HTTP/1.1 requires a recipient to accept all three date forms, and a date already \
             past means \"now\": wait zero."
        }
        Group::Invalid => {
            "A value you cannot read must not become a wait: a client that invents one may \
             retry too soon, or sleep for a very long time. Where a row allows both, RFC 9110 \
             §5.6.7 lets a recipient be lenient."
        }
    }
}

/// Every wrong row, and a few right ones for contrast.
fn trimmed(rows: Vec<Row>) -> Vec<Row> {
    let mut right = 0;
    rows.into_iter()
        .filter(|row| {
            right += usize::from(row.ok);
            !row.ok || right <= SHOWN_RIGHT
        })
        .collect()
}

fn shown_now(now: SystemTime) -> String {
    httpdate::fmt_http_date(now)
}
