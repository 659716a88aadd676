#[path = "../solutions/03_retry_on_5xx.rs"]
mod solution;
#[path = "../exercises/.starters/03_retry_on_5xx.rs"]
mod starter;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seed: u64 = std::env::args().nth(1).map_or(42, |s| s.parse().unwrap());
    let which = std::env::args().nth(2).unwrap_or_default();
    let t = std::time::Instant::now();
    let judged = if which == "starter" {
        httplings::lessons::retry_on_5xx::judge_in_process(starter::get_with_retry, seed).await
    } else {
        httplings::lessons::retry_on_5xx::judge_in_process(solution::get_with_retry, seed).await
    };
    println!("== lost={:?} in {:?}", judged.lost, t.elapsed());
    for v in &judged.verdicts {
        match &v.outcome {
            httplings::judge::Outcome::Pass => println!("  ✓ {}", v.check),
            httplings::judge::Outcome::Fail(f) => {
                println!("  ✗ {}: {}", v.check, f.summary);
                for e in &f.evidence {
                    match e {
                        httplings::judge::Evidence::Diff { expected, actual } => {
                            println!("{expected}---\n{actual}")
                        }
                        httplings::judge::Evidence::Text { body, .. } => println!("{body}"),
                        _ => {}
                    }
                }
            }
        }
    }
}
