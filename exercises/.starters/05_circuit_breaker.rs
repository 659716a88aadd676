//! Lesson 5, 503 on purpose: a circuit breaker, and readiness.
//!
//! Read the lesson with `cargo run -- lesson 5`; check your work with `cargo run -- check 5`.
//! Keep the signature of `app`: the checks call it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::BreakerPolicy;
use httplings::fixtures::{Lifecycle, Upstream};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Clone)]
struct Service {
    inventory: Upstream,
    client: reqwest::Client,
}

pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
    // TODO: nothing uses the policy or the lifecycle yet. The breaker's state, shared by every
    //       request, and the lifecycle belong in the router's state.
    let _ = (policy, lifecycle);
    let client = reqwest::Client::builder()
        .timeout(inventory.timeout())
        .connect_timeout(inventory.timeout())
        .build()
        .expect("a client without TLS always builds");
    Router::new()
        .route("/items/{id}", get(item))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(Service { inventory, client })
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: u32,
    stock: u32,
}

async fn item(State(service): State<Service>, Path(id): Path<u32>) -> Response {
    // TODO: every request asks the inventory, however often it has just failed. Put a circuit
    //       breaker in front of it, as the lesson describes.
    match fetch(&service, id).await {
        Ok(item) => Json(item).into_response(),
        Err(failure) => failure.into_response(),
    }
}

/// Asks the inventory for one item: lesson 4's gateway, done.
async fn fetch(service: &Service, id: u32) -> Result<Item, Failure> {
    let url = service.inventory.url(&format!("/items/{id}"));
    let response = service.client.get(url).send().await?;
    match response.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(Failure::NoSuchItem),
        status => return Err(Failure::Unusable(format!("the inventory answered {status}"))),
    }
    let item: Item = response.json().await?;
    if item.id != id {
        return Err(Failure::Unusable(format!("item {} instead of {id}", item.id)));
    }
    Ok(item)
}

async fn live() -> &'static str {
    "alive"
}

async fn ready() -> &'static str {
    // TODO: always ready, even while the instance is shutting down.
    "ready"
}

/// Why the inventory gave no item.
enum Failure {
    NoSuchItem,
    Unusable(String),
    TimedOut(reqwest::Error),
}

impl From<reqwest::Error> for Failure {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() { Self::TimedOut(error) } else { Self::Unusable(error.to_string()) }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Self::NoSuchItem => (StatusCode::NOT_FOUND, "NOT_FOUND", "No such item"),
            Self::Unusable(cause) => {
                tracing::error!(%cause, "the inventory gave no usable answer");
                (StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "The inventory is not answering properly")
            }
            Self::TimedOut(cause) => {
                tracing::error!(%cause, "the inventory did not answer in time");
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    "GATEWAY_TIMEOUT",
                    "The inventory did not answer in time",
                )
            }
        };
        (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
    }
}
