//! Lesson 2's judge, run in process against its solution, its starter, right answers in other
//! styles, and known-wrong answers. Each wrong answer is the reference with one mistake
//! swapped in, so a check that fails can only be reacting to that mistake.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, DbError, DbErrorKind, Order};
use httplings::lessons::retry_after::Exercise;
use httplings_judge::judge::{Evidence, Judged};
use httplings_judge::lessons::retry_after::{self, CHECKS};
use serde_json::json;

use crate::support::{assert_failed, assert_rejected, report, seed};

#[path = "../../solutions/02_retry_after.rs"]
mod solution;

#[path = "../../exercises/.starters/02_retry_after.rs"]
mod starter;

const DOWN_503: &str = CHECKS[0];
const RETRY_HEADER: &str = CHECKS[1];
const BACK_UP: &str = CHECKS[2];
const FAULT_500: &str = CHECKS[3];
const SECONDS: &str = CHECKS[4];
const DATES: &str = CHECKS[5];
const INVALID: &str = CHECKS[6];
const CLIENT: &str = CHECKS[7];
const LOGGED: &str = CHECKS[8];
const NO_CREDENTIAL: &str = CHECKS[9];

fn reference() -> Exercise {
    Exercise {
        app: solution::app,
        parse_retry_after: solution::parse_retry_after,
        retry_after: solution::retry_after,
    }
}

fn with_app(app: fn(Database) -> Router) -> Exercise {
    Exercise { app, ..reference() }
}

/// A `parse_retry_after`.
type Parser = fn(&str, SystemTime) -> Option<Duration>;

fn with_parser(parse_retry_after: Parser) -> Exercise {
    Exercise { parse_retry_after, ..reference() }
}

fn with_client(retry_after: fn(&reqwest::Response) -> Option<Duration>) -> Exercise {
    Exercise { retry_after, ..reference() }
}

/// Judges `exercise`, asserts that exactly `expected` failed, and returns what was decided.
async fn judged_failing(exercise: Exercise, expected: &[&str]) -> (Judged, u64) {
    let seed = seed();
    let judged = retry_after::judge_in_process(exercise, seed).await;
    assert_failed(&judged, seed, CHECKS, expected);
    (judged, seed)
}

