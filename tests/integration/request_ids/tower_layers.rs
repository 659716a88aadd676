//! A right answer in another style: tower-http's request-id layers with a 32-hex id maker, a task-local id for
//! the error type, the cause logged inside TraceLayer's span, traceparent passed on with a parent of its own.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::{Database, Upstream};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

#[derive(Clone)]
struct Service {
    db: Database,
    shipping: Upstream,
    client: reqwest::Client,
}

tokio::task_local! {
    static CURRENT_ID: String;
}

#[derive(Clone, Default)]
struct HexId;

impl MakeRequestId for HexId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        Some(RequestId::new(HeaderValue::from_str(&hex).ok()?))
    }
}

pub fn app(db: Database, shipping: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(shipping.timeout())
        .build()
        .expect("a client without TLS always builds");
    let ids = ServiceBuilder::new()
        .layer(middleware::from_fn(only_trusted_ids))
        .layer(SetRequestIdLayer::x_request_id(HexId))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = id_of(request.extensions());
                    tracing::info_span!("request", request_id = %id, uri = %request.uri())
                })
                .on_failure(()),
        )
        .layer(middleware::from_fn(scope_id))
        .layer(PropagateRequestIdLayer::x_request_id());
    Router::new()
        .route("/orders/{id}", get(order))
        .fallback(async || Failed::NotFound)
        .method_not_allowed_fallback(async || Failed::Rejected(StatusCode::METHOD_NOT_ALLOWED))
        .with_state(Service { db, shipping, client })
        .layer(ids)
}

fn id_of(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn only_trusted_ids(mut request: Request, next: Next) -> Response {
    let mut given = request.headers().get_all("x-request-id").iter();
    let keep = match (given.next(), given.next()) {
        (Some(one), None) => {
            let bytes = one.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 128
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
        }
        _ => false,
    };
    if !keep {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

async fn scope_id(request: Request, next: Next) -> Response {
    let id = id_of(request.extensions());
    CURRENT_ID.scope(id, next.run(request)).await
}

/// The caller's trace id, with a parent id of ours.
fn traceparent(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let parts: Vec<&str> = value.split('-').collect();
    let [version, trace, _parent, flags] = parts[..] else { return None };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if version != "00" || !hex(trace, 32) || !hex(flags, 2) || trace.bytes().all(|b| b == b'0') {
        return None;
    }
    let own = &uuid::Uuid::new_v4().simple().to_string()[..16];
    Some(format!("00-{}-{own}-{flags}", trace.to_ascii_lowercase()))
}

#[derive(Deserialize)]
struct Shipping {
    status: String,
}

async fn order(
    State(service): State<Service>,
    headers: HeaderMap,
    order_id: Result<Path<u32>, PathRejection>,
) -> Result<Json<serde_json::Value>, Failed> {
    let Path(order_id) = order_id?;
    let order = match service.db.find_order(order_id) {
        Ok(Some(order)) => order,
        Ok(None) => return Err(Failed::NotFound),
        Err(error) => {
            tracing::error!(
                query = error.query_id(),
                host = error.host(),
                reason = error.reason(),
                "the order could not be read"
            );
            return Err(Failed::Internal);
        }
    };
    let url = service.shipping.url(&format!("/shipping/{order_id}"));
    let mut call = service.client.get(&url).header("x-request-id", CURRENT_ID.get());
    if let Some(parent) = traceparent(&headers) {
        call = call.header("traceparent", parent);
    }
    let shipping: Shipping = match call.send().await {
        Ok(response) if response.status().is_success() => {
            response.json().await.map_err(|error| {
                tracing::error!(%error, "the shipping answer was unreadable");
                Failed::BadGateway
            })?
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
    Ok(Json(json!({
        "id": order.id,
        "customer": order.customer,
        "total_cents": order.total_cents,
        "status": order.status,
        "shipping": shipping.status,
    })))
}

enum Failed {
    NotFound,
    Internal,
    BadGateway,
    /// axum's own: a method the route does not take, a path parameter that does not parse.
    Rejected(StatusCode),
}

impl From<PathRejection> for Failed {
    fn from(rejection: PathRejection) -> Self {
        Self::Rejected(rejection.status())
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let status = match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::Rejected(status) => status,
        };
        let id = CURRENT_ID.try_with(Clone::clone).unwrap_or_default();
        let body = json!({
            "type": "about:blank",
            "title": status.canonical_reason(),
            "status": status.as_u16(),
            "request_id": id,
        });
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
