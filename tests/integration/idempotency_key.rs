//! Lesson 6's judge, run in process against its solution, its starter, right answers in other
//! styles, and one known-wrong server or client per rule, each caught by the check written
//! for it.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::future::join_all;
use httplings::RetryPolicy;
use httplings::fixtures::{Payment, Upstream};
use httplings::lessons::idempotency_key::App;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::idempotency_key::{self, CHECKS};
use serde_json::{Value, json};

use crate::support::{assert_failed, assert_rejected, seed};

#[path = "../../solutions/06_idempotency_key.rs"]
mod solution;

#[path = "../../exercises/.starters/06_idempotency_key.rs"]
mod starter;

const NO_KEY: &str = CHECKS[0];
const CHARGES: &str = CHECKS[1];
const REPLAYS: &str = CHECKS[2];
const CHANGED: &str = CHECKS[3];
const IN_FLIGHT: &str = CHECKS[4];
const NO_QUEUE: &str = CHECKS[5];
const ABANDONED: &str = CHECKS[6];
const RACES: &str = CHECKS[7];
const NOT_STORED: &str = CHECKS[8];
const KEYED: &str = CHECKS[9];
const FRESH: &str = CHECKS[10];
const RETRIES: &str = CHECKS[11];
const NEVER: &str = CHECKS[12];
const GIVES_UP: &str = CHECKS[13];
const WAITS: &str = CHECKS[14];

/// One app and one `pay` to judge, and the checks they must fail.
struct Case {
    judged: std::pin::Pin<Box<dyn Future<Output = Judged>>>,
    seed: u64,
    expected: &'static [&'static str],
}

macro_rules! case {
    ($app:expr, $pay:expr, $expected:expr) => {{
        let seed = seed();
        Case {
            judged: Box::pin(idempotency_key::judge_in_process($app, $pay, seed)),
            seed,
            expected: $expected,
        }
    }};
}

