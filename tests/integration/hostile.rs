//! Hostile and broken learner code: the runner survives it and says what happened, once, first.
//!
//! Each test writes a known-bad exercise from `tests/fixtures/hostile/` into a scratch copy,
//! builds it first (so the time measured is the check's, not the compiler's), runs the real
//! `check` (with a short time limit, where one is waited out), and then proves the aftermath: a
//! verdict within the time limit, the learner's file untouched, no learner process left
//! running, and the next `check` still working.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Run, Scratch};

const EXERCISE_1: &str = "exercises/01_generic_500.rs";
const EXERCISE_2: &str = "exercises/02_retry_after.rs";
const EXERCISE_3: &str = "exercises/03_retry_on_5xx.rs";

/// The time limit these tests give a check with `--time-limit`, where one is waited out.
const LIMIT: Duration = Duration::from_secs(4);
const LIMIT_FLAG: &str = "4";

/// The time limits of lessons 1 and 3 (`lessons/*.toml`), for runs that should end well before.
const LIMIT_1: Duration = Duration::from_secs(30);
const LIMIT_3: Duration = Duration::from_secs(20);

/// What the runner may take beyond a check process's time limit: a no-op `cargo build`,
/// killing the process, printing the report. Generous, for a busy machine.
const RUNNER_SLACK: Duration = Duration::from_secs(10);

/// A report a learner can read in a terminal; a flood must not come through into it.
const SHORT_REPORT: usize = 64 * 1024;

/// What the runner itself may hold in memory while a check process floods it.
const MODEST_RSS: u64 = 64 * 1024 * 1024;

/// Lesson 1's log check.
const LOGGED_1: &str = "each database error's details reach the server log, after its request";

/// A scratch copy of the course in which hostile exercises are checked.
struct Arena {
    scratch: Scratch,
    name: &'static str,
    /// Each exercise written, with what it must still hold afterwards.
    written: Vec<(&'static str, &'static str)>,
}

impl Arena {
    fn new(name: &'static str) -> Self {
        let scratch = Scratch::new(name);
        let arena = Self { scratch, name, written: Vec::new() };
        // The copy's folder is where `Scratch` makes it: make sure, since builds and the
        // memory probe below address it directly.
        let probe = arena.root().join(EXERCISE_1);
        assert_eq!(
            fs::read_to_string(&probe).ok(),
            Some(arena.scratch.read(EXERCISE_1)),
            "the scratch copy is not at {}",
            arena.root().display()
        );
        arena
    }

    fn root(&self) -> PathBuf {
        tmp().join("scratch").join(self.name)
    }

    /// Writes `content` as `exercise`, the file of lesson `lesson`, and builds its check
    /// target, so that a `check` right after it only runs.
    fn write(&mut self, exercise: &'static str, content: &'static str, lesson: u8) {
        self.scratch.write(exercise, content);
        self.written.retain(|(written, _)| *written != exercise);
        self.written.push((exercise, content));
        let target = format!("exercise_{lesson:02}");
        let started = Instant::now();
        let output = Command::new(env!("CARGO"))
            .current_dir(self.root())
            .envs(self.scratch.cargo_env())
            .args(["build", "--quiet", "--bin", &target])
            .output()
            .expect("cargo starts");
        assert!(
            output.status.success(),
            "{exercise} does not build:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!(
            "[hostile::{}] built {target} in {:.2} s",
            self.name,
            started.elapsed().as_secs_f64()
        );
    }

    /// Runs `httplings ARGS` in the copy and says how long it took.
    fn httplings(&self, args: &[&str]) -> (Run, Duration) {
        let started = Instant::now();
        let run = self.scratch.httplings(args);
        let took = started.elapsed();
        eprintln!(
            "[hostile::{}] httplings {} took {:.2} s",
            self.name,
            args.join(" "),
            took.as_secs_f64()
        );
        (run, took)
    }

