//! Lesson 4, 502 and 504: reference solution.
//!
//! The gateway owns its API: it asks the pricing service once, with a deadline, and turns
//! whatever comes back into an answer of its own. Nothing of the pricing service's (its address,
//! its error texts, its headers) reaches the client; all of it reaches the log.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::Upstream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    // One deadline for the whole exchange (connecting included) and one for connecting alone:
    // a gateway must never wait longer for its upstream than it was allowed to.
    let client = reqwest::Client::builder()
        .timeout(upstream.timeout())
        .connect_timeout(upstream.timeout())
        .build()
        .expect("a client without TLS always builds");
    Router::new()
        .route("/quotes/{symbol}", get(quote))
        .with_state(Gateway { upstream, client })
        // Every log line of a request carries its path, and so the symbol.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_failure(()),
        )
}

/// A price, as the pricing service sends it and as the gateway passes it on.
#[derive(Debug, Serialize, Deserialize)]
struct Quote {
    symbol: String,
    price: f64,
}

async fn quote(
    State(gateway): State<Gateway>,
    Path(symbol): Path<String>,
) -> Result<Json<Quote>, GatewayError> {
    let url = gateway.upstream.url(&format!("/prices/{symbol}"));
    let response = gateway.client.get(&url).send().await?;
    match response.status() {
        StatusCode::OK => {
            // A body that is not a price is as useless as no answer: a 502, like any other.
            let quote: Quote = response.json().await?;
            if quote.symbol != symbol || !quote.price.is_finite() {
                return Err(GatewayError::Unusable(format!(
                    "a price for {} instead of {symbol}",
                    quote.symbol
                )));
            }
            Ok(Json(quote))
        }
        StatusCode::NOT_FOUND => Err(GatewayError::NoSuchSymbol),
        StatusCode::SERVICE_UNAVAILABLE => Err(GatewayError::Unavailable(retry_after(&response))),
        status => Err(GatewayError::Unusable(format!("the pricing service answered {status}"))),
    }
}

/// delay-seconds from the pricing service's `Retry-After`, if it sent one we can read.
fn retry_after(response: &reqwest::Response) -> Option<u64> {
    let value =
        response.headers().get(header::RETRY_AFTER)?.to_str().ok()?.trim_matches([' ', '\t']);
    value.bytes().all(|byte| byte.is_ascii_digit()).then(|| value.parse().ok()).flatten()
}

/// Every way asking the pricing service can go wrong, and the one place that decides what the
/// client sees of it.
#[derive(Debug)]
enum GatewayError {
    /// The symbol does not exist: the client's mistake.
    NoSuchSymbol,
    /// No usable answer: refused, reset, broken, or not a price.
    Unusable(String),
    /// No answer in time.
    TimedOut(reqwest::Error),
    /// The pricing service said it is unavailable, and maybe for how long.
    Unavailable(Option<u64>),
}

impl From<reqwest::Error> for GatewayError {
    fn from(error: reqwest::Error) -> Self {
        // A timeout while connecting is a timeout too: check it before anything else.
        if error.is_timeout() {
            GatewayError::TimedOut(error)
        } else {
            GatewayError::Unusable(chain(&error))
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        match self {
            Self::NoSuchSymbol => error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such symbol"),
            Self::Unusable(cause) => {
                tracing::error!(%cause, "the pricing service gave no usable answer");
                error(
                    StatusCode::BAD_GATEWAY,
                    "BAD_GATEWAY",
                    "The pricing service is not answering properly; try again shortly",
                )
            }
            Self::TimedOut(cause) => {
                tracing::error!(cause = %chain(&cause), "the pricing service did not answer in time");
                error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "GATEWAY_TIMEOUT",
                    "The pricing service did not answer in time; try again shortly",
                )
            }
            Self::Unavailable(seconds) => {
                tracing::warn!(retry_after = ?seconds, "the pricing service is unavailable");
                let mut response = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "Prices are temporarily unavailable",
                );
                // Passed on as the pricing service asked: our own value, not its header.
                if let Some(seconds) = seconds {
                    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
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
