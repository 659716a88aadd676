//! A right answer in another style: a typed f64 quote (42 comes back as 42.0), the symbol encoded
//! as one path segment, reqwest's own deadline, and every alternative the lesson allows: a 410
//! as 404, a 429 as 502, a refused connection as 503, Retry-After doubled.

use std::error::Error as _;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::Upstream;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Clone)]
struct Gateway {
    base: reqwest::Url,
    client: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(upstream.timeout())
        .connect_timeout(upstream.timeout())
        .pool_max_idle_per_host(4)
        .build()
        .expect("client");
    let base = reqwest::Url::parse(&upstream.url("/prices/")).expect("url");
    Router::new().route("/quotes/{symbol}", get(quote)).with_state(Gateway { base, client })
}

#[derive(Deserialize, Serialize)]
struct Quote {
    symbol: String,
    price: f64,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

fn cause_of(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut s = e.source();
    while let Some(x) = s {
        parts.push(x.to_string());
        s = x.source();
    }
    parts.join(" <- ")
}

async fn quote(State(gw): State<Gateway>, Path(symbol): Path<String>) -> Response {
    if symbol == "." || symbol == ".." || symbol.is_empty() {
        return error(StatusCode::BAD_REQUEST, "BAD_SYMBOL", "That is not a symbol");
    }
    let mut url = gw.base.clone();
    url.path_segments_mut().expect("http url").pop_if_empty().push(&symbol);
    let response = match gw.client.get(url).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            tracing::error!(symbol, cause = cause_of(&e), "pricing: timed out");
            return error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", "Prices timed out");
        }
        Err(e) if e.is_connect() => {
            tracing::error!(symbol, cause = cause_of(&e), "pricing: cannot connect");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "Prices are down",
            );
        }
        Err(e) => {
            tracing::error!(symbol, cause = cause_of(&e), "pricing: request failed");
            return error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Prices failed");
        }
    };
    let status = response.status();
    match status.as_u16() {
        200 => match read_at_most(response, 1 << 20).await {
            Ok(Some(body)) => match serde_json::from_slice::<Quote>(&body) {
                Ok(q) if q.symbol == symbol => Json(q).into_response(),
                Ok(q) => {
                    tracing::error!(symbol, answered = q.symbol, "pricing: another symbol's price");
                    error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Prices failed")
                }
                Err(e) => {
                    tracing::error!(symbol, cause = %e, "pricing: unusable body");
                    error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Prices failed")
                }
            },
            Ok(None) => {
                tracing::error!(symbol, "pricing: body over 1 MiB");
                error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Prices failed")
            }
            Err(e) if e.is_timeout() => {
                tracing::error!(symbol, cause = cause_of(&e), "pricing: body timed out");
                error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", "Prices timed out")
            }
            Err(e) => {
                tracing::error!(symbol, cause = cause_of(&e), "pricing: unusable body");
                error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Prices failed")
            }
        },
        404 | 410 => error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such symbol"),
        503 => {
            tracing::error!(symbol, %status, "pricing: unavailable");
            let secs = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let mut r =
                error(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "Prices are down");
            if let Some(secs) = secs {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs * 2));
            }
            r
        }
        _ => {
            tracing::error!(symbol, %status, "pricing: answered an error");
            error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Prices failed")
        }
    }
}

/// The body, or `None` once it grows past `limit` bytes.
async fn read_at_most(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}
