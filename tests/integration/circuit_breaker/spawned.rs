//! A right answer in another style: the call runs in a task of its own (a client that hangs up
//! cannot cancel it), an epoch in each permit, jitter from uuid's randomness, RFC 9457 bodies, a
//! 204 liveness probe, and Connection: close while draining.

use std::sync::{Arc, Mutex};
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

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed { failures: u32 },
    Open { until: Instant },
    Probing,
}

struct Breaker {
    policy: BreakerPolicy,
    phase: Phase,
    epoch: u64,
}

enum Admit {
    Go { epoch: u64 },
    Refuse { wait: Duration },
}

impl Breaker {
    fn admit(&mut self, now: Instant) -> Admit {
        match self.phase {
            Phase::Closed { .. } => Admit::Go { epoch: self.epoch },
            Phase::Open { until } if now >= until => {
                self.phase = Phase::Probing;
                self.epoch += 1;
                Admit::Go { epoch: self.epoch }
            }
            Phase::Open { until } => Admit::Refuse { wait: until - now },
            Phase::Probing => Admit::Refuse { wait: Duration::ZERO },
        }
    }

    fn record(&mut self, epoch: u64, worked: bool, now: Instant) {
        if epoch != self.epoch {
            return;
        }
        let open = Phase::Open { until: now + self.policy.cooldown };
        self.phase = match (self.phase, worked) {
            (Phase::Closed { .. }, true) => Phase::Closed { failures: 0 },
            (Phase::Closed { failures }, false)
                if failures + 1 >= self.policy.failure_threshold =>
            {
                self.epoch += 1;
                open
            }
            (Phase::Closed { failures }, false) => Phase::Closed { failures: failures + 1 },
            (Phase::Probing, true) => {
                self.epoch += 1;
                Phase::Closed { failures: 0 }
            }
            (Phase::Probing, false) => {
                self.epoch += 1;
                open
            }
            (phase @ Phase::Open { .. }, _) => phase,
        };
    }
}

#[derive(Clone)]
struct Svc {
    inventory: Upstream,
    client: reqwest::Client,
    breaker: Arc<Mutex<Breaker>>,
    lifecycle: Lifecycle,
    cooldown: Duration,
}

pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
    let client = reqwest::Client::builder()
        .timeout(inventory.timeout())
        .connect_timeout(inventory.timeout())
        .build()
        .expect("client");
    let svc = Svc {
        inventory,
        client,
        cooldown: policy.cooldown,
        breaker: Arc::new(Mutex::new(Breaker {
            policy,
            phase: Phase::Closed { failures: 0 },
            epoch: 0,
        })),
        lifecycle,
    };
    Router::new()
        .route("/items/{id}", get(item))
        .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))
        .route("/health/ready", get(ready))
        .layer(middleware::from_fn_with_state(svc.clone(), close_while_draining))
        .with_state(svc)
}

async fn close_while_draining(State(svc): State<Svc>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if svc.lifecycle.is_draining() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn ready(State(svc): State<Svc>) -> Response {
    if svc.lifecycle.is_draining() {
        let mut r = problem(StatusCode::SERVICE_UNAVAILABLE, "Shutting down");
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        r
    } else {
        (StatusCode::OK, "ready").into_response()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: u32,
    stock: u32,
}

enum Got {
    Item(Item),
    Missing,
}

enum Bad {
    Slow(String),
    Broken(String),
}

fn problem(status: StatusCode, title: &str) -> Response {
    let body = json!({"type": "about:blank", "title": title, "status": status.as_u16()});
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn jitter_fraction() -> f64 {
    // The first 48 bits of a v4 uuid are all random (its version and variant come later).
    let bits = (uuid::Uuid::new_v4().as_u128() >> 80) as u64;
    bits as f64 / (1u64 << 48) as f64
}

async fn item(State(svc): State<Svc>, Path(id): Path<u32>) -> Response {
    let admitted = svc.breaker.lock().unwrap().admit(Instant::now());
    let epoch = match admitted {
        Admit::Go { epoch } => epoch,
        Admit::Refuse { wait } => {
            let spread = svc.cooldown.mul_f64(0.5 * jitter_fraction());
            let total = wait + spread;
            let secs = (total.as_secs() + u64::from(total.subsec_nanos() > 0)).max(1);
            let mut r = problem(StatusCode::SERVICE_UNAVAILABLE, "The inventory is resting");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
    };
    let task_svc = svc.clone();
    let outcome = tokio::spawn(async move {
        let outcome = fetch(&task_svc, id).await;
        let worked = outcome.is_ok();
        task_svc.breaker.lock().unwrap().record(epoch, worked, Instant::now());
        outcome
    })
    .await
    .unwrap_or_else(|e| Err(Bad::Broken(format!("task: {e}"))));
    match outcome {
        Ok(Got::Item(item)) => Json(item).into_response(),
        Ok(Got::Missing) => problem(StatusCode::NOT_FOUND, "No such item"),
        Err(Bad::Slow(cause)) => {
            tracing::warn!(id, %cause, "inventory timed out");
            problem(StatusCode::GATEWAY_TIMEOUT, "The inventory did not answer in time")
        }
        Err(Bad::Broken(cause)) => {
            tracing::warn!(id, %cause, "inventory failed");
            problem(StatusCode::BAD_GATEWAY, "The inventory failed")
        }
    }
}

fn classify(e: reqwest::Error) -> Bad {
    if e.is_timeout() { Bad::Slow(e.to_string()) } else { Bad::Broken(e.to_string()) }
}

async fn fetch(svc: &Svc, id: u32) -> Result<Got, Bad> {
    let response = svc
        .client
        .get(svc.inventory.url(&format!("/items/{id}")))
        .send()
        .await
        .map_err(classify)?;
    match response.status().as_u16() {
        200 => {}
        404 => return Ok(Got::Missing),
        other => return Err(Bad::Broken(format!("status {other}"))),
    }
    let item: Item = response.json().await.map_err(classify)?;
    if item.id != id {
        return Err(Bad::Broken(format!("item {} for {id}", item.id)));
    }
    Ok(Got::Item(item))
}
