//! The learner's process never outlives the runner. Two ties, either enough on Linux: the
//! kernel kills it when the runner dies (the parent-death signal), and a watchdog thread ends
//! it, with everything it started, as soon as the runner's end of the control connection
//! closes, however the runner ended, even while learner code holds the thread that reads it.

use std::sync::atomic::{AtomicBool, Ordering};

use super::channel::Control;

/// Ties this process's life to the runner's.
pub(super) fn hold(control: &Control) {
    #[cfg(target_os = "linux")]
    {
        // Fires when the runner's thread that started us dies; the watchdog covers the rest.
        let _ =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
        if let Ok(watched) = control.try_clone() {
            let _ = std::thread::Builder::new().name("lifeline".into()).spawn(move || {
                use rustix::event::{PollFd, PollFlags, poll};
                // Wakes on the peer's hang-up only, never on data (which the control loop reads).
                let mut fds = [PollFd::new(&watched, PollFlags::RDHUP)];
                while poll(&mut fds, None).is_err() {}
                end_everything()
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = control;
}

/// Whether this process leads its process group, as [`note_group`] found while the process
/// could still read its own id (the sandbox hides it: see `sandbox::seccomp`).
static LEADS_GROUP: AtomicBool = AtomicBool::new(false);

/// Notes whether this process leads its process group: call it once the group is final (after
/// `setsid`), before seccomp.
pub(super) fn note_group() {
    #[cfg(unix)]
    {
        use rustix::process::{getpgrp, getpid};
        LEADS_GROUP.store(getpgrp() == getpid(), Ordering::Relaxed);
    }
}

/// Ends this process and everything learner code started in its process group (the one the
/// runner ends too; the sandbox keeps every descendant in it).
pub(super) fn end_everything() -> ! {
    #[cfg(unix)]
    if LEADS_GROUP.load(Ordering::Relaxed) {
        use rustix::process::{Signal, kill_current_process_group};
        let _ = kill_current_process_group(Signal::KILL);
    }
    std::process::exit(0)
}
