//! Test support: the real runner binary, run from the repository or from a scratch copy of
//! the course whose exercises a test may rewrite; and, for the judges run in process, the
//! run's seed and readable assertions on what they decided.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use httplings_judge::judge::{Judged, Outcome};

/// The repository: read-only for tests, which must not depend on the learner's exercises.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What one run of the runner did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The checks the report marks ✓.
    pub fn passed(&self) -> Vec<&str> {
        self.marked("✓ ")
    }

    /// The lines the report marks ✗: failed checks (each once, though its details repeat the
    /// name), and the cause when judging was interrupted.
    pub fn failed(&self) -> Vec<&str> {
        self.marked("✗ ")
    }

    /// The checks the report marks as not judged.
    pub fn not_judged(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|line| line.strip_prefix("– ")?.strip_suffix(" (not judged: see above)"))
            .collect()
    }

    fn marked(&self, mark: &str) -> Vec<&str> {
        let mut lines: Vec<&str> = Vec::new();
        for line in self.stdout.lines().filter_map(|line| line.strip_prefix(mark)) {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        lines
    }
}

/// Runs `httplings ARGS` from the repository, without colour.
pub fn httplings(args: &[&str]) -> Run {
    run(Path::new(ROOT), args, &[])
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_httplings"));
    command.current_dir(dir).args(args).env_remove("NO_COLOR");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the runner starts");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A copy of the course in which `exercises/` holds the pristine starters, whatever state the
/// learner's own exercises are in. It is a package of its own, named after the test, that
/// depends on this repository's kit by path: the copy holds only what a learner edits (lessons,
/// exercises, solutions) and the check targets, so building one compiles nothing but its
/// exercise. Each copy's executables go to a target directory of its own (so that copies never
/// replace each other's, nor the learner's); what they are built from goes to the repository's
/// (cargo's `build-dir`), where the dependencies are compiled already. Copies are independent:
/// tests that use them run side by side.
pub struct Scratch {
    root: PathBuf,
    target: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let root = tmp.join("scratch").join(name);
        let target = tmp.join("scratch-targets").join(name);
        let _ = fs::remove_dir_all(&root);
        let repo = Path::new(ROOT);
        for dir in ["lessons", "solutions", "kit/src/bin"] {
            copy_dir(&repo.join(dir), &root.join(dir));
        }
        let starters = repo.join("exercises/.starters");
        copy_dir(&starters, &root.join("exercises"));
        copy_dir(&starters, &root.join("exercises/.starters"));
        fs::write(root.join("Cargo.toml"), scratch_manifest(name))
            .expect("writing the scratch manifest");
        fs::copy(repo.join("Cargo.lock"), root.join("Cargo.lock")).expect("copying the lock file");
        Self { root, target }
    }

    /// Where this copy's executables go.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The environment that builds this copy: its own target directory, the shared build one.
    pub fn cargo_env(&self) -> [(&'static str, PathBuf); 2] {
        [("CARGO_TARGET_DIR", self.target.clone()), ("CARGO_BUILD_BUILD_DIR", build_dir())]
    }

    /// A copy of the whole repository (for what edits the course's code, like `dev new`), its
    /// runner package renamed, so that it never shares a build with the repository itself.
    pub fn full(name: &str) -> Self {
        let scratch = Self::new(name);
        let repo = Path::new(ROOT);
        let _ = fs::remove_dir_all(scratch.root.join("kit"));
        copy_dir(&repo.join("src"), &scratch.root.join("src"));
        copy_dir(&repo.join("kit"), &scratch.root.join("kit"));
        copy_dir(&repo.join("tests"), &scratch.root.join("tests"));
        fs::copy(repo.join("README.md"), scratch.root.join("README.md")).expect("the README");
        // Both packages get names of their own: cargo keys what it builds by a package's name
        // and its path relative to the workspace, which the copy shares with the repository.
        let kit = format!("scratch-{name}-kit");
        let manifest = fs::read_to_string(repo.join("Cargo.toml")).expect("the manifest");
        let renamed = manifest
            .replacen(
                "\n[package]\nname = \"httplings\"",
                &format!("\n[package]\nname = \"scratch-{name}\""),
                1,
            )
            .replace("package = \"httplings-kit\"", &format!("package = \"{kit}\""));
        assert_ne!(renamed, manifest, "the runner package's name was not found");
        fs::write(scratch.root.join("Cargo.toml"), renamed).expect("writing the manifest");
        let kit_manifest = scratch.read("kit/Cargo.toml");
        scratch.write(
            "kit/Cargo.toml",
            &kit_manifest.replacen("name = \"httplings-kit\"", &format!("name = \"{kit}\""), 1),
        );
        scratch
    }

    /// Replaces a file of the copy, e.g. `exercises/01_generic_500.rs`.
    pub fn write(&self, relative: &str, content: &str) -> &Self {
        let path = self.root.join(relative);
        fs::create_dir_all(path.parent().expect("a file in a folder")).expect("a scratch folder");
        fs::write(path, content).expect("writing into the scratch copy");
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.root.join(relative)).expect("reading from the scratch copy")
    }

    /// Starts `httplings ARGS` in the copy, and leaves it running.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_httplings"))
            .current_dir(&self.root)
            .args(args)
            .envs(self.cargo_env())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the runner starts")
    }

    /// Runs `httplings ARGS` in the copy, with `input` on its standard input.
    pub fn httplings_with_input(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_httplings"))
            .current_dir(&self.root)
            .args(args)
            .env_remove("NO_COLOR")
            .envs(self.cargo_env())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the runner starts");
        child
            .stdin
            .take()
            .expect("a piped stdin")
            .write_all(input.as_bytes())
            .expect("writing the input");
        let output = child.wait_with_output().expect("the runner ends");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `httplings ARGS` in the copy, to be started as the test likes.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_httplings"));
        command.current_dir(&self.root).args(args).env_remove("NO_COLOR").envs(self.cargo_env());
        command
    }

    /// Runs `httplings ARGS` in the copy.
    pub fn httplings(&self, args: &[&str]) -> Run {
        let [(target, target_dir), (build, build_dir)] = self.cargo_env();
        run(&self.root, args, &[(target, &target_dir), (build, &build_dir)])
    }
}

