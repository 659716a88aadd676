//! What the overload checks need of every answer: the request for an [`Ask`], the
//! `Retry-After` in whole seconds, whether an error has the course's shape, and a table row that
//! shows an exchange against the moment its flood began.

use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::API_KEY;
use super::plan::{Ask, KEY_PREFIX, Plan};
use crate::judge::Row;
use crate::judge::answer::error_problem;
use crate::judge::bounds::millis;
use crate::judge::exchange::{Exchange, Request};

pub(super) fn request(ask: &Ask) -> Request {
    let request = Request::get(format!("/reports/{}", ask.id));
    match &ask.key {
        Some(key) => request.header(API_KEY, key.clone()),
        // Keyless requests come through a proxy that names a different caller each time: a
        // quota per forwarded address is one no keyless client ever spends.
        None => request.header("x-forwarded-for", format!("198.51.100.{}", ask.id % 254 + 1)),
    }
}

/// A client's key as a table shows it: the shared prefix of the judge's keys left out.
fn shown_key(key: &str) -> String {
    match key.strip_prefix(KEY_PREFIX) {
        Some(rest) => format!("{}…{rest}", &KEY_PREFIX[..8]),
        None => key.to_string(),
    }
}

/// The report `id` whose request this is.
pub(super) fn id_of(exchange: &Exchange) -> Option<u32> {
    exchange.request.path.strip_prefix("/reports/")?.parse().ok()
}

/// Whether `exchange` is the report it asked for, 200 with its id and title.
pub(super) fn served(plan: &Plan, exchange: &Exchange) -> bool {
    let (Some(answer), Some(id)) = (exchange.answer(), id_of(exchange)) else { return false };
    let body = answer.json().unwrap_or_default();
    answer.status == StatusCode::OK
        && body["id"] == id
        && plan.title(id).is_some_and(|title| body["title"] == title)
}

/// `Retry-After` as delay-seconds, when it is one: `Err` says what it is instead.
pub(super) fn retry_after(exchange: &Exchange) -> Result<u64, String> {
    let Some(answer) = exchange.answer() else { return Err("no answer".into()) };
    let values: Vec<_> = answer.headers.get_all("retry-after").iter().collect();
    let [value] = values[..] else {
        return Err(if values.is_empty() {
            "no Retry-After".into()
        } else {
            "more than one Retry-After".into()
        });
    };
    let text = value.to_str().unwrap_or_default().trim_matches([' ', '\t']);
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("Retry-After: {text:?}, not a number of seconds"));
    }
    Ok(text.parse().unwrap_or(u64::MAX))
}

/// `Retry-After` in either form RFC 9110 allows: delay-seconds, or an HTTP-date, counted in
/// whole seconds from the answer's own `Date`. `Err` says what it is instead.
pub(super) fn retry_after_in_either_form(exchange: &Exchange) -> Result<u64, String> {
    let seconds = retry_after(exchange);
    if seconds.is_ok() {
        return seconds;
    }
    exchange.answer().and_then(|answer| answer.retry_after_seconds()).ok_or_else(|| {
        seconds.unwrap_err().replace("not a number of seconds", "neither seconds nor an HTTP-date")
    })
}

/// What keeps `exchange` from being the error `status` with a JSON body of `code` (or problem
/// details), if anything.
pub(super) fn not_error(exchange: &Exchange, status: StatusCode, code: &str) -> Option<String> {
    error_problem(&exchange.answer, status, code)
}

/// A row of a table of exchanges: the request, its client, when it went and came back after
/// `start`, what came back.
pub(super) fn row(exchange: &Exchange, start: Instant, ok: bool) -> Row {
    let client = exchange
        .request
        .headers
        .iter()
        .find(|(name, _)| name == API_KEY)
        .map_or("(no key)".to_string(), |(_, key)| shown_key(key));
    let answered = match exchange.answer() {
        Some(answer) => {
            let retry = answer
                .header("retry-after")
                .map(|value| format!(", Retry-After: {}", value.to_str().unwrap_or("?")))
                .unwrap_or_default();
            format!("{}{retry}", answer.status.as_u16())
        }
        None => exchange.answer.clone().unwrap_err(),
    };
    Row {
        cells: vec![
            exchange.request.line(),
            client,
            format!("+{}", millis(exchange.sent.saturating_duration_since(start))),
            millis(exchange.took()),
            answered,
        ],
        ok,
    }
}

pub(super) const COLUMNS: [&str; 5] = ["request", "client", "sent", "took", "answer"];

/// `duration` as a report shows it, in milliseconds.
pub(super) fn ms(duration: Duration) -> String {
    millis(duration)
}
