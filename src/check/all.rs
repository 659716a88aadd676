//! `check --all`: every lesson (or those of `--only`) in one run, as a class's CI grades a
//! student. One cargo build makes every exercise (a lesson that does not compile fails alone);
//! then each lesson is judged in turn, in processes of its own that end before the next starts.
//! A table row per lesson as it is decided, or one JSON document with every lesson's result,
//! a summary and the course's fingerprint.

use std::process::ExitCode;

use super::{Options, build, course_hash, judge_built, record};
use crate::catalog::{Lesson, Side};
use crate::outcome::Graded;
use crate::project;
use crate::reporter::Reporter;

pub fn run(
    lessons: &[&'static Lesson],
    side: Side,
    json: bool,
    options: Options,
    reporter: &mut Reporter,
) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let options = Options {
        colored: reporter.colored() && !json,
        // One seed for the whole run: `--seed` replays all of it.
        seed: Some(options.seed.unwrap_or_else(httplings_judge::judge::seed::fresh)),
        ..options
    };
    let mut targets = Vec::new();
    for lesson in lessons {
        targets
            .push((lesson.check_target(side), build::source_hash(&root.join(lesson.file(side)))?));
    }
    if !json {
        reporter.checking_all(lessons.len(), side)?;
    }
    let built = build::build_all(&root, &targets, options.colored)?;
    // Taken after the build, which may have settled the lock file.
    let fingerprint = course_hash::of(&root)?;
    let mut graded = Vec::new();
    for ((lesson, (_, build)), (_, source)) in lessons.iter().zip(built).zip(&targets) {
        let outcome = judge_built(&root, lesson, side, build, source, &options, &mut |_| {})?;
        if side == Side::Exercise {
            record(&root, lesson, &outcome, reporter);
        }
        if !json {
            reporter.graded_row(lesson, &outcome)?;
        }
        graded.push(Graded { lesson, outcome });
    }
    let seed = options.seed.unwrap_or_default();
    if json {
        reporter.all_json(&graded, seed, &fingerprint)?;
    } else {
        reporter.all_summary(&graded, seed, side)?;
    }
    let passed = graded.iter().all(|graded| graded.outcome.passed());
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The lessons `--only` names, in course order; `Err` names one that does not exist.
pub fn chosen(only: Option<&[u8]>) -> Result<Vec<&'static Lesson>, crate::UsageError> {
    let all = crate::catalog::LESSONS.iter();
    let Some(numbers) = only else { return Ok(all.collect()) };
    if let Some(missing) = numbers.iter().find(|number| crate::catalog::lesson(**number).is_none())
    {
        return Err(crate::UsageError(format!(
            "there is no lesson {missing}: choose lesson numbers from 1 to {}",
            crate::catalog::LESSONS.len()
        )));
    }
    Ok(all.filter(|lesson| numbers.contains(&lesson.number)).collect())
}

#[cfg(test)]
mod tests {
    use super::chosen;

    #[test]
    fn without_only_every_lesson_in_order_and_with_it_those_named_in_order() {
        let every: Vec<u8> = chosen(None).unwrap().iter().map(|lesson| lesson.number).collect();
        let count = crate::catalog::LESSONS.len() as u8;
        assert_eq!(every, (1..=count).collect::<Vec<_>>());
        let some: Vec<u8> =
            chosen(Some(&[10, 2, 1])).unwrap().iter().map(|lesson| lesson.number).collect();
        assert_eq!(some, [1, 2, 10]);
        assert!(chosen(Some(&[1, count + 1])).is_err());
    }
}
