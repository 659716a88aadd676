//! `dev new`, as a course author uses it: in a full copy of the repository (a package of its
//! own name), it scaffolds a lesson whose parts all build, and refuses what it must not do.

use std::process::Command;

use crate::support::{Scratch, build_dir, scratch_target};

#[test]
fn dev_new_scaffolds_a_lesson_that_builds_and_refuses_to_overwrite() {
    let copy = Scratch::full("dev-new");
    let run = copy.httplings(&["dev", "new", "bad_gateway"]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    for file in [
        "lessons/04_bad_gateway.md",
        "lessons/04_bad_gateway.toml",
        "exercises/04_bad_gateway.rs",
        "exercises/.starters/04_bad_gateway.rs",
        "solutions/04_bad_gateway.rs",
        "src/lessons/bad_gateway.rs",
        "src/bin/exercise_04.rs",
        "src/bin/solution_04.rs",
        "src/bin/starter_04.rs",
    ] {
        assert!(copy.root().join(file).is_file(), "{file} was not created:\n{}", run.stdout);
    }
    let registry = copy.read("src/lessons.rs");
    assert!(
        registry.contains("pub mod bad_gateway;")
            && registry.contains("lesson!(bad_gateway, \"04_bad_gateway\"),"),
        "{registry}"
    );

    // Every part compiles: the library with the new judge, and the three check targets.
    let built = Command::new(env!("CARGO"))
        .current_dir(copy.root())
        .env("CARGO_TARGET_DIR", scratch_target())
        .env("CARGO_BUILD_BUILD_DIR", build_dir())
        .args([
            "build",
            "--quiet",
            "--features",
            "check-targets",
            "--bin",
            "exercise-04",
            "--bin",
            "solution-04",
            "--bin",
            "starter-04",
        ])
        .output()
        .expect("cargo starts");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));

    let again = copy.httplings(&["dev", "new", "bad_gateway"]);
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert_eq!(again.stderr.lines().count(), 1, "{}", again.stderr);
    let bad = copy.httplings(&["dev", "new", "Bad-Gateway"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("snake_case"), "{}", bad.stderr);
}
