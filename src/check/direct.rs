//! A check target rebuilt by calling rustc the way cargo last did, without cargo in between.
//!
//! After an edit, all that needs compiling is the learner's file: the runner's own `cargo run`
//! has just made sure every library it links is built. A second cargo run would spend a third
//! of the check resolving the workspace and fingerprinting 150 crates to find that out again.
//! So each time cargo compiles a check target (`-vv` shows how), the command is recorded with
//! a stamp of everything it depends on besides the learner's file: the libraries it links, the
//! compiler, the manifests, the kit's sources, the build's environment. The next check runs the
//! command itself while the stamp still holds, and nothing at all when the learner's file is the
//! one it last compiled and the executable is as that build left it (its diagnostics are kept
//! with the record); anything else goes through cargo, which records afresh. The binary still says which source it was built from, and the runner still checks
//! that (see `judge_built`): a command out of date shows as an error, never as a verdict.
//!
//! Only single checks take this way; `check --all`, which teachers grade with, is cargo's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

use httplings_judge::judge::log;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Files of the course whose change may change what a check target is built from.
const COURSE_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "kit/Cargo.toml",
    ".cargo/config.toml",
    ".cargo/config",
    "rust-toolchain",
    "rust-toolchain.toml",
];

/// Variables that change how cargo would call rustc.
const BUILD_VARIABLES: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTUP_TOOLCHAIN",
    "CARGO_INCREMENTAL",
    "CARGO_TARGET_DIR",
    "CARGO_HOME",
];

/// How cargo last compiled one check target, and what that depended on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Recorded {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// What the compiler writes (`deps/exercise_01-…`).
    output: PathBuf,
    /// What is run: where cargo puts a copy of the output (`debug/exercise_01`, a hard link),
    /// so that a check's process is the same file whoever built it.
    executable: PathBuf,
    stamp: Stamp,
    /// What the last build here made of the learner's file, so that a check of a file that has
    /// not changed since compiles nothing, as cargo's would not.
    #[serde(default)]
    last: Option<Last>,
}

/// One build of the command: the SHA-256 of the source, whether it compiled, the compiler's
/// diagnostics as it wrote them (coloured), and the executable it made as it was then (a build
/// of cargo's since, of another version of the file, writes the same path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Last {
    source: String,
    compiled: bool,
    diagnostics: Vec<Value>,
    executable: Option<(u128, u64)>,
}

/// Every file a command depends on besides the learner's, with its modification time and
/// length (`None` where there is none), and the build's variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    files: Vec<(PathBuf, Option<(u128, u64)>)>,
    variables: Vec<(String, String)>,
}

/// Builds `target` as cargo last did, when that still holds: `None` when it may not (no
/// record, anything changed, rustc not there), and cargo must.
pub fn build(
    root: &Path,
    target: &str,
    variable: (&str, &str),
    colored: bool,
) -> Option<Vec<Value>> {
    let file = record_file(root, target);
    let mut recorded: Recorded = serde_json::from_slice(&std::fs::read(&file).ok()?).ok()?;
    if stamp(root, &recorded.args, &recorded.program) != recorded.stamp {
        return None;
    }
    let built = known(&recorded.executable);
    let last = match &recorded.last {
        Some(last) if last.source == variable.1 && last.executable == built => last.clone(),
        _ => {
            let last = compile(root, &recorded, variable)?;
            recorded.last = Some(last.clone());
            write(&file, &recorded);
            last
        }
    };
    let mut messages: Vec<Value> = last
        .diagnostics
        .into_iter()
        .map(|mut message| {
            if let (false, Some(rendered)) = (colored, message["rendered"].as_str()) {
                message["rendered"] = log::without_colours(rendered).into();
            }
            json!({"reason": "compiler-message", "target": {"name": target}, "message": message})
        })
        .collect();
    if last.compiled {
        if !recorded.executable.is_file() {
            return None;
        }
        let executable = recorded.executable.to_string_lossy();
        messages.push(json!({"reason": "compiler-artifact", "target": {"name": target}, "executable": executable}));
    }
    Some(messages)
}

