//! `reset N`: puts the starter back. The learner's file is first copied to
//! `exercises/.backup/`, so nothing typed is ever lost; works with or without git.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::UsageError;
use crate::catalog::{Lesson, Side};
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
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis());
    let backup = folder.join(format!("{}.{stamp}.rs", lesson.slug));
    fs::write(&backup, content)
        .with_context(|| format!("could not write the backup {}", backup.display()))?;
    Ok(backup)
}
