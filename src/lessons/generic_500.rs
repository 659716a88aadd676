//! Lesson 1, the generic 500: a failure becomes one fixed JSON answer for the client and a
//! detailed line in the server log. [`run`] holds the checks; [`main`] is the check target's.

use std::process::ExitCode;

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Recorder;
use crate::fixtures::{Database, Secrets};
use crate::harness::{self, ANSWER_TIMEOUT, Answer, Shown};
use crate::protocol::{Evidence, Failure, Outcome, Verdict};

/// The exercise's entry point: builds the server around a database.
pub type App = fn(Database) -> Router;

const GENERIC_500: &str = "a failing GET /orders/{id} answers the generic 500";
const NO_LEAK: &str = "nothing about the failure reaches the client";
const LOGGED: &str = "the database error's details reach the server log";
const PANIC_500: &str = "a panicking GET /reports/{id} answers the same generic 500";
const ALIVE: &str = "GET /health still answers 200 after the panic";
const MISSING_404: &str = "a missing order is still a 404, not a 500";
const HEALTHY_200: &str = "a healthy order still answers 200 with its JSON";

pub const CHECKS: [&str; 7] =
    [GENERIC_500, NO_LEAK, LOGGED, PANIC_500, ALIVE, MISSING_404, HEALTHY_200];

