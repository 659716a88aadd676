#[path = "../solutions/02_retry_after.rs"]
mod solution;
#[path = "../exercises/.starters/02_retry_after.rs"]
mod starter;
use httplings::lessons::retry_after::Exercise;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seed: u64 = std::env::args().nth(1).map_or(42, |s| s.parse().unwrap());
    for (name, ex) in [
        (
            "solution",
            Exercise {
                app: solution::app,
                parse_retry_after: solution::parse_retry_after,
                retry_after: solution::retry_after,
            },
        ),
        (
            "starter",
            Exercise {
                app: starter::app,
                parse_retry_after: starter::parse_retry_after,
                retry_after: starter::retry_after,
            },
        ),
    ] {
        let t = std::time::Instant::now();
        let judged = httplings::lessons::retry_after::judge_in_process(ex, seed).await;
        println!("== {name}: lost={:?} in {:?}", judged.lost, t.elapsed());
        for v in &judged.verdicts {
            match &v.outcome {
                httplings::judge::Outcome::Pass => println!("  ✓ {}", v.check),
                httplings::judge::Outcome::Fail(f) => {
                    println!("  ✗ {}: {}", v.check, f.summary);
                    for e in &f.evidence {
                        match e {
                            httplings::judge::Evidence::Table { rows, .. } => {
                                for r in rows {
                                    if !r.ok {
                                        println!("      {:?}", r.cells)
                                    }
                                }
                            }
                            other => println!("      {other:?}"),
                        }
                    }
                }
            }
        }
    }
}
