//! [`CpuClock`]: how much CPU time the learner's code has used, read by the judge from
//! `/proc`: a client that "waits" by spinning burns a core, one that sleeps does not.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The CPU time of a learner: a whole process (a check process), or the threads that run an
/// in-process learner's code (the project's tests).
#[derive(Debug, Clone)]
pub struct CpuClock(Source);

#[derive(Debug, Clone)]
enum Source {
    Process(u32),
    Threads(Arc<Mutex<Vec<u32>>>),
}

impl CpuClock {
    pub fn process(pid: u32) -> Self {
        Self(Source::Process(pid))
    }

    /// A clock for threads that add themselves with [`CpuClock::count_this_thread`].
    pub fn threads() -> Self {
        Self(Source::Threads(Arc::default()))
    }

    /// Counts the calling thread's CPU time from now on (for a clock made by `threads`).
    pub fn count_this_thread(&self) {
        #[cfg(target_os = "linux")]
        if let Source::Threads(threads) = &self.0 {
            let tid = rustix::thread::gettid().as_raw_nonzero().get().unsigned_abs();
            threads.lock().unwrap_or_else(PoisonError::into_inner).push(tid);
        }
    }

    /// User plus system time so far; `None` where it cannot be read.
    pub fn used(&self) -> Option<Duration> {
        match &self.0 {
            // The process's own line counts the threads that have ended too.
            Source::Process(pid) => stat_time(&format!("/proc/{pid}/stat")),
            Source::Threads(_) => self.summed("stat", stat_time),
        }
    }

    /// How long the learner's threads have wanted a core so far: on one, or waiting in the run
    /// queue for one. On a busy machine a thread that spins (or yields in a loop) gets little
    /// of a core, yet it is runnable all along; one that sleeps is runnable only as it wakes.
    pub fn runnable(&self) -> Option<Duration> {
        self.summed("schedstat", schedstat_time)
    }

    /// Whether the learner's threads are still at work: how long they have wanted a core so
    /// far, and whether one of them wants one now (on a core or in the run queue). A reading
    /// that repeats, a moment later, with none wanting a core means nothing ran in between.
    pub fn stirring(&self) -> Option<(Duration, bool)> {
        let threads = self.thread_folders()?;
        let readings: Vec<(Duration, bool)> = threads
            .iter()
            .filter_map(|thread| {
                let wanted = schedstat_time(&format!("{thread}/schedstat"))?;
                Some((wanted, is_runnable(&format!("{thread}/stat"))?))
            })
            .collect();
        (!readings.is_empty()).then(|| {
            let wanted = readings.iter().map(|(wanted, _)| *wanted).sum();
            (wanted, readings.iter().any(|(_, now)| *now))
        })
    }

    /// `read` of each living thread's `file` in /proc, summed.
    fn summed(&self, file: &str, read: fn(&str) -> Option<Duration>) -> Option<Duration> {
        let threads = self.thread_folders()?;
        let times: Vec<Duration> =
            threads.iter().filter_map(|thread| read(&format!("{thread}/{file}"))).collect();
        (!times.is_empty()).then(|| times.iter().sum())
    }

    /// The /proc folder of each living thread counted.
    fn thread_folders(&self) -> Option<Vec<String>> {
        let threads: Vec<String> = match &self.0 {
            Source::Process(pid) => std::fs::read_dir(format!("/proc/{pid}/task"))
                .ok()?
                .flatten()
                .map(|task| task.path().display().to_string())
                .collect(),
            Source::Threads(tids) => {
                let tids = tids.lock().unwrap_or_else(PoisonError::into_inner);
                tids.iter().map(|tid| format!("/proc/self/task/{tid}")).collect()
            }
        };
        Some(threads)
    }
}

/// Whether the thread of a `stat` file of /proc is on a core or waiting for one (state `R`).
#[cfg(target_os = "linux")]
fn is_runnable(path: &str) -> Option<bool> {
    let stat = std::fs::read_to_string(path).ok()?;
    Some(stat.rsplit_once(')')?.1.split_whitespace().next()? == "R")
}

#[cfg(not(target_os = "linux"))]
fn is_runnable(_: &str) -> Option<bool> {
    None
}

/// Time on a core plus time waiting in the run queue, from a `schedstat` file of /proc.
#[cfg(target_os = "linux")]
fn schedstat_time(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    let mut nanos = stat.split_whitespace().map(str::parse::<u64>);
    let (on_core, queued) = (nanos.next()?.ok()?, nanos.next()?.ok()?);
    Some(Duration::from_nanos(on_core + queued))
}

#[cfg(not(target_os = "linux"))]
fn schedstat_time(_: &str) -> Option<Duration> {
    None
}

/// utime + stime from a `stat` file of /proc.
#[cfg(target_os = "linux")]
fn stat_time(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after its last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Some(Duration::from_millis(ticks * 1000 / per_second))
}

#[cfg(not(target_os = "linux"))]
fn stat_time(_: &str) -> Option<Duration> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn counts_the_time_a_thread_spins() {
        let clock = CpuClock::threads();
        let counted = clock.clone();
        std::thread::spawn(move || {
            counted.count_this_thread();
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_millis(120) {
                std::hint::spin_loop();
            }
        })
        .join()
        .unwrap();
        // The thread is gone, and with it its /proc entry: a clock reads the living only.
        assert_eq!(clock.used(), None);
        assert_eq!(clock.runnable(), None);
        let this_process = CpuClock::process(std::process::id());
        assert!(this_process.used().is_some() && this_process.runnable().is_some());
    }

    /// A spinning thread is stirring at every reading; a sleeping one reads the same twice.
    #[test]
    fn a_sleeping_thread_reads_quiet_and_a_spinning_one_does_not() {
        let (spinning, sleeping) = (CpuClock::threads(), CpuClock::threads());
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                spinning.count_this_thread();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            scope.spawn(|| {
                sleeping.count_this_thread();
                std::thread::sleep(Duration::from_millis(300));
            });
            std::thread::sleep(Duration::from_millis(50));
            // Long enough apart for a spinning thread to have had a core on a busy machine.
            let (first, busy) = spinning.stirring().unwrap();
            std::thread::sleep(Duration::from_millis(50));
            let (second, _) = spinning.stirring().unwrap();
            assert!(busy && second > first, "{first:?} then {second:?}, busy: {busy}");
            let (first, busy) = sleeping.stirring().unwrap();
            std::thread::sleep(Duration::from_millis(5));
            assert_eq!(sleeping.stirring().unwrap(), (first, false));
            assert!(!busy);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }

    /// A thread that yields in a loop wants a core all along, however little of one it gets;
    /// a thread that sleeps hardly wants one.
    #[test]
    fn a_yielding_thread_is_runnable_all_along_and_a_sleeping_one_is_not() {
        let (yielding, sleeping) = (CpuClock::threads(), CpuClock::threads());
        let wall = Duration::from_millis(200);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                yielding.count_this_thread();
                let started = std::time::Instant::now();
                while started.elapsed() < wall {
                    std::thread::yield_now();
                }
                let runnable = yielding.runnable().unwrap();
                assert!(runnable > wall * 9 / 10, "{runnable:?} runnable in {wall:?}");
            });
            scope.spawn(|| {
                sleeping.count_this_thread();
                std::thread::sleep(wall);
                let runnable = sleeping.runnable().unwrap();
                assert!(runnable < wall / 4, "{runnable:?} runnable in {wall:?}");
            });
        });
    }
}