/// The repository's target directory, which holds what `cargo test` itself built.
pub fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("creating a scratch folder");
    for entry in fs::read_dir(from).expect("reading a course folder") {
        let entry = entry.expect("a folder entry");
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != ".starters" {
                copy_dir(&path, &to.join(entry.file_name()));
            }
        } else {
            fs::copy(&path, to.join(entry.file_name())).expect("copying a course file");
        }
    }
}

/// The manifest of a scratch copy: the runner's dependencies (so that they resolve as they do
/// for the repository, and the ones already built are reused), the kit by path, every check
/// target of the kit, and the repository's profiles.
fn scratch_manifest(name: &str) -> String {
    let repo: toml::Table =
        fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap().parse().unwrap();
    let shared = repo["workspace"]["dependencies"].as_table().unwrap();
    let resolved = |table: &toml::Table| -> toml::Table {
        table
            .iter()
            .map(|(crate_name, spec)| {
                let inherited = spec.get("workspace").and_then(toml::Value::as_bool) == Some(true);
                (
                    crate_name.clone(),
                    if inherited { shared[crate_name].clone() } else { spec.clone() },
                )
            })
            .collect()
    };
    let mut dependencies = resolved(repo["dependencies"].as_table().unwrap());
    // The kit's own, by platform (what an exercise may use beside the runner's).
    let kit: toml::Table =
        fs::read_to_string(Path::new(ROOT).join("kit/Cargo.toml")).unwrap().parse().unwrap();
    let mut targets = toml::Table::new();
    for (platform, tables) in kit["target"].as_table().unwrap() {
        let mut platform_table = toml::Table::new();
        platform_table.insert(
            "dependencies".into(),
            resolved(tables["dependencies"].as_table().unwrap()).into(),
        );
        targets.insert(platform.clone(), platform_table.into());
    }
    for (crate_name, spec) in resolved(kit["dependencies"].as_table().unwrap()) {
        dependencies.entry(crate_name).or_insert(spec);
    }
    let mut kit = toml::Table::new();
    kit.insert("package".into(), "httplings-kit".into());
    kit.insert("path".into(), format!("{ROOT}/kit").into());
    dependencies.insert("httplings".into(), kit.into());
    let mut bins: Vec<String> = fs::read_dir(Path::new(ROOT).join("kit/src/bin"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    bins.sort();
    let bins: Vec<toml::Value> = bins
        .iter()
        .map(|file| {
            let mut bin = toml::Table::new();
            bin.insert("name".into(), file.trim_end_matches(".rs").into());
            bin.insert("path".into(), format!("kit/src/bin/{file}").into());
            bin.into()
        })
        .collect();
    let mut manifest: toml::Table = format!(
        "[workspace]\n\n[package]\nname = \"scratch-{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\nautobins = false\n",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    )
    .parse()
    .unwrap();
    manifest.insert("dependencies".into(), dependencies.into());
    manifest.insert("target".into(), targets.into());
    manifest.insert("bin".into(), bins.into());
    manifest.insert("profile".into(), repo["profile"].clone());
    manifest.insert("lints".into(), repo["workspace"]["lints"].clone());
    manifest.to_string()
}

/// Catalogue tests whose judgements are the most timing-bound (lessons 3 and 6: waits judged to
/// a few per cent, two processes drawing in step) take turns. In a test, the judge and the
/// learner's processes share one process; two such judgements side by side on two cores held
/// each other's retries up by tens of milliseconds (lesson 3's suite failed four runs in five,
/// each time another entry), where a check on a learner's machine runs alone.
pub async fn taking_turns() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// The seed for a test's judge: `HTTPLINGS_TEST_SEED` replays one, or else a fresh one. Every
/// assertion message names it, so that a failure seen once can be replayed.
pub fn seed() -> u64 {
    std::env::var("HTTPLINGS_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(httplings_judge::judge::seed::fresh)
}

/// Every verdict on a line, with the seed, so that a failed assertion shows what was decided.
pub fn report(judged: &Judged, seed: u64) -> String {
    let mut text = format!("seed {seed} (HTTPLINGS_TEST_SEED={seed} replays it)\n");
    if let Some(lost) = &judged.lost {
        text.push_str(&format!("lost: {lost}\n"));
    }
    for verdict in &judged.verdicts {
        match &verdict.outcome {
            Outcome::Pass => text.push_str(&format!("✓ {}\n", verdict.check)),
            Outcome::Fail(failure) => {
                text.push_str(&format!("✗ {}: {}\n", verdict.check, failure.summary));
                // What came back too, for a failure seen once under load.
                for evidence in &failure.evidence {
                    match evidence {
                        httplings_judge::judge::Evidence::Diff { actual, .. } => {
                            let actual = actual.trim_end().replace('\n', "\n         ");
                            text.push_str(&format!("    got: {actual}\n"));
                        }
                        // The rows marked wrong, a few of them.
                        httplings_judge::judge::Evidence::Table { rows, .. } => {
                            for row in rows.iter().filter(|row| !row.ok).take(10) {
                                text.push_str(&format!("    wrong: {}\n", row.cells.join(" | ")));
                            }
                        }
                        httplings_judge::judge::Evidence::Text { .. } => {}
                    }
                }
            }
        }
    }
    text
}

/// Exactly `expected` failed (in any order), every check was decided, and nothing was lost.
#[track_caller]
pub fn assert_failed(judged: &Judged, seed: u64, checks: &[&str], expected: &[&str]) {
    let shown = report(judged, seed);
    assert!(judged.lost.is_none(), "{shown}");
    assert_eq!(judged.verdicts.len(), checks.len(), "every check is decided\n{shown}");
    let mut failed = judged.failed();
    failed.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(failed, expected, "\n{shown}");
}

/// `check` failed, and every check that failed is one of `allowed` (a mistake whose effect
/// depends on timing or on what else happens at the same moment may break a neighbouring rule
/// too).
#[track_caller]
pub fn caught_by(judged: &Judged, seed: u64, check: &str, allowed: &[&str]) {
    assert!(judged.failed().contains(&check), "{check} should fail\n{}", report(judged, seed));
    for failed in judged.failed() {
        assert!(
            allowed.contains(&failed) || failed == check,
            "{failed} failed too\n{}",
            report(judged, seed)
        );
    }
}

/// `check` failed, saying `reason`: rejected for the mistake it was written for.
#[track_caller]
pub fn assert_rejected(judged: &Judged, seed: u64, check: &str, reason: &str) {
    assert_rejected_named(judged, seed, check, reason, "");
}

/// [`assert_rejected`], for the answer `named` among many ("wrong answer #3").
#[track_caller]
pub fn assert_rejected_named(judged: &Judged, seed: u64, check: &str, reason: &str, named: &str) {
    let summary = judged.failure(check).map(|failure| failure.summary.as_str());
    assert!(
        summary.is_some_and(|summary| summary.contains(reason)),
        "{check:?} should fail {named}saying {reason:?}; it said {summary:?}\n{}",
        report(judged, seed)
    );
}

/// `check` failed, saying one of `reasons`: where two rules see the same mistake, whichever
/// sees it first may be the one to say so.
#[track_caller]
pub fn assert_rejected_any(judged: &Judged, seed: u64, check: &str, reasons: &[&str]) {
    let summary = judged.failure(check).map(|failure| failure.summary.as_str());
    assert!(
        summary.is_some_and(|summary| reasons.iter().any(|reason| summary.contains(reason))),
        "{check:?} should fail saying one of {reasons:?}; it said {summary:?}\n{}",
        report(judged, seed)
    );
}

/// A tmux server of the test's own, so nothing of the user's is touched.
pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    pub fn command(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux runs")
    }

    /// The lines that scrolled off the top of the pane, oldest first.
    pub fn history(&self) -> String {
        let output = self.command(&["capture-pane", "-p", "-S", "-", "-E", "-1", "-t", "watch"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.command(&["capture-pane", "-p", "-t", "watch"]).stdout)
            .into_owned()
    }

    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < limit,
                "no {text:?} within {limit:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A shell command for tmux: `httplings ARGS` in the copy, then `after`, then a pause that
/// keeps the pane open to be read.
pub fn shell_running(scratch: &Scratch, args: &str, after: &str) -> String {
    format!(
        "cd '{}' && CARGO_TARGET_DIR='{}' CARGO_BUILD_BUILD_DIR='{}' '{}' {args}; {after}; sleep 60",
        scratch.root().display(),
        scratch.target().display(),
        build_dir().display(),
        env!("CARGO_BIN_EXE_httplings")
    )
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.command(&["kill-server"]);
    }
}
