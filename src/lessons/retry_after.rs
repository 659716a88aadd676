//! Lesson 2, 503 and Retry-After: the server says when to come back, and the client reads it
//! in every form the standard allows. [`run`] holds the checks; [`main`] is the check target's.

mod cases;
mod client;

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

use self::cases::{CASES, Group};
use crate::Recorder;
use crate::fixtures::Database;
use crate::harness::{self, ANSWER_TIMEOUT, Answer, Shown};
use crate::protocol::{Evidence, Failure, Row, Verdict};

/// The three functions the exercise exports.
#[derive(Debug, Clone, Copy)]
pub struct Exercise {
    pub app: fn(Database) -> Router,
    pub parse_retry_after: fn(&str, SystemTime) -> Option<Duration>,
    pub retry_after: fn(&reqwest::Response) -> Option<Duration>,
}

const DOWN_503: &str = "while the database is down, GET /orders/{id} answers 503 with a JSON error";
const RETRY_HEADER: &str = "the 503 says when to come back, in a valid Retry-After";
const BACK_UP: &str = "once the database is back, orders answer 200 and 404 again";
const SECONDS: &str = "parse_retry_after reads delay-seconds";
const DATES: &str = "parse_retry_after reads all three HTTP-date forms";
const INVALID: &str = "parse_retry_after rejects everything else";
const CLIENT: &str = "retry_after reads Retry-After from real responses";

pub const CHECKS: [&str; 7] = [DOWN_503, RETRY_HEADER, BACK_UP, SECONDS, DATES, INVALID, CLIENT];

/// The `main` of lesson 2's check targets.
pub fn main(exercise: Exercise) -> ExitCode {
    harness::main(&CHECKS, async |recorder| run(exercise, recorder).await)
}

pub async fn run(exercise: Exercise, recorder: &mut Recorder) {
    check_server(exercise.app, recorder).await;
    for (check, group) in
        [(SECONDS, Group::Seconds), (DATES, Group::Dates), (INVALID, Group::Invalid)]
    {
        recorder.record(check_parser(check, group, exercise.parse_retry_after));
    }
    recorder.record(client::check(CLIENT, exercise.retry_after).await);
}

async fn check_server(app: fn(Database) -> Router, recorder: &mut Recorder) {
    let db = Database::healthy();
    let server_checks = &CHECKS[..3];
    let router = match harness::catch(|| app(db.clone())) {
        Ok(router) => router,
        Err(message) => {
            let failure = Failure::new(
                format!("app() panicked while building the router: {message}"),
                "No request can be answered until the router builds.",
            );
            return recorder.fail_all(server_checks, &failure);
        }
    };
    let base = harness::serve(router);
    let client = harness::client(ANSWER_TIMEOUT);
    db.set_down(true);
    let down = Answer::get(&client, &format!("{base}/orders/1")).await;
    db.set_down(false);
    let found = Answer::get(&client, &format!("{base}/orders/1")).await;
    let missing = Answer::get(&client, &format!("{base}/orders/999")).await;

    recorder.record(expect_503(&down));
    recorder.record(expect_retry_after(&down));
    let order = json!(db.find_order(1).ok().flatten().expect("order 1 exists"));
    recorder.record(expect_back_up(&found, &missing, &order));
}

fn expect_503(down: &Result<Answer, String>) -> Verdict {
    // Any message text will do: show the learner's own, so the diff only flags what is wrong.
    let message = match down {
        Ok(answer) => {
            answer.json().and_then(|body| body["error"]["message"].as_str().map(str::to_string))
        }
        Err(_) => None,
    };
    let body = json!({"error": {"code": "SERVICE_UNAVAILABLE", "message": message.as_deref().unwrap_or("<any text>")}});
    let expected = Shown::status(StatusCode::SERVICE_UNAVAILABLE)
        .header("content-type", "application/json")
        .json(&body);
    let passed = matches!(down, Ok(answer) if answer.status == StatusCode::SERVICE_UNAVAILABLE
        && answer.media_type().as_deref() == Some("application/json")
        && message.is_some()
        && answer.json() == Some(body.clone()));
    if passed {
        return Verdict::pass(DOWN_503);
    }
    let actual = match down {
        Ok(answer) => Shown::of(answer, &["content-type"]).media_type_shown_as("application/json"),
        Err(what_happened) => Shown::missing(what_happened),
    };
    Verdict::fail(
        DOWN_503,
        Failure::new(
            "the answer while the database is down is not the 503 JSON error",
            "A 503 tells clients the server is alive but cannot serve right now, so they should \
             come back later. A 500 says \"bug\", and a client cannot tell when that will be fixed.",
        )
        .with(Evidence::Diff { expected: expected.render(), actual: actual.render() }),
    )
}

