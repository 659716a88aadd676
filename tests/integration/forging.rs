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

/// Each lesson's starter, wrapped in every forgery of `tests/fixtures/forging/{slug}.rs`, fails
/// at least the checks the plain starter fails on the same seed, and leaves nothing that a
/// later run could take for a pass. A third of the course at once (lessons `share` modulo 3,
/// so that the three thirds run side by side), as a grader runs it: the forgeries are judged in
/// one run and could reach one another's checks.
#[track_caller]
fn assert_forgeries_fail(share: usize) {
    let all_lessons = httplings_judge::lessons::ALL;
    let numbers: Vec<usize> =
        (1..=all_lessons.len()).filter(|number| number % 3 == share).collect();
    let chosen: Vec<_> = numbers.iter().map(|number| &all_lessons[number - 1]).collect();
    let only = numbers.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let scratch = Scratch::new(&format!("forging-{share}"));
    let seed = seed().to_string();
    let all = ["check", "--all", "--only", &only, "--json", "--seed", &seed];
    let starters = scratch.httplings(&all);
    let honest = failed_checks(&starters, chosen.len());
    assert_useful(&starters, &chosen);
    assert!(honest.iter().all(|(_, failed)| !failed.is_empty()), "a starter passes: {honest:?}");

    scratch.write("forge.rs", FORGE);
    for lesson in &chosen {
        let fixture = format!("{ROOT}/tests/fixtures/forging/{}.rs", lesson.slug);
        let fixture = std::fs::read_to_string(fixture).expect("every lesson has a forging fixture");
        scratch.write(&format!("exercises/{}.rs", lesson.slug), &fixture);
    }
    let human = ["--color", "never", "check", "--all", "--only", &only, "--seed", &seed];
    let report = scratch.httplings(&human);
    assert_eq!(report.code, Some(1), "{}\n{}", report.stdout, report.stderr);
    assert!(
        report.stdout.starts_with("Checking your exercises"),
        "not the runner's report:\n{}",
        report.stdout
    );
    let none = format!("0 of {} lessons pass", chosen.len());
    assert!(report.stdout.contains(&none), "{}", report.stdout);
    // The next run, as a grader would make it, is judged by the real runner too. Each lesson
    // fails at least what its starter fails: the forgery's own doings (busy printing) may cost
    // it more checks, never fewer.
    let forged = failed_checks(&scratch.httplings(&all), chosen.len());
    for ((number, honest), (_, forged)) in honest.iter().zip(&forged) {
        let kept = honest.iter().all(|check| forged.contains(check));
        assert!(kept, "lesson {number}: {honest:?} ⊄ {forged:?}");
    }
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
#[ignore = "slow: every lesson built and judged twice, which .ci/run runs"]
fn forging_passes_none_of_lessons_3_6_9() {
    assert_forgeries_fail(0);
}

#[test]
#[ignore = "slow: every lesson built and judged twice, which .ci/run runs"]
fn forging_passes_none_of_lessons_1_4_7_10() {
    assert_forgeries_fail(1);
}

#[test]
#[ignore = "slow: every lesson built and judged twice, which .ci/run runs"]
fn forging_passes_none_of_lessons_2_5_8() {
    assert_forgeries_fail(2);
}

/// Every starter fails usefully: judged whole, with some checks passing and some failing.
#[track_caller]
fn assert_useful(run: &crate::support::Run, chosen: &[&httplings_judge::lessons::LessonJudge]) {
    let document: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    for (lesson, known) in document["lessons"].as_array().unwrap().iter().zip(chosen) {
        let (passed, checks) = (lesson["checks_passed"].as_u64(), lesson["checks"].as_u64());
        assert!(passed > Some(0) && passed < checks, "{lesson}");
        let tests = lesson["results"]["tests"].as_array().unwrap();
        assert_eq!(tests.len(), known.checks.len(), "{lesson}");
        assert!(tests.iter().all(|test| test["status"] != "error"), "judged whole: {lesson}");
    }
}

/// Each lesson's number and the ids of the checks a `check --all --json` run failed (or could
/// not judge) in it.
fn failed_checks(run: &crate::support::Run, lessons: usize) -> Vec<(u64, Vec<String>)> {
    let document: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout));
    let results = document["lessons"].as_array().expect("a lesson array");
    assert_eq!(results.len(), lessons, "{}", run.stdout);
    results
        .iter()
        .map(|lesson| {
            assert_ne!(lesson["results"]["status"], "pass", "{lesson}");
            let failed = lesson["results"]["tests"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|test| test["status"] != "pass")
                .filter_map(|test| test["name"].as_str().map(String::from))
                .collect();
            (lesson["number"].as_u64().unwrap_or_default(), failed)
        })
        .collect()
}
