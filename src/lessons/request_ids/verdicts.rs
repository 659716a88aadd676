//! Each check of the request-ids lesson, decided from one run: the answers, the shipping
//! service's requests and the logs, joined on the id each answer carries.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::http::header::{ALLOW, CONTENT_LENGTH, HeaderName};
use serde_json::Value;

use super::plan::{Incoming, Instance, NOT_A_NUMBER, Target, well_formed};
use super::{Asked, REQUEST_ID, Run};
use crate::judge::answer::Answer;
use crate::judge::compare::{closest_pair, secrets_in, varying_bits};
use crate::judge::log::{is_panic_report, part_of, shortened, without_colours};
use crate::judge::{Evidence, Failure, Row};

/// An id that varies in fewer bits than this from request to request can be guessed.
const UNGUESSABLE_BITS: f64 = 48.0;

/// Two fresh ids this long or longer that differ in this many places or fewer are one step
/// apart: a ULID counted up within a millisecond differs from the one before in its last place
/// (31 times in 32). Two UUIDs v4 differ in one of their 30 random hex places about once in
/// 10³⁴ pairs; two v7s of one millisecond, whose 8 random hex places would all have to agree,
/// once in 4 × 10⁹.
const NEIGHBOURS_FROM: usize = 16;
const NEIGHBOURS_APART: usize = 1;

/// The one `x-request-id` an answer carries, if it carries exactly one.
fn id_of(asked: &Asked<'_>) -> Option<String> {
    let answer = asked.exchange.answer()?;
    let values: Vec<_> = answer.headers.get_all(REQUEST_ID).iter().collect();
    match values[..] {
        [value] => Some(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        _ => None,
    }
}

/// Whether `c` may be part of an id.
fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The places where `id` stands in `text` as a whole word (no id character on either side): a
/// short id such as `5` is in every timestamp, but as a word only where it was written.
fn as_word(text: &str, id: &str) -> Vec<usize> {
    if id.is_empty() {
        return Vec::new();
    }
    text.match_indices(id)
        .filter(|(at, _)| {
            let before = text[..*at].chars().next_back();
            let after = text[at + id.len()..].chars().next();
            !before.is_some_and(id_char) && !after.is_some_and(id_char)
        })
        .map(|(at, _)| at)
        .collect()
}

/// `text` without the words `id`.
fn without_word(text: &str, id: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut from = 0;
    for at in as_word(text, id) {
        kept.push_str(&text[from..at]);
        from = at + id.len();
    }
    kept.push_str(&text[from..]);
    kept
}

/// The id to join on: the header's, or else the one the body carries.
fn joined_id(asked: &Asked<'_>) -> Option<String> {
    id_of(asked).or_else(|| {
        let body = asked.exchange.answer()?.json()?;
        body["request_id"].as_str().filter(|id| !id.is_empty()).map(String::from)
    })
}

fn instance_name(instance: Instance) -> &'static str {
    match instance {
        Instance::Healthy => "A",
        Instance::Failing => "A, failing database",
        Instance::Down => "A, database down",
        Instance::Twin => "B, same process",
        Instance::Elsewhere => "C, another process",
    }
}

/// How a report shows a value that may be long or hold control characters.
fn shown(value: &str) -> String {
    if value.is_empty() {
        return "(empty)".into();
    }
    let escaped = value.escape_debug().to_string();
    match escaped.char_indices().nth(60) {
        Some((cut, _)) => format!("{}… ({} bytes)", &escaped[..cut], value.len()),
        None => escaped,
    }
}

fn incoming(asked: &Asked<'_>) -> String {
    match &asked.ask.incoming {
        Incoming::None => "(none)".into(),
        Incoming::Good(value) => shown(value),
        Incoming::Bad { value, why, .. } => format!("{} ({why})", shown(value)),
    }
}

fn row(asked: &Asked<'_>, what: String, ok: bool) -> Row {
    Row {
        cells: vec![
            format!("{} on {}", asked.ask.line(), instance_name(asked.ask.instance)),
            incoming(asked),
            asked.exchange.status().map_or_else(|| "no answer".into(), |status| status.to_string()),
            what,
        ],
        ok,
    }
}

