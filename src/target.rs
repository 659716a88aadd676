//! Builds one check target with cargo, then runs it under a time limit, keeping what it
//! reports and a bounded amount of what it prints: learner code may loop, crash or flood.

mod group;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use httplings::protocol::{Message, REPORT_PATH_VAR};

/// How much of each output stream is kept; the rest is counted, not stored.
const KEPT_BYTES: usize = 1 << 20;

/// What `cargo build` made of a check target.
#[derive(Debug)]
pub enum Build {
    Ready(PathBuf),
    /// It did not compile; cargo's rendered diagnostics.
    Failed(String),
}

/// Builds `target` with the dev profile and target dir that `cargo run` uses, so the
/// dependencies are compiled once for the runner and every exercise.
pub fn build(root: &Path, target: &str, color: bool) -> anyhow::Result<Build> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let output = Command::new(&cargo)
        .current_dir(root)
        .args(["build", "--bin", target, "--features", "check-targets"])
        .args(["--message-format", "json-render-diagnostics"])
        .args(["--color", if color { "always" } else { "never" }])
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!("could not run {}: is Rust installed?", cargo.to_string_lossy())
        })?;
    if !output.status.success() {
        return Ok(Build::Failed(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    match executable_named(&stdout, target) {
        Some(path) => Ok(Build::Ready(path)),
        None => bail!("cargo built {target} but did not say where the executable is"),
    }
}

/// Finds the executable of `target` among cargo's JSON messages.
fn executable_named(messages: &str, target: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == target)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

/// What a finished (or stopped) check process left behind.
#[derive(Debug)]
pub struct Run {
    pub messages: Vec<Message>,
    pub stdout: Captured,
    pub stderr: Captured,
    pub end: End,
}

/// How a check process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It exited with this code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// It was still running at the time limit and was killed.
    TimedOut(Duration),
}

/// What is kept of an output stream: its start and its end, and how long it was in all.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    pub head: Vec<u8>,
    /// The last bytes, once the stream outgrew `head`.
    pub tail: VecDeque<u8>,
    pub total: u64,
}

impl Captured {
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = KEPT_BYTES.saturating_sub(self.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(head);
        self.tail.extend(rest);
        let excess = self.tail.len().saturating_sub(KEPT_BYTES);
        self.tail.drain(..excess);
    }

    /// The kept text; where bytes were dropped from the middle, a line says how many.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.truncated() {
            let dropped = self.total - (self.head.len() + self.tail.len()) as u64;
            text.push_str(&format!("\n… ({dropped} bytes not kept) …\n"));
            let tail: Vec<u8> = self.tail.iter().copied().collect();
            text.push_str(&String::from_utf8_lossy(&tail));
        }
        text
    }

    pub fn truncated(&self) -> bool {
        self.total > (self.head.len() + self.tail.len()) as u64
    }
}

/// Runs a built check target from the course folder and waits at most `limit` for it.
pub fn run(executable: &Path, root: &Path, limit: Duration) -> anyhow::Result<Run> {
    let report = tempfile::NamedTempFile::new().context("could not create a report file")?;
    let mut command = Command::new(executable);
    command
        .current_dir(root)
        .env(REPORT_PATH_VAR, report.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    group::own_group(&mut command);
    let mut child =
        command.spawn().with_context(|| format!("could not start {}", executable.display()))?;
    let _stopper = group::Stopper::watch(&child);
    let stdout = keep(child.stdout.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
    let stderr = keep(child.stderr.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
    let end = wait(&mut child, limit)?;
    // Whatever the learner's code started dies with it, and its pipes close.
    group::stop(&child);
    let messages = read_messages(report.path())?;
    Ok(Run { messages, stdout: drained(stdout), stderr: drained(stderr), end })
}

fn wait(child: &mut Child, limit: Duration) -> anyhow::Result<End> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("could not wait for the check process")? {
            return Ok(End::Exited(status.code()));
        }
        if started.elapsed() >= limit {
            // Already gone is fine: either way it is not running any more.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(End::TimedOut(limit));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A stream being drained on its own thread, so a child that floods one stream never blocks.
struct Draining {
    captured: Arc<Mutex<Captured>>,
    reader: JoinHandle<()>,
}

fn keep(pipe: Option<Box<dyn Read + Send>>) -> Draining {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let shared = Arc::clone(&captured);
    let reader = thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0; 64 * 1024];
        while let Ok(read @ 1..) = pipe.read(&mut chunk) {
            shared.lock().unwrap_or_else(PoisonError::into_inner).push(&chunk[..read]);
        }
    });
    Draining { captured, reader }
}

/// What a stream said, once it closed, or after a moment's grace if something still holds it
/// open (a process that escaped its group): the runner must never hang on a pipe.
fn drained(stream: Draining) -> Captured {
    let grace = Instant::now();
    while !stream.reader.is_finished() && grace.elapsed() < Duration::from_secs(1) {
        thread::sleep(Duration::from_millis(5));
    }
    stream.captured.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Reads the JSON lines a check process wrote. A torn last line (the process was killed
/// mid-write) is dropped; what came before it stands.
fn read_messages(path: &Path) -> anyhow::Result<Vec<Message>> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(16 * KEPT_BYTES as u64).read_to_string(&mut text))
        .context("could not read the check process's report")?;
    Ok(text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_of_the_named_target_only() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"httplings"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"exercise-01"},"executable":"/t/exercise-01"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            executable_named(&messages, "exercise-01"),
            Some(PathBuf::from("/t/exercise-01"))
        );
        assert_eq!(executable_named(&messages, "exercise-02"), None);
    }
}
