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
            Source::Process(pid) => stat_time(&format!("/proc/{pid}/stat")),
            Source::Threads(threads) => {
                let threads = threads.lock().unwrap_or_else(PoisonError::into_inner);
                let times: Vec<Duration> = threads
                    .iter()
                    .filter_map(|tid| stat_time(&format!("/proc/self/task/{tid}/stat")))
                    .collect();
                (!times.is_empty()).then(|| times.iter().sum())
            }
        }
    }
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
        assert!(CpuClock::process(std::process::id()).used().is_some());
    }
}
