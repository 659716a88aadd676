//! `dev check`: the course verified as a whole, as a course author runs it (and CI does).

use std::process::ExitCode;

use crate::catalog::{LESSONS, Lesson, Side};
use crate::check::{self, CheckState, Checked};
use crate::project;
use crate::reporter::Reporter;

pub fn check(reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let mut all_hold = true;
    for lesson in LESSONS {
        let files = [
            lesson.lesson_file(),
            lesson.file(Side::Exercise),
            lesson.file(Side::Solution),
            lesson.starter_file(),
        ];
        let missing: Vec<&str> =
            files.iter().filter(|file| !root.join(file).is_file()).map(String::as_str).collect();
        let facts = [
            (
                missing.is_empty(),
                format!(
                    "lesson {}: files present{}",
                    lesson.number,
                    listed(" (missing: ", &missing)
                ),
            ),
            (
                !lesson.hints.is_empty(),
                format!("lesson {}: {} hint(s)", lesson.number, lesson.hints.len()),
            ),
            solution_passes(lesson, &check::perform(&root, lesson, Side::Solution, false)?),
            starter_fails(lesson, &check::perform(&root, lesson, Side::Starter, false)?),
        ];
        for (holds, fact) in facts {
            all_hold &= holds;
            reporter.dev_fact(holds, &fact)?;
        }
    }
    Ok(if all_hold { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn listed(prefix: &str, items: &[&str]) -> String {
    if items.is_empty() { String::new() } else { format!("{prefix}{})", items.join(", ")) }
}

fn solution_passes(lesson: &Lesson, outcome: &Checked) -> (bool, String) {
    let fact = match outcome {
        Checked::CompileFailed(_) => "does not compile".to_string(),
        Checked::Ran(report) => {
            format!("passes {} of {} checks", passed(report), report.checks.len())
        }
    };
    (outcome.passed(), format!("lesson {}: the solution {fact}", lesson.number))
}

/// A starter must compile and run every check, and fail at least one: failing by crashing or
/// timing out would teach nothing.
fn starter_fails(lesson: &Lesson, outcome: &Checked) -> (bool, String) {
    let (holds, fact) = match outcome {
        Checked::CompileFailed(_) => (false, "does not compile".to_string()),
        Checked::Ran(report) if report.interrupted.is_some() => {
            (false, "was interrupted".to_string())
        }
        Checked::Ran(report) => (
            !report.passed(),
            format!("fails usefully: passes {} of {} checks", passed(report), report.checks.len()),
        ),
    };
    (holds, format!("lesson {}: the starter {fact}", lesson.number))
}

fn passed(report: &check::Report) -> usize {
    report.checks.iter().filter(|check| matches!(check.state, CheckState::Passed)).count()
}
