//! [`LearnerProcess`]: the learner's check target, running. Its standard input is one end of a
//! socket pair, the control connection (the adapter swaps it for `/dev/null` before any learner
//! code runs); its output goes to pipes, drained into one bounded capture: its log. Its
//! environment is a few variables a program needs and a temporary folder of its own, the one
//! place its sandbox lets it write. Nothing secret is on its command line or in its environment.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context;
use httplings::capture::SharedCapture;
use httplings::protocol::CONTROL_ON_STDIN;

use super::group::{self, Reaped};

pub struct LearnerProcess {
    child: Child,
    /// The runner's end of the control connection, until the judge takes it.
    control: Option<std::os::unix::net::UnixStream>,
    output: SharedCapture,
    drains: Vec<JoinHandle<()>>,
    _stopper: group::Stopper,
    /// Its `TMPDIR`, removed once it has stopped.
    _scratch: tempfile::TempDir,
}

/// The runner's variables the learner's process inherits: what a program and its log need.
/// Nothing else: cargo's (the manifest's path, the target folder) would point it at files to
/// tamper with.
const INHERITED: &[&str] =
    &["PATH", "HOME", "LANG", "LC_ALL", "RUST_BACKTRACE", "RUST_LOG", "NO_COLOR"];

impl LearnerProcess {
    /// Starts `executable` from the course folder. Call it from a thread that outlives the
    /// check (the main thread): on Linux the process is tied to the thread that started it.
    pub fn spawn(executable: &Path, root: &Path) -> anyhow::Result<Self> {
        let scratch = tempfile::Builder::new()
            .prefix("httplings-learner-")
            .tempdir()
            .context("could not create a temporary folder for the check")?;
        let (control, theirs) = std::os::unix::net::UnixStream::pair()
            .context("could not open the control connection for the check")?;
        let mut command = Command::new(executable);
        command
            .env_clear()
            .envs(INHERITED.iter().filter_map(|name| Some((name, std::env::var_os(name)?))))
            .env("TMPDIR", scratch.path())
            .current_dir(root)
            .arg(CONTROL_ON_STDIN)
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Everything it starts is reaped by the runner, whatever it does to its parents.
        group::adopt_orphans(true);
        let mut child =
            command.spawn().with_context(|| format!("could not start {}", executable.display()))?;
        let stopper = group::Stopper::watch(&child);
        let output = SharedCapture::default();
        let mut drains = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            drains.push(drain(stdout, output.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            drains.push(drain(stderr, output.clone()));
        }
        Ok(Self {
            child,
            control: Some(control),
            output,
            drains,
            _stopper: stopper,
            _scratch: scratch,
        })
    }

    /// The runner's end of the control connection (once).
    pub fn control(&mut self) -> Option<std::os::unix::net::UnixStream> {
        self.control.take()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process has written so far, stdout and stderr together.
    pub fn output(&self) -> SharedCapture {
        self.output.clone()
    }

    /// The exit status, once it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits (asynchronously) for the process to exit.
    pub async fn exit(&mut self) -> ExitStatus {
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until what the process wrote has been read to its end (its pipes closed), for
    /// `within` at most: a process that has just ended may have left its last lines in them.
    pub async fn drained(&self, within: Duration) {
        let started = Instant::now();
        while self.drains.iter().any(|drain| !drain.is_finished()) && started.elapsed() < within {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Ends the process and everything it started, reaps them all, and waits for its output to
    /// be drained. Returns how it had ended, if it ended by itself, and whether anything it
    /// started could not be reaped.
    pub fn stop(mut self) -> (Option<ExitStatus>, Reaped) {
        self.control.take();
        let exited = self.exited();
        let group = self.child.id();
        group::kill(group);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let reaped = group::reap(group);
        group::adopt_orphans(false);
        let grace = Instant::now();
        while self.drains.iter().any(|drain| !drain.is_finished())
            && grace.elapsed() < Duration::from_secs(1)
        {
            thread::sleep(Duration::from_millis(5));
        }
        (exited, reaped)
    }
}

/// Drains a pipe on its own thread, so a process that floods one stream never blocks. Whole
/// lines go into the capture: the other pipe's drain must never put a line of its own in the
/// middle of one (unbuffered stderr writes a line in pieces, and a log line glued to a panic
/// report would read as part of it).
fn drain(mut pipe: impl Read + Send + 'static, output: SharedCapture) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0; CHUNK];
        let mut lines = WholeLines::default();
        while let Ok(read @ 1..) = pipe.read(&mut chunk) {
            if let Some(whole) = lines.feed(&chunk[..read]) {
                output.push(&whole);
            }
        }
        output.push(&lines.rest());
    })
}

const CHUNK: usize = 64 * 1024;

/// A stream's bytes cut after their last line break, the rest kept for the next read. A line
/// longer than a read (a flood without line breaks) goes out in pieces: memory stays bounded.
#[derive(Default)]
struct WholeLines {
    pending: Vec<u8>,
}

impl WholeLines {
    /// The complete lines that `bytes` ends, with what was pending before them.
    fn feed(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        self.pending.extend_from_slice(bytes);
        let cut = match self.pending.iter().rposition(|byte| *byte == b'\n') {
            Some(at) => at + 1,
            None if self.pending.len() >= CHUNK => self.pending.len(),
            None => return None,
        };
        let rest = self.pending.split_off(cut);
        Some(std::mem::replace(&mut self.pending, rest))
    }

    /// What is left once the stream has ended: a last line without a break.
    fn rest(self) -> Vec<u8> {
        self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_written_in_pieces_is_kept_whole_beside_another_streams_line() {
        let output = SharedCapture::default();
        let mut stderr = WholeLines::default();
        let mut stdout = WholeLines::default();
        let push = |whole: Option<Vec<u8>>| output.push(&whole.unwrap_or_default());
        push(stderr.feed(b"panicked at x.rs"));
        push(stdout.feed(b"ERROR query q-1 failed\n"));
        push(stderr.feed(b": cache\nhalf"));
        output.push(&stderr.rest());
        let text = output.snapshot().text();
        assert_eq!(text, "ERROR query q-1 failed\npanicked at x.rs: cache\nhalf");
    }

    #[test]
    fn a_flood_without_line_breaks_goes_out_a_read_at_a_time() {
        let mut lines = WholeLines::default();
        assert_eq!(lines.feed(&[b'x'; CHUNK - 1]), None);
        assert_eq!(lines.feed(b"xy").map(|whole| whole.len()), Some(CHUNK + 1));
        assert!(lines.rest().is_empty());
    }
}
