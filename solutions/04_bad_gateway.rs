//! Lesson 4, 502 and 504: reference solution.
//!
//! The gateway owns its API: it asks the pricing service once, with one deadline for the whole
//! exchange, and turns whatever comes back into an answer of its own. Nothing of the pricing
//! service's (its address, its error texts, its headers) reaches the client; all of it reaches
//! the log.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::Upstream;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

/// The most a price's body may take: a few hundred bytes are a price; megabytes are not, and
/// a timeout limits how long we read, not how much.
const MAX_BODY: usize = 64 * 1024;

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    // One deadline for the whole exchange (connecting, the head and the body) and one for
    // connecting alone: a gateway never waits longer for its upstream than it was allowed to.
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

/// A price, as the pricing service sends it and as the gateway passes it on. An `f64` carries
/// every JSON number of up to 15 significant digits unchanged; money in production travels as
/// a decimal string or in minor units (cents), never through a float's arithmetic.
#[derive(Debug, Serialize, Deserialize)]
struct Quote {
    symbol: String,
    price: f64,
}

async fn quote(
    State(gateway): State<Gateway>,
    Path(symbol): Path<String>,
) -> Result<Json<Quote>, GatewayError> {
    let url = price_url(&gateway.upstream, &symbol).ok_or(GatewayError::InvalidSymbol)?;
    let response = gateway.client.get(url).send().await?;
    match response.status() {
        StatusCode::OK => {
            // A body that is not a price is as useless as no answer: a 502, like any other.
            let quote: Quote = serde_json::from_slice(&read_capped(response).await?)
                .map_err(|error| GatewayError::Unusable(format!("not a price: {error}")))?;
            if quote.symbol != symbol || !quote.price.is_finite() {
                return Err(GatewayError::Unusable(format!("a price for {}", quote.symbol)));
            }
            Ok(Json(quote))
        }
        // The symbol does not exist, or no longer does: true for our client as for us.
        StatusCode::NOT_FOUND => Err(GatewayError::NoSuchSymbol(StatusCode::NOT_FOUND)),
        StatusCode::GONE => Err(GatewayError::NoSuchSymbol(StatusCode::GONE)),
        // Unavailable for a while, or asked too often by us (not by our client): either way we
        // are unavailable for as long as it says.
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
            let status = response.status();
            Err(GatewayError::Unavailable(status, retry_after(&response)))
        }
        // Any other status, a 4xx included: our request, or our credentials, were refused,
        // which no retry of our client's will change, or the service failed. Ours to fix.
        status => Err(GatewayError::Unusable(format!("the pricing service answered {status}"))),
    }
}

/// The pricing service's URL for `symbol`, the symbol as one path segment, percent-encoded:
/// `../admin` must not become `/admin`, nor `ACME?x=1` a query. `None` for what cannot be a
/// segment at all: `.` and `..` (URL parsers resolve them) and nothing.
fn price_url(upstream: &Upstream, symbol: &str) -> Option<Url> {
    if matches!(symbol, "" | "." | "..") {
        return None;
    }
    let mut url = Url::parse(&upstream.url("/prices/")).ok()?;
    url.path_segments_mut().ok()?.pop_if_empty().push(symbol);
    Some(url)
}

/// The body, but never more than [`MAX_BODY`] of it.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, GatewayError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(GatewayError::Unusable(format!("a body of more than {MAX_BODY} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
    /// A symbol that cannot be asked for: the client's mistake.
    InvalidSymbol,
    /// The symbol does not exist (404), or no longer does (410).
    NoSuchSymbol(StatusCode),
    /// No usable answer: refused, reset, broken, not a price, or a status we cannot use.
    Unusable(String),
    /// No whole answer in time.
    TimedOut(reqwest::Error),
    /// The pricing service said it is unavailable (503), or that we ask too often (429), and
    /// maybe for how long.
    Unavailable(StatusCode, Option<u64>),
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
            Self::InvalidSymbol => {
                error(StatusCode::BAD_REQUEST, "INVALID_SYMBOL", "That is not a symbol")
            }
            Self::NoSuchSymbol(status) => error(status, "NOT_FOUND", "No such symbol"),
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
            Self::Unavailable(status, seconds) => {
                tracing::warn!(%status, retry_after = ?seconds, "the pricing service is unavailable");
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

/// An error and its sources, outermost first: `a: b: c`. A reqwest error's own text says only
/// "error sending request"; what went wrong (refused, reset, timed out) is in its sources.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