fn table(rows: Vec<Row>, last: &str) -> Evidence {
    let columns = ["request", "x-request-id sent", "status", last];
    Evidence::Table { columns: columns.iter().map(|name| name.to_string()).collect(), rows }
}

/// A failure whose table shows only the wrong rows (and says how many were right).
fn failed(summary: String, rows: Vec<Row>, last: &str) -> Option<Failure> {
    let wrong: Vec<Row> = rows.into_iter().filter(|row| !row.ok).collect();
    let first = wrong.first()?;
    let summary = format!("{summary}; first, {}: {}", first.cells[0], first.cells[3]);
    Some(Failure::of(summary).with(table(wrong, last)))
}

/// The status each request should get, and for a 200 that it carries the order and its shipping.
pub(super) fn served(run: &Run<'_>) -> Option<Failure> {
    let mut rows = Vec::new();
    for asked in &run.asked {
        let expected = asked.ask.expected();
        let status = asked.exchange.status();
        let body = asked.exchange.answer().and_then(|answer| answer.json()).unwrap_or_default();
        let ok = status.is_some_and(|status| expected.contains(&status))
            && (status != Some(405) || allows_get(asked))
            && (expected != [200] || {
                let order = asked.ask.order().unwrap_or_default();
                let shipping = run.plan.shipping.get(&order).cloned().flatten();
                body["id"] == order
                    && Some(body["shipping"].as_str().unwrap_or_default().to_string()) == shipping
            });
        let what = if expected == [200] {
            "200 with the order and its shipping".into()
        } else if expected.contains(&405) {
            "405 with an Allow header naming GET, or 404".into()
        } else {
            expected.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
        };
        rows.push(row(asked, what, ok));
    }
    let wrong = rows.iter().filter(|row| !row.ok).count();
    failed(
        format!("{wrong} of {} requests did not get the answer the exercise asks for", rows.len()),
        rows,
        "expected",
    )
}

/// Whether the answer names GET in its `Allow` header: RFC 9110 wants the methods a resource
/// takes in every 405, and a 405 remade as problem details must keep them.
fn allows_get(asked: &Asked) -> bool {
    asked.exchange.answer().is_some_and(|answer| {
        answer.headers.get_all(ALLOW).iter().any(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .split(',')
                .any(|method| method.trim() == "GET")
        })
    })
}

pub(super) fn header(run: &Run<'_>) -> Option<Failure> {
    let mut rows = Vec::new();
    for asked in &run.asked {
        let Some(answer) = asked.exchange.answer() else { continue };
        let values: Vec<String> = answer
            .headers
            .get_all(REQUEST_ID)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        let ok = matches!(&values[..], [one] if well_formed(one));
        let what = match &values[..] {
            [] => "(none)".to_string(),
            [one] => shown(one),
            many => format!("{} of them", many.len()),
        };
        rows.push(row(asked, what, ok));
    }
    failed(
        "an answer without exactly one well-formed x-request-id (1 to 128 of A-Z a-z 0-9 . _ -)"
            .into(),
        rows,
        "x-request-id answered",
    )
}

pub(super) fn kept(run: &Run<'_>) -> Option<Failure> {
    let rows: Vec<Row> = run
        .asked
        .iter()
        .filter_map(|asked| {
            let Incoming::Good(sent) = &asked.ask.incoming else { return None };
            let answered = id_of(asked);
            Some(row(
                asked,
                answered.as_deref().map_or("(none)".into(), shown),
                answered.as_ref() == Some(sent),
            ))
        })
        .collect();
    failed(
        "a well-formed incoming x-request-id did not come back unchanged: the caller's id is \
         the one its own logs know"
            .into(),
        rows,
        "x-request-id answered",
    )
}

