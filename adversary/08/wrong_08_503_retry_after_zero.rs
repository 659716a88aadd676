//! WRONG: the 503 says Retry-After: 0

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use httplings::Limits;
use httplings::fixtures::Upstream;
use serde_json::{Value, json};
use tower::ServiceBuilder;

#[derive(Clone)]
struct Service {
    backend: Upstream,
    client: reqwest::Client,
    quotas: Arc<Quotas>,
}

struct Quotas {
    per_client: usize,
    window: Duration,
    log: Mutex<HashMap<Option<Vec<u8>>, VecDeque<Instant>>>,
}

impl Quotas {
    /// `Ok` and the request counted, or `Err(how long until there is room)`.
    fn admit(&self, key: Option<Vec<u8>>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut log = self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entries = log.entry(key).or_default();
        while entries.front().is_some_and(|&at| now.duration_since(at) >= self.window) {
            entries.pop_front();
        }
        if entries.len() < self.per_client {
            entries.push_back(now);
            return Ok(());
        }
        let oldest = *entries.front().expect("a full log is not empty");
        Err((oldest + self.window).saturating_duration_since(now))
    }
}

pub fn app(backend: Upstream, limits: Limits) -> Router {
    let client = reqwest::Client::builder()
        .timeout(backend.timeout())
        .build()
        .expect("a client without TLS always builds");
    let quotas = Arc::new(Quotas {
        per_client: limits.per_client as usize,
        window: limits.window,
        log: Mutex::new(HashMap::new()),
    });
    let shed = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async { overloaded() }))
        .load_shed()
        .concurrency_limit(limits.max_in_flight);
    Router::new()
        .route("/reports/{id}", get(report))
        .route_layer(shed)
        .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))
        .with_state(Service { backend, client, quotas })
}

async fn report(
    State(service): State<Service>,
    Path(id): Path<u32>,
    headers: HeaderMap,
) -> Response {
    let key = headers.get("x-api-key").map(|value| value.as_bytes().to_vec());
    if let Err(room_in) = service.quotas.admit(key) {
        let seconds = room_in.as_nanos().div_ceil(1_000_000_000).max(1);
        return problem(StatusCode::TOO_MANY_REQUESTS, "Over your quota", Some(seconds as u64));
    }
    let url = service.backend.url(&format!("/reports/{id}"));
    let response = match service.client.get(&url).send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => {
            return problem(StatusCode::GATEWAY_TIMEOUT, "The backend did not answer in time", None);
        }
        Err(_) => return problem(StatusCode::BAD_GATEWAY, "The backend failed", None),
    };
    match response.status() {
        StatusCode::OK => match response.json::<Value>().await {
            Ok(report) => axum::Json(report).into_response(),
            Err(error) if error.is_timeout() => {
                problem(StatusCode::GATEWAY_TIMEOUT, "The backend did not answer in time", None)
            }
            Err(_) => problem(StatusCode::BAD_GATEWAY, "The backend failed", None),
        },
        StatusCode::NOT_FOUND => problem(StatusCode::NOT_FOUND, "No such report", None),
        _ => problem(StatusCode::BAD_GATEWAY, "The backend failed", None),
    }
}

fn overloaded() -> Response {
    let seconds = fastish_random() % 1;
    problem(StatusCode::SERVICE_UNAVAILABLE, "At capacity, retry shortly", Some(seconds))
}

fn fastish_random() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

fn problem(status: StatusCode, title: &str, retry_after: Option<u64>) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
    });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
