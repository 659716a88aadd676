//! Lesson 3, retry on 5xx, never on 4xx: the learner's client meets scripted upstreams of the
//! judge's in a score of scenarios at once, with statuses, `Retry-After` values, dates and
//! policies drawn from the seed. The judge sees every request arrive; the learner's process
//! only reports what each call returned, which must be what the judge's server last sent.
//!
//! Two processes run the learner's code: both first play a herd of calls that fail together
//! (with jitter their waits differ, call from call and process from process), then the first
//! plays everything else while the second sleeps through long `Retry-After`s, its CPU time
//! measured.

mod plan;
mod play;
mod rules;
mod verdict;

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::Notify;

use self::plan::{JITTER, SLEEPS, Scenario};
use self::play::PlayedCall;
use crate::judge::bounds::{Lateness, PROBE_EVERY, PROBE_OFTEN, STALL, millis};
use crate::judge::confirm::{self, Cause};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder};
use crate::judge::{schedule, seed};
use httplings::lessons::retry_on_5xx::{Adapter, GetWithRetry};

pub use self::plan::CHECKS;

/// Judges `get_with_retry` on threads of this process (the project's tests).
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
    /// A second process: a generator seeded with a constant draws the same waits in both.
    const PROCESSES: usize = 2;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// Using more CPU than this share of the time that passed means the client spins as it waits.
/// The second process sleeps through a second of `Retry-After` with a dozen requests around it:
/// a client that sleeps uses a few per cent of a core; one that spins, or yields in a loop,
/// uses all of one (and still a half with both cores busy elsewhere).
const BUSY: f64 = 0.25;

/// Wanting a core (on one, or queued for one) this share of the time, while getting more than
/// [`BUSY_ON_A_BUSY_MACHINE`] of one, means spinning too. On a machine busy elsewhere a client
/// that yields in a loop gets little of a core but stays runnable (seen: 93 % wanted, 31 % got,
/// beside two CPU hogs); one that sleeps is runnable only as it wakes, and its few milliseconds
/// of work are a share that shrinks as the machine slows it (seen: 43 % wanted, 2 % got, on a
/// machine so loaded that other checks failed).
const WANTS_A_CORE: f64 = 0.7;
const BUSY_ON_A_BUSY_MACHINE: f64 = 0.08;

/// How far apart the scenarios after the herd set out.
const SCENARIOS_APART: Duration = Duration::from_millis(6);

