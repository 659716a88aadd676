//! Check target: the starter of `exercises/.starters/09_retry_budget.rs`, handed to its lesson's adapter.

#[path = "../../../exercises/.starters/09_retry_budget.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_STARTER_09");
    httplings::lessons::retry_budget::main(
        built_from,
        learner::BudgetedClient::new,
        async |client: &learner::BudgetedClient, url: &str| client.get(url).await,
    )
}