/// Runs the recorded command on the learner's file as it is now: `None` when it failed without
/// a word from the compiler (it could not start, say), which cargo must then look into.
fn compile(root: &Path, recorded: &Recorded, (name, source): (&str, &str)) -> Option<Last> {
    // The arguments exactly as cargo gave them (others would throw away the compiler's
    // incremental state): its diagnostics come coloured, and are made plain for the reporter
    // if need be.
    let output = Command::new(&recorded.program)
        .args(&recorded.args)
        .envs(recorded.env.iter().map(|(name, value)| (name, value)))
        .env(name, source)
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let diagnostics: Vec<Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["$message_type"] == "diagnostic")
        .filter(|message| !summary(message["message"].as_str().unwrap_or_default()))
        .collect();
    let compiled = output.status.success();
    let failed = diagnostics.iter().any(|message| message["level"] == "error");
    if compiled && recorded.output != recorded.executable {
        // As cargo does: the old link removed, a new one to the fresh output.
        let _ = std::fs::remove_file(&recorded.executable);
        std::fs::hard_link(&recorded.output, &recorded.executable)
            .or_else(|_| std::fs::copy(&recorded.output, &recorded.executable).map(drop))
            .ok()?;
    }
    let executable = known(&recorded.executable);
    (compiled || failed).then(|| Last {
        source: source.to_string(),
        compiled,
        diagnostics,
        executable,
    })
}

/// The compiler's closing counts, which cargo leaves out ("aborting due to 1 previous error",
/// "2 warnings emitted").
fn summary(message: &str) -> bool {
    message.starts_with("aborting due to")
        || message.ends_with("warning emitted")
        || message.ends_with("warnings emitted")
}

/// Records how cargo compiled each of `targets` that it compiled, from its `-vv` output, with
/// the executable it made (`artifact`: where it put it, and whether it found it fresh); keeps the
/// record of one it found fresh up to date.
pub fn record(
    root: &Path,
    targets: &[String],
    cargo_stderr: &str,
    artifact: impl Fn(&str) -> Option<(PathBuf, bool)>,
) {
    for target in targets {
        let file = record_file(root, target);
        let Some((executable, fresh)) = artifact(target) else { continue };
        let recorded = match compiled(cargo_stderr, target) {
            Some(invocation) => recorded(root, invocation, executable),
            // Cargo found nothing changed since it compiled it, so the command it recorded
            // then still holds.
            None if fresh => std::fs::read(&file)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Recorded>(&bytes).ok())
                .map(|recorded| Recorded {
                    stamp: stamp(root, &recorded.args, &recorded.program),
                    last: None,
                    ..recorded
                }),
            None => None,
        };
        if let Some(recorded) = recorded {
            write(&file, &recorded);
        }
    }
}

fn recorded(
    root: &Path,
    Invocation { env, program, args }: Invocation,
    executable: PathBuf,
) -> Option<Recorded> {
    let value = |flag: &str| {
        let prefix = format!("{flag}=");
        args.iter().find_map(|arg| arg.strip_prefix(&prefix).map(str::to_string)).or_else(|| {
            args.iter().position(|arg| arg == flag).and_then(|at| args.get(at + 1)).cloned()
        })
    };
    let codegen = |option: &str| {
        args.windows(2)
            .find_map(|pair| (pair[0] == "-C").then(|| pair[1].strip_prefix(option)).flatten())
            .map(str::to_string)
    };
    let name = value("--crate-name")?;
    let output =
        Path::new(&value("--out-dir")?).join(format!("{name}{}", codegen("extra-filename=")?));
    let stamp = stamp(root, &args, &program);
    Some(Recorded { program, args, env, output, executable, stamp, last: None })
}

/// A command as cargo ran it.
#[derive(Debug, PartialEq, Eq)]
struct Invocation {
    env: Vec<(String, String)>,
    program: String,
    args: Vec<String>,
}

/// The command cargo ran to compile `target`, from its `-vv` output: the variables it set,
/// the program, its arguments.
fn compiled(stderr: &str, target: &str) -> Option<Invocation> {
    stderr.lines().find_map(|line| {
        let command = line.trim_start().strip_prefix("Running `")?.strip_suffix('`')?;
        let mut words = split(command)?.into_iter();
        let mut env = Vec::new();
        let program = loop {
            let word = words.next()?;
            match word.split_once('=') {
                Some((name, value)) if is_variable_name(name) => {
                    env.push((name.to_string(), value.to_string()))
                }
                _ => break word,
            }
        };
        let args: Vec<String> = words.collect();
        let named = args.windows(2).any(|pair| pair[0] == "--crate-name" && pair[1] == target);
        let binary = args.windows(2).any(|pair| pair[0] == "--crate-type" && pair[1] == "bin");
        (named && binary).then_some(Invocation { env, program, args })
    })
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A command line as a POSIX shell splits it: cargo quotes with `'…'` (and `'\''` for a quote).
fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '\'' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            c => word.extend(['\\', c]),
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_default().push(chars.next()?),
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    Some(words)
}

