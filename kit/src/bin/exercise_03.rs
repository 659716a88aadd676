//! Check target for exercise 3: the learner's module, handed to lesson 3's checks.

#[path = "../../../exercises/03_retry_on_5xx.rs"]
mod exercise;

fn main() -> std::process::ExitCode {
    httplings::lessons::retry_on_5xx::main(exercise::get_with_retry)
}
