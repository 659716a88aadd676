//! Verdicts on what the gateways answered: for each thing a pricing service does, the answers a
//! gateway may give (the price, a status, an error of its own, in time), and the first request
//! answered otherwise.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use super::asking::{Asked, Escaped};
use super::plan::{Behaviour, Garbage, HUGE_ANSWERED_BY, Plan, priced_symbol};
use super::{CLIENT_ERRORS, DOWN, NOT_FOUND, PRICE, REFUSED, TIMEOUT, UNAVAILABLE, UNUSABLE};
use crate::judge::answer::{Answer, Shown, error_problem, expected_error};
use crate::judge::bounds::{Bound, Timing, millis};
use crate::judge::{Evidence, Failure, Row};

type Errors = &'static [(u16, &'static str)];
const BAD: Errors = &[(502, "BAD_GATEWAY")];
/// A connection refused or reset: 502, or 503 as Envoy answers.
const GONE: Errors = &[(502, "BAD_GATEWAY"), (503, "SERVICE_UNAVAILABLE")];
/// The gateway's own request refused (400, 401, 403, 409): its bug or its configuration.
const OURS: Errors = &[(502, "BAD_GATEWAY"), (500, "INTERNAL_ERROR")];
/// The gateway asked too often (429): unavailable for a while, or a failure upstream.
const SHED: Errors = &[(503, "SERVICE_UNAVAILABLE"), (502, "BAD_GATEWAY")];
const PAUSED: Errors = &[(503, "SERVICE_UNAVAILABLE")];
const LATE: Errors = &[(504, "GATEWAY_TIMEOUT")];
/// An answer begun in time and never finished: 504, or 502 since it began.
const UNFINISHED: Errors = &[(504, "GATEWAY_TIMEOUT"), (502, "BAD_GATEWAY")];

/// What a gateway may answer to one request.
enum Want {
    Price(String),
    /// The price, or a 502 from a gateway that reads only `application/json`, or follows no
    /// redirect.
    PriceOrBad(String),
    Status(&'static [u16]),
    /// An error of one of these, passing `Retry-After` on in a 503; in time, if bounded.
    Error(Errors, Option<u64>, Option<(Bound, Due)>),
}

/// Why an error is due when its bound says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Due {
    /// Once `upstream.timeout()` is up.
    Timeout,
    /// At once: a refused connection is known at once.
    Refused,
    /// At once: a body past every limit the lesson allows was sent at once.
    PastLimit,
}

fn wanted(plan: &Plan, asked: &Asked) -> (&'static str, Want) {
    let in_time =
        Some((Bound::around(plan.timeouts[asked.gateway]).later_by(asked.latency), Due::Timeout));
    let Some(behaviour) = plan.behaviour(&asked.symbol, asked.round) else {
        return match asked.gateway {
            DOWN => (
                REFUSED,
                Want::Error(
                    GONE,
                    None,
                    Some((Bound::no_wait().later_by(asked.latency), Due::Refused)),
                ),
            ),
            _ => (TIMEOUT, Want::Error(LATE, None, in_time)),
        };
    };
    match behaviour {
        Behaviour::Price(text) => (PRICE, Want::Price(text.clone())),
        Behaviour::VendorPrice(text) | Behaviour::Redirect(text) => {
            (PRICE, Want::PriceOrBad(text.clone()))
        }
        Behaviour::Status(404, _) => (NOT_FOUND, Want::Status(&[404])),
        Behaviour::Status(410, _) => (NOT_FOUND, Want::Status(&[404, 410])),
        Behaviour::Status(429, seconds) => (CLIENT_ERRORS, Want::Error(SHED, *seconds, None)),
        Behaviour::Status(400..=499, _) => (CLIENT_ERRORS, Want::Error(OURS, None, None)),
        Behaviour::Status(503, seconds) => (UNAVAILABLE, Want::Error(PAUSED, *seconds, None)),
        Behaviour::Reset => (UNUSABLE, Want::Error(GONE, None, None)),
        Behaviour::Silent | Behaviour::TrickleHead => (TIMEOUT, Want::Error(LATE, None, in_time)),
        Behaviour::Stalls | Behaviour::TrickleBody => {
            (TIMEOUT, Want::Error(UNFINISHED, None, in_time))
        }
        // The first 1.25 MiB come at once: a gateway that keeps a limit (64 KiB, a mebibyte)
        // is past it then, and answers; one whose limit is larger waits out the sender's pause
        // (600 ms, twice the bound) and reads on at its pace, if its timeout lets it.
        Behaviour::NotAPrice(Garbage::Huge | Garbage::HugeChunked) => {
            let by = Bound { at_least: Duration::ZERO, at_most: HUGE_ANSWERED_BY };
            (UNUSABLE, Want::Error(BAD, None, Some((by, Due::PastLimit))))
        }
        _ => (UNUSABLE, Want::Error(BAD, None, None)),
    }
}