    /// Starts `httplings ARGS` in the copy and leaves it running.
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.scratch.spawn(args)
    }

    /// What every hostile run must leave behind: the learner's files as they wrote them, no
    /// check process still running, and a runner that checks the next exercise as usual.
    fn assert_aftermath(&self) {
        for (exercise, content) in &self.written {
            assert_eq!(&self.scratch.read(exercise), content, "{exercise} was changed by the run");
        }
        let left = check_processes(self.scratch.target());
        assert!(left.is_empty(), "check processes left running: {left:?}");
        let (next, _) = self.httplings(&["check", "2", "--solution"]);
        assert_eq!(next.code, Some(0), "the next check failed:\n{}\n{}", next.stdout, next.stderr);
        assert_eq!(summary(&next), "All 10 checks pass. The reference solution passes.");
    }
}

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// The report's last line: "All N checks pass. …" or "M of N checks pass. …".
fn summary(run: &Run) -> &str {
    run.stdout
        .lines()
        .rev()
        .find(|line| line.contains(" checks pass."))
        .unwrap_or_else(|| panic!("no summary line:\n{}\n{}", run.stdout, run.stderr))
}

/// How many ✓ and ✗ lines the report has; the verdict on an interrupted run counts as a ✗.
fn marks(run: &Run) -> (usize, usize) {
    (run.passed().len(), run.failed().len())
}

/// The line that says why judging stopped early, if the report has one.
fn interruption(run: &Run) -> Option<&str> {
    run.failed().into_iter().find(|line| {
        line.starts_with("the checks were stopped after")
            || line.starts_with("the process running your code")
            || line.starts_with("your code ended the process")
            || line.starts_with("your code stopped answering")
    })
}

/// The learner processes built in `target` (a scratch copy's) that are still running, as
/// (pid, executable). Only this directory: other tests' and the learner's own builds are none
/// of our business.
fn check_processes(target: &Path) -> Vec<(u32, PathBuf)> {
    let built = target.join("debug");
    processes()
        .filter(|(_, exe)| exe.parent() == Some(built.as_path()))
        .filter(|(_, exe)| {
            exe.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("exercise_") || name.starts_with("solution_"))
        })
        .collect()
}

/// Every process we may inspect, with its executable.
fn processes() -> impl Iterator<Item = (u32, PathBuf)> {
    fs::read_dir("/proc").into_iter().flatten().filter_map(|entry| {
        let entry = entry.ok()?;
        let pid = entry.file_name().to_str()?.parse().ok()?;
        let exe = fs::read_link(entry.path().join("exe")).ok()?;
        Some((pid, exe))
    })
}

/// Runs `run` while sampling the peak resident set (`VmHWM`) of the runner working in
/// `root`; `None` where there is no /proc to read it from.
fn with_peak_rss<T>(root: &Path, run: impl FnOnce() -> T) -> (T, Option<u64>) {
    if !Path::new("/proc/self/status").exists() {
        return (run(), None);
    }
    let runner = fs::canonicalize(env!("CARGO_BIN_EXE_httplings")).expect("the runner exists");
    let root = fs::canonicalize(root).expect("the scratch copy exists");
    let done = AtomicBool::new(false);
    let peak = AtomicU64::new(0);
    let result = thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                for (pid, exe) in processes() {
                    let is_runner = exe.starts_with(&runner)
                        && fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == root);
                    if let Some(kib) = is_runner.then(|| high_water_kib(pid)).flatten() {
                        peak.fetch_max(kib * 1024, Ordering::Relaxed);
                    }
                }
                thread::sleep(Duration::from_millis(5));
            }
        });
        let result = run();
        done.store(true, Ordering::Relaxed);
        result
    });
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak > 0, "the runner was never seen in /proc");
    (result, Some(peak))
}

fn high_water_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A handler that blocks its worker thread for an hour: every request to it goes unanswered,
/// and the runner stops the check at its time limit, saying so once, first.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_handler_blocking_its_thread_is_stopped_at_the_time_limit() {
    let mut arena = Arena::new("hostile-blocking-sleep");
    arena.write(EXERCISE_1, include_str!("../fixtures/hostile/01_blocking_sleep.rs"), 1);
    let (run, took) = arena.httplings(&["check", "1", "--time-limit", LIMIT_FLAG]);

    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(took < LIMIT + RUNNER_SLACK, "took {took:?}");
    assert!(
        interruption(&run)
            .is_some_and(|line| line.starts_with("the checks were stopped after 4 s")),
        "{}",
        run.stdout
    );
    assert_eq!(run.not_judged().len(), 9, "{}", run.stdout);
    assert!(summary(&run).starts_with("0 of 9 checks pass."), "{}", run.stdout);
    arena.assert_aftermath();
}

