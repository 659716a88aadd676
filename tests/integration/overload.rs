//! Lesson "overload"'s judge, run in process against its solution, its starter, right answers in
//! other styles (tower's layers with governor's quotas and problem details; atomics with fixed
//! windows), and one known-wrong service per mistake, each caught by the check written for it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::Limits;
use httplings::fixtures::Upstream;
use httplings::lessons::overload::App;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::overload::{self, CHECKS};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::support::{assert_failed, assert_rejected, assert_rejected_any, seed};

mod tower_sliding_log;

#[path = "../../solutions/08_overload.rs"]
mod solution;

#[path = "../../exercises/.starters/08_overload.rs"]
mod starter;

const LIMIT: &str = CHECKS[0];
const FULL: &str = CHECKS[1];
const REFUSED: &str = CHECKS[2];
const GOODPUT: &str = CHECKS[3];
const QUOTA: &str = CHECKS[4];
const PER_CLIENT: &str = CHECKS[5];
const RETRY_AFTER: &str = CHECKS[6];
const ANONYMOUS: &str = CHECKS[7];
const HEALTH: &str = CHECKS[8];
const FAILURES: &str = CHECKS[9];
const NO_LEAK: &str = CHECKS[10];

/// How many judges run at once: each floods its instances, and timing checks need some CPU.
const AT_ONCE: usize = 2;

/// Judges every app, a few at a time, each against the checks it must fail.
async fn judged_failing(cases: &[(App, &[&str])]) -> Vec<(Judged, u64)> {
    judged_failing_by(cases, AT_ONCE).await
}

/// The same, `at_once` at a time: one, for answers whose mistake shows in a time measured to
/// tens of milliseconds (a Retry-After one second short), which a test run busy with other
/// judges' floods could blur.
async fn judged_failing_by(cases: &[(App, &[&str])], at_once: usize) -> Vec<(Judged, u64)> {
    let mut judged = Vec::new();
    for batch in cases.chunks(at_once) {
        let results =
            futures_util::future::join_all(batch.iter().map(|(app, expected)| async move {
                let seed = seed();
                (overload::judge_in_process(*app, seed).await, seed, *expected)
            }))
            .await;
        for (one, seed, expected) in results {
            assert_failed(&one, seed, CHECKS, expected);
            judged.push((one, seed));
        }
    }
    judged
}

