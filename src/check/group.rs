//! The learner's process and everything it starts are one process group, led by it (the
//! adapter makes a session of its own first thing, and the sandbox forbids leaving the group).
//! When the check ends, or the learner presses Ctrl-C, the whole group is killed; on Linux the
//! runner is also the "subreaper" of everything the learner's process starts, so that it can
//! wait until every last one has been reaped: nothing outlives the check, nothing holds its
//! output pipes, locks or ports.

use std::process::Child;
use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};

/// Whether every process of the group was reaped after the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    All,
    /// Some still ran after the time allowed for it (a process the kernel keeps in an
    /// uninterruptible wait, or one that left the group where no sandbox forbade it).
    SomeLeft,
}

/// The group of the check process now running, for the Ctrl-C handler; 0 when none is.
static RUNNING: AtomicI32 = AtomicI32::new(0);

/// Orphans of the learner's processes become the runner's to reap (Linux; elsewhere the group
/// is killed, and init reaps them).
pub fn adopt_orphans(adopt: bool) {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::process::set_child_subreaper(adopt.then(rustix::process::getpid));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = adopt;
}

/// SIGKILL to the group led by `leader`, and to the leader itself (which may not have made its
/// group yet). Already gone is fine.
pub fn kill(leader: u32) {
    if let Some(pid) = Pid::from_raw(leader as i32) {
        let _ = kill_process_group(pid, Signal::KILL);
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// Waits until no process of the group led by `leader` is left, reaping those that became the
/// runner's; kills any that still run. Never longer than two seconds.
pub fn reap(leader: u32) -> Reaped {
    let Some(group) = Pid::from_raw(leader as i32) else { return Reaped::All };
    let started = Instant::now();
    loop {
        let _ = kill_process_group(group, Signal::KILL);
        #[cfg(target_os = "linux")]
        while let Ok(Some(_)) =
            rustix::process::waitpgid(group, rustix::process::WaitOptions::NOHANG)
        {}
        // No process of the group is left, not even one waiting to be reaped.
        if rustix::process::test_kill_process_group(group).is_err() {
            return Reaped::All;
        }
        if started.elapsed() > Duration::from_secs(2) {
            return Reaped::SomeLeft;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// While it lives, Ctrl-C stops the check process's group before the runner exits.
pub struct Stopper;

impl Stopper {
    pub fn watch(child: &Child) -> Self {
        static HANDLER: Once = Once::new();
        HANDLER.call_once(|| {
            // Without a handler (one is already set) Ctrl-C still ends the runner; the group
            // then ends by its parent-death signal and its lifeline.
            let _ = ctrlc::set_handler(|| {
                let leader = RUNNING.load(Ordering::SeqCst);
                if leader != 0 {
                    kill(leader as u32);
                }
                std::process::exit(130);
            });
        });
        RUNNING.store(child.id() as i32, Ordering::SeqCst);
        Stopper
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        RUNNING.store(0, Ordering::SeqCst);
    }
}