/// How long after the herd's first failures were answered the rest starts (and then only once
/// both processes answer a ping, behind whatever their calls had to do): time for every call of
/// the herd to draw its wait before anything else draws.
const HERD_SETTLES: Duration = Duration::from_millis(20);

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let mut rng = seed::rng(seed);
    let herd = plan::herd(&mut rng);
    let opening = plan::opening(&mut rng);
    let scenarios = plan::draw(&mut rng);
    let second_scenarios = plan::draw_second(&mut rng);
    let seeds: Vec<u64> = (0..5).map(|_| rng.u64(..)).collect();
    let second = learner.other(0).unwrap_or(learner);
    let lost = RefCell::new(None);
    let (lateness, second_lateness) = (RefCell::default(), RefCell::default());
    let answered = [Notify::new(), Notify::new()];
    let (cpu_before, started) = (Cpu::of(second), Instant::now());
    // The second process's CPU time and the wall time, as of when its last call came back: the
    // first process's scenarios may run on after it, and the spin check is about its waits.
    let second_finished = RefCell::new((cpu_before, Duration::ZERO));
    let second_came_back = || *second_finished.borrow_mut() = (Cpu::of(second), started.elapsed());
    // Whether the second process retried at all (and so waited) in the opening or the herd.
    let second_retried = Cell::new(false);

    // Both processes play the opening and the herd at once; the first is judged on its opening.
    let opened =
        join_all(opening.iter().enumerate().map(|(at, scenario)| {
            decide(learner, scenario, seeds[3] ^ at as u64, &lost, &lateness)
        }));
    let opened_second = async {
        let mut rng = seed::rng(seeds[4]);
        for played in join_all(opening.iter().map(|scenario| {
            let mut rng = seed::rng(rng.u64(..));
            async move { play::play(second, scenario, &mut rng, None).await }
        }))
        .await
        {
            match played {
                Ok(calls) => second_retried.set(second_retried.get() || retried(&calls)),
                Err(gone) => {
                    lost.borrow_mut().get_or_insert(gone);
                }
            }
        }
        second_came_back();
    };
    let herds = async {
        let (mut one, mut two) = (seed::rng(seeds[0]), seed::rng(seeds[0] ^ 1));
        tokio::join!(play::play(learner, &herd, &mut one, Some(&answered[0])), async {
            let played = play::play(second, &herd, &mut two, Some(&answered[1])).await;
            second_came_back();
            played
        },)
    };
    let rest = async {
        tokio::join!(answered[0].notified(), answered[1].notified());
        tokio::time::sleep(HERD_SETTLES).await;
        let _ = tokio::join!(learner.ping(STALL), second.ping(STALL));
        // One scenario after the other, a few milliseconds apart: sixty calls setting out in
        // the same instant would make a crowd that every first wait is measured in.
        let (lost, lateness, seed) = (&lost, &lateness, seeds[1]);
        let first = join_all(scenarios.iter().enumerate().map(|(at, scenario)| async move {
            tokio::time::sleep(SCENARIOS_APART * at as u32).await;
            decide(learner, scenario, seed ^ at as u64, lost, lateness).await
        }));
        let second_played = async {
            let decided = join_all(second_scenarios.iter().enumerate().map(|(at, scenario)| {
                decide(second, scenario, seeds[2] ^ at as u64, lost, &second_lateness)
            }))
            .await;
            second_came_back();
            decided
        };
        tokio::join!(first, second_played)
    };
    let second_done = async {
        let (_, (herds, rest)) = tokio::join!(opened_second, async { tokio::join!(herds, rest) });
        let (cpu, wall) = *second_finished.borrow();
        (herds, rest, cpu, wall)
    };
    // The second process is probed less often: its CPU time is what the spin check measures.
    let playing =
        second.gauged(PROBE_EVERY, &second_lateness, async { tokio::join!(opened, second_done) });
    let (opened, ((herd_one, herd_two), (failures, second_decided), cpu_after, wall)) =
        learner.gauged(PROBE_OFTEN, &lateness, playing).await??;
    let longest_stall = lateness.borrow().longest().max(second_lateness.borrow().longest());
    let (herd_one, herd_two) = (herd_one?, herd_two?);
    if let Some(gone) = lost.into_inner() {
        return Err(gone);
    }
    let mut verdicts: Vec<(&str, Option<Failure>)> = opening
        .iter()
        .chain(&scenarios)
        .chain(&second_scenarios)
        .map(|scenario| scenario.check)
        .zip(opened.into_iter().chain(failures).chain(second_decided))
        .collect();
    // A busy machine can hold a right client past its timeout on the herd's 200, stamp its
    // retries alike (the judge's server held up while they queue), or spread the retries of a
    // client that drew no jitter: a herd that failed in one process, or passed only by as much
    // as the machine ran late, is played again by itself (see `confirm::confirmed_by_cause`).
    // Two processes in step, or a call that panicked or ran past its deadline, are believed at
    // once unless the judge saw a stall: a generator seeded once per process would be drawn at
    // other places in a replay, and pass it; a call that sleeps an hour would only be waited for
    // again.
    let stalled = longest_stall > STALL;
    let mut first_play = Some(judge_herd(
        &herd,
        (&herd_one, &herd_two),
        (&lateness.borrow(), &second_lateness.borrow()),
        stalled,
    ));
    let (replay_lost, herd_seed) = (RefCell::new(None), seeds[0]);
    let herd_failure = confirm::confirmed_by_cause(|play| {
        let (first, herd, replay_lost) = (first_play.take(), &herd, &replay_lost);
        async move {
            if first.is_some() {
                return first;
            }
            let salt = u64::from(play) << 32;
            let (mut one, mut two) =
                (seed::rng(herd_seed ^ 2 ^ salt), seed::rng(herd_seed ^ 3 ^ salt));
            let (late_one, late_two) = (RefCell::default(), RefCell::default());
            let both = async {
                tokio::join!(
                    play::play(learner, herd, &mut one, None),
                    play::play(second, herd, &mut two, None)
                )
            };
            let replayed = learner
                .gauged(PROBE_OFTEN, &late_one, second.gauged(PROBE_EVERY, &late_two, both))
                .await
                .and_then(|played| played)
                .and_then(|(one, two)| Ok((one?, two?)));
            let (one, two) = match replayed {
                Ok(played) => played,
                Err(gone) => {
                    replay_lost.borrow_mut().get_or_insert(gone);
                    return None;
                }
            };
            let (late_one, late_two) = (late_one.into_inner(), late_two.into_inner());
            let stalled = late_one.longest().max(late_two.longest()) > STALL;
            Some(judge_herd(herd, (&one, &two), (&late_one, &late_two), stalled))
        }
    })
    .await;
    if let Some(gone) = replay_lost.into_inner() {
        return Err(gone);
    }
    // The herd says it first: calls that fail together and retry together is the whole story.
    verdicts.insert(0, (JITTER, herd_failure));
    // A client that never retried never waited: what its calls used was work, not waiting
    // (the starter, on a machine busy with other tests, wanted a core 88 % of its 204 ms).
    let waited = second_retried.get() || retried(&herd_two);
    let spinning = if waited { cpu_after.since(cpu_before).spinning(wall) } else { None };
    verdicts.push((SLEEPS, spinning));
    for check in CHECKS {
        // A check may have scenarios in both processes: the first failure among them.
        let failure = verdicts
            .iter()
            .filter(|(decided, _)| decided == check)
            .find_map(|(_, failure)| failure.clone());
        recorder.decide(check, failure.map(|failure| blamed_on_blocking(failure, longest_stall)));
    }
    Ok(())
}

