//! A right answer in another style, written by a reviewer from the lesson alone: sharded std
//! mutexes, a random processor key kept with the claim across failures and hang-ups (not derived),
//! a claim guard that frees the key on drop, replays marked Idempotent-Replayed, keys sent quoted,
//! v4 UUIDs in their simple form, and full jitter from RandomState.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use httplings::RetryPolicy;
use httplings::fixtures::{Payment, Upstream};
use serde::Deserialize;
use serde_json::json;

// ---- The server ----

const SHARDS: usize = 8;

type Slot = (String, String);

#[derive(Clone)]
struct Stored {
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
}

enum Entry {
    Running { payment: Payment, processor_key: String },
    Free { payment: Payment, processor_key: String },
    Settled { payment: Payment, answer: Stored },
}

#[derive(Clone)]
struct Service {
    processor: Upstream,
    client: reqwest::Client,
    shards: Arc<Vec<Mutex<HashMap<Slot, Entry>>>>,
    hasher: RandomState,
}

impl Service {
    fn shard(&self, slot: &Slot) -> &Mutex<HashMap<Slot, Entry>> {
        &self.shards[(self.hasher.hash_one(slot) as usize) % SHARDS]
    }
}

pub fn app(processor: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(processor.timeout())
        .connect_timeout(processor.timeout())
        .build()
        .expect("a client without TLS always builds");
    let shards = Arc::new((0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect());
    let service = Service { processor, client, shards, hasher: RandomState::new() };
    Router::new().route("/payments", post(create_payment)).with_state(service)
}

fn problem(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

fn usable_key(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get("idempotency-key")?.to_str().ok()?.trim();
    let key = raw.strip_prefix('"').and_then(|k| k.strip_suffix('"')).unwrap_or(raw);
    let fits = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    fits.then(|| key.to_string())
}

fn client_of(headers: &HeaderMap) -> Option<String> {
    let (scheme, token) = headers.get(header::AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// The claim on a slot; dropped without `settle`, it frees the slot for a retry, keeping the
/// processor key so that the retry sends the same one.
struct Claim {
    service: Service,
    slot: Slot,
    settled: bool,
}

impl Claim {
    fn settle(mut self, payment: Payment, answer: Stored) {
        let mut map = self.service.shard(&self.slot).lock().unwrap();
        map.insert(self.slot.clone(), Entry::Settled { payment, answer });
        self.settled = true;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut map = self.service.shard(&self.slot).lock().unwrap();
        if let Some(Entry::Running { payment, processor_key }) = map.remove(&self.slot) {
            map.insert(self.slot.clone(), Entry::Free { payment, processor_key });
        }
    }
}

fn replay(stored: &Stored) -> Response {
    let mut response = (stored.status, stored.body.clone()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, stored.content_type.clone());
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

async fn create_payment(
    State(service): State<Service>,
    headers: HeaderMap,
    Json(payment): Json<Payment>,
) -> Response {
    let Some(client) = client_of(&headers) else {
        let mut refused = problem(StatusCode::UNAUTHORIZED, "NO_CLIENT", "Send your API key");
        refused.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer".parse().unwrap());
        return refused;
    };
    let Some(key) = usable_key(&headers) else {
        return problem(StatusCode::BAD_REQUEST, "NO_KEY", "Send a usable Idempotency-Key");
    };
    let slot = (client, key);
    let processor_key = {
        let mut map = service.shard(&slot).lock().unwrap();
        let fresh = || uuid::Uuid::new_v4().simple().to_string();
        let processor_key = match map.get(&slot) {
            Some(Entry::Settled { payment: first, answer }) => {
                if *first != payment {
                    return problem(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "KEY_REUSED",
                        "Another payment has this key",
                    );
                }
                return replay(answer);
            }
            Some(Entry::Running { payment: first, .. }) => {
                if *first != payment {
                    return problem(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "KEY_REUSED",
                        "Another payment has this key",
                    );
                }
                return problem(
                    StatusCode::CONFLICT,
                    "IN_PROGRESS",
                    "This payment is being processed",
                );
            }
            Some(Entry::Free { payment: first, processor_key }) => {
                if *first != payment {
                    return problem(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "KEY_REUSED",
                        "Another payment has this key",
                    );
                }
                processor_key.clone()
            }
            None => fresh(),
        };
        map.insert(
            slot.clone(),
            Entry::Running { payment: payment.clone(), processor_key: processor_key.clone() },
        );
        processor_key
    };
    let claim = Claim { service: service.clone(), slot, settled: false };
    match charge(&service, &payment, &processor_key).await {
        Ok(charge_id) => {
            let body = json!({"payment_id": charge_id, "amount": payment.amount, "currency": payment.currency});
            let answer = Stored {
                status: StatusCode::CREATED,
                content_type: HeaderValue::from_static("application/json"),
                body: Bytes::from(body.to_string()),
            };
            let response = {
                let mut r = (answer.status, answer.body.clone()).into_response();
                r.headers_mut().insert(header::CONTENT_TYPE, answer.content_type.clone());
                r
            };
            claim.settle(payment, answer);
            response
        }
        Err(failure) => failure.into_response(),
    }
}

#[derive(Deserialize)]
struct Charged {
    charge_id: String,
}

async fn charge(
    service: &Service,
    payment: &Payment,
    processor_key: &str,
) -> Result<String, Failure> {
    let response = service
        .client
        .post(service.processor.url("/charges"))
        .header("idempotency-key", processor_key)
        .json(payment)
        .send()
        .await?;
    if response.status() != StatusCode::CREATED {
        return Err(Failure::Unusable(format!("the processor answered {}", response.status())));
    }
    Ok(response.json::<Charged>().await?.charge_id)
}

enum Failure {
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
        match self {
            Self::Unusable(cause) => {
                tracing::error!(%cause, "no usable answer from the processor");
                problem(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "The payment processor failed")
            }
            Self::TimedOut(cause) => {
                tracing::error!(%cause, "the processor did not answer in time");
                problem(
                    StatusCode::GATEWAY_TIMEOUT,
                    "GATEWAY_TIMEOUT",
                    "The payment processor did not answer",
                )
            }
        }
    }
}

// ---- The client ----

pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn share() -> f64 {
    let bits = RandomState::new().hash_one(Instant::now()) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

fn asked(response: &reqwest::Response) -> Option<Duration> {
    let text = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(text.parse::<u64>().map(Duration::from_secs).unwrap_or(Duration::MAX));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

pub async fn pay(
    client: &reqwest::Client,
    url: &str,
    payment: &Payment,
    key: &str,
    policy: &RetryPolicy,
) -> Result<reqwest::Response, reqwest::Error> {
    let quoted = format!("\"{key}\"");
    let mut attempt = 1u32;
    loop {
        let outcome =
            client.post(url).header("Idempotency-Key", quoted.as_str()).json(payment).send().await;
        let retryable = match &outcome {
            Ok(r) => r.status().is_server_error() || r.status() == StatusCode::CONFLICT,
            Err(e) => !e.is_builder() && !e.is_redirect(),
        };
        if !retryable || attempt >= policy.max_attempts {
            return outcome;
        }
        let bound = policy
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt - 1))
            .min(policy.max_delay);
        let mut wait = bound.mul_f64(share());
        if let Ok(response) = outcome {
            match asked(&response) {
                Some(d) if d > policy.max_delay => return Ok(response),
                Some(d) if !d.is_zero() => wait = d,
                _ => {}
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), response.bytes()).await;
        }
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}
