//! Judges `retry_after` on real responses: the judge's upstream answers 503 with every kind of
//! `Retry-After` (and none, and two, and bytes that are not ASCII), with a `Date` of the moment
//! sent (or none); the learner's process fetches each, and its `retry_after` reads the response.
//! A date may be measured from that `Date` or from the learner's clock: both are right.

use std::time::Duration;

use super::cases::{Expect, shown};
use super::{Call, returned};
use crate::judge::http_date::{Civil, DateForm};
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{Reply, Seen, Upstream};
use crate::judge::{Failure, Learner, Lost, Row};

/// A `Date` no reader can take for a moment.
const UNREADABLE_DATE: &str = "not long ago";

/// How long one fetch and read may take.
const DEADLINE: Duration = Duration::from_secs(3);

/// One `Retry-After` a case's 503 carries: these bytes, or a date this many seconds from the
/// moment sent, in a form.
#[derive(Debug, Clone)]
enum Value {
    Bytes(Vec<u8>),
    At(DateForm, i64),
}

/// What the response says of when it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dated {
    /// A `Date` of the moment sent.
    Yes,
    No,
    /// A `Date` that is no date: a reader that trusts it must fall back on its own clock.
    Unreadable,
}

#[derive(Debug, Clone)]
struct Case {
    values: Vec<Value>,
    dated: Dated,
    expect: Expect,
}

impl Case {
    /// `Retry-After: 3\xff0`, `Retry-After: Rfc850 +120 s, no Date`.
    fn shown(&self) -> String {
        let values: Vec<String> = self
            .values
            .iter()
            .map(|value| match value {
                Value::Bytes(bytes) => format!("Retry-After: {}", bytes.escape_ascii()),
                Value::At(form, offset) => format!("Retry-After: {form:?} {offset:+} s"),
            })
            .collect();
        let shown = if values.is_empty() { "no Retry-After".into() } else { values.join(" and ") };
        match self.dated {
            Dated::Yes => shown,
            Dated::No => format!("{shown}, no Date"),
            Dated::Unreadable => format!("{shown}, Date: {UNREADABLE_DATE}"),
        }
    }
}

#[rustfmt::skip]
fn cases(rng: &mut Rng) -> Vec<Case> {
    let text = |text: &str| Value::Bytes(text.as_bytes().to_vec());
    let none = Expect::is(None);
    let (seconds, first, second) = (rng.u64(1..100_000), rng.u64(1..600), rng.u64(600..1200));
    let ahead = rng.i64(30..3600);
    let mut cases: Vec<(Vec<Value>, Expect)> = vec![
        (vec![text(&seconds.to_string())], Expect::seconds(seconds)),
        (vec![text("0")], Expect::seconds(0)),
        (vec![text("soon")], none.clone()), (vec![text("30s")], none.clone()),
        (vec![text("-1")], none.clone()), (vec![text(&format!("+{seconds}"))], none.clone()),
        (vec![text("1e30")], none.clone()), (vec![text("٣٠")], none.clone()),
        (vec![Value::Bytes(b"3\xff0".to_vec())], none.clone()),
        (vec![text("99999999999999999999999")], Expect::AtLeast(Duration::from_secs(u64::MAX))),
        (vec![], none.clone()),
        // Two values, the shorter first and then the longer first: the first, or neither (a
        // reader of the last, the longest or the shortest reads one of them wrongly).
        (vec![text(&first.to_string()), text(&second.to_string())],
            Expect::OneOf(vec![None, Some(Duration::from_secs(first))])),
        (vec![text(&second.to_string()), text(&first.to_string())],
            Expect::OneOf(vec![None, Some(Duration::from_secs(second))])),
        // The first unreadable: no value either way (a reader of the first that parses takes
        // the second).
        (vec![text("soon"), text(&first.to_string())], none.clone()),
        // Whitespace outside ASCII around digits: not visible ASCII, so no value.
        (vec![Value::Bytes([seconds.to_string().as_bytes(), "\u{a0}".as_bytes()].concat())], none.clone()),
        (vec![Value::Bytes(["\u{3000}".as_bytes(), seconds.to_string().as_bytes()].concat())], none),
        (vec![Value::At(DateForm::ImfFixdate, -3600)], Expect::seconds(0)),
    ];
    let about = Expect::About(Duration::from_secs(ahead.unsigned_abs()));
    cases.extend(DateForm::ALL.map(|form| (vec![Value::At(form, ahead)], about.clone())));
    let mut cases: Vec<Case> =
        cases.into_iter().map(|(values, expect)| Case { values, dated: Dated::Yes, expect }).collect();
    // The dates ahead again, without a Date and with one that is no date: measured from the
    // learner's clock, then.
    let ahead: Vec<Case> = cases.iter().filter(|case| matches!(case.values[..], [Value::At(_, 1..)]))
        .cloned().collect();
    for dated in [Dated::No, Dated::Unreadable] {
        cases.extend(ahead.iter().map(|case| Case { dated, ..case.clone() }));
    }
    rng.shuffle(&mut cases);
    cases
}

pub(super) async fn judge(learner: &Learner, rng: &mut Rng) -> Result<Option<Failure>, Lost> {
    let cases = cases(rng);
    let prefix = seed::token(rng, 8);
    let answered = cases.clone();
    let upstream = Upstream::start(move |seen: &Seen| answer(&answered, seen)).await;
    let mut rows = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let call = Call::RetryAfter { url: format!("{}/{prefix}/{index}", upstream.base) };
        let read: Result<Result<_, String>, String> =
            returned(learner.call("retry_after(&response)", &call, DEADLINE).await?);
        let got = read.and_then(|read| read.map_err(|problem| format!("(no response: {problem})")));
        let ok = got.as_ref().is_ok_and(|got| case.expect.accepts(*got));
        let got = got.map_or_else(|problem| problem, shown);
        rows.push(Row { cells: vec![case.shown(), case.expect.shown(), got], ok });
    }
    let wrong = rows.iter().filter(|row| !row.ok).count();
    Ok((wrong > 0).then(|| {
        Failure::of(format!("{wrong} of {} responses read wrongly", rows.len()))
            .with_rows(&["the 503 carried", "expected", "got"], rows)
    }))
}

/// The 503 of the case the path names, written as it is (bytes that are not ASCII included).
fn answer(cases: &[Case], seen: &Seen) -> Reply {
    let index = seen.path().rsplit('/').next().and_then(|index| index.parse::<usize>().ok());
    let Some(case) = index.and_then(|index| cases.get(index)) else { return Reply::status(404) };
    let now = Civil::now();
    let mut head = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n".to_vec();
    match case.dated {
        Dated::Yes => head.extend(
            format!("date: {}\r\n", now.format(DateForm::ImfFixdate, now.weekday())).bytes(),
        ),
        Dated::No => {}
        Dated::Unreadable => head.extend(format!("date: {UNREADABLE_DATE}\r\n").bytes()),
    }
    for value in &case.values {
        let value = match value {
            Value::Bytes(bytes) => bytes.clone(),
            Value::At(form, offset) => {
                let at = Civil::of(now.at() + offset);
                at.format(*form, at.weekday()).into_bytes()
            }
        };
        head.extend([b"retry-after: ".as_slice(), &value, b"\r\n"].concat());
    }
    head.extend(b"connection: close\r\n\r\n");
    Reply::Raw(head)
}
