//! Builds one check target with cargo, with the dev profile and target dir that `cargo run`
//! uses, so the dependencies are compiled once for the runner and every exercise.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

#[cfg(unix)]
use super::direct;
use serde_json::Value;

/// What `cargo build` made of a check target.
#[derive(Debug)]
pub enum Build {
    Ready {
        executable: PathBuf,
        /// The compiler's warnings about the learner's file, one line each.
        warnings: Vec<String>,
    },
    /// It did not compile: cargo's rendered diagnostics.
    Failed(String),
}

/// The variable check target `target` reads with `option_env!` (one per target, so that one
/// cargo build can give each its own): cargo rebuilds a binary whenever the value it was built
/// with changes, so the binary that runs is always built from its file's current content,
/// whatever the file's modification time says.
pub fn source_variable(target: &str) -> String {
    format!("HTTPLINGS_SOURCE_SHA256_{}", target.to_ascii_uppercase())
}

/// The SHA-256 of `file`, in hex: what the binary must have been built from.
pub fn source_hash(file: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    let content =
        std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
    Ok(sha2::Sha256::digest(&content).iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Builds one check target from the file whose hash is `source_hash`.
pub fn build(root: &Path, target: &str, source_hash: &str, colored: bool) -> anyhow::Result<Build> {
    #[cfg(unix)]
    if let Some(messages) =
        direct::build(root, target, (&source_variable(target), source_hash), colored)
    {
        return Ok(outcome(&messages, target, String::new));
    }
    let mut built = build_all(root, &[(target.to_string(), source_hash.to_string())], colored)?;
    built.pop().map(|(_, build)| build).context("cargo said nothing of the build")
}

/// Builds every `(target, source hash)` in one cargo run, going on past a target that does not
/// compile: each gets its own outcome, in the order given.
pub fn build_all(
    root: &Path,
    targets: &[(String, String)],
    colored: bool,
) -> anyhow::Result<Vec<(String, Build)>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let format = if colored { "json-diagnostic-rendered-ansi" } else { "json" };
    let mut command = Command::new(&cargo);
    command
        .current_dir(root)
        // The whole workspace is named so that features resolve as for `cargo run`: the
        // dependencies built for the runner are the ones the exercise links.
        .args(["build", "--workspace", "--keep-going"])
        // `-vv` shows how each check target is compiled, which `direct` replays.
        .arg("-vv")
        .args(["--message-format", format])
        .args(["--color", if colored { "always" } else { "never" }])
        .stdin(Stdio::null());
    for (target, source_hash) in targets {
        command.args(["--bin", target]).env(source_variable(target), source_hash);
    }
    let output = command.output().with_context(|| {
        format!("could not run {}: is Rust installed?", cargo.to_string_lossy())
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let names: Vec<String> = targets.iter().map(|(target, _)| target.clone()).collect();
    let messages: Vec<Value> =
        stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    #[cfg(unix)]
    direct::record(root, &names, &stderr, |target| {
        let executable = executable_named(&messages, target)?;
        let fresh = output.status.success()
            && messages.iter().any(|message| {
                message["reason"] == "compiler-artifact"
                    && message["target"]["name"] == target
                    && message["fresh"] == true
            });
        Some((executable, fresh))
    });
    let cargo_said = || cargo_words(&stderr);
    let built: Vec<(String, Build)> = names
        .into_iter()
        .map(|target| (target.clone(), outcome(&messages, &target, cargo_said)))
        .collect();
    if !output.status.success()
        && built.iter().all(|(_, build)| matches!(build, Build::Ready { .. }))
    {
        bail!("cargo failed: {}", cargo_words(&stderr).trim());
    }
    Ok(built)
}

/// What the compiler (cargo's JSON `messages`) made of `target`; `cargo_said` is cargo's own
/// words, for a build that failed before the compiler said anything.
fn outcome(messages: &[Value], target: &str, cargo_said: impl Fn() -> String) -> Build {
    let about: Vec<&Value> =
        messages.iter().filter(|message| message["target"]["name"] == target).collect();
    if let Some(executable) = executable_named(messages, target) {
        return Build::Ready { executable, warnings: learner_warnings(&about) };
    }
    let failed = compiler_messages(&about).any(|message| message["level"] == "error");
    Build::Failed(if failed {
        compiler_messages(&about)
            .filter_map(|message| message["rendered"].as_str())
            .collect::<Vec<_>>()
            .concat()
    } else {
        cargo_said()
    })
}

/// Cargo's stderr without what `-vv` adds (the commands it runs, the crates it found fresh,
/// build scripts' output).
fn cargo_words(stderr: &str) -> String {
    let verbose = |line: &&str| {
        let line = line.trim_start();
        ["Running `", "Fresh ", "Dirty ", "["].iter().any(|prefix| line.starts_with(prefix))
    };
    stderr.lines().filter(|line| !verbose(line)).map(|line| format!("{line}\n")).collect()
}

fn compiler_messages<'a>(messages: &[&'a Value]) -> impl Iterator<Item = &'a Value> {
    messages
        .iter()
        .copied()
        .filter(|message| message["reason"] == "compiler-message")
        .map(|message| &message["message"])
}

/// Warnings whose place is a file of the course (an exercise or solution), as one line each:
/// `warning: unused variable: `x` (exercises/01_generic_500.rs:12:9)`.
fn learner_warnings(messages: &[&Value]) -> Vec<String> {
    let mut warnings: Vec<String> = compiler_messages(messages)
        .filter(|message| message["level"] == "warning")
        .filter_map(|message| {
            let span =
                message["spans"].as_array()?.iter().find(|span| span["is_primary"] == true)?;
            let file = span["file_name"].as_str()?;
            let file = file.rsplit_once("../").map_or(file, |(_, file)| file);
            let ours = ["exercises/", "solutions/"].iter().any(|folder| file.starts_with(folder));
            ours.then(|| {
                format!(
                    "warning: {} ({file}:{}:{})",
                    message["message"].as_str().unwrap_or_default(),
                    span["line_start"],
                    span["column_start"]
                )
            })
        })
        .collect();
    warnings.dedup();
    warnings
}

/// Finds the executable of `target` among cargo's JSON messages.
fn executable_named(messages: &[Value], target: &str) -> Option<PathBuf> {
    messages
        .iter()
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == target)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(lines: &[&str]) -> Vec<Value> {
        lines.iter().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    #[test]
    fn finds_the_executable_of_the_named_target_only() {
        let messages = parsed(&[
            r#"{"reason":"compiler-artifact","target":{"name":"httplings"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"exercise_01"},"executable":"/t/exercise_01"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]);
        assert_eq!(
            executable_named(&messages, "exercise_01"),
            Some(PathBuf::from("/t/exercise_01"))
        );
        assert_eq!(executable_named(&messages, "exercise_02"), None);
    }

    #[test]
    fn keeps_warnings_about_course_files_only_one_line_each() {
        let messages = parsed(&[
            r#"{"reason":"compiler-message","message":{"level":"warning","message":"unused variable: `x`","spans":[{"is_primary":true,"file_name":"src/bin/../../../exercises/01_generic_500.rs","line_start":12,"column_start":9}]}}"#,
            r#"{"reason":"compiler-message","message":{"level":"warning","message":"something in the library","spans":[{"is_primary":true,"file_name":"src/judge.rs","line_start":1,"column_start":1}]}}"#,
        ]);
        assert_eq!(
            learner_warnings(&messages.iter().collect::<Vec<_>>()),
            ["warning: unused variable: `x` (exercises/01_generic_500.rs:12:9)"]
        );
    }
}
