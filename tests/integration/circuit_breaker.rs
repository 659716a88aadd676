//! Lesson 5's judge, run in process against its solution, its starter, a right answer in
//! another style (atomics, problem details, an HTTP-date), and one known-wrong breaker per rule,
//! each caught by the check written for it.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::future::join_all;
use httplings::BreakerPolicy;
use httplings::fixtures::{Lifecycle, Upstream};
use httplings::lessons::circuit_breaker::App;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::circuit_breaker::{self, CHECKS};
use serde_json::{Value, json};

use crate::support::{assert_failed, assert_rejected, seed};

#[path = "../../solutions/05_circuit_breaker.rs"]
mod solution;

#[path = "../../exercises/.starters/05_circuit_breaker.rs"]
mod starter;

const OPENS: &str = CHECKS[1];
const COUNTS: &str = CHECKS[2];
const NOT_FOUND: &str = CHECKS[3];
const RETRY_AFTER: &str = CHECKS[4];
const ONE_TRIAL: &str = CHECKS[5];
const CLOSES: &str = CHECKS[6];
const REOPENS: &str = CHECKS[7];
const ABANDONED: &str = CHECKS[8];
const LIVE: &str = CHECKS[9];
const READY: &str = CHECKS[10];
const DRAINING: &str = CHECKS[11];
const NO_QUEUE: &str = CHECKS[12];

