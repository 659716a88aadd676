//! Lesson 4's verdicts, each from the answers the gateways gave, what the pricing services saw,
//! and the learner's log.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Gateway;
use super::asked::{Asked, Request};
use super::plan::{Behaviour, Garbage, Plan};
use crate::judge::answer::{Answer, Shown, error_problem, expected_error};
use crate::judge::log::{is_panic_report, unlogged};
use crate::judge::upstream_old::Seen;
use crate::judge::{Evidence, Failure, Learner, Lost};

/// How much later than the timeout a 504 may come, as a share of it: the time it takes to
/// notice and answer, on a busy machine (125 to 225 ms for the timeouts drawn); a gateway that
/// waits half as long again is not keeping to it.
const LATE: u32 = 2;

/// How much earlier: the gateway's clock starts a moment after the judge's.
const EARLY: Duration = Duration::from_millis(30);

/// What the pricing service did, in words, for a failure's summary.
fn did(behaviour: Behaviour) -> String {
    match behaviour {
        Behaviour::Price(price) => format!("answered 200 with a price of {price}"),
        Behaviour::Unknown => "answered 404".into(),
        Behaviour::Fails(status) => format!("answered {status}"),
        Behaviour::NotAPrice(Garbage::Text) => "answered 200 with a text page, not a price".into(),
        Behaviour::NotAPrice(Garbage::NoPrice) => "answered 200 with JSON that has no price".into(),
        Behaviour::NotAPrice(Garbage::NullPrice) => "answered 200 with a price of null".into(),
        Behaviour::NotAPrice(Garbage::TextPrice) => {
            "answered 200 with a price that is text, not a number".into()
        }
        Behaviour::Broken => "answered with bytes that are not HTTP".into(),
        Behaviour::CutOff => "broke off its answer mid-body".into(),
        Behaviour::Stalls => "sent the start of an answer, then nothing more".into(),
        Behaviour::Silent => "never answered".into(),
        Behaviour::Unavailable(seconds) => format!("answered 503 with Retry-After: {seconds}"),
    }
}

fn shown(answer: &Result<Answer, String>, headers: &[&str]) -> Shown {
    match answer {
        Ok(answer) => Shown::of(answer, headers).media_type_shown_as("application/json"),
        Err(what_happened) => Shown::missing(what_happened),
    }
}

fn diff(expected: &Shown, request: &Request) -> Evidence {
    Evidence::Diff {
        expected: expected.render(),
        actual: shown(&request.answer, &["content-type"]).render(),
    }
}

/// A's requests for the cases `wanted` picks.
fn of_a<'a>(
    plan: &'a Plan,
    asked: &'a Asked,
    wanted: impl Fn(Behaviour) -> bool + 'a,
) -> impl Iterator<Item = (Behaviour, &'a Request)> {
    plan.cases.iter().filter(move |case| wanted(case.behaviour)).flat_map(move |case| {
        asked.of(Gateway::Priced(0), &case.symbol).map(move |request| (case.behaviour, request))
    })
}

pub(super) fn prices(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let (price, request) = of_a(plan, asked, |behaviour| matches!(behaviour, Behaviour::Price(_))).find_map(|(behaviour, request)| {
        let Behaviour::Price(price) = behaviour else { return None };
        let right = matches!(&request.answer, Ok(answer) if answer.status == StatusCode::OK
            && answer.media_type().as_deref() == Some("application/json")
            && answer.json().is_some_and(|body| body["symbol"] == request.symbol.as_str() && body["price"].as_f64() == Some(price)));
        (!right).then_some((price, request))
    })?;
    let expected = Shown::status(StatusCode::OK)
        .header("content-type", "application/json")
        .json(&json!({"symbol": request.symbol, "price": price}));
    Some(
        Failure::new(
            format!("GET /quotes/{}: the pricing service answered 200 with a price of {price}, but that is not what came through", request.symbol),
            "A gateway that works must be invisible: the same answer, the same values, as if the client had asked the pricing service itself. (More fields than these two are fine.)",
        )
        .with(diff(&expected, request)),
    )
}

