//! The lesson catalog: every lesson's number, title, files, hints and quiz. The judges come from
//! the library's registry ([`httplings_judge::lessons::ALL`]); the words from each lesson's
//! `lessons/NN_slug.toml`, kept beside its text.
//!
//! A lesson's files all share its slug: `lessons/{slug}.md`, `lessons/{slug}.toml`,
//! `exercises/{slug}.rs` and `solutions/{slug}.rs`; its check targets, in the kit, are
//! `exercise_NN`, `solution_NN` and `starter_NN`.

use std::sync::LazyLock;
use std::time::Duration;

use httplings_judge::lessons::{ALL, LessonJudge};
use serde::Deserialize;

/// One lesson of the course.
#[derive(Debug)]
pub struct Lesson {
    pub number: u8,
    pub slug: &'static str,
    pub title: String,
    /// Every check, in the order the report lists them.
    pub checks: Vec<Check>,
    /// Shown one at a time; each may name the check it helps with.
    pub hints: Vec<Hint>,
    /// How long judging may run before it is stopped.
    pub time_limit: Duration,
    pub quiz: Vec<Question>,
    pub judge: &'static LessonJudge,
}

/// One check, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Short and stable: what hints and the learner's progress name it by.
    pub id: String,
    /// The sentence the report shows.
    pub name: String,
    /// Why the rule matters, shown under a failure (unless the failure says why itself).
    #[serde(default)]
    pub why: Option<String>,
    /// Sentences it was shown as before, so that progress recorded under them carries over.
    #[serde(default)]
    pub formerly: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    /// The check this hint helps with, by its id; `None` for a general one.
    pub check: Option<String>,
    pub text: String,
}

/// A multiple-choice question, with the reasoning behind its answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub question: String,
    pub options: Vec<String>,
    /// The right option's letter, as the file lists them (`a` for the first).
    pub answer: String,
    pub explanation: String,
}

impl Question {
    /// The index of the right option.
    pub fn answer_index(&self) -> usize {
        let letter = self.answer.trim().bytes().next().unwrap_or(b'?');
        usize::from(letter.wrapping_sub(b'a'))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Info {
    title: String,
    time_limit_seconds: u64,
    checks: Vec<Check>,
    hints: Vec<Hint>,
    quiz: Vec<Question>,
}

/// Every lesson, in course order.
pub static LESSONS: LazyLock<Vec<Lesson>> = LazyLock::new(|| {
    ALL.iter()
        .enumerate()
        .map(|(index, judge)| {
            Lesson::new(index + 1, judge)
                .unwrap_or_else(|problem| panic!("lessons/{}.toml: {problem}", judge.slug))
        })
        .collect()
});

/// Whose code a check runs: the learner's exercise or the reference solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Exercise,
    Solution,
    /// The pristine starter, as shipped (for `dev check`).
    Starter,
}

impl From<bool> for Side {
    /// From the `--solution` flag.
    fn from(solution: bool) -> Self {
        if solution { Side::Solution } else { Side::Exercise }
    }
}

impl Lesson {
    fn new(number: usize, judge: &'static LessonJudge) -> Result<Self, String> {
        let info: Info = toml::from_str(judge.info).map_err(|error| error.to_string())?;
        let lesson = Lesson {
            number: u8::try_from(number).map_err(|_| "too many lessons")?,
            slug: judge.slug,
            title: info.title,
            checks: info.checks,
            hints: info.hints,
            time_limit: Duration::from_secs(info.time_limit_seconds),
            quiz: info.quiz,
            judge,
        };
        lesson.problems().map_or(Ok(lesson), Err)
    }