pub(super) fn replaced(run: &Run<'_>) -> Option<Failure> {
    let mut rows = Vec::new();
    let mut reached: Option<String> = None;
    for asked in &run.asked {
        let Incoming::Bad { value, token, .. } = &asked.ask.incoming else { continue };
        let answered = id_of(asked);
        let fresh = answered.as_ref().is_some_and(|id| well_formed(id) && id != value);
        let mut places = Vec::new();
        if !token.is_empty() {
            if let Some(answer) = asked.exchange.answer() {
                if answer
                    .headers
                    .iter()
                    .any(|(_, v)| String::from_utf8_lossy(v.as_bytes()).contains(token.as_str()))
                {
                    places.push("a response header");
                }
                if answer.text().contains(token.as_str()) {
                    places.push("the body");
                }
            }
            if asked
                .upstream
                .as_ref()
                .is_some_and(|seen| seen.headers.iter().any(|(_, v)| v.contains(token.as_str())))
            {
                places.push("the shipping service's request");
            }
            if run.log.contains(token.as_str()) || run.other_log.contains(token.as_str()) {
                places.push("the log");
                let line = run
                    .log
                    .lines()
                    .chain(run.other_log.lines())
                    .find(|line| line.contains(token.as_str()));
                reached.get_or_insert_with(|| shortened(line.unwrap_or_default()));
            }
        }
        let what = if !fresh {
            answered
                .as_deref()
                .map_or("(none)".into(), |id| format!("{} (not a fresh id)", shown(id)))
        } else if places.is_empty() {
            shown(answered.as_deref().unwrap_or_default())
        } else {
            format!("reached {}", places.join(", "))
        };
        rows.push(row(asked, what, fresh && places.is_empty()));
    }
    let mut failure = failed(
        "a malformed incoming x-request-id was not replaced by a fresh one, or reached a header, \
         a body, the shipping service or a log line"
            .into(),
        rows,
        "what became of it",
    )?;
    if let Some(line) = reached {
        failure =
            failure.with(Evidence::Text { title: "a log line it reached".into(), body: line });
    }
    Some(failure)
}

/// What keeps an error answer from being problem details carrying `id`.
fn not_problem(asked: &Asked<'_>, id: &str, ids: &HashMap<String, String>) -> Option<String> {
    let answer = asked.exchange.answer()?;
    if answer.media_type().as_deref() != Some("application/problem+json") {
        let content_type =
            answer.header("content-type").and_then(|value| value.to_str().ok()).unwrap_or("(none)");
        return Some(format!("Content-Type: {content_type}"));
    }
    let body = answer.json().unwrap_or(Value::Null);
    for member in ["type", "title"] {
        if !body[member].is_string() {
            return Some(format!("no \"{member}\" string"));
        }
    }
    if body["status"] != answer.status.as_u16() {
        return Some(format!("\"status\": {} for a {}", body["status"], answer.status.as_u16()));
    }
    // RFC 9457 4.2.1: about:blank means the status alone, so its title is the status's phrase
    // (localised only on a client's asking, and the checks ask for no language).
    let phrase = answer.status.canonical_reason().unwrap_or_default();
    let title = body["title"].as_str().unwrap_or_default();
    if body["type"] == "about:blank" && !title.trim().eq_ignore_ascii_case(phrase) {
        return Some(format!(
            "\"title\": \"{}\" with type about:blank, whose title is the status's own \
             phrase ({phrase})",
            shown(title)
        ));
    }
    let in_instance =
        body["instance"].as_str().is_some_and(|instance| !as_word(instance, id).is_empty());
    if !id.is_empty() && (body["request_id"] == id || in_instance) {
        return None;
    }
    let carried = body["request_id"].as_str().or(body["instance"].as_str()).unwrap_or_default();
    Some(match ids.get(carried) {
        _ if id.is_empty() && !carried.is_empty() => return None,
        _ if id.is_empty() => "no id: neither an x-request-id nor a \"request_id\"".into(),
        Some(other) => {
            format!("the body carries {}, the id of another request ({other})", shown(carried))
        }
        None if carried.is_empty() => "no \"request_id\" (nor the id in \"instance\")".into(),
        None => format!("the body carries {}, not the header's {}", shown(carried), shown(id)),
    })
}

/// Every answer's id, and the request it belongs to.
fn ids(run: &Run<'_>) -> HashMap<String, String> {
    run.asked.iter().filter_map(|asked| Some((id_of(asked)?, asked.ask.line()))).collect()
}

