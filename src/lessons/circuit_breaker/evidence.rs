//! What lesson 5's verdicts show and test answers with: each instance's timeline, diffs against
//! the item or the 503 expected, and what an answer is.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use super::Seen;
use super::exchange::Exchange;
use super::inventory::{Fault, Mood, stock};
use crate::judge::Evidence;
use crate::judge::answer::{Shown, error_problem, expected_error};

/// How long an answer that calls nobody may take: far below the inventory's timeout and the
/// slow inventory's delay, so a request that waited for either shows.
pub(super) const FAST: Duration = Duration::from_millis(150);

pub(super) fn millis(duration: Duration) -> u128 {
    duration.as_millis()
}

pub(super) fn did(mood: Mood) -> String {
    match mood {
        Mood::Healthy(delay) if delay.is_zero() => "answers 200 with the item".into(),
        Mood::Healthy(delay) => format!("answers 200 with the item after {} ms", millis(delay)),
        Mood::Failing(Fault::Status(status)) => format!("answers {status}"),
        Mood::Failing(Fault::Garbage) => "answers 200 with an HTML page".into(),
        Mood::Failing(Fault::Silence) => "never answers".into(),
        Mood::Missing => "answers 404".into(),
    }
}

/// One line of an instance's timeline.
enum Line<'a> {
    Request(&'a Exchange),
    /// What the breaker should do from here.
    Note(String),
}

fn requests<'a>(
    exchanges: impl IntoIterator<Item = &'a Exchange>,
) -> impl Iterator<Item = Line<'a>> {
    exchanges.into_iter().map(Line::Request)
}

fn note<'a>(text: impl Into<String>) -> std::iter::Once<Line<'a>> {
    std::iter::once(Line::Note(text.into()))
}

/// An instance's timeline: every request in the order sent, when it went, what came back and
/// how fast, with notes on what the breaker should be doing.
fn timeline<'a>(name: &str, start: Instant, lines: impl IntoIterator<Item = Line<'a>>) -> Evidence {
    let mut body = String::new();
    for line in lines {
        let exchange = match line {
            Line::Request(exchange) => exchange,
            Line::Note(note) => {
                let _ = writeln!(body, "           ── {note} ──");
                continue;
            }
        };
        let at = millis(exchange.sent.saturating_duration_since(start));
        let answer = match &exchange.answer {
            Ok(answer) => {
                let retry_after = answer
                    .header("retry-after")
                    .map(|value| {
                        format!(" Retry-After: {}", String::from_utf8_lossy(value.as_bytes()))
                    })
                    .unwrap_or_default();
                format!("{}{retry_after}", answer.status.as_u16())
            }
            Err(what_happened) => what_happened.clone(),
        };
        let inventory = exchange
            .inventory
            .map(|mood| format!("   (inventory {})", did(mood)))
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "{at:>6} ms  GET {:<20} → {answer} in {} ms{inventory}",
            exchange.path,
            millis(exchange.took())
        );
    }
    Evidence::Text { title: format!("instance {name}, times from its first request"), body }
}

/// One of the functions below: an instance's timeline, for the failures about it.
pub(super) type Timeline = fn(&Seen) -> Evidence;

pub(super) fn x_timeline(seen: &Seen) -> Evidence {
    let (plan, x) = (seen.plan, seen.x);
    let opened = format!(
        "{} failures in a row: open from here, for {} ms",
        plan.threshold,
        millis(plan.cooldown)
    );
    let lines = requests([&x.healthy, &x.slow, &x.quick])
        .chain(requests(&x.missing.exchanges))
        .chain(requests(&x.counting.exchanges))
        .chain(requests([&x.trigger]))
        .chain(note(opened))
        .chain(requests(&x.open.exchanges))
        .chain(requests([&x.ready_while_open, &x.live_while_open]))
        .chain(requests(&x.later.exchanges))
        .chain(note("cooldown over: half-open, the inventory slow but healthy"))
        .chain(requests(&x.trial.exchanges))
        .chain(requests([&x.ready_while_half_open]))
        .chain(note("the trial succeeded: closed from here"))
        .chain(requests(&x.after.exchanges));
    timeline("X", x.start, lines)
}

pub(super) fn y_timeline(seen: &Seen) -> Evidence {
    let (plan, y) = (seen.plan, seen.y);
    let lines = requests(&y.opening)
        .chain(requests([&y.silent, &y.quick, &y.live_while_failing, &y.ready_while_failing]))
        .chain(note(format!(
            "{} failures in a row once the silent one timed out: open from then",
            plan.threshold
        )))
        .chain(requests(&y.open_probe.exchanges))
        .chain(note("cooldown over: half-open"))
        .chain(requests(&y.trial.exchanges))
        .chain(note(format!(
            "the trial failed: open again from here, for {} ms",
            millis(plan.cooldown)
        )))
        .chain(requests(&y.right_after.exchanges))
        .chain(requests(&y.half_later.exchanges));
    timeline("Y", y.start, lines)
}

