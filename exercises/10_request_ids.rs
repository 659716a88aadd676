//! Lesson "request ids": the debuggable 500.
//!
//! Read the lesson with `cargo run -- lesson 10`; check your work with `cargo run -- check 10`.
//! Keep the signature of `app`: the checks call it.
//!
//! The service reads an order and asks the shipping service where it is. Its errors give
//! nothing away, as lesson 1 taught, but they give support nothing to search for either: no id
//! on the answer, none in the log, none passed on.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, Upstream};
use serde::Deserialize;
use serde_json::json;

#[derive(Clone)]
struct Service {
    db: Database,
    shipping: Upstream,
    client: reqwest::Client,
}

pub fn app(db: Database, shipping: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(shipping.timeout())
        .build()
        .expect("a client without TLS always builds");
    Router::new().route("/orders/{id}", get(order)).with_state(Service { db, shipping, client })
    // TODO: every answer carries an x-request-id: the caller's when it is 1 to 128 of
    //       A-Z a-z 0-9 . _ -, a fresh unguessable one otherwise. The router's own 404 too.
    // TODO: axum's own 405 (wrong method) and 400 (an id that is not a number) are errors
    //       too: problem details with the id, like the rest.
}

#[derive(Deserialize)]
struct Shipping {
    status: String,
}

async fn order(
    State(service): State<Service>,
    Path(order_id): Path<u32>,
) -> Result<Response, Failed> {
    let order = match service.db.find_order(order_id) {
        Ok(Some(order)) => order,
        Ok(None) => return Err(Failed::NotFound),
        Err(error) => {
            // TODO: the log line must carry the request's id too.
            tracing::error!(
                query = error.query_id(),
                host = error.host(),
                reason = error.reason(),
                "the order could not be read"
            );
            return Err(Failed::Internal);
        }
    };
    // TODO: the shipping service must be asked with the same id.
    let url = service.shipping.url(&format!("/shipping/{order_id}"));
    let shipping: Shipping = match service.client.get(&url).send().await {
        Ok(response) if response.status().is_success() => {
            response.json().await.map_err(|_| Failed::BadGateway)?
        }
        Ok(response) => {
            tracing::error!(status = %response.status(), "the shipping service failed");
            return Err(Failed::BadGateway);
        }
        Err(error) => {
            tracing::error!(%error, "the shipping service could not be asked");
            return Err(Failed::BadGateway);
        }
    };
    let body = json!({
        "id": order.id,
        "customer": order.customer,
        "total_cents": order.total_cents,
        "status": order.status,
        "shipping": shipping.status,
    });
    Ok(Json(body).into_response())
}

enum Failed {
    NotFound,
    Internal,
    BadGateway,
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        // TODO: RFC 9457 problem details (application/problem+json: type, title, status), with
        //       the request id in a "request_id" member.
        let (status, code) = match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
            Self::BadGateway => (StatusCode::BAD_GATEWAY, "BAD_GATEWAY"),
        };
        let body = json!({"error": {"code": code, "message": "Something went wrong"}});
        (status, Json(body)).into_response()
    }
}
