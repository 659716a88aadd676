//! The concurrency scenarios: floods released together, with backend failures between them, on
//! one instance; a stream of requests three times faster than the backend on another. Both
//! judge the limit (counted by the backend), that a request is served whenever a slot is free,
//! that the rest are refused at once, and that the requests served are not slowed by the flood.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use futures_util::future::join_all;

use super::plan::{Ask, Backend, Plan, UNREACHED_QUOTA};
use super::said::{Said, limit_said};
use super::shown::{self, COLUMNS, ms, row, served};
use super::{
    FAILURES, FULL, Failures, GOODPUT, HEALTH, LIMIT, NO_LEAK, REFUSED, Stop, backend, note, serve,
};
use crate::judge::bounds::{AT_ONCE, AT_ONCE_ON_AVERAGE, LATE_FLOOR, PATIENCE, UNDER_FLOOD, late};
use crate::judge::compare::secrets_in;
use crate::judge::exchange::{Client, Exchange, Request};
use crate::judge::upstream::{Seen, Upstream};
use crate::judge::{Evidence, Failure, Learner, Row};

/// The quota of the concurrency instances' window: never reached.
const LONG_WINDOW: Duration = Duration::from_secs(60);

/// How much later than another a request may reach the learner's server, though sent earlier:
/// the order of arrival within this is not the judge's to know.
const REORDER: Duration = LATE_FLOOR;

/// Floods released together: the first, then as many calls as there are slots with backend
/// failures among them, then as many whose callers hang up, then another flood.
pub(super) async fn bursts(
    learner: &Learner,
    plan: &Arc<Plan>,
) -> Result<(Failures, Option<Said>), Stop> {
    let setup = &plan.burst;
    let backend = backend(plan).await;
    let base = serve(learner, plan, &backend, setup.max, UNREACHED_QUOTA, LONG_WINDOW).await?;
    let client = Client::new(base);
    let start = Instant::now();
    let (first, first_controls) =
        flood_and_probe(&client, &backend, &setup.first, setup.health).await;
    let failing = client.burst(setup.failing.iter().map(shown::request).collect()).await;
    let meanwhile = abandon(&client, &backend, &setup.abandoned, &setup.meanwhile).await;
    let (last, last_controls) = flood_and_probe(&client, &backend, &setup.last, setup.health).await;

    let mut failures = Failures::new();
    let context = format!("{} flooding", setup.shape);
    let mixed = "one client, many clients and clients without a key flooding together";
    let judge_flood =
        |exchanges: &[Exchange], controls: &[Exchange], context: &str, failures: &mut Failures| {
            let flood = Flood { exchanges, controls, backend: &backend, start, context };
            judge_flood(plan, setup.max, &flood, failures);
        };
    judge_flood(&first, &first_controls, &context, &mut failures);
    let first_full = !failures.contains_key(FULL);
    judge_failing(plan, setup.max, &failing, start, first_full, &mut failures);
    // A slot a failed call never gave back shows as a later flood with fewer served.
    let mut after = Failures::new();
    judge_flood(&last, &last_controls, mixed, &mut after);
    for (check, failure) in after {
        if check == FULL && !failures.contains_key(FULL) {
            let summary = format!(
                "after backend failures and callers that hung up, {}: a failed, timed-out or \
                 abandoned call kept its slot",
                failure.summary
            );
            note(&mut failures, FAILURES, Failure { summary, ..failure });
        } else {
            note(&mut failures, check, failure);
        }
    }
    let context = format!("{context}, callers that hung up, then {mixed}");
    judge_limit(&backend, setup.max, &context, &setup.abandoned, &mut failures);
    let answers: Vec<&Exchange> =
        first.iter().chain(&failing).chain(&meanwhile).chain(&last).collect();
    judge_leaks(plan, &backend, &answers, &mut failures);
    let floods: Vec<Exchange> = first.into_iter().chain(last).collect();
    Ok((failures, limit_said(&floods, setup.max)))
}

