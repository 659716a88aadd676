//! Lesson 5, 503 on purpose: reference solution.
//!
//! Every request for an item asks the breaker first. Closed, it calls the inventory and tells
//! the breaker how that went; open, it answers 503 at once, with the cooldown left (and a little
//! jitter) as Retry-After. The breaker's state is one small `Copy` enum behind a mutex, held only
//! to read or change it: never while the inventory is being asked. While draining, every answer
//! says `Connection: close`, so that clients open their next connection to another instance.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::BreakerPolicy;
use httplings::fixtures::{Lifecycle, Upstream};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

/// How long a draining instance asks callers to stay away: long enough for the load balancer
/// to notice, after which this instance is gone and another one answers.
const DRAINING_RETRY_AFTER: u64 = 5;

#[derive(Clone)]
struct Service {
    inventory: Upstream,
    client: reqwest::Client,
    breaker: Arc<Breaker>,
    lifecycle: Lifecycle,
}

pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
    let client = reqwest::Client::builder()
        .timeout(inventory.timeout())
        .connect_timeout(inventory.timeout())
        .build()
        .expect("a client without TLS always builds");
    let service = Service { inventory, client, breaker: Arc::new(Breaker::new(policy)), lifecycle };
    Router::new()
        .route("/items/{id}", get(item))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .layer(middleware::from_fn_with_state(service.clone(), close_while_draining))
        .with_state(service)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_failure(()),
        )
}

/// An item, as the inventory sends it and as the service passes it on.
#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: u32,
    stock: u32,
}

async fn item(
    State(service): State<Service>,
    Path(id): Path<u32>,
) -> Result<Json<Item>, ItemError> {
    let cooldown = service.breaker.policy.cooldown;
    let permit = service.breaker.permit().map_err(|left| ItemError::Open { left, cooldown })?;
    let result = fetch(&service, id).await;
    // A missing item is an answer, and a healthy inventory gives it: not a failure.
    permit.finish(!matches!(result, Err(ItemError::Unusable(_) | ItemError::TimedOut(_))));
    result.map(Json)
}

async fn fetch(service: &Service, id: u32) -> Result<Item, ItemError> {
    let url = service.inventory.url(&format!("/items/{id}"));
    let response = service.client.get(url).send().await?;
    match response.status() {
        StatusCode::OK => {
            let item: Item = response.json().await?;
            if item.id != id {
                return Err(ItemError::Unusable(format!("item {} instead of {id}", item.id)));
            }
            Ok(item)
        }
        StatusCode::NOT_FOUND => Err(ItemError::NoSuchItem),
        status => Err(ItemError::Unusable(format!("the inventory answered {status}"))),
    }
}

async fn live() -> &'static str {
    "alive"
}

/// While draining, each answer closes its connection: a client (or load balancer) that kept it
/// open would otherwise send its next request down a connection about to be cut.
async fn close_while_draining(
    State(service): State<Service>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if service.lifecycle.is_draining() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Ready unless draining. Not the breaker's business: the inventory is shared by every replica,
/// and all of them going unready at once would leave the load balancer nowhere to send anyone.
async fn ready(State(service): State<Service>) -> Response {
    if service.lifecycle.is_draining() {
        let retry_after = [(header::RETRY_AFTER, HeaderValue::from(DRAINING_RETRY_AFTER))];
        return (StatusCode::SERVICE_UNAVAILABLE, retry_after, "draining").into_response();
    }
    "ready".into_response()
}

#[derive(Debug)]
enum ItemError {
    NoSuchItem,
    Unusable(String),
    TimedOut(reqwest::Error),
    /// The breaker is open, for this much longer (nothing left: a trial is under way); and
    /// the whole cooldown.
    Open {
        left: Duration,
        cooldown: Duration,
    },
}

impl From<reqwest::Error> for ItemError {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() { Self::TimedOut(error) } else { Self::Unusable(chain(&error)) }
    }
}

impl IntoResponse for ItemError {
    fn into_response(self) -> Response {
        match self {
            Self::NoSuchItem => error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such item"),
            Self::Unusable(cause) => {
                tracing::error!(%cause, "the inventory gave no usable answer");
                error(
                    StatusCode::BAD_GATEWAY,
                    "BAD_GATEWAY",
                    "The inventory is not answering properly",
                )
            }
            Self::TimedOut(cause) => {
                tracing::error!(cause = %chain(&cause), "the inventory did not answer in time");
                error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "GATEWAY_TIMEOUT",
                    "The inventory did not answer in time",
                )
            }
            Self::Open { left, cooldown } => {
                let mut response = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "Items are temporarily unavailable; try again later",
                );
                // Never before the breaker tries again, and spread over half a cooldown after
                // it, so that the clients turned away together do not all come back together.
                let wait = left + jitter(cooldown / 2);
                // Whole seconds, rounded up so a client that waits as told never comes early;
                // at least 1, since 0 would bring it straight back.
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                response
            }
        }
    }
}

