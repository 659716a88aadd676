//! Lesson 4, 502 and 504: your service is the gateway.
//!
//! Read the lesson with `cargo run -- lesson 4`; check your work with `cargo run -- check 4`.
//! Keep the signature of `app`: the checks call it.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use httplings::fixtures::Upstream;

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
}

pub fn app(upstream: Upstream) -> Router {
    // TODO: this client waits for the pricing service as long as it takes. A gateway must give
    //       up when `upstream.timeout()` is up: connecting, the head and the body included.
    let client = reqwest::Client::new();
    Router::new().route("/quotes/{symbol}", get(quote)).with_state(Gateway { upstream, client })
}

async fn quote(State(gateway): State<Gateway>, Path(symbol): Path<String>) -> Response {
    // TODO: the symbol comes from the client, decoded, and goes into the URL as it is: a
    //       client who sends `..%2Fadmin` chooses what the pricing service is asked.
    let url = gateway.upstream.url(&format!("/prices/{symbol}"));
    // TODO: this passes on whatever the pricing service says, its status and its body, and
    //       turns any failure to get an answer into a 500 with the error's text. Answer with
    //       your own responses instead (the price, a 404, a 502, a 504 or a 503 with its
    //       Retry-After, as the lesson's table says), and log what went wrong.
    match gateway.client.get(url).send().await {
        Ok(response) => {
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::OK);
            let body = response.bytes().await.unwrap_or_default();
            (status, Body::from(body)).into_response()
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
