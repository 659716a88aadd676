//! The seccomp part of the sandbox: an allow-list of system calls, a few of them only with
//! harmless arguments. Anything else fails with `EPERM` (the process goes on, and the learner
//! sees an error they can read); `clone3` fails with `ENOSYS`, so that the C library falls back
//! to `clone`, whose flags can be checked.
//!
//! What it keeps out, beyond what Landlock does:
//! - Unix-domain sockets, named or abstract (a terminal multiplexer's, an editor's, D-Bus), and
//!   raw sockets: only TCP and UDP over IPv4 and IPv6;
//! - a new session or process group (`setsid`, `setpgid`), so that everything the process starts
//!   stays in the group the runner ends, and new namespaces;
//! - typing into a terminal (`TIOCSTI`, `TIOCLINUX`) or taking one as controlling terminal;
//! - file locks (`flock`, `fcntl` locks and leases), which could hang the runner or cargo;
//! - `ptrace`, `process_vm_readv`/`writev`, pidfds, and changing another process's limits or
//!   priority (`prlimit`, `setpriority`);
//! - changing a file's times, mode, owner or extended attributes (Landlock does not cover them),
//!   so that no file can be made to look older than it is;
//! - everything else a service has no use for: mounts, modules, BPF, `io_uring`, keyrings;
//! - its own process id (`getpid` fails): replicas in containers share theirs, so no answer
//!   may draw its uniqueness from it.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Installs the filters; false when the kernel refused them (the check then says so).
pub(super) fn enter() -> bool {
    let Some(arch) = arch() else { return false };
    let (Ok(allowed), Ok(no_clone3)) = (allow_list(arch), clone3_unavailable(arch)) else {
        return false;
    };
    // Both filters run on every call and the stricter answer wins: clone3 is allowed by the
    // allow-list and answered ENOSYS by the other. The allow-list goes last: it forbids
    // `seccomp` itself.
    seccompiler::apply_filter(&no_clone3).is_ok() && seccompiler::apply_filter(&allowed).is_ok()
}

fn arch() -> Option<TargetArch> {
    if cfg!(target_arch = "x86_64") {
        Some(TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(TargetArch::aarch64)
    } else if cfg!(target_arch = "riscv64") {
        Some(TargetArch::riscv64)
    } else {
        None
    }
}

fn allow_list(arch: TargetArch) -> Result<BpfProgram, seccompiler::Error> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for call in ALLOWED.iter().chain(LEGACY) {
        rules.insert(*call, Vec::new());
    }
    for (call, allowed_when) in with_arguments()? {
        rules.insert(call, allowed_when);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        arch,
    )?;
    Ok(BpfProgram::try_from(filter)?)
}

fn clone3_unavailable(arch: TargetArch) -> Result<BpfProgram, seccompiler::Error> {
    let rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )?;
    Ok(BpfProgram::try_from(filter)?)
}

/// `fcntl` commands the libc crate does not name on every target.
const F_SETSIG: i32 = 10;
const F_SETOWN_EX: i32 = 15;