pub(super) fn z_timeline(seen: &Seen) -> Evidence {
    let z = seen.z;
    let lines = requests([&z.live_before, &z.ready_before, &z.in_flight])
        .chain(note("draining from here"))
        .chain(requests([
            &z.ready_while_draining,
            &z.live_while_draining,
            &z.item_while_draining,
            &z.live_later,
        ]));
    timeline("Z", z.start, lines)
}

pub(super) fn w_timeline(seen: &Seen) -> Evidence {
    let (plan, w) = (seen.plan, seen.w);
    let lines = requests(&w.opening)
        .chain(note(format!("{} failures in a row: open from here", plan.threshold)))
        .chain(note("cooldown over: half-open, the inventory slow"))
        .chain(requests([&w.abandoned]))
        .chain(note("the client hung up: its trial never finished"))
        .chain(requests(&w.probes));
    timeline("W", w.start, lines)
}

pub(super) fn v_timeline(seen: &Seen) -> Evidence {
    let (plan, v) = (seen.plan, seen.v);
    let opened = format!(
        "{} failures in a row (this instance's threshold): open from here, for {} ms",
        plan.v_threshold,
        millis(plan.v_cooldown)
    );
    let lines = requests(&v.opening.exchanges)
        .chain(note(opened))
        .chain(requests(&v.open.exchanges))
        .chain(requests(&v.later.exchanges));
    timeline("V", v.start, lines)
}

pub(super) fn diff(expected: &Shown, exchange: &Exchange, headers: &[&str]) -> Evidence {
    Evidence::Diff {
        expected: expected.render(),
        actual: Shown::of_result(&exchange.answer, headers)
            .media_type_shown_as("application/json")
            .render(),
    }
}

fn item_id(exchange: &Exchange) -> u32 {
    exchange.path.rsplit('/').next().and_then(|id| id.parse().ok()).unwrap_or_default()
}

/// The item as the inventory has it.
pub(super) fn item_shown(exchange: &Exchange) -> Shown {
    let id = item_id(exchange);
    Shown::status(StatusCode::OK)
        .header("content-type", "application/json")
        .json(&json!({"id": id, "stock": stock(id)}))
}

/// The item diffed against what came back.
pub(super) fn item_diff(exchange: &Exchange) -> Evidence {
    diff(&item_shown(exchange), exchange, &["content-type"])
}

/// A 503 of the course's shape diffed against what came back.
pub(super) fn unavailable_diff(exchange: &Exchange) -> Evidence {
    diff(
        &expected_error(&exchange.answer, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
        exchange,
        &["content-type"],
    )
}

/// Whether `exchange` came back as the item it asked for (more fields are fine).
pub(super) fn is_item(exchange: &Exchange) -> bool {
    let id = item_id(exchange);
    matches!(&exchange.answer, Ok(answer) if answer.status == StatusCode::OK
        && answer.media_type().as_deref() == Some("application/json")
        && answer.json().is_some_and(|body| body["id"] == id && body["stock"] == stock(id)))
}

pub(super) fn is_status(exchange: &Exchange, status: StatusCode) -> bool {
    matches!(&exchange.answer, Ok(answer) if answer.status == status)
}

pub(super) fn is_503(exchange: &Exchange) -> bool {
    is_status(exchange, StatusCode::SERVICE_UNAVAILABLE)
}

/// What is wrong with a request an open breaker should have answered itself, if anything.
pub(super) fn fast_503_problem(exchange: &Exchange) -> Option<String> {
    error_problem(&exchange.answer, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").or_else(
        || {
            (exchange.took() > FAST).then(|| {
                format!(
                    "it took {} ms: an open breaker answers at once (under {} ms)",
                    millis(exchange.took()),
                    millis(FAST)
                )
            })
        },
    )
}

pub(super) fn status_problem(exchange: &Exchange, status: StatusCode) -> Option<String> {
    match &exchange.answer {
        Ok(answer) if answer.status == status => None,
        Ok(answer) => Some(format!("{}, not {}", answer.status.as_u16(), status.as_u16())),
        Err(what_happened) => Some(what_happened.clone()),
    }
}

/// What keeps a health endpoint's answer from a quick yes, if anything: any 2xx is yes, as for
/// a Kubernetes probe or a load balancer, and it comes at once, whatever the inventory does.
pub(super) fn not_healthy(exchange: &Exchange) -> Option<String> {
    match &exchange.answer {
        Ok(answer) if !answer.status.is_success() => {
            Some(format!("{}, not a 2xx such as 200", answer.status.as_u16()))
        }
        Ok(_) if exchange.took() > FAST => Some(format!(
            "it took {} ms: a probe answers at once, without asking anyone (under {} ms)",
            millis(exchange.took()),
            millis(FAST)
        )),
        Ok(_) => None,
        Err(what_happened) => Some(what_happened.clone()),
    }
}

pub(super) fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_read_as_english() {
        let words: Vec<String> =
            [1, 2, 3, 4, 11, 12, 13, 21, 22].into_iter().map(ordinal).collect();
        assert_eq!(words, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"]);
    }
}