/// Whether any of `calls` was tried more than once.
fn retried(calls: &[PlayedCall]) -> bool {
    calls.iter().any(|call| call.seen.len() > 1)
}

/// The herd's verdict, and whether its pass could be a busy machine's doing: each process's
/// calls on their own, then their waits compared between the two processes, call by call. Two
/// processes in step, or a rule no busy machine breaks (a panic, a call still running at its
/// deadline), are a broken rule unless the learner's process `stalled`.
fn judge_herd(
    herd: &Scenario,
    (one, two): (&[PlayedCall], &[PlayedCall]),
    (late_one, late_two): (&Lateness, &Lateness),
    stalled: bool,
) -> (Option<(Failure, Cause)>, bool) {
    let unless_stalled = if stalled { Cause::Timing } else { Cause::Rule };
    let (one_alone, two_alone) =
        (verdict::judge(herd, one, late_one), verdict::judge(herd, two, late_two));
    if let Some((failure, cause)) = one_alone.failure.or(two_alone.failure) {
        let cause = if cause == Cause::Rule { unless_stalled } else { cause };
        return (Some((failure, cause)), false);
    }
    let (first, second): (Vec<Duration>, Vec<Duration>) = one
        .iter()
        .zip(two)
        .filter_map(|(one, two)| Some((verdict::first_wait(one)?, verdict::first_wait(two)?)))
        .unzip();
    let d = herd.calls.first().map(|call| call.policy.base_delay).unwrap_or_default();
    match schedule::differ_between_processes_in_order(d, &first, &second) {
        Some(problem) => (Some((Failure::of(problem), unless_stalled)), false),
        None => (None, one_alone.busy || two_alone.busy),
    }
}

