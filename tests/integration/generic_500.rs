//! Lesson 1's judge, run in process against its solution, its starter, right answers in other
//! styles, and one known-wrong answer per mistake, each caught by the check written for it.
//! (What only a real process shows, `eprintln!` logging and a silenced panic hook, is proven
//! with the real binary in `cli.rs`.)

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, DbError};
use httplings::lessons::generic_500::App;
use httplings_judge::lessons::generic_500::{self, CHECKS};
use serde_json::{Value, json};
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
const HEALTHY_200: &str = CHECKS[8];

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
    /// The answer to a panic (`None`: no layer catches it).
    panic: Option<fn() -> Response>,
    /// Something the server adds to every answer, given the request's headers.
    extra: fn(&HeaderMap, &mut Response),
}

const RIGHT: Handling = Handling {
    db_error: logged_generic_500,
    missing: not_found,
    panic: Some(generic_500),
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
    match handling.panic {
        None => router,
        Some(answer) => router.layer(CatchPanicLayer::custom(move |_| answer())),
    }
}

fn generic_500_body() -> Value {
    json!({"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}})
}

fn generic_500() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Json(generic_500_body())).into_response()
}

fn log_fields(error: &DbError) {
    tracing::error!(query = error.query_id(), reason = error.reason(), "order lookup failed");
}

fn logged_generic_500(error: DbError, _: u32) -> Response {
    log_fields(&error);
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

// ---- Right, in other styles ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_handling_passes() {
    judged_failing(with!(), &[]).await;
}

/// A line written by a task of its own, which may run once the answer is on its way (as an
/// appender with a thread of its own writes): the log check waits for the learner to go quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_logged_after_the_answer_passes() {
    fn logged_later(error: DbError, _: u32) -> Response {
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            log_fields(&error);
        });
        generic_500()
    }
    judged_failing(with!(db_error: logged_later), &[]).await;
}

