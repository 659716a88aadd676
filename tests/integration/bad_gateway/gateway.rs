//! A gateway written in another style than the reference, built from knobs: right as [`RIGHT`]
//! sets them, and wrong in exactly one way per known-wrong answer. Its style: a
//! `tokio::time::timeout` around the whole call instead of reqwest's timeouts, the price as a
//! `serde_json::Value`, symbols checked against a character set instead of encoded, RFC 9457
//! problem details, and `Debug` of the error in its log lines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::fixtures::Upstream;
use serde_json::{Value, json};

/// What a deadline covers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    /// The whole exchange: connecting, the head and the body.
    Whole,
    /// `send()` alone: the body takes as long as it takes.
    Head,
    /// The head, then the body, each with a fresh deadline of its own.
    EachPhase,
    /// Each read from the socket (reqwest's `read_timeout`), and connecting.
    EachRead,
}

/// What of the pricing service's a leaky gateway passes on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Leak {
    /// The body of a failure, as it came.
    Bodies,
    /// Its URL, in a header.
    Url,
    /// Its bare host, in a header.
    Host,
    /// The HTTP client's error, the URL cut out, as the message.
    ErrorText,
    /// Its `x-…` header, hex-encoded, beside a fresh request id.
    EncodedBesideRandom,
    /// Its headers, but for a blocklist.
    HeadersButSome,
    /// Its caching headers (`ETag`, `Cache-Control`, `Last-Modified`), as if they were the
    /// gateway's.
    Validators,
    /// Its price JSON, but for a blocklist of fields.
    FieldsButSome,
}

/// How the gateway passes a price on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Price {
    AsItCame,
    /// Rounded to cents.
    Cents,
    /// Through an `f32`.
    Single,
    /// Rounded to eight decimal places.
    EightPlaces,
}

