//! A learner who would rather forge a pass than earn one: each lesson's untouched starter,
//! wrapped in code that prints fake protocol lines and verdicts on stdout and stderr, writes
//! passes into every path it finds in its arguments and environment, talks to every address it
//! finds there, and writes into the course folder and `target/` (a fake runner, a fake
//! progress file). The starter underneath must still fail, with the same checks, and nothing
//! it wrote may reach the next run.

use crate::support::{ROOT, Scratch, seed};

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

/// The starter of lesson `slug`, wrapped in every forgery of `tests/fixtures/forging/{slug}.rs`,
/// fails at least the checks the plain starter fails on the same seed, and leaves nothing that a
/// later run could take for a pass.
#[track_caller]
fn assert_forgery_fails(slug: &str) {
    let number = slug[..2].trim_start_matches('0');
    let exercise = format!("exercises/{slug}.rs");
    let fixture = std::fs::read_to_string(format!("{ROOT}/tests/fixtures/forging/{slug}.rs"))
        .expect("every lesson has a forging fixture");
    let scratch = Scratch::new(&format!("forging-{number}"));
    let seed = seed().to_string();
    let honest = failed_checks(&scratch.httplings(&["check", number, "--json", "--seed", &seed]));
    assert!(!honest.is_empty(), "the starter of lesson {number} passes");

    scratch.write("forge.rs", FORGE);
    scratch.write(&exercise, &fixture);
    let report = scratch.httplings(&["check", number, "--seed", &seed]);
    assert_eq!(report.code, Some(1), "{}\n{}", report.stdout, report.stderr);
    assert!(
        report.stdout.starts_with("Checking your exercise"),
        "not the runner's report:\n{}",
        report.stdout
    );
    // At least what the starter fails: the forgery's own doings (busy printing) may cost it
    // more checks, never fewer.
    assert!(report.failed().len() + report.not_judged().len() >= honest.len(), "{}", report.stdout);
    assert!(
        !report.stdout.contains("checks pass. Compare with the reference"),
        "{}",
        report.stdout
    );
    // The next run, as a grader would make it, is judged by the real runner too.
    let json = scratch.httplings(&["check", number, "--json", "--seed", &seed]);
    let forged = failed_checks(&json);
    assert!(honest.iter().all(|check| forged.contains(check)), "{honest:?} ⊄ {forged:?}");
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

/// The ids of the checks a `--json` run failed (or could not judge).
fn failed_checks(run: &crate::support::Run) -> Vec<String> {
    let results: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout));
    assert_ne!(results["status"], "pass", "{}", run.stdout);
    results["tests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|test| test["status"] != "pass")
        .filter_map(|test| test["name"].as_str().map(String::from))
        .collect()
}

/// One test per lesson, each of its own (they run side by side).
macro_rules! forgeries {
    ($($test:ident: $slug:literal,)*) => {
        $(
            #[test]
            fn $test() {
                assert_forgery_fails($slug);
            }
        )*
    };
}

forgeries! {
    forging_does_not_pass_lesson_1: "01_generic_500",
    forging_does_not_pass_lesson_2: "02_retry_after",
    forging_does_not_pass_lesson_3: "03_retry_on_5xx",
    forging_does_not_pass_lesson_4: "04_bad_gateway",
    forging_does_not_pass_lesson_5: "05_circuit_breaker",
    forging_does_not_pass_lesson_6: "06_idempotency_key",
    forging_does_not_pass_lesson_7: "07_deadlines",
    forging_does_not_pass_lesson_8: "08_overload",
    forging_does_not_pass_lesson_9: "09_retry_budget",
    forging_does_not_pass_lesson_10: "10_request_ids",
    // dev new: next forgery
}
