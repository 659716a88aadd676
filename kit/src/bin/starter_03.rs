//! Check target for starter 3: the pristine starter (for `dev check`), handed to lesson 3's checks.

#[path = "../../../exercises/.starters/03_retry_on_5xx.rs"]
mod starter;

fn main() -> std::process::ExitCode {
    httplings::lessons::retry_on_5xx::main(starter::get_with_retry)
}
