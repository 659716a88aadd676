//! Lesson 1's judge, run in process against its solution, its starter, right answers in other
//! styles, and one known-wrong answer per mistake, each caught by the check written for it.
//! (What only a real process shows, `eprintln!` logging and a silenced panic hook, is proven
//! with the real binary in `cli.rs`.)

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, DbError};
use httplings::lessons::generic_500::App;
use httplings_judge::lessons::generic_500::{self, CHECKS, generic_500_body};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::support::{assert_failed, assert_rejected, seed};

#[path = "../../solutions/01_generic_500.rs"]
mod solution;

#[path = "../../exercises/.starters/01_generic_500.rs"]
mod starter;

const GENERIC_500: &str = CHECKS[0];
const PANIC_500: &str = CHECKS[1];
const NO_LEAK: &str = CHECKS[2];
const LOGGED: &str = CHECKS[3];
const NO_CREDENTIAL: &str = CHECKS[5];
const MISSING_404: &str = CHECKS[7];

/// Judges `app` and asserts that exactly `expected` fail.
async fn judged_failing(app: App, expected: &[&str]) -> httplings_judge::judge::Judged {
    let seed = seed();
    let judged = generic_500::judge_in_process(app, seed).await;
    assert_failed(&judged, seed, CHECKS, expected);
    judged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes() {
    judged_failing(solution::app, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_leaks_drops_panics_and_logs_nothing() {
    judged_failing(starter::app, &[GENERIC_500, PANIC_500, NO_LEAK, LOGGED]).await;
}

/// How an answer handles each fault; the right way, then one mistake per known-wrong answer.
#[derive(Clone, Copy)]
struct Handling {
    db_error: fn(DbError, u32) -> Response,
    missing: fn() -> Response,
    panics: Panics,
    /// Something the server adds to every answer, given the request's headers.
    extra: fn(&HeaderMap, &mut Response),
}

#[derive(Clone, Copy)]
enum Panics {
    Unhandled,
    DefaultLayer,
    Generic,
    /// The generic body, but the cause shows in a header.
    Marked,
}

const RIGHT: Handling = Handling {
    db_error: logged_generic_500,
    missing: not_found,
    panics: Panics::Generic,
    extra: |_, _| {},
};

fn serve_with(db: Database, handling: Handling) -> Router {
    let order = move |State(db): State<Database>, Path(id): Path<u32>, headers: HeaderMap| async move {
        let mut response = match db.find_order(id) {
            Ok(Some(order)) => Json(order).into_response(),
            Ok(None) => (handling.missing)(),
            Err(error) => (handling.db_error)(error, id),
        };
        (handling.extra)(&headers, &mut response);
        response
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
        Panics::Marked => router.layer(CatchPanicLayer::custom(|_| {
            let mut response = generic_500();
            response.headers_mut().insert("x-cause", HeaderValue::from_static("panic"));
            response
        })),
    }
}

fn generic_500() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Json(generic_500_body())).into_response()
}

fn logged_generic_500(error: DbError, _: u32) -> Response {
    tracing::error!(%error, "order lookup failed");
    generic_500()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// A known-wrong answer: `RIGHT` with one field changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        |db| serve_with(db, Handling { $($field: $value,)* ..RIGHT })
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_handling_passes() {
    judged_failing(with!(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_header_is_noise_not_a_leak() {
    // Many services tag each answer with a fresh id: it changes between identical requests.
    fn request_id(_: &HeaderMap, response: &mut Response) {
        let id = httplings_judge::judge::seed::fresh().to_string();
        response.headers_mut().insert("x-request-id", HeaderValue::from_str(&id).unwrap());
    }
    judged_failing(with!(extra: request_id), &[]).await;
}

/// The right handling, logging every request's headers with `Debug` on the way in.
fn logging_headers(db: Database) -> Router {
    let log_headers = axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            tracing::info!(headers = ?request.headers(), "request");
            next.run(request).await
        },
    );
    serve_with(db, RIGHT).layer(log_headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_headers_marked_sensitive_passes() {
    // With Authorization marked sensitive first, it prints as "Sensitive".
    fn app(db: Database) -> Router {
        let sensitive = [header::AUTHORIZATION];
        logging_headers(db)
            .layer(tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new(sensitive))
    }
    judged_failing(app, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_whole_requests_with_debug_is_caught() {
    let app = logging_headers;
    let judged = judged_failing(app, &[NO_CREDENTIAL]).await;
    let failure = judged.failure(NO_CREDENTIAL).unwrap();
    assert!(format!("{:?}", failure.evidence).contains("«the bearer token»"), "{failure:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaking_the_error_in_the_body_is_caught() {
    fn leaks(error: DbError, _: u32) -> Response {
        let body = json!({"error": {"code": "INTERNAL_ERROR", "message": error.to_string()}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    let seed = seed();
    let judged = generic_500::judge_in_process(with!(db_error: leaks), seed).await;
    assert_failed(&judged, seed, CHECKS, &[GENERIC_500, NO_LEAK, LOGGED]);
    assert_rejected(&judged, seed, NO_LEAK, "the failed query's id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaks_in_a_header_plain_or_encoded_are_caught() {
    /// A perfect body, and the error in a debugging header, made by `encode`.
    fn leaking(error: &DbError, encode: fn(&str) -> String) -> Response {
        tracing::error!(%error, "order lookup failed");
        let mut response = generic_500();
        response
            .headers_mut()
            .insert("x-debug", HeaderValue::from_str(&encode(&error.to_string())).unwrap());
        response
    }
    let plain = with!(db_error: |error, _| leaking(&error, |text| text.to_string()));
    let hex = with!(db_error: |error, _| leaking(&error, |text| text.bytes().map(|byte| format!("{byte:02x}")).collect()));
    let reversed = with!(db_error: |error, _| leaking(&error, |text| text.chars().rev().collect()));
    // A fragment of the error: its last word, which is not one of the run's secrets.
    let fragment = with!(db_error: |error, _| leaking(&error, |text| text.rsplit(' ').next().unwrap().to_string()));
    for app in [plain, hex, reversed, fragment] {
        judged_failing(app, &[NO_LEAK]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicated_key_that_hides_the_error_is_caught() {
    // Parsed as JSON, the second "error" wins and the body looks generic; the bytes tell.
    fn duplicated(error: DbError, _: u32) -> Response {
        tracing::error!(%error, "order lookup failed");
        let body = format!(
            "{{\"error\":{},\"error\":{}}}",
            serde_json::to_string(&error.to_string()).unwrap(),
            generic_500_body()["error"]
        );
        (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/json")], body)
            .into_response()
    }
    let seed = seed();
    let judged = generic_500::judge_in_process(with!(db_error: duplicated), seed).await;
    assert!(judged.failed().contains(&NO_LEAK), "{}", crate::support::report(&judged, seed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_depend_on_the_cause_or_the_id_are_caught() {
    fn with_id(error: DbError, id: u32) -> Response {
        let mut response = logged_generic_500(error, id);
        response.headers_mut().insert("x-order", HeaderValue::from(id));
        response
    }
    let seed = seed();
    let judged = generic_500::judge_in_process(with!(db_error: with_id), seed).await;
    assert_failed(&judged, seed, CHECKS, &[NO_LEAK]);
    assert_rejected(&judged, seed, NO_LEAK, "another id");
    let judged = generic_500::judge_in_process(with!(panics: Panics::Marked), seed).await;
    assert_failed(&judged, seed, CHECKS, &[NO_LEAK]);
    assert_rejected(&judged, seed, NO_LEAK, "a panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shapes_of_the_generic_500_are_caught() {
    fn as_text(error: DbError, id: u32) -> Response {
        let mut response = logged_generic_500(error, id);
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    }
    fn as_success(error: DbError, _: u32) -> Response {
        tracing::error!(%error, "order lookup failed");
        Json(generic_500_body()).into_response()
    }
    fn own_words(error: DbError, _: u32) -> Response {
        tracing::error!(%error, "order lookup failed");
        let body = json!({"error": {"code": "INTERNAL_ERROR", "message": "Something went wrong"}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    // The database's answer differs from the panic's, so the comparison fails too.
    for app in [with!(db_error: as_text), with!(db_error: as_success), with!(db_error: own_words)] {
        judged_failing(app, &[GENERIC_500, NO_LEAK]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhandled_panics_and_the_default_panic_answer_are_caught() {
    judged_failing(with!(panics: Panics::Unhandled), &[PANIC_500]).await;
    // tower-http's own answer is text/plain "Service panicked": it tells a client we panicked.
    let seed = seed();
    let judged = generic_500::judge_in_process(with!(panics: Panics::DefaultLayer), seed).await;
    assert_failed(&judged, seed, CHECKS, &[PANIC_500, NO_LEAK]);
    assert_rejected(&judged, seed, NO_LEAK, "a panic report");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_order_as_500_and_an_unlogged_error_are_caught() {
    judged_failing(with!(missing: generic_500), &[MISSING_404]).await;
    judged_failing(with!(db_error: |_, _| generic_500()), &[LOGGED]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_that_panics_while_building_fails_every_check_with_the_reason() {
    let seed = seed();
    let judged = generic_500::judge_in_process(
        |_| Router::new().route("/orders/:id", get(|| async { "old syntax" })),
        seed,
    )
    .await;
    assert_failed(&judged, seed, CHECKS, CHECKS);
    assert_rejected(&judged, seed, GENERIC_500, "app() panicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_installed_with_init_in_app_is_explained_in_one_line() {
    fn app(db: Database) -> Router {
        tracing_subscriber::fmt().with_writer(std::io::sink).init();
        serve_with(db, RIGHT)
    }
    let seed = seed();
    let judged = generic_500::judge_in_process(app, seed).await;
    assert_rejected(&judged, seed, GENERIC_500, "Use try_init()");
}
