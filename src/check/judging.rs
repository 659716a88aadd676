//! Judging a learner's process: start it, take its call, hand it to the lesson's judge, and
//! watch, beside the judge, for what only the runner can see: the process ending, or the time
//! limit passing. Whatever happens, the process is stopped before this returns.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::Context;
use httplings::adapter::PANIC_LINE_PREFIX;
use httplings::cpu::CpuClock;
use httplings::protocol::{Hello, Sandbox};
use httplings_judge::judge::{Learner, Lost, Recorder, Verdict, log};
use httplings_judge::lessons::LessonJudge;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::group::Reaped;
use super::process::LearnerProcess;
use crate::outcome::{Event, Interruption};

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
    /// What walled the learner's process in, as it said before any learner code ran, and as
    /// `/proc` confirms; `None` when it never said hello.
    pub sandbox: Option<Sandbox>,
    /// Some process the learner's code started could not be ended and reaped.
    pub left_running: bool,
    /// Which of the learner's processes ended judging, when one did (0: the first).
    pub lost_process: usize,
}

/// What the binary that ran was built from, as it said (see `Hello::built_from`).
#[derive(Debug)]
pub struct BuiltFrom(pub Option<String>);

pub fn judge(
    root: &Path,
    executable: &Path,
    lesson: &LessonJudge,
    seed: u64,
    limit: Duration,
    on_event: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<(Judged, BuiltFrom)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the judge's async runtime")?;
    // Started here, on the main thread, which outlives the check.
    let mut processes = (0..lesson.processes.max(1))
        .map(|_| LearnerProcess::spawn(executable, root))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let judged = runtime.block_on(judge_processes(&mut processes, lesson, seed, limit, on_event));
    let mut ended = None;
    let mut left_running = false;
    for (index, process) in processes.into_iter().enumerate() {
        let (exited, reaped) = process.stop();
        if index == judged.as_ref().map_or(0, |(judged, _)| judged.lost_process) {
            ended = exited;
        }
        left_running |= reaped == Reaped::SomeLeft;
    }
    runtime.shutdown_timeout(Duration::from_millis(100));
    let (mut judged, built_from) = judged?;
    if let Some(interruption) = &mut judged.interruption
        && interruption.cause.is_empty()
    {
        interruption.cause = ended_early(ended);
    }
    judged.left_running = left_running;
    Ok((judged, built_from))
}

/// Says hello to every process; `Err` with the judging that is all there is to say when one
/// never does (its exit, or its silence).
async fn greet(
    processes: &mut [LearnerProcess],
) -> anyhow::Result<Result<Vec<(UnixStream, Hello)>, Judged>> {
    let mut greeted = Vec::new();
    for (index, process) in processes.iter_mut().enumerate() {
        let control = process.control().context("the control connection was taken already")?;
        control.set_nonblocking(true).context("could not set up the control connection")?;
        let control =
            UnixStream::from_std(control).context("could not set up the control connection")?;
        let said = tokio::select! {
            said = hello(control) => said,
            status = process.exit() => {
                let mut judged = interrupted(Vec::new(), process, Some(status));
                judged.lost_process = index;
                return Ok(Err(judged));
            }
            () = tokio::time::sleep(STARTUP) => None,
        };
        match said {
            Some(said) => greeted.push(said),
            None => {
                let mut judged = interrupted(Vec::new(), process, None);
                judged.lost_process = index;
                return Ok(Err(judged));
            }
        }
    }
    Ok(Ok(greeted))
}

/// How long a process that ended may take to have what it wrote read to the end, before its
/// last lines are shown (a process it started may hold its pipes open longer).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// The first of `processes` to exit, and how it did.
async fn first_exit(processes: &mut [LearnerProcess]) -> (usize, ExitStatus) {
    loop {
        for (index, process) in processes.iter_mut().enumerate() {
            if let Some(status) = process.exited() {
                return (index, status);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn judge_processes(
    processes: &mut [LearnerProcess],
    lesson: &LessonJudge,
    seed: u64,
    limit: Duration,
    on_event: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<(Judged, BuiltFrom)> {
    let started = Instant::now();
    let greeted = match greet(processes).await? {
        Ok(greeted) => greeted,
        Err(judged) => return Ok((judged, BuiltFrom(None))),
    };
    let sandbox = confirmed(greeted[0].1.sandbox, processes[0].pid());
    on_event(Event::Greeted(&sandbox));
    let built_from = BuiltFrom(greeted[0].1.built_from.clone());
    let mut learners: Vec<Learner> = greeted
        .into_iter()
        .zip(processes.iter())
        .map(|((stream, _), process)| {
            Learner::connect(stream, process.output(), CpuClock::process(process.pid()), 2)
        })
        .collect();
    let learner = learners.remove(0).with_others(learners);
    let (decided, mut decisions) = mpsc::unbounded_channel();
    let mut recorder = Recorder::new(lesson.checks, Some(decided));
    let mut ticks = tokio::time::interval(TICK);
    let output = processes[0].output();
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
                exited = first_exit(processes) => break End::Exited(exited),
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
            stopped(verdicts, &processes[0], lost.to_string())
        }
        // A connection closed: its process is ending. Its exit status tells how.
        End::Judged(Err(Lost::Gone)) => {
            let exited =
                tokio::time::timeout(Duration::from_secs(1), first_exit(processes)).await.ok();
            let (index, status) = exited.map_or((0, None), |(index, status)| (index, Some(status)));
            processes[index].drained(DRAIN_GRACE).await;
            Judged { lost_process: index, ..interrupted(verdicts, &processes[index], status) }
        }
        End::Exited((index, status)) => {
            processes[index].drained(DRAIN_GRACE).await;
            Judged { lost_process: index, ..interrupted(verdicts, &processes[index], Some(status)) }
        }
        End::TimedOut => {
            let cause = format!(
                "the checks were stopped after {} s. Something in your code never finishes: a \
                 loop, a blocking sleep, or an await that never completes.",
                limit.as_secs()
            );
            stopped(verdicts, &processes[0], cause)
        }
    };
    if let Some(interruption) = &judged.interruption {
        on_event(Event::Interrupted(interruption));
    }
    Ok((Judged { outputs: outputs.by_check, sandbox: Some(sandbox), ..judged }, built_from))
}

/// The hello, the first line on the control connection: written by the adapter before any
/// learner code ran.
async fn hello(stream: UnixStream) -> Option<(UnixStream, Hello)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let hello = serde_json::from_str(line.trim_end()).ok()?;
    Some((reader.into_inner(), hello))
}

/// The sandbox as the adapter reported it, with seccomp confirmed by the kernel's own word.
fn confirmed(reported: Sandbox, pid: u32) -> Sandbox {
    let filtered = std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
        status.lines().any(|line| line.split_whitespace().eq(["Seccomp:", "2"]))
    });
    // Where there is no /proc (macOS), there is no seccomp either.
    Sandbox { seccomp: reported.seccomp && filtered, ..reported }
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
    /// One of the processes exited: which, and how.
    Exited((usize, ExitStatus)),
    TimedOut,
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
            // An abort ends in SIGSEGV where the sandbox runs: the C library's abort signals
            // the process by its id, which the sandbox hides, and falls back to a faulting
            // instruction. Safe Rust does not fault otherwise (a stack overflow aborts).
            let how = match signal {
                Some(6 | 11) => {
                    "aborted (std::process::abort, a stack overflow, or a panic that could not unwind)"
                }
                Some(9) => "killed",
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
