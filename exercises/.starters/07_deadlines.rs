//! Lesson 7, deadlines: one budget for the whole call, spent honestly and passed on.
//!
//! Two halves. `get_before` is lesson 3's retrying client, but its caller gives it a deadline.
//! `app` is lesson 4's gateway, but its caller may say in `grpc-timeout` how long it will wait.
//! Both work as lessons 3 and 4 left them, and both ignore the time they are given.
//!
//! Read the lesson with `cargo run -- lesson 7`, then check with `cargo run -- check 7`.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::RetryPolicy;
use httplings::fixtures::{GaveUp, Upstream};
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The client

pub async fn get_before(
    client: &reqwest::Client,
    url: &str,
    deadline: Instant,
    policy: RetryPolicy,
) -> Result<reqwest::Response, GaveUp> {
    // TODO: a deadline that has already passed sends nothing at all.
    let _ = deadline;
    let mut attempt = 1;
    loop {
        // TODO: no attempt may have more time than is left before the deadline.
        let outcome = client.get(url).send().await;
        if attempt >= policy.max_attempts || !worth_retrying(&outcome) {
            return outcome.map_err(GaveUp::Transport);
        }
        let wait = match outcome.as_ref().ok().and_then(retry_after) {
            Some(asked) if asked > policy.max_delay => return outcome.map_err(GaveUp::Transport),
            Some(asked) => asked,
            None => full_jitter(backoff(&policy, attempt)),
        };
        // TODO: a wait that would end after the deadline is never started: give up now, with
        // what this attempt got.
        drop(outcome);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// Lesson 3's rule: a 5xx, or a failure on the way that may heal.
fn worth_retrying(outcome: &Result<reqwest::Response, reqwest::Error>) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
    }
}

/// base_delay × 2^(retry−1), capped at max_delay, saturating.
fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry - 1);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// A wait anywhere in `[0, longest]`.
fn full_jitter(longest: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    longest.mul_f64(random as f64 / u64::MAX as f64)
}

/// `Retry-After` in delay-seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim_matches([' ', '\t']);
    if seconds.is_empty() || !seconds.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(seconds.parse().unwrap_or(u64::MAX)))
}

// ---------------------------------------------------------------------------------------------
// The gateway

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(upstream.timeout())
        .build()
        .expect("a client without TLS always builds");
    Router::new().route("/quotes/{symbol}", get(quote)).with_state(Gateway { upstream, client })
}

async fn quote(
    State(gateway): State<Gateway>,
    Path(symbol): Path<String>,
    headers: HeaderMap,
) -> Response {
    // TODO: read the caller's budget from `grpc-timeout` (decide what a malformed one gets), and
    // give the upstream call the smaller of it and `upstream.timeout()`. A budget already spent,
    // or too small to be worth a call, gets a 504 at once.
    let _ = headers;
    // TODO: tell the upstream, in `grpc-timeout`, the budget that is left.
    let sent = gateway.client.get(gateway.upstream.url(&format!("/prices/{symbol}"))).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(error) if error.is_timeout() => return timed_out(),
        Err(_) => return bad_gateway(),
    };
    if response.status() != StatusCode::OK {
        return bad_gateway();
    }
    match response.json::<Value>().await {
        Ok(price) if price["symbol"] == symbol.as_str() && price["price"].is_string() => {
            Json(json!({"symbol": symbol, "price": price["price"]})).into_response()
        }
        Ok(_) | Err(_) => bad_gateway(),
    }
}

fn timed_out() -> Response {
    error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", "No price within the time allowed")
}

fn bad_gateway() -> Response {
    error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "The pricing service is not answering properly")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}