/// How a gateway behaves, piece by piece.
#[derive(Clone, Copy)]
pub struct Behaviour {
    /// When it gives up on the pricing service, given `upstream.timeout()`; `None`: never.
    pub deadline: Option<fn(Duration) -> Duration>,
    pub covers: Covers,
    /// Its status when the deadline passes, and for every other failure.
    pub on_timeout: StatusCode,
    pub on_failure: StatusCode,
    /// How many times it asks before it gives up, whatever went wrong.
    pub attempts: u32,
    /// Whether it connects again and again to a pricing service that refuses, until its deadline.
    pub reconnects: bool,
    pub passes_retry_after: bool,
    /// Whether a 4xx other than 404 is passed on as it came (with a body of its own).
    pub passes_4xx: bool,
    /// Whether a status beyond those the lesson names (405, 422, 505, 511...) is passed on as
    /// it came, the named ones (400, 401, 403, 409; 500) becoming its own error.
    pub passes_unnamed: bool,
    /// Whether a 429's Retry-After is dropped (a 503's still passed on).
    pub drops_429_retry_after: bool,
    pub leak: Option<Leak>,
    /// An id drawn in `app()`, sent as `x-instance-id` (a random number, in decimal).
    pub instance_id: bool,
    /// RFC 9457 `instance`: the request's absolute URI, built from `Host`.
    pub problem_instance: bool,
    /// Whether a `Retry-After` passed on is an HTTP-date rather than delay-seconds.
    pub dates_retry_after: bool,
    /// Whether its log lines say what went wrong, or only what it answered.
    pub logs_causes: bool,
    pub price: Price,
    /// Whether it keeps every price it was given, and answers from it ever after.
    pub caches: bool,
    /// Whether it refuses symbols that are not capital letters alone.
    pub letters_only: bool,
    /// Whether it takes only prices with a fraction (`is_f64`), not whole numbers.
    pub floats_only: bool,
    /// Whether it refuses symbols with characters outside `A-Z a-z 0-9 . -`, or puts them
    /// into the URL as they are.
    pub checks_symbols: bool,
    /// Whether a price written as a JSON string of digits is read as the number it spells.
    pub reads_quoted_prices: bool,
    /// Whether it reads the first JSON value of a body and ignores what follows.
    pub reads_first_value: bool,
    /// Whether it builds a client for every request (and so never keeps a connection).
    pub client_per_request: bool,
    /// Whether it tries a refused connection once more, after this pause.
    pub refused_retry_after: Option<Duration>,
    /// The most of a body it reads; `None`: all of it, however large.
    pub body_limit: Option<usize>,
    /// Whether it enforces `body_limit` on the `Content-Length` alone, then reads what comes.
    pub trusts_content_length: bool,
    /// The longest `Retry-After` it passes on, if it caps them.
    pub caps_retry_after: Option<u64>,
    /// The shortest `Retry-After` it passes on: a floor of its own.
    pub retry_after_floor: u64,
    /// A status it passes on as it came (a rare one: 451).
    pub passes_status: Option<u16>,
    /// Whether it reads the whole body first and weighs it against `body_limit` after.
    pub weighs_after_reading: bool,
    /// How many calls to the pricing service it lets run at once, the rest queued.
    pub permits: Option<usize>,
    /// Whether its log lines carry the symbol and how long the call took, as fields, and no
    /// cause: `upstream call failed symbol=… elapsed_ms=…`.
    pub logs_fields_only: bool,
    /// The `Retry-After` it passes on, in seconds, for the one it was given.
    pub retry_after_as: fn(u64) -> u64,
    /// Whether it calls the pricing service in a task of its own, with no deadline, and puts
    /// the deadline on waiting for that task alone: the call runs on after the 504.
    pub leaves_call_running: bool,
    /// How its log says the pricing service did not answer in time.
    pub logs_timeout_as: &'static str,
    /// Whether a read of the body that fails is taken for its end.
    pub ends_body_at_errors: bool,
    /// How many times more it tries a refused connection, at once.
    pub refused_again: u32,
    /// Whether it asks once more, at once, when a 503 says `Retry-After: 0`.
    pub asks_again_after_zero: bool,
    /// Whether it takes a price for any symbol, not only the one it asked for.
    pub any_symbol: bool,
    /// Whether it logs a failure's status by its registered reason phrase, and panics on a
    /// status with none.
    pub logs_reason_phrase: bool,
    /// Whether its 200 carries the pricing service's `Content-Type` as it came.
    pub copies_content_type: bool,
    /// Whether it takes a price only when labelled `application/json` (502 otherwise).
    pub json_only: bool,
    /// Whether it follows no redirect, and passes a 3xx on with its `Location`.
    pub passes_redirects: bool,
    /// Whether it follows no redirect, and answers a 3xx with a 502.
    pub refuses_redirects: bool,
}

pub const RIGHT: Behaviour = Behaviour {
    deadline: Some(|timeout| timeout),
    covers: Covers::Whole,
    on_timeout: StatusCode::GATEWAY_TIMEOUT,
    on_failure: StatusCode::BAD_GATEWAY,
    attempts: 1,
    reconnects: false,
    passes_retry_after: true,
    passes_4xx: false,
    passes_unnamed: false,
    drops_429_retry_after: false,
    leak: None,
    instance_id: false,
    problem_instance: false,
    dates_retry_after: false,
    logs_causes: true,
    price: Price::AsItCame,
    caches: false,
    letters_only: false,
    floats_only: false,
    checks_symbols: true,
    reads_quoted_prices: false,
    reads_first_value: false,
    caps_retry_after: None,
    retry_after_floor: 0,
    passes_status: None,
    weighs_after_reading: false,
    permits: None,
    logs_fields_only: false,
    // A little more than asked, to spread the clients out.
    retry_after_as: |seconds| seconds + 1,
    leaves_call_running: false,
    logs_timeout_as: "the pricing service timed out",
    ends_body_at_errors: false,
    refused_again: 0,
    asks_again_after_zero: false,
    any_symbol: false,
    logs_reason_phrase: false,
    copies_content_type: false,
    json_only: false,
    passes_redirects: false,
    refuses_redirects: false,
    body_limit: Some(64 << 10),
    trusts_content_length: false,
    refused_retry_after: None,
    client_per_request: false,
};

