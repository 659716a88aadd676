//! A learner who would rather forge a pass than earn one: each lesson's untouched starter,
//! wrapped in code that prints fake protocol lines and verdicts on stdout and stderr, writes
//! passes into every path it finds in its arguments and environment, talks to every address it
//! finds there, and writes into the course folder and `target/` (a fake runner, a fake
//! progress file). The starter underneath must still fail, with the same checks, and nothing
//! it wrote may reach the next run.

use crate::support::Scratch;

const FORGE: &str = include_str!("../fixtures/forging/forge.rs");

/// Whether the kernel walls in learner processes (Landlock): then no write may land. Found out
/// on a thread of its own, which is all that `restrict_self` restricts.
fn landlock_works() -> bool {
    std::thread::spawn(|| {
        use landlock::{ABI, AccessFs, Ruleset, RulesetAttr, RulesetStatus};
        let restricted = Ruleset::default()
            .handle_access(AccessFs::from_write(ABI::V1))
            .and_then(|ruleset| ruleset.create())
            .and_then(|ruleset| ruleset.restrict_self());
        restricted.is_ok_and(|status| status.ruleset == RulesetStatus::FullyEnforced)
    })
    .join()
    .unwrap_or(false)
}

#[track_caller]
fn assert_forgery_fails(number: &str, exercise: &str, fixture: &str, starter_failures: usize) {
    let scratch = Scratch::new(&format!("forging-{number}"));
    scratch.write("forge.rs", FORGE);
    scratch.write(exercise, fixture);
    let report = scratch.httplings(&["check", number]);
    assert_eq!(report.code, Some(1), "{}\n{}", report.stdout, report.stderr);
    assert!(
        report.stdout.starts_with("Checking your exercise"),
        "not the runner's report:\n{}",
        report.stdout
    );
    // At least what the starter fails: the forgery's own doings (blocking connects, busy
    // printing) may cost it more checks, never fewer.
    assert!(
        report.failed().len() + report.not_judged().len() >= starter_failures,
        "{}",
        report.stdout
    );
    assert!(
        !report.stdout.contains("checks pass. Compare with the reference"),
        "{}",
        report.stdout
    );
    // The next run, as a grader would make it, is judged by the real runner too.
    let json = scratch.httplings(&["check", number, "--json"]);
    let results: serde_json::Value =
        serde_json::from_str(&json.stdout).expect("JSON on stdout alone");
    assert_eq!(results["status"], "fail", "{}", json.stdout);
    let failed = results["tests"]
        .as_array()
        .map_or(0, |tests| tests.iter().filter(|test| test["status"] == "fail").count());
    assert_eq!(failed, starter_failures, "{}", json.stdout);
    // The runner's own environment names this repository's manifest: the learner's process
    // must never see it, wherever the repository lives (under /tmp, in CI).
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    assert!(!manifest.unwrap().contains("All checks pass"), "learner code wrote Cargo.toml");
    if landlock_works() {
        let root = scratch.root();
        for forged in [
            "forged-by-the-learner",
            "exercises/forged-by-the-learner.rs",
            ".httplings/progress.json",
            "target/debug/httplings",
        ] {
            let written = std::fs::read_to_string(root.join(forged)).unwrap_or_default();
            assert!(!written.contains("All checks pass"), "learner code wrote {forged}");
        }
    }
}

#[test]
fn forging_does_not_pass_lesson_1() {
    assert_forgery_fails(
        "1",
        "exercises/01_generic_500.rs",
        include_str!("../fixtures/forging/01_generic_500.rs"),
        4,
    );
}

#[test]
fn forging_does_not_pass_lesson_2() {
    assert_forgery_fails(
        "2",
        "exercises/02_retry_after.rs",
        include_str!("../fixtures/forging/02_retry_after.rs"),
        6,
    );
}

#[test]
fn forging_does_not_pass_lesson_3() {
    assert_forgery_fails(
        "3",
        "exercises/03_retry_on_5xx.rs",
        include_str!("../fixtures/forging/03_retry_on_5xx.rs"),
        15,
    );
}

#[test]
fn forging_does_not_pass_lesson_4() {
    assert_forgery_fails(
        "4",
        "exercises/04_bad_gateway.rs",
        include_str!("../fixtures/forging/04_bad_gateway.rs"),
        7,
    );
}

#[test]
fn forging_does_not_pass_lesson_5() {
    assert_forgery_fails(
        "5",
        "exercises/05_circuit_breaker.rs",
        include_str!("../fixtures/forging/05_circuit_breaker.rs"),
        8,
    );
}

#[test]
fn forging_does_not_pass_lesson_6() {
    assert_forgery_fails(
        "6",
        "exercises/06_idempotency_key.rs",
        include_str!("../fixtures/forging/06_idempotency_key.rs"),
        13,
    );
}
