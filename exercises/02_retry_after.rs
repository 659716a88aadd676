//! Lesson 2, 503 and Retry-After.
//!
//! Read the lesson with `cargo run -- lesson 2`; check your work with `cargo run -- check 2`.
//! Keep the three signatures: the checks call them.

use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::Database;
use serde_json::json;

pub fn app(db: Database) -> Router {
    Router::new().route("/orders/{id}", get(order)).with_state(db)
}

async fn order(State(db): State<Database>, Path(id): Path<u32>) -> Response {
    match db.find_order(id) {
        Ok(Some(order)) => Json(order).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        // TODO: every failed query answers like a bug, even when the database could not be
        //       reached at all. Then, tell clients the service is unavailable, and when to come
        //       back (30 seconds is a good wait), with the JSON error body the lesson describes.
        Err(error) => {
            tracing::error!(
                query = error.query_id(),
                reason = error.reason(),
                "order lookup failed"
            );
            let body = json!({"error": {
                "code": "INTERNAL_ERROR",
                "message": "An unexpected error occurred"
            }});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// Reads a `Retry-After` value as a wait from `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    // TODO: this accepts some values that are not delay-seconds, trips over whitespace, gives
    //       up on numbers too large for a u64, and knows nothing of HTTP-dates (three forms of
    //       them, measured from `now`, whatever year it is).
    let _ = now;
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// The wait a response asks for, if it asks for one we can read.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    // TODO: read the response's Retry-After header, if it has one, and parse it as of now.
    let _ = response;
    None
}
