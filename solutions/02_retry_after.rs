//! Lesson 2, 503 and Retry-After: reference solution.
//!
//! The server says "not now, come back in 30 s" while its database cannot be reached, and tells
//! that apart from a bug by the error the query returns; the client reads the hint in every
//! form HTTP allows, and refuses to guess when it cannot read it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{DATE, RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, DbErrorKind};
use serde_json::json;

/// How long clients should stay away while the database is unreachable: long enough for a
/// restart or a failover, short enough that nobody waits long once it is back.
const RETRY_AFTER_SECONDS: &str = "30";

pub fn app(db: Database) -> Router {
    Router::new().route("/orders/{id}", get(order)).with_state(db)
}

async fn order(State(db): State<Database>, Path(id): Path<u32>) -> Response {
    // The query's own error says what happened; a health flag read beforehand could be stale by
    // the time the query runs.
    let error = match db.find_order(id) {
        Ok(Some(order)) => return Json(order).into_response(),
        Ok(None) => {
            let body = json!({"error": {"code": "NOT_FOUND", "message": "No such order"}});
            return (StatusCode::NOT_FOUND, Json(body)).into_response();
        }
        Err(error) => error,
    };
    // Its fields, not its text: the text quotes the connection string, password included.
    let (query, host, reason) = (error.query_id(), error.host(), error.reason());
    match error.kind() {
        // Nothing ran, and the database may be back soon: alive but unable to serve.
        DbErrorKind::Unavailable => {
            tracing::warn!(query, host, reason, "order database unavailable");
            let body = json!({"error": {
                "code": "SERVICE_UNAVAILABLE",
                "message": "The order database is unavailable; try again later"
            }});
            (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, RETRY_AFTER_SECONDS)], Json(body))
                .into_response()
        }
        // The query ran and failed: a fault we did not foresee, so lesson 1's generic 500.
        DbErrorKind::Query => {
            tracing::error!(query, host, reason, "order lookup failed");
            let body = json!({"error": {
                "code": "INTERNAL_ERROR",
                "message": "An unexpected error occurred"
            }});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// Reads a `Retry-After` value (RFC 9110 §10.2.3) as a wait from `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    // Whitespace around a field value is not part of it (§5.5): spaces and tabs.
    let value = value.trim_matches([' ', '\t']);
    // delay-seconds = 1*DIGIT. Check the digits first: `u64::from_str` alone accepts "+5".
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        // More seconds than a u64 holds is the longest wait there is, not "no hint": None would
        // send the client back at once (RFC 9111 §1.2.2 saturates delta-seconds the same way).
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    // Otherwise an HTTP-date. Of its three forms, only RFC 850's has dashes. `httpdate` checks
    // the names, the ranges, leap days and the weekday, and rejects zones other than GMT. It
    // rejects lower case too, which RFC 9110 lets a recipient accept: stricter than it must be,
    // and still correct; and years before 1970, long past anyway.
    let date = if value.contains('-') {
        rfc850_date(value, now)?
    } else {
        httpdate::parse_http_date(value).ok()?
    };
    // A date already past means "now".
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`. `httpdate` reads this form too, but puts every two-digit
/// year in 1970–2069, a window that matched RFC 9110 §5.6.7 in 2019 only: the RFC reads the
/// year from now, and a moment that would be more than 50 years ahead is in the last past year
/// with those digits. So the century is chosen here, and `httpdate` checks the rest, as the
/// IMF-fixdate the value stands for.
fn rfc850_date(value: &str, now: SystemTime) -> Option<SystemTime> {
    const WEEKDAYS: [&str; 7] =
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let (weekday, rest) = value.split_once(", ")?;
    let (date, time) = rest.split_once(' ')?;
    let [day, month, year] = date.split('-').collect::<Vec<_>>()[..] else { return None };
    if !WEEKDAYS.contains(&weekday) || year.len() != 2 || !year.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let year = year_ending_in(year.parse().ok()?, (month, day, time), now)?;
    httpdate::parse_http_date(&format!("{}, {day} {month} {year} {time}", &weekday[..3])).ok()
}

/// The latest year ending in `two_digits` in which the moment `(month, day, time)` is not more
/// than 50 years after `now`, counted in calendar years, to the second.
fn year_ending_in(
    two_digits: u16,
    (month, day, time): (&str, &str, &str),
    now: SystemTime,
) -> Option<u16> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    // `fmt_http_date` panics from the year 10000 on, where no date can be ahead anyway.
    if now.duration_since(UNIX_EPOCH).ok()?.as_secs() >= 253_402_300_800 {
        return None;
    }
    // Now's own fields, from its IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    let today = httpdate::fmt_http_date(now);
    let (this_month, this_year) = (&today[8..11], today[12..16].parse::<u16>().ok()?);
    let month_of = |name| MONTHS.iter().position(|month| *month == name);
    let latest = this_year + 50;
    let year = latest - (latest - two_digits) % 100;
    // Two-digit days and `hh:mm:ss` times compare as text; `httpdate` rejects any other.
    let later_in_the_year =
        (month_of(month)?, day, time) > (month_of(this_month)?, &today[5..7], &today[17..25]);
    Some(if year == latest && later_in_the_year { year - 100 } else { year })
}

/// The wait a response asks for, if it asks for one we can read.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let headers = response.headers();
    // `to_str` fails on bytes that are not visible ASCII: an unreadable hint is no hint.
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    // A date is measured from the moment the server says it sent the response (`Date`), by its
    // own clock: how far our clock is off from the server's then cancels out. Without a Date we
    // can read, from our own clock.
    let sent =
        headers.get(DATE).and_then(|date| httpdate::parse_http_date(date.to_str().ok()?).ok());
    parse_retry_after(value, sent.unwrap_or_else(SystemTime::now))
}
