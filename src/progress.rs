//! [`Progress`]: what the learner has done, kept in `.httplings/progress.json` (git-ignored).
//!
//! The file is a convenience, never a source of truth: a missing, unreadable or outdated one
//! is rebuilt, and a lesson whose exercise changed since its last check counts as unchecked.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::catalog::{LESSONS, Lesson, Side};

const FILE: &str = ".httplings/progress.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Failing,
    Done,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
struct LessonProgress {
    /// The outcome of the last check, and the exercise it was made on.
    checked: Option<(Status, u64)>,
    /// The last exercise that passed: a learner who experiments and then undoes it is back
    /// at "done" without checking again.
    passed: Option<u64>,
    hints_shown: usize,
    quiz_answered_right: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Progress {
    version: u32,
    current: u8,
    lessons: BTreeMap<u8, LessonProgress>,
    #[serde(skip)]
    root: PathBuf,
}

impl Progress {
    /// Loads the progress file; `notice` says in one line if it had to be rebuilt.
    pub fn load(root: &Path) -> (Self, Option<String>) {
        let fresh = || Progress {
            version: VERSION,
            current: 1,
            lessons: BTreeMap::new(),
            root: root.to_path_buf(),
        };
        let text = match fs::read_to_string(root.join(FILE)) {
            Ok(text) => text,
            Err(_) => return (fresh(), None),
        };
        match serde_json::from_str::<Progress>(&text) {
            Ok(progress) if progress.version == VERSION && lesson(progress.current).is_some() => {
                (Progress { root: root.to_path_buf(), ..progress }, None)
            }
            _ => (
                fresh(),
                Some(format!(
                    "{FILE} was unreadable or outdated: progress starts afresh from your next checks"
                )),
            ),
        }
    }

    /// Writes the file whole or not at all: a new file renamed over the old one.
    pub fn save(&self) -> anyhow::Result<()> {
        let path = self.root.join(FILE);
        let folder = path.parent().expect("the progress file is in a folder");
        fs::create_dir_all(folder)
            .with_context(|| format!("could not create {}", folder.display()))?;
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(self).expect("progress always serialises");
        fs::write(&partial, text)
            .with_context(|| format!("could not write {}", partial.display()))?;
        fs::rename(&partial, &path).with_context(|| format!("could not replace {}", path.display()))
    }

    pub fn current(&self) -> &'static Lesson {
        lesson(self.current).unwrap_or(&LESSONS[0])
    }

    pub fn set_current(&mut self, lesson: &Lesson) {
        self.current = lesson.number;
    }

    /// The status of a lesson's exercise as it is now on disk.
    pub fn status(&self, lesson: &Lesson) -> Status {
        let Some(progress) = self.lessons.get(&lesson.number) else { return Status::Pending };
        let now = self.fingerprint(lesson);
        match progress.checked {
            Some((status, checked)) if Some(checked) == now => status,
            _ if progress.passed.is_some() && progress.passed == now => Status::Done,
            _ => Status::Pending,
        }
    }

    pub fn record_check(&mut self, lesson: &Lesson, passed: bool) {
        let status = if passed { Status::Done } else { Status::Failing };
        let fingerprint = self.fingerprint(lesson).unwrap_or_default();
        let entry = self.entry(lesson);
        entry.checked = Some((status, fingerprint));
        if passed {
            entry.passed = Some(fingerprint);
        }
    }

    pub fn done_count(&self) -> usize {
        LESSONS.iter().filter(|lesson| self.status(lesson) == Status::Done).count()
    }

    /// Counts one more hint shown and returns how many were shown before.
    pub fn next_hint(&mut self, lesson: &Lesson) -> usize {
        let entry = self.entry(lesson);
        entry.hints_shown += 1;
        entry.hints_shown - 1
    }

    pub fn record_quiz(&mut self, lesson: &Lesson, right: bool) {
        self.entry(lesson).quiz_answered_right = Some(right);
    }

    pub fn quiz_result(&self, lesson: &Lesson) -> Option<bool> {
        self.lessons.get(&lesson.number).and_then(|progress| progress.quiz_answered_right)
    }

    fn entry(&mut self, lesson: &Lesson) -> &mut LessonProgress {
        self.lessons.entry(lesson.number).or_default()
    }

    fn fingerprint(&self, lesson: &Lesson) -> Option<u64> {
        let text = fs::read(self.root.join(lesson.file(Side::Exercise))).ok()?;
        let mut hasher = DefaultHasher::new();
        text.hash(&mut hasher);
        Some(hasher.finish())
    }
}

fn lesson(number: u8) -> Option<&'static Lesson> {
    LESSONS.iter().find(|lesson| lesson.number == number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("exercises")).unwrap();
        for lesson in LESSONS {
            fs::write(root.path().join(lesson.file(Side::Exercise)), "starter").unwrap();
        }
        root
    }

    #[test]
    fn a_check_is_remembered_until_the_exercise_changes() {
        let root = course();
        let (mut progress, notice) = Progress::load(root.path());
        assert_eq!(notice, None);
        progress.record_check(&LESSONS[0], true);
        progress.save().unwrap();

        let (progress, _) = Progress::load(root.path());
        assert_eq!(progress.status(&LESSONS[0]), Status::Done);
        fs::write(root.path().join(LESSONS[0].file(Side::Exercise)), "edited").unwrap();
        assert_eq!(progress.status(&LESSONS[0]), Status::Pending);
    }

    #[test]
    fn undoing_an_experiment_brings_back_the_pass() {
        let root = course();
        let exercise = root.path().join(LESSONS[0].file(Side::Exercise));
        let (mut progress, _) = Progress::load(root.path());
        progress.record_check(&LESSONS[0], true);
        fs::write(&exercise, "an experiment").unwrap();
        progress.record_check(&LESSONS[0], false);
        assert_eq!(progress.status(&LESSONS[0]), Status::Failing);
        fs::write(&exercise, "starter").unwrap();
        assert_eq!(progress.status(&LESSONS[0]), Status::Done);
    }

    #[test]
    fn a_corrupt_file_is_rebuilt_with_a_notice() {
        let root = course();
        fs::create_dir(root.path().join(".httplings")).unwrap();
        fs::write(root.path().join(FILE), "{ not json").unwrap();
        let (progress, notice) = Progress::load(root.path());
        assert!(notice.unwrap().contains("unreadable"));
        assert_eq!(progress.current().number, 1);
        progress.save().unwrap();
        assert!(Progress::load(root.path()).1.is_none(), "the rebuilt file reads back");
    }
}
