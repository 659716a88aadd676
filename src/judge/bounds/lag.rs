//! [`Lag`]: how late timers fire on this machine while a scenario plays. A task of the judge's
//! sleeps a few milliseconds again and again and notes how much longer each sleep took than it
//! asked for. A check whose upper bounds must hold on a machine that others load (an IDE, a
//! test suite, CPU hogs) adds the worst lateness seen during its own scenario to them
//! ([`super::Bound::later_by`]), instead of a larger fixed slack for every run: a quiet machine
//! keeps tight bounds, a busy one gets exactly the slack it had.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// How long each of the canary's sleeps asks for.
const TICK: Duration = Duration::from_millis(5);

/// The most lateness a scenario is allowed, however busy the machine: past this, the machine is
/// too busy to judge time by, and a failure is a failure (confirm plays it again anyway).
pub const MOST_LAG: Duration = Duration::from_millis(200);

/// The most lateness a scenario may have seen for its pass to tell: waits a doubling too long
/// (drawn over `[0, 2d]`, `d` from 240 ms to a second) still put a sixth of themselves past
/// `late(d)` and this much more, where at 100 ms a fifth of lesson 9's rounds saw too few of
/// them to tell, and at [`MOST_LAG`] they hide (see [`crate::judge::confirm::confirmed_quiet`]).
pub const QUIET_LAG: Duration = Duration::from_millis(50);

/// A canary measuring timer lateness, from [`Lag::start`] until it is dropped.
#[derive(Debug)]
pub struct Lag {
    worst_micros: Arc<AtomicU64>,
    canary: JoinHandle<()>,
}

impl Lag {
    pub fn start() -> Self {
        let worst_micros = Arc::new(AtomicU64::new(0));
        let noted = Arc::clone(&worst_micros);
        let canary = tokio::spawn(async move {
            loop {
                let asked = Instant::now();
                tokio::time::sleep(TICK).await;
                let late = asked.elapsed().saturating_sub(TICK);
                let late = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
                noted.fetch_max(late, Ordering::Relaxed);
            }
        });
        Self { worst_micros, canary }
    }

    /// The latest a timer fired so far, at most [`MOST_LAG`].
    pub fn worst(&self) -> Duration {
        Duration::from_micros(self.worst_micros.load(Ordering::Relaxed)).min(MOST_LAG)
    }
}

impl Drop for Lag {
    fn drop(&mut self) {
        self.canary.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_runtime_held_up_shows_as_lag_and_a_quiet_one_does_not() {
        let lag = Lag::start();
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(lag.worst() < Duration::from_millis(60), "{:?} on a quiet runtime", lag.worst());
        // Both workers blocked for 80 ms: the canary's timer cannot fire meanwhile.
        let blocked = |_| tokio::spawn(async { std::thread::sleep(Duration::from_millis(80)) });
        let blocking: Vec<_> = (0..2).map(blocked).collect();
        for task in blocking {
            task.await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(lag.worst() >= Duration::from_millis(40), "{:?} after a block", lag.worst());
        assert!(lag.worst() <= MOST_LAG);
    }
}