#[derive(Clone)]
struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
    behaviour: Behaviour,
    instance: String,
    cache: Arc<Mutex<HashMap<String, Value>>>,
    permits: Arc<tokio::sync::Semaphore>,
}

pub fn app(upstream: Upstream, behaviour: Behaviour) -> Router {
    let mut client = reqwest::Client::builder();
    if behaviour.passes_redirects || behaviour.refuses_redirects {
        client = client.redirect(reqwest::redirect::Policy::none());
    }
    if let (Covers::EachRead, Some(deadline)) = (behaviour.covers, behaviour.deadline) {
        let deadline = deadline(upstream.timeout());
        client = client.read_timeout(deadline).connect_timeout(deadline);
    }
    let gateway = Gateway {
        upstream,
        client: client.build().unwrap(),
        behaviour,
        instance: fastrand::u64(..).to_string(),
        cache: Arc::default(),
        permits: Arc::new(tokio::sync::Semaphore::new(
            behaviour.permits.unwrap_or(tokio::sync::Semaphore::MAX_PERMITS),
        )),
    };
    Router::new().route("/quotes/{symbol}", get(quote)).with_state(gateway)
}

/// What the pricing service said: its status, its headers, its body.
type Said = (u16, HeaderMap, Vec<u8>);

enum Failed {
    TimedOut,
    Refused(String),
    Other(String),
}

