#[path = "../solutions/01_generic_500.rs"]
mod solution;
#[path = "../exercises/.starters/01_generic_500.rs"]
mod starter;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    for (name, app) in [
        ("solution", solution::app as httplings::lessons::generic_500::App),
        ("starter", starter::app),
    ] {
        let judged = httplings::lessons::generic_500::judge_in_process(app, 42).await;
        println!("== {name}: lost={:?}", judged.lost);
        for v in &judged.verdicts {
            match &v.outcome {
                httplings::judge::Outcome::Pass => println!("  ✓ {}", v.check),
                httplings::judge::Outcome::Fail(f) => {
                    println!("  ✗ {}: {}\n      {:?}", v.check, f.summary, f.evidence)
                }
            }
        }
        println!("--- log:\n{}", judged.log);
    }
}
