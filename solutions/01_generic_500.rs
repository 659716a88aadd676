//! Lesson 1, the generic 500: reference solution.
//!
//! Every fault the client can do nothing about becomes one fixed answer. The details go to the
//! server log, where the team can read them and the client cannot.

use std::any::Any;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, DbError, Order};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

pub fn app(db: Database) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/orders/{id}", get(order))
        .route("/reports/{id}", get(report))
        .with_state(db)
        // Added last, so it wraps every route: a panic below becomes an answer instead of a
        // dropped connection, and the server goes on serving other requests.
        .layer(CatchPanicLayer::custom(answer_panic))
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
                // `%error` records the error's Display text: the connection string and all.
                tracing::error!(%error, "order lookup failed");
                internal_error()
            }
        }
    }
}

fn answer_panic(_panic: Box<dyn Any + Send + 'static>) -> Response {
    // The panic hook has already written the panic's message and location to stderr.
    tracing::error!("a handler panicked; answered with the generic 500");
    internal_error()
}

/// The generic 500: the same for every fault, so it gives nothing away.
fn internal_error() -> Response {
    let body =
        json!({"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
