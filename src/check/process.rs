//! [`LearnerProcess`]: the learner's check target, running. It gets the judge's address and a
//! token on its command line, a pipe for standard input that is its lifeline (it ends when the
//! pipe closes), and pipes for its output, which are drained into one bounded capture: its log.
//! Its environment is a few variables a program needs and a temporary folder of its own, the
//! one place its sandbox lets it write.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context;
use httplings::capture::SharedCapture;
use httplings::protocol::{CONTROL_FLAG, TOKEN_FLAG};

use super::group;

pub struct LearnerProcess {
    child: Child,
    /// Held, never written: when the runner drops it, or dies, the learner's process ends.
    lifeline: Option<ChildStdin>,
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
    &["PATH", "HOME", "LANG", "LC_ALL", "RUST_BACKTRACE", "RUST_LOG", "NO_COLOR", "SYSTEMROOT"];

impl LearnerProcess {
    /// Starts `executable` from the course folder. Call it from a thread that outlives the
    /// check (the main thread): on Linux the process is tied to the thread that started it.
    pub fn spawn(
        executable: &Path,
        root: &Path,
        control: SocketAddr,
        token: &str,
    ) -> anyhow::Result<Self> {
        let scratch = tempfile::Builder::new()
            .prefix("httplings-learner-")
            .tempdir()
            .context("could not create a temporary folder for the check")?;
        let mut command = Command::new(executable);
        command
            .env_clear()
            .envs(INHERITED.iter().filter_map(|name| Some((name, std::env::var_os(name)?))))
            .env("TMPDIR", scratch.path())
            .current_dir(root)
            .arg(CONTROL_FLAG)
            .arg(control.to_string())
            .arg(TOKEN_FLAG)
            .arg(token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        group::own_group(&mut command);
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
        let lifeline = child.stdin.take();
        Ok(Self { child, lifeline, output, drains, _stopper: stopper, _scratch: scratch })
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

    /// Ends the process and everything it started, and waits for its output to be drained:
    /// never long, even if something escaped its group and holds the pipes open. Returns how
    /// it had ended, if it ended by itself.
    pub fn stop(mut self) -> Option<ExitStatus> {
        self.lifeline.take();
        let exited = self.exited();
        group::stop(&self.child);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let grace = Instant::now();
        while self.drains.iter().any(|drain| !drain.is_finished())
            && grace.elapsed() < Duration::from_secs(1)
        {
            thread::sleep(Duration::from_millis(5));
        }
        exited
    }
}

/// Drains a pipe on its own thread, so a process that floods one stream never blocks.
fn drain(mut pipe: impl Read + Send + 'static, output: SharedCapture) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0; 64 * 1024];
        while let Ok(read @ 1..) = pipe.read(&mut chunk) {
            output.push(&chunk[..read]);
        }
    })
}