/// Sends `asks` and hangs up once the backend has every one of them, then waits until each
/// backend call has ended: dropped with its handler, or (run in a task of its own) at the
/// service's timeout. A slot counted by hand and given back on every path but a dropped
/// handler's is then missing from the next flood. Calls that run on after their callers left
/// keep their slots until they end: `meanwhile`, sent while they do, is refused (the backend
/// shows it if they were let past). What `meanwhile` got, if it was sent.
async fn abandon(
    client: &Client,
    backend: &Upstream,
    asks: &[Ask],
    meanwhile: &[Ask],
) -> Vec<Exchange> {
    let paths: Vec<String> = asks.iter().map(|ask| format!("/reports/{}", ask.id)).collect();
    let all = |seen: &[Seen], ended: bool| {
        paths.iter().all(|path| {
            seen.iter().any(|seen| seen.path() == path && (!ended || seen.ended.is_some()))
        })
    };
    tokio::select! {
        _ = join_all(asks.iter().map(|ask| client.send(shown::request(ask)))) => {}
        _ = backend.wait_until(PATIENCE, |seen| all(seen, false)) => {}
    }
    let dropped = backend.wait_until(DROPPED_WITHIN, |seen| all(seen, true)).await;
    let sent = match dropped {
        true => Vec::new(),
        false => client.burst(meanwhile.iter().map(shown::request).collect()).await,
    };
    backend.wait_until(PATIENCE, |seen| all(seen, true)).await;
    // A call run in a task of its own gives its slot back as the task ends, a moment after its
    // connection to the backend closes.
    tokio::time::sleep(SLOTS_SETTLE).await;
    sent
}

/// How soon after its caller hung up a call dropped with its handler has ended at the backend,
/// on a busy machine too; past it, calls still under way run on without their callers (and a
/// call dropped later still gives its slot back only as its connection closes).
const DROPPED_WITHIN: Duration = Duration::from_millis(150);

/// How long after the abandoned calls' connections closed the next flood goes: time for a task
/// that held a slot to end, on a busy machine too.
const SLOTS_SETTLE: Duration = Duration::from_millis(100);

/// How long after the first backend call of a flood the health probes go: the flood's other
/// calls have taken their slots by then.
const PROBE_AFTER: Duration = Duration::from_millis(20);

/// How many `GET /health/live` go out in each flood, released with it: what an answer at once
/// takes while the server is as busy as the flood makes it, for the refusals to be timed against.
const CONTROLS: usize = 3;

/// `asks` released together, with [`CONTROLS`] health requests among them (returned apart), and
/// `probes` health probes sent in the middle of the flood, while its backend calls are under way.
async fn flood_and_probe(
    client: &Client,
    backend: &Upstream,
    asks: &[Ask],
    probes: usize,
) -> (Vec<Exchange>, Vec<Exchange>) {
    let before = backend.asked();
    let mut requests: Vec<Request> = asks.iter().map(shown::request).collect();
    requests.extend((0..CONTROLS).map(|_| Request::get("/health/live")));
    let flood = client.burst(requests);
    let probing = async {
        backend.wait_until(PATIENCE, |seen| seen.len() > before).await;
        tokio::time::sleep(PROBE_AFTER).await;
        join_all((0..probes).map(|_| client.get("/health/live"))).await
    };
    let (mut exchanges, probed) = tokio::join!(flood, probing);
    let controls = exchanges.split_off(asks.len());
    exchanges.extend(probed);
    (exchanges, controls)
}

