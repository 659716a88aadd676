//! Check target for solution 1: the reference answer, handed to lesson 1's checks.

#[path = "../../../solutions/01_generic_500.rs"]
mod solution;

fn main() -> std::process::ExitCode {
    httplings::lessons::generic_500::main(solution::app)
}