pub(super) fn unknown(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let (_, request) = of_a(plan, asked, |behaviour| behaviour == Behaviour::Unknown)
        .find(|(_, request)| !matches!(&request.answer, Ok(answer) if answer.status == StatusCode::NOT_FOUND))?;
    Some(
        Failure::new(
            format!("GET /quotes/{}: the pricing service answered 404, and the gateway did not", request.symbol),
            "A symbol that does not exist is the client's mistake, not a failure of anyone's: a 4xx, which the client will not retry. A 502 would send it back again and again.",
        )
        .with(diff(&Shown::status(StatusCode::NOT_FOUND), request)),
    )
}

pub(super) fn down(asked: &Asked) -> Option<Failure> {
    let request = asked.requests.iter().find(|request| request.gateway == Gateway::Down)?;
    let problem = error_problem(&request.answer, StatusCode::BAD_GATEWAY, "BAD_GATEWAY")?;
    Some(
        Failure::new(
            format!("GET /quotes/{} with the pricing service down (connection refused): {problem}", request.symbol),
            "The gateway could not get an answer from the server behind it: that is a 502, and a client may try again in a moment, when the service is back.",
        )
        .with(diff(&expected_error(&request.answer, StatusCode::BAD_GATEWAY, "BAD_GATEWAY"), request)),
    )
}

pub(super) fn unusable(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let unusable = |behaviour| {
        matches!(
            behaviour,
            Behaviour::Fails(_) | Behaviour::NotAPrice(_) | Behaviour::Broken | Behaviour::CutOff
        )
    };
    let (behaviour, request, problem) =
        of_a(plan, asked, unusable).find_map(|(behaviour, request)| {
            Some((
                behaviour,
                request,
                error_problem(&request.answer, StatusCode::BAD_GATEWAY, "BAD_GATEWAY")?,
            ))
        })?;
    Some(
        Failure::new(
            format!("GET /quotes/{}: the pricing service {}, and the gateway's answer is wrong: {problem}", request.symbol, did(behaviour)),
            "A gateway owns its API: whatever the server behind it does, its clients get one of its own answers. An invalid response from upstream, whatever its shape, is a 502 (RFC 9110 §15.6.3).",
        )
        .with(diff(&expected_error(&request.answer, StatusCode::BAD_GATEWAY, "BAD_GATEWAY"), request)),
    )
}