/// A stream of requests, each at its time, three times faster than the backend serves them.
pub(super) async fn stream(
    learner: &Learner,
    plan: &Arc<Plan>,
) -> Result<(Failures, Option<Said>), Stop> {
    let setup = &plan.stream;
    let backend = backend(plan).await;
    let base = serve(learner, plan, &backend, setup.max, UNREACHED_QUOTA, LONG_WINDOW).await?;
    let client = Client::new(base);
    let start = Instant::now() + Duration::from_millis(20);
    let exchanges: Vec<Exchange> = join_all(setup.asks.iter().map(|(offset, ask)| {
        let client = &client;
        async move {
            tokio::time::sleep_until((start + *offset).into()).await;
            client.send(shown::request(ask)).await
        }
    }))
    .await;
    let mut failures = Failures::new();
    let context = "a stream of requests, three times faster than the backend";
    judge_refusals(plan, &exchanges, &backend, start, context, None, &mut failures);
    judge_goodput(plan, &exchanges, start, context, &mut failures);
    // A request refused while the judge counts fewer calls under way than the limit.
    let served: Vec<&Exchange> = exchanges.iter().filter(|one| served(plan, one)).collect();
    let mut rows = Vec::new();
    let mut first_wrong = None;
    for exchange in exchanges.iter().filter(|one| one.status() == Some(503)) {
        let under_way = served
            .iter()
            .filter(|other| {
                other.sent <= exchange.sent + REORDER && other.received >= exchange.sent
            })
            .count();
        let wrong = under_way < setup.max;
        if wrong && first_wrong.is_none() {
            first_wrong = Some(under_way);
        }
        rows.push(row(exchange, start, !wrong));
    }
    if let Some(under_way) = first_wrong {
        note(
            &mut failures,
            FULL,
            Failure::of(format!(
                "in {context}, a request was refused while at most {under_way} of the \
                 {} allowed calls were under way",
                setup.max
            ))
            .with(table(rows)),
        );
    }
    judge_limit(&backend, setup.max, context, &[], &mut failures);
    let answers: Vec<&Exchange> = exchanges.iter().collect();
    judge_leaks(plan, &backend, &answers, &mut failures);
    Ok((failures, limit_said(&exchanges, setup.max)))
}

/// A flood as played: its exchanges (health probes among them), the health requests released
/// with it, and where and when it went.
struct Flood<'a> {
    exchanges: &'a [Exchange],
    controls: &'a [Exchange],
    backend: &'a Upstream,
    start: Instant,
    context: &'a str,
}

/// A flood released together: `max` served, the rest refused at once, health untouched.
fn judge_flood(plan: &Plan, max: usize, flood: &Flood<'_>, failures: &mut Failures) {
    let Flood { exchanges, controls, backend, start, context } = *flood;
    let (health, reports): (Vec<&Exchange>, Vec<&Exchange>) =
        exchanges.iter().partition(|one| one.request.path == "/health/live");
    let reports: Vec<Exchange> = reports.into_iter().cloned().collect();
    let served_count = reports.iter().filter(|one| served(plan, one)).count();
    // A request the backend was called for was let in, whatever became of its answer: on a
    // machine that stalls the learner's process, its own timeout can end a call that the
    // backend answered in time.
    let called: HashSet<String> =
        backend.seen().iter().map(|seen| seen.path().to_string()).collect();
    let let_in = reports
        .iter()
        .filter(|one| served(plan, one) || called.contains(&one.request.path))
        .count();
    if let_in < max {
        let rows = reports.iter().map(|one| row(one, start, served(plan, one))).collect();
        note(
            failures,
            FULL,
            Failure::of(format!(
                "{context}: {served_count} of {} requests released together were served, with \
                 max_in_flight {max} and no call under way before them",
                reports.len()
            ))
            .with(table(rows)),
        );
    }
    // A request that waited for a slot says more than a count: judged first.
    let control = median(controls.iter().filter(|one| healthy(one)).map(Exchange::took));
    judge_refusals(plan, &reports, backend, start, context, control, failures);
    if served_count > max {
        let rows = reports.iter().map(|one| row(one, start, !served(plan, one))).collect();
        note(
            failures,
            REFUSED,
            Failure::of(format!(
                "{context}: {served_count} of {} requests released together were served, with \
                 max_in_flight {max}: {} beyond the limit were not refused",
                reports.len(),
                served_count - max
            ))
            .with(table(rows)),
        );
    }
    judge_goodput(plan, &reports, start, context, failures);
    let slow_or_refused: Vec<&&Exchange> = health.iter().filter(|one| !healthy(one)).collect();
    if let Some(first) = slow_or_refused.first() {
        let rows = health.iter().map(|one| row(one, start, healthy(one))).collect();
        note(
            failures,
            HEALTH,
            Failure::of(format!(
                "GET /health/live, sent while a flood's backend calls were under way, answered {} after {}: it \
                 should answer 2xx at once (within {}), whatever the load",
                first.status().map_or_else(|| "nothing".to_string(), |status| status.to_string()),
                ms(first.took()),
                ms(AT_ONCE)
            ))
            .with(table(rows)),
        );
    }
}

