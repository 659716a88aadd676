//! Panics in learner code: each is reported on one marked line of the log (so the runner can
//! name it as the cause when it ends the process) and remembered with its location, so that a
//! caught panic can be described as "message (at file:line)".

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

use super::log;

/// How a panic report line starts; see [`crate::judge::log`] for who reads it.
pub const PANIC_LINE_PREFIX: &str = "httplings: learner code panicked";

thread_local! {
    /// The location of the last panic on this thread, for the call that catches it.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// In a check process: every panic report goes to stderr, on one marked line.
pub(super) fn install_reporting_to_stderr() {
    panic::set_hook(Box::new(|info| {
        // One write: stderr is unbuffered, and `eprintln!` writes the line and its break apart.
        let line = format!("{}\n", report_line(info));
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }));
}

/// In process: panics on the learner's threads go to its log; others as before.
pub(super) fn install_reporting_to_thread_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !log::write_line(&report_line(info)) {
                previous(info);
            }
        }));
    });
}

fn report_line(info: &PanicHookInfo<'_>) -> String {
    let location = info.location().map(|at| {
        // Check targets pull exercises in through `src/bin/../../`: show the path the learner knows.
        let file = at.file().rsplit_once("../").map_or(at.file(), |(_, file)| file);
        format!("{file}:{}:{}", at.line(), at.column())
    });
    LAST_LOCATION.with(|last| last.borrow_mut().clone_from(&location));
    let message = payload_text(info.payload()).replace('\n', " ");
    match location {
        Some(location) => format!("{PANIC_LINE_PREFIX} at {location}: {message}"),
        None => format!("{PANIC_LINE_PREFIX}: {message}"),
    }
}

/// The text of a panic payload.
pub(crate) fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// A caught panic as the learner should read it: its message and, when known, where it was.
pub fn describe(payload: &(dyn Any + Send)) -> String {
    let message = payload_text(payload);
    match LAST_LOCATION.with(|last| last.borrow_mut().take()) {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    }
}

/// Calls learner code that may panic; a panic becomes its description.
pub fn catch<T>(learner_code: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(learner_code)).map_err(|payload| describe(&*payload))
}
