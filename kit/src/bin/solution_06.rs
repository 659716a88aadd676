//! Check target: the solution of `solutions/06_idempotency_key.rs`, handed to its lesson's adapter.

#[path = "../../../solutions/06_idempotency_key.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    httplings::lessons::idempotency_key::main(learner::app, learner::pay)
}