/// Calls allowed only when every condition of one of their rules holds.
fn with_arguments() -> Result<Vec<(i64, Vec<SeccompRule>)>, seccompiler::Error> {
    use SeccompCmpArgLen::{Dword, Qword};
    use SeccompCmpOp::{Eq, Lt, MaskedEq, Ne};
    let when = |arg, len, op, value| SeccompCondition::new(arg, len, op, value);
    // socket(domain, type, protocol): TCP or UDP, over IPv4 or IPv6; the type's low bits name
    // it, the rest are SOCK_NONBLOCK and SOCK_CLOEXEC.
    let mut sockets = Vec::new();
    for domain in [libc::AF_INET, libc::AF_INET6] {
        for kind in [libc::SOCK_STREAM, libc::SOCK_DGRAM] {
            sockets.push(SeccompRule::new(vec![
                when(0, Dword, Eq, domain as u64)?,
                when(1, Dword, MaskedEq(0xf), kind as u64)?,
            ])?);
        }
    }
    // ioctl(fd, request, …): anything but putting characters into a terminal's input, or
    // taking a terminal as the controlling one.
    let terminal_requests = [libc::TIOCSTI, libc::TIOCLINUX, libc::TIOCSCTTY, libc::TIOCSETD];
    // Their type is the C library's: an unsigned long here, an int elsewhere.
    #[allow(clippy::unnecessary_cast)]
    let ioctl = SeccompRule::new(
        terminal_requests
            .iter()
            .map(|request| when(1, Dword, Ne, *request as u64))
            .collect::<Result<_, _>>()?,
    )?;
    // fcntl(fd, command, …): anything but locks, leases, and sending SIGIO elsewhere.
    let lock_commands = [
        libc::F_SETLK,
        libc::F_SETLKW,
        libc::F_OFD_SETLK,
        libc::F_OFD_SETLKW,
        libc::F_SETLEASE,
        libc::F_SETOWN,
        F_SETOWN_EX,
        F_SETSIG,
    ];
    let fcntl = SeccompRule::new(
        lock_commands
            .iter()
            .map(|command| when(1, Dword, Ne, *command as u64))
            .collect::<Result<_, _>>()?,
    )?;
    // clone(flags, …): threads and processes, never in new namespaces.
    const NEW_NAMESPACES: u64 = (libc::CLONE_NEWNS
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET) as u64;
    let clone = SeccompRule::new(vec![when(0, Qword, MaskedEq(NEW_NAMESPACES), 0)?])?;
    // kill(pid, …): a process by its id (Landlock keeps it to the sandbox's own), or its own
    // group (0); never every process it may signal (-1), nor another group (< -1).
    let kill = SeccompRule::new(vec![when(0, Dword, Lt, 0x8000_0000)?])?;
    // prlimit64(pid, …) and setpriority(which, who, …): this process's own only.
    let own_limits = SeccompRule::new(vec![when(0, Dword, Eq, 0)?])?;
    let own_priority = SeccompRule::new(vec![when(1, Dword, Eq, 0)?])?;
    Ok(vec![
        (libc::SYS_socket, sockets),
        (libc::SYS_ioctl, vec![ioctl]),
        (libc::SYS_fcntl, vec![fcntl]),
        (libc::SYS_clone, vec![clone]),
        (libc::SYS_kill, vec![kill]),
        (libc::SYS_prlimit64, vec![own_limits]),
        (libc::SYS_setpriority, vec![own_priority]),
    ])
}

