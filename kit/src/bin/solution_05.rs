//! Check target: the solution of `solutions/05_circuit_breaker.rs`, handed to its lesson's adapter.

#[path = "../../../solutions/05_circuit_breaker.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    httplings::lessons::circuit_breaker::main(learner::app)
}
