//! Lesson 3, retry on 5xx, never on 4xx: the learner's client meets a scripted server in
//! fifteen scenarios at once. [`run`] plays them; [`main`] is the check target's.

mod judge;
mod scenario;
mod server;

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::join_all;

use self::judge::{CallOutcome, CallRecord};
use self::scenario::{CLIENT_TIMEOUT, Scenario};
use self::server::ScriptedServer;
use crate::harness::{self, panic_message};
use crate::protocol::{Outcome, Verdict};
use crate::{Recorder, RetryPolicy};

/// What the exercise exports: `get_with_retry`, as any async function of its shape.
pub trait GetWithRetry:
    AsyncFn(&reqwest::Client, &str, &RetryPolicy) -> Result<reqwest::Response, reqwest::Error>
{
}

impl<F> GetWithRetry for F where
    F: AsyncFn(&reqwest::Client, &str, &RetryPolicy) -> Result<reqwest::Response, reqwest::Error>
{
}

/// A stall of the checks' own thread longer than this means learner code blocked it.
const STALL: Duration = Duration::from_millis(250);

/// The `main` of lesson 3's check targets.
pub fn main(get_with_retry: impl GetWithRetry) -> ExitCode {
    let names: Vec<&str> = scenario::all().iter().map(|scenario| scenario.name).collect();
    harness::main(&names, async move |recorder| run(&get_with_retry, recorder).await)
}

/// Plays every scenario concurrently, each against its own server, so the whole check takes
/// about as long as the longest one.
pub async fn run(get_with_retry: &impl GetWithRetry, recorder: &mut Recorder) {
    let scenarios = scenario::all();
    let longest_stall = Cell::new(Duration::ZERO);
    let verdicts = tokio::select! {
        verdicts = join_all(scenarios.iter().map(|scenario| play(scenario, get_with_retry))) => verdicts,
        () = measure_stalls(&longest_stall) => unreachable!("measuring never ends"),
    };
    for mut verdict in verdicts {
        if longest_stall.get() > STALL
            && let Outcome::Fail(failure) = &mut verdict.outcome
        {
            failure.summary = format!(
                "your code blocked the async runtime for {} ms (std::thread::sleep? a loop that \
                 never awaits?), so every timing here is off: wait with tokio::time::sleep. {}",
                longest_stall.get().as_millis(),
                failure.summary
            );
        }
        recorder.record(verdict);
    }
}

/// Learner code that blocks the thread stalls every scenario at once and skews every timing.
/// A ticker polled beside the scenarios measures the longest such stall, so the report can
/// name the real cause instead of a dozen symptoms.
async fn measure_stalls(longest: &Cell<Duration>) {
    const TICK: Duration = Duration::from_millis(20);
    loop {
        let before = Instant::now();
        tokio::time::sleep(TICK).await;
        longest.set(longest.get().max(before.elapsed().saturating_sub(TICK)));
    }
}

async fn play(scenario: &Scenario, get_with_retry: &impl GetWithRetry) -> Verdict {
    let scripts =
        scenario.calls.iter().map(|(path, script)| (path.to_string(), script.clone())).collect();
    let server = ScriptedServer::start(scripts);
    let base = if scenario.listening {
        server.base.clone()
    } else {
        format!("http://{}", server::unused_port().await)
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("a client without TLS always builds");
    let mut calls = Vec::new();
    for (path, _) in &scenario.calls {
        let url = format!("{base}{path}");
        let started = Instant::now();
        let call = AssertUnwindSafe(get_with_retry(&client, &url, &scenario.policy)).catch_unwind();
        let outcome = tokio::select! {
            finished = tokio::time::timeout(scenario.deadline, call) => match finished {
                Err(_) => CallOutcome::TimedOut(scenario.deadline),
                Ok(Err(panic)) => CallOutcome::Panicked(panic_message(&*panic)),
                Ok(Ok(returned)) => CallOutcome::Returned(
                    returned.map(|response| response.status().as_u16()).map_err(|error| describe(&error)),
                ),
            },
            () = server.cap_reached() => CallOutcome::Capped,
        };
        let stop = !matches!(outcome, CallOutcome::Returned(_));
        calls.push(CallRecord { started, ended: Instant::now(), outcome });
        if stop {
            break;
        }
    }
    judge::judge(scenario, &calls, &server.arrivals())
}

/// A transport error in a few words.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if error.is_status() {
        format!(
            "an error made from the {} response",
            error.status().map_or(0, |status| status.as_u16())
        )
    } else {
        "the connection failed".into()
    }
}