/// Calls allowed whatever their arguments: what a Rust program, its threads, its async runtime
/// and its TCP sockets need, files in its own folder included (Landlock decides where).
const ALLOWED: &[i64] = &[
    // Files and descriptors.
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_preadv,
    libc::SYS_pwritev,
    libc::SYS_preadv2,
    libc::SYS_pwritev2,
    libc::SYS_openat,
    libc::SYS_close,
    libc::SYS_close_range,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_lseek,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_readlinkat,
    libc::SYS_getdents64,
    libc::SYS_getcwd,
    libc::SYS_chdir,
    libc::SYS_fchdir,
    libc::SYS_mkdirat,
    libc::SYS_unlinkat,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_linkat,
    libc::SYS_symlinkat,
    libc::SYS_ftruncate,
    libc::SYS_truncate,
    libc::SYS_fsync,
    libc::SYS_fdatasync,
    libc::SYS_fallocate,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_pipe2,
    libc::SYS_sendfile,
    libc::SYS_copy_file_range,
    libc::SYS_splice,
    libc::SYS_tee,
    libc::SYS_statfs,
    libc::SYS_fstatfs,
    libc::SYS_umask,
    libc::SYS_fadvise64,
    libc::SYS_getxattr,
    libc::SYS_lgetxattr,
    libc::SYS_fgetxattr,
    libc::SYS_listxattr,
    libc::SYS_llistxattr,
    libc::SYS_flistxattr,
    libc::SYS_memfd_create,
    // Memory.
    libc::SYS_brk,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mprotect,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_msync,
    libc::SYS_mincore,
    libc::SYS_membarrier,
    // Sockets (which ones: see `with_arguments`).
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_setsockopt,
    libc::SYS_getsockopt,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendmmsg,
    libc::SYS_recvmmsg,
    libc::SYS_shutdown,
    // Waiting on many at once.
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_eventfd2,
    libc::SYS_timerfd_create,
    libc::SYS_timerfd_settime,
    libc::SYS_timerfd_gettime,
    libc::SYS_signalfd4,
    // Time.
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_gettimeofday,
    libc::SYS_timer_create,
    libc::SYS_timer_settime,
    libc::SYS_timer_gettime,
    libc::SYS_timer_getoverrun,
    libc::SYS_timer_delete,
    libc::SYS_getitimer,
    libc::SYS_setitimer,
    // Threads, and waiting for each other.
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_get_robust_list,
    libc::SYS_set_tid_address,
    libc::SYS_rseq,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_sched_getparam,
    libc::SYS_sched_getscheduler,
    libc::SYS_sched_getattr,
    libc::SYS_sched_get_priority_max,
    libc::SYS_sched_get_priority_min,
    libc::SYS_getpriority,
    libc::SYS_getcpu,
    // Who am I. Not `getpid`: it fails, so that every learner process reads the same id (-1),
    // as every replica of a service in a container reads 1; a generator seeded with it repeats
    // in the judge's two processes as it would across a fleet. The adapter notes its own before.
    libc::SYS_gettid,
    libc::SYS_getppid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getgroups,
    libc::SYS_getresuid,
    libc::SYS_getresgid,
    libc::SYS_getpgid,
    libc::SYS_getsid,
    libc::SYS_capget,
    libc::SYS_uname,
    libc::SYS_sysinfo,
    libc::SYS_getrusage,
    libc::SYS_times,
    libc::SYS_getrandom,
    // A thread's own settings: its name, its parent-death signal, more filters.
    libc::SYS_prctl,
    // Signals (to whom: see `with_arguments` and Landlock).
    libc::SYS_sigaltstack,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_rt_sigtimedwait,
    libc::SYS_rt_sigsuspend,
    libc::SYS_rt_sigpending,
    libc::SYS_tgkill,
    libc::SYS_tkill,
    // Processes: starting one, running a program, waiting for it, ending.
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_wait4,
    libc::SYS_waitid,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_restart_syscall,
    // Allowed here, answered ENOSYS by the second filter.
    libc::SYS_clone3,
];

/// The older calls that x86-64 still has (newer architectures have only their `*at` forms).
#[cfg(target_arch = "x86_64")]
const LEGACY: &[i64] = &[
    libc::SYS_open,
    libc::SYS_creat,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_access,
    libc::SYS_readlink,
    libc::SYS_getdents,
    libc::SYS_mkdir,
    libc::SYS_rmdir,
    libc::SYS_unlink,
    libc::SYS_rename,
    libc::SYS_link,
    libc::SYS_symlink,
    libc::SYS_pipe,
    libc::SYS_dup2,
    libc::SYS_poll,
    libc::SYS_select,
    libc::SYS_epoll_create,
    libc::SYS_epoll_wait,
    libc::SYS_eventfd,
    libc::SYS_signalfd,
    libc::SYS_fork,
    libc::SYS_vfork,
    libc::SYS_arch_prctl,
    libc::SYS_getpgrp,
    libc::SYS_getrlimit,
    libc::SYS_time,
    libc::SYS_alarm,
    libc::SYS_pause,
];

#[cfg(not(target_arch = "x86_64"))]
const LEGACY: &[i64] = &[];