/// Judges every app at once (the judge mostly waits for cooldowns), each against the checks it
/// must fail.
async fn judged_failing(cases: &[(App, &[&str])]) -> Vec<(Judged, u64)> {
    let judged = join_all(cases.iter().map(|(app, expected)| async move {
        let seed = seed();
        let judged = circuit_breaker::judge_in_process(*app, seed).await;
        (judged, seed, *expected)
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
    let starter_fails: &[&str] =
        &[COUNTS, OPENS, RETRY_AFTER, ONE_TRIAL, CLOSES, REOPENS, ABANDONED, READY];
    let judged = judged_failing(&[(solution::app, &[]), (starter::app, starter_fails)]).await;
    let (starter, seed) = &judged[1];
    assert_rejected(starter, *seed, OPENS, "still reached the inventory");
    assert_rejected(starter, *seed, COUNTS, "the breaker never opened");
}

/// How a breaker behaves, piece by piece: [`RIGHT`], then one mistake per known-wrong answer.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Whether a success starts the count of failures again.
    success_resets: bool,
    /// Whether the inventory's 404 counts as a failure.
    counts_404: bool,
    /// Whether an open breaker still calls the inventory (and answers 503 all the same).
    calls_when_open: bool,
    /// The Retry-After of an open breaker, given the cooldown left and the whole cooldown.
    retry_after: fn(Duration, Duration) -> Option<u64>,
    /// Whether every request after the cooldown goes through, not one trial.
    lets_the_crowd_through: bool,
    /// Whether a trial that succeeds closes the breaker.
    trial_closes: bool,
    /// Whether it closes with the count of failures where it was, one short of opening.
    closes_with_count: bool,
    /// Whether a trial that fails starts a new cooldown (or leaves the old, spent one).
    trial_reopens: bool,
    /// Whether a trial whose request was cancelled is forgotten, leaving the breaker half-open.
    forgets_abandoned_trial: bool,
    /// Whether /health/live asks the inventory whether it is up.
    live_asks_inventory: bool,
    /// Whether /health/ready answers 503 while the breaker is open.
    ready_follows_breaker: bool,
    /// Whether /health/ready answers 503 while draining.
    ready_drains: bool,
    /// Whether /items answers 503 while draining, even to a request already under way.
    items_refuse_while_draining: bool,
    /// Whether one lock is held around the whole call to the inventory.
    lock_across_call: bool,
}

const RIGHT: Behaviour = Behaviour {
    success_resets: true,
    counts_404: false,
    calls_when_open: false,
    retry_after: |left, _| Some(left.as_millis().div_ceil(1000).max(1) as u64),
    lets_the_crowd_through: false,
    trial_closes: true,
    closes_with_count: false,
    trial_reopens: true,
    forgets_abandoned_trial: false,
    live_asks_inventory: false,
    ready_follows_breaker: false,
    ready_drains: true,
    items_refuse_while_draining: false,
    lock_across_call: false,
};

#[derive(Default)]
struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
    trial_under_way: bool,
}

#[derive(Clone)]
struct Knobbed {
    inventory: Upstream,
    client: reqwest::Client,
    policy: BreakerPolicy,
    lifecycle: Lifecycle,
    circuit: Arc<Mutex<Circuit>>,
    /// Held across the whole call when the behaviour says so.
    queue: Arc<tokio::sync::Mutex<()>>,
    behaviour: Behaviour,
}

/// A breaker of `behaviour`: a struct behind a mutex, with the decisions spelled out in the
/// handler rather than in a type of their own.
fn knobbed(
    inventory: Upstream,
    policy: BreakerPolicy,
    lifecycle: Lifecycle,
    behaviour: Behaviour,
) -> Router {
    let client = reqwest::Client::builder().timeout(inventory.timeout()).build().unwrap();
    let state = Knobbed {
        inventory,
        client,
        policy,
        lifecycle,
        circuit: Arc::default(),
        queue: Arc::default(),
        behaviour,
    };
    Router::new()
        .route("/items/{id}", get(knobbed_item))
        .route("/health/live", get(knobbed_live))
        .route("/health/ready", get(knobbed_ready))
        .with_state(state)
}

/// Frees the breaker for another trial when a trial's request is dropped before it finished.
struct TrialGuard {
    circuit: Option<Arc<Mutex<Circuit>>>,
}

impl Drop for TrialGuard {
    fn drop(&mut self) {
        if let Some(circuit) = &self.circuit {
            circuit.lock().unwrap().trial_under_way = false;
        }
    }
}

enum Admitted {
    Call { trial: bool },
    Refused(Duration),
}

async fn knobbed_item(State(service): State<Knobbed>, Path(id): Path<u32>) -> Response {
    let behaviour = service.behaviour;
    let _queue = if behaviour.lock_across_call { Some(service.queue.lock().await) } else { None };
    let admitted = {
        let mut circuit = service.circuit.lock().unwrap();
        match circuit.open_until {
            None => Admitted::Call { trial: false },
            Some(until) if Instant::now() < until => Admitted::Refused(until - Instant::now()),
            Some(_) if behaviour.lets_the_crowd_through => Admitted::Call { trial: true },
            Some(_) if circuit.trial_under_way => Admitted::Refused(Duration::ZERO),
            Some(_) => {
                circuit.trial_under_way = true;
                Admitted::Call { trial: true }
            }
        }
    };
    let trial = match admitted {
        Admitted::Call { trial } => trial,
        Admitted::Refused(left) => {
            if behaviour.calls_when_open {
                let _ = fetch(&service, id).await;
            }
            return unavailable((behaviour.retry_after)(left, service.policy.cooldown));
        }
    };
    let guarded = trial && !behaviour.forgets_abandoned_trial;
    let mut guard = TrialGuard { circuit: guarded.then(|| Arc::clone(&service.circuit)) };
    let result = fetch(&service, id).await;
    guard.circuit = None;
    // A 404 is the inventory working, unless this breaker is wrong about it.
    let failed = match result {
        Err(StatusCode::NOT_FOUND) => behaviour.counts_404,
        _ => result.is_err(),
    };
    {
        let mut circuit = service.circuit.lock().unwrap();
        match (!failed, trial) {
            (true, true) => {
                circuit.trial_under_way = false;
                if behaviour.trial_closes {
                    let failures = if behaviour.closes_with_count {
                        service.policy.failure_threshold - 1
                    } else {
                        0
                    };
                    *circuit = Circuit { failures, ..Circuit::default() };
                } else {
                    circuit.open_until = Some(Instant::now() + service.policy.cooldown);
                }
            }
            (false, true) => {
                circuit.trial_under_way = false;
                if behaviour.trial_reopens {
                    circuit.open_until = Some(Instant::now() + service.policy.cooldown);
                }
            }
            (true, false) if behaviour.success_resets => circuit.failures = 0,
            (true, false) => {}
            (false, false) => {
                circuit.failures += 1;
                if circuit.failures >= service.policy.failure_threshold {
                    circuit.open_until = Some(Instant::now() + service.policy.cooldown);
                }
            }
        }
    }
    if behaviour.items_refuse_while_draining && service.lifecycle.is_draining() {
        return unavailable(Some(1));
    }
    match result {
        Ok(item) => Json(item).into_response(),
        Err(status) => error(status, status.canonical_reason().unwrap_or_default()),
    }
}

/// The item, or the status that says why not.
async fn fetch(service: &Knobbed, id: u32) -> Result<Value, StatusCode> {
    let response = service
        .client
        .get(service.inventory.url(&format!("/items/{id}")))
        .send()
        .await
        .map_err(|error| {
            if error.is_timeout() { StatusCode::GATEWAY_TIMEOUT } else { StatusCode::BAD_GATEWAY }
        })?;
    let body: Value = match response.status() {
        StatusCode::OK => response.json().await.map_err(|_| StatusCode::BAD_GATEWAY)?,
        StatusCode::NOT_FOUND => return Err(StatusCode::NOT_FOUND),
        _ => return Err(StatusCode::BAD_GATEWAY),
    };
    if body["id"] != id {
        return Err(StatusCode::BAD_GATEWAY);
    }
    Ok(body)
}

async fn knobbed_live(State(service): State<Knobbed>) -> StatusCode {
    if service.behaviour.live_asks_inventory && fetch(&service, 1).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    StatusCode::OK
}

async fn knobbed_ready(State(service): State<Knobbed>) -> Response {
    let open = service.circuit.lock().unwrap().open_until.is_some();
    let draining = service.behaviour.ready_drains && service.lifecycle.is_draining();
    if draining || (service.behaviour.ready_follows_breaker && open) {
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "10")]).into_response();
    }
    StatusCode::OK.into_response()
}

