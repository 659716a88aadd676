//! The client part of lesson 2: a local server answers 503 with every kind of `Retry-After`,
//! and the learner's `retry_after` reads each real response.

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::shown_duration;
use crate::harness::{self, ANSWER_TIMEOUT};
use crate::protocol::{Evidence, Failure, Row, Verdict};

/// Dates are written in whole seconds and read a moment later: allow for both.
const CLOCK_SLACK: Duration = Duration::from_secs(2);

/// What the server sends, and what `retry_after` must make of it.
#[derive(Debug, Clone, Copy)]
enum Sent {
    Value(&'static [u8]),
    /// A date this far ahead of the moment of sending, in one of the three forms.
    DateAhead(DateForm, u64),
    /// An IMF-fixdate this far in the past.
    DateAgo(u64),
    Nothing,
}

#[derive(Debug, Clone, Copy)]
enum DateForm {
    ImfFixdate,
    Rfc850,
    Asctime,
}

const CASES: &[(&str, Sent, Option<u64>)] = &[
    ("Retry-After: 120", Sent::Value(b"120"), Some(120)),
    ("Retry-After: 0", Sent::Value(b"0"), Some(0)),
    ("Retry-After: an IMF-fixdate 60 s ahead", Sent::DateAhead(DateForm::ImfFixdate, 60), Some(60)),
    ("Retry-After: an RFC 850 date 60 s ahead", Sent::DateAhead(DateForm::Rfc850, 60), Some(60)),
    ("Retry-After: an asctime date 60 s ahead", Sent::DateAhead(DateForm::Asctime, 60), Some(60)),
    ("Retry-After: a date an hour ago", Sent::DateAgo(3600), Some(0)),
    ("Retry-After: soon", Sent::Value(b"soon"), None),
    ("Retry-After: 30s", Sent::Value(b"30s"), None),
    ("Retry-After: 3\\xff0 (not ASCII)", Sent::Value(b"3\xff0"), None),
    ("no Retry-After at all", Sent::Nothing, None),
];

pub(super) async fn check(
    check: &str,
    retry_after: fn(&reqwest::Response) -> Option<Duration>,
) -> Verdict {
    let base = harness::serve(Router::new().route("/case/{index}", get(answer_case)));
    let client = harness::client(ANSWER_TIMEOUT);
    let mut rows = Vec::new();
    for (index, (shown, sent, expected)) in CASES.iter().enumerate() {
        let expected = expected.map(Duration::from_secs);
        let got = match client.get(format!("{base}/case/{index}")).send().await {
            Ok(response) => harness::catch(|| retry_after(&response))
                .map_err(|panic| format!("panicked: {panic}")),
            Err(error) => Err(format!("the test server did not answer: {error}")),
        };
        let on_the_clock = matches!(sent, Sent::DateAhead(..));
        let ok = got.as_ref().is_ok_and(|got| close_enough(*got, expected, on_the_clock));
        let expected_shown = match expected {
            Some(wait) if on_the_clock => format!("about {}", shown_duration(Some(wait))),
            _ => shown_duration(expected),
        };
        let got_shown = got.map_or_else(|problem| problem, shown_duration);
        rows.push(Row { cells: vec![(*shown).to_string(), expected_shown, got_shown], ok });
    }
    let wrong = rows.iter().filter(|row| !row.ok).count();
    if wrong == 0 {
        return Verdict::pass(check);
    }
    let columns = ["the 503 carried", "expected", "got"].map(String::from).to_vec();
    Verdict::fail(
        check,
        Failure::new(
            format!("{wrong} of {} responses read wrongly", rows.len()),
            "Header values are bytes from the network: a client must read every legal form and \
             survive every illegal one without panicking, because a panic here takes your \
             client down exactly when the server is already in trouble.",
        )
        .with(Evidence::Table { columns, rows }),
    )
}

/// A wait until a date depends on the clock: up to [`CLOCK_SLACK`] below the target passes.
fn close_enough(got: Option<Duration>, expected: Option<Duration>, on_the_clock: bool) -> bool {
    match (got, expected) {
        (Some(got), Some(expected)) if on_the_clock => {
            got <= expected && got + CLOCK_SLACK >= expected
        }
        (got, expected) => got == expected,
    }
}

async fn answer_case(Path(index): Path<usize>) -> Response {
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    let Some((_, sent, _)) = CASES.get(index) else {
        return response;
    };
    let value = match *sent {
        Sent::Value(bytes) => HeaderValue::from_bytes(bytes).ok(),
        Sent::DateAhead(form, seconds) => {
            date(form, SystemTime::now() + Duration::from_secs(seconds))
        }
        Sent::DateAgo(seconds) => {
            date(DateForm::ImfFixdate, SystemTime::now() - Duration::from_secs(seconds))
        }
        Sent::Nothing => None,
    };
    if let Some(value) = value {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

/// Writes `at` in one of the three HTTP-date forms, by rearranging the IMF-fixdate.
fn date(form: DateForm, at: SystemTime) -> Option<HeaderValue> {
    let imf = httpdate::fmt_http_date(at);
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let [weekday, day, month, year, time, _zone] =
        imf.split([' ', ',']).filter(|part| !part.is_empty()).collect::<Vec<_>>()[..]
    else {
        return None;
    };
    let text = match form {
        DateForm::ImfFixdate => imf.clone(),
        DateForm::Rfc850 => {
            format!("{}, {day}-{month}-{} {time} GMT", full_weekday(weekday), &year[2..])
        }
        DateForm::Asctime => {
            format!("{weekday} {month} {:>2} {time} {year}", day.trim_start_matches('0'))
        }
    };
    HeaderValue::from_str(&text).ok()
}

fn full_weekday(short: &str) -> &'static str {
    const DAYS: [&str; 7] =
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    DAYS.iter().find(|day| day.starts_with(short)).copied().unwrap_or("Sunday")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_three_date_forms_of_one_moment() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let shown = |form| date(form, at).unwrap().to_str().unwrap().to_string();
        assert_eq!(shown(DateForm::ImfFixdate), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(shown(DateForm::Rfc850), "Sunday, 06-Nov-94 08:49:37 GMT");
        assert_eq!(shown(DateForm::Asctime), "Sun Nov  6 08:49:37 1994");
    }
}
