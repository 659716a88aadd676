//! Judges lesson 2's route: 503 with a JSON error and one readable `Retry-After` while the
//! database is down, back to normal the moment it is up, across down–up–down–up.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::json;

use super::dates;
use crate::judge::answer::{Answer, Shown, error_problem, expected_error};
use crate::judge::{Evidence, Failure};
use httplings::fixtures::Order;

/// One request, with when it was sent and whether the database was down at the time.
#[derive(Debug)]
pub(super) struct Asked {
    pub(super) path: String,
    pub(super) sent: SystemTime,
    pub(super) down: bool,
    /// The order the request names, when it exists.
    pub(super) order: Option<Order>,
    pub(super) answer: Result<Answer, String>,
}

/// Every answer while down is a 503 whose body says "service unavailable" in JSON: the course's
/// error object (extra fields welcome) or an RFC 9457 problem with `"status": 503`.
pub(super) fn unavailable(asked: &[Asked]) -> Option<Failure> {
    let unavailable =
        |answer| error_problem(answer, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    let (request, problem) = asked
        .iter()
        .filter(|asked| asked.down)
        .find_map(|asked| Some((asked, unavailable(&asked.answer)?)))?;
    let expected =
        expected_error(&request.answer, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    let actual = match &request.answer {
        Ok(answer) => Shown::of(answer, &["content-type"]).media_type_shown_as("application/json"),
        Err(what_happened) => Shown::missing(what_happened),
    };
    Some(
        Failure::new(
            format!("GET {} while the database is down: {problem}", request.path),
            "A 503 tells clients the server is alive but cannot serve right now, so they should \
             come back later. A 500 says \"bug\", and a client cannot tell when that will be fixed. \
             (An RFC 9457 application/problem+json body with \"status\": 503 is fine too.)",
        )
        .with(Evidence::Diff { expected: expected.render(), actual: actual.render() }),
    )
}

/// Every 503 carries exactly one `Retry-After`: whole seconds, at least 1, or an IMF-fixdate
/// still to come.
pub(super) fn retry_after(asked: &[Asked]) -> Option<Failure> {
    let (request, problem, sent) = asked.iter().filter(|asked| asked.down).find_map(|asked| {
        let answer = asked.answer.as_ref().ok()?;
        let sent: Vec<String> = answer
            .headers
            .get_all("retry-after")
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        Some((asked, retry_after_problem(&sent, asked.sent)?, sent))
    })?;
    let actual = if sent.is_empty() {
        "retry-after: (not sent)\n".to_string()
    } else {
        sent.iter().map(|value| format!("retry-after: {value}\n")).collect()
    };
    Some(
        Failure::new(
            format!("GET {}: {problem}", request.path),
            "Without Retry-After every client guesses when to come back, and many guess \"right \
             now\". Send delay-seconds, digits only (`30`, not `30s`), and at least 1: a 0 \
             invites the instant retry storm a 503 is meant to prevent.",
        )
        .with(Evidence::Diff { expected: "retry-after: <seconds, e.g. 30>\n".into(), actual }),
    )
}

fn retry_after_problem(values: &[String], sent: SystemTime) -> Option<String> {
    let [value] = values else {
        return Some(match values.len() {
            0 => "the 503 has no Retry-After".into(),
            count => {
                format!("the 503 has {count} Retry-After headers: one, or none, is all HTTP allows")
            }
        });
    };
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return match value.parse::<u64>() {
            Ok(0) => Some("Retry-After: 0 asks every client to come back at once".into()),
            Ok(_) => None,
            Err(_) => Some(format!("Retry-After: {value} is more seconds than any clock holds")),
        };
    }
    if dates::is_imf_fixdate(value) {
        let at = httpdate::parse_http_date(value).ok()?;
        let sent_second = sent.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
        return (at < dates::seconds(sent_second) + Duration::from_secs(1))
            .then(|| format!("Retry-After: {value} is not in the future"));
    }
    if httpdate::parse_http_date(value).is_ok() {
        return Some(format!(
            "Retry-After: {value} is an obsolete date form: a sender must write an IMF-fixdate"
        ));
    }
    Some(format!("Retry-After: {value} is neither delay-seconds nor an HTTP-date"))
}

/// Every answer while up is what it was before the outage: the order as JSON, or a 404.
pub(super) fn back_up(asked: &[Asked]) -> Option<Failure> {
    let request = asked.iter().filter(|asked| !asked.down).find(|asked| {
        match (&asked.order, &asked.answer) {
            (Some(order), Ok(answer)) => {
                answer.status != StatusCode::OK
                    || answer.media_type().as_deref() != Some("application/json")
                    || answer.json() != Some(json!(order))
            }
            (None, Ok(answer)) => answer.status != StatusCode::NOT_FOUND,
            (_, Err(_)) => true,
        }
    })?;
    let expected = match &request.order {
        Some(order) => Shown::status(StatusCode::OK)
            .header("content-type", "application/json")
            .json(&json!(order)),
        None => Shown::status(StatusCode::NOT_FOUND),
    };
    let actual = match (&request.answer, &request.order) {
        (Ok(answer), Some(_)) => {
            Shown::of(answer, &["content-type"]).media_type_shown_as("application/json")
        }
        (Ok(answer), None) => Shown::of(answer, &[]).without_body(),
        (Err(what_happened), _) => Shown::missing(what_happened),
    };
    Some(
        Failure::new(
            format!(
                "GET {} after the database came back did not answer as before the outage",
                request.path
            ),
            "503 is for while the dependency is down: once it is back, answer normally. A server \
             that keeps saying 503 (or remembers the outage) turns a short outage into a long one.",
        )
        .with(Evidence::Diff { expected: expected.render(), actual: actual.render() }),
    )
}
