//! RIGHT: a malformed budget is a 400; the budget left goes on in the finest unit that fits eight digits

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
    let mut held: Option<Result<reqwest::Response, reqwest::Error>> = None;
    let mut attempt = 1;
    loop {
        if Instant::now() >= deadline {
            return match held {
                Some(outcome) => outcome.map_err(GaveUp::Transport),
                None => Err(GaveUp::DeadlineExceeded),
            };
        }
        drop(held.take());
        let outcome =
            match tokio::time::timeout_at(deadline.into(), client.get(url).send()).await {
                Ok(outcome) => outcome,
                Err(_elapsed) => return Err(GaveUp::DeadlineExceeded),
            };
        if attempt >= policy.max_attempts || !worth_retrying(&outcome) {
            return outcome.map_err(GaveUp::Transport);
        }
        let wait = match outcome.as_ref().ok().and_then(retry_after) {
            Some(asked) if asked > policy.max_delay => return outcome.map_err(GaveUp::Transport),
            Some(asked) => asked,
            None => full_jitter(backoff(&policy, attempt)),
        };
        let wake = Instant::now() + wait;
        if wake >= deadline {
            return outcome.map_err(GaveUp::Transport);
        }
        held = Some(outcome);
        tokio::time::sleep_until(wake.into()).await;
        attempt += 1;
    }
}

fn worth_retrying(outcome: &Result<reqwest::Response, reqwest::Error>) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
    }
}

fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry - 1);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

fn full_jitter(longest: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    longest.mul_f64(random as f64 / u64::MAX as f64)
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim_matches([' ', '\t']);
    if seconds.is_empty() || !seconds.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(seconds.parse().unwrap_or(u64::MAX)))
}

// ---------------------------------------------------------------------------------------------
// The gateway

/// Below this, no call is worth making.
const FLOOR: Duration = Duration::from_millis(2);

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    let client = reqwest::Client::builder().build().expect("a client without TLS always builds");
    Router::new().route("/quotes/{symbol}", get(quote)).with_state(Gateway { upstream, client })
}

/// `grpc-timeout`: 1 to 8 ASCII digits and a unit. `None` when absent or malformed.
fn budget(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get("grpc-timeout")?.as_bytes();
    let (&unit, digits) = raw.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(value * 3600),
        b'M' => Duration::from_secs(value * 60),
        b'S' => Duration::from_secs(value),
        b'm' => Duration::from_millis(value),
        b'u' => Duration::from_micros(value),
        b'n' => Duration::from_nanos(value),
        _ => return None,
    })
}

async fn quote(
    State(gateway): State<Gateway>,
    Path(symbol): Path<String>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let allowed = match (headers.contains_key("grpc-timeout"), budget(&headers)) {
        (_, Some(budget)) => budget.min(gateway.upstream.timeout()),
        (false, None) => gateway.upstream.timeout(),
        (true, None) => {
            return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "grpc-timeout is malformed");
        }
    };
    let left = allowed.saturating_sub(started.elapsed());
    if left < FLOOR {
        return timed_out();
    }
    let url = gateway.upstream.url(&format!("/prices/{symbol}"));
    let request = gateway.client.get(url).header("grpc-timeout", finest(left));
    let exchange = async {
        let response = request.send().await?;
        let status = response.status();
        let body = response.json::<Value>().await;
        Ok::<_, reqwest::Error>((status, body))
    };
    match tokio::time::timeout(left, exchange).await {
        Err(_elapsed) => timed_out(),
        Ok(Err(error)) if error.is_timeout() => timed_out(),
        Ok(Err(_)) => bad_gateway(),
        Ok(Ok((StatusCode::OK, Ok(price))))
            if price["symbol"] == symbol.as_str() && price["price"].is_string() =>
        {
            Json(json!({"symbol": symbol, "price": price["price"]})).into_response()
        }
        Ok(Ok(_)) => bad_gateway(),
    }
}

fn finest(left: Duration) -> String {
    for (value, unit) in [(left.as_nanos(), 'n'), (left.as_micros(), 'u'), (left.as_millis(), 'm')] {
        if value <= 99_999_999 {
            return format!("{value}{unit}");
        }
    }
    format!("{}S", left.as_secs().min(99_999_999))
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