/// The first cell of every row `check` marked wrong: for the parser checks, the input as
/// `{:?}` shows it; for the client check, what the 503 carried.
fn wrong_rows<'a>(judged: &'a Judged, check: &str) -> Vec<&'a str> {
    let Some(failure) = judged.failure(check) else { return Vec::new() };
    failure
        .evidence
        .iter()
        .filter_map(|evidence| match evidence {
            Evidence::Table { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .filter(|row| !row.ok)
        .map(|row| row.cells[0].as_str())
        .collect()
}

/// `check` marked the row for `input` wrong: the check caught the mistake with the case
/// written for it, not by accident.
#[track_caller]
fn assert_row_caught(judged: &Judged, seed: u64, check: &str, input: &str) {
    let shown = format!("{input:?}");
    let wrong = wrong_rows(judged, check);
    assert!(
        wrong.contains(&shown.as_str()),
        "{check:?} did not flag {shown}; it flagged {wrong:?}\n{}",
        report(judged, seed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_solution_passes_every_check() {
    judged_failing(reference(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails_everything_but_what_it_already_does_right() {
    let starter = Exercise {
        app: starter::app,
        parse_retry_after: starter::parse_retry_after,
        retry_after: starter::retry_after,
    };
    // The starter answers 200, 404 and the generic 500 already; only the outage is wrong.
    judged_failing(starter, &[DOWN_503, RETRY_HEADER, SECONDS, DATES, INVALID, CLIENT]).await;
}

// ---- The server ----

/// The reference route, except that an unreachable database is answered by `down` (and
/// `unreachable` decides which errors count as that).
fn route(db: Database, unreachable: fn(&DbError) -> bool, down: fn() -> Response) -> Router {
    let order = move |State(db): State<Database>, Path(id): Path<u32>| async move {
        match found(&db, id) {
            Ok(Some(order)) => Json(order).into_response(),
            Ok(None) => StatusCode::NOT_FOUND.into_response(),
            Err(error) if unreachable(&error) => down(),
            Err(_) => generic_500(),
        }
    };
    Router::new().route("/orders/{id}", get(order)).with_state(db)
}

/// The order, as the database finds it; its error's fields logged, as the lesson asks.
fn found(db: &Database, id: u32) -> Result<Option<Order>, DbError> {
    db.find_order(id).inspect_err(|error| {
        let (query, reason) = (error.query_id(), error.reason());
        tracing::warn!(query, reason, "order lookup failed");
    })
}

fn by_kind(error: &DbError) -> bool {
    error.kind() == DbErrorKind::Unavailable
}

fn answering_down_with(db: Database, down: fn() -> Response) -> Router {
    route(db, by_kind, down)
}

fn generic_500() -> Response {
    let body =
        json!({"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

fn unavailable_body() -> Json<serde_json::Value> {
    Json(
        json!({"error": {"code": "SERVICE_UNAVAILABLE", "message": "Try again later", "retryable": true}}),
    )
}

fn unavailable(retry_after: &'static [&'static str]) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, unavailable_body()).into_response();
    for value in retry_after {
        response.headers_mut().append(RETRY_AFTER, HeaderValue::from_static(value));
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_that_panics_while_building_fails_the_server_checks_only() {
    let app = |_| Router::new().route("/orders/:id", get(|| async { "old syntax" }));
    let server_checks = [DOWN_503, RETRY_HEADER, BACK_UP, FAULT_500, LOGGED, NO_CREDENTIAL];
    judged_failing(with_app(app), &server_checks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unreadable_or_unwise_retry_after_fails_retry_header_only() {
    let apps: [fn(Database) -> Router; 5] = [
        |db| answering_down_with(db, || unavailable(&[])),
        |db| answering_down_with(db, || unavailable(&["30s"])),
        |db| answering_down_with(db, || unavailable(&["0"])),
        |db| answering_down_with(db, || unavailable(&["30", "60"])),
        |db| answering_down_with(db, || unavailable(&["Sunday, 06-Nov-94 08:49:37 GMT"])),
    ];
    for app in apps {
        judged_failing(with_app(app), &[RETRY_HEADER]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_in_the_past_fails_and_one_in_the_future_passes() {
    fn dated(ahead: bool) -> Response {
        let at = if ahead {
            SystemTime::now() + Duration::from_secs(30)
        } else {
            SystemTime::now() - Duration::from_secs(30)
        };
        let mut response = unavailable(&[]);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap());
        response
    }
    judged_failing(with_app(|db| answering_down_with(db, || dated(false))), &[RETRY_HEADER]).await;
    judged_failing(with_app(|db| answering_down_with(db, || dated(true))), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9457_problem_details_pass() {
    fn problem() -> Response {
        let body = json!({"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "The order database is down"});
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(RETRY_AFTER, "20"), (CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
    judged_failing(with_app(|db| answering_down_with(db, problem)), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_given_away_or_a_500_that_asks_for_a_wait_is_caught() {
    // The reference, but the 503 names the database's reason, or its text is logged, or the
    // generic 500 asks for a wait.
    fn telling(db: Database, tells: fn(&DbError) -> Response) -> Router {
        let order = move |State(db): State<Database>, Path(id): Path<u32>| async move {
            match found(&db, id) {
                Ok(Some(order)) => Json(order).into_response(),
                Ok(None) => StatusCode::NOT_FOUND.into_response(),
                Err(error) => tells(&error),
            }
        };
        Router::new().route("/orders/{id}", get(order)).with_state(db)
    }
    fn reason_in_detail(db: Database) -> Router {
        telling(db, |error| match error.kind() {
            DbErrorKind::Unavailable => {
                let body = json!({"type": "about:blank", "title": "Service Unavailable",
                    "status": 503, "detail": error.reason()});
                let headers = [(CONTENT_TYPE, "application/problem+json"), (RETRY_AFTER, "30")];
                (StatusCode::SERVICE_UNAVAILABLE, headers, Json(body)).into_response()
            }
            _ => generic_500(),
        })
    }
    fn logs_its_text(db: Database) -> Router {
        telling(db, |error| match error.kind() {
            DbErrorKind::Unavailable => {
                tracing::warn!("database unavailable: {error}");
                unavailable(&["30"])
            }
            _ => generic_500(),
        })
    }
    fn waits_out_a_bug(db: Database) -> Router {
        telling(db, |error| match error.kind() {
            DbErrorKind::Unavailable => unavailable(&["30"]),
            _ => {
                let mut response = generic_500();
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("30"));
                response
            }
        })
    }
    let (judged, seed) = judged_failing(with_app(reason_in_detail), &[DOWN_503]).await;
    assert_rejected(&judged, seed, DOWN_503, "the database's own words");
    judged_failing(with_app(logs_its_text), &[NO_CREDENTIAL]).await;
    let (judged, seed) = judged_failing(with_app(waits_out_a_bug), &[FAULT_500]).await;
    assert_rejected(&judged, seed, FAULT_500, "waiting does not mend a bug");
    // The body the same for every outage, but a wait of its own for each reason.
    fn waits_by_reason(db: Database) -> Router {
        telling(db, |error| match error.kind() {
            DbErrorKind::Unavailable => {
                let mut response = unavailable(&[]);
                let seconds = HeaderValue::from(error.reason().len());
                response.headers_mut().insert(RETRY_AFTER, seconds);
                response
            }
            _ => generic_500(),
        })
    }
    let (judged, seed) = judged_failing(with_app(waits_by_reason), &[DOWN_503]).await;
    assert_rejected(&judged, seed, DOWN_503, "the Retry-After follows the outage's reason");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_left_out_of_the_log_or_logged_once_is_caught() {
    fn silent_when_down(db: Database) -> Router {
        let order = |State(db): State<Database>, Path(id): Path<u32>| async move {
            match db.find_order(id) {
                Ok(Some(order)) => Json(order).into_response(),
                Ok(None) => StatusCode::NOT_FOUND.into_response(),
                Err(error) if by_kind(&error) => unavailable(&["30"]),
                Err(error) => {
                    tracing::error!(query = error.query_id(), reason = error.reason(), "failed");
                    generic_500()
                }
            }
        };
        Router::new().route("/orders/{id}", get(order)).with_state(db)
    }
    let (judged, seed) = judged_failing(with_app(silent_when_down), &[LOGGED]).await;
    assert_rejected(&judged, seed, LOGGED, "left no line of their own");
    // Each outage's reason once: the same outage again leaves no line of its own.
    fn once_per_reason(db: Database) -> Router {
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let order = |State(db): State<Database>, Path(id): Path<u32>| async move {
            match db.find_order(id) {
                Ok(Some(order)) => Json(order).into_response(),
                Ok(None) => StatusCode::NOT_FOUND.into_response(),
                Err(error) => {
                    let mut said = SAID.lock().unwrap();
                    if !said.contains(&error.query_id().to_string()) {
                        said.push(error.query_id().to_string());
                        tracing::error!(
                            query = error.query_id(),
                            reason = error.reason(),
                            "failed"
                        );
                    }
                    match error.kind() {
                        DbErrorKind::Unavailable => unavailable(&["30"]),
                        _ => generic_500(),
                    }
                }
            }
        };
        Router::new().route("/orders/{id}", get(order)).with_state(db)
    }
    judged_failing(with_app(once_per_reason), &[LOGGED]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jittered_retry_after_passes() {
    fn jittered() -> Response {
        let mut response = unavailable(&[]);
        let seconds = HeaderValue::from(fastrand::u64(25..=35));
        response.headers_mut().insert(RETRY_AFTER, seconds);
        response
    }
    judged_failing(with_app(|db| answering_down_with(db, jittered)), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_or_a_text_503_while_down_fails_down_503() {
    fn as_500() -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, [(RETRY_AFTER, "30")], unavailable_body())
            .into_response()
    }
    fn as_text() -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, "30")], "come back later").into_response()
    }
    judged_failing(with_app(|db| answering_down_with(db, as_500)), &[DOWN_503]).await;
    judged_failing(with_app(|db| answering_down_with(db, as_text)), &[DOWN_503]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_classified_by_its_text_or_not_at_all_is_caught() {
    // Every failure a 503: a bug in the SQL is not going to be fixed in 30 seconds.
    judged_failing(with_app(|db| route(db, |_| true, || unavailable(&["30"]))), &[FAULT_500]).await;
    // The words of one driver's message: the next outage says something else.
    fn refused(error: &DbError) -> bool {
        error.to_string().contains("refused")
    }
    let seed = seed();
    let app = with_app(|db| route(db, refused, || unavailable(&["30"])));
    let judged = retry_after::judge_in_process(app, seed).await;
    // When no outage happened to say "refused", no 503 came at all, nor a Retry-After.
    let failed = judged.failed();
    let expected: &[&str] =
        if failed.contains(&RETRY_HEADER) { &[DOWN_503, RETRY_HEADER] } else { &[DOWN_503] };
    assert_failed(&judged, seed, CHECKS, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_that_reads_the_error_s_words_or_an_id_too_small_is_caught() {
    // A bug in words an outage might use ("connection", "timeout") answered as an outage.
    fn by_words(error: &DbError) -> bool {
        by_kind(error) || ["timeout", "connection"].iter().any(|word| error.reason().contains(word))
    }
    let app = with_app(|db| route(db, by_words, || unavailable(&["30"])));
    judged_failing(app, &[FAULT_500]).await;
    // The 503's message follows the outage's reason: it tells a timeout from a refusal.
    fn telling_the_kind(db: Database) -> Router {
        let order = |State(db): State<Database>, Path(id): Path<u32>| async move {
            match found(&db, id) {
                Ok(Some(order)) => Json(order).into_response(),
                Ok(None) => StatusCode::NOT_FOUND.into_response(),
                Err(error) if by_kind(&error) => {
                    let message =
                        if error.reason().contains("time") { "timed out" } else { "down" };
                    let body =
                        json!({"error": {"code": "SERVICE_UNAVAILABLE", "message": message}});
                    (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, "30")], Json(body))
                        .into_response()
                }
                Err(_) => generic_500(),
            }
        };
        Router::new().route("/orders/{id}", get(order)).with_state(db)
    }
    let (judged, seed) = judged_failing(with_app(telling_the_kind), &[DOWN_503]).await;
    assert_rejected(&judged, seed, DOWN_503, "different bodies");
    // Ids read as i32: every id above 2^31 - 1 is a 400, whatever the database says.
    fn as_i32(db: Database) -> Router {
        let order = |State(db): State<Database>, Path(id): Path<i32>| async move {
            let id = u32::try_from(id).unwrap_or(0);
            match found(&db, id) {
                Ok(Some(order)) => Json(order).into_response(),
                Ok(None) => StatusCode::NOT_FOUND.into_response(),
                Err(error) if by_kind(&error) => unavailable(&["30"]),
                Err(_) => generic_500(),
            }
        };
        Router::new().route("/orders/{id}", get(order)).with_state(db)
    }
    let seed = crate::support::seed();
    let judged = retry_after::judge_in_process(with_app(as_i32), seed).await;
    let failed = judged.failed();
    assert!(
        !failed.is_empty()
            && failed.iter().all(|check| [DOWN_503, BACK_UP, FAULT_500, LOGGED].contains(check)),
        "{}",
        report(&judged, seed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_remembers_the_outage_or_changes_its_type_fails_back_up() {
    fn remembers(db: Database) -> Router {
        let seen_down = Arc::new(AtomicBool::new(false));
        let order = move |State(db): State<Database>, Path(id): Path<u32>| {
            let seen_down = Arc::clone(&seen_down);
            async move {
                match found(&db, id) {
                    _ if seen_down.load(Ordering::SeqCst) => unavailable(&["30"]),
                    Err(error) if by_kind(&error) => {
                        seen_down.store(true, Ordering::SeqCst);
                        unavailable(&["30"])
                    }
                    Ok(Some(order)) => Json(order).into_response(),
                    Ok(None) => StatusCode::NOT_FOUND.into_response(),
                    Err(_) => generic_500(),
                }
            }
        };
        Router::new().route("/orders/{id}", get(order)).with_state(db)
    }
    fn as_text(db: Database) -> Router {
        let retype = |request: Request, next: Next| async move {
            let mut response = next.run(request).await;
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
        };
        answering_down_with(db, || unavailable(&["30"])).layer(middleware::from_fn(retype))
    }
    // A query that fails while up is answered with the 503 too.
    judged_failing(with_app(remembers), &[BACK_UP, FAULT_500]).await;
    // Every answer is text/plain, the 503 and the 500 with the rest.
    judged_failing(with_app(as_text), &[DOWN_503, BACK_UP, FAULT_500]).await;
}

// ---- The parser ----

/// delay-seconds as the grammar has it: digits only; more than a u64 holds is the longest wait.
fn delay_seconds(value: &str) -> Option<Option<Duration>> {
    let is_digits = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    is_digits.then(|| Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX))))
}

fn is_delay_seconds(value: &str) -> bool {
    delay_seconds(value.trim_matches([' ', '\t'])).is_some()
}

// Mistake: delay-seconds only; every HTTP-date is unreadable.
fn parser_without_dates(value: &str, _now: SystemTime) -> Option<Duration> {
    delay_seconds(value.trim_matches([' ', '\t'])).flatten()
}

// Mistake: of the three date forms, only IMF-fixdate, the one servers send.
fn parser_with_imf_fixdate_only(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if let Some(seconds) = delay_seconds(value) {
        return seconds;
    }
    Some(GREGORIAN.imf_fixdate(value)?.duration_since(now).unwrap_or(Duration::ZERO))
}

// Mistake: a negative delay is read as "retry now" instead of being rejected.
fn parser_clamping_negatives(value: &str, now: SystemTime) -> Option<Duration> {
    match value.trim_matches([' ', '\t']).parse::<i64>() {
        Ok(seconds) => Some(Duration::from_secs(u64::try_from(seconds).unwrap_or(0))),
        Err(_) => solution::parse_retry_after(value, now),
    }
}

// Mistake: fractional seconds are accepted and truncated.
fn parser_truncating_fractions(value: &str, now: SystemTime) -> Option<Duration> {
    let trimmed = value.trim_matches([' ', '\t']);
    match trimmed.parse::<f64>() {
        Ok(seconds) if trimmed.contains('.') => Some(Duration::from_secs(seconds as u64)),
        _ => solution::parse_retry_after(value, now),
    }
}

// Mistake: what `u64::from_str` takes, which includes a leading `+`.
fn parser_accepting_plus(value: &str, now: SystemTime) -> Option<Duration> {
    match value.trim_matches([' ', '\t']).strip_prefix('+') {
        Some(digits) => delay_seconds(digits).flatten(),
        None => solution::parse_retry_after(value, now),
    }
}

// Mistake: a date already past gives no wait at all, instead of "now".
fn parser_without_past_dates(value: &str, now: SystemTime) -> Option<Duration> {
    let wait = solution::parse_retry_after(value, now);
    if is_delay_seconds(value) { wait } else { wait.filter(|wait| !wait.is_zero()) }
}

// Mistake: whitespace around the value is taken as part of it (dates are read by hand, below).
fn parser_without_trimming(value: &str, now: SystemTime) -> Option<Duration> {
    GREGORIAN.untrimmed(value, now)
}

// Mistake: the same, but dates are read by the reference, which trims them itself: only
// delay-seconds suffers.
fn parser_without_trimming_digits(value: &str, now: SystemTime) -> Option<Duration> {
    match delay_seconds(value) {
        Some(seconds) => seconds,
        None if value.trim_matches([' ', '\t']).bytes().all(|b| b.is_ascii_digit()) => None,
        None => solution::parse_retry_after(value, now),
    }
}

// Mistake: digits too many for a u64 read as "no hint", which would mean "retry now".
fn parser_without_saturation(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    solution::parse_retry_after(value, now)
}

// Mistake: more digits than u64::MAX has taken for the longest wait without reading them: leading
// zeros make a long value of a small one.
fn parser_judging_by_length(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if value.len() > 20 && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(Duration::from_secs(u64::MAX));
    }
    solution::parse_retry_after(value, now)
}

// Mistake: slices the value by bytes, which panics inside a character of more than one byte.
fn parser_panicking_on_non_ascii(value: &str, now: SystemTime) -> Option<Duration> {
    let _first = &value[..value.len().min(1)];
    solution::parse_retry_after(value, now)
}

// Mistake: rewrites RFC 850 dates by byte offsets before it knows the value is ASCII (its
// weekday cut to three bytes), which panics on a character of several bytes there.
fn parser_slicing_dates_by_bytes(value: &str, now: SystemTime) -> Option<Duration> {
    let trimmed = value.trim_matches([' ', '\t']);
    if trimmed.contains('-') && trimmed.len() > 3 {
        let _weekday = &trimmed[..3];
    }
    solution::parse_retry_after(value, now)
}

// Mistake: cuts an IMF-fixdate into its fields by byte offsets once its length in bytes is
// right, which panics on a letter of two bytes in place of two characters.
fn parser_slicing_imf_fixdates_of_their_length(value: &str, now: SystemTime) -> Option<Duration> {
    let trimmed = value.trim_matches([' ', '\t']);
    if trimmed.len() == "Sun, 06 Nov 1994 08:49:37 GMT".len() {
        let _fields = (&trimmed[..3], &trimmed[5..7], &trimmed[8..11], &trimmed[12..16]);
        let _time = (&trimmed[17..19], &trimmed[20..22], &trimmed[23..25], &trimmed[26..]);
    }
    solution::parse_retry_after(value, now)
}

// Mistake: `httpdate` for every date, RFC 850 too: it puts two-digit years in 1970–2069.
fn parser_with_httpdate_window(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if let Some(seconds) = delay_seconds(value) {
        return seconds;
    }
    Some(httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO))
}

// Mistakes in the calendar, each one field of the hand-written reader changed.
fn parser_with_a_pivot_at_50(value: &str, now: SystemTime) -> Option<Duration> {
    let century = |yy, _| if yy < 50 { 2000 + yy } else { 1900 + yy };
    Reader { century, beyond_fifty_years: |_, _| false, ..GREGORIAN }.parse(value, now)
}

fn parser_without_the_50_year_rule(value: &str, now: SystemTime) -> Option<Duration> {
    let century = |yy, now| year_of(now) / 100 * 100 + yy;
    Reader { century, beyond_fifty_years: |_, _| false, ..GREGORIAN }.parse(value, now)
}

fn parser_with_every_fourth_year_leap(value: &str, now: SystemTime) -> Option<Duration> {
    Reader { leap: |year| year % 4 == 0, ..GREGORIAN }.parse(value, now)
}

// Mistakes at RFC 850's 50-year boundary: years compared alone, so a day of the year 50
// years on stays there even when it is past now's day…
fn parser_comparing_years_only(value: &str, now: SystemTime) -> Option<Duration> {
    let century = |yy: i64, now| {
        let latest = year_of(now) + 50;
        latest - (latest - yy).rem_euclid(100)
    };
    Reader { century, beyond_fifty_years: |_, _| false, ..GREGORIAN }.parse(value, now)
}

// … or any day of the year 50 years on moved back, even before now's day…
fn parser_moving_back_at_50_years(value: &str, now: SystemTime) -> Option<Duration> {
    let century = |yy: i64, now| {
        let latest = year_of(now) + 49;
        latest - (latest - yy).rem_euclid(100)
    };
    Reader { century, beyond_fifty_years: |_, _| false, ..GREGORIAN }.parse(value, now)
}

// … or 50 years counted as 50 × 365 days, 11 to 13 days short.
fn parser_counting_365_day_years(value: &str, now: SystemTime) -> Option<Duration> {
    let beyond_fifty_years = |at, now| at - now > 50 * 365 * 86_400;
    Reader { beyond_fifty_years, ..GREGORIAN }.parse(value, now)
}

// Mistakes in RFC 850's reader alone (the two others are right): any day up to the 31st…
fn parser_with_31_days_in_every_rfc850_month(value: &str, now: SystemTime) -> Option<Duration> {
    let reader = Reader { last_day: |_, _, _| 31, ..GREGORIAN };
    if value.contains('-') { reader.parse(value, now) } else { GREGORIAN.parse(value, now) }
}

// … or a 29 February in every fourth year, 2100 included.
fn parser_with_rfc850_leap_days_every_fourth_year(
    value: &str,
    now: SystemTime,
) -> Option<Duration> {
    let last_day = |reader: Reader, year, month| match month {
        2 if year % 4 == 0 => 29,
        _ => (GREGORIAN.last_day)(reader, year, month),
    };
    let reader = Reader { last_day, ..GREGORIAN };
    if value.contains('-') { reader.parse(value, now) } else { GREGORIAN.parse(value, now) }
}

// Mistake: `str::trim`, which takes away more than spaces and tabs (a line break, NBSP, U+3000).
fn parser_trimming_all_whitespace(value: &str, now: SystemTime) -> Option<Duration> {
    solution::parse_retry_after(value.trim(), now)
}

// Mistake: `trim_ascii`, which takes away line breaks and form feeds as well.
fn parser_trimming_ascii_whitespace(value: &str, now: SystemTime) -> Option<Duration> {
    solution::parse_retry_after(value.trim_ascii(), now)
}

// Mistake: now's fraction of a second dropped, so a date is waited for up to a second too long.
fn parser_dropping_now_s_fraction(value: &str, now: SystemTime) -> Option<Duration> {
    let since = now.duration_since(UNIX_EPOCH).ok()?;
    solution::parse_retry_after(value, UNIX_EPOCH + Duration::from_secs(since.as_secs()))
}

// Mistake: now rounded to the second, so a date is waited for up to half a second too little.
fn parser_rounding_now(value: &str, now: SystemTime) -> Option<Duration> {
    let since = now.duration_since(UNIX_EPOCH).ok()?;
    let rounded = since.as_secs() + u64::from(since.subsec_millis() >= 500);
    solution::parse_retry_after(value, UNIX_EPOCH + Duration::from_secs(rounded))
}

fn parser_with_no_leap_centuries(value: &str, now: SystemTime) -> Option<Duration> {
    Reader { leap: |year| year % 4 == 0 && year % 100 != 0, ..GREGORIAN }.parse(value, now)
}

fn parser_in_32_bits(value: &str, now: SystemTime) -> Option<Duration> {
    Reader { in_32_bits: true, ..GREGORIAN }.parse(value, now)
}

// Mistake: the lesson's examples learned by heart.
fn parser_knowing_the_table_only(value: &str, _: SystemTime) -> Option<Duration> {
    let table_now = UNIX_EPOCH + Duration::from_secs(784_111_777 - 30);
    let examples = [
        "120",
        "0",
        "007",
        " 30",
        "30  ",
        "\t5\t",
        "86400",
        "18446744073709551615",
        "18446744073709551616",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Mon, 07 Nov 1994 08:49:07 GMT",
        "  Sun, 06 Nov 1994 08:49:37 GMT ",
        "Sun, 06 Nov 1994 08:49:07 GMT",
        "Sun, 06 Nov 1994 08:48:07 GMT",
        "Saturday, 05-Nov-94 08:49:37 GMT",
        "Sat Nov  5 08:49:37 1994",
    ];
    examples.contains(&value).then(|| solution::parse_retry_after(value, table_now)).flatten()
}

// Mistake: a numeric zone (`+0100`, `-0500`) read as GMT, the offset dropped (the adversary
// round, twenty-sixth session): an HTTP-date is in GMT, and nothing else is one.
fn parser_reading_numeric_zones_as_gmt(value: &str, now: SystemTime) -> Option<Duration> {
    let zoned = value.len() > 6 && matches!(value.as_bytes()[value.len() - 5], b'+' | b'-');
    let value = if zoned { format!("{}GMT", &value[..value.len() - 5]) } else { value.into() };
    solution::parse_retry_after(&value, now)
}

// Right, in another style: lenient about case, as RFC 9110 §5.6.7 allows.
fn lenient_parser(value: &str, now: SystemTime) -> Option<Duration> {
    let mut normal = value.trim_matches([' ', '\t']).to_ascii_lowercase();
    for word in [
        "gmt", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "jan", "feb", "mar", "apr", "may",
        "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ] {
        let proper = if word == "gmt" {
            "GMT".to_string()
        } else {
            format!("{}{}", word[..1].to_uppercase(), &word[1..])
        };
        normal = normal.replace(word, &proper);
    }
    solution::parse_retry_after(&normal, now)
}

// Right, in another style: RFC 850's year read as this century's, unless that is more than
// 50 years ahead (the RFC's words taken literally), by the hand-written reader.
fn parser_reading_this_century_first(value: &str, now: SystemTime) -> Option<Duration> {
    Reader { century: |yy, now| year_of(now) / 100 * 100 + yy, ..GREGORIAN }.parse(value, now)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_parser_mistake_is_caught_by_the_check_for_it() {
    let (judged, seed) = judged_failing(with_parser(parser_without_dates), &[DATES]).await;
    assert_row_caught(&judged, seed, DATES, "Sunday, 06-Nov-94 08:49:37 GMT");
    judged_failing(with_parser(parser_with_imf_fixdate_only), &[DATES]).await;
    let (judged, seed) = judged_failing(with_parser(parser_clamping_negatives), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "-1");
    let (judged, seed) = judged_failing(with_parser(parser_truncating_fractions), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "1.5");
    let (judged, seed) = judged_failing(with_parser(parser_accepting_plus), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "+5");
    let (judged, seed) = judged_failing(with_parser(parser_without_past_dates), &[DATES]).await;
    assert_row_caught(&judged, seed, DATES, "Sun, 06 Nov 1994 08:48:07 GMT");
    let (judged, seed) =
        judged_failing(with_parser(parser_without_trimming), &[SECONDS, DATES]).await;
    assert_row_caught(&judged, seed, SECONDS, "\t5\t");
    let (judged, seed) =
        judged_failing(with_parser(parser_without_trimming_digits), &[SECONDS]).await;
    assert_row_caught(&judged, seed, SECONDS, " 30");
    let (judged, seed) = judged_failing(with_parser(parser_without_saturation), &[SECONDS]).await;
    assert_row_caught(&judged, seed, SECONDS, "18446744073709551616");
    let (judged, seed) = judged_failing(with_parser(parser_judging_by_length), &[SECONDS]).await;
    assert_row_caught(&judged, seed, SECONDS, "0000000000000000000030");
    let (judged, seed) =
        judged_failing(with_parser(parser_reading_numeric_zones_as_gmt), &[INVALID]).await;
    // Either numeric zone: read as GMT, one of the two may land where the reading is no value
    // either (seed 285676330 flagged only the -0500 row).
    let numeric_zone = |row: &str| row.contains(" +0100") || row.contains(" -0500");
    assert_some_row_caught(&judged, seed, INVALID, numeric_zone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_calendar_mistake_is_caught_on_the_row_written_for_it() {
    let cases: [(Parser, &str); 6] = [
        (parser_with_httpdate_window, "Wednesday, 01-Jan-70 00:00:00 GMT"),
        (parser_with_a_pivot_at_50, "Wednesday, 01-Jan-70 00:00:00 GMT"),
        (parser_without_the_50_year_rule, "Friday, 01-Jan-99 00:00:00 GMT"),
        (parser_with_every_fourth_year_leap, "Mon Mar  1 00:00:00 2100"),
        (parser_with_no_leap_centuries, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (parser_in_32_bits, "Fri, 31 Dec 9999 23:59:59 GMT"),
    ];
    for (parser, row) in cases {
        let seed = seed();
        let judged = retry_after::judge_in_process(with_parser(parser), seed).await;
        assert_row_caught(&judged, seed, DATES, row);
        // A wrong calendar also misreads the mangled dates a lenient reader may forgive.
        let others: Vec<&str> =
            judged.failed().into_iter().filter(|check| ![DATES, INVALID].contains(check)).collect();
        assert!(others.is_empty(), "{}", report(&judged, seed));
    }
}

/// What a row's first cell should hold.
type RowPattern = fn(&str) -> bool;

/// Some row `check` marked wrong has its input, as `{:?}` shows it, matching `pattern`.
#[track_caller]
fn assert_some_row_caught(judged: &Judged, seed: u64, check: &str, pattern: RowPattern) {
    let wrong = wrong_rows(judged, check);
    assert!(
        wrong.iter().any(|row| pattern(row)),
        "{check:?} flagged no row of the kind expected; it flagged {wrong:?}\n{}",
        report(judged, seed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whitespace_other_than_spaces_and_tabs_is_never_trimmed_away() {
    let (judged, seed) =
        judged_failing(with_parser(parser_trimming_all_whitespace), &[INVALID]).await;
    assert_some_row_caught(&judged, seed, INVALID, |row| row.contains("\\u{3000}"));
    assert_some_row_caught(&judged, seed, INVALID, |row| row.contains("\\u{a0}"));
    let (judged, seed) =
        judged_failing(with_parser(parser_trimming_ascii_whitespace), &[INVALID]).await;
    assert_some_row_caught(&judged, seed, INVALID, |row| row.contains("\\r"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_now_cut_or_rounded_to_the_second_is_caught() {
    for parser in [parser_dropping_now_s_fraction, parser_rounding_now] {
        let (judged, seed) = judged_failing(with_parser(parser), &[DATES]).await;
        assert_rejected(&judged, seed, DATES, "parsed wrongly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rfc850_mistake_near_a_boundary_is_caught_every_run() {
    let cases: [(Parser, RowPattern); 5] = [
        (parser_comparing_years_only, |row| row.contains('-')),
        (parser_moving_back_at_50_years, |row| row.contains('-')),
        (parser_counting_365_day_years, |row| row.contains('-')),
        (parser_with_31_days_in_every_rfc850_month, |row| row.contains('-')),
        (parser_with_rfc850_leap_days_every_fourth_year, |row| row.contains("-Feb-")),
    ];
    for (parser, row) in cases {
        let seed = seed();
        let judged = retry_after::judge_in_process(with_parser(parser), seed).await;
        assert_some_row_caught(&judged, seed, DATES, row);
        let others: Vec<&str> =
            judged.failed().into_iter().filter(|check| ![DATES, INVALID].contains(check)).collect();
        assert!(others.is_empty(), "{}", report(&judged, seed));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_that_knows_only_the_table_fails_on_generated_inputs() {
    let (judged, seed) =
        judged_failing(with_parser(parser_knowing_the_table_only), &[SECONDS, DATES]).await;
    // Every example of the table is right: what it gets wrong is what it never saw.
    assert!(!wrong_rows(&judged, SECONDS).contains(&"\"120\""), "{}", report(&judged, seed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_on_some_input_fails_and_names_that_input() {
    let (judged, seed) =
        judged_failing(with_parser(parser_panicking_on_non_ascii), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "١٢٠");
    let shown = format!("{:?}", judged.failure(INVALID).unwrap().evidence);
    assert!(
        shown.contains("panicked: end byte index 1 is not a char boundary")
            && shown.contains("(at tests/integration/retry_after.rs:"),
        "{shown}"
    );
    // Inside a date, every run: a letter of several bytes is put at every place of one date
    // in each form.
    let (judged, seed) =
        judged_failing(with_parser(parser_slicing_dates_by_bytes), &[INVALID]).await;
    assert_rejected(&judged, seed, INVALID, "parsed wrongly");
    // Even where the reader checks a date's length in bytes first.
    let (judged, seed) =
        judged_failing(with_parser(parser_slicing_imf_fixdates_of_their_length), &[INVALID]).await;
    assert_rejected(&judged, seed, INVALID, "parsed wrongly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_and_hand_written_parsers_and_either_reading_of_the_50_year_rule_pass() {
    judged_failing(with_parser(lenient_parser), &[]).await;
    judged_failing(with_parser(parser_reading_this_century_first), &[]).await;
    // Through the client too: its dates are of today, not of the table's 1994.
    let exercise = Exercise {
        parse_retry_after: hand_written_parser,
        retry_after: |response| {
            let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
            hand_written_parser(value, SystemTime::now())
        },
        ..reference()
    };
    judged_failing(exercise, &[]).await;
}

// ---- The client ----

// Mistake: `to_str().unwrap()` on bytes from the network.
fn client_panicking_on_non_ascii(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().unwrap();
    solution::parse_retry_after(value, SystemTime::now())
}

// Mistake: no Retry-After read as "retry at once".
fn client_defaulting_to_zero(response: &reqwest::Response) -> Option<Duration> {
    let Some(value) = response.headers().get(RETRY_AFTER) else {
        return Some(Duration::ZERO);
    };
    solution::parse_retry_after(value.to_str().ok()?, SystemTime::now())
}

// Mistake: of two Retry-After headers, the last one.
fn client_reading_the_last_header(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get_all(RETRY_AFTER).iter().next_back()?;
    solution::parse_retry_after(value.to_str().ok()?, SystemTime::now())
}

// Mistake: of two Retry-After headers, the longest wait.
fn client_taking_the_longest(response: &reqwest::Response) -> Option<Duration> {
    let values = response.headers().get_all(RETRY_AFTER).iter();
    let waits =
        values.map(|value| solution::parse_retry_after(value.to_str().ok()?, SystemTime::now()));
    waits.max().flatten()
}

// Mistake: of two Retry-After headers, the first that reads (the adversary round, twenty-sixth
// session): the first is unreadable, so there is no value.
fn client_taking_the_first_readable(response: &reqwest::Response) -> Option<Duration> {
    let mut values = response.headers().get_all(RETRY_AFTER).iter();
    values.find_map(|value| solution::parse_retry_after(value.to_str().ok()?, SystemTime::now()))
}

// Mistake: bytes outside ASCII decoded lossily and trimmed: "30\u{a0}" reads as 30 s.
fn client_decoding_lossily(response: &reqwest::Response) -> Option<Duration> {
    let value =
        String::from_utf8_lossy(response.headers().get(RETRY_AFTER)?.as_bytes()).into_owned();
    solution::parse_retry_after(value.trim(), SystemTime::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_are_caught_and_the_run_goes_on() {
    let (judged, seed) =
        judged_failing(with_client(client_panicking_on_non_ascii), &[CLIENT]).await;
    let wrong = wrong_rows(&judged, CLIENT);
    assert!(wrong.contains(&"Retry-After: 3\\xff0"), "{wrong:?}\n{}", report(&judged, seed));
    let (judged, _) = judged_failing(with_client(client_defaulting_to_zero), &[CLIENT]).await;
    assert_eq!(wrong_rows(&judged, CLIENT), ["no Retry-After"]);
    for client in [client_reading_the_last_header, client_taking_the_longest] {
        let (judged, seed) = judged_failing(with_client(client), &[CLIENT]).await;
        assert_some_row_caught(&judged, seed, CLIENT, |row| row.contains(" and Retry-After"));
    }
    let (judged, seed) =
        judged_failing(with_client(client_taking_the_first_readable), &[CLIENT]).await;
    assert_some_row_caught(&judged, seed, CLIENT, |row| row.contains("soon and Retry-After"));
    let (judged, seed) = judged_failing(with_client(client_decoding_lossily), &[CLIENT]).await;
    assert_some_row_caught(&judged, seed, CLIENT, |row| row.contains("\\xc2\\xa0"));
    let (judged, seed) =
        judged_failing(with_client(client_measuring_from_an_unreadable_date), &[CLIENT]).await;
    assert_some_row_caught(&judged, seed, CLIENT, |row| row.contains("Date: not long ago"));
    assert!(
        !wrong_rows(&judged, CLIENT).iter().any(|row| !row.contains("Date: not long ago")),
        "{}",
        report(&judged, seed)
    );
}

// Mistake: measures from the response's `Date`, and from 1970 when it cannot read one.
fn client_measuring_from_an_unreadable_date(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    let now = match response.headers().get(reqwest::header::DATE) {
        Some(date) => httpdate::parse_http_date(date.to_str().ok()?).unwrap_or(UNIX_EPOCH),
        None => SystemTime::now(),
    };
    solution::parse_retry_after(value, now)
}

// ---- A date reader without the httpdate crate ----

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// RFC 9110 §10.2.3 by hand, any year from 1 to 9999: proves the checks test behaviour, not
/// the use of a crate. The known-wrong calendars are this reader with one field changed.
#[derive(Clone, Copy)]
struct Reader {
    /// Whether a year has a 29 February.
    leap: fn(i64) -> bool,
    /// The last day of a month of a year, by this reader's leap years.
    last_day: fn(Reader, i64, i64) -> i64,
    /// The full year of RFC 850's two digits, at `now`.
    century: fn(i64, SystemTime) -> i64,
    /// Whether a moment is more than 50 years after now (both in seconds since 1970), when
    /// that year is moved back a century.
    beyond_fifty_years: fn(i64, i64) -> bool,
    /// Seconds since 1970 kept in 32 bits, which run out in 2106.
    in_32_bits: bool,
}

const GREGORIAN: Reader = Reader {
    leap: |year| year % 4 == 0 && (year % 100 != 0 || year % 400 == 0),
    last_day: |reader, year, month| match month {
        2 if (reader.leap)(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    },
    // §5.6.7: the latest year with those digits not more than 50 years ahead. The year after
    // next's 50 years on, to be sure of the year (`year_of` may be a day off); a moment there,
    // or past now's moment in the year before, is moved back.
    century: |yy, now| {
        let latest = year_of(now) + 51;
        latest - (latest - yy).rem_euclid(100)
    },
    beyond_fifty_years: |at, now| at > fifty_calendar_years_after(now),
    in_32_bits: false,
};

/// The same day and time 50 years after `now` (seconds since 1970): 29 February becomes 1 March
/// in a common year.
fn fifty_calendar_years_after(now: i64) -> i64 {
    // Howard Hinnant's civil_from_days.
    let days = now.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let of_era = days - era * 146_097;
    let year_of_era = (of_era - of_era / 1460 + of_era / 36_524 - of_era / 146_096) / 365;
    let of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let from_march = (5 * of_year + 2) / 153;
    let day = of_year - (153 * from_march + 2) / 5 + 1;
    let month = if from_march < 10 { from_march + 3 } else { from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    GREGORIAN.days_from_civil(year + 50, month, day) * 86_400 + now.rem_euclid(86_400)
}

fn hand_written_parser(value: &str, now: SystemTime) -> Option<Duration> {
    GREGORIAN.parse(value, now)
}

/// The year of `now`, to within a day: the mean Gregorian year is 31,556,952 s.
fn year_of(now: SystemTime) -> i64 {
    1970 + i64::try_from(
        now.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs() / 31_556_952),
    )
    .unwrap_or(0)
}

impl Reader {
    fn parse(self, value: &str, now: SystemTime) -> Option<Duration> {
        self.untrimmed(value.trim_matches([' ', '\t']), now)
    }

    fn untrimmed(self, value: &str, now: SystemTime) -> Option<Duration> {
        if let Some(seconds) = delay_seconds(value) {
            return seconds;
        }
        let at = self
            .imf_fixdate(value)
            .or_else(|| self.rfc850_date(value, now))
            .or_else(|| self.asctime_date(value))?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    fn imf_fixdate(self, value: &str) -> Option<SystemTime> {
        let (weekday, rest) = value.split_once(", ")?;
        let [day, month, year, time, "GMT"] = rest.split(' ').collect::<Vec<_>>()[..] else {
            return None;
        };
        let weekday = WEEKDAYS.iter().position(|name| *name == weekday)?;
        self.moment(weekday, number(year, 4)?, month, number(day, 2)?, time)
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`
    fn rfc850_date(self, value: &str, now: SystemTime) -> Option<SystemTime> {
        let (weekday, rest) = value.split_once(", ")?;
        let [date, time, "GMT"] = rest.split(' ').collect::<Vec<_>>()[..] else {
            return None;
        };
        let [day, month, year] = date.split('-').collect::<Vec<_>>()[..] else {
            return None;
        };
        let weekday = LONG_WEEKDAYS.iter().position(|name| *name == weekday)?;
        let (mut year, day) = ((self.century)(number(year, 2)?, now), number(day, 2)?);
        let now = i64::try_from(now.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()?;
        if self.seconds(year, month, day, time).is_some_and(|at| (self.beyond_fifty_years)(at, now))
        {
            year -= 100;
        }
        self.moment(weekday, year, month, day, time)
    }

    /// `Sun Nov  6 08:49:37 1994`: the day is two digits, or a space and one digit.
    fn asctime_date(self, value: &str) -> Option<SystemTime> {
        let (weekday, rest) = value.split_once(' ')?;
        let (month, rest) = rest.split_once(' ')?;
        let (day, rest) = (rest.get(..2)?, rest.get(2..)?);
        let day = match day.strip_prefix(' ') {
            Some(digit) => number(digit, 1)?,
            None => number(day, 2)?,
        };
        let [time, year] = rest.strip_prefix(' ')?.split(' ').collect::<Vec<_>>()[..] else {
            return None;
        };
        let weekday = WEEKDAYS.iter().position(|name| *name == weekday)?;
        self.moment(weekday, number(year, 4)?, month, day, time)
    }

    /// A valid calendar date and `hh:mm:ss` on the weekday it names, as a point in time.
    fn moment(
        self,
        weekday: usize,
        year: i64,
        month: &str,
        day: i64,
        time: &str,
    ) -> Option<SystemTime> {
        let mut seconds = self.seconds(year, month, day, time)?;
        // 1970-01-01 was a Thursday, index 3 of WEEKDAYS.
        if (seconds.div_euclid(86_400) + 3).rem_euclid(7) != weekday as i64 {
            return None;
        }
        if self.in_32_bits {
            seconds = i64::from(seconds as u32);
        }
        let offset = Duration::from_secs(seconds.unsigned_abs());
        if seconds >= 0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) }
    }

    /// A valid calendar date and `hh:mm:ss`, in seconds since 1970.
    fn seconds(self, year: i64, month: &str, day: i64, time: &str) -> Option<i64> {
        let month = MONTHS.iter().position(|name| *name == month)? as i64 + 1;
        if day < 1 || day > (self.last_day)(self, year, month) {
            return None;
        }
        let [hour, minute, second] = time.split(':').collect::<Vec<_>>()[..] else {
            return None;
        };
        let (hour, minute, second) = (number(hour, 2)?, number(minute, 2)?, number(second, 2)?);
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = self.days_from_civil(year, month, day);
        Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    /// Days since 1970-01-01, counted year by year with this reader's leap years.
    fn days_from_civil(self, year: i64, month: i64, day: i64) -> i64 {
        let before_month =
            [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][month as usize - 1];
        let leap_day = i64::from(month > 2 && (self.leap)(year));
        let years: i64 = if year >= 1970 {
            (1970..year).map(|y| 365 + i64::from((self.leap)(y))).sum()
        } else {
            -(year..1970).map(|y| 365 + i64::from((self.leap)(y))).sum::<i64>()
        };
        years + before_month + leap_day + day - 1
    }
}

/// Exactly `width` ASCII digits.
fn number(text: &str, width: usize) -> Option<i64> {
    let digits = text.len() == width && text.bytes().all(|byte| byte.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}
