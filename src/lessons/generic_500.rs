//! Lesson 1, the generic 500: a failure becomes one fixed JSON answer for the client and a
//! detailed line in the server log, with no credential in either.
//!
//! The judge serves the learner's `app` over two failing databases (whose failures differ in
//! every detail) and a healthy one, asks every route with a bearer token, and compares: the
//! answers must not depend on the failure's details, and the log must hold them.

mod asked;
mod leaks;
mod logged;
mod plan;

use axum::http::StatusCode;
use serde_json::{Value, json};

use self::asked::{Asked, FailingAnswers, HealthyAnswers};
use crate::judge::answer::{Answer, Shown};
use crate::judge::{self, Evidence, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder};
use httplings::lessons::generic_500::{Adapter, App};

const GENERIC_500: &str = "generic-500";
const PANIC_500: &str = "panic-500";
const NO_LEAK: &str = "no-leak";
const LOGGED: &str = "logged";
const PANIC_LOGGED: &str = "panic-logged";
const NO_CREDENTIAL: &str = "no-credential";
const ALIVE: &str = "alive";
const MISSING_404: &str = "missing-404";
const HEALTHY_200: &str = "healthy-200";

pub const CHECKS: &[&str] = &[
    GENERIC_500,
    PANIC_500,
    NO_LEAK,
    LOGGED,
    PANIC_LOGGED,
    NO_CREDENTIAL,
    ALIVE,
    MISSING_404,
    HEALTHY_200,
];

/// The one body a client ever sees for a server fault.
pub fn generic_500_body() -> Value {
    json!({"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}})
}

/// Judges `app` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app }, seed).await
}

/// Lesson 1's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "01_generic_500";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = plan::draw(seed);
    let mut bases = Vec::new();
    for instance in plan.failing.iter().chain([&plan.healthy]) {
        match judge::serve(learner, recorder, &instance.setup, app_failed).await? {
            Some(base) => bases.push(base),
            None => return Ok(()),
        }
    }
    let asked = Asked::ask(&plan, &bases).await;

    recorder.decide(GENERIC_500, generic(&asked.failing, |answers| &answers.orders, WHY_GENERIC));
    recorder.decide(PANIC_500, generic(&asked.failing, |answers| &answers.reports, WHY_PANIC));
    recorder.decide(NO_LEAK, leaks::find(&plan, &asked));
    recorder.decide(LOGGED, logged::diagnostics(learner, &plan).await?);
    recorder.decide(PANIC_LOGGED, logged::panics(learner, &plan).await?);
    recorder.decide(NO_CREDENTIAL, logged::no_credential(learner, &plan).await);
    recorder.decide(ALIVE, alive(&asked.failing, &asked.healthy));
    recorder.decide(MISSING_404, missing(&asked.healthy));
    recorder.decide(HEALTHY_200, found(&asked.healthy));
    Ok(())
}

/// Why every check fails when `app()` cannot build a router, in one line.
fn app_failed(problem: &str) -> Failure {
    // Installing a global subscriber with `init()` works once; app() is called once per database.
    if problem.contains("Unable to install global subscriber") || problem.contains("global default")
    {
        return Failure::new(
            "app() calls tracing_subscriber's init(), which panics the second time: the checks \
             call app() once per database. Use try_init(), or leave it out (the checks install a \
             subscriber that writes to stderr).",
            "A global subscriber can be installed once per process; in a real service that \
             happens in main, not in the function that builds the router.",
        );
    }
    Failure::new(
        problem.to_string(),
        "No request can be answered until the router builds. In axum 0.8, path parameters are \
         written /orders/{id}.",
    )
}

const WHY_GENERIC: &str = "Clients can act on a 500 (retry later, show an apology) only if \
    every fault looks the same: a fixed status, type and body. The details are for your log.";
const WHY_PANIC: &str = "A panic is a fault like any other: the client should get the same \
    generic answer. One that gets no answer at all cannot tell a bug from a network failure.";

