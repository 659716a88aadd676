//! Builds one check target with cargo, then runs it under a time limit, keeping what it
//! reports and a bounded amount of what it prints: learner code may loop, crash or flood.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
            format!(
                "could not run {}: is Rust installed?",
                cargo.to_string_lossy()
            )
        })?;
    if !output.status.success() {
        return Ok(Build::Failed(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
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

/// The start of an output stream, and how long the whole stream was.
#[derive(Debug, Default)]
pub struct Captured {
    pub kept: Vec<u8>,
    pub total: u64,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.kept).into_owned()
    }

    pub fn truncated(&self) -> bool {
        self.total > self.kept.len() as u64
    }
}

/// Runs a built check target from the course folder and waits at most `limit` for it.
pub fn run(executable: &Path, root: &Path, limit: Duration) -> anyhow::Result<Run> {
    let report = tempfile::NamedTempFile::new().context("could not create a report file")?;
    let mut child = Command::new(executable)
        .current_dir(root)
        .env(REPORT_PATH_VAR, report.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", executable.display()))?;
    let stdout = keep(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = keep(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let end = wait(&mut child, limit)?;
    let messages = read_messages(report.path())?;
    Ok(Run {
        messages,
        stdout: joined(stdout),
        stderr: joined(stderr),
        end,
    })
}

fn wait(child: &mut Child, limit: Duration) -> anyhow::Result<End> {
    let started = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .context("could not wait for the check process")?
        {
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

/// Drains a pipe on its own thread, so a child that floods one stream never blocks on it.
fn keep(pipe: Option<Box<dyn Read + Send>>) -> JoinHandle<Captured> {
    thread::spawn(move || {
        let mut captured = Captured::default();
        let Some(mut pipe) = pipe else {
            return captured;
        };
        let mut chunk = [0; 64 * 1024];
        while let Ok(read) = pipe.read(&mut chunk) {
            if read == 0 {
                break;
            }
            let room = KEPT_BYTES.saturating_sub(captured.kept.len());
            captured.kept.extend_from_slice(&chunk[..read.min(room)]);
            captured.total += read as u64;
        }
        captured
    })
}

fn joined(reader: JoinHandle<Captured>) -> Captured {
    reader.join().unwrap_or_default()
}

/// Reads the JSON lines a check process wrote. A torn last line (the process was killed
/// mid-write) is dropped; what came before it stands.
fn read_messages(path: &Path) -> anyhow::Result<Vec<Message>> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(16 * KEPT_BYTES as u64).read_to_string(&mut text))
        .context("could not read the check process's report")?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
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
