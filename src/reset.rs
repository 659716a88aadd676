//! `reset N`: puts the starter back. The learner's file is first copied to
//! `exercises/.backup/`, so nothing typed is ever lost; works with or without git.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::UsageError;
use crate::catalog::{LESSONS, Lesson, Side};
use crate::project;
use crate::reporter::Reporter;

pub fn run(lesson: &Lesson, yes: bool, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let exercise = lesson.file(Side::Exercise);
    if !yes {
        let question =
            format!("Replace {exercise} with the starter? (your file is kept as a backup)");
        match reporter.confirm(&question)? {
            Some(true) => {}
            Some(false) => return Ok(ExitCode::SUCCESS),
            None => {
                let hint =
                    format!("`cargo run -- reset {} --yes` resets without asking", lesson.number);
                return Err(UsageError(format!(
                    "not resetting {exercise} without confirmation: {hint}"
                ))
                .into());
            }
        }
    }
    match reset(&root, lesson)? {
        Some(backup) => reporter.reset_done(&exercise, Some(&backup))?,
        None => reporter.reset_done(&exercise, None)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `reset --all`: every exercise back to its starter, each one that differs backed up first.
pub fn all(named_a_lesson: bool, yes: bool, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    if named_a_lesson {
        return Err(UsageError("reset takes a lesson number or --all, not both".into()).into());
    }
    let root = project::root()?;
    if !yes {
        let question =
            "Replace every exercise with its starter? (each one you changed is kept as a backup)";
        match reporter.confirm(question)? {
            Some(true) => {}
            Some(false) => return Ok(ExitCode::SUCCESS),
            None => {
                return Err(UsageError(
                    "not resetting every exercise without confirmation: `cargo run -- reset --all --yes` resets without asking".into(),
                )
                .into());
            }
        }
    }
    for lesson in LESSONS.iter() {
        let backup = reset(&root, lesson)?;
        reporter.reset_done(&lesson.file(Side::Exercise), backup.as_deref())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Restores the starter; returns where the learner's file was saved, if it differed.
pub fn reset(root: &Path, lesson: &Lesson) -> anyhow::Result<Option<PathBuf>> {
    let starter_path = root.join(lesson.starter_file());
    let starter = fs::read(&starter_path)
        .with_context(|| format!("could not read {}", starter_path.display()))?;
    let exercise = root.join(lesson.file(Side::Exercise));
    let current = fs::read(&exercise).ok();
    if current.as_deref() == Some(starter.as_slice()) {
        return Ok(None);
    }
    let backup = match current {
        Some(current) => Some(back_up(root, lesson, &current)?),
        None => None,
    };
    // Written whole, then renamed: a crash half-way never leaves half a file.
    let partial = exercise.with_extension("rs.partial");
    fs::write(&partial, &starter)
        .with_context(|| format!("could not write {}", partial.display()))?;
    fs::rename(&partial, &exercise)
        .with_context(|| format!("could not replace {}", exercise.display()))?;
    Ok(backup.map(|path| path.strip_prefix(root).map(Path::to_path_buf).unwrap_or(path)))
}

fn back_up(root: &Path, lesson: &Lesson, content: &[u8]) -> anyhow::Result<PathBuf> {
    let folder = root.join("exercises/.backup");
    fs::create_dir_all(&folder)
        .with_context(|| format!("could not create {}", folder.display()))?;
    let stamp = timestamp(SystemTime::now());
    // Two resets within a second keep both backups.
    let backup = (1..)
        .map(|n| match n {
            1 => folder.join(format!("{}.{stamp}.rs", lesson.slug)),
            n => folder.join(format!("{}.{stamp}.{n}.rs", lesson.slug)),
        })
        .find(|path| !path.exists())
        .expect("some name is free");
    fs::write(&backup, content)
        .with_context(|| format!("could not write the backup {}", backup.display()))?;
    Ok(backup)
}

/// `2026-11-24T21-15-02` (UTC): readable, sortable, and safe in a file name.
fn timestamp(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let (year, month, day) = civil_date(seconds / 86_400);
    let time = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// The calendar date `days` after 1970-01-01 (Howard Hinnant's days-to-civil algorithm).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_times() {
        let at = |seconds| UNIX_EPOCH + Duration::from_secs(seconds);
        assert_eq!(timestamp(at(0)), "1970-01-01T00-00-00");
        assert_eq!(timestamp(at(784_111_777)), "1994-11-06T08-49-37");
        assert_eq!(timestamp(at(951_782_400)), "2000-02-29T00-00-00");
    }
}