fn error(status: StatusCode, code: &str) -> Response {
    let code = code.to_ascii_uppercase().replace(' ', "_");
    (status, Json(json!({"error": {"code": code, "message": "no item this time"}}))).into_response()
}

fn unavailable(retry_after: Option<u64>) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A known-wrong breaker: `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        |inventory, policy, lifecycle| knobbed(inventory, policy, lifecycle, Behaviour { $($field: $value,)* ..RIGHT })
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_breakers_in_other_styles_pass() {
    judged_failing(&[(with!(), &[]), (atomic::app, &[])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_known_wrong_breaker_is_caught_by_the_check_for_its_rule() {
    let judged = judged_failing(&[
        (with!(success_resets: false), &[COUNTS]),
        (with!(counts_404: true), &[NOT_FOUND, COUNTS]),
        (with!(forgets_abandoned_trial: true), &[ABANDONED]),
        (with!(calls_when_open: true), &[OPENS, ONE_TRIAL, REOPENS]),
        (with!(lets_the_crowd_through: true), &[ONE_TRIAL]),
        (with!(trial_closes: false), &[CLOSES]),
        (with!(closes_with_count: true), &[CLOSES]),
        (with!(live_asks_inventory: true), &[LIVE]),
        (with!(trial_reopens: false), &[REOPENS]),
        (with!(ready_follows_breaker: true), &[READY]),
        (with!(ready_drains: false), &[READY]),
        (with!(items_refuse_while_draining: true), &[DRAINING]),
        (with!(lock_across_call: true), &[NO_QUEUE, ONE_TRIAL]),
    ])
    .await;
    let [counts, _, _, _, crowd, _, _, _, _, follows, _, _, queue] = &judged[..] else {
        unreachable!()
    };
    assert_rejected(&counts.0, counts.1, COUNTS, "failures in a row (the threshold is");
    assert_rejected(&crowd.0, crowd.1, ONE_TRIAL, "reached the inventory");
    assert_rejected(&follows.0, follows.1, READY, "with the breaker open");
    assert_rejected(&queue.0, queue.1, NO_QUEUE, "waited for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wrong_retry_after_is_caught() {
    judged_failing(&[
        // The whole cooldown, every time: right only at first.
        (
            with!(retry_after: |_, cooldown| Some(cooldown.as_millis().div_ceil(1000) as u64)),
            &[RETRY_AFTER],
        ),
        // Rounded down: 1 too early, and then 0.
        (with!(retry_after: |left, _| Some(left.as_secs())), &[RETRY_AFTER]),
        (with!(retry_after: |_, _| None), &[RETRY_AFTER]),
    ])
    .await;
}

/// A right breaker in another style: lock-free atomics, the half-open moment decided lazily by
/// whoever arrives first after the cooldown, RFC 9457 problem details, and an HTTP-date as the
/// draining instance's Retry-After.
mod atomic {
    use super::*;

    /// `opened_at` holds this for a closed breaker.
    const CLOSED: u64 = u64::MAX;

    struct Breaker {
        policy: BreakerPolicy,
        epoch: Instant,
        failures: AtomicU32,
        /// Milliseconds since `epoch` when it opened, or [`CLOSED`].
        opened_at: AtomicU64,
        trial: AtomicBool,
    }

    #[derive(Clone)]
    struct Service {
        inventory: Upstream,
        client: reqwest::Client,
        breaker: Arc<Breaker>,
        lifecycle: Lifecycle,
    }

    pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
        let client = reqwest::Client::builder().timeout(inventory.timeout()).build().unwrap();
        let breaker = Breaker {
            policy,
            epoch: Instant::now(),
            failures: AtomicU32::new(0),
            opened_at: AtomicU64::new(CLOSED),
            trial: AtomicBool::new(false),
        };
        Router::new()
            .route("/items/{id}", get(item))
            .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))
            .route("/health/ready", get(ready))
            .with_state(Service { inventory, client, breaker: Arc::new(breaker), lifecycle })
    }

    impl Breaker {
        fn now(&self) -> u64 {
            self.epoch.elapsed().as_millis() as u64
        }

        /// `Ok(is_trial)`, or the milliseconds left.
        fn admit(&self) -> Result<bool, u64> {
            let opened_at = self.opened_at.load(Ordering::Acquire);
            if opened_at == CLOSED {
                return Ok(false);
            }
            let ends = opened_at + self.policy.cooldown.as_millis() as u64;
            let now = self.now();
            if now < ends {
                return Err(ends - now);
            }
            match self.trial.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => Ok(true),
                Err(_) => Err(0),
            }
        }

        fn succeeded(&self, trial: bool) {
            self.failures.store(0, Ordering::Release);
            if trial {
                self.opened_at.store(CLOSED, Ordering::Release);
                self.trial.store(false, Ordering::Release);
            }
        }

        fn failed(&self, trial: bool) {
            if trial {
                self.opened_at.store(self.now(), Ordering::Release);
                self.trial.store(false, Ordering::Release);
            } else if self.failures.fetch_add(1, Ordering::AcqRel) + 1
                >= self.policy.failure_threshold
            {
                let _ = self.opened_at.compare_exchange(
                    CLOSED,
                    self.now(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
    }

    /// A trial dropped before it finished counts as a failed one: open for a cooldown again.
    struct Abandoned<'a>(Option<&'a Breaker>);

    impl Drop for Abandoned<'_> {
        fn drop(&mut self) {
            if let Some(breaker) = self.0 {
                breaker.failed(true);
            }
        }
    }

    async fn item(State(service): State<Service>, Path(id): Path<u32>) -> Response {
        let trial = match service.breaker.admit() {
            Ok(trial) => trial,
            Err(left_ms) => {
                let seconds = left_ms.div_ceil(1000).max(1);
                let mut response = problem(StatusCode::SERVICE_UNAVAILABLE);
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                return response;
            }
        };
        let mut abandoned = Abandoned(trial.then_some(&*service.breaker));
        let url = service.inventory.url(&format!("/items/{id}"));
        let answer = match service.client.get(url).send().await {
            Ok(response) if response.status() == StatusCode::OK => {
                response.json::<Value>().await.map_err(|_| StatusCode::BAD_GATEWAY)
            }
            Ok(response) if response.status() == StatusCode::NOT_FOUND => {
                Err(StatusCode::NOT_FOUND)
            }
            Ok(_) => Err(StatusCode::BAD_GATEWAY),
            Err(error) if error.is_timeout() => Err(StatusCode::GATEWAY_TIMEOUT),
            Err(_) => Err(StatusCode::BAD_GATEWAY),
        };
        abandoned.0 = None;
        match answer {
            Ok(item) if item["id"] == id => {
                service.breaker.succeeded(trial);
                Json(item).into_response()
            }
            Ok(_) => {
                service.breaker.failed(trial);
                problem(StatusCode::BAD_GATEWAY)
            }
            Err(StatusCode::NOT_FOUND) => {
                service.breaker.succeeded(trial);
                problem(StatusCode::NOT_FOUND)
            }
            Err(status) => {
                service.breaker.failed(trial);
                problem(status)
            }
        }
    }

    async fn ready(State(service): State<Service>) -> Response {
        if !service.lifecycle.is_draining() {
            return StatusCode::NO_CONTENT.into_response();
        }
        let back = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, back)]).into_response()
    }

    fn problem(status: StatusCode) -> Response {
        let body = json!({"type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16()});
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string())
            .into_response()
    }
}
