//! The adapter: the thin layer around the learner's module that runs in the learner's own
//! process (or, for the project's tests, on a thread of its own). It judges nothing. It walls
//! the process in, takes the connection to the judge that the runner handed it, then answers each [`Request`](crate::protocol::Request) by calling
//! the learner's code through a lesson's [`Handler`] and sending back what that code returned.
//!
//! [`main`] is the `main` of every check target; [`in_process`] runs the same adapter on a
//! thread, so that the judge can be tested against many answers without building binaries.

mod channel;
mod control;
mod lifeline;
mod log;
mod panics;
mod sandbox;
mod seen;

use std::future::Future;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use axum::Router;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::task::LocalSet;

use crate::capture::SharedCapture;
use crate::cpu::CpuClock;
use crate::protocol::{CONTROL_ON_STDIN, Hello};

pub use self::log::ensure_log;
pub use self::panics::{PANIC_LINE_PREFIX, catch, describe as describe_panic};
pub use self::seen::{SeenError, SeenResponse, seen};

/// What a lesson's adapter does with each call: call the learner's code and say what it returned.
///
/// Calls run on one thread, concurrently (a `LocalSet`), so learner futures need not be `Send`;
/// `self` comes as an `Rc` so that each call's future can own a handle to the adapter's state.
pub trait Handler: 'static {
    type Call: DeserializeOwned;
    type Reply: Serialize;

    fn handle(self: Rc<Self>, call: Self::Call) -> impl Future<Output = Self::Reply>;

    /// The least level of the learner's spans the log shows (its events show at every level):
    /// a lesson that judges what production's log would carry shows what its filter would.
    const SPANS: tracing::level_filters::LevelFilter = tracing::level_filters::LevelFilter::TRACE;
}

/// The `main` of a check target: walls the process in, takes the control connection the runner
/// handed it, says hello, and answers the judge's calls until it hangs up. Run by hand, it
/// explains itself and exits. `built_from` is what the runner asked cargo to build this binary
/// from (see [`Hello::built_from`]).
pub fn main<H: Handler>(built_from: Option<&str>, handler: H) -> ExitCode {
    if !std::env::args().skip(1).any(|argument| argument == CONTROL_ON_STDIN) {
        eprintln!(
            "This program runs your exercise for httplings' checks and decides nothing by itself. \
             Run `cargo run -- check` instead."
        );
        return ExitCode::from(2);
    }
    // First, before any learner code can run (there is none before `main`: the check targets
    // forbid `unsafe`, and with it every way to run code earlier).
    let sandbox = sandbox::enter();
    let control = match channel::take() {
        Ok(control) => control,
        Err(problem) => {
            eprintln!("httplings: {problem}");
            return ExitCode::from(3);
        }
    };
    lifeline::hold(&control);
    panics::install_reporting_to_stderr();
    log::show_spans_from(H::SPANS);
    let runtime = match learner_runtime(None) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("httplings: cannot start the async runtime: {error}");
            return ExitCode::from(3);
        }
    };
    let hello = Hello { sandbox, built_from: built_from.map(String::from) };
    let connected = runtime.block_on(LocalSet::new().run_until(async move {
        let mut stream = channel::into_async(control)?;
        let hello = serde_json::to_string(&hello).expect("a hello always serialises");
        stream.write_all(format!("{hello}\n").as_bytes()).await?;
        control::serve(stream, Rc::new(handler)).await;
        Ok::<(), std::io::Error>(())
    }));
    if let Err(error) = connected {
        eprintln!("httplings: cannot reach the checks: {error}");
        return ExitCode::from(3);
    }
    // The judge hung up: the checks are over. Learner code may still be running on other threads;
    // it ends with the process.
    lifeline::end_everything()
}

/// The adapter running on a thread of the calling process, for the project's tests: the judge
/// talks to it over [`InProcess::stream`] exactly as it would over a connection.
#[derive(Debug)]
pub struct InProcess {
    pub stream: DuplexStream,
    /// What the learner's code logged (through `tracing`) and its panic reports.
    pub log: SharedCapture,
    pub cpu: CpuClock,
}

/// Starts `handler` on a thread (and a runtime) of its own.
pub fn in_process<H: Handler + Send>(handler: H) -> InProcess {
    panics::install_reporting_to_thread_logs();
    let (judge_end, learner_end) = tokio::io::duplex(1 << 20);
    let log = SharedCapture::default();
    let cpu = CpuClock::threads();
    let (thread_log, thread_cpu) = (log.clone(), cpu.clone());
    let dispatch = log::subscriber_for(&log, H::SPANS);
    let (started, ready) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name("learner".into())
        .spawn(move || {
            log::capture_this_thread(&thread_log, &dispatch);
            thread_cpu.count_this_thread();
            let _ = started.send(());
            let runtime = learner_runtime(Some((thread_log, thread_cpu, dispatch)))
                .expect("a runtime for an in-process learner");
            runtime
                .block_on(LocalSet::new().run_until(control::serve(learner_end, Rc::new(handler))));
            // Learner code stuck on a worker must not hold up the test that is done with it.
            runtime.shutdown_background();
        })
        .expect("a thread for an in-process learner");
    // Its CPU time counts from the start: the judge may read the clock at once.
    let _ = ready.recv();
    InProcess { stream: judge_end, log, cpu }
}

/// The learner's runtime: two workers for its servers, plus the thread that runs the calls.
fn learner_runtime(
    in_process: Option<(SharedCapture, CpuClock, tracing::Dispatch)>,
) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2).thread_name("learner-worker").enable_all();
    if let Some((log, cpu, dispatch)) = in_process {
        builder.on_thread_start(move || {
            log::capture_this_thread(&log, &dispatch);
            cpu.count_this_thread();
        });
    }
    builder.build()
}

/// Serves `router` on a fresh loopback port, on the learner's runtime, and returns its base URL.
pub async fn serve(router: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(format!("http://{address}"))
}

/// Builds a router with learner code that may panic (an `app()`), makes sure there is a log for
/// what it writes (a subscriber of the learner's own, or else the course's), and serves it.
/// `Err` says what went wrong: the panic, or (rarely) no port to serve on.
pub async fn serve_app(app: impl FnOnce() -> Router) -> Result<String, String> {
    let built = catch(app);
    ensure_log();
    let router = built.map_err(|panic| format!("app() panicked: {panic}"))?;
    serve(router).await.map_err(|error| format!("no loopback port to serve on: {error}"))
}

/// Reads a response's body, but no more than `limit` bytes and for no longer than `within`.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    within: Duration,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let reading = async {
        while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                body.truncate(limit);
                break;
            }
        }
        Ok::<(), String>(())
    };
    match tokio::time::timeout(within, reading).await {
        Ok(Ok(())) => Ok(body),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(format!("the body did not arrive within {} ms", within.as_millis())),
    }
}
