//! The check process runs in a process group of its own: when the check ends, or the learner
//! presses Ctrl-C, the whole group is stopped, so nothing the learner's code started (a
//! `sleep` it spawned, say) outlives the check or holds its output pipes open.

#[cfg(unix)]
mod unix {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};
    use std::sync::Once;
    use std::sync::atomic::{AtomicI32, Ordering};

    use rustix::process::{Pid, Signal, kill_process_group};

    /// The group of the check process now running, for the Ctrl-C handler; 0 when none is.
    static RUNNING: AtomicI32 = AtomicI32::new(0);

    pub fn own_group(command: &mut Command) {
        command.process_group(0);
    }

    pub fn stop(child: &Child) {
        // Already gone is fine: there is nothing left to stop.
        let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
    }

    /// While it lives, Ctrl-C stops the check process's group before the runner exits.
    pub struct Stopper;

    impl Stopper {
        pub fn watch(child: &Child) -> Self {
            static HANDLER: Once = Once::new();
            HANDLER.call_once(|| {
                // Without a handler (one is already set) Ctrl-C still ends the runner; only the
                // group would outlive it, until its own time limit.
                let _ = ctrlc::set_handler(|| {
                    if let Some(group) = Pid::from_raw(RUNNING.load(Ordering::SeqCst)) {
                        let _ = kill_process_group(group, Signal::KILL);
                    }
                    std::process::exit(130);
                });
            });
            RUNNING.store(Pid::as_raw(Some(Pid::from_child(child))), Ordering::SeqCst);
            Stopper
        }
    }

    impl Drop for Stopper {
        fn drop(&mut self) {
            RUNNING.store(0, Ordering::SeqCst);
        }
    }
}

#[cfg(unix)]
pub use unix::{Stopper, own_group, stop};

#[cfg(not(unix))]
mod elsewhere {
    use std::process::{Child, Command};

    pub fn own_group(_: &mut Command) {}

    pub fn stop(_: &Child) {}

    pub struct Stopper;

    impl Stopper {
        pub fn watch(_: &Child) -> Self {
            Stopper
        }
    }
}

#[cfg(not(unix))]
pub use elsewhere::{Stopper, own_group, stop};