/// Every request not served is refused at once, with 503, a Retry-After and a JSON error; and
/// no request waited for a slot before its backend call. `control`: what a health request
/// released with them took, when there was one.
fn judge_refusals(
    plan: &Plan,
    exchanges: &[Exchange],
    backend: &Upstream,
    start: Instant,
    context: &str,
    control: Option<Duration>,
    failures: &mut Failures,
) {
    let seen = backend.seen();
    let mut problems: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for exchange in exchanges {
        let problem = if served(plan, exchange) {
            waited_for_a_slot(exchange, &seen).map(|waited| {
                format!(
                    "{} was served, but its backend call began {} after it was sent: it waited \
                     for a slot instead of being refused",
                    exchange.request.line(),
                    ms(waited)
                )
            })
        } else {
            refusal_problem(exchange)
        };
        rows.push(row(exchange, start, problem.is_none()));
        problems.extend(problem);
    }
    if let Some(first) = problems.first() {
        note(failures, REFUSED, Failure::of(format!("{context}: {first}")).with(table(rows)));
        return;
    }
    // One refusal may be slow on a busy machine; all of them slow is a wait for a slot, however
    // short the wait (a queue bounded to 100 ms passes the bound on each).
    let refusals: Vec<&Exchange> =
        exchanges.iter().filter(|one| one.status() == Some(503)).collect();
    let refused_in = median(refusals.iter().map(|one| one.took()));
    if let (Some(refused_in), Some(control)) = (refused_in, control)
        && refusals.len() >= REFUSALS_AVERAGED
        && refused_in > control + BESIDE_CONTROL
    {
        note(
            failures,
            REFUSED,
            Failure::of(format!(
                "{context}: the {} refusals took {} (the median), and GET /health/live released \
                 with them {}: refused at once, a request takes no longer than a health check; \
                 this much longer, each waited for a slot first",
                refusals.len(),
                ms(refused_in),
                ms(control)
            ))
            .with(table(rows)),
        );
        return;
    }
    if refusals.len() >= REFUSALS_AVERAGED {
        let average =
            refusals.iter().map(|one| one.took()).sum::<Duration>() / refusals.len() as u32;
        if average > AT_ONCE_ON_AVERAGE {
            note(
                failures,
                REFUSED,
                Failure::of(format!(
                    "{context}: the {} refusals took {} on average: refused at once, they take a \
                     round trip (at most {} on average, on a busy machine); this long, each \
                     waited for a slot first",
                    refusals.len(),
                    ms(average),
                    ms(AT_ONCE_ON_AVERAGE)
                ))
                .with(table(rows)),
            );
        }
    }
}

/// How many refusals the average time of a refusal is judged over, at least.
const REFUSALS_AVERAGED: usize = 4;

/// How much longer than a health request released with them refusals may take (their median):
/// both are answered without a backend call, by the same busy server.
const BESIDE_CONTROL: Duration = Duration::from_millis(30);

/// The median of `times`, if there are any.
fn median(times: impl Iterator<Item = Duration>) -> Option<Duration> {
    let mut times: Vec<Duration> = times.collect();
    times.sort_unstable();
    times.get(times.len() / 2).copied()
}

/// How long after it was sent a served request's backend call began, when that is longer than
/// an answer at once takes.
fn waited_for_a_slot(exchange: &Exchange, seen: &[Seen]) -> Option<Duration> {
    let called = seen.iter().find(|one| one.path() == exchange.request.path)?;
    let waited = called.at.saturating_duration_since(exchange.sent);
    (waited > AT_ONCE).then_some(waited)
}

