//! Check target for exercise 1: the learner's module, handed to lesson 1's checks.

#[path = "../../../exercises/01_generic_500.rs"]
mod exercise;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_EXERCISE_01");
    httplings::lessons::generic_500::main(built_from, exercise::app)
}
