//! Check target for solution 3: the reference answer, handed to lesson 3's checks.

#[path = "../../../solutions/03_retry_on_5xx.rs"]
mod solution;

fn main() -> std::process::ExitCode {
    httplings::lessons::retry_on_5xx::main(solution::get_with_retry)
}