/// What is wrong with `exchange` as a refusal for overload, if anything.
pub(super) fn refusal_problem(exchange: &Exchange) -> Option<String> {
    let line = exchange.request.line();
    match exchange.status() {
        None => {
            return Some(format!(
                "{line} got no answer ({})",
                exchange.answer.clone().unwrap_err()
            ));
        }
        Some(429) => {
            return Some(format!(
                "{line} was refused with 429, which tells one client it is over its own quota; \
                 a service over capacity answers 503, whoever asks"
            ));
        }
        Some(503) => {}
        Some(status) => {
            return Some(format!(
                "{line} was answered {status}, not served and not refused with 503"
            ));
        }
    }
    if exchange.took() > AT_ONCE {
        return Some(format!(
            "{line} was refused after {}: a refusal is worth something only at once (within {})",
            ms(exchange.took()),
            ms(AT_ONCE)
        ));
    }
    match shown::retry_after_in_either_form(exchange) {
        Ok(1..=60) => {}
        Ok(seconds) => {
            return Some(format!(
                "{line} was refused with Retry-After: {seconds}: it should be 1 to 60 seconds"
            ));
        }
        Err(problem) => return Some(format!("{line} was refused with {problem}")),
    }
    shown::not_error(exchange, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
        .map(|problem| format!("{line} was refused with 503, but {problem}"))
}

/// The requests served took about as long as the backend, flood or not.
fn judge_goodput(
    plan: &Plan,
    exchanges: &[Exchange],
    start: Instant,
    context: &str,
    failures: &mut Failures,
) {
    let mut rows = Vec::new();
    let mut first_slow = None;
    for exchange in exchanges.iter().filter(|one| served(plan, one)) {
        let latency = shown::id_of(exchange).and_then(|id| plan.latency(id)).unwrap_or_default();
        let slow = exchange.took() > served_within(latency);
        if slow && first_slow.is_none() {
            first_slow = Some((exchange.request.line(), exchange.took(), latency));
        }
        let mut shown = row(exchange, start, !slow);
        shown.cells.push(ms(latency));
        rows.push(shown);
    }
    if let Some((line, took, latency)) = first_slow {
        let mut columns: Vec<String> = COLUMNS.iter().map(|name| name.to_string()).collect();
        columns.push("backend took".into());
        note(
            failures,
            GOODPUT,
            Failure::of(format!(
                "{context}: {line} was served after {}, though the backend takes {} for it \
                 (at most {} allowed)",
                ms(took),
                ms(latency),
                ms(served_within(latency))
            ))
            .with(Evidence::Table { columns, rows }),
        );
    }
}

/// As many calls as there are slots, some failing: each failure answered as lesson 4 says,
/// nothing refused.
fn judge_failing(
    plan: &Plan,
    max: usize,
    exchanges: &[Exchange],
    start: Instant,
    first_full: bool,
    failures: &mut Failures,
) {
    let mut wrong = None;
    let mut refused = 0;
    let mut rows = Vec::new();
    for exchange in exchanges {
        let id = shown::id_of(exchange).unwrap_or_default();
        let expected = match plan.reports.get(&id) {
            Some(Backend::Report { .. }) => None,
            Some(Backend::Fails | Backend::Resets) => Some((502, "BAD_GATEWAY")),
            _ => Some((504, "GATEWAY_TIMEOUT")),
        };
        let problem = match expected {
            _ if exchange.status() == Some(503) => {
                refused += 1;
                Some("refused".to_string())
            }
            None => (!served(plan, exchange)).then(|| "not served".to_string()),
            Some((status, code)) => {
                shown::not_error(exchange, StatusCode::from_u16(status).expect("a status"), code)
                    .map(|problem| {
                        format!("the backend {}: expected {status}, but {problem}", did(plan, id))
                    })
            }
        };
        rows.push(row(exchange, start, problem.is_none()));
        if let Some(problem) =
            problem.filter(|problem| problem != "refused" && problem != "not served")
        {
            wrong.get_or_insert(format!("{}: {problem}", exchange.request.line()));
        }
    }
    if refused > 0 && first_full {
        note(
            failures,
            FAILURES,
            Failure::of(format!(
                "{max} requests released together once the flood before them was answered, \
                 some of them failing at the backend: {refused} of them were refused, so \
                 {refused} slot(s) were taken by calls that had ended"
            ))
            .with(table(rows.clone())),
        );
    }
    if let Some(wrong) = wrong {
        note(failures, FAILURES, Failure::of(wrong).with(table(rows)));
    }
}

fn did(plan: &Plan, id: u32) -> &'static str {
    match plan.reports.get(&id) {
        Some(Backend::Fails) => "answered 500",
        Some(Backend::Resets) => "reset the connection",
        Some(Backend::Silent) => "never answered",
        _ => "answered",
    }
}