pub(super) fn timeouts(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let silent: Vec<&Request> = of_a(plan, asked, |behaviour| behaviour == Behaviour::Silent)
        .map(|(_, request)| request)
        .collect();
    let stalled: Vec<&Request> = of_a(plan, asked, |behaviour| behaviour == Behaviour::Stalls)
        .map(|(_, request)| request)
        .collect();
    let unreachable =
        asked.requests.iter().filter(|request| request.gateway == Gateway::Unreachable);
    for (request, what) in silent
        .into_iter()
        .map(|request| (request, "never answered"))
        .chain(stalled.into_iter().map(|request| (request, "stalled half-way through its answer")))
        .chain(unreachable.map(|request| (request, "never let a connection complete")))
    {
        // An answer that stalls half-way is no answer in time (504); that it was started and
        // never finished makes a 502 defensible too. Either way, once the timeout is up.
        let status_problem = || {
            let timeout =
                error_problem(&request.answer, StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT");
            let stalled = what.starts_with("stalled");
            if stalled
                && error_problem(&request.answer, StatusCode::BAD_GATEWAY, "BAD_GATEWAY").is_none()
            {
                None
            } else {
                timeout
            }
        };
        let problem = status_problem().or_else(|| {
            if request.took + EARLY < plan.timeout {
                Some(format!(
                    "it answered after {} ms, before upstream.timeout() ({} ms) was up",
                    request.took.as_millis(),
                    plan.timeout.as_millis()
                ))
            } else if request.took > plan.timeout + plan.timeout / LATE {
                Some(format!(
                    "it took {} ms, more than upstream.timeout() ({} ms) allows",
                    request.took.as_millis(),
                    plan.timeout.as_millis()
                ))
            } else {
                None
            }
        });
        if let Some(mut problem) = problem {
            if request.answer.is_err() {
                problem = format!(
                    "{problem}: the gateway had not answered after {} ms, and upstream.timeout() is {} ms (is there a deadline on the whole exchange, not only on connecting?)",
                    request.took.as_millis(),
                    plan.timeout.as_millis()
                );
            }
            return Some(
                Failure::new(
                    format!("GET /quotes/{}: the pricing service {what}: {problem}", request.symbol),
                    "A gateway that waits as long as its upstream hangs as long as its upstream, and so do its clients, their threads and connections. Give up when the timeout is up, and say so with a 504 (RFC 9110 §15.6.5): the client may retry after a pause.",
                )
                .with(diff(&expected_error(&request.answer, StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT"), request)),
            );
        }
    }
    None
}

pub(super) fn unavailable(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let (behaviour, request) =
        of_a(plan, asked, |behaviour| matches!(behaviour, Behaviour::Unavailable(_))).next()?;
    let Behaviour::Unavailable(seconds) = behaviour else { return None };
    let problem = error_problem(&request.answer, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").or_else(|| {
        let answer = request.answer.as_ref().ok()?;
        let values: Vec<&[u8]> = answer.headers.get_all("retry-after").iter().map(|value| value.as_bytes()).collect();
        // The same number, or a little more (rounding, a margin of its own); not a number of
        // its own choosing.
        let asked = u64::from(seconds);
        let passed_on = matches!(values.as_slice(), [value] if std::str::from_utf8(value).ok().and_then(|value| value.trim().parse::<u64>().ok()).is_some_and(|value| (asked..=asked * 2 + 1).contains(&value)));
        (!passed_on).then(|| format!("the pricing service asked for Retry-After: {seconds}, and the gateway's answer does not pass it on (the same number of seconds, or up to twice as many)"))
    })?;
    let expected =
        expected_error(&request.answer, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
            .header("retry-after", seconds.to_string());
    Some(
        Failure::new(
            format!("GET /quotes/{}: the pricing service answered 503: {problem}", request.symbol),
            "A 503 with Retry-After is the one failure that says when it will pass. Pass both on (in your own body): the client waits as long as the service asked, instead of guessing.",
        )
        .with(Evidence::Diff { expected: expected.render(), actual: shown(&request.answer, &["content-type", "retry-after"]).render() }),
    )
}

pub(super) fn leaks(plan: &Plan, asked: &Asked, addresses: &[SocketAddr]) -> Option<Failure> {
    let mut secrets: Vec<(String, String)> = plan
        .secrets
        .iter()
        .map(|secret| (secret.clone(), "a secret from the pricing service's answer".to_string()))
        .collect();
    for address in addresses {
        let meaning = format!("the pricing service's address ({address})");
        secrets.push((address.to_string(), meaning.clone()));
        secrets.push((format!("localhost:{}", address.port()), meaning));
    }
    secrets.push(("x-pricing-trace".into(), "a header of the pricing service's".into()));
    for request in &asked.requests {
        let Ok(answer) = &request.answer else { continue };
        let headers = answer
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())));
        let text = headers.chain([answer.text()]).collect::<Vec<_>>().join("\n").to_lowercase();
        if let Some((_, meaning)) =
            secrets.iter().find(|(secret, _)| text.contains(&secret.to_lowercase()))
        {
            return Some(
                Failure::new(
                    format!("GET /quotes/{}: the answer carries {meaning}", request.symbol),
                    WHY_NO_LEAK,
                )
                .with(Evidence::Text {
                    title: "the answer".into(),
                    body: shown(&request.answer, &["content-type"]).render(),
                }),
            );
        }
    }
    first_difference(plan, asked)
}

const WHY_NO_LEAK: &str = "The pricing service is an internal detail: its address, its error \
    texts and its headers tell an outsider how your system is built, and they change when it \
    does. Translate every failure into your own answer; log the details.";

/// The first failure whose answer differs between the two pricing services, which differ only
/// in their address and secrets.
fn first_difference(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let noise = noise(plan, asked);
    let view = |request: &Request| -> Option<String> {
        let answer = request.answer.as_ref().ok()?;
        let mut headers: Vec<String> = answer
            .headers
            .iter()
            .filter(|(name, _)| name.as_str() != "date")
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes());
                if noise.headers.contains(name.as_str()) {
                    format!("{name}: {}", shape(&value))
                } else {
                    format!("{name}: {value}")
                }
            })
            .collect();
        headers.sort();
        let body = match answer.json() {
            Some(mut json) => {
                for pointer in &noise.fields {
                    if let Some(field) = json.pointer_mut(pointer) {
                        let text = field.as_str().map_or_else(|| field.to_string(), str::to_string);
                        *field = Value::String(shape(&text));
                    }
                }
                json.to_string()
            }
            None => answer.text(),
        };
        Some(format!("HTTP/1.1 {}\n{}\n\n{body}\n", answer.status.as_u16(), headers.join("\n")))
    };
    for case in plan.cases.iter().filter(|case| !matches!(case.behaviour, Behaviour::Price(_))) {
        let (Some(a), Some(b)) = (
            asked.of(Gateway::Priced(0), &case.symbol).next(),
            asked.of(Gateway::Priced(1), &case.symbol).next(),
        ) else {
            continue;
        };
        if let (Some(a), Some(b)) = (view(a), view(b))
            && a != b
        {
            return Some(
                Failure::new(
                    format!(
                        "GET /quotes/{} answers differently over two pricing services that {} alike and differ only in address and secrets",
                        case.symbol,
                        did(case.behaviour)
                    ),
                    WHY_NO_LEAK,
                )
                .with(Evidence::Text { title: "compared".into(), body: "- over one pricing service\n+ over the other\n(the Date header is left out; a header or JSON field that changes between identical requests is compared by its shape)".into() })
                .with(Evidence::Diff { expected: a, actual: b }),
            );
        }
    }
    None
}