async fn quote(
    State(gateway): State<Gateway>,
    Path(symbol): Path<String>,
    headers: HeaderMap,
) -> Response {
    let b = gateway.behaviour;
    let answer = Answering { gateway: &gateway, symbol: &symbol, host: host(&headers) };
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    if (b.checks_symbols && (!symbol.chars().all(allowed) || symbol.chars().all(|c| c == '.')))
        || (b.letters_only && !symbol.chars().all(|c| c.is_ascii_uppercase()))
    {
        return answer.problem(StatusCode::BAD_REQUEST, None);
    }
    let cached = b.caches.then(|| gateway.cache.lock().unwrap().get(&symbol).cloned()).flatten();
    if let Some(price) = cached {
        return Json(price).into_response();
    }
    let url = gateway.upstream.url(&format!("/prices/{symbol}"));
    let permit = gateway.permits.acquire().await.expect("the semaphore is never closed");
    let asked = ask(&gateway, &url).await;
    drop(permit);
    let (status, said_headers, body) = match asked {
        Ok(said) => said,
        Err(Failed::TimedOut) => {
            answer.log(format_args!("{}", b.logs_timeout_as), b.on_timeout);
            return answer.problem(b.on_timeout, None);
        }
        Err(Failed::Refused(cause) | Failed::Other(cause)) => {
            answer.log(
                format_args!("no usable answer from the pricing service: {cause}"),
                b.on_failure,
            );
            let mut response = answer.problem(b.on_failure, None);
            if b.leak == Some(Leak::ErrorText) {
                let body = json!({"type": "about:blank", "status": b.on_failure.as_u16(), "detail": cause});
                *response.body_mut() = body.to_string().into();
            }
            return response;
        }
    };
    let said = (status, said_headers, body);
    let mut response = answer.translate(&said);
    if b.copies_content_type
        && response.status() == StatusCode::OK
        && let Some(media_type) = said.1.get(header::CONTENT_TYPE)
    {
        response.headers_mut().insert(header::CONTENT_TYPE, media_type.clone());
    }
    if b.leak == Some(Leak::HeadersButSome) {
        for (name, value) in &said.1 {
            if !BLOCKED.contains(&name.as_str()) {
                response.headers_mut().append(name.clone(), value.clone());
            }
        }
    }
    if b.leak == Some(Leak::Validators) {
        for (name, value) in &said.1 {
            if matches!(name.as_str(), "etag" | "cache-control" | "last-modified") {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    if b.leak == Some(Leak::EncodedBesideRandom) {
        let extra = said.1.iter().find(|(name, _)| name.as_str().starts_with("x-"));
        if let Some((_, value)) = extra {
            let hex: String = value.as_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
            let id = format!("{}.{hex}", uuid::Uuid::new_v4());
            response.headers_mut().insert("x-request-id", HeaderValue::from_str(&id).unwrap());
        }
    }
    response
}

/// The headers a leaky gateway knows not to copy.
const BLOCKED: &[&str] = &[
    "content-type",
    "content-length",
    "date",
    "connection",
    "retry-after",
    "x-pricing-trace",
    "x-request-id",
];

/// Asks the pricing service, as many times as the behaviour says.
async fn ask(gateway: &Gateway, url: &str) -> Result<Said, Failed> {
    let b = gateway.behaviour;
    let started = Instant::now();
    let deadline = b.deadline.map(|deadline| deadline(gateway.upstream.timeout()));
    if b.leaves_call_running {
        let (detached, url) = (gateway.clone(), url.to_string());
        let call = tokio::spawn(async move { ask_once(&detached, &url, None).await });
        return match within(deadline, async { Ok(call.await) }).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) => Err(Failed::Other(join.to_string())),
            Err(failed) => Err(failed),
        };
    }
    let mut attempt = 1;
    loop {
        let outcome = ask_once(gateway, url, deadline).await;
        let reconnect = matches!(outcome, Err(Failed::Refused(_)))
            && b.reconnects
            && deadline.is_some_and(|deadline| started.elapsed() < deadline);
        let refused = matches!(outcome, Err(Failed::Refused(_)));
        if reconnect {
            tokio::time::sleep(Duration::from_millis(5)).await;
        } else if refused && attempt <= b.refused_again {
            attempt += 1;
        } else if let Some(pause) = b.refused_retry_after.filter(|_| refused && attempt == 1) {
            tokio::time::sleep(pause).await;
            attempt += 1;
        } else if (b.asks_again_after_zero && attempt == 1 && asks_no_wait(&outcome))
            || (attempt < b.attempts && !matches!(&outcome, Ok((200, ..))))
        {
            attempt += 1;
        } else {
            return outcome;
        }
    }
}

/// Whether `outcome` is a 503 whose `Retry-After` asks for no wait at all.
fn asks_no_wait(outcome: &Result<Said, Failed>) -> bool {
    let Ok((503, headers, _)) = outcome else { return false };
    headers.get("retry-after").is_some_and(|value| value == "0")
}

async fn ask_once(
    gateway: &Gateway,
    url: &str,
    deadline: Option<Duration>,
) -> Result<Said, Failed> {
    let failed = |error: reqwest::Error| {
        let (timeout, connect) = (error.is_timeout(), error.is_connect());
        let cause = match gateway.behaviour.leak {
            Some(Leak::ErrorText) => chain(&error.without_url()),
            _ => format!("{error:?}"),
        };
        if timeout {
            Failed::TimedOut
        } else if connect {
            Failed::Refused(cause)
        } else {
            Failed::Other(cause)
        }
    };
    let covers = gateway.behaviour.covers;
    let whole = deadline.filter(|_| covers == Covers::Whole);
    let head = deadline.filter(|_| matches!(covers, Covers::Head | Covers::EachPhase));
    let body = deadline.filter(|_| covers == Covers::EachPhase);
    within(whole, async {
        // A client per request has no pool to keep a connection in.
        let client = if gateway.behaviour.client_per_request {
            reqwest::Client::new()
        } else {
            gateway.client.clone()
        };
        let response = within(head, async { client.get(url).send().await.map_err(failed) }).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut limit = gateway.behaviour.body_limit;
        if gateway.behaviour.trusts_content_length {
            let length = response.content_length().unwrap_or_default() as usize;
            if limit.is_some_and(|limit| length > limit) {
                return Err(Failed::Other("the pricing service sent more than 64 KiB".into()));
            }
            limit = None;
        }
        let bytes = within(body, async {
            let mut response = response;
            let mut bytes = Vec::new();
            let ends_at_errors = gateway.behaviour.ends_body_at_errors;
            loop {
                let chunk = match response.chunk().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    Err(_) if ends_at_errors => break,
                    Err(error) => return Err(failed(error)),
                };
                bytes.extend_from_slice(&chunk);
                let weighs = !gateway.behaviour.weighs_after_reading;
                if weighs && limit.is_some_and(|limit| bytes.len() > limit) {
                    return Err(Failed::Other("the pricing service sent more than 64 KiB".into()));
                }
            }
            if limit.is_some_and(|limit| bytes.len() > limit) {
                return Err(Failed::Other("the pricing service sent more than 64 KiB".into()));
            }
            Ok(bytes)
        })
        .await?;
        Ok((status, headers, bytes))
    })
    .await
}

