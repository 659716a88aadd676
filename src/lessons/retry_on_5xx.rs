//! Lesson 3, retry on 5xx, never on 4xx: the learner's client meets scripted servers of the
//! judge's in a score of scenarios, all at once, with statuses, values and policies drawn from
//! the seed. The judge sees every request arrive; the learner's process only reports what each
//! call returned, and that is checked against what the judge's server sent.

pub(crate) mod call;
pub(crate) mod expect;
pub(crate) mod growth;
mod scenario;
mod server;
mod timeline;
pub(crate) mod verdict;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use self::scenario::{CLIENT_TIMEOUT, GROWTH, SLEEPS, Scenario, Target};
use self::server::ScriptedServer;
use self::verdict::{CallOutcome, CallRecord, Sample};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned};
use crate::judge::{seed, upstream_old as upstream};
use httplings::lessons::retry_on_5xx::{Adapter, Call, GetWithRetry};

pub use self::scenario::CHECKS;

/// Judges `get_with_retry` on a thread of this process (the project's tests).
pub async fn judge_in_process(
    get_with_retry: impl GetWithRetry + Send + Clone,
    seed: u64,
) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { get_with_retry: get_with_retry.clone() }, seed).await
}

/// Lesson 3's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "03_retry_on_5xx";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// A stall of the learner's thread longer than this means its code blocked it.
const STALL: Duration = Duration::from_millis(250);

/// Using more CPU than this share of the time that passed means the client spins as it waits.
/// A client that sleeps uses 5 to 10 % of a core here (reqwest and the adapter at work); one that
/// spins, or yields in a loop, uses all of one, and still 45 % with both cores busy elsewhere.
const BUSY: f64 = 0.25;

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let mut rng = seed::rng(seed);
    let scenarios = scenario::all(&mut rng);
    let tokens: Vec<String> = scenarios.iter().map(|_| seed::token(&mut rng, 10)).collect();
    let query_seeds: Vec<u64> = scenarios.iter().map(|_| rng.u64(..)).collect();
    let cpu_before = learner.cpu_time();
    let started = Instant::now();
    let playing = join_all(
        scenarios
            .iter()
            .zip(&tokens)
            .zip(query_seeds)
            .map(|((scenario, token), query_seed)| play(learner, scenario, token, query_seed)),
    );
    let (played, longest_stall) = with_stalls_measured(learner, playing).await?;
    let wall = started.elapsed();
    let cpu =
        cpu_before.zip(learner.cpu_time()).map(|(before, after)| after.saturating_sub(before));

    let mut samples = Vec::new();
    let mut verdicts = Vec::new();
    for (scenario, played) in scenarios.iter().zip(played) {
        let (failure, scenario_samples) = played?;
        samples.extend(scenario_samples);
        if scenario.check != GROWTH {
            verdicts.push((scenario.check, failure));
        } else {
            verdicts.push((GROWTH, failure.or_else(|| growth::judge(&samples, scenario.why))));
        }
    }
    verdicts.push((SLEEPS, spinning(cpu, wall)));
    for (check, failure) in verdicts {
        recorder.decide(check, failure.map(|failure| blamed_on_blocking(failure, longest_stall)));
    }
    Ok(())
}

/// Runs `playing` while pinging the learner's thread, and returns the longest a ping waited.
async fn with_stalls_measured<T>(
    learner: &Learner,
    playing: impl Future<Output = T>,
) -> Result<(T, Duration), Lost> {
    let mut longest = Duration::ZERO;
    let measuring = async {
        loop {
            longest = longest.max(learner.ping(Duration::from_secs(1)).await?);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        played = playing => Ok((played, longest)),
        lost = measuring => lost,
    }
}

/// A failure of a run in which learner code blocked its thread says so first: every timing
/// in it is off.
fn blamed_on_blocking(mut failure: Failure, longest_stall: Duration) -> Failure {
    if longest_stall > STALL {
        failure.summary = format!(
            "your code blocked its thread for {} ms at a time (std::thread::sleep? a loop that \
             never awaits?), so every timing here is off: wait with tokio::time::sleep. {}",
            longest_stall.as_millis(),
            failure.summary
        );
    }
    failure
}

fn spinning(cpu: Option<Duration>, wall: Duration) -> Option<Failure> {
    let cpu = cpu?;
    let share = cpu.as_secs_f64() / wall.as_secs_f64().max(0.001);
    (share > BUSY).then(|| {
        Failure::new(
            format!(
                "your code used {} ms of CPU in the {} ms the scenarios took ({:.0} % of a core): \
                 it spins while it waits",
                cpu.as_millis(),
                wall.as_millis(),
                share * 100.0
            ),
            "A busy loop (or yield_now in a loop) \"waits\" by burning a core that the rest of \
             the program, and the server's other clients, need. tokio::time::sleep costs nothing \
             while it waits.",
        )
    })
}

/// How long after the others the long outages of the growth check start.
const GROWTH_STARTS_AFTER: Duration = Duration::from_millis(400);

/// Plays one scenario: its own server, every call at once.
async fn play(
    learner: &Learner,
    scenario: &Scenario,
    token: &str,
    query_seed: u64,
) -> Result<(Option<Failure>, Vec<Sample>), Lost> {
    if scenario.counts_for_growth {
        // The first rush of every scenario at once is over by then: the growth check's first,
        // shortest waits are not measured in it. The other scenarios take longer anyway.
        tokio::time::sleep(GROWTH_STARTS_AFTER).await;
    }
    let mut rng = seed::rng(query_seed);
    let targets: Vec<String> = (0..scenario.calls.len())
        .map(|index| format!("/{token}/{index}?k={}", seed::token(&mut rng, 6)))
        .collect();
    let scripts: HashMap<String, Vec<server::Step>> = scenario
        .calls
        .iter()
        .zip(&targets)
        .map(|(planned, target)| {
            (target.split('?').next().unwrap_or_default().to_string(), planned.script.clone())
        })
        .collect();
    let allowed = scenario.calls.iter().map(|planned| expect::expect(planned).requests.len()).sum();
    let server = ScriptedServer::start(scripts, token.to_string(), allowed).await;
    let (refused, _refused) = upstream::refused();
    let refused_port = refused.port();
    let calls = scenario.calls.iter().zip(&targets).map(|(planned, target)| {
        let url = match planned.target {
            Target::Scripted => format!("{}{target}", server.base),
            Target::Refused => format!("http://refused-{token}.test:{refused_port}{target}"),
            Target::Unsendable(url) => url.to_string(),
        };
        let call = Call {
            url,
            max_attempts: planned.max_attempts,
            base_delay: planned.base_delay,
            max_delay: planned.max_delay,
            client_timeout: CLIENT_TIMEOUT,
        };
        let server = &server;
        async move {
            let started = Instant::now();
            let came = tokio::select! {
                came = learner.call("get_with_retry", &call, planned.deadline) => Some(came?),
                () = server.cap_reached() => None,
            };
            let outcome = match came {
                Some(Returned::Value(came)) => CallOutcome::Came(came),
                Some(Returned::Panicked(message)) => CallOutcome::Panicked(message),
                Some(Returned::TimedOut(limit)) => CallOutcome::TimedOut(limit),
                None => CallOutcome::Capped(server.cap),
            };
            Ok(CallRecord {
                planned: planned.clone(),
                target: target.clone(),
                started,
                ended: Instant::now(),
                outcome,
            })
        }
    });
    let records = join_all(calls).await.into_iter().collect::<Result<Vec<_>, Lost>>()?;
    Ok(verdict::judge(scenario, &records, &server.arrivals()))
}
