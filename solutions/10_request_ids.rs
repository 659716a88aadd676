//! Lesson "request ids": reference solution.
//!
//! Every request gets an id: the caller's, when it is one we can trust to be harmless (a short
//! run of letters, digits, `.`, `_` and `-`), or a fresh random one. The id goes back in the
//! `x-request-id` header and in every problem-details body, onto every log line of the request
//! (through its span), and on to the shipping service. A user who quotes it leads the team
//! straight to the line that says what went wrong, here and upstream.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use httplings::fixtures::{Database, Order, Upstream};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
    Router::new()
        .route("/orders/{id}", get(order))
        // axum's own answers to a wrong method (an empty 405) and to an unknown path (a 404)
        // would carry no id in their bodies: ours do.
        .method_not_allowed_fallback(wrong_method)
        .fallback(no_such_route)
        .with_state(Service { db, shipping, client })
        // Outermost first. An incoming id we cannot trust is dropped before SetRequestId
        // looks, which then makes a fresh one (it keeps whatever it finds, so it must never find
        // something harmful); the span carries the id on every log line; and the id is copied
        // onto the response, errors and the fallback's 404 included.
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(drop_untrusted_request_id))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request| {
                            let id = request_id_of(request.extensions().get::<RequestId>());
                            // At ERROR level: a span the subscriber filters out takes its fields
                            // with it, and a service that logs at `warn` would print its error
                            // lines without the id.
                            tracing::error_span!("request", request_id = %id, method = %request.method(), uri = %request.uri())
                        })
                        // Each failure is logged once, where its cause is known.
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
}

/// 1 to 128 letters, digits, `.`, `_` or `-`: nothing a log line, a header or a JSON string
/// could take for anything but an id.
fn is_trusted(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

async fn drop_untrusted_request_id(mut request: Request, next: Next) -> Response {
    let ids: Vec<&HeaderValue> = request.headers().get_all(&REQUEST_ID).iter().collect();
    // One id, and a harmless one, or none: two ids are as untrustworthy as a bad one.
    let trusted = matches!(ids[..], [id] if is_trusted(id.as_bytes()));
    if !trusted {
        // Not logged: the value is exactly what an attacker wants in our logs.
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

/// The id as text (it is always a trusted one, or a UUID, by now).
fn request_id_of(id: Option<&RequestId>) -> String {
    id.and_then(|id| id.header_value().to_str().ok()).unwrap_or_default().to_string()
}

/// The shipping service's answer, as far as this service uses it.
#[derive(Deserialize)]
struct Shipping {
    status: String,
}

async fn order(
    State(service): State<Service>,
    Extension(id): Extension<RequestId>,
    order_id: Result<Path<u32>, PathRejection>,
) -> Result<Response, Problem> {
    let problem = |status| Problem { status, request_id: request_id_of(Some(&id)) };
    // axum's own rejection is text/plain and quotes the input back: keep its status, in our body.
    let Path(order_id) = order_id.map_err(|rejection| problem(rejection.status()))?;
    let order: Order = match service.db.find_order(order_id) {
        Ok(Some(order)) => order,
        Ok(None) => return Err(problem(StatusCode::NOT_FOUND)),
        Err(error) => {
            // Inside the request's span: the line carries the id, and here the cause. The
            // error's own text quotes its connection string, password and all (lesson 1): its
            // fields, then.
            tracing::error!(
                query = error.query_id(),
                host = error.host(),
                reason = error.reason(),
                "the order could not be read"
            );
            return Err(problem(StatusCode::INTERNAL_SERVER_ERROR));
        }
    };
    let url = service.shipping.url(&format!("/shipping/{order_id}"));
    // The same id upstream: their log and ours meet on it.
    let asked = service.client.get(&url).header(REQUEST_ID, id.header_value().clone()).send();
    let shipping: Shipping = match asked.await {
        Ok(response) if response.status().is_success() => match response.json().await {
            Ok(shipping) => shipping,
            Err(error) => {
                tracing::error!(%error, %url, "the shipping service sent something unreadable");
                return Err(problem(StatusCode::BAD_GATEWAY));
            }
        },
        Ok(response) => {
            tracing::error!(status = %response.status(), %url, "the shipping service failed");
            return Err(problem(StatusCode::BAD_GATEWAY));
        }
        Err(error) if error.is_timeout() => {
            tracing::error!(%error, %url, "the shipping service did not answer in time");
            return Err(problem(StatusCode::GATEWAY_TIMEOUT));
        }
        Err(error) => {
            tracing::error!(%error, %url, "the shipping service could not be asked");
            return Err(problem(StatusCode::BAD_GATEWAY));
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

async fn no_such_route(Extension(id): Extension<RequestId>) -> Problem {
    Problem { status: StatusCode::NOT_FOUND, request_id: request_id_of(Some(&id)) }
}

/// axum adds the `Allow` header to this answer itself.
async fn wrong_method(Extension(id): Extension<RequestId>) -> Problem {
    Problem { status: StatusCode::METHOD_NOT_ALLOWED, request_id: request_id_of(Some(&id)) }
}

/// An RFC 9457 problem: the status and its standard title, and the id to quote to support.
/// Nothing of the cause: that is in the log, on the line with the same id.
struct Problem {
    status: StatusCode,
    request_id: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "request_id": self.request_id,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}