/// An hour-long `tokio::time::sleep` before each retry. Each call is stopped at its scenario's
/// deadline, so every check is decided and the runner never has to step in.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn an_async_sleep_of_an_hour_fails_each_call_at_its_deadline() {
    let mut arena = Arena::new("hostile-async-sleep");
    arena.write(EXERCISE_3, include_str!("../fixtures/hostile/03_async_sleep.rs"), 3);
    let (run, took) = arena.httplings(&["check", "3"]);

    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(took < LIMIT_3 - Duration::from_secs(5), "took {took:?}");
    assert_eq!(interruption(&run), None, "{}", run.stdout);
    assert!(
        run.stdout.contains("get_with_retry was still running after")
            && run.stdout.contains("and was stopped"),
        "{}",
        run.stdout
    );
    assert!(run.not_judged().is_empty(), "{}", run.stdout);
    arena.assert_aftermath();
}

/// A client that retries every 5xx and error at once, forever: the scripted servers cut it
/// off, and the report says so.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_client_flooding_the_server_is_stopped_at_the_cap() {
    let mut arena = Arena::new("hostile-flood");
    arena.write(EXERCISE_3, include_str!("../fixtures/hostile/03_flood.rs"), 3);
    let (run, took) = arena.httplings(&["check", "3"]);

    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(took < LIMIT_3, "took {took:?}");
    // It floods the servers until the caps stop it, and spins on the request that cannot be
    // built (its error comes back at once, so the loop never waits): either way the report
    // says what went wrong, first.
    let capped = run.stdout.contains("requests or more, ");
    let spinning = interruption(&run)
        .is_some_and(|line| line.starts_with("your code stopped answering"))
        && run.stdout.contains("a busy loop");
    assert!(capped || spinning, "{}", run.stdout);
    assert!(!summary(&run).starts_with("All"));
    arena.assert_aftermath();
}

