//! Judging a learner's process: start it, take its call, hand it to the lesson's judge, and
//! watch, beside the judge, for what only the runner can see: the process ending, or the time
//! limit passing. Whatever happens, the process is stopped before this returns.

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::Context;
use httplings::adapter::PANIC_LINE_PREFIX;
use httplings::cpu::CpuClock;
use httplings::protocol::Hello;
use httplings_judge::judge::{Learner, Lost, Recorder, Verdict, log, seed};
use httplings_judge::lessons::LessonJudge;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::process::LearnerProcess;
use super::{Event, Interruption};

/// How long a freshly started process may take to call back.
const STARTUP: Duration = Duration::from_secs(10);

/// How often a waiting report is told that time passes.
const TICK: Duration = Duration::from_millis(250);

#[derive(Debug, Default)]
pub struct Judged {
    pub verdicts: Vec<Verdict>,
    pub interruption: Option<Interruption>,
    /// What the learner's code printed while each check was being judged: from the previous
    /// decision to this one (the first check's share starts with the process).
    pub outputs: HashMap<String, String>,
}

pub fn judge(
    root: &Path,
    executable: &Path,
    lesson: &LessonJudge,
    seed: u64,
    limit: Duration,
    on_event: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<Judged> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the judge's async runtime")?;
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("could not open a loopback port")?;
    listener.set_nonblocking(true).context("could not configure a loopback port")?;
    let token = seed::token(&mut seed::rng(seed::fresh()), 32);
    // Started here, on the main thread, which outlives the check.
    let mut process = LearnerProcess::spawn(executable, root, listener.local_addr()?, &token)?;
    let judged = runtime.block_on(judge_process(
        &mut process,
        listener,
        &token,
        lesson,
        seed,
        limit,
        on_event,
    ));
    let ended = process.stop();
    runtime.shutdown_timeout(Duration::from_millis(100));
    let mut judged = judged?;
    if let Some(interruption) = &mut judged.interruption
        && interruption.cause.is_empty()
    {
        interruption.cause = ended_early(ended);
    }
    Ok(judged)
}

