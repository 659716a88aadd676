//! Check target for starter 1: the pristine starter (for `dev check`), handed to lesson 1's checks.

#[path = "../../../exercises/.starters/01_generic_500.rs"]
mod starter;

fn main() -> std::process::ExitCode {
    httplings::lessons::generic_500::main(starter::app)
}
