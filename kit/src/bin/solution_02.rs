//! Check target for solution 2: the reference answer, handed to lesson 2's checks.

#[path = "../../../solutions/02_retry_after.rs"]
mod solution;

fn main() -> std::process::ExitCode {
    // What the runner asked cargo to build this from: cargo rebuilds it when that changes.
    let built_from = option_env!("HTTPLINGS_SOURCE_SHA256_SOLUTION_02");
    httplings::lessons::retry_after::main(
        built_from,
        httplings::lessons::retry_after::Exercise {
            app: solution::app,
            parse_retry_after: solution::parse_retry_after,
            retry_after: solution::retry_after,
        },
    )
}
