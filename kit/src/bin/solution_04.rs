//! Check target for solution 4: the reference answer, handed to lesson 4's adapter.

#[path = "../../../solutions/04_bad_gateway.rs"]
mod solution;

fn main() -> std::process::ExitCode {
    httplings::lessons::bad_gateway::main(solution::app)
}
