//! Check target for starter 4: the pristine starter (for `dev check`), handed to lesson 4's adapter.

#[path = "../../../exercises/.starters/04_bad_gateway.rs"]
mod starter;

fn main() -> std::process::ExitCode {
    httplings::lessons::bad_gateway::main(starter::app)
}