/// The one body a client ever sees for a server fault.
pub fn generic_500_body() -> Value {
    json!({"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}})
}

/// The `main` of lesson 1's check targets.
pub fn main(app: App) -> ExitCode {
    harness::main(&CHECKS, async |recorder| run(app, recorder).await)
}

/// Serves `app` over a failing database, then a healthy one, and records every check.
pub async fn run(app: App, recorder: &mut Recorder) {
    let client = harness::client(ANSWER_TIMEOUT);

    let failing = Database::failing();
    let secrets = failing.secrets().cloned().expect("a failing database has secrets");
    let Some(base) = serve(app, failing, recorder) else {
        return;
    };
    let order = Answer::get(&client, &format!("{base}/orders/2")).await;
    let report = Answer::get(&client, &format!("{base}/reports/2")).await;
    let health = Answer::get(&client, &format!("{base}/health")).await;

    recorder.record(expect_generic_500(GENERIC_500, &order, WHY_GENERIC));
    recorder.record(expect_no_leak(
        &[("GET /orders/2", &order), ("GET /reports/2", &report)],
        &secrets,
    ));
    recorder.record(expect_logged(&secrets));
    recorder.record(expect_generic_500(PANIC_500, &report, WHY_PANIC));
    recorder.record(expect_alive(&health));

    let healthy = Database::healthy();
    let expected_order = healthy.find_order(1).ok().flatten().expect("order 1 exists");
    let Some(base) = serve(app, healthy, recorder) else {
        return;
    };
    let missing = Answer::get(&client, &format!("{base}/orders/999")).await;
    let found = Answer::get(&client, &format!("{base}/orders/1")).await;
    recorder.record(expect_missing_404(&missing));
    recorder.record(expect_order(&found, &json!(expected_order)));
}

/// Builds and serves the learner's app; when building it panics, every check left fails.
fn serve(app: App, db: Database, recorder: &mut Recorder) -> Option<String> {
    match harness::catch(|| app(db)) {
        Ok(router) => Some(harness::serve(router)),
        Err(message) => {
            let remaining = &CHECKS[recorder.verdicts().len()..];
            let failure = Failure::new(
                format!("app() panicked while building the router: {message}"),
                "No request can be answered until the router builds. In axum 0.8, path \
                 parameters are written /orders/{id}.",
            );
            recorder.fail_all(remaining, &failure);
            None
        }
    }
}

const WHY_GENERIC: &str = "Clients can act on a 500 (retry later, show an apology) only if \
    every fault looks the same: a fixed status, type and body. The details are for your log.";
const WHY_PANIC: &str = "A panic is a fault like any other: the client should get the same \
    generic answer. One that gets no answer at all cannot tell a bug from a network failure.";

fn expect_generic_500(check: &str, answer: &Result<Answer, String>, why: &str) -> Verdict {
    let expected = Shown::status(StatusCode::INTERNAL_SERVER_ERROR)
        .header("content-type", "application/json")
        .json(&generic_500_body());
    let problems = match answer {
        // A dropped connection is what an uncaught panic looks like from outside.
        Err(_) if check == PANIC_500 => vec![
            "the connection dropped without an answer: nothing caught the panic (a layer only \
             wraps the routes added before it)"
                .to_string(),
        ],
        Err(what_happened) => vec![what_happened.clone()],
        Ok(answer) => problems_with_generic_500(answer),
    };
    if problems.is_empty() {
        return Verdict::pass(check);
    }
    let actual = match answer {
        Ok(answer) => shown_as_json(answer),
        Err(what_happened) => Shown::missing(what_happened),
    };
    Verdict::fail(check, Failure::new(problems.join("; "), why).with(diff(&expected, &actual)))
}

fn problems_with_generic_500(answer: &Answer) -> Vec<String> {
    let mut problems = Vec::new();
    if answer.status != StatusCode::INTERNAL_SERVER_ERROR {
        problems.push(format!("the status is {}, not 500", answer.status.as_u16()));
    }
    if answer.media_type().as_deref() != Some("application/json") {
        problems.push("the Content-Type is not application/json".to_string());
    }
    if answer.json() != Some(generic_500_body()) {
        problems.push("the body is not the generic error JSON".to_string());
    }
    problems
}

/// Shows `answer` with its Content-Type; one that only adds parameters to
/// `application/json` (`; charset=utf-8`) is shown as expected, so the diff stays quiet there.
fn shown_as_json(answer: &Answer) -> Shown {
    Shown::of(answer, &["content-type"]).media_type_shown_as("application/json")
}

fn diff(expected: &Shown, actual: &Shown) -> Evidence {
    Evidence::Diff { expected: expected.render(), actual: actual.render() }
}

/// What must never reach a client, and what each piece would give away.
fn leak_markers(secrets: &Secrets) -> [(String, &'static str); 6] {
    [
        (secrets.db.clone(), "the database password"),
        (secrets.panic.clone(), "the panic message"),
        ("postgres://".into(), "the database error's text"),
        ("template cache".into(), "the panic message"),
        ("panicked".into(), "a panic report"),
        (".rs:".into(), "a source code location"),
    ]
}

fn expect_no_leak(answers: &[(&str, &Result<Answer, String>)], secrets: &Secrets) -> Verdict {
    let markers = leak_markers(secrets);
    let mut found = Vec::new();
    for (request, answer) in answers {
        let Ok(answer) = answer else { continue };
        let mut places: Vec<(String, String)> = answer
            .headers
            .iter()
            .map(|(name, value)| {
                (format!("header {name}"), String::from_utf8_lossy(value.as_bytes()).into())
            })
            .collect();
        places.push(("body".into(), answer.text()));
        for (place, text) in &places {
            let lowered = text.to_lowercase();
            for (marker, meaning) in &markers {
                if lowered.contains(&marker.to_lowercase()) {
                    found.push(format!(
                        "{request}, {place}: {meaning} ({marker:?})\n    {}",
                        excerpt(text, marker)
                    ));
                }
            }
        }
    }
    if found.is_empty() {
        return Verdict::pass(NO_LEAK);
    }
    let failure = Failure::new(
        format!("{} leak(s) found in what the client received", found.len()),
        "Error texts and panic messages describe your internals: hosts, passwords, file \
         paths. Anyone can call your API; keep these in the server log.",
    )
    .with(Evidence::Text { title: "leaks".into(), body: found.join("\n") });
    Verdict::fail(NO_LEAK, failure)
}

/// A short window of `text` around `marker`, so a leak can be seen in context.
fn excerpt(text: &str, marker: &str) -> String {
    let lowered = text.to_lowercase();
    let at = lowered.find(&marker.to_lowercase()).unwrap_or(0);
    let start = text.floor_char_boundary(at.saturating_sub(40));
    let end = text.ceil_char_boundary((at + marker.len() + 40).min(text.len()));
    format!("…{}…", &text[start..end])
}

fn expect_logged(secrets: &Secrets) -> Verdict {
    let failure = Failure::new(
        "nothing written to the server log (stderr) mentions the database error",
        "The generic 500 hides the cause from the client, so the log is the only place your \
         team can find it. Log the error itself, e.g. tracing::error!(%error, \"...\").",
    );
    Verdict {
        check: LOGGED.into(),
        outcome: Outcome::LogMustContain { needle: secrets.db.clone(), failure },
    }
}

fn expect_alive(health: &Result<Answer, String>) -> Verdict {
    match health {
        Ok(answer) if answer.status == StatusCode::OK => Verdict::pass(ALIVE),
        _ => Verdict::fail(
            ALIVE,
            Failure::new(
                "GET /health did not answer 200 after a handler panicked",
                "One bad request must not take the server down for everyone else.",
            )
            .with(diff(
                &Shown::status(StatusCode::OK),
                &Shown::of_result(health, &[]).without_body(),
            )),
        ),
    }
}

fn expect_missing_404(missing: &Result<Answer, String>) -> Verdict {
    match missing {
        Ok(answer) if answer.status == StatusCode::NOT_FOUND => Verdict::pass(MISSING_404),
        _ => Verdict::fail(
            MISSING_404,
            Failure::new(
                "GET /orders/999 (no such order) did not answer 404",
                "A missing order is the client's mistake, not a server fault: a 500 would make \
                 clients retry a request that can never succeed, and page your on-call.",
            )
            .with(diff(
                &Shown::status(StatusCode::NOT_FOUND),
                &Shown::of_result(missing, &[]).without_body(),
            )),
        ),
    }
}

fn expect_order(found: &Result<Answer, String>, order: &Value) -> Verdict {
    let expected =
        Shown::status(StatusCode::OK).header("content-type", "application/json").json(order);
    let passed = matches!(found, Ok(answer) if answer.status == StatusCode::OK
        && answer.media_type().as_deref() == Some("application/json")
        && answer.json().as_ref() == Some(order));
    if passed {
        return Verdict::pass(HEALTHY_200);
    }
    let actual = match found {
        Ok(answer) => shown_as_json(answer),
        Err(what_happened) => Shown::missing(what_happened),
    };
    Verdict::fail(
        HEALTHY_200,
        Failure::new(
            "GET /orders/1 did not answer 200 with the order as JSON",
            "Error handling must not change what the happy path returns.",
        )
        .with(diff(&expected, &actual)),
    )
}