/// The check that judges `asked`.
pub(super) fn check_of(plan: &Plan, asked: &Asked) -> &'static str {
    wanted(plan, asked).0
}

/// What is wrong with the answer to `asked`, as a failure, if anything.
pub(super) fn wrong(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let want = wanted(plan, asked).1;
    let problem = problem(&want, asked, plan.timeouts[asked.gateway])?;
    let did = asked.did(plan);
    let summary = format!("GET /quotes/{}: the pricing service {did}, and {problem}", asked.symbol);
    let retry_after = matches!(want, Want::Error(_, Some(_), _));
    let headers: &[&str] =
        if retry_after { &["content-type", "retry-after"] } else { &["content-type"] };
    let actual =
        Shown::of_result(&asked.exchange.answer, headers).media_type_shown_as("application/json");
    Some(Failure::of(summary).with(Evidence::Diff {
        expected: expected(&want, asked).render(),
        actual: actual.render(),
    }))
}

/// Whether all that is wrong with the answer to `asked` is that it came later than its bound (a
/// timeout's, or a refusal's at once): a busy machine's doing as often as the gateway's, so
/// another answer's problem, when there is one, is told first (a gateway that gave up before
/// its timeout on one request was reported as late on another, held up by CI's load).
pub(super) fn late_only(plan: &Plan, asked: &Asked) -> bool {
    let Want::Error(allowed, seconds, Some((bound, due))) = wanted(plan, asked).1 else {
        return false;
    };
    let untimed = Want::Error(allowed, seconds, None);
    matches!(due, Due::Timeout | Due::Refused)
        && bound.judge(asked.exchange.took()) == Timing::Late
        && asked.exchange.answer.is_ok()
        && problem(&untimed, asked, plan.timeouts[asked.gateway]).is_none()
}

/// What is wrong with the answer to `asked`, if anything.
fn problem(want: &Want, asked: &Asked, timeout: Duration) -> Option<String> {
    let answer = &asked.exchange.answer;
    let Ok(got) = answer else {
        let (took, timeout) = (millis(asked.exchange.took()), millis(timeout));
        let what = answer.as_ref().err()?.trim_matches(['(', ')']);
        return Some(format!(
            "the gateway had not answered after {took}, though upstream.timeout() is {timeout} ({what})"
        ));
    };
    let status = got.status.as_u16();
    match want {
        Want::PriceOrBad(_) if status == 502 => {
            problem(&Want::Error(BAD, None, None), asked, timeout)
        }
        Want::Price(text) | Want::PriceOrBad(text) => {
            let body = got.json().unwrap_or_default();
            let price: f64 = text.parse().ok()?;
            if status != 200 {
                let or = if matches!(want, Want::PriceOrBad(_)) { " (or a 502)" } else { "" };
                Some(format!("the gateway answered {status}, not 200{or}"))
            } else if got.media_type().as_deref() != Some("application/json") {
                Some("the Content-Type is not application/json".into())
            } else if body["symbol"] != asked.symbol.as_str()
                || body["price"].as_f64() != Some(price)
            {
                Some(format!(
                    "the body does not say \"symbol\": \"{}\", \"price\": {text}",
                    asked.symbol
                ))
            } else {
                None
            }
        }
        Want::Status(allowed) => {
            (!allowed.contains(&status)).then(|| format!("the gateway answered {status}"))
        }
        Want::Error(allowed, seconds, bound) => {
            // A gateway that read on past every limit is told so, whatever it answered in the
            // end (mostly a 504, once its timeout was up): reading on is the mistake to mend.
            let past_limit = bound.filter(|(_, due)| *due == Due::PastLimit);
            if let Some(problem) =
                past_limit.and_then(|(bound, due)| timing_problem(bound, due, asked))
            {
                return Some(problem);
            }
            let (expected, code) =
                allowed.iter().find(|(known, _)| *known == status).unwrap_or(&allowed[0]);
            let expected = StatusCode::from_u16(*expected).expect("a status");
            error_problem(answer, expected, code)
                .map(|problem| format!("the gateway's answer is wrong: {problem}"))
                .or_else(|| retry_after_problem(got, *seconds).filter(|_| status == 503))
                .or_else(|| bound.and_then(|(bound, due)| timing_problem(bound, due, asked)))
        }
    }
}

