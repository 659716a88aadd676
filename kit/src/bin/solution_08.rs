//! Check target: the solution of `solutions/08_overload.rs`, handed to its lesson's adapter.

#[path = "../../../solutions/08_overload.rs"]
mod learner;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_SOLUTION_08");
    httplings::lessons::overload::main(built_from, learner::app)
}
