//! Check target for exercise 1: the learner's module, handed to lesson 1's checks.

#[path = "../../../exercises/01_generic_500.rs"]
mod exercise;

fn main() -> std::process::ExitCode {
    httplings::lessons::generic_500::main(exercise::app)
}
