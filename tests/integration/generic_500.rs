//! Lesson 1's checks against its solution, its starter, a differently written right answer,
//! and one known-wrong answer per mistake, each caught by the check written for it. (The log
//! check is settled by the runner from stderr: the `cli` tests prove it with the real binary.)

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::Recorder;
use httplings::fixtures::{Database, DbError};
use httplings::lessons::generic_500::{self, CHECKS, generic_500_body};
use httplings::protocol::Outcome;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::support::failed;

#[path = "../../solutions/01_generic_500.rs"]
mod solution;

#[path = "../../exercises/.starters/01_generic_500.rs"]
mod starter;

#[path = "../fixtures/01_eprintln_and_middleware.rs"]
mod eprintln_and_middleware;

const GENERIC_500: &str = CHECKS[0];
const NO_LEAK: &str = CHECKS[1];
const LOGGED: &str = CHECKS[2];
const PANIC_500: &str = CHECKS[3];
const MISSING_404: &str = CHECKS[5];

async fn checks(app: generic_500::App) -> Recorder {
    let mut recorder = Recorder::new();
    generic_500::run(app, &mut recorder).await;
    assert_eq!(recorder.verdicts().len(), CHECKS.len(), "every check reports");
    recorder
}

async fn failed_checks(app: generic_500::App) -> Vec<String> {
    failed(checks(app).await.verdicts()).into_iter().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_and_leaves_the_log_check_to_the_runner() {
    let recorder = checks(solution::app).await;
    assert_eq!(failed(recorder.verdicts()), Vec::<&str>::new());
    let log_check = recorder.verdicts().iter().find(|verdict| verdict.check == LOGGED).unwrap();
    assert!(
        matches!(&log_check.outcome, Outcome::LogMustContain { needle, .. } if needle.len() == 16)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_leaks_and_drops_panics() {
    assert_eq!(failed_checks(starter::app).await, [GENERIC_500, NO_LEAK, PANIC_500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_answer_in_another_style_passes() {
    assert_eq!(failed_checks(eprintln_and_middleware::app).await, Vec::<String>::new());
}

/// How an answer handles each fault; the right way, then one mistake per known-wrong answer.
#[derive(Clone, Copy)]
struct Handling {
    db_error: fn(DbError) -> Response,
    missing: fn() -> Response,
    panics: Panics,
}

#[derive(Clone, Copy)]
enum Panics {
    Unhandled,
    DefaultLayer,
    Generic,
}

const RIGHT: Handling =
    Handling { db_error: logged_generic_500, missing: not_found, panics: Panics::Generic };

fn serve_with(db: Database, handling: Handling) -> Router {
    let order = move |State(db): State<Database>, Path(id): Path<u32>| async move {
        match db.find_order(id) {
            Ok(Some(order)) => Json(order).into_response(),
            Ok(None) => (handling.missing)(),
            Err(error) => (handling.db_error)(error),
        }
    };
    let report =
        |State(db): State<Database>, Path(id): Path<u32>| async move { db.render_report(id) };
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/orders/{id}", get(order))
        .route("/reports/{id}", get(report))
        .with_state(db);
    match handling.panics {
        Panics::Unhandled => router,
        Panics::DefaultLayer => router.layer(CatchPanicLayer::new()),
        Panics::Generic => router.layer(CatchPanicLayer::custom(|_| generic_500())),
    }
}

fn generic_500() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Json(generic_500_body())).into_response()
}

fn logged_generic_500(error: DbError) -> Response {
    tracing::error!(%error, "order lookup failed");
    generic_500()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_handling_passes() {
    assert_eq!(failed_checks(|db| serve_with(db, RIGHT)).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaking_the_error_in_the_body_is_caught() {
    // The right shape, with the error's own text as the message.
    fn leaks(error: DbError) -> Response {
        let body = json!({"error": {"code": "INTERNAL_ERROR", "message": error.to_string()}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    let app = |db| serve_with(db, Handling { db_error: leaks, ..RIGHT });
    assert_eq!(failed_checks(app).await, [GENERIC_500, NO_LEAK]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaking_the_error_in_a_header_is_caught() {
    // A perfect body, and the error's text in a debugging header.
    fn leaks(error: DbError) -> Response {
        let mut response = generic_500();
        let detail = HeaderValue::from_str(&error.to_string()).unwrap();
        response.headers_mut().insert("x-debug-error", detail);
        response
    }
    let app = |db| serve_with(db, Handling { db_error: leaks, ..RIGHT });
    assert_eq!(failed_checks(app).await, [NO_LEAK]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_json_as_text_plain_is_caught() {
    fn as_text(_: DbError) -> Response {
        let body = generic_500_body().to_string();
        (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], body)
            .into_response()
    }
    let app = |db| serve_with(db, Handling { db_error: as_text, ..RIGHT });
    assert_eq!(failed_checks(app).await, [GENERIC_500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_json_with_200_is_caught() {
    fn as_success(_: DbError) -> Response {
        Json(generic_500_body()).into_response()
    }
    let app = |db| serve_with(db, Handling { db_error: as_success, ..RIGHT });
    assert_eq!(failed_checks(app).await, [GENERIC_500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_message_text_is_caught() {
    fn own_words(_: DbError) -> Response {
        let body = json!({"error": {"code": "INTERNAL_ERROR", "message": "Something went wrong"}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    let app = |db| serve_with(db, Handling { db_error: own_words, ..RIGHT });
    assert_eq!(failed_checks(app).await, [GENERIC_500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhandled_panics_are_caught() {
    let app = |db| serve_with(db, Handling { panics: Panics::Unhandled, ..RIGHT });
    assert_eq!(failed_checks(app).await, [PANIC_500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_catch_panic_response_is_caught() {
    // tower-http's own answer is text/plain "Service panicked": it tells a client we panicked.
    let app = |db| serve_with(db, Handling { panics: Panics::DefaultLayer, ..RIGHT });
    assert_eq!(failed_checks(app).await, [NO_LEAK, PANIC_500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_order_as_500_is_caught() {
    let app = |db| serve_with(db, Handling { missing: generic_500, ..RIGHT });
    assert_eq!(failed_checks(app).await, [MISSING_404]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_that_panics_while_building_fails_every_check_with_the_reason() {
    let recorder =
        checks(|_| Router::new().route("/orders/:id", get(|| async { "old syntax" }))).await;
    assert_eq!(failed(recorder.verdicts()).len(), CHECKS.len());
    let Outcome::Fail(failure) = &recorder.verdicts()[0].outcome else {
        panic!("the first check fails")
    };
    assert!(failure.summary.contains("app() panicked"), "{}", failure.summary);
}
