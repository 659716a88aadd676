//! Judges `retry_after` on real responses: a server of the judge's answers 503 with every kind
//! of `Retry-After` (and none, and two), the learner's process fetches each, and its
//! `retry_after` reads the response.

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::dates::{self, DateForm};
use super::expect::{Expect, shown};
use super::{Call, Reply};
use crate::judge::seed::{self, Rng};
use crate::judge::{Evidence, Failure, Learner, Lost, Returned, Row};

const DEADLINE: Duration = Duration::from_secs(3);

/// What the judge's server sends with a case's 503.
#[derive(Debug, Clone)]
enum Sent {
    Values(Vec<Vec<u8>>),
    /// A date this many seconds ahead of the moment of sending.
    DateAhead(DateForm, u64),
}

#[derive(Debug, Clone)]
struct Case {
    shown: String,
    sent: Sent,
    expect: Expect,
}

fn value(shown: impl Into<String>, bytes: &[u8], expect: Expect) -> Case {
    Case { shown: shown.into(), sent: Sent::Values(vec![bytes.to_vec()]), expect }
}

fn cases(rng: &mut Rng) -> Vec<Case> {
    let seconds = rng.u64(1..100_000);
    let (first, second) = (rng.u64(1..600), rng.u64(600..1200));
    let ahead = rng.u64(30..3600);
    let mut cases = vec![
        value(
            format!("Retry-After: {seconds}"),
            seconds.to_string().as_bytes(),
            Expect::seconds(seconds),
        ),
        value("Retry-After: 0", b"0", Expect::seconds(0)),
        value(
            "Retry-After: a date an hour ago",
            dates::format(DateForm::ImfFixdate, SystemTime::now() - Duration::from_secs(3600))
                .as_bytes(),
            Expect::seconds(0),
        ),
        value("Retry-After: soon", b"soon", Expect::Is(None)),
        value("Retry-After: 30s", b"30s", Expect::Is(None)),
        value("Retry-After: -1", b"-1", Expect::Is(None)),
        value(
            format!("Retry-After: +{seconds}"),
            format!("+{seconds}").as_bytes(),
            Expect::Is(None),
        ),
        value("Retry-After: inf", b"inf", Expect::Is(None)),
        value("Retry-After: 1e30", b"1e30", Expect::Is(None)),
        value("Retry-After: 3\\xff0 (not ASCII)", b"3\xff0", Expect::Is(None)),
        value("Retry-After: ٣٠ (Arabic-Indic digits)", "٣٠".as_bytes(), Expect::Is(None)),
        value(
            "Retry-After: 99999999999999999999999",
            b"99999999999999999999999",
            Expect::AtLeast(Duration::from_secs(u64::MAX)),
        ),
        Case {
            shown: "no Retry-After at all".into(),
            sent: Sent::Values(Vec::new()),
            expect: Expect::Is(None),
        },
        Case {
            shown: format!("two: Retry-After: {first} and Retry-After: {second}"),
            sent: Sent::Values(vec![
                first.to_string().into_bytes(),
                second.to_string().into_bytes(),
            ]),
            expect: Expect::OneOf(vec![
                None,
                Some(Duration::from_secs(first)),
                Some(Duration::from_secs(second)),
            ]),
        },
    ];
    for form in DateForm::ALL {
        cases.push(Case {
            shown: format!("Retry-After: an {} date {ahead} s ahead", form.name()),
            sent: Sent::DateAhead(form, ahead),
            expect: Expect::About(Duration::from_secs(ahead)),
        });
    }
    rng.shuffle(&mut cases);
    cases
}

pub(super) async fn judge(learner: &Learner, rng: &mut Rng) -> Result<Option<Failure>, Lost> {
    let cases = cases(rng);
    let prefix = seed::token(rng, 8);
    let base = serve(cases.clone(), &prefix).await;
    let mut rows = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let call = Call::RetryAfter { url: format!("{base}/{prefix}/{index}") };
        let (ok, got) = match learner.call("retry_after(&response)", &call, DEADLINE).await? {
            Returned::Value(Reply::Read(Ok(got))) => (case.expect.accepts(got), shown(got)),
            Returned::Value(Reply::Read(Err(problem))) => {
                (false, format!("(no response: {problem})"))
            }
            Returned::Value(_) => (false, "(an unexpected reply)".into()),
            Returned::Panicked(message) => (false, format!("panicked: {message}")),
            Returned::TimedOut(limit) => {
                (false, format!("still running after {} s", limit.as_secs()))
            }
        };
        rows.push(Row { cells: vec![case.shown.clone(), case.expect.shown(), got], ok });
    }
    let wrong = rows.iter().filter(|row| !row.ok).count();
    if wrong == 0 {
        return Ok(None);
    }
    let columns = ["the 503 carried", "expected", "got"].map(String::from).to_vec();
    let mut failure = Failure::new(
        format!("{wrong} of {} responses read wrongly", rows.len()),
        "Header values are bytes from the network: a client must read every legal form and \
         survive every illegal one without panicking, because a panic here takes your client \
         down exactly when the server is already in trouble.",
    );
    // A table cell is short: the first panic is shown whole, with where it happened.
    if let Some(panic) = rows.iter().find_map(|row| {
        Some(format!(
            "with {}: retry_after panicked: {}",
            row.cells[0],
            row.cells[2].strip_prefix("panicked: ")?
        ))
    }) {
        failure = failure.with(Evidence::Text { title: "the first panic".into(), body: panic });
    }
    Ok(Some(failure.with(Evidence::Table { columns, rows })))
}

/// Serves the cases on the judge's side, at `/{prefix}/{index}`.
async fn serve(cases: Vec<Case>, prefix: &str) -> String {
    let router =
        Router::new().route(&format!("/{prefix}/{{index}}"), get(answer)).with_state(cases);
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("a loopback port for the judge");
    let base =
        format!("http://{}", listener.local_addr().expect("a bound listener has an address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

async fn answer(State(cases): State<Vec<Case>>, Path(index): Path<usize>) -> Response {
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    let values = match cases.get(index).map(|case| &case.sent) {
        Some(Sent::Values(values)) => values.clone(),
        Some(Sent::DateAhead(form, seconds)) => {
            vec![
                dates::format(*form, SystemTime::now() + Duration::from_secs(*seconds))
                    .into_bytes(),
            ]
        }
        None => Vec::new(),
    };
    for value in values {
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            response.headers_mut().append("retry-after", value);
        }
    }
    response
}