/// What differs between two identical requests to A, in any failure: noise (a request id, a
/// timing), not a leak. Such a header or JSON field is compared by its shape alone.
#[derive(Default)]
struct Noise {
    headers: BTreeSet<String>,
    /// JSON pointers into the body.
    fields: BTreeSet<String>,
}

fn noise(plan: &Plan, asked: &Asked) -> Noise {
    let mut noise = Noise { headers: BTreeSet::from(["date".to_string()]), ..Noise::default() };
    for case in plan.cases.iter().filter(|case| !matches!(case.behaviour, Behaviour::Price(_))) {
        let twice: Vec<&Answer> = asked
            .of(Gateway::Priced(0), &case.symbol)
            .filter_map(|request| request.answer.as_ref().ok())
            .collect();
        let [first, again] = twice.as_slice() else { continue };
        for name in first.headers.keys().chain(again.headers.keys()) {
            let values = |answer: &Answer| {
                answer
                    .headers
                    .get_all(name)
                    .iter()
                    .map(|value| value.as_bytes().to_vec())
                    .collect::<Vec<_>>()
            };
            if values(first) != values(again) {
                noise.headers.insert(name.as_str().to_string());
            }
        }
        if let (Some(one), Some(other)) = (first.json(), again.json()) {
            differing_fields(&one, &other, "", &mut noise.fields);
        }
    }
    noise
}

/// The JSON pointers at which `one` and `other` differ.
fn differing_fields(one: &Value, other: &Value, at: &str, found: &mut BTreeSet<String>) {
    match (one, other) {
        (Value::Object(one), Value::Object(other)) => {
            for key in one.keys().chain(other.keys()) {
                let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                let field = |object: &serde_json::Map<String, Value>| {
                    object.get(key).cloned().unwrap_or(Value::Null)
                };
                differing_fields(&field(one), &field(other), &pointer, found);
            }
        }
        _ if one != other => {
            found.insert(at.to_string());
        }
        _ => {}
    }
}

/// A value's shape: every run of letters and digits as one `x`. A request id, a UUID or a
/// timing keeps its shape from one request to the next; most encodings of a secret do not.
fn shape(value: &str) -> String {
    let mut shaped = String::new();
    for character in value.chars() {
        if !character.is_alphanumeric() {
            shaped.push(character);
        } else if !shaped.ends_with('x') {
            shaped.push('x');
        }
    }
    format!("({shaped}: differs between identical requests)")
}

