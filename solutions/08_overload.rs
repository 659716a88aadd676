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
    let admitted = service.quotas.admit(headers.get(API_KEY).map(HeaderValue::as_bytes))?;
    // Then: is there room at the backend? `try_acquire` answers now; `acquire().await` would
    // queue the request behind every other, and under a flood every answer would come late.
    let Ok(_slot) = service.slots.try_acquire() else {
        // A request shed with 503 was not served, so it does not count against the quota: a
        // client that politely retries its 503s must not run into 429s for it.
        service.quotas.give_back(admitted);
        return Err(Refusal::Overloaded);
    };
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
    /// Keys are hashed with a seed of this process's own: any key costs eight bytes, however long
    /// it is, and nobody outside can make two keys collide on purpose.
    hasher: RandomState,
    ledger: Mutex<Ledger>,
}

struct Ledger {
    /// By the hash of the client's key; `None` is every request without one.
    clients: HashMap<Option<u64>, VecDeque<Instant>>,
    /// When quiet clients were last forgotten.
    swept: Instant,
}

/// A request counted against its client's quota, at `at`.
struct Admitted {
    client: Option<u64>,
    at: Instant,
}

/// How many clients are remembered before the quiet ones are forgotten.
const CLIENTS_BEFORE_SWEEP: usize = 10_000;

impl Quotas {
    fn new(per_client: u32, window: Duration) -> Self {
        let ledger = Ledger { clients: HashMap::new(), swept: Instant::now() };
        Self {
            per_client: per_client as usize,
            window,
            hasher: RandomState::new(),
            ledger: Mutex::new(ledger),
        }
    }

    /// Lets `key`'s client in and counts it, or says how long until it has room again. A refusal
    /// is not counted: a client that comes back when told is let in.
    fn admit(&self, key: Option<&[u8]>) -> Result<Admitted, Refusal> {
        let client = key.map(|key| self.hasher.hash_one(key));
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        // Read under the lock, so that each client's log is in order.
        let now = Instant::now();
        let Ledger { clients, swept } = &mut *ledger;
        if clients.len() >= CLIENTS_BEFORE_SWEEP
            && !clients.contains_key(&client)
            && now - *swept >= self.window
        {
            // Keys are free to invent: forget the clients that have been quiet for a window. At
            // most once a window, so that a stream of new keys cannot make every request pay
            // for a walk through the whole map.
            clients.retain(|_, admitted| admitted.back().is_some_and(|at| now - *at < self.window));
            *swept = now;
        }
        let admitted = clients.entry(client).or_default();
        while admitted.front().is_some_and(|at| now - *at >= self.window) {
            admitted.pop_front();
        }
        if admitted.len() >= self.per_client {
            let oldest = *admitted.front().expect("a full log has a first entry");
            return Err(Refusal::OverQuota {
                room_in: oldest + self.window - now,
                per_client: self.per_client,
                window: self.window,
                anonymous: client.is_none(),
            });
        }
        admitted.push_back(now);
        Ok(Admitted { client, at: now })
    }

    /// Uncounts a request that was let in but then not served.
    fn give_back(&self, admitted: Admitted) {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(log) = ledger.clients.get_mut(&admitted.client)
            && let Some(place) = log.iter().rposition(|at| *at == admitted.at)
        {
            log.remove(place);
        }
    }
}

/// Every answer other than a report, and the one place that decides what a client sees of it.
#[derive(Debug)]
enum Refusal {
    /// This client is over its quota of `per_client` requests per `window`; it has room again
    /// after `room_in`.
    OverQuota {
        room_in: Duration,
        per_client: usize,
        window: Duration,
        anonymous: bool,
    },
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
            Self::OverQuota { room_in, per_client, window, anonymous } => {
                // Whole seconds, rounded up: a client that waits exactly this long has room.
                let seconds = room_in.as_millis().div_ceil(1000).max(1) as u64;
                // Which limit it hit is the client's own business, and what it can act on.
                let whose = if anonymous {
                    "the quota shared by requests without an API key"
                } else {
                    "your quota"
                };
                let message = format!(
                    "Over {whose}: {per_client} requests per {window:?}; try again in {seconds} s"
                );
                let mut response =
                    error(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", &message);
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
