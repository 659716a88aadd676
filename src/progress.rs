//! [`Progress`]: what the learner has done, kept in `.httplings/progress.json` (git-ignored).
//!
//! The file is a convenience, never a source of truth: a missing, unreadable or outdated one
//! is rebuilt, and a lesson whose exercise changed since its last check counts as unchecked.
//! Several httplings may run at once (watch mode in one terminal, `check` in another), so every
//! change is a read-modify-write under a lock ([`Progress::update`]): nothing one of them
//! records is lost to another.

use std::collections::BTreeMap;
use std::fs::{self, File, TryLockError};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::catalog::{LESSONS, Lesson, Side, lesson};

const FILE: &str = ".httplings/progress.json";
const LOCK: &str = ".httplings/progress.lock";
const VERSION: u32 = 2;

/// How long a change of progress waits for another httplings to finish its own.
const LOCK_PATIENCE: Duration = Duration::from_secs(3);

/// Takes the progress lock, waiting at most [`LOCK_PATIENCE`]: an httplings records its
/// progress in milliseconds, so a lock held longer is held by something else.
fn take(lock: &File) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if started.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "{LOCK} has been locked for {} s by another process: progress was not recorded \
                 (is another httplings stuck? end it, or delete the file)",
                LOCK_PATIENCE.as_secs()
            ),
            Err(TryLockError::Error(error)) => {
                return Err(error).context("could not lock the progress file");
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Never checked.
    Pending,
    Failing,
    Done,
    /// Checked before (and passed, when [`Progress::passed_before`] says so), and changed since.
    Changed,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
struct LessonProgress {
    /// The outcome of the last check, and the exercise it was made on.
    checked: Option<(Status, u64)>,
    /// The last exercise that passed: a learner who experiments and then undoes it is back
    /// at "done" without checking again.
    passed: Option<u64>,
    /// The first check that failed in the last run, for the hint that helps with it.
    first_failed: Option<String>,
    /// The hints shown so far, by their place in the lesson's list.
    hints_seen: Vec<usize>,
    /// How each quiz question was last answered, by question.
    quiz: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    version: u32,
    /// The lesson last checked or opened in watch mode; `None` until there is one.
    current: Option<u8>,
    lessons: BTreeMap<u8, LessonProgress>,
    #[serde(skip)]
    root: PathBuf,
}

impl Progress {
    /// Reads the progress file; `notice` says in one line if it had to be rebuilt.
    pub fn load(root: &Path) -> (Self, Option<String>) {
        let fresh = Progress {
            version: VERSION,
            current: None,
            lessons: BTreeMap::new(),
            root: root.to_path_buf(),
        };
        let Ok(text) = fs::read_to_string(root.join(FILE)) else { return (fresh, None) };
        match serde_json::from_str::<Progress>(&text) {
            Ok(progress) if progress.version == VERSION => {
                (Progress { root: root.to_path_buf(), ..progress }, None)
            }
            _ => (
                fresh,
                Some(format!(
                    "{FILE} was unreadable or outdated: progress starts afresh from your next checks"
                )),
            ),
        }
    }

    /// Changes the progress file under a lock, on top of whatever it holds now, and returns
    /// the result (with a notice if the file had to be rebuilt).
    pub fn update(
        root: &Path,
        change: impl FnOnce(&mut Progress),
    ) -> anyhow::Result<(Self, Option<String>)> {
        let folder = root.join(".httplings");
        fs::create_dir_all(&folder)
            .with_context(|| format!("could not create {}", folder.display()))?;
        let lock = File::create(root.join(LOCK)).context("could not open the progress lock")?;
        take(&lock)?;
        let (mut progress, notice) = Self::load(root);
        change(&mut progress);
        progress.save()?;
        Ok((progress, notice))
    }

    /// Writes the file whole or not at all: a new file renamed over the old one.
    fn save(&self) -> anyhow::Result<()> {
        let path = self.root.join(FILE);
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(self).expect("progress always serialises");
        fs::write(&partial, text)
            .with_context(|| format!("could not write {}", partial.display()))?;
        fs::rename(&partial, &path).with_context(|| format!("could not replace {}", path.display()))
    }

    /// The lesson being worked on: the one last checked or opened in watch mode, or else the
    /// first whose exercise does not pass.
    pub fn current(&self) -> &'static Lesson {
        self.current
            .and_then(lesson)
            .or_else(|| LESSONS.iter().find(|lesson| self.status(lesson) != Status::Done))
            .unwrap_or(&LESSONS[0])
    }

    pub fn set_current(&mut self, lesson: &Lesson) {
        self.current = Some(lesson.number);
    }

    /// The status of a lesson's exercise as it is now on disk.
    pub fn status(&self, lesson: &Lesson) -> Status {
        let Some(progress) = self.lessons.get(&lesson.number) else { return Status::Pending };
        let now = self.fingerprint(lesson);
        match progress.checked {
            Some((status, checked)) if Some(checked) == now => status,
            _ if progress.passed.is_some() && progress.passed == now => Status::Done,
            Some(_) => Status::Changed,
            None => Status::Pending,
        }
    }

    /// Whether some version of the exercise passed before.
    pub fn passed_before(&self, lesson: &Lesson) -> bool {
        self.lessons.get(&lesson.number).is_some_and(|progress| progress.passed.is_some())
    }

    /// Records a check of the exercise as it is on disk now.
    pub fn record_check(&mut self, lesson: &Lesson, first_failed: Option<&str>) {
        let passed = first_failed.is_none();
        let status = if passed { Status::Done } else { Status::Failing };
        let fingerprint = self.fingerprint(lesson).unwrap_or_default();
        let entry = self.entry(lesson);
        entry.checked = Some((status, fingerprint));
        entry.first_failed = first_failed.map(String::from);
        if passed {
            entry.passed = Some(fingerprint);
        }
    }

    pub fn done_count(&self) -> usize {
        LESSONS.iter().filter(|lesson| self.status(lesson) == Status::Done).count()
    }

    /// The first check that failed in the last run of `lesson`, if the last run failed.
    pub fn first_failed<'a>(&'a self, lesson: &'a Lesson) -> Option<&'a str> {
        let recorded = self.lessons.get(&lesson.number)?.first_failed.as_deref()?;
        // Progress written before checks had ids names the check by its sentence then.
        Some(lesson.check_named(recorded).map_or(recorded, |check| check.id.as_str()))
    }

    pub fn hints_seen(&self, lesson: &Lesson) -> &[usize] {
        self.lessons.get(&lesson.number).map_or(&[], |progress| &progress.hints_seen)
    }

    /// Notes that hint `index` was shown: last in the list, which round by round keeps the
    /// most recent at the end.
    pub fn record_hint(&mut self, lesson: &Lesson, index: usize) {
        let seen = &mut self.entry(lesson).hints_seen;
        seen.retain(|shown| *shown != index);
        seen.push(index);
    }

    pub fn record_answer(&mut self, lesson: &Lesson, question: &str, right: bool) {
        self.entry(lesson).quiz.insert(question.to_string(), right);
    }

    /// How many of the lesson's questions were last answered right, if any was answered.
    pub fn quiz_score(&self, lesson: &Lesson) -> Option<(usize, usize)> {
        let answers = &self.lessons.get(&lesson.number)?.quiz;
        let asked: Vec<bool> = lesson
            .quiz
            .iter()
            .filter_map(|question| answers.get(&question.question).copied())
            .collect();
        (!asked.is_empty())
            .then(|| (asked.iter().filter(|right| **right).count(), lesson.quiz.len()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("exercises")).unwrap();
        for lesson in LESSONS.iter() {
            fs::write(root.path().join(lesson.file(Side::Exercise)), "starter").unwrap();
        }
        root
    }

    #[test]
    fn a_check_is_remembered_until_the_exercise_changes() {
        let root = course();
        let (progress, notice) =
            Progress::update(root.path(), |progress| progress.record_check(&LESSONS[0], None))
                .unwrap();
        assert_eq!(notice, None);
        assert_eq!(progress.status(&LESSONS[0]), Status::Done);
        let (progress, _) = Progress::load(root.path());
        assert_eq!(progress.status(&LESSONS[0]), Status::Done);
        fs::write(root.path().join(LESSONS[0].file(Side::Exercise)), "edited").unwrap();
        // Checked before, changed since: not "pending", which is for what was never checked.
        assert_eq!(progress.status(&LESSONS[0]), Status::Changed);
        assert!(progress.passed_before(&LESSONS[0]));
        assert_eq!(progress.status(&LESSONS[1]), Status::Pending);
    }

    #[test]
    fn undoing_an_experiment_brings_back_the_pass() {
        let root = course();
        let exercise = root.path().join(LESSONS[0].file(Side::Exercise));
        let (mut progress, _) = Progress::load(root.path());
        progress.record_check(&LESSONS[0], None);
        fs::write(&exercise, "an experiment").unwrap();
        progress.record_check(&LESSONS[0], Some("a check"));
        assert_eq!(progress.status(&LESSONS[0]), Status::Failing);
        fs::write(&exercise, "starter").unwrap();
        assert_eq!(progress.status(&LESSONS[0]), Status::Done);
    }

    #[test]
    fn updates_from_two_writers_both_stay() {
        let root = course();
        // One writer's snapshot is stale when the other records: each update reads afresh.
        let (stale, _) = Progress::load(root.path());
        Progress::update(root.path(), |progress| progress.record_check(&LESSONS[0], None)).unwrap();
        Progress::update(root.path(), |progress| progress.record_check(&LESSONS[1], None)).unwrap();
        assert_eq!(stale.done_count(), 0);
        let (progress, _) = Progress::load(root.path());
        assert_eq!(
            (progress.status(&LESSONS[0]), progress.status(&LESSONS[1])),
            (Status::Done, Status::Done)
        );
    }

    #[test]
    fn a_corrupt_file_is_rebuilt_with_a_notice() {
        let root = course();
        fs::create_dir(root.path().join(".httplings")).unwrap();
        fs::write(root.path().join(FILE), "{ not json").unwrap();
        let (progress, notice) = Progress::load(root.path());
        assert!(notice.unwrap().contains("unreadable"));
        assert_eq!(progress.current().number, 1);
        let (_, notice) = Progress::update(root.path(), |_| {}).unwrap();
        assert!(notice.is_some());
        assert!(Progress::load(root.path()).1.is_none(), "the rebuilt file reads back");
    }

    #[test]
    fn the_current_lesson_is_the_first_not_done_until_one_is_chosen() {
        let root = course();
        let (mut progress, _) = Progress::load(root.path());
        progress.record_check(&LESSONS[0], None);
        assert_eq!(progress.current().number, 2);
        progress.set_current(&LESSONS[0]);
        assert_eq!(progress.current().number, 1);
    }
}
