//! `dev check` and `dev new`: the course verified as a whole, as a course author runs it (and CI
//! does), and a new lesson scaffolded with every part the others have.

mod new;

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use crate::catalog::{LESSONS, Lesson, Side};
use crate::check::{self, Options};
use crate::outcome::Checked;
use crate::project;
use crate::reporter::Reporter;

pub use new::new;

pub fn check(reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let mut all_hold = true;
    let mut fact = |reporter: &mut Reporter, holds: bool, fact: String| {
        all_hold &= holds;
        reporter.dev_fact(holds, &fact)
    };
    for (holds, text) in agreement(&root) {
        fact(reporter, holds, text)?;
    }
    for lesson in LESSONS.iter() {
        let options = Options::default();
        let solution = check::perform(&root, lesson, Side::Solution, &options, &mut |_| {})?;
        let (holds, text) = solution_passes(lesson, &solution);
        fact(reporter, holds, text)?;
        let starter = check::perform(&root, lesson, Side::Starter, &options, &mut |_| {})?;
        let (holds, text) = starter_fails(lesson, &starter);
        fact(reporter, holds, text)?;
    }
    Ok(if all_hold { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Whether the catalog and the files agree: every lesson has each of its parts, and the kit's
/// `src/bin/` holds check targets for the catalog's lessons only.
pub fn agreement(root: &Path) -> Vec<(bool, String)> {
    let mut facts = Vec::new();
    let read = |file: &str| fs::read_to_string(root.join(file)).unwrap_or_default();
    let (readme, tests) = (read("README.md"), read("tests/integration/main.rs"));
    for lesson in LESSONS.iter() {
        let mut missing: Vec<String> =
            files(lesson).into_iter().filter(|file| !root.join(file).is_file()).collect();
        let name = &lesson.slug[3..];
        let places = [
            (readme.contains(&format!("\n| {} | ", lesson.number)), "its row in README.md"),
            (tests.contains(&format!("\nmod {name};")), "its module in tests/integration/main.rs"),
        ];
        missing
            .extend(places.iter().filter(|(found, _)| !found).map(|(_, place)| place.to_string()));
        let fact = if missing.is_empty() {
            format!("lesson {}: every part present", lesson.number)
        } else {
            format!("lesson {}: missing {}", lesson.number, missing.join(", "))
        };
        facts.push((missing.is_empty(), fact));
    }
    let known: Vec<String> = LESSONS
        .iter()
        .flat_map(|lesson| {
            [Side::Exercise, Side::Solution, Side::Starter]
                .map(|side| lesson.check_target_file(side))
        })
        .collect();
    let strays: Vec<String> = fs::read_dir(root.join(BINS))
        .into_iter()
        .flatten()
        .filter_map(|entry| Some(format!("{BINS}/{}", entry.ok()?.file_name().to_str()?)))
        .filter(|file| !known.contains(file))
        .collect();
    facts.push((
        strays.is_empty(),
        if strays.is_empty() {
            format!("{BINS} holds the check targets of the catalog's lessons only")
        } else {
            format!("{BINS} holds targets of no lesson: {}", strays.join(", "))
        },
    ));
    facts
}

/// Where the check targets are: every file there is one.
const BINS: &str = "kit/src/bin";

/// Every file a lesson is made of.
pub fn files(lesson: &Lesson) -> Vec<String> {
    let mut files = vec![
        lesson.lesson_file(),
        lesson.info_file(),
        lesson.file(Side::Exercise),
        lesson.file(Side::Solution),
        lesson.starter_file(),
        judge_file(lesson),
        kit_file(lesson),
        format!("tests/integration/{}.rs", &lesson.slug[3..]),
        format!("tests/fixtures/forging/{}.rs", lesson.slug),
    ];
    files.extend(
        [Side::Exercise, Side::Solution, Side::Starter].map(|side| lesson.check_target_file(side)),
    );
    files
}

/// `kit/src/lessons/<name>.rs`: the lesson's half in the learner's process.
pub fn kit_file(lesson: &Lesson) -> String {
    format!("kit/src/lessons/{}.rs", &lesson.slug[3..])
}

/// `src/lessons/<name>.rs`, where `<name>` is the slug without its number.
pub fn judge_file(lesson: &Lesson) -> String {
    format!("src/lessons/{}.rs", &lesson.slug[3..])
}

fn solution_passes(lesson: &Lesson, outcome: &Checked) -> (bool, String) {
    let fact = match outcome {
        Checked::CompileFailed(_) => "does not compile".to_string(),
        Checked::Ran(report) => {
            format!("passes {} of {} checks", report.passed_count(), report.checks.len())
        }
    };
    (outcome.passed(), format!("lesson {}: the solution {fact}", lesson.number))
}

/// A starter must compile and be judged in full, and fail at least one check: failing by
/// crashing or timing out would teach nothing.
fn starter_fails(lesson: &Lesson, outcome: &Checked) -> (bool, String) {
    let (holds, fact) = match outcome {
        Checked::CompileFailed(_) => (false, "does not compile".to_string()),
        Checked::Ran(report) if report.interruption.is_some() => {
            (false, "was interrupted".to_string())
        }
        Checked::Ran(report) => (
            !report.passed(),
            format!(
                "fails usefully: passes {} of {} checks",
                report.passed_count(),
                report.checks.len()
            ),
        ),
    };
    (holds, format!("lesson {}: the starter {fact}", lesson.number))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_course_agrees_with_itself() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let disagreements: Vec<String> =
            agreement(root).into_iter().filter(|(holds, _)| !holds).map(|(_, fact)| fact).collect();
        assert!(disagreements.is_empty(), "{disagreements:?}");
    }

    #[test]
    fn a_missing_part_or_a_stray_target_is_named() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let copy = tempfile::tempdir().unwrap();
        for lesson in LESSONS.iter() {
            for file in files(lesson) {
                fs::create_dir_all(copy.path().join(&file).parent().unwrap()).unwrap();
                fs::copy(repo.join(&file), copy.path().join(&file)).unwrap();
            }
        }
        for file in ["README.md", "tests/integration/main.rs"] {
            fs::copy(repo.join(file), copy.path().join(file)).unwrap();
        }
        assert!(agreement(copy.path()).iter().all(|(holds, _)| *holds));

        fs::remove_file(copy.path().join("lessons/02_retry_after.toml")).unwrap();
        fs::remove_file(copy.path().join("kit/src/bin/starter_03.rs")).unwrap();
        fs::write(copy.path().join("kit/src/bin/exercise_99.rs"), "").unwrap();
        let failed: Vec<String> = agreement(copy.path())
            .into_iter()
            .filter(|(holds, _)| !holds)
            .map(|(_, fact)| fact)
            .collect();
        assert_eq!(failed.len(), 3, "{failed:?}");
        assert!(failed[0].contains("lessons/02_retry_after.toml"), "{failed:?}");
        assert!(failed[1].contains("kit/src/bin/starter_03.rs"), "{failed:?}");
        assert!(failed[2].contains("kit/src/bin/exercise_99.rs"), "{failed:?}");
    }
}
