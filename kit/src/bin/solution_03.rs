//! Check target for solution 3: the reference answer, handed to lesson 3's checks.

#[path = "../../../solutions/03_retry_on_5xx.rs"]
mod solution;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_SOLUTION_03");
    httplings::lessons::retry_on_5xx::main(built_from, solution::get_with_retry)
}
