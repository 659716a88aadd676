//! Does anything of a failure reach the client? First this run's secrets, looked for in every
//! answer, raw or encoded; then differential comparison (`compare`): one request answered over
//! runs A, B and C (two instances each), whose failures differ in every detail; and a database
//! error against a panic. A request id or an instance id changes too, but not with the failure: it is
//! compared by shape, not taken for a leak. The request's own path and id may come back (RFC
//! 9457's `instance`): they are the client's, and are set aside before comparing.

use axum::http::HeaderValue;

use super::asked::{Asked, Kind};
use super::plan::{FAILING, Plan, RUNS};
use crate::judge::answer::Answer;
use crate::judge::compare::{self, Leak, Observed, given_away, leaks, leaks_in_part};
use crate::judge::{Evidence, Failure};

pub(super) fn find(plan: &Plan, asked: &[Asked]) -> Option<Failure> {
    secrets_found(plan, asked).or_else(|| compared(plan, asked))
}

/// Every secret of the run, with what it would give away.
fn secrets(plan: &Plan) -> Vec<(String, &'static str)> {
    let mut secrets = vec![("panicked".to_string(), "a panic report")];
    for served in &plan.served {
        let setup = &served.setup;
        secrets.push((served.token.clone(), "the request's bearer token"));
        secrets.push((served.session.clone(), "the request's session cookie"));
        secrets.push((setup.password.clone(), "the database password"));
        secrets.push((setup.host.clone(), "the database host"));
        let reasons = setup.failure.iter().flat_map(|failure| &failure.reasons);
        secrets.extend(reasons.map(|reason| (reason.clone(), "the database's own words")));
        for id in plan.order_ids.iter().chain(&plan.report_ids) {
            secrets.push((setup.query_id(*id), "a failed query's id"));
            secrets.push((setup.panic_key(*id), "a panic's message"));
        }
    }
    secrets
}

fn secrets_found(plan: &Plan, asked: &[Asked]) -> Option<Failure> {
    let answers: Vec<(String, &Answer)> = asked
        .iter()
        .filter_map(|asked| Some((named(plan, asked), asked.exchange.answer()?)))
        .collect();
    let found = given_away(&answers, &secrets(plan));
    if found.is_empty() {
        return None;
    }
    let kinds: Vec<&str> = found.iter().map(|(kind, _, _)| *kind).collect();
    let shown: Vec<String> = found
        .iter()
        .map(|(kind, first, more)| match more {
            0 => format!("{kind}: in {first}"),
            more => format!("{kind}: in {first}, and {more} more answer(s)"),
        })
        .collect();
    Some(
        Failure::of(format!("what the client received gives away {}", kinds.join("; ")))
            .with(Evidence::Text { title: "found, raw or encoded".into(), body: shown.join("\n") }),
    )
}

/// `GET /orders/123 (run B)`.
fn named(plan: &Plan, asked: &Asked) -> String {
    format!("{} ({})", asked.exchange.request.line(), plan.served[asked.served].name)
}

/// An answer as compared: without `Date` (the server's clock), its request's own path and id
/// written as `{path}` and `{id}`, and `Content-Length` the length of the body so written (the
/// body's JSON is compared by value: its length still shows what its layout hides).
fn normalised(asked: &Asked) -> Option<Answer> {
    let mut answer = asked.exchange.answer()?.clone();
    let path = &asked.exchange.request.path;
    let id = asked.id.to_string();
    let own = |text: &str| -> String {
        let text = text.replace(path.as_str(), "{path}");
        if asked.id == 0 { text } else { replace_number(&text, &id, "{id}") }
    };
    answer.headers.remove("date");
    for value in answer.headers.values_mut() {
        let replaced = own(&String::from_utf8_lossy(value.as_bytes()));
        *value = HeaderValue::from_str(&replaced).unwrap_or_else(|_| value.clone());
    }
    answer.body = own(&answer.text()).into_bytes();
    answer.headers.insert("content-length", HeaderValue::from(answer.body.len()));
    // The body is compared by value, which knows no order: its members' order is set beside it.
    let order = compare::member_order(&answer.text());
    if let Ok(order) = HeaderValue::from_str(&order) {
        answer.headers.insert("json-member-order", order);
    }
    Some(answer)
}

