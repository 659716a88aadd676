//! Check target: the solution of `solutions/05_circuit_breaker.rs`, handed to its lesson's adapter.

#[path = "../../../solutions/05_circuit_breaker.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_SOLUTION_05");
    httplings::lessons::circuit_breaker::main(built_from, learner::app)
}
