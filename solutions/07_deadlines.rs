//! Lesson 7, deadlines: reference solution.
//!
//! One budget for the whole call. The client retries by lesson 3's rules, but gives no attempt
//! more time than is left, starts no wait that would end after the deadline, and hands back what
//! it has the moment it stops. The gateway reads its caller's budget (`grpc-timeout`), spends the
//! smaller of it and its own timeout, tells the upstream what is left, and answers 504 without
//! asking anyone when nothing worth trying is left.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
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
    let mut attempt = 1;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(GaveUp::DeadlineExceeded);
        }
        // The attempt gets what is left of the budget, and not a millisecond more.
        let outcome = client.get(url).timeout(left).send().await;
        if attempt >= policy.max_attempts || !worth_retrying(&outcome) {
            return finish(outcome, deadline);
        }
        let wait = match outcome.as_ref().ok().and_then(retry_after) {
            Some(asked) if asked > policy.max_delay => return finish(outcome, deadline),
            Some(asked) => asked,
            None => full_jitter(backoff(&policy, attempt)),
        };
        // A wait that ends after the deadline buys nothing, nor one that leaves the next attempt
        // less than a round trip: give up now, with what we have.
        if wait + WORTH_TRYING >= deadline.saturating_duration_since(Instant::now()) {
            return finish(outcome, deadline);
        }
        drop(outcome);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The last outcome, as the caller sees it: a timeout that the deadline caused is the deadline.
fn finish(
    outcome: Result<reqwest::Response, reqwest::Error>,
    deadline: Instant,
) -> Result<reqwest::Response, GaveUp> {
    outcome.map_err(|error| {
        if error.is_timeout() && Instant::now() >= deadline {
            GaveUp::DeadlineExceeded
        } else {
            GaveUp::Transport(error)
        }
    })
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

/// The header a caller's budget comes in, and the one the upstream's goes out in: gRPC's.
const BUDGET: &str = "grpc-timeout";

/// Less than this is not worth a call: a loopback round trip alone takes a good part of it. The
/// client keeps the same floor for the attempt after a wait.
const WORTH_TRYING: Duration = Duration::from_millis(2);

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    // Each call sets its own timeout, from the budget; the client's is the most any call gets.
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
    // The budget counts from the moment the request is ours.
    let started = Instant::now();
    let allowed = match headers.get(BUDGET).map(|value| parse_budget(value.as_bytes())) {
        None => gateway.upstream.timeout(),
        Some(Some(budget)) => budget.min(gateway.upstream.timeout()),
        Some(None) => {
            return error(StatusCode::BAD_REQUEST, "BAD_TIMEOUT", "grpc-timeout is malformed");
        }
    };
    if allowed < WORTH_TRYING {
        return timed_out("no time was left to ask the pricing service");
    }
    let deadline = started + allowed;
    let left = deadline.saturating_duration_since(Instant::now());
    // If our caller hangs up, hyper drops this future, and with it the call below: the upstream
    // sees its connection closed, and stops working for nobody.
    let sent = gateway
        .client
        .get(gateway.upstream.url(&format!("/prices/{symbol}")))
        .timeout(left)
        .header(BUDGET, format_budget(left))
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) if error.is_timeout() => return timed_out(&error.to_string()),
        Err(error) => return bad_gateway(&error.to_string()),
    };
    if response.status() != StatusCode::OK {
        return bad_gateway(&format!("the pricing service answered {}", response.status()));
    }
    match response.json::<Value>().await {
        Ok(price) if price["symbol"] == symbol.as_str() && price["price"].is_string() => {
            Json(json!({"symbol": symbol, "price": price["price"]})).into_response()
        }
        Ok(_) => bad_gateway("the pricing service sent something that is not this price"),
        Err(error) if error.is_timeout() => timed_out(&error.to_string()),
        Err(error) => bad_gateway(&error.to_string()),
    }
}

/// `grpc-timeout`: at most eight digits, then one unit (H, M, S, m, u, n). Anything else is no
/// budget at all.
fn parse_budget(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// A budget in the finest unit that fits eight digits, rounded down: the upstream must never
/// think it has more time than we do.
fn format_budget(left: Duration) -> HeaderValue {
    const MOST: u128 = 99_999_999;
    let value = [(left.as_micros(), "u"), (left.as_millis(), "m")]
        .into_iter()
        .find(|(amount, _)| *amount <= MOST)
        .map_or_else(|| format!("{}S", left.as_secs().min(99_999_999)), |(n, u)| format!("{n}{u}"));
    HeaderValue::from_str(&value).expect("digits and a letter are a valid header value")
}

fn timed_out(cause: &str) -> Response {
    tracing::warn!(%cause, "no price within the budget");
    error(StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", "No price within the time allowed")
}

fn bad_gateway(cause: &str) -> Response {
    tracing::error!(%cause, "the pricing service gave no usable answer");
    error(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "The pricing service is not answering properly")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}
