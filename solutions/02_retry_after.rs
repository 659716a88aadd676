//! Lesson 2, 503 and Retry-After: reference solution.
//!
//! The server says "not now, come back in 30 s" while its database is down; the client reads
//! that hint in every form HTTP allows, and refuses to guess when it cannot read it.

use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::Database;
use serde_json::json;

/// How long clients should stay away while the database is down: long enough for a restart
/// or a failover, short enough that nobody waits long once it is back.
const RETRY_AFTER_SECONDS: &str = "30";

pub fn app(db: Database) -> Router {
    Router::new().route("/orders/{id}", get(order)).with_state(db)
}

async fn order(State(db): State<Database>, Path(id): Path<u32>) -> Response {
    // Alive but unable to serve: say so before trying, instead of failing the query.
    if db.is_down() {
        let body = json!({"error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "The order database is unavailable; try again later"
        }});
        return (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, RETRY_AFTER_SECONDS)], Json(body))
            .into_response();
    }
    match db.find_order(id) {
        Ok(Some(order)) => Json(order).into_response(),
        Ok(None) => {
            let body = json!({"error": {"code": "NOT_FOUND", "message": "No such order"}});
            (StatusCode::NOT_FOUND, Json(body)).into_response()
        }
        // A failure we did not foresee is still lesson 1's generic 500.
        Err(error) => {
            tracing::error!(%error, "order lookup failed");
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
    // Otherwise an HTTP-date, in any of its three forms. `httpdate` checks the names, the
    // ranges and the weekday, and rejects zones other than GMT. It also rejects lower case,
    // which RFC 9110 lets a recipient accept: stricter than it must be, and still correct.
    let date = httpdate::parse_http_date(value).ok()?;
    // A date already past means "now".
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait a response asks for, if it asks for one we can read.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    // `to_str` fails on bytes that are not visible ASCII: an unreadable hint is no hint.
    parse_retry_after(value.to_str().ok()?, SystemTime::now())
}
