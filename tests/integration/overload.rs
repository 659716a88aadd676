//! Lesson 7's judge, proven in process: the solution passes, the starter fails, each
//! known-wrong answer is caught by the check written for it, and right answers in other styles
//! pass. TODO: the known-wrong answers and the other styles.

use httplings_judge::lessons::overload::{self, CHECKS};

use crate::support::{assert_failed, seed};

#[path = "../../solutions/07_overload.rs"]
mod solution;

#[path = "../../exercises/.starters/07_overload.rs"]
mod starter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes() {
    let seed = seed();
    let judged = overload::judge_in_process(solution::app, seed).await;
    assert_failed(&judged, seed, CHECKS, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails() {
    let seed = seed();
    let judged = overload::judge_in_process(starter::app, seed).await;
    assert!(!judged.failed().is_empty(), "the starter passes");
}
