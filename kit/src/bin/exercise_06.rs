//! Check target: the exercise of `exercises/06_idempotency_key.rs`, handed to its lesson's adapter.

#[path = "../../../exercises/06_idempotency_key.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_EXERCISE_06");
    httplings::lessons::idempotency_key::main(
        built_from,
        learner::app,
        learner::new_idempotency_key,
        learner::pay,
    )
}