/// Judges every case at once (the judge mostly waits), each against the checks it must fail.
async fn judged_failing(cases: Vec<Case>) -> Vec<(Judged, u64)> {
    let expected: Vec<(u64, &[&str])> =
        cases.iter().map(|case| (case.seed, case.expected)).collect();
    let judged = join_all(cases.into_iter().map(|case| case.judged)).await;
    judged
        .into_iter()
        .zip(expected)
        .map(|(judged, (seed, expected))| {
            assert_failed(&judged, seed, CHECKS, expected);
            (judged, seed)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_and_the_starter_fails_usefully() {
    let starter_fails: &[&str] = &[
        NO_KEY, CHARGES, REPLAYS, CHANGED, IN_FLIGHT, ABANDONED, RACES, NOT_STORED, KEYED, FRESH,
        RETRIES, GIVES_UP, WAITS,
    ];
    let judged = judged_failing(vec![
        case!(solution::app, solution::pay, &[]),
        case!(starter::app, starter::pay, starter_fails),
    ])
    .await;
    let (starter, seed) = &judged[1];
    assert_rejected(starter, *seed, NOT_STORED, "2 charges");
    assert_rejected(starter, *seed, KEYED, "without an Idempotency-Key");
}

/// How a server and a client behave, piece by piece: [`RIGHT`], then one mistake per
/// known-wrong answer.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Whether a repeat gets the stored answer, or is charged again.
    stores_answers: bool,
    /// Whether a repeat with another payment is refused.
    compares_payments: bool,
    /// Whether a key whose first request is on its way answers 409.
    knows_in_flight: bool,
    /// Whether a processor failure is forgotten, or stored as the key's answer.
    forgets_failures: bool,
    /// Whether a claim whose request was cancelled (its client hung up) is released.
    releases_abandoned: bool,
    /// Whether one lock is held around the whole call to the processor.
    locks_across_charge: bool,
    /// Whether the key is claimed under the same lock as it is looked up (or only after an
    /// `.await`, with a fresh processor key each time).
    claims_atomically: bool,
    /// The client's key for a call, given a number that is the call's own.
    key: fn(call: u64) -> String,
    /// Whether the client makes a new key for every attempt, not every call.
    new_key_each_attempt: bool,
    /// Whether the client retries a 409.
    retries_409: bool,
    /// Whether it waits before retrying a 409.
    waits_after_409: bool,
    /// Whether the client retries a 422.
    retries_422: bool,
    /// Whether the client waits out a Retry-After.
    honours_retry_after: bool,
    /// The longest wait before retry `n`, before jitter.
    backoff: fn(&RetryPolicy, u32) -> Duration,
    /// Whether a Retry-After of exactly max_delay is given up on, as if it asked for more.
    gives_up_at_max_delay: bool,
}

fn exponential(policy: &RetryPolicy, retry: u32) -> Duration {
    policy.base_delay.saturating_mul(1 << (retry - 1).min(20)).min(policy.max_delay)
}

fn random_key(call: u64) -> String {
    // Two hashes keyed afresh: 128 bits, in the style of a random token rather than a UUID.
    let hash = |salt: u64| RandomState::new().hash_one((call, salt));
    format!("key_{:016x}{:016x}", hash(1), hash(2))
}

const RIGHT: Behaviour = Behaviour {
    stores_answers: true,
    compares_payments: true,
    knows_in_flight: true,
    forgets_failures: true,
    releases_abandoned: true,
    locks_across_charge: false,
    claims_atomically: true,
    key: random_key,
    new_key_each_attempt: false,
    retries_409: true,
    waits_after_409: true,
    retries_422: false,
    honours_retry_after: true,
    backoff: exponential,
    gives_up_at_max_delay: false,
};

/// Numbers calls in the order they are made, for a client that makes keys from a counter.
static CALLS: AtomicU64 = AtomicU64::new(0);

// ---- A server in another style: problem details, the key passed on with a prefix ----

#[derive(Clone)]
enum Entry {
    InFlight(Value),
    Done(Value, StatusCode, Value),
}

#[derive(Clone)]
struct Knobbed {
    processor: Upstream,
    client: reqwest::Client,
    keys: Arc<Mutex<HashMap<String, Entry>>>,
    /// Held across the call to the processor, when the behaviour says so.
    charging: Arc<tokio::sync::Mutex<()>>,
    behaviour: Behaviour,
}

fn knobbed_app(processor: Upstream, behaviour: Behaviour) -> Router {
    let client = reqwest::Client::builder().timeout(processor.timeout()).build().unwrap();
    let service =
        Knobbed { processor, client, keys: Arc::default(), charging: Arc::default(), behaviour };
    Router::new().route("/payments", post(knobbed_payment)).with_state(service)
}

fn problem(status: StatusCode) -> Response {
    let body = json!({"type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16()});
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

async fn knobbed_payment(
    State(service): State<Knobbed>,
    headers: HeaderMap,
    Json(payment): Json<Value>,
) -> Response {
    let behaviour = service.behaviour;
    let key = headers.get("idempotency-key").and_then(|key| key.to_str().ok());
    let Some(key) = key.map(|key| key.trim_matches('"').to_string()).filter(|key| !key.is_empty())
    else {
        return problem(StatusCode::BAD_REQUEST);
    };
    // Looking the key up and claiming it: one step under one lock, or (the mistake) two.
    let refused = {
        let mut keys = service.keys.lock().unwrap();
        let refused = match keys.get(&key) {
            Some(Entry::Done(first, ..) | Entry::InFlight(first))
                if behaviour.compares_payments && *first != payment =>
            {
                Some(problem(StatusCode::UNPROCESSABLE_ENTITY))
            }
            Some(Entry::Done(_, status, body)) if behaviour.stores_answers => {
                Some((*status, Json(body.clone())).into_response())
            }
            Some(Entry::InFlight(_)) if behaviour.knows_in_flight => {
                Some(problem(StatusCode::CONFLICT))
            }
            _ => None,
        };
        if refused.is_none() && behaviour.claims_atomically {
            keys.insert(key.clone(), Entry::InFlight(payment.clone()));
        }
        refused
    };
    if let Some(refused) = refused {
        return refused;
    }
    if !behaviour.claims_atomically {
        tokio::task::yield_now().await;
        service.keys.lock().unwrap().insert(key.clone(), Entry::InFlight(payment.clone()));
    }
    let mut release = Release { keys: Arc::clone(&service.keys), key: Some(key.clone()) };
    if !behaviour.releases_abandoned {
        release.key = None;
    }
    let downstream =
        if behaviour.claims_atomically { format!("payments:{key}") } else { random_key(0) };
    let _charging =
        if behaviour.locks_across_charge { Some(service.charging.lock().await) } else { None };
    let charged = service
        .client
        .post(service.processor.url("/charges"))
        .header("idempotency-key", downstream)
        .json(&payment)
        .send()
        .await;
    let charge_id = match charged {
        Ok(response) if response.status() == StatusCode::CREATED => response
            .json::<Value>()
            .await
            .ok()
            .and_then(|body| body["charge_id"].as_str().map(str::to_string)),
        _ => None,
    };
    release.key = None;
    let Some(charge_id) = charge_id else {
        let mut keys = service.keys.lock().unwrap();
        if behaviour.forgets_failures {
            keys.remove(&key);
        } else {
            keys.insert(key, Entry::Done(payment, StatusCode::BAD_GATEWAY, json!({"status": 502})));
        }
        return problem(StatusCode::BAD_GATEWAY);
    };
    let body = json!({"payment_id": charge_id, "amount": payment["amount"], "currency": payment["currency"], "status": "paid"});
    service
        .keys
        .lock()
        .unwrap()
        .insert(key, Entry::Done(payment, StatusCode::CREATED, body.clone()));
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Removes a claim when its request is dropped before it settled.
struct Release {
    keys: Arc<Mutex<HashMap<String, Entry>>>,
    key: Option<String>,
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.keys.lock().unwrap().remove(key);
        }
    }
}

// ---- A client in another style: equal jitter, a `match` on the status ----

async fn knobbed_pay(
    client: &reqwest::Client,
    url: &str,
    payment: &Payment,
    policy: &RetryPolicy,
    behaviour: Behaviour,
) -> Result<reqwest::Response, reqwest::Error> {
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut key = (behaviour.key)(call);
    for attempt in 1.. {
        if behaviour.new_key_each_attempt && attempt > 1 {
            key = (behaviour.key)(call);
        }
        let outcome = client.post(url).header("Idempotency-Key", &key).json(payment).send().await;
        let retry = match &outcome {
            Ok(response) => match response.status().as_u16() {
                409 => behaviour.retries_409,
                422 => behaviour.retries_422,
                status => status >= 500,
            },
            Err(error) => !error.is_builder(),
        };
        if !retry || attempt >= policy.max_attempts {
            return outcome;
        }
        let asked = outcome.as_ref().ok().and_then(|response| {
            response.headers().get("retry-after")?.to_str().ok()?.parse::<u64>().ok()
        });
        let longest = (behaviour.backoff)(policy, attempt);
        let rushes = !behaviour.waits_after_409
            && outcome.as_ref().is_ok_and(|response| response.status() == StatusCode::CONFLICT);
        let wait = match asked {
            _ if rushes => Duration::ZERO,
            Some(seconds) if Duration::from_secs(seconds) > policy.max_delay => return outcome,
            Some(seconds)
                if behaviour.gives_up_at_max_delay
                    && Duration::from_secs(seconds) == policy.max_delay =>
            {
                return outcome;
            }
            Some(seconds) if behaviour.honours_retry_after => Duration::from_secs(seconds),
            // Equal jitter: half the backoff, plus up to as much again.
            _ => {
                longest / 2
                    + longest.mul_f64((RandomState::new().hash_one(attempt) % 1000) as f64 / 2000.0)
            }
        };
        drop(outcome);
        tokio::time::sleep(wait).await;
    }
    unreachable!("the loop returns")
}

/// A server and client of `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        (
            (|processor| knobbed_app(processor, Behaviour { $($field: $value,)* ..RIGHT })) as App,
            async |client: &reqwest::Client, url: &str, payment: &Payment, policy: &RetryPolicy| {
                knobbed_pay(client, url, payment, policy, Behaviour { $($field: $value,)* ..RIGHT }).await
            },
        )
    };
}

macro_rules! knobbed {
    ($expected:expr $(, $field:ident: $value:expr)*) => {{
        let (app, pay) = with!($($field: $value),*);
        case!(app, pay, $expected)
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_server_and_client_in_another_style_pass() {
    judged_failing(vec![knobbed!(&[])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_known_wrong_server_is_caught_by_the_check_for_its_rule() {
    let judged = judged_failing(vec![
        knobbed!(&[REPLAYS], stores_answers: false),
        knobbed!(&[CHANGED], compares_payments: false),
        knobbed!(&[IN_FLIGHT, RACES], knows_in_flight: false),
        knobbed!(&[NOT_STORED], forgets_failures: false),
        knobbed!(&[ABANDONED], releases_abandoned: false),
        knobbed!(&[NO_QUEUE], locks_across_charge: true),
        knobbed!(&[ABANDONED, RACES, NOT_STORED], claims_atomically: false),
    ])
    .await;
    let (replays, seed) = &judged[0];
    assert_rejected(replays, *seed, REPLAYS, "the processor was asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_known_wrong_client_is_caught_by_the_check_for_its_rule() {
    let judged = judged_failing(vec![
        knobbed!(&[KEYED], new_key_each_attempt: true),
        knobbed!(&[FRESH], key: |_| "2f6d8c1e-5b3a-4c7d-9e8f-0a1b2c3d4e5f".into()),
        knobbed!(&[FRESH], key: |call| format!("payment-{call:012}")),
        knobbed!(&[RETRIES, GIVES_UP], retries_409: false),
        knobbed!(&[NEVER], retries_422: true),
        knobbed!(&[WAITS], honours_retry_after: false),
        knobbed!(&[WAITS], waits_after_409: false),
        // One wait, whatever the retry: about what the bounds allow on average, but no backoff.
        knobbed!(&[WAITS], gives_up_at_max_delay: true),
        knobbed!(&[WAITS], backoff: |_, _| Duration::from_millis(100)),
    ])
    .await;
    let (keyed, seed) = &judged[0];
    assert_rejected(keyed, *seed, KEYED, "different keys");
    let (flat, seed) = judged.last().expect("cases");
    assert_rejected(flat, *seed, WAITS, "the waits do not grow");
}
