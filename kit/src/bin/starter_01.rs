//! Check target for starter 1: the pristine starter (for `dev check`), handed to lesson 1's checks.

#[path = "../../../exercises/.starters/01_generic_500.rs"]
mod starter;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_STARTER_01");
    httplings::lessons::generic_500::main(built_from, starter::app)
}
