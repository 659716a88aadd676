//! Check target for solution 1: the reference answer, handed to lesson 1's checks.

#[path = "../../../solutions/01_generic_500.rs"]
mod solution;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_SOLUTION_01");
    httplings::lessons::generic_500::main(built_from, solution::app)
}