    /// What is wrong with the lesson's data, if anything.
    fn problems(&self) -> Option<String> {
        let mut problems = Vec::new();
        let ids: Vec<&str> = self.checks.iter().map(|check| check.id.as_str()).collect();
        if ids != self.judge.checks {
            problems.push(format!(
                "its [[checks]] are {ids:?}, but its judge decides {:?}",
                self.judge.checks
            ));
        }
        if self.hints.is_empty() {
            problems.push("no hints".to_string());
        }
        for hint in &self.hints {
            if let Some(check) = &hint.check
                && !ids.contains(&check.as_str())
            {
                problems.push(format!("a hint names a check that does not exist: {check:?}"));
            }
        }
        if self.quiz.is_empty() {
            problems.push("no quiz".to_string());
        }
        for question in &self.quiz {
            if question.answer_index() >= question.options.len()
                || question.answer.trim().len() != 1
            {
                problems.push(format!(
                    "the answer of {:?} is not one of its options' letters",
                    question.question
                ));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// The check whose id is `id`.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.id == id)
    }

    /// The id of the check that `text` names: its id, its sentence, or a sentence it had before.
    pub fn check_named(&self, text: &str) -> Option<&Check> {
        self.checks.iter().find(|check| {
            check.id == text || check.name == text || check.formerly.iter().any(|name| name == text)
        })
    }

    pub fn lesson_file(&self) -> String {
        format!("lessons/{}.md", self.slug)
    }

    pub fn info_file(&self) -> String {
        format!("lessons/{}.toml", self.slug)
    }

    pub fn file(&self, side: Side) -> String {
        match side {
            Side::Exercise => format!("exercises/{}.rs", self.slug),
            Side::Solution => format!("solutions/{}.rs", self.slug),
            Side::Starter => self.starter_file(),
        }
    }

    /// The pristine starter, which `reset` restores and the tests check.
    pub fn starter_file(&self) -> String {
        format!("exercises/.starters/{}.rs", self.slug)
    }

    /// The name of the binary target that checks one side of this lesson.
    pub fn check_target(&self, side: Side) -> String {
        match side {
            Side::Exercise => format!("exercise_{:02}", self.number),
            Side::Solution => format!("solution_{:02}", self.number),
            Side::Starter => format!("starter_{:02}", self.number),
        }
    }

    /// The source file of a check target, in the kit's `src/bin/`.
    pub fn check_target_file(&self, side: Side) -> String {
        format!("kit/src/bin/{}.rs", self.check_target(side))
    }
}

/// The lesson numbered `number`, if there is one.
pub fn lesson(number: u8) -> Option<&'static Lesson> {
    LESSONS.iter().find(|lesson| lesson.number == number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_reads_and_is_numbered_in_order_from_one() {
        for (index, lesson) in LESSONS.iter().enumerate() {
            assert_eq!(usize::from(lesson.number), index + 1, "{}", lesson.slug);
            assert!(lesson.slug.starts_with(&format!("{:02}_", lesson.number)));
        }
    }

    #[test]
    fn a_hint_for_a_check_that_does_not_exist_is_refused() {
        let mut lesson = Lesson::new(1, &ALL[0]).unwrap();
        lesson.hints.push(Hint { check: Some("no such check".into()), text: "…".into() });
        assert!(lesson.problems().unwrap().contains("no such check"));
    }

    #[test]
    fn checks_the_judge_does_not_decide_are_refused() {
        let mut lesson = Lesson::new(1, &ALL[0]).unwrap();
        lesson.checks.pop();
        assert!(lesson.problems().unwrap().contains("its judge decides"));
    }

    #[test]
    fn a_check_is_found_by_its_id_and_by_every_sentence_it_had() {
        let mut lesson = Lesson::new(1, &ALL[0]).unwrap();
        lesson.checks[0].formerly.push("an old sentence".into());
        let name = lesson.checks[0].name.clone();
        for text in ["generic-500", name.as_str(), "an old sentence"] {
            assert_eq!(
                lesson.check_named(text).map(|check| check.id.as_str()),
                Some("generic-500")
            );
        }
        assert!(lesson.check_named("no such check").is_none());
    }

    /// Quizzes that cannot be guessed: in every lesson no letter is right more than 40 % of the
    /// time (in file order; the terminal shuffles, a pipe does not), and across the course the
    /// longest option is the right one in at most a third of the questions, and in at least a
    /// sixth (never is as much a tell as always).
    #[test]
    fn quizzes_cannot_be_guessed_by_position_or_length() {
        let mut longest_right = 0;
        let mut questions = 0;
        for lesson in LESSONS.iter() {
            assert!(
                (4..=5).contains(&lesson.quiz.len()),
                "lesson {}: {} questions",
                lesson.number,
                lesson.quiz.len()
            );
            let mut by_letter = [0usize; 4];
            for question in &lesson.quiz {
                by_letter[question.answer_index().min(3)] += 1;
                let lengths: Vec<usize> =
                    question.options.iter().map(|option| option.chars().count()).collect();
                let longest = lengths.iter().max().copied().unwrap_or(0);
                if lengths[question.answer_index()] == longest {
                    longest_right += 1;
                }
                questions += 1;
            }
            let most = by_letter.iter().max().copied().unwrap_or(0);
            assert!(
                most * 5 <= lesson.quiz.len() * 2,
                "lesson {}: one letter is right in {most} of {} questions ({by_letter:?})",
                lesson.number,
                lesson.quiz.len()
            );
        }
        assert!(
            longest_right * 3 <= questions && longest_right * 6 >= questions,
            "the longest option is right in {longest_right} of {questions} questions"
        );
    }
}
