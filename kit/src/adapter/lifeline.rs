//! The learner's process never outlives the runner. Two ties, either enough: on Linux the kernel
//! kills it when the runner dies, and a watchdog thread ends it, with everything it started,
//! as soon as its standard input (a pipe from the runner) closes, however the runner ended.

use std::io::Read;
use std::thread;

/// Ties this process's life to the runner's.
pub(super) fn hold() {
    #[cfg(target_os = "linux")]
    {
        // Fires when the runner's thread that started us dies; the watchdog covers the rest.
        let _ =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    }
    thread::Builder::new()
        .name("lifeline".into())
        .spawn(|| {
            let mut ignored = [0; 64];
            while let Ok(1..) = std::io::stdin().read(&mut ignored) {}
            end_everything()
        })
        .expect("a thread to watch the runner");
}

/// Ends this process and, when it leads a process group of its own (as the runner starts it),
/// everything learner code started in it.
pub(super) fn end_everything() -> ! {
    #[cfg(unix)]
    {
        use rustix::process::{Signal, getpgrp, getpid, kill_current_process_group};
        if getpgrp() == getpid() {
            let _ = kill_current_process_group(Signal::KILL);
        }
    }
    std::process::exit(0)
}
