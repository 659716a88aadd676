//! A right answer in another style: symbols refused unless they look like one, one tokio deadline
//! around the whole exchange, serde_json::Value, RFC 9457 bodies, a 4xx as 500, a refused
//! connection tried once more at once, Retry-After passed on as an HTTP-date a second later.

use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use httplings::fixtures::Upstream;
use serde_json::{Value, json};

const MAX_BODY: usize = 64 * 1024;

#[derive(Clone)]
struct Gw {
    upstream: Upstream,
    http: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    let http = reqwest::Client::builder().build().expect("client");
    Router::new().route("/quotes/{symbol}", get(quote)).with_state(Gw { upstream, http })
}

fn is_symbol(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 24
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

enum Outcome {
    Price(Value, Value),
    Status(u16, Option<String>),
}

enum Trouble {
    Refused(reqwest::Error),
    Other(String),
}

async fn exchange(gw: &Gw, url: &str) -> Result<Outcome, Trouble> {
    let mut attempt = 0;
    let mut response = loop {
        attempt += 1;
        match gw.http.get(url).send().await {
            Ok(r) => break r,
            Err(e) if e.is_connect() && attempt == 1 => continue,
            Err(e) if e.is_connect() => return Err(Trouble::Refused(e)),
            Err(e) => return Err(Trouble::Other(chain(&e))),
        }
    };
    let status = response.status().as_u16();
    if status != 200 {
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Ok(Outcome::Status(status, retry));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| Trouble::Other(chain(&e)))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(Trouble::Other("body over 64 KiB".into()));
        }
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| Trouble::Other(format!("not JSON: {e}")))?;
    match (value.get("symbol"), value.get("price")) {
        (Some(s @ Value::String(_)), Some(p @ Value::Number(_))) => {
            Ok(Outcome::Price(s.clone(), p.clone()))
        }
        _ => Err(Trouble::Other(format!("no symbol and price in {} bytes", body.len()))),
    }
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn problem(status: StatusCode, title: &str) -> Response {
    let body = json!({"type": "about:blank", "title": title, "status": status.as_u16()});
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

async fn quote(State(gw): State<Gw>, Path(symbol): Path<String>) -> Response {
    if !is_symbol(&symbol) {
        return problem(StatusCode::BAD_REQUEST, "Not a symbol");
    }
    let url = gw.upstream.url(&format!("/prices/{symbol}"));
    let started = Instant::now();
    let outcome = tokio::time::timeout(gw.upstream.timeout(), exchange(&gw, &url)).await;
    let took = started.elapsed();
    match outcome {
        Err(_) => {
            tracing::warn!(%symbol, ?took, "pricing service: no whole answer in time");
            problem(StatusCode::GATEWAY_TIMEOUT, "The pricing service did not answer in time")
        }
        Ok(Err(Trouble::Refused(e))) => {
            tracing::warn!(%symbol, cause = %chain(&e), "pricing service: connection refused twice");
            problem(StatusCode::BAD_GATEWAY, "The pricing service is unreachable")
        }
        Ok(Err(Trouble::Other(cause))) => {
            tracing::warn!(%symbol, %cause, "pricing service: unusable answer");
            problem(StatusCode::BAD_GATEWAY, "The pricing service answered badly")
        }
        Ok(Ok(Outcome::Price(s, p))) if s == symbol.as_str() => {
            (StatusCode::OK, axum::Json(json!({"symbol": s, "price": p}))).into_response()
        }
        Ok(Ok(Outcome::Price(s, _))) => {
            tracing::warn!(%symbol, answered = %s, "pricing service: a price for another symbol");
            problem(StatusCode::BAD_GATEWAY, "The pricing service answered badly")
        }
        Ok(Ok(Outcome::Status(404, _))) => problem(StatusCode::NOT_FOUND, "No such symbol"),
        Ok(Ok(Outcome::Status(410, _))) => problem(StatusCode::GONE, "Symbol delisted"),
        Ok(Ok(Outcome::Status(code @ (429 | 503), retry))) => {
            tracing::warn!(%symbol, code, ?retry, "pricing service: unavailable");
            let mut response =
                problem(StatusCode::SERVICE_UNAVAILABLE, "Prices are unavailable for now");
            if let Some(secs) = retry.as_deref().and_then(|r| r.trim().parse::<u64>().ok()) {
                let at = SystemTime::now() + Duration::from_secs(secs + 1);
                if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at)) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            response
        }
        Ok(Ok(Outcome::Status(code, _))) if (400..500).contains(&code) => {
            tracing::error!(%symbol, code, "pricing service refused our request");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
        }
        Ok(Ok(Outcome::Status(code, _))) => {
            tracing::warn!(%symbol, code, "pricing service answered an error");
            problem(StatusCode::BAD_GATEWAY, "The pricing service failed")
        }
    }
}