pub(super) fn problem(run: &Run<'_>) -> Option<Failure> {
    let ids = ids(run);
    let mut rows = Vec::new();
    for asked in &run.asked {
        if asked.exchange.status().is_none_or(|status| status < 400) {
            continue;
        }
        let id = id_of(asked).unwrap_or_default();
        let problem = not_problem(asked, &id, &ids);
        rows.push(row(
            asked,
            problem.clone().unwrap_or_else(|| "problem details".into()),
            problem.is_none(),
        ));
    }
    failed(
        "an error that is not RFC 9457 problem details (application/problem+json with type, \
         title, status) carrying the header's id in \"request_id\" or \"instance\""
            .into(),
        rows,
        "what is wrong",
    )
}

pub(super) fn no_leak(run: &Run<'_>) -> Option<Failure> {
    let address = run.shipping.address;
    let database = &run.plan.database;
    let mut secrets = vec![
        database.host.split(':').next().unwrap_or_default().to_string(),
        database.password.clone(),
        run.plan.secret.clone(),
        run.plan.reason_token.clone(),
        address.to_string(),
        address.ip().to_string(),
    ];
    secrets.extend(
        run.asked
            .iter()
            .filter_map(|asked| asked.ask.order())
            .map(|order| run.plan.query_id(order)),
    );
    for asked in &run.asked {
        let Some(answer) = asked.exchange.answer().filter(|answer| answer.status.as_u16() >= 400)
        else {
            continue;
        };
        // axum's rejection quotes what did not parse: in `detail`, the cause of the 400.
        let detail = answer.json().map(|body| body["detail"].to_string()).unwrap_or_default();
        if detail.contains(NOT_A_NUMBER) {
            return Some(
                Failure::of(format!(
                    "the {} answer to {} quotes the path in its \"detail\" ({}): the cause \
                     belongs on the log line with the id, not in the answer",
                    answer.status.as_u16(),
                    asked.ask.line(),
                    shown(&detail)
                ))
                .with(Evidence::Text { title: "the answer".into(), body: answer.text() }),
            );
        }
        let text = whole(answer, |_| true);
        if asked.ask.shipping_fails_with_a_status()
            && let Some(found) = upstream_status_in(answer, run.plan.failure_status)
        {
            return Some(
                Failure::of(format!(
                    "the {} answer to {} carries {found}, the status the shipping service failed \
                     with: the 502 says that it failed, the log line says how",
                    answer.status.as_u16(),
                    asked.ask.line()
                ))
                .with(Evidence::Text { title: "the answer".into(), body: text }),
            );
        }
        if let Some(found) = secrets_in(&text, &secrets).first() {
            return Some(
                Failure::of(format!(
                    "the {} answer to {} carries {found}: the cause belongs on the log line \
                     with the id, not in the answer",
                    answer.status.as_u16(),
                    asked.ask.line()
                ))
                .with(Evidence::Text { title: "the answer".into(), body: text }),
            );
        }
    }
    None
}

/// `answer`'s body, then each of its headers that `keep` keeps, a line each.
fn whole(answer: &Answer, keep: impl Fn(&HeaderName) -> bool) -> String {
    let mut text = answer.text();
    for (name, value) in answer.headers.iter().filter(|(name, _)| keep(name)) {
        text.push_str(&format!("\n{name}: {}", String::from_utf8_lossy(value.as_bytes())));
    }
    text
}

/// `status` as a number of its own in `answer`'s body or headers (not a piece of a longer word,
/// as in an id's hex, nor its `content-length`, which a body of as many bytes has), or its
/// reason phrase, as found.
fn upstream_status_in(answer: &Answer, status: u16) -> Option<String> {
    let text = whole(answer, |name| name != CONTENT_LENGTH);
    let code = status.to_string();
    let alone = text.split(|c: char| !c.is_ascii_alphanumeric()).any(|word| word == code);
    let phrase = StatusCode::from_u16(status).ok().and_then(|status| status.canonical_reason());
    let lower = text.to_lowercase();
    match phrase {
        Some(phrase) if lower.contains(&phrase.to_lowercase()) => Some(format!("\"{phrase}\"")),
        _ => alone.then(|| format!("\"{code}\"")),
    }
}

