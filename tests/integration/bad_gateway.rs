//! Lesson 4's judge, run in process against its solution, its starter, a right answer in
//! another style, and one known-wrong gateway per rule, each caught by the check written for it.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::Upstream;
use httplings::lessons::bad_gateway::App;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::bad_gateway::{self, CHECKS};
use serde_json::{Value, json};

use crate::support::{assert_failed, assert_rejected, seed};

#[path = "../../solutions/04_bad_gateway.rs"]
mod solution;

#[path = "../../exercises/.starters/04_bad_gateway.rs"]
mod starter;

const PRICE: &str = CHECKS[0];
const REFUSED: &str = CHECKS[2];
const UNUSABLE: &str = CHECKS[3];
const TIMEOUT: &str = CHECKS[4];
const UNAVAILABLE: &str = CHECKS[5];
const NO_LEAK: &str = CHECKS[6];
const ONCE: &str = CHECKS[7];
const LOGGED: &str = CHECKS[8];

async fn judged_failing(app: App, expected: &[&str]) -> (Judged, u64) {
    let seed = seed();
    let judged = bad_gateway::judge_in_process(app, seed).await;
    assert_failed(&judged, seed, CHECKS, expected);
    (judged, seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_and_the_starter_fails_usefully() {
    judged_failing(solution::app, &[]).await;
    let (starter, seed) = judged_failing(
        starter::app,
        &[PRICE, REFUSED, UNUSABLE, TIMEOUT, UNAVAILABLE, NO_LEAK, LOGGED],
    )
    .await;
    // The 404 passes through as it should; the rest, as it should not.
    assert_rejected(&starter, seed, NO_LEAK, "the pricing service");
}

/// How a gateway behaves, piece by piece: [`RIGHT`], then one mistake per known-wrong answer.
#[derive(Clone, Copy)]
struct Behaviour {
    /// When it gives up on the upstream, given `upstream.timeout()`; `None`: never.
    deadline: Option<fn(Duration) -> Duration>,
    /// Whether the deadline covers reading the body too, or only `send()`.
    deadline_covers_body: bool,
    /// Its status when the deadline passes.
    on_timeout: StatusCode,
    /// Its status for every other failure.
    on_failure: StatusCode,
    /// How many times it asks the upstream before it gives up.
    attempts: u32,
    /// Whether a 503's Retry-After reaches the client.
    passes_retry_after: bool,
    /// Whether its failures carry the upstream's body instead of their own.
    forwards_bodies: bool,
    /// Whether it tells the client which upstream it asked.
    names_the_upstream: bool,
}

const RIGHT: Behaviour = Behaviour {
    deadline: Some(|timeout| timeout),
    deadline_covers_body: true,
    on_timeout: StatusCode::GATEWAY_TIMEOUT,
    on_failure: StatusCode::BAD_GATEWAY,
    attempts: 1,
    passes_retry_after: true,
    forwards_bodies: false,
    names_the_upstream: false,
};

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
    behaviour: Behaviour,
}

/// A right gateway in another style than the reference: `serde_json::Value` instead of a struct,
/// `tokio::time::timeout` around the call instead of reqwest's timeouts, RFC 9457 problem
/// details for its errors, and statuses mapped in one `match`.
fn gateway(upstream: Upstream, behaviour: Behaviour) -> Router {
    let client = reqwest::Client::new();
    Router::new().route("/quotes/{symbol}", get(quote)).with_state(Gateway {
        upstream,
        client,
        behaviour,
    })
}

async fn quote(State(gateway): State<Gateway>, Path(symbol): Path<String>) -> Response {
    let behaviour = gateway.behaviour;
    let url = gateway.upstream.url(&format!("/prices/{symbol}"));
    let mut outcome = ask(&gateway, &url).await;
    for _ in 1..behaviour.attempts {
        if !matches!(&outcome, Ok((200, _, _))) {
            outcome = ask(&gateway, &url).await;
        }
    }
    let (status, retry_after, body) = match outcome {
        Ok(answer) => answer,
        Err(Failed::TimedOut) => {
            tracing::error!(%symbol, "the pricing service did not answer in time");
            return problem(behaviour.on_timeout, &url, behaviour);
        }
        Err(Failed::Other(error)) => {
            tracing::error!(%symbol, %error, "no usable answer from the pricing service");
            return problem(behaviour.on_failure, &url, behaviour);
        }
    };
    let price: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match status {
        200 if price["symbol"] == symbol.as_str() && price["price"].is_f64() => {
            Json(json!({"symbol": symbol, "price": price["price"], "source": "pricing"}))
                .into_response()
        }
        404 => problem(StatusCode::NOT_FOUND, &url, behaviour),
        503 => {
            tracing::warn!(%symbol, "the pricing service is unavailable");
            let mut response = problem(StatusCode::SERVICE_UNAVAILABLE, &url, behaviour);
            if let Some(seconds) = retry_after.filter(|_| behaviour.passes_retry_after) {
                // A little more than asked, to spread the clients out.
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds + 1));
            }
            response
        }
        _ if behaviour.forwards_bodies => {
            tracing::error!(%symbol, status, "unusable answer from the pricing service");
            (StatusCode::BAD_GATEWAY, body).into_response()
        }
        _ => {
            tracing::error!(%symbol, status, "unusable answer from the pricing service");
            problem(behaviour.on_failure, &url, behaviour)
        }
    }
}

