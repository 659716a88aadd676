//! Lesson 5's verdicts, each from what the three instances answered and when, and how many
//! requests reached their inventories.

use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use super::inventory::{Fault, Mood, stock};
use super::plan::Plan;
use super::timelines::{Closing, Draining, Exchange, Reopening};
use crate::judge::answer::{Shown, error_problem, expected_error};
use crate::judge::{Evidence, Failure};

/// How long an answer that calls nobody may take: far below the inventory's timeout and the
/// slow inventory's delay, so a request that waited for either shows.
const FAST: Duration = Duration::from_millis(150);

fn millis(duration: Duration) -> u128 {
    duration.as_millis()
}

fn did(mood: Mood) -> String {
    match mood {
        Mood::Healthy(delay) if delay.is_zero() => "answers 200 with the item".into(),
        Mood::Healthy(delay) => format!("answers 200 with the item after {} ms", millis(delay)),
        Mood::Failing(Fault::Status(status)) => format!("answers {status}"),
        Mood::Failing(Fault::Garbage) => "answers 200 with an HTML page".into(),
        Mood::Failing(Fault::Silence) => "never answers".into(),
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

/// The timeline of an instance: every request, when it went, what came back and how fast.
fn timeline<'a>(
    title: &str,
    start: Instant,
    lines: impl IntoIterator<Item = Line<'a>>,
) -> Evidence {
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
            "{at:>6} ms  GET {:<18} → {answer} in {} ms{inventory}",
            exchange.path,
            millis(exchange.took())
        );
    }
    Evidence::Text { title: title.to_string(), body }
}

fn closing_timeline(plan: &Plan, closing: &Closing) -> Evidence {
    let opened = format!(
        "{} failures in a row: open from here, for {} ms",
        plan.threshold,
        millis(plan.cooldown)
    );
    let lines = requests([&closing.healthy, &closing.slow, &closing.quick])
        .chain(requests(&closing.counting.exchanges))
        .chain(requests([&closing.trigger]))
        .chain([Line::Note(opened)])
        .chain(requests(&closing.open.exchanges))
        .chain(requests([&closing.ready_while_open, &closing.live_while_open]))
        .chain(requests(&closing.later.exchanges))
        .chain([Line::Note("cooldown over: half-open, the inventory healthy again".into())])
        .chain(requests(&closing.trial.exchanges))
        .chain(requests(&closing.after.exchanges));
    timeline("instance X, times from its first request", closing.start, lines)
}

fn reopening_timeline(plan: &Plan, reopening: &Reopening) -> Evidence {
    let lines = requests(&reopening.opening)
        .chain([Line::Note(format!("{} failures in a row: open from here", plan.threshold))])
        .chain([Line::Note("cooldown over: half-open".into())])
        .chain(requests(&reopening.trial.exchanges))
        .chain([Line::Note(format!(
            "the trial failed: open again from here, for {} ms",
            millis(plan.cooldown)
        ))])
        .chain(requests(&reopening.right_after.exchanges))
        .chain(requests(&reopening.half_later.exchanges));
    timeline("instance Y, times from its first request", reopening.start, lines)
}

fn draining_timeline(draining: &Draining) -> Evidence {
    let lines = requests([&draining.live_before, &draining.ready_before, &draining.in_flight])
        .chain([Line::Note("draining from here".into())])
        .chain(requests([
            &draining.ready_while_draining,
            &draining.live_while_draining,
            &draining.item_while_draining,
        ]));
    timeline("instance Z, times from its first request", draining.start, lines)
}

