//! Check target: the starter of `exercises/.starters/10_request_ids.rs`, handed to its lesson's adapter.

#[path = "../../../exercises/.starters/10_request_ids.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_STARTER_10");
    httplings::lessons::request_ids::main(built_from, learner::app)
}
