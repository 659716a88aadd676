//! Check target for exercise 3: the learner's module, handed to lesson 3's checks.

#[path = "../../../exercises/03_retry_on_5xx.rs"]
mod exercise;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_EXERCISE_03");
    httplings::lessons::retry_on_5xx::main(built_from, exercise::get_with_retry)
}