/// What a command for a check target depends on, as it is now.
fn stamp(root: &Path, args: &[String], program: &str) -> Stamp {
    let mut files: Vec<PathBuf> = COURSE_FILES.iter().map(|file| root.join(file)).collect();
    // Watch mode runs for hours without `cargo run` rebuilding the kit's rlib: an edited kit
    // shows in its sources before it shows in the rlib (forty-odd stats, well under a ms).
    sources(&root.join("kit/src"), &mut files);
    files.extend(
        args.windows(2)
            .filter(|pair| pair[0] == "--extern")
            .filter_map(|pair| pair[1].split_once('=').map(|(_, path)| PathBuf::from(path))),
    );
    files.push(PathBuf::from(program));
    let files = files
        .into_iter()
        .map(|file| {
            let known = known(&file);
            (file, known)
        })
        .collect();
    let variables = std::env::vars()
        .filter(|(name, _)| {
            BUILD_VARIABLES.contains(&name.as_str()) || name.starts_with("CARGO_PROFILE_")
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    Stamp { files, variables }
}

/// A file's modification time (in nanoseconds) and length, when it is there.
fn known(file: &Path) -> Option<(u128, u64)> {
    let metadata = std::fs::metadata(file).ok()?;
    let modified = metadata.modified().ok().and_then(|at| at.duration_since(UNIX_EPOCH).ok());
    Some((modified.map_or(0, |at| at.as_nanos()), metadata.len()))
}

/// Every file under `folder`, sorted.
fn sources(folder: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|entry| Some(entry.ok()?.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            sources(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Where the record for `target` built in `root` lives: in the target dir, which copies of the
/// course may share, so the course's own path is part of the name.
fn record_file(root: &Path, target: &str) -> PathBuf {
    use sha2::Digest;
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), |dir| root.join(dir));
    let course = sha2::Sha256::digest(root.as_os_str().as_encoded_bytes());
    let course: String = course.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
    target_dir.join("httplings").join(format!("{target}-{course}.json"))
}

/// Writes `recorded` whole or not at all: two checks may record at once.
fn write(file: &Path, recorded: &Recorded) {
    let Some(folder) = file.parent() else { return };
    let temporary = folder.join(format!(
        ".{}.{}",
        std::process::id(),
        file.file_name().unwrap_or_default().to_string_lossy()
    ));
    let written = std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(&temporary, serde_json::to_vec(recorded).unwrap_or_default()))
        .and_then(|()| std::fs::rename(&temporary, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_command_as_cargo_quotes_it() {
        let words =
            split(r"A='it'\''s' B= /bin/rustc --crate-name x '--warn=clippy::all' a\ b").unwrap();
        assert_eq!(
            words,
            ["A=it's", "B=", "/bin/rustc", "--crate-name", "x", "--warn=clippy::all", "a b"]
        );
        assert_eq!(split("'unterminated"), None);
    }

    #[test]
    fn finds_the_command_that_compiled_the_named_binary_only() {
        let stderr = "   Compiling httplings-kit v0.1.0\n     \
            Running `CARGO_CRATE_NAME=httplings /r/rustc --crate-name httplings --crate-type lib`\n     \
            Running `CARGO_PKG_DESCRIPTION='a '\\''kit'\\''' /r/rustc --crate-name exercise_01 \
            --crate-type bin --out-dir /t/deps -C extra-filename=-abc`\n";
        let invocation = compiled(stderr, "exercise_01").unwrap();
        assert_eq!(invocation.env, [("CARGO_PKG_DESCRIPTION".to_string(), "a 'kit'".to_string())]);
        assert_eq!(invocation.program, "/r/rustc");
        assert_eq!(invocation.args[..2], ["--crate-name", "exercise_01"]);
        assert_eq!(compiled(stderr, "exercise_02"), None);
        assert_eq!(compiled(stderr, "httplings"), None, "a library is not a check target");
        let recorded =
            recorded(Path::new("/nowhere"), invocation, "/t/exercise_01".into()).unwrap();
        assert_eq!(recorded.output, Path::new("/t/deps/exercise_01-abc"));
    }

    #[test]
    fn a_stamp_changes_when_a_library_or_the_kit_changes() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("kit/src")).unwrap();
        std::fs::write(root.path().join("kit/src/lib.rs"), "").unwrap();
        let library = root.path().join("liba.rlib");
        std::fs::write(&library, "a").unwrap();
        let args = vec!["--extern".to_string(), format!("a={}", library.display())];
        let before = stamp(root.path(), &args, "/bin/sh");
        assert_eq!(stamp(root.path(), &args, "/bin/sh"), before);
        std::fs::write(&library, "ab").unwrap();
        let rebuilt = stamp(root.path(), &args, "/bin/sh");
        assert_ne!(rebuilt, before);
        std::fs::write(root.path().join("kit/src/new.rs"), "").unwrap();
        assert_ne!(stamp(root.path(), &args, "/bin/sh"), rebuilt);
    }
}
