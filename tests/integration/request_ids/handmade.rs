//! A right answer in another style: a hand-written middleware, ULID-style ids (time + 80 random bits), the id in
//! `instance` as a URN, typed problem URIs, and every error (405, 400 included) made problem details.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use httplings::fixtures::{Database, Upstream};
use serde::Deserialize;
use serde_json::json;

#[derive(Clone)]
struct Service {
    db: Database,
    shipping: Upstream,
    client: reqwest::Client,
}

#[derive(Clone)]
struct RequestId(String);

pub fn app(db: Database, shipping: Upstream) -> Router {
    let client = reqwest::Client::builder()
        .timeout(shipping.timeout())
        .build()
        .expect("a client without TLS always builds");
    Router::new()
        .route("/orders/{id}", get(order))
        .fallback(|Extension(id): Extension<RequestId>| async move {
            problem(StatusCode::NOT_FOUND, &id)
        })
        .with_state(Service { db, shipping, client })
        .layer(middleware::from_fn(name_request))
}

fn trusted(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// 48 bits of milliseconds, then 80 random bits, in Crockford base32: 26 characters.
fn fresh_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let random = uuid::Uuid::new_v4().as_u128() & ((1u128 << 80) - 1);
    let value = (millis & ((1 << 48) - 1)) << 80 | random;
    (0..26).rev().map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char).collect()
}

async fn name_request(mut request: Request, next: Next) -> Response {
    let given: Vec<&HeaderValue> = request.headers().get_all("x-request-id").iter().collect();
    let id = match given[..] {
        [one] if trusted(one.as_bytes()) => String::from_utf8_lossy(one.as_bytes()).into_owned(),
        _ => fresh_id(),
    };
    request.headers_mut().remove("x-request-id");
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(b"application/problem+json"));
    if (response.status().is_client_error() || response.status().is_server_error()) && !is_problem {
        // axum's own rejections (405, 400 for a bad path) become problem details too.
        let status = response.status();
        response = problem(status, &RequestId(id.clone()));
    }
    response
        .headers_mut()
        .insert("x-request-id", HeaderValue::from_str(&id).expect("checked or generated"));
    response
}

fn problem(status: StatusCode, id: &RequestId) -> Response {
    let (kind, title) = match status {
        StatusCode::NOT_FOUND => ("https://errors.example.com/not-found", "No such resource"),
        StatusCode::BAD_GATEWAY => {
            ("https://errors.example.com/dependency", "A service we depend on failed")
        }
        StatusCode::INTERNAL_SERVER_ERROR => {
            ("https://errors.example.com/internal", "The request could not be completed")
        }
        _ => ("about:blank", status.canonical_reason().unwrap_or("Error")),
    };
    let body = json!({
        "type": kind,
        "title": title,
        "status": status.as_u16(),
        "detail": "Quote the instance when you contact support.",
        "instance": format!("urn:request:{}", id.0),
    });
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/problem+json")
        .body(Body::from(body.to_string()))
        .expect("a valid response")
}

#[derive(Deserialize)]
struct Shipping {
    status: String,
}

async fn order(
    State(service): State<Service>,
    Extension(id): Extension<RequestId>,
    Path(order_id): Path<u32>,
) -> Response {
    let order = match service.db.find_order(order_id) {
        Ok(Some(order)) => order,
        Ok(None) => return problem(StatusCode::NOT_FOUND, &id),
        Err(error) => {
            tracing::error!(
                request_id = %id.0,
                query = error.query_id(),
                host = error.host(),
                reason = error.reason(),
                "the order could not be read"
            );
            return problem(StatusCode::INTERNAL_SERVER_ERROR, &id);
        }
    };
    let url = service.shipping.url(&format!("/shipping/{order_id}"));
    let asked = service.client.get(&url).header("x-request-id", &id.0).send().await;
    let shipping: Shipping = match asked {
        Ok(response) if response.status().is_success() => match response.json().await {
            Ok(shipping) => shipping,
            Err(error) => {
                tracing::error!(request_id = %id.0, %error, "the shipping answer was unreadable");
                return problem(StatusCode::BAD_GATEWAY, &id);
            }
        },
        Ok(response) => {
            tracing::error!(request_id = %id.0, status = %response.status(), "shipping failed");
            return problem(StatusCode::BAD_GATEWAY, &id);
        }
        Err(error) => {
            tracing::error!(request_id = %id.0, %error, "shipping could not be asked");
            return problem(StatusCode::BAD_GATEWAY, &id);
        }
    };
    Json(json!({
        "id": order.id,
        "customer": order.customer,
        "total_cents": order.total_cents,
        "status": order.status,
        "shipping": shipping.status,
    }))
    .into_response()
}