/// The right handling, with every answer (a panic's included) passed through `around`, which
/// sees the request's path.
fn around_every_answer(
    db: Database,
    handling: Handling,
    around: fn(&str, Response) -> Response,
) -> Router {
    let layer = axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let path = request.uri().path().to_string();
            around(&path, next.run(request).await)
        },
    );
    serve_with(db, handling).layer(layer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9457_problem_details_with_the_path_and_a_request_id_pass() {
    fn problem(path: &str, response: Response) -> Response {
        if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
            return response;
        }
        let body = json!({
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "Something went wrong on our side; quote the request id if you contact us.",
            "instance": path,
            "request_id": uuid::Uuid::new_v4().to_string(),
        });
        let json = [(header::CONTENT_TYPE, "application/problem+json")];
        (StatusCode::INTERNAL_SERVER_ERROR, json, body.to_string()).into_response()
    }
    judged_failing(|db| around_every_answer(db, RIGHT, problem), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_counted_or_random_and_instance_ids_are_not_leaks() {
    // A counter from 0 across the process, as tower-http's own example makes one.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    fn counted(_: &str, mut response: Response) -> Response {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        response.headers_mut().insert("x-request-id", HeaderValue::from(id));
        response
    }
    judged_failing(|db| around_every_answer(db, RIGHT, counted), &[]).await;
    // A counter of each instance, from 0.
    fn counted_per_instance(db: Database) -> Router {
        let next = std::sync::Arc::new(AtomicU64::new(0));
        serve_with(db, RIGHT).layer(axum::middleware::map_response(
            move |mut response: Response| {
                let id = next.fetch_add(1, Ordering::Relaxed);
                async move {
                    response.headers_mut().insert("x-request-id", HeaderValue::from(id));
                    response
                }
            },
        ))
    }
    judged_failing(counted_per_instance, &[]).await;
    // A random one in the body.
    fn in_body() -> Response {
        let mut body = generic_500_body();
        body["error"]["request_id"] = json!(uuid::Uuid::new_v4().to_string());
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    fn logged_in_body(error: DbError, _: u32) -> Response {
        log_fields(&error);
        in_body()
    }
    judged_failing(with!(db_error: logged_in_body, panic: Some(in_body)), &[]).await;
    // An id drawn when the app is built: the same for one instance, another for the next.
    fn with_instance(db: Database) -> Router {
        let instance = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap();
        serve_with(db, RIGHT).layer(axum::middleware::map_response(
            move |mut response: Response| {
                let instance = instance.clone();
                async move {
                    response.headers_mut().insert("x-instance", instance);
                    response
                }
            },
        ))
    }
    judged_failing(with_instance, &[]).await;
    // A request id that starts with one drawn when the app is built, the rest drawn for each
    // answer: two instances of one database may agree on a character or two by chance.
    fn instance_then_random(db: Database) -> Router {
        let instance = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        serve_with(db, RIGHT).layer(axum::middleware::map_response(
            move |mut response: Response| {
                let id = format!("{instance}-{}", uuid::Uuid::new_v4().simple());
                async move {
                    response.headers_mut().insert("x-request-id", id.parse().unwrap());
                    response
                }
            },
        ))
    }
    judged_failing(instance_then_random, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_id_that_ends_in_the_failure_s_hash_is_caught() {
    fn hash(cause: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(cause)
    }
    fn answered(id: String) -> Response {
        let mut body = generic_500_body();
        body["error"]["request_id"] = json!(id);
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    // Four hex characters at the end; two failures' hashes agree on one of them once in 16.
    fn tagged_at_the_end(error: DbError, _: u32) -> Response {
        log_fields(&error);
        let random = uuid::Uuid::new_v4().simple().to_string();
        answered(format!("{}{:04x}", &random[..28], hash(error.reason()) & 0xffff))
    }
    // Three, across a dash of a UUID's layout.
    fn tagged_across_a_dash(error: DbError, _: u32) -> Response {
        log_fields(&error);
        let random = uuid::Uuid::new_v4().hyphenated().to_string();
        let tag = format!("{:03x}", hash(error.reason()) & 0xfff);
        answered(format!("{}{}-{}{}", &random[..7], &tag[..1], &tag[1..], &random[11..]))
    }
    for app in [with!(db_error: tagged_at_the_end), with!(db_error: tagged_across_a_dash)] {
        let judged = judged_failing(app, &[NO_LEAK]).await;
        let said = &judged.failure(NO_LEAK).unwrap().summary;
        assert!(said.contains("keep a part of their answers in common"), "{said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_own_id_echoed_and_a_message_of_ones_own_pass() {
    // The id is the client's: giving it back tells nothing of the failure.
    fn echo(path: &str, mut response: Response) -> Response {
        let id = path.rsplit('/').next().unwrap_or_default();
        response.headers_mut().insert("x-resource-id", HeaderValue::from_str(id).unwrap());
        response
    }
    judged_failing(|db| around_every_answer(db, RIGHT, echo), &[]).await;
    // The same words of one's own for every fault.
    fn own_words() -> Response {
        let body = json!({"error": {"code": "INTERNAL_ERROR", "message": "Something went wrong"}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    fn own_words_logged(error: DbError, _: u32) -> Response {
        log_fields(&error);
        own_words()
    }
    judged_failing(with!(db_error: own_words_logged, panic: Some(own_words)), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_the_error_with_its_password_masked_passes() {
    /// `postgres://user:secret@host` as `postgres://user:****@host`, wherever it is.
    fn redacted(text: &str) -> String {
        let Some(scheme) = text.find("://") else { return text.to_string() };
        let rest = &text[scheme + 3..];
        // The last `@` of the authority: a password may hold one of its own.
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        let (Some(colon), Some(at)) = (authority.find(':'), authority.rfind('@')) else {
            return text.to_string();
        };
        if colon > at {
            return text.to_string();
        }
        format!("{}{}****{}", &text[..scheme + 3], &rest[..=colon], &rest[at..])
    }
    fn masked(error: DbError, _: u32) -> Response {
        tracing::error!(error = %redacted(&error.to_string()), "order lookup failed");
        generic_500()
    }
    judged_failing(with!(db_error: masked), &[]).await;
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
    // With Authorization and Cookie marked sensitive first, they print as "Sensitive".
    fn app(db: Database) -> Router {
        let sensitive = [header::AUTHORIZATION, header::COOKIE];
        logging_headers(db)
            .layer(tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new(sensitive))
    }
    judged_failing(app, &[]).await;
}

// ---- Known wrong: the log ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_in_the_log_is_caught_whoever_wrote_it() {
    let judged = judged_failing(logging_headers, &[NO_CREDENTIAL]).await;
    let failure = judged.failure(NO_CREDENTIAL).unwrap();
    assert!(format!("{:?}", failure.evidence).contains("«the bearer token»"), "{failure:?}");
    // The error's own text quotes the connection string, password included; so does its Debug.
    fn displayed(error: DbError, _: u32) -> Response {
        tracing::error!(%error, "order lookup failed");
        generic_500()
    }
    fn debugged(error: DbError, _: u32) -> Response {
        tracing::error!(?error, "order lookup failed");
        generic_500()
    }
    for app in [with!(db_error: displayed), with!(db_error: debugged)] {
        let judged = judged_failing(app, &[NO_CREDENTIAL]).await;
        let failure = judged.failure(NO_CREDENTIAL).unwrap();
        assert!(failure.summary.contains("the database password"), "{failure:?}");
    }
    // A mask that keeps the password's first and last characters: "s****t".
    fn half_masked(error: DbError, _: u32) -> Response {
        let text = error.to_string();
        logged_masked(&text, password_at(&text), |password| {
            let (first, last) = (&password[..1], &password[password.len() - 1..]);
            format!("{first}****{last}")
        })
    }
    let judged = judged_failing(with!(db_error: half_masked), &[NO_CREDENTIAL]).await;
    let failure = judged.failure(NO_CREDENTIAL).unwrap();
    assert!(failure.summary.contains("keeps something of the password"), "{failure:?}");
    // A mask that ends at the first `@`: the rest of a password that holds one is logged (the
    // adversary round on lesson 1, twenty-sixth session).
    fn to_first_at(error: DbError, _: u32) -> Response {
        let text = error.to_string();
        let start = text.find("orders_app:").map(|user| user + "orders_app:".len());
        let span = start.zip(text.find('@'));
        logged_masked(&text, span, |_| "****".into())
    }
    let judged = judged_failing(with!(db_error: to_first_at), &[NO_CREDENTIAL]).await;
    let failure = judged.failure(NO_CREDENTIAL).unwrap();
    assert!(failure.summary.contains("the database password"), "{failure:?}");
}

/// Logs `text` with what `span` holds (the password, by some reading) as `mask` makes it, and
/// answers the generic 500.
fn logged_masked(text: &str, span: Option<(usize, usize)>, mask: fn(&str) -> String) -> Response {
    let shown = match span {
        Some((start, at)) => format!("{}{}{}", &text[..start], mask(&text[start..at]), &text[at..]),
        None => text.to_string(),
    };
    tracing::error!(error = %shown, "order lookup failed");
    generic_500()
}

/// Where the password is in a `DbError`'s text: from after the user's `:` to the last `@` before
/// the host (a password may hold an `@` of its own).
fn password_at(text: &str) -> Option<(usize, usize)> {
    let start = text.find("orders_app:")? + "orders_app:".len();
    let authority = &text[start..start + text[start..].find('/')?];
    Some((start, start + authority.rfind('@')?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_at_debug_in_part_in_a_cookie_or_by_its_length_is_caught() {
    let caught = async |app: App, credential: &str| {
        let judged = judged_failing(app, &[NO_CREDENTIAL]).await;
        let failure = judged.failure(NO_CREDENTIAL).unwrap();
        assert!(failure.summary.contains(credential), "{credential}: {failure:?}");
        failure.summary.clone()
    };
    // The error's own text, password and all, at DEBUG: levels get switched on in an incident.
    fn at_debug(error: DbError, _: u32) -> Response {
        log_fields(&error);
        tracing::debug!(%error, "order lookup failed, in full");
        generic_500()
    }
    caught(with!(db_error: at_debug), "the database password").await;
    // Every header logged, Authorization alone marked sensitive: the cookie goes out as it is.
    fn authorization_only(db: Database) -> Router {
        let sensitive = [header::AUTHORIZATION];
        logging_headers(db)
            .layer(tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new(sensitive))
    }
    caught(authorization_only, "the session cookie").await;
    // The bearer token's first twelve characters, "to tell clients apart".
    fn token_prefix(db: Database) -> Router {
        let log_client = axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let authorization = request.headers().get(header::AUTHORIZATION);
                let token = authorization.and_then(|value| value.to_str().ok()).unwrap_or("");
                let client = token.trim_start_matches("Bearer ").get(..12).unwrap_or("");
                tracing::info!(client, "request");
                next.run(request).await
            },
        );
        serve_with(db, RIGHT).layer(log_client)
    }
    let said = caught(token_prefix, "the bearer token").await;
    assert!(said.contains("the bearer token"), "{said}");
    // A mask with a star for every character of the password: its length shows.
    fn as_long(error: DbError, _: u32) -> Response {
        let text = error.to_string();
        logged_masked(&text, password_at(&text), |password| "*".repeat(password.len()))
    }
    let said = judged_failing(with!(db_error: as_long), &[NO_CREDENTIAL]).await;
    let said = &said.failure(NO_CREDENTIAL).unwrap().summary;
    assert!(said.contains("its length"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_before_the_failure_or_without_its_details_is_caught() {
    // Printing the database when the app is built: its Debug tells nothing of what will fail.
    fn announced(db: Database) -> Router {
        tracing::info!(?db, "serving orders");
        serve_with(db, Handling { db_error: |_, _| generic_500(), ..RIGHT })
    }
    judged_failing(announced, &[LOGGED]).await;
    // The reason alone: which query failed is lost.
    fn reason_only(error: DbError, _: u32) -> Response {
        tracing::error!(reason = error.reason(), "order lookup failed");
        generic_500()
    }
    judged_failing(with!(db_error: reason_only), &[LOGGED]).await;
    judged_failing(with!(db_error: |_, _| generic_500()), &[LOGGED]).await;
    // Every detail, at DEBUG: a service's log keeps INFO and above, so the failure left no trace.
    fn at_debug(error: DbError, _: u32) -> Response {
        tracing::debug!(query = error.query_id(), reason = error.reason(), "order lookup failed");
        generic_500()
    }
    judged_failing(with!(db_error: at_debug), &[LOGGED]).await;
    // Each query's failure once per process: the same failure again leaves no line of its own.
    fn once_per_query(error: DbError, _: u32) -> Response {
        static LOGGED_QUERIES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let mut logged = LOGGED_QUERIES.lock().unwrap();
        if !logged.contains(&error.query_id().to_string()) {
            logged.push(error.query_id().to_string());
            log_fields(&error);
        }
        generic_500()
    }
    let judged = judged_failing(with!(db_error: once_per_query), &[LOGGED]).await;
    let said = &judged.failure(LOGGED).unwrap().summary;
    assert!(said.contains("line of their own"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_read_as_an_i32_and_a_second_content_type_are_caught() {
    // Ids past i32::MAX are refused with a 400 before the database is asked.
    fn signed(db: Database) -> Router {
        let order = |State(db): State<Database>, Path(id): Path<i32>| async move {
            match db.find_order(id as u32) {
                Ok(Some(order)) => Json(order).into_response(),
                Ok(None) => not_found(),
                Err(error) => logged_generic_500(error, id as u32),
            }
        };
        let report =
            |State(db): State<Database>, Path(id): Path<u32>| async move { db.render_report(id) };
        Router::new()
            .route("/health", get(|| async { "ok" }))
            .route("/orders/{id}", get(order))
            .route("/reports/{id}", get(report))
            .with_state(db)
            .layer(CatchPanicLayer::custom(|_| generic_500()))
    }
    // Its 400 for a failing order is no 500 a panic gives: no-leak tells them apart.
    judged_failing(signed, &[GENERIC_500, NO_LEAK, LOGGED, MISSING_404, HEALTHY_200]).await;
    // Content-Type twice on every 500: which one a client reads is its guess.
    fn typed_twice(mut response: Response) -> Response {
        response.headers_mut().append(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    }
    fn db_error_typed_twice(error: DbError, id: u32) -> Response {
        typed_twice(logged_generic_500(error, id))
    }
    let app = with!(db_error: db_error_typed_twice, panic: Some(|| typed_twice(generic_500())));
    judged_failing(app, &[GENERIC_500, PANIC_500]).await;
}

// ---- Known wrong: what the client sees ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaking_the_error_in_the_body_is_caught() {
    fn leaks(error: DbError, _: u32) -> Response {
        log_fields(&error);
        let body = json!({"error": {"code": "INTERNAL_ERROR", "message": error.reason()}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    let seed = seed();
    let judged = generic_500::judge_in_process(with!(db_error: leaks), seed).await;
    assert_failed(&judged, seed, CHECKS, &[NO_LEAK]);
    assert_rejected(&judged, seed, NO_LEAK, "the database's own words");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaks_in_a_header_plain_encoded_or_in_part_are_caught() {
    /// A perfect body, and the error in a debugging header, made by `encode`.
    fn leaking(error: &DbError, encode: fn(&str) -> String) -> Response {
        log_fields(error);
        let mut response = generic_500();
        let value = HeaderValue::from_str(&encode(error.reason())).unwrap();
        response.headers_mut().insert("x-debug", value);
        response
    }
    let plain = with!(db_error: |error, _| leaking(&error, |text| text.to_string()));
    let hex = with!(db_error: |error, _| leaking(&error, |text| text.bytes().map(|byte| format!("{byte:02x}")).collect()));
    let reversed = with!(db_error: |error, _| leaking(&error, |text| text.chars().rev().collect()));
    // A fragment: its last word, which is no secret of the run.
    let fragment = with!(db_error: |error, _| leaking(&error, |text| text.rsplit(' ').next().unwrap().to_string()));
    // Spaces after the body, as many as the reason has letters: the JSON is the same.
    fn padded(error: DbError, _: u32) -> Response {
        log_fields(&error);
        let body = format!("{}{}", generic_500_body(), " ".repeat(error.reason().len()));
        (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/json")], body)
            .into_response()
    }
    judged_failing(with!(db_error: padded), &[NO_LEAK]).await;
    // A request id whose length gives the failure away.
    let shaped = with!(db_error: |error, _| leaking(&error, |text| format!("{}-{}", uuid::Uuid::new_v4(), text.len())));
    for app in [plain, hex, reversed, fragment, shaped] {
        judged_failing(app, &[NO_LEAK]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicated_key_that_hides_the_error_is_caught() {
    // Parsed as JSON, the second "error" wins and the body looks generic; the bytes tell.
    fn duplicated(error: DbError, _: u32) -> Response {
        log_fields(&error);
        let body = format!(
            "{{\"error\":{},\"error\":{}}}",
            serde_json::to_string(&error.to_string()).unwrap(),
            generic_500_body()["error"]
        );
        (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/json")], body)
            .into_response()
    }
    judged_failing(with!(db_error: duplicated), &[NO_LEAK]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_told_apart_from_a_database_error_is_caught() {
    fn marked() -> Response {
        let mut response = generic_500();
        response.headers_mut().insert("x-cause", HeaderValue::from_static("panic"));
        response
    }
    let seed = seed();
    let judged = generic_500::judge_in_process(with!(panic: Some(marked)), seed).await;
    assert_failed(&judged, seed, CHECKS, &[NO_LEAK]);
    assert_rejected(&judged, seed, NO_LEAK, "a panic");
    // The same JSON value, its members written in another order: another piece of code wrote it.
    fn reordered() -> Response {
        let body =
            r#"{"error":{"message":"An unexpected error occurred","code":"INTERNAL_ERROR"}}"#;
        let json = [(header::CONTENT_TYPE, "application/json")];
        (StatusCode::INTERNAL_SERVER_ERROR, json, body).into_response()
    }
    judged_failing(with!(panic: Some(reordered)), &[NO_LEAK]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shapes_of_the_generic_500_are_caught() {
    fn as_text(error: DbError, id: u32) -> Response {
        let mut response = logged_generic_500(error, id);
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    }
    fn as_success(error: DbError, _: u32) -> Response {
        log_fields(&error);
        Json(generic_500_body()).into_response()
    }
    fn other_code(error: DbError, _: u32) -> Response {
        log_fields(&error);
        let body =
            json!({"error": {"code": "DATABASE_ERROR", "message": "An unexpected error occurred"}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    // The database's answer differs from the panic's, so the comparison fails too.
    for app in [with!(db_error: as_text), with!(db_error: as_success), with!(db_error: other_code)]
    {
        judged_failing(app, &[GENERIC_500, NO_LEAK]).await;
    }
    // Right words, but not the same for a panic as for a database error.
    fn own_words(error: DbError, _: u32) -> Response {
        log_fields(&error);
        let body = json!({"error": {"code": "INTERNAL_ERROR", "message": "Something went wrong"}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
    judged_failing(with!(db_error: own_words), &[NO_LEAK]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhandled_panics_and_the_default_panic_answer_are_caught() {
    judged_failing(with!(panic: None), &[PANIC_500]).await;
    // tower-http's own answer is text/plain "Service panicked": it tells a client we panicked.
    fn default_layer(db: Database) -> Router {
        serve_with(db, Handling { panic: None, ..RIGHT }).layer(CatchPanicLayer::new())
    }
    let seed = seed();
    let judged = generic_500::judge_in_process(default_layer, seed).await;
    assert_failed(&judged, seed, CHECKS, &[PANIC_500, NO_LEAK]);
    assert_rejected(&judged, seed, NO_LEAK, "a panic report");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_order_as_500_is_caught() {
    judged_failing(with!(missing: generic_500), &[MISSING_404]).await;
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