enum Failed {
    TimedOut,
    Other(reqwest::Error),
}

/// One call of the upstream: its status, its delay-seconds Retry-After, its body.
async fn ask(gateway: &Gateway, url: &str) -> Result<(u16, Option<u64>, Vec<u8>), Failed> {
    let sending = async {
        let Some(deadline) =
            gateway.behaviour.deadline.filter(|_| !gateway.behaviour.deadline_covers_body)
        else {
            return gateway.client.get(url).send().await.map_err(Failed::Other);
        };
        let sent = tokio::time::timeout(
            deadline(gateway.upstream.timeout()),
            gateway.client.get(url).send(),
        )
        .await;
        sent.map_err(|_| Failed::TimedOut)?.map_err(Failed::Other)
    };
    let call = async {
        let response = sending.await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok());
        let body = response.bytes().await.map_err(Failed::Other)?.to_vec();
        Ok((status, retry_after, body))
    };
    let Some(deadline) =
        gateway.behaviour.deadline.filter(|_| gateway.behaviour.deadline_covers_body)
    else {
        return call.await;
    };
    tokio::time::timeout(deadline(gateway.upstream.timeout()), call)
        .await
        .unwrap_or(Err(Failed::TimedOut))
}

fn problem(status: StatusCode, url: &str, behaviour: Behaviour) -> Response {
    let body = json!({"type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16()});
    let mut response =
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string())
            .into_response();
    if behaviour.names_the_upstream {
        response.headers_mut().insert("x-upstream", HeaderValue::from_str(url).unwrap());
    }
    response
}

/// A known-wrong gateway: `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        |upstream| gateway(upstream, Behaviour { $($field: $value,)* ..RIGHT })
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_gateway_in_another_style_passes() {
    judged_failing(with!(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_known_wrong_gateway_is_caught_by_the_check_for_its_rule() {
    let (judged, seed) = judged_failing(with!(forwards_bodies: true), &[UNUSABLE, NO_LEAK]).await;
    assert_rejected(&judged, seed, NO_LEAK, "a secret from the pricing service's answer");
    judged_failing(with!(on_timeout: StatusCode::BAD_GATEWAY), &[TIMEOUT]).await;
    let everything_500 = with!(on_timeout: StatusCode::INTERNAL_SERVER_ERROR, on_failure: StatusCode::INTERNAL_SERVER_ERROR);
    judged_failing(everything_500, &[REFUSED, UNUSABLE, TIMEOUT]).await;
    // Asking again after a timeout also keeps the client waiting twice the timeout.
    let (judged, seed) = judged_failing(with!(attempts: 2), &[ONCE, TIMEOUT]).await;
    assert_rejected(&judged, seed, ONCE, "and the pricing service");
    let (judged, seed) = judged_failing(with!(names_the_upstream: true), &[NO_LEAK]).await;
    assert_rejected(&judged, seed, NO_LEAK, "the pricing service's address");
    judged_failing(with!(passes_retry_after: false), &[UNAVAILABLE]).await;
    // Twice the timeout is not the timeout: two-sided bounds tell them apart.
    let (judged, seed) =
        judged_failing(with!(deadline: Some(|timeout| timeout * 2)), &[TIMEOUT]).await;
    assert_rejected(&judged, seed, TIMEOUT, "more than upstream.timeout()");
    // A deadline on the head alone: an answer that stalls half-way hangs the gateway.
    let (judged, seed) =
        judged_failing(with!(deadline_covers_body: false), &[TIMEOUT, LOGGED]).await;
    assert_rejected(&judged, seed, TIMEOUT, "stalled half-way through its answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_without_a_deadline_hangs_and_is_caught() {
    // It never answers, so it never logs either.
    let (judged, seed) = judged_failing(with!(deadline: None), &[TIMEOUT, LOGGED]).await;
    assert_rejected(&judged, seed, TIMEOUT, "no answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_gives_up_too_early_is_caught() {
    // Half the timeout it was given: 504s that come before the upstream had its chance.
    let (judged, seed) =
        judged_failing(with!(deadline: Some(|timeout| timeout / 2)), &[TIMEOUT]).await;
    assert_rejected(&judged, seed, TIMEOUT, "before upstream.timeout()");
}
