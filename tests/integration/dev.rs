//! `dev new`, as a course author uses it: in a full copy of the repository (a package of its
//! own name), it scaffolds a lesson whose parts all build, and refuses what it must not do.

use std::process::Command;

use crate::support::Scratch;

#[test]
#[ignore = "slow: a renamed copy of the project type-checked, which .ci/run runs"]
fn dev_new_scaffolds_a_lesson_that_builds_and_refuses_to_overwrite() {
    let copy = Scratch::full("dev-new");
    let run = copy.httplings(&["dev", "new", "smoke_signals"]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let n = httplings_judge::lessons::ALL.len() + 1;
    for file in [
        format!("lessons/{n:02}_smoke_signals.md"),
        format!("lessons/{n:02}_smoke_signals.toml"),
        format!("exercises/{n:02}_smoke_signals.rs"),
        format!("exercises/.starters/{n:02}_smoke_signals.rs"),
        format!("solutions/{n:02}_smoke_signals.rs"),
        "src/lessons/smoke_signals.rs".to_string(),
        "kit/src/lessons/smoke_signals.rs".to_string(),
        format!("kit/src/bin/exercise_{n:02}.rs"),
        format!("kit/src/bin/solution_{n:02}.rs"),
        format!("kit/src/bin/starter_{n:02}.rs"),
        "tests/integration/smoke_signals.rs".to_string(),
        format!("tests/fixtures/forging/{n:02}_smoke_signals.rs"),
    ] {
        assert!(copy.root().join(&file).is_file(), "{file} was not created:\n{}", run.stdout);
    }
    let registry = copy.read("src/lessons.rs");
    let entry = format!("lesson!(smoke_signals, \"{n:02}_smoke_signals\"),");
    assert!(registry.contains("pub mod smoke_signals;") && registry.contains(&entry), "{registry}");

    assert!(copy.read("tests/integration/main.rs").contains("\nmod smoke_signals;"));
    assert!(copy.read("README.md").contains(&format!("\n| {n} | TODO")));
    // Every part compiles: the library with the new judge, its tests, and the three check
    // targets (type-checked: building them would link nothing the other tests do not).
    let targets = ["exercise", "solution", "starter"].map(|side| format!("{side}_{n:02}"));
    let checked = Command::new(env!("CARGO"))
        .current_dir(copy.root())
        .envs(copy.cargo_env())
        .args(["check", "--quiet", "--workspace", "--lib", "--test", "integration"])
        .args(targets.iter().flat_map(|target| ["--bin", target.as_str()]))
        .output()
        .expect("cargo starts");
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));

    let again = copy.httplings(&["dev", "new", "smoke_signals"]);
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert_eq!(again.stderr.lines().count(), 1, "{}", again.stderr);
    let bad = copy.httplings(&["dev", "new", "Bad-Gateway"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("snake_case"), "{}", bad.stderr);
}
