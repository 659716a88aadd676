//! Lesson 1, the generic 500: a failure becomes one fixed answer for the client (the course's
//! JSON error or RFC 9457 problem details, a request id welcome) and a detailed line in the
//! server log, with no credential in either.
//!
//! The judge serves the learner's `app` over three failing databases (whose failures differ in
//! every detail, each run on two instances) and a healthy one, asks every route with a bearer
//! token, and compares: the answers must not depend on the failure, and each failure's details,
//! made when its request is, must reach the log after that request.

mod asked;
mod leaks;
mod logged;
mod plan;

use axum::http::StatusCode;
use serde_json::{Value, json};

use self::asked::{Asked, Kind};
use self::plan::HEALTHY;
use crate::judge::answer::{error_mismatch, mismatch};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder};
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

/// The error code of the course's generic 500.
pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";

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
    for served in &plan.served {
        match judge::serve(learner, recorder, &served.setup, app_failed).await? {
            Some(base) => bases.push(base),
            None => return Ok(()),
        }
    }
    let asked = asked::ask(learner, &plan, &bases).await;
    let of = |kind| asked::of(&asked, kind);
    recorder.decide(GENERIC_500, generic(of(Kind::Failed)));
    recorder.decide(PANIC_500, generic(of(Kind::Panicked)));
    recorder.decide(NO_LEAK, leaks::find(&plan, &asked));
    recorder.decide(LOGGED, logged::details(learner, &plan, &asked).await?);
    recorder.decide(PANIC_LOGGED, logged::panics(learner, &plan, &asked).await?);
    recorder.decide(NO_CREDENTIAL, logged::no_credential(learner, &plan).await?);
    let orders = &plan.served[HEALTHY].setup.orders;
    let order = |id| orders.iter().find(|order| order.id == id).map(|order| json!(order));
    recorder.decide(ALIVE, unlike(of(Kind::Health), StatusCode::OK, |_| None, "after the panics"));
    let missing = unlike(of(Kind::Missing), StatusCode::NOT_FOUND, |_| None, "(no such order)");
    recorder.decide(MISSING_404, missing);
    recorder.decide(HEALTHY_200, unlike(of(Kind::Found), StatusCode::OK, order, "(an order)"));
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

/// The first answer that is not a generic 500: the course's error object with code
/// `INTERNAL_ERROR` (any message, more fields welcome), or RFC 9457 problem details with
/// `"status": 500`.
fn generic<'a>(answers: impl Iterator<Item = &'a Asked>) -> Option<Failure> {
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    let mut wrong = answers.filter_map(|asked| {
        let (problem, diff) = error_mismatch(&asked.exchange.answer, status, INTERNAL_ERROR, &[])?;
        Some((asked, problem, diff))
    });
    let (asked, mut problem, diff) = wrong.next()?;
    // A dropped connection is what an uncaught panic looks like from outside.
    if asked.exchange.answer.as_ref().is_err_and(|seen| seen.contains("closed")) {
        problem
            .push_str(": nothing caught the panic (a layer wraps only the routes added before it)");
    }
    let more = match wrong.count() {
        0 => String::new(),
        more => format!(" (and {more} more answer(s) like it)"),
    };
    Some(Failure::of(format!("{}: {problem}{more}", asked.exchange.request.line())).with(diff))
}

/// The first answer without `status` (and, where `body` gives one for its id, that JSON body).
fn unlike<'a>(
    mut answers: impl Iterator<Item = &'a Asked>,
    status: StatusCode,
    body: impl Fn(u32) -> Option<Value>,
    what: &str,
) -> Option<Failure> {
    answers.find_map(|asked| {
        let diff = mismatch(&asked.exchange.answer, status, body(asked.id).as_ref())?;
        let line = asked.exchange.request.line();
        Some(Failure::of(format!("{line} {what} did not answer {}", status.as_u16())).with(diff))
    })
}