/// Plays `scenario` until it passes, three times at most: a rule that held once under the
/// judge's eyes holds, and a wait stretched by a busy moment must not become a ✗. A call that
/// panicked or never returned is believed at once.
async fn decide(
    learner: &Learner,
    scenario: &Scenario,
    seed: u64,
    lost: &RefCell<Option<Lost>>,
    lateness: &RefCell<Lateness>,
) -> Option<Failure> {
    confirm::confirmed_by_cause(|play| async move {
        let mut rng = seed::rng(seed ^ u64::from(play) << 32);
        Some(match play::play(learner, scenario, &mut rng, None).await {
            Ok(calls) => {
                let judged = verdict::judge(scenario, &calls, &lateness.borrow());
                (judged.failure, judged.busy)
            }
            Err(gone) => {
                lost.borrow_mut().get_or_insert(gone);
                (Some((Failure::of("the learner's process was lost"), Cause::Rule)), false)
            }
        })
    })
    .await
}

/// A failure of a run in which learner code blocked its thread says so first: every timing
/// in it is off.
fn blamed_on_blocking(mut failure: Failure, longest_stall: Duration) -> Failure {
    if longest_stall > STALL {
        failure.summary = format!(
            "your code blocked its thread for {} at a time (std::thread::sleep? a loop that \
             never awaits?), so every timing here is off: wait with tokio::time::sleep. {}",
            millis(longest_stall),
            failure.summary
        );
    }
    failure
}

/// What the second process's threads used of the CPU, and how long they wanted it.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    used: Option<Duration>,
    runnable: Option<Duration>,
}

impl Cpu {
    fn of(learner: &Learner) -> Self {
        Self { used: learner.cpu_time(), runnable: learner.runnable_time() }
    }

    fn since(self, before: Self) -> Self {
        let between = |after: Option<Duration>, before: Option<Duration>| {
            after.zip(before).map(|(after, before)| after.saturating_sub(before))
        };
        Self {
            used: between(self.used, before.used),
            runnable: between(self.runnable, before.runnable),
        }
    }

    /// A client that used a fair share of a core as it waited spins; so does one that got
    /// little of a core on a busy machine but wanted one nearly all along.
    fn spinning(self, wall: Duration) -> Option<Failure> {
        let share = |time: Option<Duration>| {
            time.map_or(0.0, |time| time.as_secs_f64() / wall.as_secs_f64().max(0.001))
        };
        let (used, wanted) = (share(self.used), share(self.runnable));
        let spins = used > BUSY || (wanted > WANTS_A_CORE && used > BUSY_ON_A_BUSY_MACHINE);
        spins.then(|| {
            Failure::of(format!(
                "your code used {} of CPU in the {} its calls took, most of it waiting ({:.0} % \
                 of a core, and it wanted a core {:.0} % of that time): it spins while it waits",
                millis(self.used.unwrap_or_default()),
                millis(wall),
                used * 100.0,
                wanted * 100.0,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over_a_second(used_ms: u64, runnable_ms: u64) -> Option<Failure> {
        let ms = |ms| Some(Duration::from_millis(ms));
        Cpu { used: ms(used_ms), runnable: ms(runnable_ms) }.spinning(Duration::from_secs(1))
    }

    #[test]
    fn a_spinner_is_told_by_what_it_got_or_by_what_it_wanted_on_a_busy_machine() {
        // Figures seen: a quiet machine, two CPU hogs beside the check, and a machine so loaded
        // that other checks failed.
        assert!(over_a_second(646, 1041).is_some(), "yields in a loop, quiet machine");
        assert!(over_a_second(308, 933).is_some(), "yields in a loop, beside two hogs");
        assert!(over_a_second(120, 900).is_some(), "yields in a loop, little of a core");
        assert!(over_a_second(8, 60).is_none(), "sleeps, quiet machine");
        assert!(over_a_second(19, 428).is_none(), "sleeps, overloaded machine");
        assert!(
            over_a_second(30, 750).is_none(),
            "sleeps, through many wake-ups on a crowded core"
        );
    }
}