/// The backend never had more than `max` calls under way at once; `abandoned`, calls whose
/// callers hung up, are named if they were among them.
fn judge_limit(
    backend: &Upstream,
    max: usize,
    context: &str,
    abandoned: &[Ask],
    failures: &mut Failures,
) {
    let busiest = backend.most_at_once(LATE_FLOOR);
    if busiest.len() <= max {
        return;
    }
    let left =
        |seen: &Seen| abandoned.iter().any(|ask| seen.path() == format!("/reports/{}", ask.id));
    let ran_on = match busiest.iter().filter(|seen| left(seen)).count() {
        0 => String::new(),
        calls => format!(
            ", {calls} of them calls whose callers had hung up: a call that runs on without its \
             caller holds its slot until it ends"
        ),
    };
    let first = busiest.iter().map(|seen| seen.at).min().expect("a busiest moment has requests");
    let rows: Vec<Row> = busiest
        .iter()
        .map(|seen| Row {
            cells: vec![
                format!("{} {}", seen.method, seen.target),
                format!("+{}", ms(seen.at - first)),
                seen.ended
                    .map_or("(still under way)".into(), |ended| format!("+{}", ms(ended - first))),
            ],
            ok: true,
        })
        .collect();
    note(
        failures,
        LIMIT,
        Failure::of(format!(
            "{context}: the backend had {} calls under way at once{ran_on}; max_in_flight is \
             {max}",
            busiest.len()
        ))
        .with(Evidence::Table {
            columns: vec!["backend call".into(), "began".into(), "ended".into()],
            rows,
        }),
    );
}

/// Nothing of the backend's (its secret, its address) reaches a client.
fn judge_leaks(plan: &Plan, backend: &Upstream, answers: &[&Exchange], failures: &mut Failures) {
    let secrets =
        vec![plan.secret.clone(), backend.address.to_string(), backend.address.ip().to_string()];
    for exchange in answers {
        let Some(answer) = exchange.answer() else { continue };
        let mut text = answer.text();
        for (name, value) in &answer.headers {
            text.push_str(&format!("\n{name}: {}", String::from_utf8_lossy(value.as_bytes())));
        }
        if let Some(found) = secrets_in(&text, &secrets).first() {
            note(
                failures,
                NO_LEAK,
                Failure::of(format!(
                    "the answer to {} ({}) carries {found}, which is the backend's",
                    exchange.request.line(),
                    answer.status.as_u16()
                ))
                .with(Evidence::Text { title: "the answer".into(), body: text }),
            );
            return;
        }
    }
}

/// A table of exchanges, the rows that break the rule marked.
pub(super) fn table(rows: Vec<Row>) -> Evidence {
    Evidence::Table { columns: COLUMNS.iter().map(|name| name.to_string()).collect(), rows }
}

/// Whether a health probe was answered with success, at once.
pub(super) fn healthy(exchange: &Exchange) -> bool {
    exchange.status().is_some_and(|status| (200..300).contains(&status))
        && exchange.took() <= AT_ONCE
}

/// The longest a request the backend takes `latency` to answer may take, served under a flood.
fn served_within(latency: Duration) -> Duration {
    late(latency) + UNDER_FLOOD
}
