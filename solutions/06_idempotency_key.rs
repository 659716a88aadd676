//! Lesson 6, retrying a POST safely: reference solution.
//!
//! The server remembers every key: claimed while its first request is on its way, then the
//! answer that request got, to send again to every repeat. It passes the key on to the
//! processor, so that a retry after a lost answer is recognised there too. The client makes one
//! random key per payment and keeps it for every attempt, so that its retries are safe.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use httplings::RetryPolicy;
use httplings::fixtures::{Payment, Upstream};
use reqwest::header::RETRY_AFTER;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

// ---- The server ----

/// What the server knows of one key.
#[derive(Debug, Clone)]
enum Entry {
    /// Its first request is on its way to the processor.
    InFlight { payment: Payment },
    /// Its first request's answer, kept to send again.
    Done { payment: Payment, answer: Paid },
}

/// A payment made, as the server answers it.
#[derive(Debug, Clone, Serialize)]
struct Paid {
    payment_id: String,
    amount: u64,
    currency: String,
}

type Keys = Arc<Mutex<HashMap<String, Entry>>>;

#[derive(Clone)]
struct Service {
    processor: Upstream,
    client: reqwest::Client,
    // Kept for the life of the process: enough for the exercise. In production, a table with
    // the key as primary key, scoped to the client, with an expiry.
    keys: Keys,
}

pub fn app(processor: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(processor.timeout())
        .connect_timeout(processor.timeout())
        .build()
        .expect("a client without TLS always builds");
    let service = Service { processor, client, keys: Keys::default() };
    Router::new().route("/payments", post(create_payment)).with_state(service).layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_failure(()),
    )
}

fn lock(keys: &Keys) -> MutexGuard<'_, HashMap<String, Entry>> {
    // Entries are replaced whole: a panic elsewhere cannot leave one half-written.
    keys.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn create_payment(
    State(service): State<Service>,
    headers: HeaderMap,
    Json(payment): Json<Payment>,
) -> Response {
    let Some(key) = idempotency_key(&headers) else {
        return error(
            StatusCode::BAD_REQUEST,
            "MISSING_IDEMPOTENCY_KEY",
            "Send an Idempotency-Key",
        );
    };
    // Look the key up and, when it is new, claim it: one step, under one lock.
    let claim = {
        let mut keys = lock(&service.keys);
        match keys.get(&key) {
            Some(Entry::InFlight { payment: first } | Entry::Done { payment: first, .. })
                if *first != payment =>
            {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "IDEMPOTENCY_KEY_REUSED",
                    "This key was used for another payment",
                );
            }
            Some(Entry::Done { answer, .. }) => {
                return (StatusCode::CREATED, Json(answer.clone())).into_response();
            }
            Some(Entry::InFlight { .. }) => {
                return error(
                    StatusCode::CONFLICT,
                    "REQUEST_IN_PROGRESS",
                    "A request with this key is being processed; try again shortly",
                );
            }
            None => {
                keys.insert(key.clone(), Entry::InFlight { payment: payment.clone() });
                Claim { keys: Arc::clone(&service.keys), key: key.clone(), settled: false }
            }
        }
    };
    match charge(&service, &key, &payment).await {
        Ok(charge_id) => {
            let answer = Paid {
                payment_id: charge_id,
                amount: payment.amount,
                currency: payment.currency.clone(),
            };
            claim.settle(Entry::Done { payment, answer: answer.clone() });
            (StatusCode::CREATED, Json(answer)).into_response()
        }
        // Dropping the claim forgets the key: the client's retry starts afresh, and the
        // processor, given the same key, charges at most once.
        Err(failure) => failure.into_response(),
    }
}

/// The key, as the IETF draft sends it (a quoted string) or as most APIs take it (bare).
fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(IDEMPOTENCY_KEY)?.to_str().ok()?.trim();
    let key = value.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(value);
    (!key.is_empty()).then(|| key.to_string())
}

/// A key claimed by a request on its way. Settled, it holds the answer; dropped unsettled (the
/// processor failed, or the client hung up and axum dropped the handler), it frees the key.
struct Claim {
    keys: Keys,
    key: String,
    settled: bool,
}

impl Claim {
    fn settle(mut self, entry: Entry) {
        lock(&self.keys).insert(self.key.clone(), entry);
        self.settled = true;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.settled {
            lock(&self.keys).remove(&self.key);
        }
    }
}

#[derive(Deserialize)]
struct Charged {
    charge_id: String,
}

/// Charges `payment` through the processor, under our client's key: a retry of ours after an
/// answer that got lost is then the same charge, not a second one.
async fn charge(service: &Service, key: &str, payment: &Payment) -> Result<String, Failure> {
    let response = service
        .client
        .post(service.processor.url("/charges"))
        .header(IDEMPOTENCY_KEY, key)
        .json(payment)
        .send()
        .await?;
    if response.status() != StatusCode::CREATED {
        return Err(Failure::Unusable(format!("the processor answered {}", response.status())));
    }
    Ok(response.json::<Charged>().await?.charge_id)
}

#[derive(Debug)]
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
                error(
                    StatusCode::BAD_GATEWAY,
                    "BAD_GATEWAY",
                    "The payment processor failed; retry with the same key",
                )
            }
            Self::TimedOut(cause) => {
                tracing::error!(%cause, "the processor did not answer in time");
                error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "GATEWAY_TIMEOUT",
                    "The payment processor did not answer; retry with the same key",
                )
            }
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

// ---- The client ----

pub async fn pay(
    client: &reqwest::Client,
    url: &str,
    payment: &Payment,
    policy: &RetryPolicy,
) -> Result<reqwest::Response, reqwest::Error> {
    // One key for this payment, and for every attempt at it: 122 random bits.
    let key = uuid::Uuid::new_v4().to_string();
    let mut attempt = 1;
    loop {
        let outcome = client.post(url).header(IDEMPOTENCY_KEY, &key).json(payment).send().await;
        if attempt >= policy.max_attempts || !worth_retrying(&outcome) {
            return outcome;
        }
        let wait = match outcome.as_ref().ok().and_then(retry_after) {
            Some(asked) if asked > policy.max_delay => return outcome,
            Some(asked) => asked,
            None => full_jitter(backoff(policy, attempt)),
        };
        drop(outcome);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// A 5xx, a 409 (our first attempt is still being processed), or a failure on the way that may
/// heal. With the key, even a request that may have arrived is safe to send again. A 400 or a
/// 422 will be refused the same way every time.
fn worth_retrying(outcome: &Result<reqwest::Response, reqwest::Error>) -> bool {
    match outcome {
        Ok(response) => {
            response.status().is_server_error() || response.status() == StatusCode::CONFLICT
        }
        Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
    }
}

/// The longest wait before retry `retry` (1 for the first): base_delay × 2^(retry−1), at most
/// max_delay.
fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    policy.base_delay.saturating_mul(2u32.saturating_pow(retry - 1)).min(policy.max_delay)
}

/// Full jitter: anywhere in `[0, longest]`, so that clients that failed together spread out.
fn full_jitter(longest: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    longest.mul_f64(random as f64 / u64::MAX as f64)
}

/// A `Retry-After` in delay-seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim_matches([' ', '\t']);
    if seconds.is_empty() || !seconds.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(seconds.parse().unwrap_or(u64::MAX)))
}
