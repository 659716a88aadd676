//! Check target for starter 2: the pristine starter (for `dev check`), handed to lesson 2's checks.

#[path = "../../../exercises/.starters/02_retry_after.rs"]
mod starter;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_STARTER_02");
    httplings::lessons::retry_after::main(
        built_from,
        httplings::lessons::retry_after::Exercise {
            app: starter::app,
            parse_retry_after: starter::parse_retry_after,
            retry_after: starter::retry_after,
        },
    )
}
