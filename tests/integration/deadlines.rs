//! Lesson 7's judge, proven in process: the solution passes, the starter fails, each
//! known-wrong answer is caught by the check written for it, and right answers in other styles
//! pass.

use httplings_judge::lessons::deadlines::{self, CHECKS};

use crate::support::{assert_failed, seed};

#[path = "../../solutions/07_deadlines.rs"]
mod solution;

#[path = "../../exercises/.starters/07_deadlines.rs"]
mod starter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes() {
    let seed = seed();
    let judged = deadlines::judge_in_process(solution::app, solution::get_before, seed).await;
    assert_failed(&judged, seed, CHECKS, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails() {
    let seed = seed();
    let judged = deadlines::judge_in_process(starter::app, starter::get_before, seed).await;
    assert_failed(
        &judged,
        seed,
        CHECKS,
        &[
            "past",
            "in-time",
            "no-late-attempt",
            "at-once",
            "passed-on",
            "budget-read",
            "shortest",
            "spent",
        ],
    );
}
