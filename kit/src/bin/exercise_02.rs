//! Check target for exercise 2: the learner's module, handed to lesson 2's checks.

#[path = "../../../exercises/02_retry_after.rs"]
mod exercise;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_EXERCISE_02");
    httplings::lessons::retry_after::main(
        built_from,
        httplings::lessons::retry_after::Exercise {
            app: exercise::app,
            parse_retry_after: exercise::parse_retry_after,
            retry_after: exercise::retry_after,
        },
    )
}
