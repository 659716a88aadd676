//! Lesson 9's judge (lesson 8 in this branch's numbering), proven in process: the solution
//! passes, the starter fails, each known-wrong answer is caught by the check written for it,
//! and right answers in other styles pass.

mod knobs;

use httplings_judge::lessons::retry_budget::{self, CHECKS};

use self::knobs::{Kind, Knobs};
use crate::support::{assert_failed, report, seed};

#[path = "../../solutions/08_retry_budget.rs"]
mod solution;

#[path = "../../exercises/.starters/08_retry_budget.rs"]
mod starter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes() {
    let seed = seed();
    let judged = retry_budget::judge_in_process(
        solution::BudgetedClient::new,
        async |client: &solution::BudgetedClient, url: &str| client.get(url).await,
        seed,
    )
    .await;
    assert_failed(&judged, seed, CHECKS, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails() {
    let seed = seed();
    let judged = retry_budget::judge_in_process(
        starter::BudgetedClient::new,
        async |client: &starter::BudgetedClient, url: &str| client.get(url).await,
        seed,
    )
    .await;
    let failed = judged.failed();
    assert!(failed.contains(&"outage"), "{}", report(&judged, seed));
}
