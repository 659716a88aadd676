//! The Landlock part of the sandbox: what the learner's process may read and write, whom it may
//! signal, and which abstract Unix sockets it may reach.
//!
//! Reads are allowed everywhere but `/dev`, where only a few harmless devices are readable (a
//! terminal is not, so that the learner's keystrokes stay theirs), and `/proc`, where only the
//! process's own entry is (the runner's environment is not its to read). Writes are allowed only in the
//! process's own temporary folder (the runner makes a fresh one per run, so it holds nothing of
//! the course's even when the course lives under /tmp) and to `/dev/null`. Signals and abstract
//! Unix sockets are scoped to the sandbox itself (ABI 6, Linux 6.12 and later). Landlock also keeps the process from tracing
//! or reading the memory and environment of any process outside it.

use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope,
};

use crate::protocol::Confinement;

/// The ABI this policy is written for: 6 scopes signals and abstract sockets. Older kernels
/// enforce what they know of it (and the check says so); seccomp keeps Unix sockets out anyway.
const ABI: ABI = ABI::V6;

/// Devices a program may need to read: nothing in them is anybody's.
const READABLE_DEVICES: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"];

pub(super) fn enter() -> Confinement {
    let read = AccessFs::from_read(ABI);
    let all = AccessFs::from_all(ABI);
    let mut rules: Vec<(PathBuf, landlock::BitFlags<AccessFs>)> = readable_roots()
        .into_iter()
        .map(|root| {
            // A file at the root (a symlink to one, say) takes only the rights a file has.
            let access = if root.is_dir() { read } else { read & files() };
            (root, access)
        })
        .chain(READABLE_DEVICES.iter().map(|device| (PathBuf::from(device), read & files())))
        // Its own /proc entry only (the link resolves to this process's folder now).
        .chain([(PathBuf::from("/proc/self"), read)])
        .collect();
    rules.push(("/dev/null".into(), all & files()));
    rules.push((std::env::temp_dir(), all));
    let restricted = Ruleset::default()
        .handle_access(all)
        .and_then(|ruleset| ruleset.scope(Scope::Signal | Scope::AbstractUnixSocket))
        .and_then(|ruleset| ruleset.create())
        .and_then(|ruleset| {
            ruleset.add_rules(rules.iter().filter_map(|(path, access)| {
                // A path that does not exist here (a device, say) is simply not granted.
                let fd = PathFd::new(path).ok()?;
                Some(Ok::<_, landlock::RulesetError>(PathBeneath::new(fd, *access)))
            }))
        })
        .and_then(|ruleset| ruleset.restrict_self());
    match restricted.map(|status| status.ruleset) {
        Ok(RulesetStatus::FullyEnforced) => Confinement::Full,
        Ok(RulesetStatus::PartiallyEnforced) => Confinement::Partial,
        Ok(RulesetStatus::NotEnforced) | Err(_) => Confinement::Missing,
    }
}

/// Every entry of `/` but `/dev` and `/proc`: what a program reads (its libraries, the course's
/// files) lives there. Other processes' `/proc` entries (the runner's environment and command
/// line among them) are not its to read.
fn readable_roots() -> Vec<PathBuf> {
    std::fs::read_dir("/")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path != Path::new("/dev") && path != Path::new("/proc"))
        .collect()
}

/// The rights that make sense on a file (not a folder), so that a rule on one is accepted.
fn files() -> landlock::BitFlags<AccessFs> {
    AccessFs::from_file(ABI)
}
