//! Judges `retry_after` on real responses: the judge's upstream answers 503 with every kind of
//! `Retry-After` (and none, and two, and bytes that are not ASCII), with a `Date` of the moment
//! sent (or none); the learner's process fetches each, and its `retry_after` reads the response.
//! A date may be measured from that `Date` or from the learner's clock: both are right.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::cases::{Expect, shown};
use super::dates::{Civil, DateForm};
use super::{Call, rows_failure};
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{Reply, Seen, Upstream};
use crate::judge::{Failure, Learner, Lost, Returned, Row};

/// How long one fetch and read may take.
const DEADLINE: Duration = Duration::from_secs(3);

/// What a case's 503 carries.
#[derive(Debug, Clone)]
enum Sent {
    Values(Vec<Vec<u8>>),
    /// A date this many seconds from the moment sent, in a form.
    At(DateForm, i64),
}

#[derive(Debug, Clone)]
struct Case {
    shown: String,
    sent: Sent,
    /// Whether the response says when it was sent (`Date`).
    dated: bool,
    expect: Expect,
}

fn cases(rng: &mut Rng) -> Vec<Case> {
    let value = |shown: &str, bytes: &[u8], expect| Case {
        shown: format!("Retry-After: {shown}"),
        sent: Sent::Values(vec![bytes.to_vec()]),
        dated: true,
        expect,
    };
    let seconds = rng.u64(1..100_000);
    let (first, second) = (rng.u64(1..600), rng.u64(600..1200));
    let mut cases = vec![
        value(&seconds.to_string(), seconds.to_string().as_bytes(), Expect::seconds(seconds)),
        value("0", b"0", Expect::seconds(0)),
        value("soon", b"soon", Expect::is(None)),
        value("30s", b"30s", Expect::is(None)),
        value("-1", b"-1", Expect::is(None)),
        value(&format!("+{seconds}"), format!("+{seconds}").as_bytes(), Expect::is(None)),
        value("1e30", b"1e30", Expect::is(None)),
        value("3\\xff0 (not ASCII)", b"3\xff0", Expect::is(None)),
        value("٣٠ (Arabic-Indic digits)", "٣٠".as_bytes(), Expect::is(None)),
        value(
            "99999999999999999999999",
            b"99999999999999999999999",
            Expect::AtLeast(Duration::from_secs(u64::MAX)),
        ),
        Case {
            shown: "no Retry-After at all".into(),
            sent: Sent::Values(Vec::new()),
            dated: true,
            expect: Expect::is(None),
        },
        Case {
            shown: format!("two: Retry-After: {first} and Retry-After: {second}"),
            sent: Sent::Values(vec![
                first.to_string().into_bytes(),
                second.to_string().into_bytes(),
            ]),
            dated: true,
            expect: Expect::OneOf(vec![
                None,
                Some(Duration::from_secs(first)),
                Some(Duration::from_secs(second)),
            ]),
        },
    ];
    let ahead = rng.i64(30..3600);
    for (form, name) in
        DateForm::ALL.into_iter().zip(["an IMF-fixdate", "an RFC 850 date", "an asctime date"])
    {
        for dated in [true, false] {
            let without = if dated { "" } else { ", no Date" };
            cases.push(Case {
                shown: format!("Retry-After: {name} {ahead} s ahead{without}"),
                sent: Sent::At(form, ahead),
                dated,
                expect: Expect::About(Duration::from_secs(ahead.unsigned_abs())),
            });
        }
    }
    cases.push(Case {
        shown: "Retry-After: an IMF-fixdate an hour ago".into(),
        sent: Sent::At(DateForm::ImfFixdate, -3600),
        dated: true,
        expect: Expect::seconds(0),
    });
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
        let returned: Returned<Result<Option<Duration>, String>> =
            learner.call("retry_after(&response)", &call, DEADLINE).await?;
        let (ok, got) = match returned {
            Returned::Value(Ok(got)) => (case.expect.accepts(got), shown(got)),
            Returned::Value(Err(problem)) => (false, format!("(no response: {problem})")),
            Returned::Panicked(message) => (false, format!("panicked: {message}")),
            Returned::TimedOut(limit) => {
                (false, format!("still running after {} s", limit.as_secs()))
            }
        };
        rows.push(Row { cells: vec![case.shown.clone(), case.expect.shown(), got], ok });
    }
    let columns = ["the 503 carried", "expected", "got"];
    Ok(rows_failure(rows, &columns, "responses read wrongly", "retry_after panicked", None))
}

/// The 503 of the case the path names, written as it is (bytes that are not ASCII included).
fn answer(cases: &[Case], seen: &Seen) -> Reply {
    let index = seen.path().rsplit('/').next().and_then(|index| index.parse::<usize>().ok());
    let Some(case) = index.and_then(|index| cases.get(index)) else { return Reply::status(404) };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let values = match &case.sent {
        Sent::Values(values) => values.clone(),
        Sent::At(form, offset) => {
            let at = Civil::of(now + offset);
            vec![at.format(*form, at.weekday()).into_bytes()]
        }
    };
    let mut head =
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n".to_vec();
    if case.dated {
        let date = Civil::of(now);
        head.extend(
            format!("date: {}\r\n", date.format(DateForm::ImfFixdate, date.weekday())).bytes(),
        );
    }
    for value in values {
        head.extend(b"retry-after: ");
        head.extend(value);
        head.extend(b"\r\n");
    }
    head.extend(b"\r\n");
    Reply::Raw(head)
}
