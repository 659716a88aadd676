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
        if solution {
            Side::Solution
        } else {
            Side::Exercise
        }
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
    Lesson {
        number: 2,
        title: "503 and Retry-After",
        slug: "02_retry_after",
        hints: &[
            "Three parts, three checks: the route (while `db.is_down()`), `parse_retry_after` (the \
             table shows every input it gets wrong), and `retry_after` (a real response).",
            "A tuple `(StatusCode, [(header::RETRY_AFTER, \"30\")], Json(body))` is a response. \
             For the parser: trim spaces and tabs, accept ASCII digits only, and hand anything \
             else to `httpdate::parse_http_date`.",
            "A date in the past is a wait of zero: `date.duration_since(now)` fails then, so use \
             `.unwrap_or(Duration::ZERO)`. In `retry_after`, `HeaderValue::to_str` returns an \
             `Err` for bytes that are not visible ASCII: turn that into `None`, never unwrap it.",
        ],
        time_limit: Duration::from_secs(30),
    },
    Lesson {
        number: 3,
        title: "Retry on 5xx, never on 4xx",
        slug: "03_retry_on_5xx",
        hints: &[
            "Write it as a `loop` around `client.get(url).send().await`, counting attempts. \
             Decide first whether the outcome is worth retrying: an `Err`, or a status for which \
             `is_server_error()` is true.",
            "Return the outcome itself (`return outcome;`) when it is not worth retrying or when \
             `attempt >= policy.max_attempts`. Before retry n, sleep with \
             `tokio::time::sleep(..).await` for base_delay × 2^(n−1), capped with `.min(policy.max_delay)`.",
            "Read Retry-After from the 5xx response before you sleep: digits only, as seconds. \
             When it asks for more than `policy.max_delay`, return that response at once; \
             otherwise sleep that long instead of the backoff.",
        ],
        time_limit: Duration::from_secs(20),
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
            assert!(
                !lesson.hints.is_empty(),
                "lesson {} has no hint",
                lesson.number
            );
        }
    }

    #[test]
    fn every_lesson_has_its_files_and_check_targets() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        for lesson in LESSONS {
            let files = [
                lesson.lesson_file(),
                lesson.file(Side::Exercise),
                lesson.file(Side::Solution),
            ];
            for file in files {
                assert!(
                    root.join(&file).is_file(),
                    "lesson {} lacks {file}",
                    lesson.number
                );
            }
            for side in [Side::Exercise, Side::Solution] {
                let target = format!("name = \"{}\"", lesson.check_target(side));
                assert!(
                    manifest.contains(&target),
                    "Cargo.toml lacks the target {target}"
                );
            }
        }
    }
}
