//! The course's fingerprint: a SHA-256 over every file of the repository but the learner's
//! exercises (and what is built or recorded: `target/`, `.git/`, `.httplings/`, backups). A
//! student who changes the judge, the lessons, the starters' copies or the manifest to weaken the
//! checks changes it; one who only solves the exercises does not. A teacher compares it with the
//! hash the course itself gives (`docs/teaching.md` says what it does and does not prove).

use std::fs;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

/// Folders that are not the course: built, recorded, or version control.
const SKIPPED: &[&str] = &[".git", "target", ".httplings", "exercises/.backup"];

pub fn of(root: &Path) -> anyhow::Result<String> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    for relative in files {
        let content =
            fs::read(root.join(&relative)).with_context(|| format!("could not read {relative}"))?;
        hash.update(relative.as_bytes());
        hash.update([0]);
        hash.update(Sha256::digest(&content));
    }
    Ok(hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

fn collect(root: &Path, folder: &Path, files: &mut Vec<String>) -> anyhow::Result<()> {
    let entries =
        fs::read_dir(folder).with_context(|| format!("could not read {}", folder.display()))?;
    for entry in entries {
        let path = entry?.path();
        let relative =
            path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if SKIPPED.contains(&relative.as_str()) || is_exercise(&relative) {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files)?;
        } else {
            files.push(relative);
        }
    }
    Ok(())
}

/// The learner's own files: `exercises/NN_slug.rs` (not the starters' copies).
fn is_exercise(relative: &str) -> bool {
    relative
        .strip_prefix("exercises/")
        .is_some_and(|file| !file.contains('/') && file.ends_with(".rs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solving_leaves_it_alone_and_any_other_change_moves_it() {
        let course = tempfile::tempdir().unwrap();
        let write = |file: &str, text: &str| {
            let path = course.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("src/judge.rs", "judge");
        write("exercises/01_a.rs", "starter");
        write("exercises/.starters/01_a.rs", "starter");
        write("target/debug/x", "built");
        let before = of(course.path()).unwrap();
        write("exercises/01_a.rs", "solved");
        write("target/debug/x", "rebuilt");
        write(".httplings/progress.json", "{}");
        assert_eq!(of(course.path()).unwrap(), before);
        write("exercises/.starters/01_a.rs", "weakened");
        assert_ne!(of(course.path()).unwrap(), before);
        write("exercises/.starters/01_a.rs", "starter");
        write("src/extra.rs", "an extra file");
        assert_ne!(of(course.path()).unwrap(), before);
    }
}
