//! Reading the learner's log: whatever its process wrote, on stdout or stderr. Panic reports
//! are marked by the adapter, so a check can tell a line the learner chose to log from a panic
//! report that merely repeats an error's text.

use std::time::{Duration, Instant};

use super::Learner;
use httplings::adapter::PANIC_LINE_PREFIX;

/// How long output may take to travel from the learner's process into the capture.
const ARRIVAL: Duration = Duration::from_millis(600);

/// Waits (briefly) until the log holds, for each of `wanted`, a line for which it is true;
/// returns the places in `wanted` of those still without one.
pub async fn unlogged(learner: &Learner, wanted: &[impl Fn(&str) -> bool]) -> Vec<usize> {
    let started = Instant::now();
    loop {
        let text = learner.log().text();
        let missing: Vec<usize> =
            (0..wanted.len()).filter(|index| !text.lines().any(&wanted[*index])).collect();
        if missing.is_empty() || started.elapsed() >= ARRIVAL {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `line` is a panic report rather than something the learner logged.
pub fn is_panic_report(line: &str) -> bool {
    line.starts_with(PANIC_LINE_PREFIX)
}

/// The last `count` non-blank lines of `text`, each cut to a readable length.
pub fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    let shown: Vec<String> =
        lines[lines.len().saturating_sub(count)..].iter().map(|line| shortened(line)).collect();
    if shown.is_empty() { "(nothing was written)".into() } else { shown.join("\n") }
}

/// The lines of `text` that contain `needle`, each cut to a readable length.
pub fn lines_with(text: &str, needle: &str, count: usize) -> String {
    let lines: Vec<String> =
        text.lines().filter(|line| line.contains(needle)).take(count).map(shortened).collect();
    lines.join("\n")
}

/// Lines longer than this are cut when shown: one line can be megabytes.
const SHOWN_LINE: usize = 200;

pub fn shortened(line: &str) -> String {
    match line.char_indices().nth(SHOWN_LINE) {
        Some((cut, _)) => format!("{}… ({} more bytes)", &line[..cut], line.len() - cut),
        None => line.to_string(),
    }
}
