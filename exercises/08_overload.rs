//! Lesson "overload": shed load early, and tell 503 from 429.
//!
//! Read the lesson with `cargo run -- lesson 8`; check your work with `cargo run -- check 8`.
//! Keep the signature of `app`: the checks call it.
//!
//! The service asks a slow backend for reports. Right now it takes on everything: every
//! request becomes a backend call, however many are under way, and one client can use up the
//! service for everyone.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::Limits;
use httplings::fixtures::Upstream;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The header that names a client.
const API_KEY: &str = "x-api-key";

#[derive(Clone)]
struct Service {
    backend: Upstream,
    client: reqwest::Client,
    // TODO: what every request shares to know how many backend calls are under way, and how
    //       many requests each client has made in its window.
}

pub fn app(backend: Upstream, limits: Limits) -> Router {
    // TODO: `limits` says how many backend calls may run at once, and each client's quota.
    let _ = limits;
    let client = reqwest::Client::builder()
        .timeout(backend.timeout())
        .connect_timeout(backend.timeout())
        .build()
        .expect("a client without TLS always builds");
    Router::new()
        .route("/reports/{id}", get(report))
        .route("/health/live", get(|| async { "ok" }))
        .with_state(Service { backend, client })
}

#[derive(Debug, Serialize, Deserialize)]
struct Report {
    id: u32,
    title: String,
}

async fn report(
    State(service): State<Service>,
    Path(id): Path<u32>,
    headers: HeaderMap,
) -> Result<Json<Report>, Failed> {
    // TODO: a client over its quota (named by its x-api-key; the clients without one share a
    //       quota) gets 429, with how long until it has room again.
    let _client = headers.get(API_KEY);
    // TODO: with max_in_flight backend calls under way, answer 503 at once instead of calling.
    let url = service.backend.url(&format!("/reports/{id}"));
    let response = service.client.get(&url).send().await?;
    match response.status() {
        StatusCode::OK => Ok(Json(response.json().await?)),
        StatusCode::NOT_FOUND => Err(Failed::NoSuchReport),
        status => Err(Failed::BadGateway(format!("the backend answered {status}"))),
    }
}

#[derive(Debug)]
enum Failed {
    NoSuchReport,
    BadGateway(String),
    GatewayTimeout(String),
}

impl From<reqwest::Error> for Failed {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Failed::GatewayTimeout(error.to_string())
        } else {
            Failed::BadGateway(error.to_string())
        }
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Self::NoSuchReport => (StatusCode::NOT_FOUND, "NOT_FOUND", "No such report"),
            Self::BadGateway(cause) => {
                tracing::error!(%cause, "the backend gave no usable answer");
                (StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "The backend failed; try again shortly")
            }
            Self::GatewayTimeout(cause) => {
                tracing::error!(%cause, "the backend did not answer in time");
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    "GATEWAY_TIMEOUT",
                    "The backend did not answer in time",
                )
            }
        };
        (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
    }
}