async fn judge_process(
    process: &mut LearnerProcess,
    listener: TcpListener,
    token: &str,
    lesson: &LessonJudge,
    seed: u64,
    limit: Duration,
    on_event: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<Judged> {
    let started = Instant::now();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let stream = tokio::select! {
        accepted = accept(&listener, token) => accepted,
        status = process.exit() => return Ok(interrupted(Vec::new(), process, Some(status))),
        () = tokio::time::sleep(STARTUP) => return Ok(interrupted(Vec::new(), process, None)),
    };
    let Some(stream) = stream else { return Ok(interrupted(Vec::new(), process, None)) };
    let learner = Learner::connect(stream, process.output(), CpuClock::process(process.pid()));
    let (decided, mut decisions) = mpsc::unbounded_channel();
    let mut recorder = Recorder::new(lesson.checks, Some(decided));
    let mut ticks = tokio::time::interval(TICK);
    let output = process.output();
    let mut outputs = Outputs::default();
    let deadline = tokio::time::sleep(limit.saturating_sub(started.elapsed()));
    tokio::pin!(deadline);
    let end = {
        let judging = (lesson.judge)(&learner, &mut recorder, seed);
        tokio::pin!(judging);
        loop {
            tokio::select! {
                biased;
                Some(verdict) = decisions.recv() => {
                    outputs.decided(&verdict.check, &output.snapshot().text());
                    on_event(Event::Decided(&verdict));
                }
                result = &mut judging => break End::Judged(result),
                status = process.exit() => break End::Exited(status),
                () = &mut deadline => break End::TimedOut,
                _ = ticks.tick() => on_event(Event::Waiting(started.elapsed())),
            }
        }
    };
    while let Ok(verdict) = decisions.try_recv() {
        outputs.decided(&verdict.check, &output.snapshot().text());
        on_event(Event::Decided(&verdict));
    }
    let verdicts = recorder.into_verdicts();
    let judged = match end {
        End::Judged(Ok(())) => Judged { verdicts, ..Judged::default() },
        End::Judged(Err(lost @ Lost::Unresponsive { .. })) => {
            stopped(verdicts, process, lost.to_string())
        }
        // The connection closed: the process is ending. Its exit status tells how.
        End::Judged(Err(Lost::Gone)) => {
            let status = tokio::time::timeout(Duration::from_secs(1), process.exit()).await.ok();
            interrupted(verdicts, process, status)
        }
        End::Exited(status) => interrupted(verdicts, process, Some(status)),
        End::TimedOut => {
            let cause = format!(
                "the checks were stopped after {} s. Something in your code never finishes: a \
                 loop, a blocking sleep, or an await that never completes.",
                limit.as_secs()
            );
            stopped(verdicts, process, cause)
        }
    };
    if let Some(interruption) = &judged.interruption {
        on_event(Event::Interrupted(interruption));
    }
    Ok(Judged { outputs: outputs.by_check, ..judged })
}

/// Splits the learner's output between the checks, by when each was decided.
#[derive(Debug, Default)]
struct Outputs {
    by_check: HashMap<String, String>,
    /// How much of the output earlier checks took.
    taken: usize,
}

impl Outputs {
    fn decided(&mut self, check: &str, text: &str) {
        let start = text.floor_char_boundary(self.taken.min(text.len()));
        self.by_check.insert(check.to_string(), text[start..].to_string());
        self.taken = text.len();
    }
}

enum End {
    Judged(Result<(), Lost>),
    Exited(ExitStatus),
    TimedOut,
}

/// The first connection that greets with the right token.
async fn accept(listener: &tokio::net::TcpListener, token: &str) -> Option<tokio::net::TcpStream> {
    loop {
        let (stream, _) = listener.accept().await.ok()?;
        let _ = stream.set_nodelay(true);
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let greeted =
            tokio::time::timeout(Duration::from_secs(2), reader.read_line(&mut line)).await;
        let hello: Option<Hello> = serde_json::from_str(line.trim_end()).ok();
        if matches!(greeted, Ok(Ok(_))) && hello.is_some_and(|hello| hello.token == token) {
            return Some(reader.into_inner());
        }
    }
}

/// The process ended (or never called back) before judging was done. The cause is worked out
/// from its exit status once it is stopped, if it is not known yet.
fn interrupted(
    verdicts: Vec<Verdict>,
    process: &LearnerProcess,
    status: Option<ExitStatus>,
) -> Judged {
    let cause = match status {
        Some(status) => exit_cause(status, &process.output().snapshot().text()),
        None => String::new(),
    };
    stopped(verdicts, process, cause)
}

/// Judging stopped, for `cause` (empty while the exit status is still to come).
fn stopped(verdicts: Vec<Verdict>, process: &LearnerProcess, cause: String) -> Judged {
    let log_tail = log::tail(&process.output().snapshot().text(), 12);
    Judged { verdicts, interruption: Some(Interruption { cause, log_tail }), ..Judged::default() }
}

fn ended_early(status: Option<ExitStatus>) -> String {
    match status {
        Some(status) => exit_cause(status, ""),
        None => "the process running your code could not be reached".into(),
    }
}

/// Says how the learner's process ended, naming the panic when one was reported.
fn exit_cause(status: ExitStatus, log: &str) -> String {
    let panic = log.lines().rev().find(|line| line.starts_with(PANIC_LINE_PREFIX)).map(|line| {
        let detail = line.trim_start_matches(PANIC_LINE_PREFIX).trim_start_matches(':').trim();
        format!(" It last panicked {detail}.")
    });
    let panic = panic.unwrap_or_default();
    match status.code() {
        Some(code) => format!(
            "your code ended the process that runs it, with exit code {code}, before every check \
             was decided: does it call std::process::exit?{panic}"
        ),
        None => {
            let signal = signal_of(status);
            let how = match signal {
                Some(6) => {
                    "aborted (std::process::abort, a stack overflow, or a panic that could not unwind)"
                }
                Some(9) => "killed",
                Some(11) => "crashed with a segmentation fault",
                _ => "crashed",
            };
            format!("the process running your code {how} before every check was decided.{panic}")
        }
    }
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn signal_of(_: ExitStatus) -> Option<i32> {
    None
}
