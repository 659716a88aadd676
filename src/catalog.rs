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
    /// The lesson's closing question.
    pub quiz: Quiz,
}

/// A multiple-choice question, with the reasoning behind its answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Quiz {
    pub question: &'static str,
    pub options: &'static [&'static str],
    /// Index into `options`.
    pub answer: usize,
    pub explanation: &'static str,
}

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
        quiz: Quiz {
            question: "A query fails because the database password expired. What should the client receive?",
            options: &[
                "500 with the database's error message, so the client can report it",
                "500 with a fixed, generic body; the error itself goes to the server log",
                "400, because the request could not be completed",
                "No response: close the connection so nothing leaks",
            ],
            answer: 1,
            explanation: "The fault is the server's, so 5xx; the client can do nothing with the \
                          details, and an attacker can do a lot, so they belong in the log. A \
                          dropped connection looks like a network failure and hides the cause \
                          from everyone.",
        },
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
        quiz: Quiz {
            question: "A 503 arrives with `Retry-After: Sun, 06 Nov 1994 08:49:37 GMT`, a date \
                       already in the past. How long should the client wait?",
            options: &[
                "Not at all: a date in the past means it may retry now",
                "Treat it as invalid and fall back to its own backoff forever",
                "The absolute value of the difference",
                "30 seconds, the usual default",
            ],
            answer: 0,
            explanation: "Retry-After names the earliest moment to come back; once that moment \
                          has passed, the wait is zero. (Clocks differ, so servers usually send \
                          delay-seconds, which has no such problem.)",
        },
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
        quiz: Quiz {
            question: "Should a client retry a 500 Internal Server Error?",
            options: &[
                "Never: a 500 means a bug, and bugs do not fix themselves",
                "Yes, immediately and until it succeeds",
                "Yes, a bounded number of times with growing, jittered waits, if the request \
                 is safe to repeat",
                "Only when the response body says to",
            ],
            answer: 2,
            explanation: "Many 500s are passing (a deploy, a blip), so a few spaced-out retries \
                          often succeed. Retry at once or forever and you add load to a server \
                          that is already failing. And only repeat what is idempotent: a POST \
                          that charged a card before the 500 would charge it twice. A 500 that \
                          persists is probably a bug: give up and surface it.",
        },
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
            Side::Exercise => format!("exercise-{:02}", self.number),
            Side::Solution => format!("solution-{:02}", self.number),
            Side::Starter => format!("starter-{:02}", self.number),
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
            let files =
                [lesson.lesson_file(), lesson.file(Side::Exercise), lesson.file(Side::Solution)];
            for file in files {
                assert!(root.join(&file).is_file(), "lesson {} lacks {file}", lesson.number);
            }
            for side in [Side::Exercise, Side::Solution, Side::Starter] {
                let target = format!("name = \"{}\"", lesson.check_target(side));
                assert!(manifest.contains(&target), "Cargo.toml lacks the target {target}");
            }
        }
    }
}