/// Judges `app`, which must fail every check of `must`, at least one of `any` (when given), and
/// may fail those of `may` too (which requests of a burst a global quota lets in is the race's
/// to decide), and no other.
async fn judged_failing_among(
    app: App,
    must: &[&str],
    any: &[&str],
    may: &[&str],
) -> (Judged, u64) {
    let seed = seed();
    let judged = overload::judge_in_process(app, seed).await;
    let failed = judged.failed();
    let shown = crate::support::report(&judged, seed);
    assert!(judged.lost.is_none(), "{shown}");
    assert!(must.iter().all(|check| failed.contains(check)), "{must:?} must fail\n{shown}");
    assert!(
        any.is_empty() || any.iter().any(|check| failed.contains(check)),
        "one of {any:?} must fail\n{shown}"
    );
    assert!(
        failed
            .iter()
            .all(|check| must.contains(check) || any.contains(check) || may.contains(check)),
        "only {must:?}, {any:?} and {may:?} may fail\n{shown}"
    );
    (judged, seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_and_the_starter_fails_usefully() {
    let judged = judged_failing(&[
        (solution::app, &[]),
        (starter::app, &[LIMIT, REFUSED, QUOTA, RETRY_AFTER, ANONYMOUS]),
    ])
    .await;
    let (starter, seed) = &judged[1];
    assert_rejected(starter, *seed, LIMIT, "calls under way at once; max_in_flight is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_answers_in_other_styles_pass() {
    judged_failing(&[(with!(), &[]), (layered::app, &[]), (counted::app, &[])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_right_answers_in_other_styles_pass() {
    // tower's layers with a sliding log and problem details; a 503 whose Retry-After is an
    // HTTP-date (RFC 9110 allows either form).
    // And a 503 whose message quotes the wait it drew (a number, now and then the limit's).
    judged_failing(&[
        (tower_sliding_log::app, &[]),
        (with!(overload_retry_after_date: true), &[]),
        (with!(overload_says: Says::JitteredWait), &[]),
        // The backend call in a task of its own, which holds the slot: a caller that hangs up
        // leaves it running to the timeout, and the slot comes back then.
        (with!(spawns_call: true), &[]),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn each_wrong_concurrency_limit_is_caught_by_the_check_for_its_rule() {
    let judged = judged_failing(&[
        (with!(limit: Limit::Shared(1)), &[LIMIT, REFUSED]),
        (with!(limit: Limit::Shared(-1)), &[FULL]),
        (with!(limit: Limit::PerRequest), &[LIMIT, REFUSED]),
        (with!(limit: Limit::Waits), &[REFUSED, GOODPUT]),
        (with!(limit: Limit::Queues(400)), &[REFUSED, GOODPUT]),
        (with!(limit: Limit::Queues(100)), &[REFUSED]),
        (with!(limit: Limit::Queues(50)), &[REFUSED]),
        (with!(overload_status: StatusCode::TOO_MANY_REQUESTS), &[REFUSED]),
        (with!(overload_retry_after: None), &[REFUSED]),
        (with!(overload_retry_after: Some(0)), &[REFUSED]),
        (with!(releases_before_body: true), &[LIMIT]),
        (with!(overload_says: Says::UnderWay), &[NO_LEAK]),
        (with!(overload_says: Says::UnderWayInAHeader), &[NO_LEAK]),
    ])
    .await;
    let waits = &judged[3];
    assert_rejected(&waits.0, waits.1, REFUSED, "waited for a slot instead of being refused");
    let queues = &judged[4];
    assert_rejected(&queues.0, queues.1, GOODPUT, "though the backend takes");
    let short_queue = &judged[6];
    assert_rejected(&short_queue.0, short_queue.1, REFUSED, "released with them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn each_wrong_quota_is_caught_by_the_check_for_its_rule() {
    let judged = judged_failing_by(
        &[
            (with!(quota: Quota::OffByOne), &[QUOTA, ANONYMOUS]),
            (with!(quota: Quota::WholeSeconds), &[QUOTA]),
            (with!(quota: Quota::Aligned), &[QUOTA]),
            (
                with!(quota_status: StatusCode::SERVICE_UNAVAILABLE),
                &[QUOTA, ANONYMOUS, RETRY_AFTER],
            ),
            (with!(quota_retry_after: |_, _| None), &[RETRY_AFTER]),
            (with!(quota_retry_after: |_, _| Some(0)), &[RETRY_AFTER]),
            (with!(quota_retry_after: |_, _| Some(60)), &[RETRY_AFTER]),
            (with!(quota_retry_after: |_, _| Some(1)), &[RETRY_AFTER]),
            (with!(quota_retry_after: |room, _| Some(room.as_secs())), &[RETRY_AFTER]),
            // Rounded to the nearest second, never below 1.
            (
                with!(quota_retry_after: |room, _| Some(room.as_secs_f64().round().max(1.0) as u64)),
                &[RETRY_AFTER],
            ),
            (with!(counts_refusals: true), &[RETRY_AFTER]),
            (with!(anonymous: Anonymous::Unlimited), &[ANONYMOUS]),
            (
                with!(quota_retry_after: |_, window| Some(window.as_millis().div_ceil(1000) as u64)),
                &[RETRY_AFTER],
            ),
            (with!(anonymous_retry_after: false), &[RETRY_AFTER]),
        ],
        1,
    )
    .await;
    let one = &judged[7];
    assert_rejected(&one.0, one.1, RETRY_AFTER, "and was refused again");
    // A window cut by a sixth promises room too soon on the instance whose window is minutes
    // long when its quota is 1 (a bucket's next token, for a larger one, comes sooner still).
    judged_failing_among(with!(quota: Quota::SixthShort), &[QUOTA], &[], &[RETRY_AFTER]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_limit_on_the_rate_of_requests_is_caught() {
    // max_in_flight requests per 200 ms: it refuses quick reports with slots free (and a rate
    // generous enough for those lets slow ones pile up past the limit).
    judged_failing_among(
        with!(limit: Limit::Rate(1)),
        &[FULL],
        &[],
        &[LIMIT, REFUSED, GOODPUT, FAILURES],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_rate_limit_generous_enough_for_quick_reports_is_caught() {
    // Four times max_in_flight per 200 ms refuses none of the quick reports, and lets floods
    // and slow reports pile up past the limit.
    judged_failing_among(
        with!(limit: Limit::Rate(4)),
        &[LIMIT, REFUSED],
        &[],
        &[FULL, GOODPUT, FAILURES],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_limit_kept_per_client_is_caught() {
    // A flood from one client meets the limit; the stream, from many, goes past it.
    judged_failing_among(with!(limit: Limit::PerClient), &[LIMIT], &[], &[REFUSED]).await;
}

/// The sixth attack round: keyless requests let past the limit passed when the run drew a flood
/// of keyed clients; the last flood now mixes every kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_limit_that_keyless_requests_skip_is_caught() {
    judged_failing_among(with!(limit: Limit::KeyedOnly), &[LIMIT], &[], &[REFUSED, FULL, GOODPUT])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_quota_shared_by_every_client_is_caught() {
    let (global, seed) = judged_failing_among(
        with!(quota: Quota::Global),
        &[PER_CLIENT, QUOTA],
        &[],
        &[ANONYMOUS, RETRY_AFTER],
    )
    .await;
    // One quota for all shows wherever two clients meet: two keys in the same instant, or a key
    // that is not ASCII after the keyless clients (CI, seed 127876989, which replayed the
    // other way). Which sees it first is a matter of timing.
    let said = ["in the same instant another client", "once the clients without a key"];
    assert_rejected_any(&global, seed, PER_CLIENT, &said);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_quota_log_shared_by_every_instance_is_caught() {
    // Keys are the instances' own; the keyless requests of the two quota instances (and of a
    // flood without keys) meet in the one log.
    judged_failing_among(with!(quota: Quota::Static), &[ANONYMOUS], &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn keys_read_as_text_are_caught() {
    // The ninth attack round: `to_str().ok()` takes a key that is not ASCII for none, and puts
    // its client in with the keyless ones, whose quota the same burst spends.
    let (judged, seed) = judged_failing_among(
        with!(keys_as_text: true),
        &[PER_CLIENT],
        &[],
        &[PER_CLIENT, ANONYMOUS],
    )
    .await;
    assert_rejected(&judged, seed, PER_CLIENT, "is not ASCII");
}

/// The eleventh attack round: a client named by the first 24 bytes of its key (the judge's keys
/// share a longer prefix, as vendors' do), and keyless requests given a quota per forwarded
/// address (each of the judge's names another).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn keys_cut_short_and_keyless_quotas_per_forwarded_address_are_caught() {
    judged_failing_among(
        with!(key_cut_to: Some(24)),
        &[],
        &[QUOTA, PER_CLIENT, RETRY_AFTER],
        &[ANONYMOUS],
    )
    .await;
    judged_failing_among(
        with!(keyless_by_forwarded_for: true),
        &[ANONYMOUS],
        &[],
        &[PER_CLIENT, RETRY_AFTER],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn keys_compared_without_their_case_are_caught() {
    // The quiet client's key is the noisy one's in the other case: folded, the two share one
    // quota, and which of their requests released together get in is the race's to decide: the
    // quiet client is refused some (per-client), or, when its requests came first, the noisy
    // one gets less than its quota (quota).
    let (folded, seed) = judged_failing_among(
        with!(folds_key_case: true),
        &[],
        &[PER_CLIENT, QUOTA],
        &[PER_CLIENT, QUOTA, RETRY_AFTER],
    )
    .await;
    if folded.failed().contains(&PER_CLIENT) {
        assert_rejected(&folded, seed, PER_CLIENT, "in the same instant another client");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_401_for_requests_without_a_key_is_caught() {
    // The lesson's decision is one shared quota; a flood without a key meets the 401 too.
    let (refused, seed) = judged_failing_among(
        with!(anonymous: Anonymous::Unauthorized),
        &[ANONYMOUS],
        &[],
        &[FULL, REFUSED, GOODPUT, FAILURES],
    )
    .await;
    assert_rejected(&refused, seed, ANONYMOUS, "0 of");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_bucket_that_promises_a_whole_window_is_caught_coming_back_early() {
    // Governor's quota, whose room comes back one request at a time, told as the whole window.
    judged_failing(&[(layered::whole_window, &[RETRY_AFTER])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn health_and_failures_are_judged_apart_from_the_limits() {
    judged_failing(&[
        (with!(health_behind_limits: true), &[HEALTH]),
        (with!(failure_keeps_slot: true), &[FAILURES]),
        (with!(failures_as: Some(StatusCode::SERVICE_UNAVAILABLE)), &[FAILURES]),
        (with!(backend_5xx_as_503: true), &[FAILURES]),
        (with!(timeout_as_502: true), &[FAILURES]),
        // The adversary round on lesson 8 (twenty-fifth session): the slot kept when the
        // handler is dropped because its caller hung up.
        (with!(drop_keeps_slot: true), &[FAILURES]),
        // Its review (twenty-sixth session): the slot held by the handler while the call runs
        // in a task of its own, which a caller that hangs up leaves running past its slot.
        (with!(detaches_call: true), &[LIMIT]),
        (with!(passes_backend_error: true), &[NO_LEAK]),
    ])
    .await;
}

/// How the service limits its backend calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Limit {
    /// One semaphore for all, with this many permits more than max_in_flight.
    Shared(isize),
    /// A fresh semaphore per request.
    PerRequest,
    /// A semaphore per API key.
    PerClient,
    /// One semaphore, which requests without an API key skip.
    KeyedOnly,
    /// One semaphore, waited on with `acquire().await`.
    Waits,
    /// One semaphore, waited on for at most this many milliseconds, then 503: a bounded queue.
    Queues(u64),
    /// This many times max_in_flight requests per 200 ms, whatever is under way.
    Rate(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quota {
    PerClient,
    /// One quota shared by every client.
    Global,
    /// One request more than the quota.
    OffByOne,
    /// One quota log for every instance in the process (a static), each with its own limits.
    Static,
    /// The window cut to whole seconds (`Duration::as_secs`).
    WholeSeconds,
    /// A window a sixth shorter than given (1.2× the rate).
    SixthShort,
    /// Fixed windows on a grid that starts when the app is built, not at each client's first
    /// request.
    Aligned,
}

/// What a 503's message says besides "at capacity".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Says {
    Nothing,
    /// How many backend calls are under way.
    UnderWay,
    /// The same, in a header of its own beside a message that says nothing.
    UnderWayInAHeader,
    /// A wait of 1 to 5 seconds drawn for each refusal, which is also its Retry-After.
    JitteredWait,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Anonymous {
    Shared,
    /// No key, no quota.
    Unlimited,
    /// No key: 401.
    Unauthorized,
}

/// A service, piece by piece: [`RIGHT`], then one mistake per known-wrong answer.
#[derive(Clone, Copy)]
struct Behaviour {
    limit: Limit,
    overload_status: StatusCode,
    overload_retry_after: Option<u64>,
    quota: Quota,
    quota_status: StatusCode,
    /// The Retry-After of a 429, from the time until the quota has room and the window.
    quota_retry_after: fn(Duration, Duration) -> Option<u64>,
    /// Whether a refused request is logged as if it had been let in.
    counts_refusals: bool,
    anonymous: Anonymous,
    health_behind_limits: bool,
    /// Whether a failed backend call keeps its permit for ever.
    failure_keeps_slot: bool,
    /// Whether the permit is given back once the backend's head has come, before its body.
    releases_before_body: bool,
    /// What a backend failure is answered with, when not lesson 4's 502 or 504.
    failures_as: Option<StatusCode>,
    /// Whether a 502 carries the backend's own error text.
    passes_backend_error: bool,
    /// Whether the 503's Retry-After is an HTTP-date as many seconds ahead.
    overload_retry_after_date: bool,
    /// What the 503's message says besides "at capacity".
    overload_says: Says,
    /// Whether a 429 to a client without a key carries a Retry-After.
    anonymous_retry_after: bool,
    /// Whether API keys are compared without their case.
    folds_key_case: bool,
    /// Whether an API key is read as text (`to_str`), one that is not ASCII taken for none.
    keys_as_text: bool,
    /// How many leading bytes of an API key name its client, when not all of them.
    key_cut_to: Option<usize>,
    /// Whether requests without a key get a quota per `X-Forwarded-For`.
    keyless_by_forwarded_for: bool,
    /// Whether a backend 5xx is answered 503 (its other failures as lesson 4 says).
    backend_5xx_as_503: bool,
    /// Whether a backend that does not answer in time is answered 502.
    timeout_as_502: bool,
    /// Whether a slot is kept for ever when the handler is dropped mid-call (its caller hung
    /// up): a count given back on every path the handler returns by, and on no other.
    drop_keeps_slot: bool,
    /// Whether the backend call runs in a task of its own, which holds the slot.
    spawns_call: bool,
    /// Whether the backend call runs in a task of its own while the handler holds the slot:
    /// a handler dropped mid-call gives the slot back, and the call runs on.
    detaches_call: bool,
}

const RIGHT: Behaviour = Behaviour {
    limit: Limit::Shared(0),
    overload_status: StatusCode::SERVICE_UNAVAILABLE,
    overload_retry_after: Some(1),
    quota: Quota::PerClient,
    quota_status: StatusCode::TOO_MANY_REQUESTS,
    quota_retry_after: |room, _| Some(room.as_millis().div_ceil(1000).max(1) as u64),
    counts_refusals: false,
    anonymous: Anonymous::Shared,
    health_behind_limits: false,
    failure_keeps_slot: false,
    releases_before_body: false,
    failures_as: None,
    passes_backend_error: false,
    overload_retry_after_date: false,
    overload_says: Says::Nothing,
    anonymous_retry_after: true,
    folds_key_case: false,
    keys_as_text: false,
    key_cut_to: None,
    keyless_by_forwarded_for: false,
    backend_5xx_as_503: false,
    timeout_as_502: false,
    drop_keeps_slot: false,
    spawns_call: false,
    detaches_call: false,
};

/// A known-wrong service: `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        |backend, limits| knobbed(backend, limits, Behaviour { $($field: $value,)* ..RIGHT })
    };
}
use with;

/// A client's key, `None` for the requests without one.
type Key = Option<Vec<u8>>;

/// When each client was let in.
type Admitted = Arc<Mutex<HashMap<Key, Vec<Instant>>>>;

#[derive(Clone)]
struct Knobbed {
    backend: Upstream,
    client: reqwest::Client,
    limits: Limits,
    behaviour: Behaviour,
    slots: Arc<Semaphore>,
    per_client_slots: Arc<Mutex<HashMap<Key, Arc<Semaphore>>>>,
    /// When each client was let in, oldest first; `None` is the anonymous clients' key, and
    /// `Some(b"*")` the one a global quota uses.
    admitted: Admitted,
    /// For `Limit::Rate`: when requests were let in.
    rate: Arc<Mutex<Vec<Instant>>>,
    /// When the app was built (`Quota::Aligned` counts its windows from then).
    built: Instant,
}

fn knobbed(backend: Upstream, limits: Limits, behaviour: Behaviour) -> Router {
    let permits = match behaviour.limit {
        Limit::Shared(delta) => limits.max_in_flight.saturating_add_signed(delta),
        _ => limits.max_in_flight,
    };
    let state = Knobbed {
        client: reqwest::Client::builder().timeout(backend.timeout()).build().unwrap(),
        backend,
        limits,
        behaviour,
        slots: Arc::new(Semaphore::new(permits)),
        per_client_slots: Arc::default(),
        admitted: if behaviour.quota == Quota::Static {
            static EVERY_INSTANCE: LazyLock<Admitted> = LazyLock::new(Arc::default);
            Arc::clone(&EVERY_INSTANCE)
        } else {
            Arc::default()
        },
        rate: Arc::default(),
        built: Instant::now(),
    };
    Router::new()
        .route("/reports/{id}", get(knobbed_report))
        .route("/health/live", get(knobbed_health))
        .with_state(state)
}

async fn knobbed_health(State(service): State<Knobbed>) -> Response {
    if service.behaviour.health_behind_limits {
        if let Err(refused) = admit(&service, &HeaderMap::new()) {
            return *refused;
        }
        if service.slots.available_permits() == 0 {
            return error(StatusCode::SERVICE_UNAVAILABLE, Some(1));
        }
    }
    "ok".into_response()
}

/// The quota's verdict for the client of `headers`.
fn admit(service: &Knobbed, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let behaviour = service.behaviour;
    let key = headers.get("x-api-key").map(|key| key.as_bytes().to_vec());
    let key = key.filter(|key| !behaviour.keys_as_text || key.is_ascii());
    let anonymous = key.is_none();
    let key = key.map(|key| if behaviour.folds_key_case { key.to_ascii_lowercase() } else { key });
    let key = key.map(|mut key| {
        key.truncate(behaviour.key_cut_to.unwrap_or(usize::MAX));
        key
    });
    let forwarded = headers.get("x-forwarded-for").map(|value| value.as_bytes().to_vec());
    let key = match key {
        None if behaviour.keyless_by_forwarded_for => forwarded,
        key => key,
    };
    let key = match (key, behaviour.anonymous) {
        (None, Anonymous::Unlimited) => return Ok(()),
        (None, Anonymous::Unauthorized) => {
            return Err(Box::new(error(StatusCode::UNAUTHORIZED, None)));
        }
        (key, _) if behaviour.quota == Quota::Global => key.map(|_| b"*".to_vec()),
        (key, _) => key,
    };
    let allowed = match behaviour.quota {
        Quota::OffByOne => service.limits.per_client as usize + 1,
        _ => service.limits.per_client as usize,
    };
    let now = Instant::now();
    let window = match behaviour.quota {
        Quota::WholeSeconds => Duration::from_secs(service.limits.window.as_secs()),
        Quota::SixthShort => service.limits.window.mul_f64(5.0 / 6.0),
        _ => service.limits.window,
    };
    let mut admitted = service.admitted.lock().unwrap();
    let log = admitted.entry(key).or_default();
    let grid = |at: Instant| (at - service.built).as_nanos() / window.as_nanos();
    match behaviour.quota {
        Quota::Aligned => log.retain(|at| grid(*at) == grid(now)),
        _ => log.retain(|at| now - *at < window),
    }
    if log.len() >= allowed {
        let room = match behaviour.quota {
            Quota::Aligned => service.built + window * (grid(now) as u32 + 1) - now,
            _ => log[log.len() - allowed] + window - now,
        };
        if behaviour.counts_refusals {
            log.push(now);
        }
        let retry_after = (behaviour.quota_retry_after)(room, window)
            .filter(|_| behaviour.anonymous_retry_after || !anonymous);
        return Err(Box::new(error(behaviour.quota_status, retry_after)));
    }
    log.push(now);
    Ok(())
}

enum Slot {
    Permit(OwnedSemaphorePermit),
    Free,
}

async fn knobbed_report(
    State(service): State<Knobbed>,
    Path(id): Path<u32>,
    headers: HeaderMap,
) -> Response {
    let behaviour = service.behaviour;
    if let Err(refused) = admit(&service, &headers) {
        return *refused;
    }
    let overloaded = || {
        let mut refused = match behaviour.overload_says {
            Says::Nothing => error(behaviour.overload_status, behaviour.overload_retry_after),
            Says::UnderWay => {
                let message = format!(
                    "{} backend calls under way; retry shortly",
                    service.limits.max_in_flight
                );
                said(behaviour.overload_status, &message, behaviour.overload_retry_after)
            }
            Says::UnderWayInAHeader => {
                let mut refused = error(behaviour.overload_status, behaviour.overload_retry_after);
                let under_way = HeaderValue::from(service.limits.max_in_flight);
                refused.headers_mut().insert("x-calls-under-way", under_way);
                refused
            }
            Says::JitteredWait => {
                let nanos =
                    std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap_or_default().subsec_nanos();
                let seconds = fastrand::Rng::with_seed(nanos.into()).u64(1..=5);
                let message = format!("at capacity; retry in {seconds} s");
                said(behaviour.overload_status, &message, Some(seconds))
            }
        };
        if let Some(seconds) =
            behaviour.overload_retry_after.filter(|_| behaviour.overload_retry_after_date)
        {
            let at = std::time::SystemTime::now() + Duration::from_secs(seconds + 1);
            let date = HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap();
            refused.headers_mut().insert(header::RETRY_AFTER, date);
        }
        refused
    };
    let slot =
        match behaviour.limit {
            Limit::Shared(_) => match Arc::clone(&service.slots).try_acquire_owned() {
                Ok(permit) => Slot::Permit(permit),
                Err(_) => return overloaded(),
            },
            Limit::KeyedOnly if !headers.contains_key("x-api-key") => Slot::Free,
            Limit::KeyedOnly => match Arc::clone(&service.slots).try_acquire_owned() {
                Ok(permit) => Slot::Permit(permit),
                Err(_) => return overloaded(),
            },
            Limit::PerRequest => Slot::Permit(
                Arc::new(Semaphore::new(service.limits.max_in_flight)).try_acquire_owned().unwrap(),
            ),
            Limit::PerClient => {
                let key = headers.get("x-api-key").map(|key| key.as_bytes().to_vec());
                let semaphore =
                    Arc::clone(
                        service.per_client_slots.lock().unwrap().entry(key).or_insert_with(|| {
                            Arc::new(Semaphore::new(service.limits.max_in_flight))
                        }),
                    );
                match semaphore.try_acquire_owned() {
                    Ok(permit) => Slot::Permit(permit),
                    Err(_) => return overloaded(),
                }
            }
            Limit::Waits => Slot::Permit(Arc::clone(&service.slots).acquire_owned().await.unwrap()),
            Limit::Queues(millis) => {
                let waiting = Arc::clone(&service.slots).acquire_owned();
                match tokio::time::timeout(Duration::from_millis(millis), waiting).await {
                    Ok(permit) => Slot::Permit(permit.unwrap()),
                    Err(_) => return overloaded(),
                }
            }
            Limit::Rate(times) => {
                let now = Instant::now();
                let mut rate = service.rate.lock().unwrap();
                rate.retain(|at| now - *at < Duration::from_millis(200));
                if rate.len() >= times * service.limits.max_in_flight {
                    return overloaded();
                }
                rate.push(now);
                Slot::Free
            }
        };
    let (held, kept) =
        if behaviour.detaches_call { (None, Some(slot)) } else { (Some(slot), None) };
    let call = called(service, id, Held { slot: held, keeps_on_drop: behaviour.drop_keeps_slot });
    if behaviour.spawns_call || behaviour.detaches_call {
        let answered = tokio::spawn(call).await;
        // The handler's slot, if it kept one, goes with it: dropped mid-call, the task runs on.
        drop(kept);
        return answered.unwrap_or_else(|_| error(StatusCode::BAD_GATEWAY, None));
    }
    call.await
}

/// A slot as a handler holds it: one that `keeps_on_drop` is kept for ever when the handler is
/// dropped before it finished (a count given back on every path but that one).
struct Held {
    slot: Option<Slot>,
    keeps_on_drop: bool,
}

impl Held {
    fn finished(mut self) -> Option<Slot> {
        self.slot.take()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(Slot::Permit(permit)) = self.slot.take()
            && self.keeps_on_drop
        {
            permit.forget();
        }
    }
}

/// The backend call and the answer, once the service let the request in on `held`.
async fn called(service: Knobbed, id: u32, held: Held) -> Response {
    let behaviour = service.behaviour;
    let url = service.backend.url(&format!("/reports/{id}"));
    let sent = service.client.get(&url).send().await;
    // Given back here, once the head has come, when the behaviour says so (dropped by `filter`:
    // a shadowed binding would hold it to the end).
    let slot = held.finished().filter(|_| !behaviour.releases_before_body);
    let (status, text) = match sent {
        Ok(response) if response.status() == StatusCode::OK => {
            return Json(response.json::<Value>().await.unwrap_or_default()).into_response();
        }
        Ok(response) if behaviour.backend_5xx_as_503 && response.status().is_server_error() => {
            (StatusCode::SERVICE_UNAVAILABLE, response.text().await.unwrap_or_default())
        }
        Ok(response) => (StatusCode::BAD_GATEWAY, response.text().await.unwrap_or_default()),
        Err(failed) if failed.is_timeout() && !behaviour.timeout_as_502 => {
            (StatusCode::GATEWAY_TIMEOUT, failed.to_string())
        }
        Err(failed) => (StatusCode::BAD_GATEWAY, failed.to_string()),
    };
    if behaviour.failure_keeps_slot
        && let Some(Slot::Permit(permit)) = slot
    {
        permit.forget();
    }
    let status = behaviour.failures_as.unwrap_or(status);
    let mut response = error(status, None);
    if behaviour.passes_backend_error {
        let code =
            status.canonical_reason().unwrap_or("ERROR").to_ascii_uppercase().replace(' ', "_");
        let body = json!({"error": {"code": code, "message": text}});
        response = (status, Json(body)).into_response();
    }
    response
}

/// The course's JSON error for `status`, with a Retry-After when given.
fn error(status: StatusCode, retry_after: Option<u64>) -> Response {
    said(status, "not this time", retry_after)
}

/// An error saying `message`.
fn said(status: StatusCode, message: &str, retry_after: Option<u64>) -> Response {
    let code = status.canonical_reason().unwrap_or("ERROR").to_ascii_uppercase().replace(' ', "_");
    let body = json!({"error": {"code": code, "message": message}});
    let mut response = (status, Json(body)).into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A right answer in another style: tower's concurrency limit under its load shedder, governor's
/// keyed quotas in a middleware, and RFC 9457 problem details.
mod layered {
    use axum::BoxError;
    use axum::error_handling::HandleErrorLayer;
    use axum::extract::Request;
    use axum::middleware::{self, Next};
    use governor::clock::{Clock, DefaultClock};
    use governor::state::keyed::HashMapStateStore;
    use governor::{Quota as GovernorQuota, RateLimiter};
    use tower::ServiceBuilder;
    use tower::limit::ConcurrencyLimitLayer;
    use tower::load_shed::LoadShedLayer;

    use super::*;

    type Limiter = RateLimiter<Option<String>, HashMapStateStore<Option<String>>, DefaultClock>;

    #[derive(Clone)]
    struct Quotas {
        limiter: Arc<Limiter>,
        /// Whether Retry-After says the whole window (wrong) instead of the wait governor knows.
        whole_window: Option<Duration>,
    }

    pub fn app(backend: Upstream, limits: Limits) -> Router {
        build(backend, limits, false)
    }

    pub fn whole_window(backend: Upstream, limits: Limits) -> Router {
        build(backend, limits, true)
    }

    fn build(backend: Upstream, limits: Limits, whole_window: bool) -> Router {
        let burst = NonZeroU32::new(limits.per_client).unwrap();
        let quota = GovernorQuota::with_period(limits.window / limits.per_client)
            .unwrap()
            .allow_burst(burst);
        let quotas = Quotas {
            limiter: Arc::new(RateLimiter::hashmap(quota)),
            whole_window: whole_window.then_some(limits.window),
        };
        let client = reqwest::Client::builder().timeout(backend.timeout()).build().unwrap();
        Router::new()
            .route("/reports/{id}", get(report))
            .with_state((backend, client))
            .route_layer(
                ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(|_: BoxError| async {
                        problem(StatusCode::SERVICE_UNAVAILABLE, 2)
                    }))
                    .layer(LoadShedLayer::new())
                    .layer(ConcurrencyLimitLayer::new(limits.max_in_flight)),
            )
            .route_layer(middleware::from_fn_with_state(quotas, quota_first))
            .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))
    }

    async fn quota_first(State(quotas): State<Quotas>, request: Request, next: Next) -> Response {
        let key = request
            .headers()
            .get("x-api-key")
            .map(|key| String::from_utf8_lossy(key.as_bytes()).into_owned());
        match quotas.limiter.check_key(&key) {
            Ok(()) => next.run(request).await,
            Err(not_until) => {
                let wait = not_until.wait_time_from(quotas.limiter.clock().now());
                let wait = quotas.whole_window.unwrap_or(wait);
                problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    wait.as_millis().div_ceil(1000).max(1) as u64,
                )
            }
        }
    }

    async fn report(
        State((backend, client)): State<(Upstream, reqwest::Client)>,
        Path(id): Path<u32>,
    ) -> Response {
        match client.get(backend.url(&format!("/reports/{id}"))).send().await {
            Ok(response) if response.status().is_success() => {
                let body: Value = response.json().await.unwrap_or_default();
                Json(json!({"id": body["id"], "title": body["title"]})).into_response()
            }
            Err(failed) if failed.is_timeout() => problem(StatusCode::GATEWAY_TIMEOUT, 0),
            _ => problem(StatusCode::BAD_GATEWAY, 0),
        }
    }

    /// Problem details for `status`, with a Retry-After unless `seconds` is 0.
    fn problem(status: StatusCode, seconds: u64) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": status.canonical_reason(),
            "status": status.as_u16(),
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if seconds > 0 {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A right answer in another style: an atomic count of the calls under way with a guard that
/// gives the slot back, and a fixed window per client that starts at its first request.
mod counted {
    use super::*;

    struct Window {
        started: Instant,
        count: u32,
    }

    #[derive(Clone)]
    struct Counted {
        backend: Upstream,
        client: reqwest::Client,
        limits: Limits,
        under_way: Arc<AtomicUsize>,
        windows: Arc<Mutex<HashMap<Option<String>, Window>>>,
    }

    /// Gives its slot back when dropped, whatever path the handler took.
    struct Taken(Arc<AtomicUsize>);

    impl Drop for Taken {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub fn app(backend: Upstream, limits: Limits) -> Router {
        let client = reqwest::Client::builder().timeout(backend.timeout()).build().unwrap();
        let state =
            Counted { backend, client, limits, under_way: Arc::default(), windows: Arc::default() };
        Router::new()
            .route("/reports/{id}", get(report))
            .route("/health/live", get(|| async { Json(json!({"status": "up"})) }))
            .with_state(state)
    }

    async fn report(
        State(service): State<Counted>,
        Path(id): Path<u32>,
        headers: HeaderMap,
    ) -> Response {
        // A key that is not ASCII is no reason to refuse; read as text, it is one client still.
        let key = headers
            .get("x-api-key")
            .map(|key| String::from_utf8_lossy(key.as_bytes()).into_owned());
        {
            let now = Instant::now();
            let mut windows = service.windows.lock().unwrap();
            let window = windows.entry(key).or_insert(Window { started: now, count: 0 });
            if now - window.started >= service.limits.window {
                *window = Window { started: now, count: 0 };
            }
            if window.count >= service.limits.per_client {
                let room = window.started + service.limits.window - now;
                return error(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(room.as_millis().div_ceil(1000).max(1) as u64),
                );
            }
            window.count += 1;
        }
        let before = service.under_way.fetch_add(1, Ordering::SeqCst);
        let _taken = Taken(Arc::clone(&service.under_way));
        if before >= service.limits.max_in_flight {
            return error(StatusCode::SERVICE_UNAVAILABLE, Some(2));
        }
        match service.client.get(service.backend.url(&format!("/reports/{id}"))).send().await {
            Ok(response) if response.status() == StatusCode::OK => {
                Json(response.json::<Value>().await.unwrap_or_default()).into_response()
            }
            Err(failed) if failed.is_timeout() => error(StatusCode::GATEWAY_TIMEOUT, None),
            _ => error(StatusCode::BAD_GATEWAY, None),
        }
    }
}
