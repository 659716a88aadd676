//! Lesson 1, the generic 500: reference solution.
//!
//! Every fault the client can do nothing about becomes one fixed answer. The details (which
//! query failed, on which host, why, on which path) go to the server log, where the team can
//! read them; credentials go nowhere, not even there.

use std::any::Any;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, DbError, Order};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

pub fn app(db: Database) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/orders/{id}", get(order))
        .route("/reports/{id}", get(report))
        .with_state(db)
        // Wraps every route above: a panic becomes an answer instead of a dropped connection,
        // and the server goes on serving other requests.
        .layer(CatchPanicLayer::custom(answer_panic))
        // Outermost, so that every log line of a request, a panic's included, carries its method
        // and path. The span records no headers, so no credential reaches the log; it is made at
        // INFO, the level logs usually keep. The layer's own "response failed" line is off: each
        // failure is logged once, where it is understood.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_failure(()),
        )
}

async fn health() -> &'static str {
    "ok"
}

async fn order(State(db): State<Database>, Path(id): Path<u32>) -> Result<Json<Order>, AppError> {
    // `?` turns a `DbError` into an `AppError` through the `From` impl below.
    let order = db.find_order(id)?.ok_or(AppError::NotFound)?;
    Ok(Json(order))
}

async fn report(State(db): State<Database>, Path(id): Path<u32>) -> String {
    db.render_report(id)
}

/// Everything a handler can fail with, and the one place that decides what a client sees.
#[derive(Debug)]
enum AppError {
    /// The client asked for something that does not exist: its mistake, a 4xx.
    NotFound,
    /// Ours: a 5xx, whose details the client must never see.
    Database(DbError),
}

impl From<DbError> for AppError {
    fn from(error: DbError) -> Self {
        Self::Database(error)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => {
                let body = json!({"error": {"code": "NOT_FOUND", "message": "No such order"}});
                (StatusCode::NOT_FOUND, Json(body)).into_response()
            }
            Self::Database(error) => {
                // Field by field, for the team: which query, on which host, why. Not the error's
                // own text: like some real drivers' errors, it quotes the connection string,
                // password included, and a log is no place for a password.
                tracing::error!(
                    query = error.query_id(),
                    host = error.host(),
                    reason = error.reason(),
                    "order lookup failed"
                );
                internal_error()
            }
        }
    }
}

fn answer_panic(payload: Box<dyn Any + Send + 'static>) -> Response {
    // A panic's payload is usually a `&str` or a `String`: its message, for the log only.
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a handler panicked");
    internal_error()
}

/// The generic 500: the same for every fault, so it gives nothing away.
fn internal_error() -> Response {
    let body =
        json!({"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