/// Every answer `of` picks from both failing runs must be the generic 500.
fn generic(
    failing: &[FailingAnswers; 2],
    of: impl Fn(&FailingAnswers) -> &Vec<(String, Result<Answer, String>)>,
    why: &str,
) -> Option<Failure> {
    let expected = Shown::status(StatusCode::INTERNAL_SERVER_ERROR)
        .header("content-type", "application/json")
        .json(&generic_500_body());
    let answers = failing.iter().flat_map(|answers| {
        of(answers).iter().map(move |(path, answer)| (answers.name, path, answer))
    });
    let mut wrong =
        answers.filter_map(|(run, path, answer)| Some((run, path, answer, problems(answer)?)));
    let (run, path, answer, problems) = wrong.next()?;
    let others = wrong.count();
    let mut summary = format!("GET {path} ({run}): {problems}");
    if others > 0 {
        summary.push_str(&format!(" (and {others} more answer(s) like it)"));
    }
    let actual = match answer {
        Ok(answer) => shown_as_json(answer),
        Err(what_happened) => Shown::missing(what_happened),
    };
    Some(Failure::new(summary, why).with(diff(&expected, &actual)))
}

/// What keeps `answer` from being the generic 500, if anything.
fn problems(answer: &Result<Answer, String>) -> Option<String> {
    let answer = match answer {
        // A dropped connection is what an uncaught panic looks like from outside.
        Err(what_happened) if what_happened.contains("closed") => {
            return Some(
                "the connection dropped without an answer: nothing caught the panic (a layer \
                 only wraps the routes added before it)"
                    .into(),
            );
        }
        Err(what_happened) => return Some(what_happened.clone()),
        Ok(answer) => answer,
    };
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
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Shows `answer` with its Content-Type; one that only adds parameters to
/// `application/json` (`; charset=utf-8`) is shown as expected, so the diff stays quiet there.
fn shown_as_json(answer: &Answer) -> Shown {
    Shown::of(answer, &["content-type"]).media_type_shown_as("application/json")
}

fn diff(expected: &Shown, actual: &Shown) -> Evidence {
    Evidence::Diff { expected: expected.render(), actual: actual.render() }
}

fn alive(failing: &[FailingAnswers; 2], healthy: &HealthyAnswers) -> Option<Failure> {
    let healths = failing
        .iter()
        .map(|answers| (answers.name, &answers.health))
        .chain([("healthy", &healthy.health)]);
    let (run, health) = healths
        .into_iter()
        .find(|(_, health)| !matches!(health, Ok(answer) if answer.status == StatusCode::OK))?;
    Some(
        Failure::new(
            format!("GET /health ({run}) did not answer 200 after handlers panicked"),
            "One bad request must not take the server down for everyone else.",
        )
        .with(diff(&Shown::status(StatusCode::OK), &Shown::of_result(health, &[]).without_body())),
    )
}

fn missing(healthy: &HealthyAnswers) -> Option<Failure> {
    let (id, answer) = healthy.missing.iter().find(
        |(_, answer)| !matches!(answer, Ok(answer) if answer.status == StatusCode::NOT_FOUND),
    )?;
    Some(
        Failure::new(
            format!("GET /orders/{id} (no such order) did not answer 404"),
            "A missing order is the client's mistake, not a server fault: a 500 would make \
             clients retry a request that can never succeed, and page your on-call.",
        )
        .with(diff(
            &Shown::status(StatusCode::NOT_FOUND),
            &Shown::of_result(answer, &[]).without_body(),
        )),
    )
}

fn found(healthy: &HealthyAnswers) -> Option<Failure> {
    let (order, answer) = healthy.found.iter().find(|(order, answer)| {
        !matches!(answer, Ok(answer) if answer.status == StatusCode::OK
            && answer.media_type().as_deref() == Some("application/json")
            && answer.json().as_ref() == Some(&json!(order)))
    })?;
    let expected = Shown::status(StatusCode::OK)
        .header("content-type", "application/json")
        .json(&json!(order));
    let actual = match answer {
        Ok(answer) => shown_as_json(answer),
        Err(what_happened) => Shown::missing(what_happened),
    };
    Some(
        Failure::new(
            format!("GET /orders/{} did not answer 200 with the order as JSON", order.id),
            "Error handling must not change what the happy path returns.",
        )
        .with(diff(&expected, &actual)),
    )
}
