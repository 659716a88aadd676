//! Check target: the exercise of `exercises/05_circuit_breaker.rs`, handed to its lesson's adapter.

#[path = "../../../exercises/05_circuit_breaker.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    httplings::lessons::circuit_breaker::main(learner::app)
}