/// The level a log line was written at: the first level's name in it, as a word, which is
/// where every formatter puts it (`tracing`'s text after the time, JSON's `"level":"ERROR"`),
/// before any message that might name another.
fn level(line: &str) -> Option<&'static str> {
    let levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
    without_colours(line)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|word| levels.into_iter().find(|level| *level == word))
}

fn at_error_level(line: &str) -> bool {
    level(line) == Some("ERROR")
}

pub(super) fn logged(run: &Run<'_>) -> Option<Failure> {
    let password = [run.plan.database.password.clone()];
    let leaked = run.log.lines().chain(run.other_log.lines()).find(|line| {
        !is_panic_report(line)
            && (!secrets_in(line, &password).is_empty() || part_of(line, &password[0]))
    });
    if let Some(line) = leaked {
        return Some(
            Failure::new(
                "a log line carries the database's password, or eight characters of it in a row: \
                 the error's text (its Display and its Debug) quotes the connection string it was \
                 made on, and a mask made by pattern misses the password it did not foresee",
                "Logs are read by many people and kept for long: a credential that reaches one \
                 has leaked (lesson 1). The cause the team needs is the query id, the host and \
                 the reason, which the error gives one by one.",
            )
            .with(Evidence::Text { title: "the line".into(), body: shortened(line) }),
        );
    }
    // An id on more than one answer cannot lead to one line: `unique` says so.
    let mut answers_of: HashMap<String, usize> = HashMap::new();
    for id in run.asked.iter().filter_map(joined_id) {
        *answers_of.entry(id).or_default() += 1;
    }
    let host = run.plan.database.host.split(':').next().unwrap_or_default();
    let reason = run.plan.reason_token.as_str();
    let failure_status = run.plan.failure_status.to_string();
    let shipping_cause = format!("the shipping service's {failure_status}");
    let mut rows = Vec::new();
    for asked in run.asked.iter().filter(|asked| asked.ask.fails()) {
        let Some(id) = joined_id(asked) else {
            rows.push(row(asked, "the answer carries no id to look for".into(), false));
            continue;
        };
        if answers_of.get(&id).is_some_and(|count| *count > 1) {
            continue;
        }
        let log = if asked.ask.instance == Instance::Elsewhere { &run.other_log } else { &run.log };
        let query_id = asked.ask.order().map(|order| run.plan.query_id(order)).unwrap_or_default();
        // The database error is its query id, its host and its reason, each needed to act on it.
        let (markers, cause) = if asked.ask.database_fails() {
            (
                vec![query_id.as_str(), host, reason],
                "the database error's query id, host and reason",
            )
        } else if asked.ask.shipping_unanswered() {
            // Whatever words a transport error comes in (a reset, a timeout, a body that does
            // not parse), its line is the one line with the id at WARN or above (an access line
            // at INFO is no such line).
            let cause = match asked.ask.target {
                Target::ShippingGarbled(_) => {
                    "its failure (the shipping service's 200 was no shipment)"
                }
                _ => "its failure (the shipping service did not answer)",
            };
            (Vec::new(), cause)
        } else {
            (vec![failure_status.as_str()], shipping_cause.as_str())
        };
        let order = asked.ask.order().map(|order| order.to_string()).unwrap_or_default();
        let with_id: Vec<&str> = log
            .lines()
            .filter(|line| !is_panic_report(line) && !as_word(line, &id).is_empty())
            .collect();
        let with_cause = |line: &&&str| {
            let rest = without_word(&without_word(line, &id), &order);
            if markers.is_empty() {
                matches!(level(line), Some("WARN" | "ERROR"))
            } else {
                markers.iter().all(|marker| rest.contains(marker))
            }
        };
        let lines: Vec<&&str> = with_id.iter().filter(with_cause).collect();
        // Another ERROR line for the same failure (a layer's "response failed") buries the
        // cause as a second line with it would; lines at other levels (an access log) do not.
        let other_errors =
            with_id.iter().filter(|line| !with_cause(line) && at_error_level(line)).count();
        let what = match (&lines[..], other_errors) {
            ([line], 0) if at_error_level(line) => "one line".to_string(),
            ([line], _) if !at_error_level(line) => format!(
                "the line with the id and {cause} is at {}, not ERROR",
                level(line).unwrap_or("no level")
            ),
            ([], _) => format!("no line has the id and {cause}"),
            ([_], more) => {
                format!("one line has the id and {cause}, and {more} more ERROR line(s) the id")
            }
            (many, _) => format!("{} lines have the id and {cause}", many.len()),
        };
        let one = lines.len() == 1 && at_error_level(lines[0]) && other_errors == 0;
        rows.push(row(asked, what, one));
    }
    let mut failure = failed(
        "a failed request without exactly one log line carrying its id and its cause (the \
         database error's text, the status the shipping service answered, or that it gave no usable \
         answer)"
            .into(),
        rows,
        "its log lines",
    )?;
    failure = failure.with(Evidence::Text {
        title: "server log, last lines".into(),
        body: crate::judge::log::tail(&run.log, 10),
    });
    Some(failure)
}