/// `future`, given up on (as a timeout) after `limit`, if there is one.
async fn within<T>(
    limit: Option<Duration>,
    future: impl Future<Output = Result<T, Failed>>,
) -> Result<T, Failed> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.unwrap_or(Err(Failed::TimedOut)),
        None => future.await,
    }
}

/// One request's answer being made.
struct Answering<'a> {
    gateway: &'a Gateway,
    symbol: &'a str,
    host: String,
}

impl Answering<'_> {
    fn translate(&self, (status, headers, body): &Said) -> Response {
        let b = self.gateway.behaviour;
        match status {
            200 if b.json_only && !is_plain_json(headers) => {
                self.log(
                    format_args!("the pricing service's answer is not application/json"),
                    b.on_failure,
                );
                self.problem(b.on_failure, Some(body))
            }
            200 => match self.price(body) {
                Some(quote) => {
                    if b.caches {
                        self.gateway
                            .cache
                            .lock()
                            .unwrap()
                            .insert(self.symbol.into(), quote.clone());
                    }
                    Json(quote).into_response()
                }
                None => {
                    self.log(
                        format_args!("invalid price in the pricing service's answer"),
                        b.on_failure,
                    );
                    self.problem(b.on_failure, Some(body))
                }
            },
            404 | 410 => self.problem(StatusCode::NOT_FOUND, None),
            429 if b.passes_4xx => self.problem(StatusCode::TOO_MANY_REQUESTS, None),
            429 | 503 => {
                self.log(
                    format_args!("the pricing service answered {status}"),
                    StatusCode::SERVICE_UNAVAILABLE,
                );
                let mut response = self.problem(StatusCode::SERVICE_UNAVAILABLE, None);
                let seconds = headers
                    .get(header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
                let dropped = b.drops_429_retry_after && *status == 429;
                if let Some(seconds) = seconds.filter(|_| b.passes_retry_after && !dropped) {
                    let seconds = b.caps_retry_after.map_or(seconds, |cap| seconds.min(cap));
                    let seconds = seconds.max(b.retry_after_floor);
                    let wait = Duration::from_secs((b.retry_after_as)(seconds));
                    let value = match b.dates_retry_after {
                        true => httpdate::fmt_http_date(std::time::SystemTime::now() + wait),
                        false => wait.as_secs().to_string(),
                    };
                    response.headers_mut().insert(header::RETRY_AFTER, value.parse().unwrap());
                }
                response
            }
            300..=399 if b.passes_redirects => {
                let mut response = StatusCode::from_u16(*status).unwrap().into_response();
                if let Some(location) = headers.get(header::LOCATION) {
                    response.headers_mut().insert(header::LOCATION, location.clone());
                }
                response
            }
            status if Some(*status) == b.passes_status => {
                self.problem(StatusCode::from_u16(*status).unwrap(), None)
            }
            400..=499 if b.passes_4xx => self.problem(StatusCode::from_u16(*status).unwrap(), None),
            400..=599 if b.passes_unnamed && ![400, 401, 403, 409, 500].contains(status) => {
                self.problem(StatusCode::from_u16(*status).unwrap(), None)
            }
            _ if b.logs_reason_phrase => {
                let code = StatusCode::from_u16(*status).expect("a status from the service");
                let reason = code.canonical_reason().expect("a registered status");
                self.log(format_args!("the pricing service answered {reason}"), b.on_failure);
                self.problem(b.on_failure, Some(body))
            }
            _ => {
                self.log(format_args!("the pricing service answered {status}"), b.on_failure);
                self.problem(b.on_failure, Some(body))
            }
        }
    }

    /// The price to pass on, if the body is one for this symbol.
    fn price(&self, body: &[u8]) -> Option<Value> {
        let b = self.gateway.behaviour;
        let mut price: Value = if b.reads_first_value {
            serde_json::Deserializer::from_slice(body).into_iter().next()?.ok()?
        } else {
            serde_json::from_slice(body).ok()?
        };
        let quoted = price["price"].as_str().and_then(|text| text.parse::<f64>().ok());
        if let Some(value) = quoted.filter(|_| b.reads_quoted_prices) {
            price["price"] = json!(value);
        }
        let number = &price["price"];
        let usable = if b.floats_only { number.is_f64() } else { number.is_number() };
        if (price["symbol"] != self.symbol && !b.any_symbol) || !usable {
            return None;
        }
        let value = number.as_f64()?;
        let passed = match b.price {
            Price::AsItCame => number.clone(),
            Price::Cents => json!((value * 100.0).round() / 100.0),
            Price::EightPlaces => json!((value * 1e8).round() / 1e8),
            // Through an f32 and back, written as short as the f32 allows.
            Price::Single => {
                serde_json::from_str(&serde_json::to_string(&(value as f32)).ok()?).ok()?
            }
        };
        if b.leak == Some(Leak::FieldsButSome) {
            let fields = price.as_object_mut()?;
            fields.retain(|name, _| !["node", "trace", "note", "host"].contains(&name.as_str()));
            fields.insert("price".into(), passed);
            return Some(price);
        }
        Some(json!({"symbol": self.symbol, "price": passed, "source": "pricing"}))
    }

    fn log(&self, what: std::fmt::Arguments<'_>, answered: StatusCode) {
        let symbol = self.symbol;
        if self.gateway.behaviour.logs_fields_only {
            tracing::error!(%symbol, elapsed_ms = 12, "upstream call failed");
        } else if self.gateway.behaviour.logs_causes {
            tracing::error!(%symbol, "{what}");
        } else {
            tracing::info!("GET /quotes/{symbol} answered {}", answered.as_u16());
        }
    }

    /// An RFC 9457 problem of `status`; a leaky gateway's carries what it should not.
    fn problem(&self, status: StatusCode, upstream_body: Option<&[u8]>) -> Response {
        let b = self.gateway.behaviour;
        let mut body = json!({"type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16()});
        if b.problem_instance {
            body["instance"] = json!(format!("http://{}/quotes/{}", self.host, self.symbol));
        }
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string())
                .into_response();
        if let (Some(Leak::Bodies), Some(upstream_body)) = (b.leak, upstream_body) {
            *response.body_mut() = upstream_body.to_vec().into();
        }
        let url = self.gateway.upstream.url("/");
        let headers = response.headers_mut();
        if b.instance_id {
            headers.insert("x-instance-id", HeaderValue::from_str(&self.gateway.instance).unwrap());
        }
        if b.leak == Some(Leak::Url) {
            headers.insert("x-upstream", HeaderValue::from_str(&url).unwrap());
        }
        if b.leak == Some(Leak::Host) {
            let host = url.trim_start_matches("http://").split(':').next().unwrap_or_default();
            headers.insert("x-upstream-host", HeaderValue::from_str(host).unwrap());
        }
        response
    }
}

fn host(headers: &HeaderMap) -> String {
    headers.get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or("localhost").into()
}

/// An error and its sources: `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Whether the pricing service labelled its answer `application/json`, parameters aside.
fn is_plain_json(headers: &HeaderMap) -> bool {
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    media_type.is_some_and(|value| {
        value.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json")
    })
}
