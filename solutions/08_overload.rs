//! Lesson "overload": reference solution.
//!
//! The service refuses what it cannot do well, early and cheaply: a client over its own quota
//! gets 429 with the time until it has room again; a request beyond the backend's capacity gets
//! 503 at once, instead of a place in a queue that would make every request late. The health
//! endpoint stands outside both limits.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::Limits;
use httplings::fixtures::Upstream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Semaphore;

/// The header that names a client.
const API_KEY: &str = "x-api-key";

#[derive(Clone)]
struct Service {
    backend: Upstream,
    client: reqwest::Client,
    /// One permit per backend call that may run at once, shared by every request.
    slots: Arc<Semaphore>,
    quotas: Arc<Quotas>,
}

pub fn app(backend: Upstream, limits: Limits) -> Router {
    let client = reqwest::Client::builder()
        .timeout(backend.timeout())
        .connect_timeout(backend.timeout())
        .build()
        .expect("a client without TLS always builds");
    let service = Service {
        backend,
        client,
        slots: Arc::new(Semaphore::new(limits.max_in_flight)),
        quotas: Arc::new(Quotas::new(limits.per_client, limits.window)),
    };
    Router::new()
        .route("/reports/{id}", get(report))
        .with_state(service)
        // Outside every limit: an orchestrator that sees a busy instance as dead restarts it, and
        // its load lands on the others.
        .route("/health/live", get(|| async { "ok" }))
}

/// A report, as the backend sends it and as this service passes it on.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    id: u32,
    title: String,
}

async fn report(
    State(service): State<Service>,
    Path(id): Path<u32>,
    headers: HeaderMap,
) -> Result<Json<Report>, Refusal> {
    // The cheapest question first: is this client within its quota? Clients without a key share
    // one quota, so that leaving the key out is no way around it.
    let client = headers.get(API_KEY).map(|key| key.as_bytes().to_vec());
    service.quotas.admit(client)?;
    // Then: is there room at the backend? `try_acquire` answers now; `acquire().await` would
    // queue the request behind every other, and under a flood every answer would come late.
    let _slot = service.slots.try_acquire().map_err(|_| Refusal::Overloaded)?;
    let url = service.backend.url(&format!("/reports/{id}"));
    let response = service.client.get(&url).send().await?;
    match response.status() {
        StatusCode::OK => Ok(Json(response.json().await?)),
        StatusCode::NOT_FOUND => Err(Refusal::NoSuchReport),
        status => Err(Refusal::BadGateway(format!("the backend answered {status}"))),
    }
    // `_slot` is dropped here, on every path: a failed call gives its place back too.
}

/// Per-client quotas: a sliding log of the times each client was let in, never longer than the
/// quota, so that a client holds at most `per_client` instants in memory.
struct Quotas {
    per_client: usize,
    window: Duration,
    clients: Mutex<HashMap<Option<Vec<u8>>, VecDeque<Instant>>>,
}

impl Quotas {
    fn new(per_client: u32, window: Duration) -> Self {
        Self { per_client: per_client as usize, window, clients: Mutex::default() }
    }

    /// Lets `client` in and counts it, or says how long until it has room again. A refusal is
    /// not counted: a client that comes back when told is let in.
    fn admit(&self, client: Option<Vec<u8>>) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() >= 10_000 && !clients.contains_key(&client) {
            // Keys are free to invent: forget the clients that have been quiet for a window.
            clients.retain(|_, admitted| admitted.back().is_some_and(|at| now - *at < self.window));
        }
        let admitted = clients.entry(client).or_default();
        while admitted.front().is_some_and(|at| now - *at >= self.window) {
            admitted.pop_front();
        }
        if admitted.len() >= self.per_client {
            let oldest = *admitted.front().expect("a full log has a first entry");
            return Err(Refusal::OverQuota(oldest + self.window - now));
        }
        admitted.push_back(now);
        Ok(())
    }
}

/// Every answer other than a report, and the one place that decides what a client sees of it.
#[derive(Debug)]
enum Refusal {
    /// This client is over its quota; it has room again after this long.
    OverQuota(Duration),
    /// Every backend slot is taken.
    Overloaded,
    NoSuchReport,
    BadGateway(String),
    GatewayTimeout(String),
}

impl From<reqwest::Error> for Refusal {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Refusal::GatewayTimeout(chain(&error))
        } else {
            Refusal::BadGateway(chain(&error))
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::OverQuota(room_in) => {
                let message = "This API key is over its quota; try again after Retry-After";
                let mut response =
                    error(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", message);
                // Whole seconds, rounded up: a client that waits exactly this long has room.
                let seconds = room_in.as_millis().div_ceil(1000).max(1) as u64;
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                response
            }
            Self::Overloaded => {
                let message = "The service is at capacity; try again shortly";
                let mut response =
                    error(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", message);
                // One to three seconds, at random: the clients refused together do not all come
                // back in the same instant.
                let seconds = 1 + RandomState::new().build_hasher().finish() % 3;
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                response
            }
            Self::NoSuchReport => error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such report"),
            Self::BadGateway(cause) => {
                tracing::error!(%cause, "the backend gave no usable answer");
                error(
                    StatusCode::BAD_GATEWAY,
                    "BAD_GATEWAY",
                    "The backend failed; try again shortly",
                )
            }
            Self::GatewayTimeout(cause) => {
                tracing::error!(%cause, "the backend did not answer in time");
                let message = "The backend did not answer in time; try again shortly";
                error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", message)
            }
        }
    }
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
