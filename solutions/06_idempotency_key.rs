//! Lesson 6, retrying a POST safely: reference solution.
//!
//! The server remembers every key of every client: claimed while its first request is on its
//! way, then the answer that request got, to send again to every repeat. It passes the
//! processor a key of its own, derived from the client and the client's key, so that a retry
//! after a lost answer is recognised there too, and two clients' keys never meet. The client
//! side makes one random key per payment intent; `pay` sends the key it is given on every
//! attempt, so that even a payment re-queued and paid again later carries the same key.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use httplings::RetryPolicy;
use httplings::fixtures::{Payment, Upstream};
use reqwest::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Keys longer than this are refused: they are never a client's honest choice, and each one
/// stored costs memory. (Stripe allows 255 characters; a UUID takes 36.)
const LONGEST_KEY: usize = 255;

// ---- The server ----

/// A client's key: the client (who sent it, from its credentials) and the key it chose. Two
/// clients may choose the same key, by chance or not: they are two payments.
type Scoped = (String, String);

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

type Keys = Arc<Mutex<HashMap<Scoped, Entry>>>;

#[derive(Clone)]
struct Service {
    processor: Upstream,
    client: reqwest::Client,
    // Kept for the life of the process: enough for the exercise. In production, a table with
    // (client, key) as primary key, in the payments database, and rows expired after a day.
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

fn lock(keys: &Keys) -> MutexGuard<'_, HashMap<Scoped, Entry>> {
    // Entries are replaced whole: a panic elsewhere cannot leave one half-written.
    keys.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn create_payment(
    State(service): State<Service>,
    headers: HeaderMap,
    Json(payment): Json<Payment>,
) -> Response {
    let Some(client) = client_of(&headers) else {
        // RFC 9110 §15.5.2: a 401 names the scheme it wants.
        let mut refused = error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Send your API key");
        refused.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refused;
    };
    let Some(key) = idempotency_key(&headers) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_IDEMPOTENCY_KEY",
            "Send an Idempotency-Key of 1 to 255 visible ASCII characters",
        );
    };
    let scoped = (client, key);
    // Look the key up and, when it is new, claim it: one step, under one lock.
    let claim = {
        let mut keys = lock(&service.keys);
        match keys.get(&scoped) {
            Some(Entry::InFlight { payment: first } | Entry::Done { payment: first, .. })
                if *first != payment =>
            {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "IDEMPOTENCY_KEY_REUSED",
                    "This key was used for another payment",
                );
            }
            Some(Entry::Done { answer, .. }) => return replayed(answer),
            Some(Entry::InFlight { .. }) => {
                return error(
                    StatusCode::CONFLICT,
                    "REQUEST_IN_PROGRESS",
                    "A request with this key is being processed; try again shortly",
                );
            }
            None => {
                keys.insert(scoped.clone(), Entry::InFlight { payment: payment.clone() });
                Claim { keys: Arc::clone(&service.keys), scoped: scoped.clone(), settled: false }
            }
        }
    };
    match charge(&service, &processor_key(&scoped), &payment).await {
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
        // processor, given the same key of ours, charges at most once.
        Err(failure) => failure.into_response(),
    }
}

/// The stored answer, marked as a replay (a header clients may log; the answer is the same).
fn replayed(answer: &Paid) -> Response {
    let mut response = (StatusCode::CREATED, Json(answer.clone())).into_response();
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Who is paying: the API key of `Authorization: Bearer …`, the scheme in any case (RFC 9110
/// §11.1). A real service would look up the account it belongs to, and scope keys by that.
fn client_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// The key, as the IETF draft sends it (a quoted string) or as most APIs take it (bare): 1 to
/// 255 visible ASCII characters, or no key at all.
fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    // `to_str` fails on bytes that are not visible ASCII.
    let value = headers.get(IDEMPOTENCY_KEY)?.to_str().ok()?.trim();
    let key = value.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(value);
    let usable =
        (1..=LONGEST_KEY).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    usable.then(|| key.to_string())
}

/// The key our service sends the processor for a client's key: the same for every attempt at
/// one payment, different for every client (to the processor, our service is one client, so
/// two customers' equal keys must not meet there), and revealing neither the client's
/// credentials nor its key.
fn processor_key((client, key): &Scoped) -> String {
    let digest = Sha256::new().chain_update(client).chain_update([0]).chain_update(key).finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A key claimed by a request on its way. Settled, it holds the answer; dropped unsettled (the
/// processor failed, or the client hung up and axum dropped the handler), it frees the key.
struct Claim {
    keys: Keys,
    scoped: Scoped,
    settled: bool,
}

impl Claim {
    fn settle(mut self, entry: Entry) {
        lock(&self.keys).insert(self.scoped.clone(), entry);
        self.settled = true;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.settled {
            lock(&self.keys).remove(&self.scoped);
        }
    }
}

#[derive(Deserialize)]
struct Charged {
    charge_id: String,
}

/// Charges `payment` through the processor, under our key for it: a retry of ours after an
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

/// Why the processor gave no charge: lesson 4's 502 and 504. Either way the payment may or
/// may not have happened; the client's retry, under the same key, finds out.
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

/// A key for one payment intent: made once, kept with the intent (persisted before the first
/// attempt, in a real system), and sent with every attempt at it. 122 random bits.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub async fn pay(
    client: &reqwest::Client,
    url: &str,
    payment: &Payment,
    key: &str,
    policy: &RetryPolicy,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut attempt = 1;
    loop {
        let outcome = client.post(url).header(IDEMPOTENCY_KEY, key).json(payment).send().await;
        if attempt >= policy.max_attempts || !worth_retrying(&outcome) {
            return outcome;
        }
        let wait = match outcome.as_ref().ok().and_then(retry_after) {
            // More patience than we have: hand the answer back; the caller may pay again
            // later, with the same key.
            Some(asked) if asked > policy.max_delay => return outcome,
            Some(asked) if !asked.is_zero() => asked,
            _ => full_jitter(backoff(policy, attempt)),
        };
        if let Ok(response) = outcome {
            discard(response).await;
        }
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// A 5xx, a 409 (our first attempt is still being processed), or a failure of `send()` that
/// may heal (reqwest's `is_request()`: refused, reset, timed out). With the key, even a
/// request that may have arrived is safe to send again. Any other 4xx will be refused the same
/// way every time, and a request that cannot be built never goes out.
fn worth_retrying(outcome: &Result<reqwest::Response, reqwest::Error>) -> bool {
    match outcome {
        Ok(response) => {
            response.status().is_server_error() || response.status() == StatusCode::CONFLICT
        }
        Err(error) => error.is_request(),
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

/// A `Retry-After`, in seconds or as an HTTP-date, as a wait from now.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Reads what is left of a small error body, so that its connection goes back to the pool
/// (dropped unread, it would close); a big one is dropped.
async fn discard(mut response: reqwest::Response) {
    let mut left: usize = 16 * 1024;
    while let Ok(Some(chunk)) = response.chunk().await {
        left = match left.checked_sub(chunk.len()) {
            Some(left) => left,
            None => return,
        };
    }
}