pub(super) fn once(asked: &Asked, seen: &[Vec<Seen>; 2]) -> Option<Failure> {
    for (service, seen) in seen.iter().enumerate() {
        let mut symbols: Vec<&str> = asked
            .requests
            .iter()
            .filter(|request| request.gateway == Gateway::Priced(service))
            .map(|request| request.symbol.as_str())
            .collect();
        symbols.sort_unstable();
        symbols.dedup();
        for symbol in symbols {
            let inbound = asked.of(Gateway::Priced(service), symbol).count();
            // Any request that names the symbol counts, whatever its path: a second call to
            // another route is a retry too.
            let names =
                |target: &str| target.split(['/', '?', '&', '=']).any(|part| part == symbol);
            let upstream = seen.iter().filter(|seen| names(&seen.target)).count();
            if upstream != inbound {
                return Some(Failure::new(
                    format!(
                        "GET /quotes/{symbol} was asked {inbound} time(s), and the pricing service {upstream} time(s)"
                    ),
                    WHY_ONCE,
                ));
            }
        }
        let inbound = asked
            .requests
            .iter()
            .filter(|request| request.gateway == Gateway::Priced(service))
            .count();
        if seen.len() != inbound {
            let targets: Vec<&str> = seen.iter().map(|seen| seen.target.as_str()).collect();
            return Some(
                Failure::new(
                    format!("the gateway was asked {inbound} time(s) in all, and the pricing service {} time(s)", seen.len()),
                    WHY_ONCE,
                )
                .with(Evidence::Text { title: "what the pricing service was asked".into(), body: targets.join("\n") }),
            );
        }
    }
    None
}

const WHY_ONCE: &str = "Retries belong to one layer. A gateway that retries on its own multiplies the load on a service that is already failing (its clients retry too), and keeps them waiting longer: answer once, and let the client decide.";

pub(super) async fn logged(
    learner: &Learner,
    plan: &Plan,
    asked: &Asked,
) -> Result<Option<Failure>, Lost> {
    let failing = asked.requests.iter().filter(|request| match request.gateway {
        Gateway::Priced(0) => plan.cases.iter().any(|case| {
            case.symbol == request.symbol
                && !matches!(case.behaviour, Behaviour::Price(_) | Behaviour::Unknown)
        }),
        Gateway::Priced(_) => false,
        Gateway::Down | Gateway::Unreachable => true,
    });
    // Each symbol with what its pricing service did, so that a learner sees which cases go
    // unlogged.
    let what = |request: &Request| match request.gateway {
        Gateway::Down => "refused the connection".to_string(),
        Gateway::Unreachable => "never completed a connection".to_string(),
        Gateway::Priced(_) => plan
            .cases
            .iter()
            .find(|case| case.symbol == request.symbol)
            .map_or_else(String::new, |case| did(case.behaviour)),
    };
    let mut cases: Vec<(&str, String)> =
        failing.map(|request| (request.symbol.as_str(), what(request))).collect();
    cases.sort_unstable();
    cases.dedup_by(|one, other| one.0 == other.0);
    let symbols: Vec<&str> = cases.iter().map(|(symbol, _)| *symbol).collect();
    let wanted: Vec<_> = symbols
        .iter()
        .map(|symbol| move |line: &str| !is_panic_report(line) && line.contains(symbol))
        .collect();
    let mut unlogged: Vec<usize> = unlogged(learner, &wanted).await?;
    unlogged.dedup();
    if unlogged.is_empty() {
        return Ok(None);
    }
    let symbols: Vec<&str> = unlogged.iter().map(|&index| cases[index].0).collect();
    let rows: Vec<String> = unlogged
        .iter()
        .map(|&index| {
            format!("GET /quotes/{:<6}  its pricing service {}", cases[index].0, cases[index].1)
        })
        .collect();
    let log = learner.log();
    Ok(Some(
        Failure::new(
            format!("no line of the log names the request for {}", symbols.join(", ")),
            "The client gets your own short answer; the log is where your team finds out what the pricing service actually did: its status, the error, which request. (A request span, such as tower-http's TraceLayer, puts the path, and so the symbol, on every line.)",
        )
        .with(Evidence::Text { title: "the requests no log line names".into(), body: rows.join("\n") })
        .with(Evidence::Text { title: "server log, last lines".into(), body: crate::judge::log::tail(&log.text(), 12) }),
    ))
}