/// `text` with each `number` that stands alone (no letter or digit on either side) replaced.
fn replace_number(text: &str, number: &str, by: &str) -> String {
    let mut replaced = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(number) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + number.len()..].chars().next();
        let alone =
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric);
        replaced.push_str(&rest[..at]);
        replaced.push_str(if alone { by } else { number });
        rest = &rest[at + number.len()..];
    }
    replaced + rest
}

fn path(asked: &Asked) -> &str {
    &asked.exchange.request.path
}

/// An answer observed under its run (the failure's details), from one server of that run.
fn by_run<'a>(plan: &Plan, (asked, answer): &'a (&Asked, Answer)) -> Observed<'a> {
    Observed { cause: plan.served[asked.served].database, instance: asked.served, answer }
}

fn compared(plan: &Plan, asked: &[Asked]) -> Option<Failure> {
    let failing: Vec<(&Asked, Answer)> = asked
        .iter()
        .filter(|asked| FAILING.contains(&asked.served))
        .filter_map(|asked| Some((asked, normalised(asked)?)))
        .collect();
    let by_run = |pair| by_run(plan, pair);
    // One request at a time, over runs A, B and C: the cause is the failure's details.
    let mut paths: Vec<&str> = failing.iter().map(|(asked, _)| path(asked)).collect();
    paths.dedup();
    for line in paths {
        let observed: Vec<Observed<'_>> =
            failing.iter().filter(|(asked, _)| path(asked) == line).map(by_run).collect();
        if let Some(leak) = leaks(&observed).into_iter().next() {
            let summary = format!(
                "GET {line} answers differently over runs A, B and C, whose failures differ \
                 only in their details"
            );
            return Some(differs(summary, &leak, &RUNS));
        }
    }
    // Every request's database error together, by run, then every panic: an id that changes
    // from answer to answer may still keep a part of its own for each run's failure.
    for (kind, what) in [(Kind::Failed, "database errors"), (Kind::Panicked, "panics")] {
        let by_kind: Vec<Observed<'_>> =
            failing.iter().filter(|(asked, _)| asked.kind == kind).map(by_run).collect();
        if let Some(leak) = leaks_in_part(&by_kind).into_iter().next() {
            let summary = format!(
                "the {what} of each run keep a part of their answers in common, one of \
                 their own, where the runs' failures differ only in their details"
            );
            return Some(differs(summary, &leak, &RUNS));
        }
    }
    // A database error against a panic, on every failing server.
    let observed: Vec<Observed<'_>> = failing
        .iter()
        .filter(|(asked, _)| matches!(asked.kind, Kind::Failed | Kind::Panicked))
        .map(|(asked, answer)| Observed {
            cause: usize::from(asked.kind == Kind::Panicked),
            instance: asked.served,
            answer,
        })
        .collect();
    let leak = leaks(&observed).into_iter().chain(leaks_in_part(&observed)).next()?;
    Some(differs(
        "a database error (GET /orders/{id}) and a panic (GET /reports/{id}) answer differently: \
         a client can tell one failure from another"
            .into(),
        &leak,
        &["database error", "panic"],
    ))
}

fn differs(summary: String, leak: &Leak, causes: &[&str]) -> Failure {
    let compared =
        if leak.by_shape { " (by shape: it changes from request to request)" } else { "" };
    let rows: Vec<String> =
        causes.iter().zip(&leak.values).map(|(cause, value)| format!("{cause}: {value}")).collect();
    Failure::of(summary).with(Evidence::Text {
        title: format!("{}{compared}", leak.place),
        body: format!(
            "{}\n(the Date header is left out; the request's own path and id show as {{path}} and {{id}})",
            rows.join("\n")
        ),
    })
}
