//! `hint N`: the next hint for an exercise. Hints follow the failure: the first check that
//! failed in the last run gets its own hints first, then the lesson's others, in order.

use std::process::ExitCode;

use crate::catalog::Lesson;
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;

pub fn show(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let mut picked = (0, false);
    let (_, notice) = Progress::update(&project::root()?, |progress| {
        picked = next(lesson, progress);
        progress.record_hint(lesson, picked.0);
    })?;
    if let Some(notice) = notice {
        reporter.notice(&notice);
    }
    let (index, more) = picked;
    reporter.hint(lesson, &lesson.hints[index], index, more)?;
    Ok(ExitCode::SUCCESS)
}

/// The hint to show next (its place in the lesson's list), and whether another is left to see
/// for the first time. Once every hint has been seen, they come round again in the same order,
/// each after the one shown last.
pub fn next(lesson: &Lesson, progress: &Progress) -> (usize, bool) {
    let failed = progress.first_failed(lesson);
    let for_the_failure =
        |index: &usize| lesson.hints[*index].check.as_deref() == failed && failed.is_some();
    let indices = 0..lesson.hints.len();
    let mut order: Vec<usize> = indices.clone().filter(for_the_failure).collect();
    order.extend(indices.filter(|index| !for_the_failure(index)));
    let seen = progress.hints_seen(lesson);
    let unseen: Vec<usize> = order.iter().copied().filter(|index| !seen.contains(index)).collect();
    match unseen.as_slice() {
        [] => {
            let last = seen.last().and_then(|last| order.iter().position(|index| index == last));
            (order[last.map_or(0, |place| (place + 1) % order.len())], false)
        }
        [next, rest @ ..] => (*next, !rest.is_empty()),
    }
}
