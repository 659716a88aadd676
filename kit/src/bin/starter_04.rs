//! Check target for starter 4: the pristine starter (for `dev check`), handed to lesson 4's adapter.

#[path = "../../../exercises/.starters/04_bad_gateway.rs"]
mod starter;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_STARTER_04");
    httplings::lessons::bad_gateway::main(built_from, starter::app)
}
