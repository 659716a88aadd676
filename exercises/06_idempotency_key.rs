//! Lesson 6, retrying a POST safely: idempotency keys, from both ends.
//!
//! Read the lesson with `cargo run -- lesson 6`; check your work with `cargo run -- check 6`.
//! Keep the signatures of `app`, `new_idempotency_key` and `pay`: the checks call them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use httplings::RetryPolicy;
use httplings::fixtures::{Payment, Upstream};
use serde::Deserialize;
use serde_json::json;

// ---- The server ----

#[derive(Clone)]
struct Service {
    processor: Upstream,
    client: reqwest::Client,
}

pub fn app(processor: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(processor.timeout())
        .connect_timeout(processor.timeout())
        .build()
        .expect("a client without TLS always builds");
    Router::new().route("/payments", post(create_payment)).with_state(Service { processor, client })
}

async fn create_payment(State(service): State<Service>, Json(payment): Json<Payment>) -> Response {
    // TODO: every request charges, whatever its Idempotency-Key (or whether it has one), and
    //       whichever client sent it (`Authorization: Bearer …`). Keep what each client's key
    //       got the first time, and answer repeats as the lesson describes.
    match charge(&service, &payment).await {
        Ok(charge_id) => {
            let paid = json!({"payment_id": charge_id, "amount": payment.amount, "currency": payment.currency});
            (StatusCode::CREATED, Json(paid)).into_response()
        }
        Err(failure) => failure.into_response(),
    }
}

#[derive(Deserialize)]
struct Charged {
    charge_id: String,
}

/// Charges `payment` through the processor.
async fn charge(service: &Service, payment: &Payment) -> Result<String, Failure> {
    // TODO: the processor gets no key, so when its answer is lost, a retry charges again. Give
    //       it one of your own for this payment, the same on every attempt.
    let response =
        service.client.post(service.processor.url("/charges")).json(payment).send().await?;
    if response.status() != StatusCode::CREATED {
        return Err(Failure::Unusable(format!("the processor answered {}", response.status())));
    }
    Ok(response.json::<Charged>().await?.charge_id)
}

/// Why the processor gave no charge: lesson 4's 502 and 504.
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
        let (status, code) = match self {
            Self::Unusable(cause) => {
                tracing::error!(%cause, "no usable answer from the processor");
                (StatusCode::BAD_GATEWAY, "BAD_GATEWAY")
            }
            Self::TimedOut(cause) => {
                tracing::error!(%cause, "the processor did not answer in time");
                (StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT")
            }
        };
        let body = json!({"error": {"code": code, "message": "The payment processor failed"}});
        (status, Json(body)).into_response()
    }
}

// ---- The client ----

/// A key for one payment intent.
pub fn new_idempotency_key() -> String {
    // TODO: the same key every time, so every payment shares it. Make a fresh, unguessable one.
    "my-payment".to_string()
}

pub async fn pay(
    client: &reqwest::Client,
    url: &str,
    payment: &Payment,
    key: &str,
    policy: &RetryPolicy,
) -> Result<reqwest::Response, reqwest::Error> {
    // TODO: one attempt, without the key. Send the key you are given with every attempt, and
    //       retry as lesson 3 did (a 409 too), never after another 4xx.
    let _ = (key, policy);
    client.post(url).json(payment).send().await
}