/// Panics in learner code that is not a handler: each is caught where it happens, fails its own
/// check with the panic's message and place, and every other check is still decided.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_panic_outside_the_server_fails_its_check_and_the_others_still_report() {
    let mut arena = Arena::new("hostile-panic");
    arena.write(EXERCISE_2, include_str!("../fixtures/hostile/02_panic_in_parser.rs"), 2);
    let (run, _) = arena.httplings(&["check", "2"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(interruption(&run), None, "{}", run.stdout);
    assert_eq!(run.failed(), ["parse_retry_after rejects everything else"], "{}", run.stdout);
    assert!(run.stdout.contains("panicked: hostile panic: an empty"), "{}", run.stdout);
    assert!(run.stdout.contains("(at exercises/02_retry_after.rs:"), "{}", run.stdout);
    assert!(summary(&run).starts_with("9 of 10 checks pass."));

    arena.write(EXERCISE_3, include_str!("../fixtures/hostile/03_panic.rs"), 3);
    let (run, _) = arena.httplings(&["check", "3"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(interruption(&run), None, "{}", run.stdout);
    assert!(
        run.stdout.contains("get_with_retry panicked: hostile panic: no patience for a retry"),
        "{}",
        run.stdout
    );
    assert!(run.not_judged().is_empty(), "{}", run.stdout);
    arena.assert_aftermath();
}

/// Learner code that ends its whole process: an abort (a signal) and an `exit(0)` (a success
/// code). Neither can pass; the report says which it was, once, and marks what it spoiled.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_process_that_aborts_or_exits_early_never_passes() {
    let mut arena = Arena::new("hostile-abort-exit");
    arena.write(EXERCISE_3, include_str!("../fixtures/hostile/03_abort.rs"), 3);
    let (run, _) = arena.httplings(&["check", "3"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(interruption(&run).is_some_and(|line| line.contains("aborted")), "{}", run.stdout);
    // Lesson 3 decides when every scenario is over, so the abort spoils all twenty-two.
    assert_eq!(run.not_judged().len(), 22, "{}", run.stdout);
    assert_eq!(run.stdout.matches("aborted").count(), 1, "said once:\n{}", run.stdout);
    assert!(summary(&run).starts_with("0 of 22 checks pass."));

    arena.write(EXERCISE_2, include_str!("../fixtures/hostile/02_exit_in_parser.rs"), 2);
    let (run, _) = arena.httplings(&["check", "2"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        interruption(&run).is_some_and(|line| line.contains("with exit code 0")),
        "{}",
        run.stdout
    );
    // What was decided before the exit stands; the rest is not judged.
    assert_eq!(
        run.not_judged(),
        [
            "parse_retry_after rejects everything else",
            "retry_after reads Retry-After from real responses",
            "each database failure reaches the server log, after its request",
            "the server log never holds the database password"
        ],
        "{}",
        run.stdout
    );
    assert!(summary(&run).starts_with("6 of 10 checks pass."));
    arena.assert_aftermath();
}

/// 100 MB printed by each `app()` call, on stdout and then on stderr. The runner keeps a bounded
/// part of it, stays small, and reports as usual.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_hundred_megabytes_of_output_are_survived_in_bounded_memory() {
    let mut arena = Arena::new("hostile-output-flood");
    arena.write(EXERCISE_1, include_str!("../fixtures/hostile/01_stdout_flood.rs"), 1);
    let ((run, took), peak) = with_peak_rss(&arena.root(), || arena.httplings(&["check", "1"]));
    eprintln!("[hostile::{}] stdout flood: runner peak RSS {peak:?} bytes", arena.name);
    assert!(took < LIMIT_1, "took {took:?}");
    assert_eq!(interruption(&run), None, "{}", run.stdout);
    // A flood on stdout is a flood in the log too: the log check may not find the line after it.
    assert!(run.failed().iter().all(|check| *check == LOGGED_1), "{}", run.stdout);
    assert!(run.stdout.len() < SHORT_REPORT, "{} bytes", run.stdout.len());
    assert!(peak.is_none_or(|peak| peak < MODEST_RSS), "{peak:?}");

    arena.write(EXERCISE_1, include_str!("../fixtures/hostile/01_stderr_flood.rs"), 1);
    let ((run, took), peak) = with_peak_rss(&arena.root(), || arena.httplings(&["check", "1"]));
    eprintln!("[hostile::{}] stderr flood: runner peak RSS {peak:?} bytes", arena.name);
    assert!(took < LIMIT_1, "took {took:?}");
    assert_eq!(interruption(&run), None, "{}", run.stdout);
    assert!(run.failed().iter().all(|check| *check == LOGGED_1), "{}", run.stdout);
    assert!(run.stdout.len() < SHORT_REPORT, "{} bytes", run.stdout.len());
    assert!(peak.is_none_or(|peak| peak < MODEST_RSS), "{peak:?}");
    arena.assert_aftermath();
}

/// Two `check`s at once in the same copy; cargo's lock and separate connections keep them apart.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn two_checks_at_once_both_pass() {
    let arena = Arena::new("hostile-concurrent");
    let runs: Vec<(Run, Duration)> = thread::scope(|scope| {
        let both = [(); 2].map(|()| scope.spawn(|| arena.httplings(&["check", "2", "--solution"])));
        both.map(|run| run.join().expect("a check thread")).into()
    });
    for (run, _) in &runs {
        assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
        assert_eq!(summary(run), "All 10 checks pass. The reference solution passes.");
    }
    arena.assert_aftermath();
}

/// Memory stays bounded, so a log line buried between two floods cannot be found: the runner
/// keeps (and searches) the first and the last MiB, and when the log check fails on output that
/// long, it says that it could not read all of it.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_log_line_buried_in_a_flood_fails_with_the_reason_given() {
    let mut arena = Arena::new("hostile-flood-hides-log");
    arena.write(EXERCISE_1, include_str!("../fixtures/hostile/01_buried_log.rs"), 1);
    let (run, _) = arena.httplings(&["check", "1"]);
    // The panic reports are buried too, unless a panic's own line was kept by chance.
    assert!(run.failed().contains(&LOGGED_1), "{}", run.stdout);
    assert!(run.stdout.contains("only the first and last MiB were searched"), "{}", run.stdout);
    arena.assert_aftermath();
}

/// Output without line breaks: the runner keeps 1 MiB of it and prints a short piece of that
/// as one "line" of the log into the report.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_flood_without_line_breaks_keeps_the_report_short() {
    let mut arena = Arena::new("hostile-one-line-flood");
    arena.write(EXERCISE_1, include_str!("../fixtures/hostile/01_stderr_flood_one_line.rs"), 1);
    let (run, took) = arena.httplings(&["check", "1"]);
    assert!(took < LIMIT_1, "took {took:?}");
    let (passed, failed) = marks(&run);
    assert_eq!(passed + failed, 9, "{}", run.stdout);
    assert!(run.stdout.len() < SHORT_REPORT, "a report of {} bytes", run.stdout.len());
    arena.assert_aftermath();
}

/// However the runner ends (killed outright, or its terminal closed), the learner's process
/// ends with it, at once, even when its code spins in `app()` and never returns.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn the_learners_process_never_outlives_the_runner() {
    let mut arena = Arena::new("hostile-orphan");
    arena.write(EXERCISE_1, include_str!("../fixtures/hostile/01_spin.rs"), 1);
    for signal in ["KILL", "HUP"] {
        let mut runner = arena.spawn(&["check", "1"]);
        let started = Instant::now();
        while check_processes(arena.scratch.target()).is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the learner's process never started"
            );
            thread::sleep(Duration::from_millis(20));
        }
        let status =
            Command::new("kill").arg(format!("-{signal}")).arg(runner.id().to_string()).status();
        assert!(status.is_ok_and(|status| status.success()), "kill -{signal}");
        let _ = runner.wait();
        let killed = Instant::now();
        while !check_processes(arena.scratch.target()).is_empty() {
            assert!(
                killed.elapsed() < Duration::from_secs(1),
                "SIGKILL: the learner's process outlived the runner by a second"
            );
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "[hostile::{}] after SIG{signal}, the learner's process was gone in {:?}",
            arena.name,
            killed.elapsed()
        );
    }
    arena.assert_aftermath();
}