fn expect_retry_after(down: &Result<Answer, String>) -> Verdict {
    let sent: Vec<_> = match down {
        Ok(answer) => answer
            .headers
            .get_all("retry-after")
            .iter()
            .map(|value| value.as_bytes().to_vec())
            .collect(),
        Err(_) => Vec::new(),
    };
    let usable = match sent.as_slice() {
        [value] => std::str::from_utf8(value).ok().is_some_and(is_usable_retry_after),
        _ => false,
    };
    if usable {
        return Verdict::pass(RETRY_HEADER);
    }
    let expected = "retry-after: <delay-seconds, e.g. 30>\n".to_string();
    let actual = match (down, sent.is_empty()) {
        (Err(what_happened), _) => format!("({what_happened})\n"),
        (Ok(_), true) => "retry-after: (not sent)\n".to_string(),
        (Ok(_), false) => sent
            .iter()
            .map(|value| format!("retry-after: {}\n", String::from_utf8_lossy(value)))
            .collect(),
    };
    Verdict::fail(
        RETRY_HEADER,
        Failure::new(
            "no single Retry-After with whole seconds (or a future HTTP-date) came with the 503",
            "Without Retry-After every client guesses when to come back, and many guess \
             \"right now\". The value is digits only: `30`, not `30s` or `30.0`.",
        )
        .with(Evidence::Diff { expected, actual }),
    )
}

/// delay-seconds (`1*DIGIT`) or an HTTP-date still to come.
fn is_usable_retry_after(value: &str) -> bool {
    let value = value.trim_matches([' ', '\t']);
    let seconds = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    seconds || httpdate::parse_http_date(value).is_ok_and(|date| date > SystemTime::now())
}

fn expect_back_up(
    found: &Result<Answer, String>,
    missing: &Result<Answer, String>,
    order: &Value,
) -> Verdict {
    let passed = matches!(found, Ok(answer) if answer.status == StatusCode::OK && answer.json().as_ref() == Some(order))
        && matches!(missing, Ok(answer) if answer.status == StatusCode::NOT_FOUND);
    if passed {
        return Verdict::pass(BACK_UP);
    }
    let expected = format!(
        "GET /orders/1\n{}\nGET /orders/999\n{}",
        Shown::status(StatusCode::OK).json(order).render(),
        Shown::status(StatusCode::NOT_FOUND).render()
    );
    let actual = format!(
        "GET /orders/1\n{}\nGET /orders/999\n{}",
        Shown::of_result(found, &[]).render(),
        Shown::of_result(missing, &[]).without_body().render()
    );
    Verdict::fail(
        BACK_UP,
        Failure::new(
            "after the database came back, the orders did not answer as before",
            "503 is for while the dependency is down: once it is back, answer normally. A \
             server that keeps saying 503 turns a short outage into a long one.",
        )
        .with(Evidence::Diff { expected, actual }),
    )
}

fn check_parser(
    check: &str,
    group: Group,
    parse: fn(&str, SystemTime) -> Option<Duration>,
) -> Verdict {
    let now = cases::now();
    let rows: Vec<Row> = CASES
        .iter()
        .filter(|case| case.group == group)
        .map(|case| {
            let got = harness::catch(|| parse(case.input, now));
            let ok = got.as_ref().is_ok_and(|got| *got == case.expected);
            let got = match got {
                Ok(got) => shown_duration(got),
                Err(message) => format!("panicked: {message}"),
            };
            Row { cells: vec![format!("{:?}", case.input), shown_duration(case.expected), got], ok }
        })
        .collect();
    let wrong = rows.iter().filter(|row| !row.ok).count();
    if wrong == 0 {
        return Verdict::pass(check);
    }
    let why = match group {
        Group::Seconds => {
            "delay-seconds is the common form: digits, nothing else, with optional \
                           whitespace around them (it is not part of the value)."
        }
        Group::Dates => {
            "HTTP/1.1 requires a recipient to accept all three date forms, and a date \
                         already past means \"now\": wait zero."
        }
        Group::Invalid => {
            "A value you cannot read must not become a wait: a client that invents \
                           one may retry too soon, or sleep for a very long time."
        }
    };
    let columns = ["input", "expected", "got"].map(String::from).to_vec();
    Verdict::fail(
        check,
        Failure::new(format!("{wrong} of {} inputs parsed wrongly", rows.len()), why)
            .with(Evidence::Table { columns, rows }),
    )
}

/// `Some(30 s)` as `30 s`, `None` as `None`.
fn shown_duration(duration: Option<Duration>) -> String {
    match duration {
        None => "None".into(),
        Some(duration) if duration.subsec_nanos() == 0 => format!("{} s", duration.as_secs()),
        Some(duration) => format!("{:.3} s", duration.as_secs_f64()),
    }
}
