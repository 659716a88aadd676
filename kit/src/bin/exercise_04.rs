//! Check target for exercise 4: the learner's module, handed to lesson 4's adapter.

#[path = "../../../exercises/04_bad_gateway.rs"]
mod exercise;

fn main() -> std::process::ExitCode {
    httplings::lessons::bad_gateway::main(exercise::app)
}