/// The marker the fixture puts in the environment of the process it leaves behind.
const LEFT_BEHIND: &[u8] = b"HTTPLINGS_HOSTILE=left-behind";

/// A check process that starts a process of its own and exits. The process left behind
/// holds the check process's stdout and stderr, and the runner waits for those to close.
#[test]
#[ignore = "slow: hostile learner code built and run, which .ci/run runs"]
fn a_process_left_behind_neither_hangs_the_runner_nor_outlives_it() {
    let mut arena = Arena::new("hostile-left-behind");
    arena.write(EXERCISE_1, include_str!("../fixtures/hostile/01_left_behind.rs"), 1);
    let deadline = LIMIT_1 + RUNNER_SLACK;
    let (finished, left) = thread::scope(|scope| {
        let check = scope.spawn(|| arena.httplings(&["check", "1"]));
        let started = Instant::now();
        while !check.is_finished() && started.elapsed() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        let finished = check.is_finished();
        // Whatever the runner did, end what the fixture started, by pid, so that the runner
        // (if it hangs) and this test can finish.
        let left = left_behind();
        for pid in &left {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let (run, took) = check.join().expect("the check thread");
        eprintln!("[hostile::{}] finished after {took:?}:\n{}", arena.name, run.stdout);
        (finished, left)
    });
    assert!(finished, "the runner was still running after {deadline:?}");
    assert!(left.is_empty(), "processes left behind: {left:?}");
    arena.assert_aftermath();
}

/// The processes the left-behind fixture started, by the marker in their environment.
fn left_behind() -> Vec<u32> {
    processes()
        .map(|(pid, _)| pid)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ.split(|byte| *byte == 0).any(|variable| variable == LEFT_BEHIND)
            })
        })
        .collect()
}
