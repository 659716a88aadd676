//! Check target for exercise 4: the learner's module, handed to lesson 4's adapter.

#[path = "../../../exercises/04_bad_gateway.rs"]
mod exercise;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_EXERCISE_04");
    httplings::lessons::bad_gateway::main(built_from, exercise::app)
}