/// A 503 passes on the `Retry-After` it was given: the same wait, or a little more (up to
/// twice as long, a margin of its own, or a second more than 0), as delay-seconds or an
/// HTTP-date; never its own choice. A date is read to the second, against a `Date` of its own
/// second: a second more is allowed there.
fn retry_after_problem(answer: &Answer, seconds: Option<u64>) -> Option<String> {
    let seconds = seconds?;
    let passed = answer.retry_after_seconds();
    let as_date = answer
        .header("retry-after")
        .is_some_and(|value| !value.as_bytes().iter().all(u8::is_ascii_digit));
    let most = (seconds * 2).max(seconds + 1) + u64::from(as_date);
    (!passed.is_some_and(|passed| (seconds..=most).contains(&passed))).then(|| {
        format!(
            "its answer does not pass Retry-After: {seconds} on (as {seconds} to {most} seconds{})",
            if as_date { ", as a date" } else { "" }
        )
    })
}

fn timing_problem(bound: Bound, due: Due, asked: &Asked) -> Option<String> {
    let took = millis(asked.exchange.took());
    let meanwhile =
        format!("(a quick request sent when it was due took {})", millis(asked.latency));
    match (bound.judge(asked.exchange.took()), due) {
        // Nothing is too early when it is due at once.
        (Timing::InTime, _) | (Timing::Early, Due::Refused | Due::PastLimit) => None,
        (Timing::Early, Due::Timeout) => Some(format!(
            "the gateway answered after {took}, before upstream.timeout() ({}) was up",
            millis(bound.at_least)
        )),
        (Timing::Late, Due::Refused) => Some(format!(
            "the gateway answered after {took}, though a refused connection is known at once: \
             {} at most {meanwhile}; does it try again until its deadline?",
            millis(bound.at_most)
        )),
        (Timing::Late, Due::PastLimit) => Some(format!(
            "the gateway answered after {took}, though the first 1.25 MiB came at once, past any \
             limit a price needs (64 KiB, or a mebibyte): a 502 then, {} at most; is its limit \
             larger, or does it read on before weighing the body?",
            millis(bound.at_most)
        )),
        (Timing::Late, Due::Timeout) => Some(format!(
            "the gateway answered after {took}: upstream.timeout() allows {bound} {meanwhile}"
        )),
    }
}

/// The answer a diff shows as expected.
fn expected(want: &Want, asked: &Asked) -> Shown {
    match want {
        Want::Price(text) | Want::PriceOrBad(text) => {
            let price: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            Shown::status(StatusCode::OK)
                .header("content-type", "application/json")
                .json(&json!({"symbol": asked.symbol, "price": price}))
        }
        Want::Status(allowed) => Shown::status(StatusCode::from_u16(allowed[0]).expect("a status")),
        Want::Error(allowed, seconds, _) => {
            let (status, code) = allowed[0];
            let shown = expected_error(
                &asked.exchange.answer,
                StatusCode::from_u16(status).expect("a status"),
                code,
            );
            match seconds.filter(|_| status == 503) {
                Some(seconds) => shown.header("retry-after", seconds.to_string()),
                None => shown,
            }
        }
    }
}

/// Each symbol that needs escaping reached the pricing service as one encoded path segment
/// (and its 404 came through), or was refused (400, 404 or 422) without asking.
pub(super) fn escapes(escaped: &[Escaped]) -> Option<Failure> {
    let rows: Vec<Row> = escaped.iter().map(|escaped| {
        let status = escaped.exchange.status();
        let asked_right = matches!(escaped.targets.as_slice(), [target] if priced_symbol(target).as_deref() == Some(&escaped.symbol));
        let ok = match escaped.targets.len() {
            0 => matches!(status, Some(400 | 404 | 422)),
            _ => asked_right && status == Some(404),
        };
        let targets: Vec<&str> = escaped.targets.iter().map(|seen| seen.target.as_str()).collect();
        let targets = if targets.is_empty() { "(nothing)".to_string() } else { targets.join(", ") };
        let answered = status.map_or_else(|| "(no answer)".to_string(), |status| status.to_string());
        Row { cells: vec![escaped.symbol.clone(), format!("/quotes/{}", escaped.segment), targets, answered], ok }
    }).collect();
    let wrong = rows.iter().find(|row| !row.ok)?;
    let summary = format!(
        "GET {} (the symbol {}): the pricing service was asked for {}, and the gateway answered {}",
        wrong.cells[1], wrong.cells[0], wrong.cells[2], wrong.cells[3]
    );
    let columns = ["symbol", "asked of the gateway", "asked of the pricing service", "answered"]
        .map(String::from)
        .to_vec();
    Some(Failure::of(summary).with(Evidence::Table { columns, rows }))
}
