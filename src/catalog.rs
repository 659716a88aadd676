//! The lesson catalog: every lesson's number, title, files and hints, in one place.
//!
//! A lesson's files all share its slug: `lessons/{slug}.md`, `exercises/{slug}.rs` and
//! `solutions/{slug}.rs`; its check targets are `exercise-NN` and `solution-NN`.

use std::time::Duration;

/// One lesson of the course.
#[derive(Debug, PartialEq, Eq)]
pub struct Lesson {
    pub number: u8,
    pub title: &'static str,
    pub slug: &'static str,
    /// Shown one at a time, each more direct than the last.
    pub hints: &'static [&'static str],
    /// How long the check process may run before it is stopped.
    pub time_limit: Duration,
}

/// Whose code a check runs: the learner's exercise or the reference solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Exercise,
    Solution,
}

impl From<bool> for Side {
    /// From the `--solution` flag.
    fn from(solution: bool) -> Self {
        if solution { Side::Solution } else { Side::Exercise }
    }
}

pub const LESSONS: &[Lesson] = &[
    Lesson {
        number: 1,
        title: "The generic 500",
        slug: "01_generic_500",
        hints: &[
            "Start with `impl IntoResponse for AppError`: the `Database` arm decides what the \
             client sees. Build the generic JSON body with `Json(serde_json::json!(...))`.",
            "Before you drop the error's text from the answer, hand it to the log: \
             `tracing::error!(%error, \"order lookup failed\")`.",
            "Panics skip `IntoResponse` entirely. `tower_http::catch_panic::CatchPanicLayer::custom` \
             takes a function from the panic payload to a `Response`; add it with `.layer(...)` \
             after the routes.",
        ],
        time_limit: Duration::from_secs(30),
    },
];

impl Lesson {
    pub fn lesson_file(&self) -> String {
        format!("lessons/{}.md", self.slug)
    }

    pub fn file(&self, side: Side) -> String {
        match side {
            Side::Exercise => format!("exercises/{}.rs", self.slug),
            Side::Solution => format!("solutions/{}.rs", self.slug),
        }
    }

    /// The name of the binary target that checks one side of this lesson.
    pub fn check_target(&self, side: Side) -> String {
        match side {
            Side::Exercise => format!("exercise-{:02}", self.number),
            Side::Solution => format!("solution-{:02}", self.number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lessons_are_numbered_in_order_from_one() {
        for (index, lesson) in LESSONS.iter().enumerate() {
            assert_eq!(usize::from(lesson.number), index + 1, "{}", lesson.slug);
            assert!(lesson.slug.starts_with(&format!("{:02}_", lesson.number)));
            assert!(!lesson.hints.is_empty(), "lesson {} has no hint", lesson.number);
        }
    }

    #[test]
    fn every_lesson_has_its_files_and_check_targets() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        for lesson in LESSONS {
            let files = [lesson.lesson_file(), lesson.file(Side::Exercise), lesson.file(Side::Solution)];
            for file in files {
                assert!(root.join(&file).is_file(), "lesson {} lacks {file}", lesson.number);
            }
            for side in [Side::Exercise, Side::Solution] {
                let target = format!("name = \"{}\"", lesson.check_target(side));
                assert!(manifest.contains(&target), "Cargo.toml lacks the target {target}");
            }
        }
    }
}
