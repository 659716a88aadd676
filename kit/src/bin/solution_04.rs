//! Check target for solution 4: the reference answer, handed to lesson 4's adapter.

#[path = "../../../solutions/04_bad_gateway.rs"]
mod solution;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_SOLUTION_04");
    httplings::lessons::bad_gateway::main(built_from, solution::app)
}
