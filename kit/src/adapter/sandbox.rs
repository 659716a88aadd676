//! The learner's process, walled in before any learner code runs. [`enter`] is the first thing
//! a check target's `main` does; what it could put in place is reported to the judge in the
//! hello ([`Sandbox`]), so that a check can say when it runs without it.
//!
//! - **A session of its own** (`setsid`): no controlling terminal, a process group that the
//!   runner ends as a whole.
//! - **Landlock** ([`landlock`]): reads only outside `/dev` (and a few harmless devices), writes
//!   only in its temporary folder; no signal to, and no abstract socket of, anything outside.
//! - **seccomp** ([`seccomp`]): an allow-list of what tokio, hyper, axum and reqwest need on
//!   loopback TCP; no Unix sockets, no new session or group, no terminal injection, no locks,
//!   no `ptrace`, no changing another process's limits or a file's times and modes; and the
//!   process's own id reads the same in every learner process.
//!
//! Each part is entered where the kernel has it; where it has not, the check runs without it,
//! and says so. Verdicts never depend on the sandbox: the judge is in another process.

#[cfg(target_os = "linux")]
mod landlock;
#[cfg(target_os = "linux")]
mod seccomp;

use crate::protocol::Sandbox;

/// Restricts this process, and everything it will start, from here on. Call it first in
/// `main`, before any thread is spawned: a thread keeps the rights it had when it was made.
pub(super) fn enter() -> Sandbox {
    #[cfg(unix)]
    {
        // Leaves the runner's session and its terminal. It fails only for a group leader, which
        // the runner never starts; seccomp forbids it (and setpgid) from here on.
        let _ = rustix::process::setsid();
        super::lifeline::note_group();
    }
    #[cfg(target_os = "linux")]
    {
        let landlock = landlock::enter();
        let seccomp = seccomp::enter();
        Sandbox { landlock, seccomp }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Sandbox { landlock: crate::protocol::Confinement::Missing, seccomp: false }
    }
}