fn diff(expected: &Shown, exchange: &Exchange, headers: &[&str]) -> Evidence {
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
fn item_shown(exchange: &Exchange) -> Shown {
    let id = item_id(exchange);
    Shown::status(StatusCode::OK)
        .header("content-type", "application/json")
        .json(&json!({"id": id, "stock": stock(id)}))
}

/// Whether `exchange` came back as the item it asked for (more fields are fine).
fn is_item(exchange: &Exchange) -> bool {
    let id = item_id(exchange);
    matches!(&exchange.answer, Ok(answer) if answer.status == StatusCode::OK
        && answer.media_type().as_deref() == Some("application/json")
        && answer.json().is_some_and(|body| body["id"] == id && body["stock"] == stock(id)))
}

fn is_status(exchange: &Exchange, status: StatusCode) -> bool {
    matches!(&exchange.answer, Ok(answer) if answer.status == status)
}

/// The status and error code a failure of the inventory comes back as.
fn failure_status(fault: Fault) -> (StatusCode, &'static str) {
    match fault {
        Fault::Silence => (StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT"),
        Fault::Status(_) | Fault::Garbage => (StatusCode::BAD_GATEWAY, "BAD_GATEWAY"),
    }
}

/// What is wrong with the answer to a request the inventory failed, if anything. An
/// inventory's own 504 is an answer, so a 502; passing it on as a 504 is common, and fine too.
fn failure_problem(
    exchange: &Exchange,
    fault: Fault,
) -> Option<(StatusCode, &'static str, String)> {
    let (status, code) = failure_status(fault);
    let problem = error_problem(&exchange.answer, status, code)?;
    let passed_on = fault == Fault::Status(504)
        && error_problem(&exchange.answer, StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT")
            .is_none();
    (!passed_on).then_some((status, code, problem))
}

pub(super) fn closed(plan: &Plan, closing: &Closing) -> Option<Failure> {
    let before_success = plan.threshold as usize;
    for exchange in
        [&closing.healthy].into_iter().chain(&closing.counting.exchanges[..before_success])
    {
        let failure = match exchange.inventory {
            None | Some(Mood::Healthy(_)) => (!is_item(exchange)).then(|| {
                Failure::new(
                    format!("GET {}: the inventory had the item, and it did not come through", exchange.path),
                    "While the inventory answers, the breaker is invisible: the client gets the item as the inventory has it.",
                )
                .with(diff(&item_shown(exchange), exchange, &["content-type"]))
            }),
            Some(Mood::Failing(fault)) => failure_problem(exchange, fault).map(|(status, code, problem)| {
                Failure::new(
                    format!("GET {}: the inventory {}, and the answer is wrong: {problem}", exchange.path, did(Mood::Failing(fault))),
                    "A closed breaker changes nothing about lesson 4: a failure behind you is a 502, no answer in time a 504, each in your own JSON.",
                )
                .with(diff(&expected_error(&exchange.answer, status, code), exchange, &["content-type"]))
            }),
        };
        if let Some(failure) = failure {
            return Some(failure.with(closing_timeline(plan, closing)));
        }
    }
    None
}

/// Whether instance X's breaker answered a single 503 before the cooldown was over.
fn ever_opened(closing: &Closing) -> bool {
    closing
        .counting
        .exchanges
        .iter()
        .chain([&closing.trigger])
        .chain(&closing.open.exchanges)
        .chain(&closing.later.exchanges)
        .any(|exchange| is_status(exchange, StatusCode::SERVICE_UNAVAILABLE))
}

/// The failure of a check that needs a breaker that opens, when none ever did.
fn never_opened(plan: &Plan, needed: &str) -> Failure {
    Failure::new(
        format!(
            "the breaker never opened: after {} failures in a row, requests still reached the inventory, and no answer was a 503",
            plan.threshold
        ),
        format!(
            "This check needs a breaker that opens ({needed}); the check that it opens shows what happened instead."
        ),
    )
}

pub(super) fn counts(plan: &Plan, closing: &Closing) -> Option<Failure> {
    if !ever_opened(closing) {
        return Some(never_opened(
            plan,
            "it judges that it opens on failures in a row, and not before",
        ));
    }
    let counting = &closing.counting;
    let opened = counting
        .exchanges
        .iter()
        .position(|exchange| is_status(exchange, StatusCode::SERVICE_UNAVAILABLE));
    if opened.is_none() && counting.reached == counting.exchanges.len() {
        return None;
    }
    let threshold = plan.threshold;
    let summary = match opened {
        Some(at) => format!(
            "the breaker opened at the {} request, with never {threshold} failures in a row (the threshold is {threshold})",
            ordinal(at + 1)
        ),
        None => format!(
            "only {} of these {} requests reached the inventory, with never {threshold} failures in a row",
            counting.reached,
            counting.exchanges.len()
        ),
    };
    Some(
        Failure::new(
            summary,
            "A breaker opens on failures in a row: one success shows the dependency is back, and the count starts again. Counting every failure ever would open it, sooner or later, on a service that is fine.",
        )
        .with(timeline("instance X, times from its first request", closing.start, requests(&counting.exchanges))),
    )
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// What is wrong with a request an open breaker should have answered itself, if anything.
fn fast_503_problem(exchange: &Exchange) -> Option<String> {
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

fn unexpected_503(exchange: &Exchange) -> Evidence {
    diff(
        &expected_error(&exchange.answer, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
        exchange,
        &["content-type"],
    )
}

pub(super) fn opens(plan: &Plan, closing: &Closing) -> Option<Failure> {
    let why = "Once the breaker is open, the inventory gets a rest and your clients get an answer at once, instead of each waiting for a timeout: a 503, which says the trouble is temporary.";
    let threshold = plan.threshold;
    for burst in [&closing.open, &closing.later] {
        if burst.reached > 0 {
            return Some(
                Failure::new(
                    format!(
                        "after {threshold} failures in a row, {} of the {} requests that followed still reached the inventory",
                        burst.reached,
                        burst.exchanges.len()
                    ),
                    why,
                )
                .with(closing_timeline(plan, closing)),
            );
        }
        for exchange in &burst.exchanges {
            if let Some(problem) = fast_503_problem(exchange) {
                return Some(
                    Failure::new(
                        format!(
                            "GET {} after {threshold} failures in a row: {problem}",
                            exchange.path
                        ),
                        why,
                    )
                    .with(unexpected_503(exchange))
                    .with(closing_timeline(plan, closing)),
                );
            }
        }
    }
    None
}

/// The Retry-After values an answer may carry, sent between `exchange.sent` and
/// `exchange.received` by a breaker that opened between `opened.sent` and `opened.received`:
/// the cooldown left, rounded up, at least 1.
fn acceptable(cooldown: Duration, opened: &Exchange, exchange: &Exchange) -> RangeInclusive<u64> {
    let left =
        |since: Duration| cooldown.saturating_sub(since).as_secs_f64().ceil().max(1.0) as u64;
    let least = left(exchange.received.saturating_duration_since(opened.sent));
    let most = left(exchange.sent.saturating_duration_since(opened.received));
    least..=most
}

fn retry_after_seconds(exchange: &Exchange) -> Result<u64, String> {
    let Ok(answer) = &exchange.answer else { return Err("(no answer)".into()) };
    let values: Vec<_> = answer.headers.get_all("retry-after").iter().collect();
    match values.as_slice() {
        [] => Err("(not sent)".into()),
        [value] => {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
            digits.then(|| text.parse().ok()).flatten().ok_or(text)
        }
        _ => Err(format!("{} values", values.len())),
    }
}

pub(super) fn retry_after(
    plan: &Plan,
    closing: &Closing,
    reopening: &Reopening,
) -> Option<Failure> {
    if !ever_opened(closing) {
        return Some(never_opened(plan, "it judges the Retry-After of its 503s"));
    }
    let trial_of_y = reopening.trial.exchanges.first();
    let asked: Vec<(&str, &Exchange, &Exchange)> = closing
        .open
        .exchanges
        .iter()
        .chain(&closing.later.exchanges)
        .map(|exchange| ("X", &closing.trigger, exchange))
        .chain(trial_of_y.into_iter().flat_map(|trial| {
            reopening
                .right_after
                .exchanges
                .iter()
                .chain(&reopening.half_later.exchanges)
                .map(move |exchange| ("Y", trial, exchange))
        }))
        .filter(|(_, _, exchange)| is_status(exchange, StatusCode::SERVICE_UNAVAILABLE))
        .collect();
    let mut rows = Vec::new();
    let mut wrong = None;
    for (instance, opened, exchange) in asked {
        let range = acceptable(plan.cooldown, opened, exchange);
        let sent = retry_after_seconds(exchange);
        let ok = sent.as_ref().is_ok_and(|seconds| range.contains(seconds));
        let left =
            plan.cooldown.saturating_sub(exchange.sent.saturating_duration_since(opened.received));
        let since = millis(exchange.sent.saturating_duration_since(opened.received));
        if !ok && wrong.is_none() {
            wrong = Some((instance, since, sent.clone()));
        }
        let expected = if range.start() == range.end() {
            range.start().to_string()
        } else {
            format!("{} or {}", range.start(), range.end())
        };
        rows.push(crate::judge::Row {
            cells: vec![
                format!("{instance}, {since} ms after it opened"),
                format!("{} ms", millis(left)),
                sent.map_or_else(|shown| shown, |seconds| seconds.to_string()),
                expected,
            ],
            ok,
        });
    }
    let (instance, since, sent) = wrong?;
    let sent = match sent {
        Ok(seconds) => format!("Retry-After: {seconds}"),
        Err(shown) if shown.starts_with('(') => format!("Retry-After {shown}"),
        Err(shown) => format!("Retry-After: {shown}, which is not whole seconds"),
    };
    Some(
        Failure::new(
            format!("instance {instance}, {since} ms after the breaker opened (cooldown {} ms): {sent}", millis(plan.cooldown)),
            "The breaker knows when it will let a request through again: the cooldown left. Rounded up, so that a client that waits as asked never arrives early; at least 1, since 0 would invite it straight back.",
        )
        .with(Evidence::Table {
            columns: ["503 from", "cooldown left", "Retry-After", "expected"].map(String::from).to_vec(),
            rows,
        }),
    )
}

pub(super) fn one_trial(plan: &Plan, closing: &Closing) -> Option<Failure> {
    if !ever_opened(closing) {
        return Some(never_opened(plan, "it judges what gets through once the cooldown is over"));
    }
    let trial = &closing.trial;
    let count = trial.exchanges.len();
    let why = "Half-open is a question, asked once: one request finds out whether the inventory is back. A crowd let through at once would hit a service that may still be down, the very load the breaker exists to hold off.";
    let summary = match trial.reached {
        1 => None,
        0 => Some(format!(
            "{count} requests arrived {} ms after the cooldown of {} ms had passed, and none reached the inventory",
            millis(super::timelines::PAST_COOLDOWN),
            millis(plan.cooldown)
        )),
        reached => Some(format!(
            "{count} requests arrived at once when the cooldown had passed, and {reached} reached the inventory"
        )),
    };
    let summary = summary.or_else(|| {
        let waited = trial
            .exchanges
            .iter()
            .find(|exchange| !is_item(exchange) && fast_503_problem(exchange).is_some())?;
        Some(format!(
            "GET {} arrived with the trial under way: {}",
            waited.path,
            fast_503_problem(waited).unwrap_or_default()
        ))
    })?;
    Some(Failure::new(summary, why).with(closing_timeline(plan, closing)))
}

pub(super) fn closes(plan: &Plan, closing: &Closing) -> Option<Failure> {
    if !ever_opened(closing) {
        return Some(never_opened(plan, "it judges that a trial that succeeds closes it again"));
    }
    let trial = closing.trial.exchanges.iter().find(|exchange| is_item(exchange));
    let after = &closing.after.exchanges[0];
    if trial.is_some() && is_item(after) {
        return None;
    }
    let (summary, evidence) = match trial {
        None => (
            "when the cooldown had passed, no request came back with its item: the trial never reached a healthy inventory".to_string(),
            None,
        ),
        Some(trial) => (
            format!("the trial GET {} succeeded, and the next request, GET {}, did not come back with its item", trial.path, after.path),
            Some(diff(&item_shown(after), after, &["content-type"])),
        ),
    };
    let failure = Failure::new(
        summary,
        "A trial that succeeds shows the inventory is back: the breaker closes, and every request goes through again, with the count of failures at zero.",
    );
    Some(evidence.into_iter().fold(failure, Failure::with).with(closing_timeline(plan, closing)))
}

pub(super) fn reopens(plan: &Plan, closing: &Closing, reopening: &Reopening) -> Option<Failure> {
    if !ever_opened(closing) {
        return Some(never_opened(plan, "it judges what a failed trial does"));
    }
    let why = "A trial that fails is the answer to the question: the inventory is still down. The breaker opens for a whole cooldown again, counted from the failed trial; the old cooldown is spent.";
    let Some(trial) = reopening.trial.exchanges.first().filter(|_| reopening.trial.reached == 1)
    else {
        return Some(
            Failure::new(
                format!(
                    "one request came {} ms after the cooldown had passed, and it did not reach the inventory (so the trial never happened)",
                    millis(super::timelines::PAST_COOLDOWN)
                ),
                why,
            )
            .with(reopening_timeline(plan, reopening)),
        );
    };
    for (burst, when) in
        [(&reopening.right_after, "right after"), (&reopening.half_later, "half a cooldown after")]
    {
        let exchange = &burst.exchanges[0];
        let problem = if burst.reached > 0 {
            Some("it reached the inventory".to_string())
        } else {
            fast_503_problem(exchange)
        };
        if let Some(problem) = problem {
            return Some(
                Failure::new(
                    format!(
                        "the trial GET {} failed; GET {}, {when} it ({} ms cooldown): {problem}",
                        trial.path,
                        exchange.path,
                        millis(plan.cooldown)
                    ),
                    why,
                )
                .with(unexpected_503(exchange))
                .with(reopening_timeline(plan, reopening)),
            );
        }
    }
    None
}

fn status_problem(exchange: &Exchange, status: StatusCode) -> Option<String> {
    match &exchange.answer {
        Ok(answer) if answer.status == status => None,
        Ok(answer) => Some(format!("{}, not {}", answer.status.as_u16(), status.as_u16())),
        Err(what_happened) => Some(what_happened.clone()),
    }
}

/// What keeps a health endpoint's answer from saying yes, if anything: any 2xx does, as it
/// does for a Kubernetes probe or a load balancer.
fn not_healthy(exchange: &Exchange) -> Option<String> {
    match &exchange.answer {
        Ok(answer) if answer.status.is_success() => None,
        Ok(answer) => Some(format!("{}, not a 2xx such as 200", answer.status.as_u16())),
        Err(what_happened) => Some(what_happened.clone()),
    }
}

pub(super) fn live(plan: &Plan, closing: &Closing, draining: &Draining) -> Option<Failure> {
    let asked = [
        (&closing.live_while_open, "with the breaker open", closing_timeline(plan, closing)),
        (&draining.live_before, "before draining", draining_timeline(draining)),
        (&draining.live_while_draining, "while draining", draining_timeline(draining)),
    ];
    let (_, when, evidence, problem) =
        asked.into_iter().find_map(|(exchange, when, evidence)| {
            Some((exchange, when, evidence, not_healthy(exchange)?))
        })?;
    Some(
        Failure::new(
            format!("GET /health/live {when}: {problem}"),
            "Liveness asks one thing: is this process able to answer at all? A 'no' gets it restarted. A failing dependency or a planned shutdown is no reason to restart anything.",
        )
        .with(evidence),
    )
}

pub(super) fn ready(plan: &Plan, closing: &Closing, draining: &Draining) -> Option<Failure> {
    if let Some(problem) = not_healthy(&closing.ready_while_open) {
        return Some(
            Failure::new(
                format!("GET /health/ready with the breaker open: {problem}"),
                "Readiness must not follow the breaker. The inventory is shared: every replica's breaker opens together, every replica goes unready, and the load balancer has nowhere to send anyone. Your clients get its bare error, without your JSON or your Retry-After.",
            )
            .with(closing_timeline(plan, closing)),
        );
    }
    if let Some(problem) = not_healthy(&draining.ready_before) {
        return Some(
            Failure::new(
                format!("GET /health/ready before draining: {problem}"),
                "An instance that is up and not draining is ready: otherwise it never gets any traffic.",
            )
            .with(draining_timeline(draining)),
        );
    }
    let exchange = &draining.ready_while_draining;
    let problem = status_problem(exchange, StatusCode::SERVICE_UNAVAILABLE).or_else(|| {
        let answer = exchange.answer.as_ref().ok()?;
        let value = answer.header("retry-after").and_then(|value| value.to_str().ok());
        let valid = value.is_some_and(|value| {
            let value = value.trim();
            value.parse::<u64>().is_ok() || httpdate::parse_http_date(value).is_ok()
        });
        (!valid).then(|| "no valid Retry-After".to_string())
    })?;
    Some(
        Failure::new(
            format!("GET /health/ready while draining: {problem}"),
            "Draining starts with 'not ready': the load balancer takes the instance out of rotation and sends new traffic elsewhere, while what is under way finishes. A 503 says exactly that, and Retry-After says it is not for long.",
        )
        .with(diff(&Shown::status(StatusCode::SERVICE_UNAVAILABLE).header("retry-after", "<seconds or an HTTP-date>"), exchange, &["retry-after"]))
        .with(draining_timeline(draining)),
    )
}

pub(super) fn draining(draining: &Draining) -> Option<Failure> {
    let asked = [
        (&draining.in_flight, "sent before draining began, answered after it"),
        (&draining.item_while_draining, "sent while draining"),
    ];
    let (exchange, when) = asked.into_iter().find(|(exchange, _)| !is_item(exchange))?;
    Some(
        Failure::new(
            format!("GET {}, {when}, did not come back with its item", exchange.path),
            "Draining is how a deploy causes no 5xx: the instance stops getting new traffic, and answers, as well as ever, everything it does get until it stops.",
        )
        .with(diff(&item_shown(exchange), exchange, &["content-type"]))
        .with(draining_timeline(draining)),
    )
}

pub(super) fn no_queue(plan: &Plan, closing: &Closing) -> Option<Failure> {
    let (slow, quick) = (&closing.slow, &closing.quick);
    if is_item(quick) && quick.received < slow.received {
        return None;
    }
    let summary = if is_item(quick) {
        format!(
            "GET {} waited for GET {}: the inventory answered it at once, and it came back {} ms after the slow one, which the inventory held for {} ms",
            quick.path,
            slow.path,
            millis(quick.received.saturating_duration_since(slow.received)),
            millis(plan.slow)
        )
    } else {
        format!(
            "GET {}, asked while a slow request was on its way, did not come back with its item",
            quick.path
        )
    };
    Some(
        Failure::new(
            summary,
            "The breaker's state is shared, but a request must hold it only for a moment: to read it, and to record an outcome. Held across the call to the inventory, every request waits for the one before it, and one slow answer makes everyone slow.",
        )
        .with(diff(&item_shown(quick), quick, &["content-type"]))
        .with(closing_timeline(plan, closing)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, from_ms: u64, to_ms: u64) -> Exchange {
        Exchange {
            path: "/items/1".into(),
            sent: start + Duration::from_millis(from_ms),
            received: start + Duration::from_millis(to_ms),
            answer: Err("unused".into()),
            inventory: None,
        }
    }

    #[test]
    fn retry_after_is_the_cooldown_left_rounded_up_and_at_least_one() {
        let start = Instant::now();
        let opened = at(start, 0, 10);
        let cooldown = Duration::from_millis(1_200);
        assert_eq!(acceptable(cooldown, &opened, &at(start, 12, 15)), 2..=2);
        assert_eq!(acceptable(cooldown, &opened, &at(start, 700, 705)), 1..=1);
        // A slow answer spans the boundary: both values are right.
        assert_eq!(acceptable(cooldown, &opened, &at(start, 150, 300)), 1..=2);
        assert_eq!(acceptable(cooldown, &opened, &at(start, 1_500, 1_505)), 1..=1);
    }

    #[test]
    fn ordinals_read_as_english() {
        let words: Vec<String> =
            [1, 2, 3, 4, 11, 12, 13, 21, 22].into_iter().map(ordinal).collect();
        assert_eq!(words, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"]);
    }
}