/// `traceparent` as `(trace id, parent id)`, when it is well-formed.
fn traceparent(value: &str) -> Option<(&str, &str)> {
    let hex = |part: &str, length: usize| {
        part.len() == length
            && part.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
            && part.bytes().any(|byte| byte != b'0')
    };
    let parts: Vec<&str> = value.trim().split('-').collect();
    match parts[..] {
        [version, trace, parent, flags]
            if version.len() == 2
                && version != "ff"
                && hex(trace, 32)
                && hex(parent, 16)
                && flags.len() == 2 =>
        {
            Some((trace, parent))
        }
        _ => None,
    }
}

pub(super) fn upstream(run: &Run<'_>) -> Option<Failure> {
    let ids = ids(run);
    // Each call is a span of its own: a parent id made once (per process) claims them all.
    // Counted over the calls the shipping service saw, once each: two requests for one order
    // are told apart by nothing but their ids, so an ask's call is found by its path alone.
    let seen = run.shipping.seen();
    let mut calls_of_parent: HashMap<&str, usize> = HashMap::new();
    for call in &seen {
        if let Some((_, parent)) = call.header("traceparent").and_then(traceparent) {
            *calls_of_parent.entry(parent).or_default() += 1;
        }
    }
    let mut rows = Vec::new();
    for asked in &run.asked {
        if asked.ask.database_fails()
            || !(matches!(asked.ask.target, Target::Shipped(_)) || asked.ask.shipping_fails())
        {
            continue;
        }
        let Some(id) = joined_id(asked) else {
            rows.push(row(asked, "the answer carries no id to compare with".into(), false));
            continue;
        };
        let Some(seen) = &asked.upstream else {
            rows.push(row(asked, "the shipping service was not asked".into(), false));
            continue;
        };
        let sent = seen
            .headers
            .iter()
            .filter(|(name, _)| name == REQUEST_ID)
            .map(|(_, value)| value.as_str())
            .collect::<Vec<_>>();
        let mut problem = match sent[..] {
            [one] if one == id => None,
            [] => Some("no x-request-id".to_string()),
            [one] => Some(match ids.get(one) {
                Some(other) => format!("{}, the id of another request ({other})", shown(one)),
                None => format!("{}, not the answer's {}", shown(one), shown(&id)),
            }),
            _ => Some("more than one x-request-id".into()),
        };
        if problem.is_none()
            && let Some(value) = seen.header("traceparent")
        {
            problem = match (traceparent(value), &asked.ask.traceparent) {
                (None, _) => Some(format!("traceparent: {} is not well-formed", shown(value))),
                (Some((trace, _)), Some((incoming, _))) if trace != incoming => {
                    Some("a traceparent with another trace id than the caller's".into())
                }
                (Some((_, parent)), Some((_, incoming))) if parent == incoming => Some(
                    "the caller's traceparent as it came: the parent id must be this service's own"
                        .into(),
                ),
                (Some((_, parent)), _) if calls_of_parent.get(parent).is_some_and(|n| *n > 1) => {
                    Some(format!(
                        "a traceparent whose parent id ({parent}) another call has too: each \
                         call's parent is a span of its own"
                    ))
                }
                _ => None,
            };
        }
        rows.push(row(asked, problem.clone().unwrap_or_else(|| shown(&id)), problem.is_none()));
    }
    failed(
        "the shipping service was not asked with the request's own id in x-request-id".into(),
        rows,
        "what the shipping service got",
    )
}

