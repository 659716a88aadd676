//! Check target for starter 3: the pristine starter (for `dev check`), handed to lesson 3's checks.

#[path = "../../../exercises/.starters/03_retry_on_5xx.rs"]
mod starter;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_STARTER_03");
    httplings::lessons::retry_on_5xx::main(built_from, starter::get_with_retry)
}
