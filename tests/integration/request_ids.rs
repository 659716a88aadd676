//! Lesson "request ids"' judge, run in process against its solution, its starter, right answers
//! in other styles (a hand-written middleware with the id on each event; a span with the id as
//! a field, the id in `instance`, time-ordered ids), and one known-wrong service per mistake,
//! each caught by the check written for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use futures_util::future::join_all;
use httplings::fixtures::{Database, DbErrorKind, Upstream};
use httplings::lessons::request_ids::App;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::request_ids::{self, CHECKS};
use serde_json::{Value, json};

use crate::support::{assert_failed, assert_rejected, caught_by, seed};

#[path = "../../solutions/10_request_ids.rs"]
mod solution;

#[path = "../../exercises/.starters/10_request_ids.rs"]
mod starter;

const SERVED: &str = CHECKS[0];
const HEADER: &str = CHECKS[1];
const KEPT: &str = CHECKS[2];
const REPLACED: &str = CHECKS[3];
const PROBLEM: &str = CHECKS[4];
const NO_LEAK: &str = CHECKS[5];
const LOGGED: &str = CHECKS[6];
const UPSTREAM: &str = CHECKS[7];
const UNIQUE: &str = CHECKS[8];

/// Judges every app at once, each against the checks it must fail.
async fn judged_failing(cases: &[(App, &[&str])]) -> Vec<(Judged, u64)> {
    let judged = join_all(cases.iter().map(|(app, expected)| async move {
        let seed = seed();
        (request_ids::judge_in_process(*app, seed).await, seed, *expected)
    }))
    .await;
    judged
        .into_iter()
        .map(|(judged, seed, expected)| {
            assert_failed(&judged, seed, CHECKS, expected);
            (judged, seed)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_and_the_starter_fails_usefully() {
    let judged = judged_failing(&[
        (solution::app, &[]),
        (starter::app, &[HEADER, KEPT, REPLACED, PROBLEM, LOGGED, UPSTREAM, UNIQUE]),
    ])
    .await;
    let (starter, seed) = &judged[1];
    assert_rejected(starter, *seed, PROBLEM, "not RFC 9457 problem details");
}

/// The adversary round's right answers: a hand-written middleware with ULID-like ids, the id in
/// `instance`, problem types of its own and every error (405 and 400 too) as problem details;
/// and tower-http's request-id layers with 32-hex ids, a task-local id for the error type, the
/// cause logged in TraceLayer's span and `traceparent` passed on with a parent of its own.
#[path = "request_ids/handmade.rs"]
mod handmade;

#[path = "request_ids/tower_layers.rs"]
mod layers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_answers_in_other_styles_pass() {
    judged_failing(&[
        (with!(), &[]),
        (spanned::app, &[]),
        (handmade::app, &[]),
        (layers::app, &[]),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wrong_id_is_caught_by_the_check_for_its_rule() {
    let judged = judged_failing(&[
        (with!(incoming: Incoming::EchoAny), &[HEADER, REPLACED]),
        // What is left of a bad id is the same each time it comes.
        (with!(incoming: Incoming::Sanitised), &[REPLACED, UNIQUE]),
        (with!(incoming: Incoming::Ignored), &[KEPT]),
        (with!(logs_rejected: true), &[REPLACED]),
        (with!(fresh: Fresh::PerProcess), &[UNIQUE]),
        (with!(fresh: Fresh::Counter), &[UNIQUE]),
        (with!(fresh: Fresh::ConstantSeed), &[UNIQUE]),
        (with!(fresh: Fresh::Clock), &[UNIQUE]),
        (with!(fresh: Fresh::Monotonic), &[UNIQUE]),
        (with!(max_length: 129), &[HEADER, REPLACED]),
        (with!(max_length: 127), &[KEPT]),
        // Found by the adversary round: each passed every check before.
        (with!(also_trusts: b':'), &[HEADER, REPLACED]),
        (with!(also_trusts: b'+'), &[HEADER, REPLACED]),
        (with!(first_of_many: true), &[REPLACED]),
        // The second adversary round: bytes checked as Latin-1 chars.
        (with!(bytes_as_latin1: true), &[HEADER, REPLACED]),
        // The third: the replacement a hash of the rejected id, the check for GETs only, two
        // equal lines taken for one, and ids with ".." replaced.
        (with!(hashes_rejected: true), &[UNIQUE]),
        (with!(checks_gets_only: true), &[HEADER, REPLACED]),
        (with!(merges_equal_lines: true), &[REPLACED]),
        (with!(rejects_dot_dot: true), &[KEPT]),
    ])
    .await;
    let (per_process, seed) = &judged[4];
    assert_rejected(per_process, *seed, UNIQUE, "the same fresh id");
    let (counter, seed) = &judged[5];
    assert_rejected(counter, *seed, UNIQUE, "they can be guessed");
    let (clock, seed) = &judged[7];
    assert_rejected(clock, *seed, UNIQUE, "they can be guessed");
    let (monotonic, seed) = &judged[8];
    assert_rejected(monotonic, *seed, UNIQUE, "the other a step on");
    let (hashed, seed) = &judged[15];
    assert_rejected(hashed, *seed, UNIQUE, "made from the rejected id");
    let (gets_only, seed) = &judged[16];
    assert_rejected(gets_only, *seed, REPLACED, "(not a fresh id)");
    let (merged, seed) = &judged[17];
    assert_rejected(merged, *seed, REPLACED, "reached a response header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_on_the_routes_alone_are_caught_on_the_routers_own_404() {
    let seed = seed();
    let judged = request_ids::judge_in_process(with!(routes_only: true), seed).await;
    let failed = judged.failed();
    let shown = crate::support::report(&judged, seed);
    assert!(failed.contains(&HEADER) && failed.contains(&PROBLEM), "{shown}");
    // Whether an id was sent to an unknown path, good or bad, is the seed's to decide.
    assert!(
        failed.iter().all(|check| [HEADER, PROBLEM, KEPT, REPLACED].contains(check)),
        "{shown}"
    );
    assert_rejected(&judged, seed, HEADER, "/no-such-route/here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wrong_join_is_caught_by_the_check_for_its_rule() {
    let judged = judged_failing(&[
        (with!(body_id: BodyId::Fresh), &[PROBLEM]),
        (with!(body_id: BodyId::Missing), &[PROBLEM]),
        (with!(course_json: true), &[PROBLEM]),
        (with!(leaks_cause: true), &[NO_LEAK]),
        (with!(logs_id: false), &[LOGGED]),
        (with!(logs_twice: true), &[LOGGED]),
        (with!(upstream_id: false), &[UPSTREAM]),
        (with!(forwards_traceparent: true), &[UPSTREAM]),
        (with!(shared_current: true), &[PROBLEM, LOGGED, UPSTREAM]),
        // Found by the adversary round: each passed every check before.
        (with!(leaks_reason: true), &[NO_LEAK]),
        (with!(layer_error_line: true), &[LOGGED]),
        (with!(logs_error_text: true), &[LOGGED]),
        (with!(plain_rejections: true), &[PROBLEM]),
        // The second adversary round: a failure logged at WARN, or without the database's host
        // and reason.
        (with!(logs_at_warn: true), &[LOGGED]),
        (with!(logs_query_only: true), &[LOGGED]),
        // The third: the error's text logged only when the database is down.
        (with!(logs_text_when_down: true), &[LOGGED]),
        // A shipping service that cannot be asked (a reset, a timeout): no line, or a 503.
        (with!(unanswered_unlogged: true), &[LOGGED]),
        (with!(unanswered_503: true), &[SERVED]),
        // The 502's title another status's phrase; axum's rejection text in the 400's detail.
        (with!(title_503_on_502: true), &[PROBLEM]),
        (with!(detail_on_400: true), &[NO_LEAK]),
        // One traceparent parent id for every call.
        (with!(constant_parent: true), &[UPSTREAM]),
        // The fifth adversary round (twenty-sixth session): a 200 that is no shipment answered
        // 502 without a line.
        (with!(garbled_unlogged: true), &[LOGGED]),
        // And the request span at DEBUG, which production's filter disables.
        (spanned::app_at_debug, &[LOGGED]),
        // RFC 9110: a 405 must say which methods the resource takes (the adversary round).
        (with!(drops_allow: true), &[SERVED]),
        // The shipping service's status in the 502 (the fourth adversary round).
        (with!(details_shipping_status: true), &[NO_LEAK]),
        // The sixth adversary round: the error's text, its password masked by a pattern that
        // ends at the first `@` (the password holds one).
        (with!(logs_text_masked_to_first_at: true), &[LOGGED]),
    ])
    .await;
    let (shared, seed) = &judged[8];
    assert_rejected(shared, *seed, UPSTREAM, "the id of another request");
    let (plain, seed) = &judged[12];
    assert_rejected(plain, *seed, PROBLEM, "Content-Type: ");
    let (warned, seed) = &judged[13];
    assert_rejected(warned, *seed, LOGGED, "is at WARN, not ERROR");
    let (down, seed) = &judged[15];
    assert_rejected(down, *seed, LOGGED, "the database's password");
    let (masked, seed) = &judged[judged.len() - 1];
    assert_rejected(masked, *seed, LOGGED, "eight characters of it in a row");
    let (no_allow, seed) = &judged[judged.len() - 3];
    assert_rejected(no_allow, *seed, SERVED, "405 with an Allow header naming GET");
    let (titled, seed) = &judged[18];
    assert_rejected(titled, *seed, PROBLEM, "the status's own phrase (Bad Gateway)");
    let (detailed, seed) = &judged[19];
    assert_rejected(detailed, *seed, NO_LEAK, "quotes the path in its \"detail\"");
    let (constant, seed) = &judged[20];
    assert_rejected(constant, *seed, UPSTREAM, "another call has too");
    let (unlogged, seed) = &judged[16];
    assert_rejected(unlogged, *seed, LOGGED, "the shipping service did not answer");
    let (garbled, seed) = &judged[21];
    assert_rejected(garbled, *seed, LOGGED, "the shipping service's 200 was no shipment");
    // And an order's number wrapped into a u32: answered as another order, whose shipping
    // call carries this request's id (seen as such when that order is asked for too).
    let drawn = crate::support::seed();
    let wraps = request_ids::judge_in_process(with!(wraps_order_number: true), drawn).await;
    caught_by(&wraps, drawn, SERVED, &[UPSTREAM]);
    assert_rejected(&wraps, drawn, SERVED, "GET /orders/429");
    let (status, seed) = &judged[judged.len() - 2];
    assert_rejected(status, *seed, NO_LEAK, "the status the shipping service failed with");
}

/// What a service does with an incoming id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Incoming {
    /// Kept when 1 to 128 of A-Z a-z 0-9 . _ -, replaced otherwise.
    Checked,
    /// Kept, whatever it is.
    EchoAny,
    /// Its bad characters removed, the rest kept.
    Sanitised,
    /// Never kept: always a fresh one.
    Ignored,
}

/// How a service makes a fresh id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fresh {
    Uuid,
    /// One id, made once per process.
    PerProcess,
    /// 1, 2, 3… per process.
    Counter,
    /// From a generator seeded with a constant.
    ConstantSeed,
    /// The clock, in nanoseconds.
    Clock,
    /// A millisecond clock and 80 random bits, counted up within a millisecond (a monotonic
    /// ULID's way).
    Monotonic,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyId {
    Same,
    /// Another fresh id than the header's.
    Fresh,
    Missing,
}

/// A service, piece by piece: [`RIGHT`], then one mistake per known-wrong answer.
#[derive(Clone, Copy)]
struct Behaviour {
    incoming: Incoming,
    fresh: Fresh,
    body_id: BodyId,
    /// The course's JSON error instead of problem details.
    course_json: bool,
    /// The cause in the problem's `detail`.
    leaks_cause: bool,
    logs_id: bool,
    logs_twice: bool,
    /// Whether a rejected incoming id is logged (escaped) as a warning.
    logs_rejected: bool,
    upstream_id: bool,
    forwards_traceparent: bool,
    /// The id kept in one place for the whole service, read back after the shipping call.
    shared_current: bool,
    /// The middleware with `route_layer`: the router's own 404 gets no id.
    routes_only: bool,
    /// The longest incoming id kept.
    max_length: usize,
    /// A character outside the charset also trusted in incoming ids (0 for none).
    also_trusts: u8,
    /// The first of several x-request-id lines kept.
    first_of_many: bool,
    /// Each byte of an incoming id read as a Latin-1 char, and trusted when alphanumeric.
    bytes_as_latin1: bool,
    /// A rejected id replaced by a hash of it: the same bad id always gets the same one.
    hashes_rejected: bool,
    /// Incoming ids checked on GETs only; other methods keep whatever came.
    checks_gets_only: bool,
    /// Two equal x-request-id lines taken for one, and kept.
    merges_equal_lines: bool,
    /// A well-formed id holding ".." replaced all the same.
    rejects_dot_dot: bool,
    /// The database's reason (and nothing else of its error) in the 500's `detail`.
    leaks_reason: bool,
    /// An ERROR line of the middleware's for every 5xx, besides the handler's with the cause.
    layer_error_line: bool,
    /// The database error logged as its text, connection string and password included.
    logs_error_text: bool,
    /// The database error logged as its text, the password masked up to the first `@`.
    logs_text_masked_to_first_at: bool,
    /// axum's own 405 and 400 left as they come: plain text, no id in the body.
    plain_rejections: bool,
    /// The failure's line at WARN, not ERROR.
    logs_at_warn: bool,
    /// The database error's query id alone, without its host and reason.
    logs_query_only: bool,
    /// The database error's text (password and all) logged when the database is down.
    logs_text_when_down: bool,
    /// A shipping service that cannot be asked answered 502 with no line logged.
    unanswered_unlogged: bool,
    /// A shipping service that cannot be asked (or times out) answered 503.
    unanswered_503: bool,
    /// The 502's about:blank title "Service Unavailable".
    title_503_on_502: bool,
    /// axum's rejection text in the 400's `detail`.
    detail_on_400: bool,
    /// The caller's trace passed on with one parent id for every call.
    constant_parent: bool,
    /// A route that takes every method and answers a 405 by hand, without `Allow`.
    drops_allow: bool,
    /// The 502's `detail` says the status the shipping service answered (and no more).
    details_shipping_status: bool,
    /// Whether a 200 from the shipping service that is no shipment is answered 502 without a
    /// line in the log.
    garbled_unlogged: bool,
    /// Whether the order's number is read as a u64 and cut to a u32 (`as`), wrapping past 2³².
    wraps_order_number: bool,
}

const RIGHT: Behaviour = Behaviour {
    incoming: Incoming::Checked,
    fresh: Fresh::Uuid,
    body_id: BodyId::Same,
    course_json: false,
    leaks_cause: false,
    logs_id: true,
    logs_twice: false,
    logs_rejected: false,
    upstream_id: true,
    forwards_traceparent: false,
    shared_current: false,
    routes_only: false,
    max_length: 128,
    also_trusts: 0,
    first_of_many: false,
    bytes_as_latin1: false,
    hashes_rejected: false,
    checks_gets_only: false,
    merges_equal_lines: false,
    rejects_dot_dot: false,
    leaks_reason: false,
    layer_error_line: false,
    logs_error_text: false,
    logs_text_masked_to_first_at: false,
    plain_rejections: false,
    logs_at_warn: false,
    logs_query_only: false,
    logs_text_when_down: false,
    unanswered_unlogged: false,
    unanswered_503: false,
    title_503_on_502: false,
    detail_on_400: false,
    constant_parent: false,
    drops_allow: false,
    details_shipping_status: false,
    garbled_unlogged: false,
    wraps_order_number: false,
};

/// A known-wrong service: `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        |db, shipping| knobbed(db, shipping, Behaviour { $($field: $value,)* ..RIGHT })
    };
}
use with;

#[derive(Clone)]
struct Knobbed {
    db: Database,
    shipping: Upstream,
    client: reqwest::Client,
    behaviour: Behaviour,
    current: Arc<Mutex<String>>,
}

/// This request's id, as the middleware chose it.
#[derive(Clone)]
struct Rid(String);

fn knobbed(db: Database, shipping: Upstream, behaviour: Behaviour) -> Router {
    let client = reqwest::Client::builder().timeout(shipping.timeout()).build().unwrap();
    let state = Knobbed { db, shipping, client, behaviour, current: Arc::default() };
    // Every method taken, and all but GET turned away by hand: a 405 with no `Allow` (the
    // method router adds one to its own 405s, even through a middleware that remakes them).
    let orders = if behaviour.drops_allow { any(by_hand) } else { get(knobbed_order) };
    let router = Router::new().route("/orders/{id}", orders).fallback(
        |Extension(Rid(id)): Extension<Rid>| async move {
            problem(StatusCode::NOT_FOUND, &id, None, RIGHT)
        },
    );
    let with_ids = middleware::from_fn_with_state(state.clone(), assign_id);
    if behaviour.routes_only {
        // The fallback needs the extension; without the middleware it gets none, so it answers
        // the plain 404 of a router that was never given one.
        Router::new()
            .route("/orders/{id}", get(knobbed_order))
            .route_layer(with_ids)
            .with_state(state)
    } else {
        router.layer(with_ids).with_state(state)
    }
}

/// The request's one `x-request-id`: none when it has two lines or more.
fn only_one(headers: &axum::http::HeaderMap) -> Option<&HeaderValue> {
    let mut lines = headers.get_all("x-request-id").iter();
    match (lines.next(), lines.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

fn trusted(id: &str) -> bool {
    trusted_up_to(id, 128)
}

fn trusted_up_to(id: &str, max_length: usize) -> bool {
    (1..=max_length).contains(&id.len())
        && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

fn fresh_id(fresh: Fresh) -> String {
    static ONCE: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        // In a process of its own each learner would start from the constant; in process they
        // share statics, so each worker thread starts from it instead, and repeats the other's.
        static SEEDED: std::cell::RefCell<fastrand::Rng> =
            const { std::cell::RefCell::new(fastrand::Rng::with_seed(42)) };
    }
    match fresh {
        Fresh::Uuid => uuid::Uuid::new_v4().to_string(),
        Fresh::PerProcess => ONCE.get_or_init(|| uuid::Uuid::new_v4().to_string()).clone(),
        Fresh::Counter => format!("req-{:08}", COUNTER.fetch_add(1, Ordering::SeqCst) + 1),
        Fresh::ConstantSeed => SEEDED.with(|rng| format!("{:032x}", rng.borrow_mut().u128(..))),
        Fresh::Clock => {
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos().to_string()
        }
        Fresh::Monotonic => {
            static LAST: Mutex<(u128, u128)> = Mutex::new((0, 0));
            let millis = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
            let mut last = LAST.lock().unwrap();
            let random =
                if last.0 == millis { last.1 + 1 } else { uuid::Uuid::new_v4().as_u128() >> 48 };
            *last = (millis, random);
            format!("{millis:012x}{random:020x}")
        }
    }
}

/// 128 bits of a fixed hash of `id`: it looks random, and is the same for the same id.
fn hashed(id: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |salt: u8| {
        let mut hasher = DefaultHasher::new();
        (salt, id).hash(&mut hasher);
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

async fn assign_id(State(service): State<Knobbed>, mut request: Request, next: Next) -> Response {
    let behaviour = service.behaviour;
    let first = request.headers().get("x-request-id");
    let lines = request.headers().get_all("x-request-id");
    let all_equal = lines.iter().all(|line| Some(line) == first);
    let incoming = if behaviour.first_of_many || behaviour.merges_equal_lines && all_equal {
        first
    } else {
        only_one(request.headers())
    }
    .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let more_lines = lines.iter().count() > 1;
    let checked = if behaviour.checks_gets_only && request.method() != axum::http::Method::GET {
        Incoming::EchoAny
    } else {
        behaviour.incoming
    };
    let id = match (incoming, checked) {
        (Some(id), Incoming::EchoAny) => id,
        (Some(id), Incoming::Sanitised) => id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(128)
            .collect(),
        (Some(id), Incoming::Checked)
            if trusted_up_to(&id, behaviour.max_length)
                && !(behaviour.rejects_dot_dot && id.contains("..")) =>
        {
            id
        }
        (Some(id), Incoming::Checked)
            if behaviour.bytes_as_latin1
                && (1..=128).contains(&id.len())
                && id.bytes().all(|byte| {
                    char::from(byte).is_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
                }) =>
        {
            id
        }
        (Some(id), Incoming::Checked)
            if behaviour.also_trusts != 0
                && trusted(&id.replace(char::from(behaviour.also_trusts), "-")) =>
        {
            id
        }
        (Some(id), _) => {
            if behaviour.logs_rejected {
                tracing::warn!(incoming = ?id, "replaced an untrusted request id");
            }
            if behaviour.hashes_rejected { hashed(&id) } else { fresh_id(behaviour.fresh) }
        }
        (None, _) if more_lines && behaviour.logs_rejected => {
            tracing::warn!("replaced untrusted request ids");
            fresh_id(behaviour.fresh)
        }
        (None, _) => fresh_id(behaviour.fresh),
    };
    let id = if id.is_empty() { fresh_id(behaviour.fresh) } else { id };
    *service.current.lock().unwrap() = id.clone();
    request.extensions_mut().insert(Rid(id.clone()));
    let response = next.run(request).await;
    if behaviour.layer_error_line && response.status().is_server_error() {
        tracing::error!(request_id = %id, status = %response.status(), "response failed");
    }
    // axum's own rejections (a 405, a 400 from `Path`) come as plain text: made problem
    // details here, once for every route.
    let plain = response.headers().get(header::CONTENT_TYPE)
        != Some(&HeaderValue::from_static("application/problem+json"));
    let mut response =
        if response.status().is_client_error() && plain && !behaviour.plain_rejections {
            problem(response.status(), &id, None, behaviour)
        } else {
            response
        };
    if let Ok(value) = HeaderValue::from_bytes(id.as_bytes()) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

async fn by_hand(
    method: axum::http::Method,
    service: State<Knobbed>,
    own: Extension<Rid>,
    order_id: Path<u64>,
    headers: axum::http::HeaderMap,
) -> Response {
    if method == axum::http::Method::GET {
        knobbed_order(service, own, order_id, headers).await
    } else {
        StatusCode::METHOD_NOT_ALLOWED.into_response()
    }
}

async fn knobbed_order(
    State(service): State<Knobbed>,
    Extension(Rid(own)): Extension<Rid>,
    Path(asked): Path<u64>,
    headers: axum::http::HeaderMap,
) -> Response {
    let behaviour = service.behaviour;
    // The id as this service reads it when it needs it: its own, or the shared "current" one.
    let id = |service: &Knobbed| {
        if behaviour.shared_current { service.current.lock().unwrap().clone() } else { own.clone() }
    };
    let log = |cause: &str, id: &str| {
        if behaviour.logs_at_warn {
            tracing::warn!(request_id = %id, %cause, "request failed");
        } else if behaviour.logs_id {
            tracing::error!(request_id = %id, %cause, "request failed");
        } else {
            tracing::error!(%cause, "request failed");
        }
        if behaviour.logs_twice {
            tracing::error!(request_id = %id, %cause, "answering with an error");
        }
    };
    let order_id = match u32::try_from(asked) {
        _ if behaviour.wraps_order_number => asked as u32,
        Ok(order_id) => order_id,
        Err(_) => return problem(StatusCode::NOT_FOUND, &id(&service), None, behaviour),
    };
    let order = match service.db.find_order(order_id) {
        Ok(Some(order)) => order,
        Ok(None) => return problem(StatusCode::NOT_FOUND, &id(&service), None, behaviour),
        Err(error) => {
            let down = error.kind() == DbErrorKind::Unavailable;
            let cause = if behaviour.logs_error_text || behaviour.logs_text_when_down && down {
                error.to_string()
            } else if behaviour.logs_text_masked_to_first_at {
                masked_to_first_at(&error.to_string())
            } else if behaviour.logs_query_only {
                format!("query {}", error.query_id())
            } else {
                format!("query {} on {}: {}", error.query_id(), error.host(), error.reason())
            };
            log(&cause, &id(&service));
            let detail =
                if behaviour.leaks_reason { error.reason().to_string() } else { error.to_string() };
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &id(&service),
                Some(&detail),
                behaviour,
            );
        }
    };
    let mut asking = service.client.get(service.shipping.url(&format!("/shipping/{order_id}")));
    if behaviour.forwards_traceparent
        && let Some(traceparent) = headers.get("traceparent")
    {
        asking = asking.header("traceparent", traceparent.clone());
    }
    if behaviour.constant_parent
        && let Some(trace) = headers
            .get("traceparent")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split('-').nth(1))
    {
        asking = asking.header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"));
    }
    // Other requests run while this one waits: a shared "current" id is theirs by now.
    tokio::task::yield_now().await;
    if behaviour.upstream_id {
        asking = asking.header("x-request-id", id(&service));
    }
    match asking.send().await {
        Ok(response) if response.status().is_success() => {
            let shipping = match response.json::<Value>().await {
                Ok(shipping) if shipping["status"].is_string() => shipping,
                _ => {
                    if !behaviour.garbled_unlogged {
                        log("the shipping service's 200 was no shipment", &id(&service));
                    }
                    return problem(StatusCode::BAD_GATEWAY, &id(&service), None, behaviour);
                }
            };
            let body = json!({
                "id": order.id,
                "customer": order.customer,
                "total_cents": order.total_cents,
                "status": order.status,
                "shipping": shipping["status"],
            });
            Json(body).into_response()
        }
        Ok(response) => {
            let cause = format!("the shipping service answered {}", response.status());
            let text = response.text().await.unwrap_or_default();
            let detail = if behaviour.details_shipping_status { cause.clone() } else { text };
            log(&cause, &id(&service));
            problem(StatusCode::BAD_GATEWAY, &id(&service), Some(&detail), behaviour)
        }
        Err(error) => {
            if !behaviour.unanswered_unlogged {
                log(&error.to_string(), &id(&service));
            }
            let status = if behaviour.unanswered_503 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_GATEWAY
            };
            problem(status, &id(&service), None, behaviour)
        }
    }
}

fn problem(status: StatusCode, id: &str, detail: Option<&str>, behaviour: Behaviour) -> Response {
    if behaviour.course_json {
        let body = json!({"error": {"code": "ERROR", "message": "failed", "request_id": id}});
        return (status, Json(body)).into_response();
    }
    let title = if behaviour.title_503_on_502 && status == StatusCode::BAD_GATEWAY {
        StatusCode::SERVICE_UNAVAILABLE.canonical_reason()
    } else {
        status.canonical_reason()
    };
    let mut body = json!({"type": "about:blank", "title": title, "status": status.as_u16()});
    if behaviour.detail_on_400 && status == StatusCode::BAD_REQUEST {
        body["detail"] = json!("Invalid URL: Cannot parse `seven` to a `u32`");
    }
    match behaviour.body_id {
        BodyId::Same => body["request_id"] = json!(id),
        BodyId::Fresh => body["request_id"] = json!(fresh_id(Fresh::Uuid)),
        BodyId::Missing => {}
    }
    let leaks =
        behaviour.leaks_cause || behaviour.leaks_reason || behaviour.details_shipping_status;
    if let (true, Some(detail)) = (leaks, detail) {
        body["detail"] = json!(detail);
    }
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

/// A right answer in another style: a span per request with the id as a field (every event in
/// it carries the id), the id in `instance` as a URN, time-ordered ids (a millisecond clock
/// then 80 random bits, as ULIDs and UUID v7 are), and a new traceparent parent passed on.
mod spanned {
    use axum::extract::rejection::PathRejection;
    use tracing::Instrument;

    use super::*;

    #[derive(Clone)]
    struct Service {
        db: Database,
        shipping: Upstream,
        client: reqwest::Client,
    }

    fn time_ordered() -> String {
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!("{millis:012x}{}", &random[..20])
    }

    pub fn app(db: Database, shipping: Upstream) -> Router {
        routed(db, shipping, false)
    }

    /// The same, its request span at DEBUG (tower-http's default): production's filter at
    /// `info` disables it, and the ERROR lines in it lose the id.
    pub fn app_at_debug(db: Database, shipping: Upstream) -> Router {
        routed(db, shipping, true)
    }

    fn routed(db: Database, shipping: Upstream, debug: bool) -> Router {
        let client = reqwest::Client::builder().timeout(shipping.timeout()).build().unwrap();
        Router::new()
            .route("/orders/{id}", get(order))
            .fallback(|Extension(Rid(id)): Extension<Rid>| async move {
                urn_problem(StatusCode::NOT_FOUND, &id)
            })
            .method_not_allowed_fallback(|Extension(Rid(id)): Extension<Rid>| async move {
                urn_problem(StatusCode::METHOD_NOT_ALLOWED, &id)
            })
            .layer(middleware::from_fn(move |request, next| in_a_span(request, next, debug)))
            .with_state(Service { db, shipping, client })
    }

    async fn in_a_span(mut request: Request, next: Next, debug: bool) -> Response {
        let id = only_one(request.headers())
            .and_then(|value| value.to_str().ok())
            .filter(|id| trusted(id))
            .map_or_else(time_ordered, String::from);
        request.extensions_mut().insert(Rid(id.clone()));
        let path = request.uri().path().to_owned();
        let span = if debug {
            tracing::debug_span!("request", request_id = %id, %path)
        } else {
            tracing::info_span!("request", request_id = %id, %path)
        };
        let mut response = next.run(request).instrument(span).await;
        response.headers_mut().insert("x-request-id", HeaderValue::from_str(&id).unwrap());
        response
    }

    async fn order(
        State(service): State<Service>,
        Extension(Rid(id)): Extension<Rid>,
        order_id: Result<Path<u32>, PathRejection>,
        headers: axum::http::HeaderMap,
    ) -> Response {
        let order_id = match order_id {
            Ok(Path(order_id)) => order_id,
            Err(rejection) => return urn_problem(rejection.status(), &id),
        };
        let order = match service.db.find_order(order_id) {
            Ok(Some(order)) => order,
            Ok(None) => return urn_problem(StatusCode::NOT_FOUND, &id),
            Err(error) => {
                tracing::error!(
                    query = error.query_id(),
                    host = error.host(),
                    reason = error.reason(),
                    "reading the order"
                );
                return urn_problem(StatusCode::INTERNAL_SERVER_ERROR, &id);
            }
        };
        let mut asking = service
            .client
            .get(service.shipping.url(&format!("/shipping/{order_id}")))
            .header("x-request-id", &id);
        // The caller's trace goes on, with this service as the new parent.
        let trace = headers
            .get("traceparent")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split('-').nth(1))
            .map(String::from);
        if let Some(trace) = trace {
            let parent = &uuid::Uuid::new_v4().simple().to_string()[..16];
            asking = asking.header("traceparent", format!("00-{trace}-{parent}-01"));
        }
        match asking.send().await {
            Ok(response) if response.status() == StatusCode::OK => {
                match response.json::<Value>().await {
                    Ok(shipping) if shipping["status"].is_string() => {
                        Json(json!({"id": order.id, "shipping": shipping["status"]}))
                            .into_response()
                    }
                    _ => {
                        tracing::error!("the shipping service's answer was no shipment");
                        urn_problem(StatusCode::BAD_GATEWAY, &id)
                    }
                }
            }
            Ok(response) => {
                tracing::error!(status = response.status().as_u16(), "the shipping service failed");
                urn_problem(StatusCode::BAD_GATEWAY, &id)
            }
            Err(error) => {
                tracing::error!(%error, "asking the shipping service");
                urn_problem(StatusCode::BAD_GATEWAY, &id)
            }
        }
    }

    fn urn_problem(status: StatusCode, id: &str) -> Response {
        let body = json!({
            "type": "https://example.com/problems/request-failed",
            "title": "The request failed",
            "status": status.as_u16(),
            "instance": format!("urn:request:{id}"),
        });
        let mut response = (status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// `scheme://user:password@host…` with what stands between the user and the first `@` masked:
/// a mask by pattern, which a password holding an `@` outwits.
fn masked_to_first_at(text: &str) -> String {
    let Some(authority) = text.find("://").map(|at| at + 3) else { return text.to_string() };
    let rest = &text[authority..];
    match (rest.find(':'), rest.find('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!("{}***{}", &text[..authority + colon + 1], &rest[at..])
        }
        _ => text.to_string(),
    }
}