/// Anywhere from nothing to `most`. `RandomState` is keyed afresh each time: random enough to
/// spread clients out.
fn jitter(most: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    most.mul_f64(random as f64 / u64::MAX as f64)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

/// An error and its sources, outermost first: `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The breaker's states, as in the lesson's diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Circuit {
    /// `since`: when it closed, which tells this closed spell from earlier ones.
    Closed {
        failures: u32,
        since: Instant,
    },
    Open {
        until: Instant,
    },
    /// The cooldown is over, and one trial request is on its way.
    HalfOpen,
}

/// What a request that may call the inventory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Let through by the breaker closed since `since`.
    Normal {
        since: Instant,
    },
    Trial,
}

impl Circuit {
    /// Lets a request call the inventory, or says how long until one may (zero while the trial
    /// is under way).
    fn admit(&mut self, now: Instant) -> Result<Call, Duration> {
        match *self {
            Circuit::Closed { since, .. } => Ok(Call::Normal { since }),
            Circuit::Open { until } if now >= until => {
                *self = Circuit::HalfOpen;
                Ok(Call::Trial)
            }
            Circuit::Open { until } => Err(until - now),
            Circuit::HalfOpen => Err(Duration::ZERO),
        }
    }

    /// Records how a call went. Only the trial decides a half-open breaker's fate; a call let
    /// through before the breaker opened changes nothing once it has, not even once it has
    /// closed again: only calls of the current closed spell count.
    fn record(&mut self, call: Call, succeeded: bool, now: Instant, policy: &BreakerPolicy) {
        *self = match (*self, call, succeeded) {
            (_, Call::Trial, true) => Circuit::Closed { failures: 0, since: now },
            (_, Call::Trial, false) => Circuit::Open { until: now + policy.cooldown },
            (Circuit::Closed { since, .. }, Call::Normal { since: let_through }, true)
                if let_through == since =>
            {
                Circuit::Closed { failures: 0, since }
            }
            (Circuit::Closed { failures, since }, Call::Normal { since: let_through }, false)
                if let_through == since =>
            {
                if failures + 1 >= policy.failure_threshold {
                    Circuit::Open { until: now + policy.cooldown }
                } else {
                    Circuit::Closed { failures: failures + 1, since }
                }
            }
            (state, Call::Normal { .. }, _) => state,
        };
    }
}

struct Breaker {
    policy: BreakerPolicy,
    circuit: Mutex<Circuit>,
}

impl Breaker {
    fn new(policy: BreakerPolicy) -> Self {
        let closed = Circuit::Closed { failures: 0, since: Instant::now() };
        Self { policy, circuit: Mutex::new(closed) }
    }

    fn circuit(&self) -> std::sync::MutexGuard<'_, Circuit> {
        // The state is a `Copy` value replaced whole: a panic elsewhere cannot leave it torn.
        self.circuit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn permit(&self) -> Result<Permit<'_>, Duration> {
        let call = self.circuit().admit(Instant::now())?;
        Ok(Permit { breaker: self, call, finished: false })
    }
}

/// A call the breaker let through; it must hear how the call went.
struct Permit<'a> {
    breaker: &'a Breaker,
    call: Call,
    finished: bool,
}

impl Permit<'_> {
    fn finish(mut self, succeeded: bool) {
        self.finished = true;
        let (before, after) = {
            let mut circuit = self.breaker.circuit();
            let before = *circuit;
            circuit.record(self.call, succeeded, Instant::now(), &self.breaker.policy);
            (before, *circuit)
        };
        match (before, after) {
            (Circuit::Closed { .. } | Circuit::HalfOpen, Circuit::Open { .. }) => {
                tracing::warn!(cooldown = ?self.breaker.policy.cooldown, "circuit breaker opened");
            }
            (Circuit::HalfOpen, Circuit::Closed { .. }) => tracing::info!("circuit breaker closed"),
            _ => {}
        }
    }
}

impl Drop for Permit<'_> {
    /// A trial whose request was cancelled (its client went away) never told how the inventory
    /// is: without this, the breaker would wait for it forever.
    fn drop(&mut self) {
        if !self.finished && self.call == Call::Trial {
            *self.breaker.circuit() = Circuit::Open { until: Instant::now() };
        }
    }
}
