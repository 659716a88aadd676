//! Where the learner's logging goes. In a check process: wherever the learner's own tracing
//! subscriber writes, or stderr through the course's; either way the runner reads it. In
//! process (the project's tests): into the capture of the learner's threads.

use std::cell::RefCell;
use std::sync::OnceLock;

use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets, filter_fn};
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

use crate::capture::SharedCapture;
use crate::protocol::FLUSH_LINE_PREFIX;

thread_local! {
    /// The in-process learner's log, on the threads that run its code.
    pub(super) static THREAD_LOG: RefCell<Option<(SharedCapture, tracing::dispatcher::DefaultGuard)>> =
        const { RefCell::new(None) };
}

/// The libraries under the learner's code, whose own events below INFO would only flood the log.
const LIBRARIES: [&str; 8] = ["hyper", "h2", "tokio", "mio", "want", "reqwest", "tower", "axum"];

/// What the course's subscriber writes: the learner's own events at every level (a secret logged
/// at DEBUG has reached a log all the same: levels are switched on when an incident needs them,
/// and the checks read every line for credentials), the libraries' at INFO and above.
fn learners_at_every_level() -> Targets {
    LIBRARIES.iter().fold(Targets::new().with_default(LevelFilter::TRACE), |targets, library| {
        targets.with_target(*library, LevelFilter::INFO)
    })
}

/// The least level of the spans this check process's log shows ([`super::Handler::SPANS`]),
/// set once before any learner code runs.
static SPANS: OnceLock<LevelFilter> = OnceLock::new();

pub(super) fn show_spans_from(spans: LevelFilter) {
    let _ = SPANS.set(spans);
}

/// [`learners_at_every_level`] for events; spans only from `spans` up. A span the log does not
/// show is disabled, as production's filter disables it: the events in it lose its fields.
fn filter(
    spans: LevelFilter,
) -> impl tracing_subscriber::layer::Filter<tracing_subscriber::Registry> + Send + Sync {
    learners_at_every_level().and(filter_fn(move |meta| !meta.is_span() || spans >= *meta.level()))
}

/// Installs the course's subscriber (plain text on stderr) unless the learner installed one:
/// a learner who calls `tracing_subscriber::fmt().init()` in `app()` keeps theirs.
pub fn ensure_log() {
    let in_process = THREAD_LOG.with(|log| log.borrow().is_some());
    if !in_process && !tracing::dispatcher::has_been_set() {
        let spans = SPANS.get().copied().unwrap_or(LevelFilter::TRACE);
        let layer = fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(false);
        let _ = tracing_subscriber::registry().with(layer.with_filter(filter(spans))).try_init();
    }
}

/// One subscriber for an in-process learner, writing to `log`, with spans from `spans` up:
/// shared by all its threads, so that a span opened on one thread is known on the next (tasks
/// move between threads).
pub(super) fn subscriber_for(log: &SharedCapture, spans: LevelFilter) -> tracing::Dispatch {
    let layer = fmt::layer().with_writer(log.clone()).with_ansi(false).with_target(false);
    tracing::Dispatch::new(tracing_subscriber::registry().with(layer.with_filter(filter(spans))))
}

/// Sends what this thread logs (through `dispatch`), and its panic reports, to `log`.
pub(super) fn capture_this_thread(log: &SharedCapture, dispatch: &tracing::Dispatch) {
    let guard = tracing::dispatcher::set_default(dispatch);
    THREAD_LOG.with(|slot| *slot.borrow_mut() = Some((log.clone(), guard)));
}

/// Appends a line to this thread's in-process log; false when it has none.
pub(super) fn write_line(line: &str) -> bool {
    THREAD_LOG.with(|slot| match &*slot.borrow() {
        Some((log, _)) => {
            log.push(format!("{line}\n").as_bytes());
            true
        }
        None => false,
    })
}

/// Writes a flush line after what was logged so far: into the in-process log, or on stdout and
/// on stderr (stdout's buffer first) for the runner to read.
pub(super) fn flush(marker: &str) {
    let line = format!("{FLUSH_LINE_PREFIX}{marker}");
    if write_line(&line) {
        return;
    }
    use std::io::Write;
    let line = format!("{line}\n");
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
    // One write each: stderr is unbuffered, and `writeln!` writes the line and its break apart.
    let _ = std::io::stderr().write_all(line.as_bytes());
}
