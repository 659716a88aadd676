//! What every check process shares: its entry point ([`main`]), the [`Recorder`] that streams
//! verdicts to the runner, and the means to serve a learner's router and read its answers.

mod answer;

use std::any::Any;
use std::fs::File;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;

use crate::protocol::{Failure, Message, PANIC_LINE_PREFIX, REPORT_PATH_VAR, Verdict};

pub(crate) use answer::{Answer, Shown};

/// How long a check waits for one answer from the learner's server.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// Collects verdicts and, in a check process, streams each to the runner as it is reached,
/// so that a crash later on loses nothing already decided.
pub struct Recorder {
    sink: Option<Box<dyn Write>>,
    verdicts: Vec<Verdict>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("verdicts", &self.verdicts).finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A recorder that only keeps the verdicts in memory (for tests).
    pub fn new() -> Self {
        Self { sink: None, verdicts: Vec::new() }
    }

    fn streaming(sink: Box<dyn Write>) -> Self {
        Self { sink: Some(sink), verdicts: Vec::new() }
    }

    fn send(&mut self, message: &Message) {
        if let Some(sink) = &mut self.sink {
            let line = serde_json::to_string(message).expect("messages always serialise");
            // A runner that went away cannot be told anything; carry on and let it time out.
            let _ = writeln!(sink, "{line}").and_then(|()| sink.flush());
        }
    }

    pub fn record(&mut self, verdict: Verdict) {
        self.send(&Message::Verdict(verdict.clone()));
        self.verdicts.push(verdict);
    }

    /// Fails every named check for one shared reason.
    pub(crate) fn fail_all(&mut self, checks: &[&str], failure: &Failure) {
        for check in checks {
            self.record(Verdict::fail(*check, failure.clone()));
        }
    }

    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }
}

/// The `main` of a check target: announces `plan`, runs `checks` on a fresh runtime and
/// streams the verdicts to the file the runner named (stdout when run by hand).
pub(crate) fn main(plan: &[&str], checks: impl AsyncFnOnce(&mut Recorder)) -> ExitCode {
    install_panic_hook();
    // The learner's `tracing::error!` lands in stderr, the server log the runner reads.
    tracing_subscriber::fmt().with_writer(io::stderr).with_ansi(false).with_target(false).init();

    let sink: Box<dyn Write> = match std::env::var_os(REPORT_PATH_VAR) {
        Some(path) => match File::create(&path) {
            Ok(file) => Box::new(file),
            Err(error) => {
                eprintln!("httplings: cannot write the report to {}: {error}", path.display());
                return ExitCode::from(3);
            }
        },
        None => Box::new(io::stdout()),
    };
    let mut recorder = Recorder::streaming(sink);
    recorder.send(&Message::Plan { checks: plan.iter().map(|check| check.to_string()).collect() });

    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("httplings: cannot start the async runtime: {error}");
                return ExitCode::from(3);
            }
        };
    runtime.block_on(checks(&mut recorder));
    // A handler stuck in a blocking call must not keep the process alive after the verdicts.
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::SUCCESS
}

/// Panic reports go to the server log on one marked line each, so the runner can tell a log
/// line the learner wrote from a panic report that merely repeats an error's text.
fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let message = panic_message(info.payload()).replace('\n', " ");
        // Check targets pull exercises in through `src/bin/../../`: show the path as the learner knows it.
        let location = info
            .location()
            .map(|at| {
                let file = at.file().rsplit_once("../").map_or(at.file(), |(_, file)| file);
                format!(" at {file}:{}:{}", at.line(), at.column())
            })
            .unwrap_or_default();
        eprintln!("{PANIC_LINE_PREFIX}{location}: {message}");
    }));
}

/// The text of a panic, whatever its payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Calls learner code that may panic; a panic becomes its message.
pub(crate) fn catch<T>(learner_code: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(learner_code)).map_err(|payload| panic_message(&*payload))
}

/// The runtime every server of a check process runs on, apart from the checks' own: when
/// learner code blocks a thread on one side, the other side's clocks and timeouts still run.
pub(crate) fn server_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("server")
            .enable_all()
            .build()
            .expect("a runtime for the test servers")
    })
}

/// A fresh loopback port, to be served on [`server_runtime`].
pub(crate) fn loopback_listener() -> std::net::TcpListener {
    let listener =
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback port to serve on");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    listener
}

/// Serves `router` on a fresh loopback port and returns its base URL.
pub(crate) fn serve(router: Router) -> String {
    let listener = loopback_listener();
    let address = listener.local_addr().expect("a bound listener has an address");
    server_runtime().spawn(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).expect("a listener tokio can use");
        axum::serve(listener, router).await
    });
    format!("http://{address}")
}

/// The client the checks use: no proxy, no redirects, and a deadline on every answer.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .expect("a client without TLS always builds")
}
