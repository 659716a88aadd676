//! The learner's process, walled in where the kernel allows it (Landlock, Linux 5.13 and later):
//! it may read anything, but write only to its temporary folder (the runner makes one for each
//! run, so it holds nothing of the course's even when the course lives under /tmp) and to
//! devices, and signal only processes it started. So learner code cannot rewrite the course, the runner or `target/`
//! (to forge the next run's verdict), nor stop or kill the runner that judges it. Where the
//! kernel has no Landlock, the checks run as before: the judge is out of reach either way.

/// Restricts this process, and everything it will start, from here on. Call it before any
/// thread is spawned: a thread keeps the rights it had when it was made.
pub(super) fn enter() {
    #[cfg(target_os = "linux")]
    {
        use landlock::{
            ABI, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope, path_beneath_rules,
        };
        let abi = ABI::V6;
        let writable = [std::env::temp_dir(), "/dev".into()];
        // Best effort: an older kernel enforces what it knows, or nothing.
        let _ = Ruleset::default()
            .handle_access(AccessFs::from_write(abi))
            .and_then(|ruleset| ruleset.scope(Scope::Signal))
            .and_then(|ruleset| ruleset.create())
            .and_then(|ruleset| {
                ruleset.add_rules(path_beneath_rules(&writable, AccessFs::from_write(abi)))
            })
            .and_then(|ruleset| ruleset.restrict_self());
    }
}
