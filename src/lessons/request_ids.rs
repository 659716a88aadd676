//! Lesson "request ids": the debuggable 500. Every answer of the learner's service carries a
//! request id (the caller's when it is well-formed, a fresh unguessable one otherwise), every
//! error is RFC 9457 problem details with that id, the failure's one log line carries it with
//! the cause, and the shipping service is asked with it.
//!
//! The judge builds the learner's app five times: over a healthy database, a failing one and
//! one that is down, another healthy one in the same process, and one in a second process; all in front of
//! one shipping service of its own. It sends every request at once (ids good across the whole
//! charset and length, bad in every way a header can carry, none), then joins header, body,
//! the shipping service's request and the log on the id.

mod plan;
mod verdicts;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use httplings::fixtures::UpstreamSetup;
use httplings::lessons::request_ids::{Adapter, App, Serve};

use self::plan::{Ask, Incoming, Instance, Plan};
use crate::judge::bounds::PATIENCE;
use crate::judge::exchange::{Client, Exchange, Request};
use crate::judge::upstream::{Seen, Upstream};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned};

const HEADER: &str = "header";
const KEPT: &str = "kept";
const REPLACED: &str = "replaced";
const PROBLEM: &str = "problem";
const NO_LEAK: &str = "no-leak";
const LOGGED: &str = "logged";
const UPSTREAM: &str = "upstream";
const UNIQUE: &str = "unique";
const SERVED: &str = "served";

pub const CHECKS: &[&str] =
    &[SERVED, HEADER, KEPT, REPLACED, PROBLEM, NO_LEAK, LOGGED, UPSTREAM, UNIQUE];

/// How long the app's calls to the shipping service may take: those it never answers take this
/// long to fail.
const SHIPPING_TIMEOUT: Duration = Duration::from_secs(2);

/// The header the id travels in.
const REQUEST_ID: &str = "x-request-id";

/// Lesson "request ids"' judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "10_request_ids";
    const CHECKS: &'static [&'static str] = CHECKS;
    /// A second process: ids made by a generator seeded with a constant repeat there.
    const PROCESSES: usize = 2;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// Judges `app` on threads of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app }, seed).await
}

/// One request of the run, and everything the judge saw of it.
struct Asked<'a> {
    ask: &'a Ask,
    exchange: Exchange,
    /// The shipping service's request for its order, if it was asked.
    upstream: Option<Seen>,
}

/// Everything the verdicts read.
struct Run<'a> {
    plan: &'a Plan,
    asked: Vec<Asked<'a>>,
    shipping: &'a Upstream,
    /// The log of the first process since the requests went, and of the second.
    log: String,
    other_log: String,
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = Arc::new(Plan::draw(seed));
    let script = Arc::clone(&plan);
    let shipping = Upstream::start(move |seen| script.reply(seen)).await;
    let other = learner.other(0).unwrap_or(learner);
    let instances = [
        (Instance::Healthy, learner),
        (Instance::Failing, learner),
        (Instance::Down, learner),
        (Instance::Twin, learner),
        (Instance::Elsewhere, other),
    ];
    let mut clients = Vec::new();
    for (instance, process) in instances {
        let call = Serve {
            database: plan.database(instance),
            upstream: UpstreamSetup { base: shipping.base.clone(), timeout: SHIPPING_TIMEOUT },
        };
        let returned: Returned<Result<String, String>> =
            process.call("app()", &call, judge::APP_DEADLINE).await?;
        let problem = match returned {
            Returned::Value(Ok(base)) => {
                // Patient enough for the answer to a call to shipping that timed out.
                let patience = SHIPPING_TIMEOUT + PATIENCE;
                clients.push((instance, Client::with_timeout(base, patience)));
                continue;
            }
            Returned::Value(Err(problem)) | Returned::Panicked(problem) => problem,
            Returned::TimedOut(limit) => {
                format!("app() did not return within {} s", limit.as_secs())
            }
        };
        recorder.fail_the_rest(&Failure::new(
            problem,
            "No request can be answered until the router builds. In axum 0.8, path parameters \
             are written /orders/{id}.",
        ));
        return Ok(());
    }
    let (mark, other_mark) = (learner.log_mark(), other.log_mark());
    // Every request at once, each instance's released together.
    let bursts = clients.iter().map(|(instance, client)| {
        let asks: Vec<&Ask> = plan.asks.iter().filter(|ask| ask.instance == *instance).collect();
        let requests = asks.iter().map(|ask| request(ask)).collect();
        async move { asks.into_iter().zip(client.burst(requests).await).collect::<Vec<_>>() }
    });
    let answered: Vec<(&Ask, Exchange)> = join_all(bursts).await.into_iter().flatten().collect();
    learner.flush().await?;
    other.flush().await?;
    let seen = shipping.seen();
    let asked = answered
        .into_iter()
        .map(|(ask, exchange)| {
            let path = ask.order().map(|order| format!("/shipping/{order}"));
            let upstream = seen.iter().find(|one| Some(one.path()) == path.as_deref()).cloned();
            Asked { ask, exchange, upstream }
        })
        .collect();
    let run = Run {
        plan: &plan,
        asked,
        shipping: &shipping,
        log: learner.log_text_since(mark),
        other_log: if std::ptr::eq(other, learner) {
            String::new()
        } else {
            other.log_text_since(other_mark)
        },
    };
    recorder.decide(SERVED, verdicts::served(&run));
    recorder.decide(HEADER, verdicts::header(&run));
    recorder.decide(KEPT, verdicts::kept(&run));
    recorder.decide(REPLACED, verdicts::replaced(&run));
    recorder.decide(PROBLEM, verdicts::problem(&run));
    recorder.decide(NO_LEAK, verdicts::no_leak(&run));
    recorder.decide(LOGGED, verdicts::logged(&run));
    recorder.decide(UPSTREAM, verdicts::upstream(&run));
    recorder.decide(UNIQUE, verdicts::unique(&run));
    Ok(())
}

fn request(ask: &Ask) -> Request {
    let mut request = Request::get(ask.path());
    request.method = ask.method();
    match &ask.incoming {
        Incoming::None => {}
        Incoming::Good(value) => request = request.header(REQUEST_ID, value.clone()),
        // A line break in a bad id's value stands for a second header line.
        Incoming::Bad { value, .. } => {
            for line in value.split('\n') {
                request = request.header(REQUEST_ID, line);
            }
        }
    }
    if let Some((trace, parent)) = &ask.traceparent {
        request = request.header("traceparent", format!("00-{trace}-{parent}-01"));
    }
    request
}
