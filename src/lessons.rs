//! Each lesson's judge and adapter, one module per lesson, and [`ALL`]: the registry the runner
//! and `dev check` read.

pub mod bad_gateway;
pub mod circuit_breaker;
pub mod deadlines;
pub mod generic_500;
pub mod idempotency_key;
pub mod overload;
pub mod request_ids;
pub mod retry_after;
pub mod retry_budget;
pub mod retry_on_5xx;

use crate::judge::{JudgeFn, Lesson};

/// What the runner needs to judge one lesson.
#[derive(Debug, Clone, Copy)]
pub struct LessonJudge {
    /// `01_generic_500`: the name shared by the lesson's files.
    pub slug: &'static str,
    /// Every check's name, in the order the report lists them.
    pub checks: &'static [&'static str],
    /// How many processes run the learner's code at once.
    pub processes: usize,
    pub judge: JudgeFn,
    /// `lessons/{slug}.toml`: title, time limit, hints and quiz.
    pub info: &'static str,
}

/// One registry entry: the lesson's judge, and its data from `lessons/{slug}.toml`.
macro_rules! lesson {
    ($module:ident, $slug:literal) => {
        LessonJudge::of::<$module::Judge>(include_str!(concat!("../lessons/", $slug, ".toml")))
    };
}

impl LessonJudge {
    /// The entry for `L`, whose data is `info`.
    pub const fn of<L: Lesson>(info: &'static str) -> Self {
        Self { slug: L::SLUG, checks: L::CHECKS, processes: L::PROCESSES, judge: L::judge, info }
    }
}

/// Every lesson, in course order. (`cargo run -- dev new` adds to it, before the marker.)
pub const ALL: &[LessonJudge] = &[
    lesson!(generic_500, "01_generic_500"),
    lesson!(retry_after, "02_retry_after"),
    lesson!(retry_on_5xx, "03_retry_on_5xx"),
    lesson!(bad_gateway, "04_bad_gateway"),
    lesson!(circuit_breaker, "05_circuit_breaker"),
    lesson!(idempotency_key, "06_idempotency_key"),
    lesson!(deadlines, "07_deadlines"),
    lesson!(overload, "08_overload"),
    lesson!(retry_budget, "09_retry_budget"),
    lesson!(request_ids, "10_request_ids"),
    // dev new: next lesson
];
