//! A right answer in another style: the permit a guard whose Drop reopens the breaker until now
//! (the next request is the trial), a generation counter, no jitter, the course's error bodies.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::BreakerPolicy;
use httplings::fixtures::{Lifecycle, Upstream};
use serde::{Deserialize, Serialize};
use serde_json::json;

enum State_ {
    Closed(u32),
    Open(Instant),
    Trial,
}

struct Inner {
    state: State_,
    generation: u64,
}

#[derive(Clone)]
struct Breaker {
    inner: Arc<Mutex<Inner>>,
    policy: BreakerPolicy,
}

struct Permit {
    breaker: Breaker,
    generation: u64,
    done: bool,
}

impl Permit {
    fn finish(mut self, worked: bool) {
        self.done = true;
        let mut inner = self.breaker.inner.lock().unwrap();
        if inner.generation != self.generation {
            return;
        }
        let now = Instant::now();
        let next = match (&inner.state, worked) {
            (State_::Closed(_), true) => Some(State_::Closed(0)),
            (State_::Closed(n), false) if n + 1 < self.breaker.policy.failure_threshold => {
                Some(State_::Closed(n + 1))
            }
            (State_::Closed(_), false) => Some(State_::Open(now + self.breaker.policy.cooldown)),
            (State_::Trial, true) => Some(State_::Closed(0)),
            (State_::Trial, false) => Some(State_::Open(now + self.breaker.policy.cooldown)),
            (State_::Open(_), _) => None,
        };
        if let Some(next) = next {
            let changes_phase =
                !matches!((&inner.state, &next), (State_::Closed(_), State_::Closed(_)));
            inner.state = next;
            if changes_phase {
                inner.generation += 1;
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut inner = self.breaker.inner.lock().unwrap();
        if inner.generation == self.generation && matches!(inner.state, State_::Trial) {
            inner.state = State_::Open(Instant::now());
            inner.generation += 1;
        }
    }
}

impl Breaker {
    fn admit(&self) -> Result<Permit, Duration> {
        let mut inner = self.inner.lock().unwrap();
        let now = Instant::now();
        match inner.state {
            State_::Closed(_) => {}
            State_::Open(until) if now >= until => {
                inner.state = State_::Trial;
                inner.generation += 1;
            }
            State_::Open(until) => return Err(until - now),
            State_::Trial => return Err(Duration::ZERO),
        }
        Ok(Permit { breaker: self.clone(), generation: inner.generation, done: false })
    }
}

#[derive(Clone)]
struct App {
    inventory: Upstream,
    client: reqwest::Client,
    breaker: Breaker,
    lifecycle: Lifecycle,
}

pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
    let client = reqwest::Client::builder()
        .timeout(inventory.timeout())
        .connect_timeout(inventory.timeout())
        .build()
        .expect("client");
    let breaker = Breaker {
        inner: Arc::new(Mutex::new(Inner { state: State_::Closed(0), generation: 0 })),
        policy,
    };
    Router::new()
        .route("/items/{id}", get(item))
        .route("/health/live", get(|| async { "ok" }))
        .route("/health/ready", get(ready))
        .with_state(App { inventory, client, breaker, lifecycle })
}

async fn ready(State(app): State<App>) -> Response {
    if app.lifecycle.is_draining() {
        let mut r = error(StatusCode::SERVICE_UNAVAILABLE, "DRAINING", "This instance is stopping");
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(3u32));
        return r;
    }
    "ok".into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: u32,
    stock: u32,
}

async fn item(State(app): State<App>, Path(id): Path<u32>) -> Response {
    let permit = match app.breaker.admit() {
        Ok(permit) => permit,
        Err(left) => {
            let secs = left.as_secs_f64().ceil().max(1.0) as u64;
            let mut r =
                error(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "Inventory paused");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
    };
    let url = app.inventory.url(&format!("/items/{id}"));
    let result: Result<Option<Item>, (bool, String)> = async {
        let response =
            app.client.get(url).send().await.map_err(|e| (e.is_timeout(), e.to_string()))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            s => return Err((false, format!("status {s}"))),
        }
        let item: Item = response.json().await.map_err(|e| (e.is_timeout(), e.to_string()))?;
        if item.id != id {
            return Err((false, format!("wrong item {}", item.id)));
        }
        Ok(Some(item))
    }
    .await;
    permit.finish(result.is_ok());
    match result {
        Ok(Some(item)) => Json(item).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such item"),
        Err((true, cause)) => {
            tracing::error!(id, %cause, "inventory timed out");
            error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", "Inventory too slow")
        }
        Err((false, cause)) => {
            tracing::error!(id, %cause, "inventory failed");
            error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Inventory failed")
        }
    }
}