pub(super) fn unique(run: &Run<'_>) -> Option<Failure> {
    let fresh: Vec<(&Asked<'_>, String)> = run
        .asked
        .iter()
        .filter(|asked| !matches!(asked.ask.incoming, Incoming::Good(_)))
        .filter_map(|asked| Some((asked, id_of(asked).filter(|id| well_formed(id))?)))
        .collect();
    if fresh.len() < 10 {
        return Some(Failure::of(format!(
            "only {} of the requests without a usable id got a fresh one, too few to tell \
             whether they are unique",
            fresh.len()
        )));
    }
    let mut first_of: HashMap<&str, &Asked<'_>> = HashMap::new();
    let mut rows = Vec::new();
    // Whether a repeat came from the same malformed id twice: a replacement made from it.
    let mut from_the_rejected = false;
    for (asked, id) in &fresh {
        if let Some(first) = first_of.get(id.as_str()) {
            rows.push(row(first, shown(id), false));
            rows.push(row(asked, shown(id), false));
            from_the_rejected |= matches!(
                (&first.ask.incoming, &asked.ask.incoming),
                (Incoming::Bad { value: one, .. }, Incoming::Bad { value: other, .. }) if one == other
            );
        } else {
            first_of.insert(id, asked);
        }
    }
    if !rows.is_empty() {
        let made_from = if from_the_rejected {
            "; the same malformed id, sent twice, got the same one: a replacement made from the \
             rejected id is no fresh id"
        } else {
            ""
        };
        return Some(
            Failure::of(format!(
                "two requests got the same fresh id ({} repeats among {} fresh ids, across \
                 two instances in one process and one in another){made_from}",
                rows.len() / 2,
                fresh.len()
            ))
            .with(table(rows, "fresh id")),
        );
    }
    let ids: Vec<String> = fresh.iter().map(|(_, id)| id.clone()).collect();
    if let Some((one, other, apart)) =
        closest_pair(&ids, NEIGHBOURS_FROM).filter(|(_, _, apart)| *apart <= NEIGHBOURS_APART)
    {
        return Some(Failure::of(format!(
            "two fresh ids differ in {apart} place only ({one} and {other}): they can be \
             guessed, one is the other a step on (a generator that counts up, as monotonic \
             ULIDs do within a millisecond), so one user's id leads to the next user's"
        )));
    }
    let bits = varying_bits(&ids);
    (bits < UNGUESSABLE_BITS).then(|| {
        let mut sorted = ids.clone();
        sorted.sort();
        Failure::of(format!(
            "the fresh ids vary in about {bits:.0} bits from one to the next, fewer than \
             {UNGUESSABLE_BITS:.0}: they can be guessed (a counter, a clock), so one user's id \
             leads to another's"
        ))
        .with(Evidence::Text { title: "the fresh ids, sorted".into(), body: sorted.join("\n") })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_found_as_a_word_only() {
        let line =
            "2026-12-03T13:24:41.5Z ERROR request{request_id=5 path=/orders/1500}: status=500";
        assert_eq!(as_word(line, "5").len(), 1);
        assert_eq!(without_word(line, "5"), line.replacen("request_id=5", "request_id=", 1));
        assert!(as_word("id=abc-5", "5").is_empty());
        assert_eq!(as_word("urn:request:5", "5").len(), 1);
    }

    #[test]
    fn a_lines_level_is_read_in_text_json_and_colour() {
        let text =
            "2026-12-03T13:24:41.5Z ERROR request{request_id=5}: the shipping service failed";
        assert_eq!(level(text), Some("ERROR"));
        let json = r#"{"timestamp":"2026-12-03T13:24:41Z","level":"WARN","fields":{"message":"ERROR in shipping"}}"#;
        assert_eq!(level(json), Some("WARN"));
        let colour = "2026-12-03T13:24:41.5Z \x1b[31mERROR\x1b[0m request{request_id=5}: failed";
        assert_eq!(level(colour), Some("ERROR"));
        assert_eq!(level("no level here"), None);
    }
}
