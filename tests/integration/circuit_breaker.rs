//! Lesson 5's judge, run in process against its solution, its starter, right answers in other
//! styles (a breaker written out in the handler, atomics, an actor that owns the state, a
//! middleware that judges by status, jittered Retry-After), and one known-wrong breaker per
//! class of mistake, each caught by the check written for it.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{StreamExt, stream};
use httplings::BreakerPolicy;
use httplings::fixtures::{Lifecycle, Upstream};
use httplings::lessons::circuit_breaker::App;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::circuit_breaker::{self, CHECKS};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::support::{assert_failed, assert_rejected, assert_rejected_named, report, seed};

#[path = "../../solutions/05_circuit_breaker.rs"]
mod solution;

#[path = "../../exercises/.starters/05_circuit_breaker.rs"]
mod starter;

const CLOSED: &str = CHECKS[0];
const OPENS: &str = CHECKS[1];
const COUNTS: &str = CHECKS[2];
const NOT_FOUND: &str = CHECKS[3];
const RETRY_AFTER: &str = CHECKS[4];
const ONE_TRIAL: &str = CHECKS[5];
const CLOSES: &str = CHECKS[6];
const REOPENS: &str = CHECKS[7];
const ABANDONED: &str = CHECKS[8];
const LIVE: &str = CHECKS[9];
const READY: &str = CHECKS[10];
const DRAINING: &str = CHECKS[11];
const NO_QUEUE: &str = CHECKS[12];

/// A known-wrong breaker: `RIGHT` with some fields changed.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        |inventory, policy, lifecycle| knobbed(inventory, policy, lifecycle, Behaviour { $($field: $value,)* ..RIGHT })
    };
}

/// How many apps this file's tests judge at once, all tests together: each walk mostly waits,
/// but its bursts are timed, a wrong app is walked three times, and the whole suite shares two
/// cores.
static AT_ONCE: Semaphore = Semaphore::const_new(3);

/// Judges every app, a few at a time, each with a fresh seed.
async fn judged(apps: Vec<App>) -> Vec<(Judged, u64)> {
    stream::iter(apps)
        .map(|app| async move {
            let _turn = AT_ONCE.acquire().await.expect("the gate is never closed");
            let seed = seed();
            (circuit_breaker::judge_in_process(app, seed).await, seed)
        })
        .buffered(usize::MAX)
        .collect()
        .await
}

/// A known-wrong breaker, the check that must catch it and what it must say; any other check
/// that fails must be one it could not judge (its walks went wrong first), or be in `also`.
struct Wrong {
    app: App,
    caught_by: &'static str,
    saying: &'static str,
    also: &'static [&'static str],
}

async fn each_is_caught(wrong: Vec<Wrong>) {
    let judged = judged(wrong.iter().map(|wrong| wrong.app).collect()).await;
    for (index, (wrong, (judged, seed))) in wrong.iter().zip(judged).enumerate() {
        let named = format!("wrong answer #{index} ");
        assert_rejected_named(&judged, seed, wrong.caught_by, wrong.saying, &named);
        let shown = report(&judged, seed);
        for check in judged.failed() {
            let failure = judged.failure(check).expect("a failed check has its failure");
            let unjudged = failure.summary.starts_with("not judged");
            assert!(
                check == wrong.caught_by || unjudged || wrong.also.contains(&check),
                "{check} failed too, for wrong answer #{index} ({:?}):\n{shown}",
                wrong.caught_by
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_and_the_starter_fails_usefully() {
    let judged = judged(vec![solution::app, starter::app]).await;
    let [(solution, solution_seed), (starter, seed)] = &judged[..] else { unreachable!() };
    assert_failed(solution, *solution_seed, CHECKS, &[]);
    assert_rejected(starter, *seed, OPENS, "reached the inventory");
    assert_rejected(starter, *seed, READY, "while draining: 200");
    for check in [CLOSED, LIVE, DRAINING, NO_QUEUE] {
        assert!(!starter.failed().contains(&check), "{check}\n{}", report(starter, *seed));
    }
}

/// The adversary round's right answers (lessons 4-5 review): the call in a spawned task with
/// epochs and jitter, and a Drop guard as the permit, without jitter.
#[path = "circuit_breaker/spawned.rs"]
mod spawned;

#[path = "circuit_breaker/drop_guard.rs"]
mod drop_guard;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adversarys_right_answers_pass() {
    for (judged, seed) in judged(vec![spawned::app, drop_guard::app]).await {
        assert_failed(&judged, seed, CHECKS, &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_breakers_in_other_styles_pass() {
    let right: Vec<App> =
        vec![with!(), with!(retry_after: jittered), atomic::app, actor::app, layered::app];
    for (judged, seed) in judged(right).await {
        assert_failed(&judged, seed, CHECKS, &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn each_mistake_in_counting_and_opening_is_caught() {
    each_is_caught(vec![
        // Concurrent failures that overwrite each other's count: the volley never opens it.
        Wrong {
            app: with!(count_read_before_call: true),
            caught_by: OPENS,
            saying: "reached the inventory",
            also: &[],
        },
        Wrong {
            app: with!(success_resets: false),
            caught_by: COUNTS,
            saying: "since the last success",
            also: &[],
        },
        // V's first trial is answered 404: counted as a failure, it reopens the breaker too.
        Wrong {
            app: with!(counts_404: true),
            caught_by: NOT_FOUND,
            saying: "failures or 404s",
            also: &[CLOSES],
        },
        Wrong {
            app: with!(calls_when_open: true),
            caught_by: OPENS,
            saying: "before the cooldown was over",
            also: &[],
        },
        Wrong {
            app: with!(trip_answers_503: true),
            caught_by: OPENS,
            saying: "for the request that opened the breaker",
            // In A's volley, the failure it takes for the one that opens may not be the last
            // back to the judge (CI of 5f90f9b): that 503 is then a closed breaker's.
            also: &[CLOSED],
        },
        Wrong {
            app: with!(opens_once: true),
            caught_by: OPENS,
            saying: "before the cooldown was over",
            also: &[],
        },
        Wrong {
            app: with!(late_outcomes_decide: true),
            caught_by: OPENS,
            saying: "a late success",
            // And the late success that comes back during B's first trial closes it.
            also: &[ONE_TRIAL],
        },
        // The third text-only attack: each passed 3 runs of 3 before.
        Wrong {
            app: with!(late_success_ends_trial: true),
            caught_by: ONE_TRIAL,
            saying: "while the trial",
            also: &[],
        },
        Wrong {
            app: with!(cooldown_from_admission: true),
            caught_by: RETRY_AFTER,
            saying: "Retry-After",
            also: &[OPENS],
        },
        // The adversary round (lessons 4-5 review): each passed every run before.
        // U's run that opens spans a timeout: the 503 right after it says a second too few (a
        // breaker with jitter may hide that, and then lets the request before the end through).
        Wrong {
            app: with!(cooldown_from_first_failure: true),
            caught_by: RETRY_AFTER,
            saying: "expected",
            also: &[OPENS],
        },
        Wrong {
            app: with!(late_failure_restarts_cooldown: true),
            caught_by: ONE_TRIAL,
            saying: "did not reach the inventory",
            also: &[],
        },
        Wrong { app: with!(serves_from_cache: true), caught_by: OPENS, saying: "200", also: &[] },
        Wrong { app: with!(cache_first: true), caught_by: CLOSED, saying: "200", also: &[] },
        // Held across the call, the lock makes A's request that opens wait for the slow failure
        // before it: that failure opens the breaker, and the request gets a 503 where the rules,
        // the failure still in flight, have one short of the threshold.
        Wrong {
            app: with!(lock_across_call: true),
            caught_by: NO_QUEUE,
            saying: "while another request waited on the inventory",
            also: &[COUNTS],
        },
        Wrong {
            app: with!(pads_every_call: Duration::from_millis(170)),
            caught_by: NO_QUEUE,
            saying: "it took",
            // A silence's 504 comes the pause late, past the timeout; J's slow success, padded,
            // may time out and count.
            also: &[CLOSED, OPENS, COUNTS],
        },
        // The adversary round (lesson 5's second review): a 503 a tenth of a second late passed
        // while "at once" meant within 150 ms; now it is timed against /health/live beside it.
        Wrong {
            app: with!(refusal_pause: Duration::from_millis(100)),
            caught_by: OPENS,
            saying: "sent beside it",
            // Its refusals beside a trial wait as long.
            also: &[ONE_TRIAL],
        },
        // The adversary round (lesson 5's second review): failures in a row forgotten after a
        // second of quiet passed; S's last failure before it opens comes 1.3-1.6 s after the
        // others.
        Wrong {
            app: with!(count_forgets_after: Some(Duration::from_secs(1))),
            caught_by: OPENS,
            saying: "before the cooldown was over",
            also: &[],
        },
        // The adversary round (lesson 5's second review): a failure let through in one closed
        // spell and back in the next (across open, half-open, closed) counted there; S's is
        // back after threshold - 1 fresh failures.
        Wrong {
            app: with!(stale_failure_counts_when_closed: true),
            caught_by: OPENS,
            saying: "and a late one",
            also: &[],
        },
        // The sixth attack round: the same for a success, which reset the new count; S's late
        // success comes back beside its late failure, and the failure after them must open it.
        Wrong {
            app: with!(stale_success_resets_when_closed: true),
            caught_by: OPENS,
            saying: "instance S",
            also: &[],
        },
        // The sixth attack round: an inventory client that waits three times the timeout; a
        // silence's 504 is timed on both sides now.
        Wrong {
            app: with!(timeout_share: 3.0),
            caught_by: CLOSED,
            saying: "was up long before",
            also: &[
                OPENS,
                COUNTS,
                RETRY_AFTER,
                ONE_TRIAL,
                CLOSES,
                REOPENS,
                ABANDONED,
                READY,
                DRAINING,
            ],
        },
        // The sixth attack round: a pause of 20 ms on every refusal, under the slack any one
        // refusal has; the median of a run's refusals shows it.
        Wrong {
            app: with!(refusal_pause: Duration::from_millis(20)),
            caught_by: OPENS,
            saying: "in the median of",
            // Its refusals beside a trial wait as long.
            also: &[ONE_TRIAL],
        },
        // The adversary round adv56b: failures forgotten after 2 s of quiet passed; Q's last
        // failure comes over 2 s after the others.
        Wrong {
            app: with!(count_forgets_after: Some(Duration::from_secs(2))),
            caught_by: OPENS,
            saying: "before the cooldown was over",
            also: &[],
        },
        // The adversary round adv56b: a trial let through 10-25 ms early passed; two requests
        // go a few milliseconds before each cooldown is over.
        Wrong {
            app: with!(trial_early: Duration::from_millis(25)),
            caught_by: OPENS,
            saying: "before the cooldown was over",
            also: &[REOPENS],
        },
    ])
    .await;
}

/// The adversary round on lesson 5 (twenty-sixth session): what counts as a failure, and when
/// the cooldown starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn each_mistake_in_what_counts_is_caught() {
    each_is_caught(vec![
        // J's client hangs up on a call one short of the threshold: counted, it opens.
        Wrong {
            app: with!(hang_up_fails: true),
            caught_by: COUNTS,
            saying: "hung up on GET /items/",
            also: &[],
        },
        // J's second hang-up, one short of the threshold again, taken for a success: the
        // failure after it does not open.
        Wrong {
            app: with!(hang_up_succeeds: true),
            caught_by: OPENS,
            saying: "before the cooldown was over",
            also: &[],
        },
        // J's success held 80 % of the timeout, one short of the threshold.
        Wrong {
            app: with!(slow_success_fails: Some(0.75)),
            caught_by: COUNTS,
            saying: "failures in a row",
            also: &[],
        },
        // Q asks nothing for 40-55 % of a cooldown after it opened: its trial is refused.
        Wrong {
            app: with!(opens_on_next_request: true),
            caught_by: ONE_TRIAL,
            saying: "after the cooldown was over",
            also: &[],
        },
        // Every run counts a 503 among the failures that open a breaker. W's failing trials
        // may be a 503 too: taken for a success, it closes the breaker, and the request after it
        // reaches the inventory within the new cooldown.
        Wrong {
            app: with!(ignores_503: true),
            caught_by: OPENS,
            saying: "reached the inventory",
            also: &[COUNTS, REOPENS],
        },
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn each_wrong_retry_after_is_caught() {
    each_is_caught(vec![
        // The whole cooldown, every time: right only at first.
        Wrong { app: with!(retry_after: |_, cooldown| Some(cooldown.as_millis().div_ceil(1000) as u64)), caught_by: RETRY_AFTER, saying: "Retry-After: 2", also: &[] },
        // Rounded down: too early, and then 0.
        Wrong { app: with!(retry_after: |left, _| Some(left.as_secs())), caught_by: RETRY_AFTER, saying: "Retry-After: ", also: &[] },
        Wrong { app: with!(retry_after: |_, _| None), caught_by: RETRY_AFTER, saying: "no Retry-After", also: &[] },
        // Counted down to the end of the first cooldown, after a failed trial opened it again.
        Wrong { app: with!(retry_after_from_first_opening: true), caught_by: RETRY_AFTER, saying: "Retry-After: 1", also: &[] },
        // The adversary round (lessons 4-5 review): jitter both ways, up to an eighth of a
        // cooldown short of what is left, passed 2 runs in 3 before V and U's edge bursts.
        Wrong { app: with!(retry_after: jittered_both_ways), caught_by: RETRY_AFTER, saying: "expected", also: &[] },
        // Jitter past half a cooldown: clients sent away for much longer than the breaker waits.
        Wrong { app: with!(retry_after: |left, cooldown| Some((left + cooldown * 2).as_millis().div_ceil(1000) as u64)), caught_by: RETRY_AFTER, saying: "expected", also: &[] },
        // The adversary round (lesson 5's second review): the whole cooldown while a trial is
        // under way passed, since no instance with a cooldown over a second was asked during its
        // trial; U's trial now fails slowly, with stragglers meanwhile.
        Wrong { app: with!(trial_says_cooldown: true), caught_by: RETRY_AFTER, saying: "Retry-After: 2", also: &[] },
        // The adversary round (lesson 5's third review): jitter up to a whole cooldown, not half.
        Wrong { app: with!(retry_after: jittered_whole_cooldown), caught_by: RETRY_AFTER, saying: "expected", also: &[] },
        // The adversary round (lesson 5's fourth review): jitter up to 0.6 of a cooldown, which
        // rounding hid on cooldowns of a second; J's, of seven seconds or so, shows it.
        Wrong { app: with!(retry_after: jittered_six_tenths), caught_by: RETRY_AFTER, saying: "expected", also: &[] },
        // The adversary round of 2026-12-07: capped at a day ("surely a misconfiguration"). J's
        // cooldown is a day and a half or more.
        Wrong { app: with!(retry_after: |left, _| Some(left.as_millis().div_ceil(1000).clamp(1, 86_400) as u64)), caught_by: RETRY_AFTER, saying: "Retry-After: 86400", also: &[] },
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn each_mistake_in_half_open_is_caught() {
    each_is_caught(vec![
        // This and the next two let a second request through while a trial is under way, the
        // trial that follows an abandoned one too: abandoned's walk may see it first.
        Wrong {
            app: with!(lets_the_crowd_through: true),
            caught_by: ONE_TRIAL,
            saying: "reached the inventory",
            also: &[ABANDONED],
        },
        Wrong {
            app: with!(trial_lease: |_| Some(Duration::from_millis(100))),
            caught_by: ONE_TRIAL,
            saying: "was under way",
            also: &[ABANDONED],
        },
        // A lease of a cooldown runs out while A's or B's trial is held: the request let through
        // reaches the inventory while the trial is under way, or, when the lease ran out close to
        // the trial's end, as it ended (a failed trial with a rival): either is one-trial's.
        Wrong {
            app: with!(trial_lease: Some),
            caught_by: ONE_TRIAL,
            saying: "reached the inventory",
            also: &[ABANDONED],
        },
        // Its successful trials open it for another cooldown: where a trial outlasts the
        // cooldown (B's), a request as it ends may meet either state (CI of 81e1d76 saw B's
        // reach the inventory as the rules had it open again).
        Wrong {
            app: with!(trial_closes: false),
            caught_by: CLOSES,
            saying: "since a trial closed the breaker",
            also: &[OPENS],
        },
        Wrong {
            app: with!(closes_with_count: true),
            caught_by: CLOSES,
            saying: "since a trial closed the breaker",
            also: &[],
        },
        // The adversary round (lessons 4-5 review): B's lingering failure, back halfway through
        // its first trial, reopens the breaker from then; the trial's own failure, stale, is
        // ignored, and the request half a cooldown after the trial reaches the inventory. When
        // a request comes just as such a trial ends, it reaches the inventory too: one-trial's.
        Wrong {
            app: with!(late_failure_fails_trial: true),
            caught_by: REOPENS,
            saying: "before the cooldown was over",
            also: &[ONE_TRIAL],
        },
        // The adversary round (lesson 5's fourth review): the same late failure opens the
        // breaker for a cooldown from then, and the trial, still under way, decides when it
        // ends; L's trial outlasts that cooldown, and a straggler after it got through.
        Wrong {
            app: with!(late_failure_reopens: true),
            caught_by: ONE_TRIAL,
            saying: "while the trial",
            also: &[REOPENS],
        },
        // The adversary round (lessons 4-5 review): no trial was ever answered 404 before.
        Wrong {
            app: with!(trial_404_fails: true),
            caught_by: CLOSES,
            saying: "since a trial closed the breaker",
            also: &[],
        },
        // This and every breaker below that a failed trial leaves open to the next request: a
        // request that comes as the trial ends reaches the inventory, which one-trial may see
        // first when a busy machine sends it at the trial's last moment.
        Wrong {
            app: with!(trial_reopens: false),
            caught_by: REOPENS,
            saying: "before the cooldown was over",
            also: &[ONE_TRIAL],
        },
        Wrong {
            app: with!(rearms_after_failed_trial: false),
            caught_by: REOPENS,
            saying: "did not reach the inventory",
            also: &[],
        },
        Wrong {
            app: with!(timeout_frees_trial: true),
            caught_by: REOPENS,
            saying: "before the cooldown was over",
            also: &[ONE_TRIAL],
        },
        // U's trial fails slowly too: right after it, the cooldown left, counted from the
        // trial's start, is under a second, and its 503 says 1 where 2 is right. B's trial
        // outlasts its cooldown: the request right after it fails reaches the inventory, which
        // one-trial may fault as sent as the trial ended (B's trial can now fail by a reset).
        Wrong {
            app: with!(cooldown_from_trial_start: true),
            caught_by: REOPENS,
            saying: "before the cooldown was over",
            also: &[RETRY_AFTER, ONE_TRIAL],
        },
        Wrong {
            app: with!(forgets_abandoned_trial: true),
            caught_by: ABANDONED,
            saying: "did not reach the inventory",
            also: &[],
        },
        Wrong {
            app: with!(abandoned_closes: true),
            caught_by: ABANDONED,
            saying: "once a trial was abandoned",
            also: &[],
        },
        // The adversary round (lesson 5's second review): refusals that wait 50 ms for the
        // trial, in case it ends, passed while "at once" meant within 150 ms.
        Wrong {
            app: with!(waits_for_trial: Duration::from_millis(50)),
            caught_by: ONE_TRIAL,
            saying: "sent beside it",
            also: &[],
        },
        // The eleventh attack round: 20 ms, under the slack any one refusal has; the median of
        // a run's refusals beside a trial shows it.
        Wrong {
            app: with!(waits_for_trial: Duration::from_millis(20)),
            caught_by: ONE_TRIAL,
            saying: "while a trial was on its way",
            also: &[],
        },
        // The adversary round adv56b: each passed every run before.
        // A failed trial reopening for 0.85 of a cooldown: the early requests before the next
        // trial reach the inventory. Right after U's failed trial, the cooldown it says is left
        // is 0.85 of one, under a second when U's is under 1.18 s: 1 where 2 is right.
        Wrong {
            app: with!(reopen_share: 0.85),
            caught_by: REOPENS,
            saying: "before the cooldown was over",
            also: &[RETRY_AFTER],
        },
        // B's, U's and W's trials fail by a status, a 200 that is no item and a reset, one each.
        Wrong {
            app: with!(trial_by_status: true),
            caught_by: REOPENS,
            saying: "before the cooldown was over",
            also: &[ONE_TRIAL],
        },
        Wrong {
            app: with!(reset_frees_trial: true),
            caught_by: REOPENS,
            saying: "before the cooldown was over",
            also: &[ONE_TRIAL],
        },
        // The adversary round (twenty-fourth session): a cooldown that doubles with each trial
        // failed in a row. W's trials fail three times in a row, and the third comes when a
        // single cooldown is over.
        Wrong {
            app: with!(cooldown_doubles_after_failed_trials: true),
            caught_by: REOPENS,
            saying: "did not reach the inventory",
            also: &[],
        },
        // W's trial is held a while before its client hangs up, and a request goes just before
        // a cooldown from the hang-up is over.
        Wrong {
            app: with!(abandoned_from_trial_start: true),
            caught_by: ABANDONED,
            saying: "before the cooldown was over",
            also: &[],
        },
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn each_mistake_in_health_and_draining_is_caught() {
    each_is_caught(vec![
        // The sixth attack round: a liveness probe that waits 100 ms, under the bound on any one
        // answer "at once"; the median of a run's probes shows it.
        Wrong {
            app: with!(live_pause: Duration::from_millis(100)),
            caught_by: LIVE,
            saying: "in the median of",
            also: &[ABANDONED],
        },
        Wrong {
            app: with!(live_asks_inventory: true),
            caught_by: LIVE,
            saying: "/health/live",
            also: &[],
        },
        Wrong {
            app: with!(ready_follows_breaker: true),
            caught_by: READY,
            saying: "not draining: 503",
            also: &[],
        },
        // The adversary round adv56b: readiness is asked during A's and U's trials.
        Wrong {
            app: with!(ready_fails_during_trial: true),
            caught_by: READY,
            saying: "not draining: 503",
            also: &[],
        },
        Wrong {
            app: with!(ready_drains: false),
            caught_by: READY,
            saying: "while draining: 200",
            also: &[],
        },
        Wrong {
            app: with!(draining_retry_after: "0"),
            caught_by: READY,
            saying: "at least 1",
            also: &[],
        },
        Wrong {
            app: with!(items_refuse_while_draining: true),
            caught_by: DRAINING,
            saying: "503",
            also: &[],
        },
    ])
    .await;
}

/// How a breaker behaves, piece by piece: [`RIGHT`], then one mistake per known-wrong answer.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Whether a success starts the count of failures again.
    success_resets: bool,
    /// Whether the inventory's 404 counts as a failure.
    counts_404: bool,
    /// Whether an open breaker still calls the inventory (and answers 503 all the same).
    calls_when_open: bool,
    /// The Retry-After of an open breaker, given the cooldown left and the whole cooldown.
    retry_after: fn(Duration, Duration) -> Option<u64>,
    /// Whether the request that opens the breaker is answered 503 instead of its 502 or 504.
    trip_answers_503: bool,
    /// Whether it can open only once in its life.
    opens_once: bool,
    /// Whether every request after the cooldown goes through, not one trial.
    lets_the_crowd_through: bool,
    /// How long a trial may run, given the cooldown, before another request becomes one.
    trial_lease: fn(Duration) -> Option<Duration>,
    /// Whether a trial that succeeds closes the breaker.
    trial_closes: bool,
    /// Whether it closes with the count of failures where it was, one short of opening.
    closes_with_count: bool,
    /// Whether a trial that fails starts a new cooldown (or leaves the old, spent one).
    trial_reopens: bool,
    /// Whether, once a trial failed, another is ever let through.
    rearms_after_failed_trial: bool,
    /// Whether a trial that times out frees the breaker for the next request, as if abandoned.
    timeout_frees_trial: bool,
    /// Whether a failed trial's new cooldown counts from when the trial began.
    cooldown_from_trial_start: bool,
    /// Whether a trial whose request was cancelled is forgotten, leaving the breaker half-open.
    forgets_abandoned_trial: bool,
    /// Whether a trial whose request was cancelled closes the breaker.
    abandoned_closes: bool,
    /// Whether an outcome that comes back after the breaker opened still counts (a late
    /// success closes it).
    late_outcomes_decide: bool,
    /// Whether a late success that comes back during a trial closes the breaker.
    late_success_ends_trial: bool,
    /// Whether the cooldown counts from when the failure that opens was let through.
    cooldown_from_admission: bool,
    /// Whether an open breaker answers items it has served before from a cache.
    serves_from_cache: bool,
    /// Whether a closed breaker answers items it has served before from a cache, unasked.
    cache_first: bool,
    /// Whether Retry-After counts down to the end of the first cooldown, whatever opened since.
    retry_after_from_first_opening: bool,
    /// Whether /health/live asks the inventory whether it is up.
    live_asks_inventory: bool,
    /// Whether /health/ready answers 503 while the breaker is open.
    ready_follows_breaker: bool,
    /// Whether /health/ready answers 503 while draining.
    ready_drains: bool,
    /// The Retry-After of /health/ready while draining.
    draining_retry_after: &'static str,
    /// Whether /items answers 503 while draining, even to a request already under way.
    items_refuse_while_draining: bool,
    /// Whether one lock is held around the whole call to the inventory.
    lock_across_call: bool,
    /// How long every request let through waits before it calls the inventory.
    pads_every_call: Duration,
    /// Whether the cooldown counts from the first failure of the run that opened it.
    cooldown_from_first_failure: bool,
    /// Whether a trial the inventory answers 404 counts as a failed one (only an item closes).
    trial_404_fails: bool,
    /// Whether a late failure, let through before the breaker opened, starts its cooldown again.
    late_failure_restarts_cooldown: bool,
    /// Whether a late failure that comes back while a trial is under way fails the trial.
    late_failure_fails_trial: bool,
    /// Whether such a late failure opens the breaker again, for a cooldown from then, while the
    /// trial still decides what becomes of it when it ends.
    late_failure_reopens: bool,
    /// Whether a failure writes back the count read before its call, plus one (concurrent
    /// failures overwrite each other).
    count_read_before_call: bool,
    /// How long every refusal waits before it is answered.
    refusal_pause: Duration,
    /// How long a request that finds a trial under way waits for it before it asks again.
    waits_for_trial: Duration,
    /// Whether a request refused while a trial is under way is told the whole cooldown.
    trial_says_cooldown: bool,
    /// How long without a failure makes the count forget the failures before.
    count_forgets_after: Option<Duration>,
    /// Whether a failure let through before the breaker opened counts once it has closed again.
    stale_failure_counts_when_closed: bool,
    /// Whether a success let through before the breaker opened resets the count once it has
    /// closed again.
    stale_success_resets_when_closed: bool,
    /// The inventory client's timeout, as a share of `inventory.timeout()`.
    timeout_share: f64,
    /// How long `/health/live` waits before it answers.
    live_pause: Duration,
    /// How long before the cooldown is over the trial is let through.
    trial_early: Duration,
    /// The share of a cooldown a failed trial opens the breaker for.
    reopen_share: f64,
    /// Whether a trial is judged by the inventory's status alone (a 200 that is no item closes).
    trial_by_status: bool,
    /// Whether a trial whose connection is reset frees the breaker for the next request, as if
    /// abandoned.
    reset_frees_trial: bool,
    /// Whether a trial whose client hangs up opens the breaker until a cooldown after its start.
    abandoned_from_trial_start: bool,
    /// Whether /health/ready answers 503 while a trial is under way.
    ready_fails_during_trial: bool,
    /// Whether each trial failed in a row doubles the cooldown after it.
    cooldown_doubles_after_failed_trials: bool,
    /// Whether a call dropped while closed (its client hung up) counts as a failure.
    hang_up_fails: bool,
    /// Whether it counts as a success, and starts the count again.
    hang_up_succeeds: bool,
    /// A share of the timeout past which a success counts as a failure ("too slow").
    slow_success_fails: Option<f64>,
    /// Whether the breaker opens only when the next request comes, its cooldown from then.
    opens_on_next_request: bool,
    /// Whether the inventory's own 503 is left out of the count (answered 502 all the same).
    ignores_503: bool,
}

const RIGHT: Behaviour = Behaviour {
    success_resets: true,
    counts_404: false,
    calls_when_open: false,
    retry_after: |left, _| Some(left.as_millis().div_ceil(1000).max(1) as u64),
    trip_answers_503: false,
    opens_once: false,
    lets_the_crowd_through: false,
    trial_lease: |_| None,
    trial_closes: true,
    closes_with_count: false,
    trial_reopens: true,
    rearms_after_failed_trial: true,
    timeout_frees_trial: false,
    cooldown_from_trial_start: false,
    forgets_abandoned_trial: false,
    abandoned_closes: false,
    late_outcomes_decide: false,
    late_success_ends_trial: false,
    cooldown_from_admission: false,
    serves_from_cache: false,
    cache_first: false,
    retry_after_from_first_opening: false,
    live_asks_inventory: false,
    ready_follows_breaker: false,
    ready_drains: true,
    draining_retry_after: "5",
    items_refuse_while_draining: false,
    lock_across_call: false,
    pads_every_call: Duration::ZERO,
    cooldown_from_first_failure: false,
    trial_404_fails: false,
    late_failure_restarts_cooldown: false,
    late_failure_fails_trial: false,
    late_failure_reopens: false,
    count_read_before_call: false,
    refusal_pause: Duration::ZERO,
    waits_for_trial: Duration::ZERO,
    trial_says_cooldown: false,
    count_forgets_after: None,
    stale_failure_counts_when_closed: false,
    stale_success_resets_when_closed: false,
    timeout_share: 1.0,
    live_pause: Duration::ZERO,
    trial_early: Duration::ZERO,
    reopen_share: 1.0,
    trial_by_status: false,
    reset_frees_trial: false,
    abandoned_from_trial_start: false,
    ready_fails_during_trial: false,
    cooldown_doubles_after_failed_trials: false,
    hang_up_fails: false,
    hang_up_succeeds: false,
    slow_success_fails: None,
    opens_on_next_request: false,
    ignores_503: false,
};

/// The cooldown left, plus anything up to half a cooldown, rounded up: the lesson's jitter.
fn jittered(left: Duration, cooldown: Duration) -> Option<u64> {
    let share = RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64;
    Some((left + (cooldown / 2).mul_f64(share)).as_millis().div_ceil(1000).max(1) as u64)
}

/// The cooldown left, plus anything up to a whole cooldown, rounded up: twice the jitter asked.
fn jittered_whole_cooldown(left: Duration, cooldown: Duration) -> Option<u64> {
    let share = RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64;
    Some((left + cooldown.mul_f64(share)).as_millis().div_ceil(1000).max(1) as u64)
}

/// The cooldown left, plus anything up to 0.6 of a cooldown, rounded up: a little past the
/// jitter asked.
fn jittered_six_tenths(left: Duration, cooldown: Duration) -> Option<u64> {
    let share = RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64;
    Some((left + cooldown.mul_f64(0.6 * share)).as_millis().div_ceil(1000).max(1) as u64)
}

/// What is left, give or take an eighth of a cooldown, rounded up: short of it half the time.
fn jittered_both_ways(left: Duration, cooldown: Duration) -> Option<u64> {
    let share = RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64;
    let jittered = (left + (cooldown / 4).mul_f64(share)).saturating_sub(cooldown / 8);
    Some(jittered.as_millis().div_ceil(1000).max(1) as u64)
}

#[derive(Default)]
struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
    /// When the trial under way started.
    trial: Option<Instant>,
    opened: u32,
    /// When the first cooldown ended.
    first_until: Option<Instant>,
    /// When the first failure of the current run in a row was recorded.
    first_failure: Option<Instant>,
    /// When the last failure of the current run in a row was recorded.
    last_failure: Option<Instant>,
    /// Counts changes of state: an outcome from an older epoch is late.
    epoch: u32,
    /// Trials failed in a row since the last that succeeded.
    failed_trials: u32,
    /// Whether the threshold was reached and the next request opens it.
    opens_next: bool,
    cache: HashMap<u32, Value>,
}

#[derive(Clone)]
struct Knobbed {
    inventory: Upstream,
    client: reqwest::Client,
    policy: BreakerPolicy,
    lifecycle: Lifecycle,
    circuit: Arc<Mutex<Circuit>>,
    /// Held across the whole call when the behaviour says so.
    queue: Arc<tokio::sync::Mutex<()>>,
    behaviour: Behaviour,
}

/// A breaker of `behaviour`: a struct behind a mutex, with the decisions spelled out in the
/// handler rather than in a type of their own.
fn knobbed(
    inventory: Upstream,
    policy: BreakerPolicy,
    lifecycle: Lifecycle,
    behaviour: Behaviour,
) -> Router {
    let timeout = inventory.timeout().mul_f64(behaviour.timeout_share);
    let client = reqwest::Client::builder().timeout(timeout).build().unwrap();
    let state = Knobbed {
        inventory,
        client,
        policy,
        lifecycle,
        circuit: Arc::default(),
        queue: Arc::default(),
        behaviour,
    };
    Router::new()
        .route("/items/{id}", get(knobbed_item))
        .route("/health/live", get(knobbed_live))
        .route("/health/ready", get(knobbed_ready))
        .with_state(state)
}

/// A call let through while closed, counted as a failure should its request be dropped before
/// it finished (when `armed`).
struct ClosedGuard {
    /// The call, and whether its hang-up is recorded as a failure (or else as a success).
    armed: Option<(Knobbed, u32, u32, Instant, bool)>,
}

impl Drop for ClosedGuard {
    fn drop(&mut self) {
        if let Some((service, epoch, before, let_through, failed)) = self.armed.take() {
            record(&service, (None, epoch, before, let_through), failed, false);
        }
    }
}

/// What becomes of a trial whose request is dropped before it finished.
struct TrialGuard {
    circuit: Option<Arc<Mutex<Circuit>>>,
    behaviour: Behaviour,
    cooldown: Duration,
}

impl Drop for TrialGuard {
    fn drop(&mut self) {
        let Some(circuit) = &self.circuit else { return };
        let mut circuit = circuit.lock().unwrap();
        if self.behaviour.abandoned_closes {
            circuit.open_until = None;
            circuit.failures = 0;
            circuit.trial = None;
        } else if self.behaviour.abandoned_from_trial_start {
            circuit.open_until = circuit.trial.take().map(|started| started + self.cooldown);
        } else if !self.behaviour.forgets_abandoned_trial {
            circuit.trial = None;
        }
    }
}

enum Admitted {
    Call { trial: Option<Instant>, epoch: u32 },
    Refused(Duration),
}

fn admit(service: &Knobbed) -> Admitted {
    let behaviour = service.behaviour;
    let mut circuit = service.circuit.lock().unwrap();
    let now = Instant::now();
    let epoch = circuit.epoch;
    let lease = (behaviour.trial_lease)(service.policy.cooldown);
    let lease_over = circuit.trial.zip(lease).is_some_and(|(since, lease)| now >= since + lease);
    if std::mem::take(&mut circuit.opens_next) {
        circuit.open_until = Some(now + service.policy.cooldown);
        circuit.epoch += 1;
    }
    match circuit.open_until {
        None => Admitted::Call { trial: None, epoch },
        Some(until) if now < until && behaviour.retry_after_from_first_opening => {
            Admitted::Refused(circuit.first_until.unwrap_or(until).saturating_duration_since(now))
        }
        Some(until) if now + behaviour.trial_early < until => Admitted::Refused(until - now),
        Some(_) if behaviour.lets_the_crowd_through => Admitted::Call { trial: Some(now), epoch },
        Some(_) if circuit.trial.is_some() && !lease_over => {
            let cooldown = service.policy.cooldown;
            Admitted::Refused(if behaviour.trial_says_cooldown { cooldown } else { Duration::ZERO })
        }
        Some(_) => {
            circuit.trial = Some(now);
            Admitted::Call { trial: Some(now), epoch }
        }
    }
}

async fn knobbed_item(State(service): State<Knobbed>, Path(id): Path<u32>) -> Response {
    let behaviour = service.behaviour;
    let cached = service.circuit.lock().unwrap().cache.get(&id).cloned();
    if let Some(item) = cached.filter(|_| behaviour.cache_first) {
        return Json(item).into_response();
    }
    let _queue = if behaviour.lock_across_call { Some(service.queue.lock().await) } else { None };
    let mut admitted = admit(&service);
    let waits_for_trial = !behaviour.waits_for_trial.is_zero();
    if waits_for_trial && matches!(admitted, Admitted::Refused(left) if left.is_zero()) {
        tokio::time::sleep(behaviour.waits_for_trial).await;
        admitted = admit(&service);
    }
    let (trial, epoch) = match admitted {
        Admitted::Call { trial, epoch } => (trial, epoch),
        Admitted::Refused(left) => {
            if !behaviour.refusal_pause.is_zero() {
                tokio::time::sleep(behaviour.refusal_pause).await;
            }
            if behaviour.calls_when_open {
                let _ = fetch(&service, id).await;
            }
            let cached = service.circuit.lock().unwrap().cache.get(&id).cloned();
            if let Some(item) = cached.filter(|_| behaviour.serves_from_cache) {
                return Json(item).into_response();
            }
            return unavailable((behaviour.retry_after)(left, service.policy.cooldown));
        }
    };
    let circuit = trial.map(|_| Arc::clone(&service.circuit));
    let mut guard = TrialGuard { circuit, behaviour, cooldown: service.policy.cooldown };
    let before = service.circuit.lock().unwrap().failures;
    let let_through = Instant::now();
    let counts_hang_up = (behaviour.hang_up_fails || behaviour.hang_up_succeeds) && trial.is_none();
    let mut closed_guard = ClosedGuard {
        armed: counts_hang_up
            .then(|| (service.clone(), epoch, before, let_through, behaviour.hang_up_fails)),
    };
    tokio::time::sleep(behaviour.pads_every_call).await;
    let (result, failure) = match fetch_why(&service, id).await {
        Ok(item) => (Ok(item), None),
        Err((status, failure)) => (Err(status), Some(failure)),
    };
    closed_guard.armed = None;
    let slow = behaviour
        .slow_success_fails
        .is_some_and(|share| let_through.elapsed() > service.inventory.timeout().mul_f64(share));
    if trial.is_some() && behaviour.reset_frees_trial && failure == Some(Failure::Reset) {
        // Dropped as if its client had hung up: the next request is the trial.
        return error(StatusCode::BAD_GATEWAY, "Bad Gateway");
    }
    guard.circuit = None;
    let failed = match result {
        Err(StatusCode::NOT_FOUND) => {
            behaviour.counts_404 || (trial.is_some() && behaviour.trial_404_fails)
        }
        _ if trial.is_some() && behaviour.trial_by_status => {
            result.is_err() && failure != Some(Failure::NoItem)
        }
        _ if behaviour.ignores_503 && failure == Some(Failure::Unavailable) => false,
        Ok(_) => slow,
        _ => result.is_err(),
    };
    let timed_out = result == Err(StatusCode::GATEWAY_TIMEOUT);
    let tripped = record(&service, (trial, epoch, before, let_through), failed, timed_out);
    if let Ok(item) = &result {
        service.circuit.lock().unwrap().cache.insert(id, item.clone());
    }
    if behaviour.items_refuse_while_draining && service.lifecycle.is_draining() {
        return unavailable(Some(1));
    }
    if tripped && behaviour.trip_answers_503 {
        return unavailable(Some(1));
    }
    match result {
        Ok(item) => Json(item).into_response(),
        Err(status) => error(status, status.canonical_reason().unwrap_or_default()),
    }
}

/// Records how a call went; whether it opened the breaker.
/// `admitted`: the trial's start (if it was one), the epoch and the count of failures when the
/// call was let through, and when.
fn record(
    service: &Knobbed,
    admitted: (Option<Instant>, u32, u32, Instant),
    failed: bool,
    timed_out: bool,
) -> bool {
    let (trial, epoch, before, let_through) = admitted;
    let (behaviour, policy) = (service.behaviour, service.policy);
    let mut circuit = service.circuit.lock().unwrap();
    let now = Instant::now();
    let closed = circuit.open_until.is_none();
    let stale = if failed {
        behaviour.stale_failure_counts_when_closed
    } else {
        behaviour.stale_success_resets_when_closed
    };
    let counted_anyway = stale && trial.is_none() && closed;
    if circuit.epoch != epoch && !behaviour.late_outcomes_decide && !counted_anyway {
        let open = circuit.open_until.is_some() && circuit.trial.is_none();
        if failed && open && behaviour.late_failure_restarts_cooldown {
            circuit.open_until = Some(now + policy.cooldown);
        }
        if failed && circuit.trial.is_some() && behaviour.late_failure_fails_trial {
            circuit.trial = None;
            circuit.open_until = Some(now + policy.cooldown);
            circuit.epoch += 1;
        }
        if failed && circuit.trial.is_some() && behaviour.late_failure_reopens {
            circuit.trial = None;
            circuit.open_until = Some(now + policy.cooldown);
        }
        if !failed && circuit.trial.is_some() && behaviour.late_success_ends_trial {
            circuit.trial = None;
            circuit.open_until = None;
            circuit.failures = 0;
            circuit.epoch += 1;
        }
        return false;
    }
    match (failed, trial) {
        (false, Some(_)) => {
            circuit.trial = None;
            circuit.failed_trials = 0;
            if behaviour.trial_closes {
                let failures =
                    if behaviour.closes_with_count { policy.failure_threshold - 1 } else { 0 };
                circuit.failures = failures;
                circuit.open_until = None;
            } else {
                circuit.open_until = Some(now + policy.cooldown);
            }
            circuit.epoch += 1;
        }
        (true, Some(started)) => {
            // A breaker that never re-arms keeps the failed trial as if still under way.
            if behaviour.rearms_after_failed_trial {
                circuit.trial = None;
            }
            if timed_out && behaviour.timeout_frees_trial {
                return false;
            }
            let from = if behaviour.cooldown_from_trial_start { started } else { now };
            let lengthened = if behaviour.cooldown_doubles_after_failed_trials {
                2_u32.pow(circuit.failed_trials.min(4))
            } else {
                1
            };
            circuit.failed_trials += 1;
            if behaviour.trial_reopens {
                let cooldown = policy.cooldown.mul_f64(behaviour.reopen_share) * lengthened;
                circuit.open_until = Some(from + cooldown);
            }
            circuit.epoch += 1;
        }
        (false, None) if circuit.open_until.is_some() => {
            // Only a late outcome comes here, and only when late outcomes decide.
            circuit.open_until = None;
            circuit.failures = 0;
            circuit.epoch += 1;
        }
        (false, None) if behaviour.success_resets => {
            circuit.failures = 0;
            circuit.first_failure = None;
        }
        (false, None) => {}
        (true, None) => {
            let forgets = behaviour.count_forgets_after.zip(circuit.last_failure);
            if forgets.is_some_and(|(after, last)| now - last > after) {
                circuit.failures = 0;
            }
            circuit.last_failure = Some(now);
            circuit.failures =
                if behaviour.count_read_before_call { before + 1 } else { circuit.failures + 1 };
            let first_failure = *circuit.first_failure.get_or_insert(now);
            let may_open = circuit.opened == 0 || !behaviour.opens_once;
            if circuit.failures >= policy.failure_threshold
                && circuit.open_until.is_none()
                && may_open
            {
                let from = match behaviour {
                    _ if behaviour.cooldown_from_first_failure => first_failure,
                    _ if behaviour.cooldown_from_admission => let_through,
                    _ => now,
                };
                if behaviour.opens_on_next_request {
                    circuit.opens_next = true;
                } else {
                    circuit.open_until = Some(from + policy.cooldown);
                }
                circuit.first_failure = None;
                circuit.first_until = circuit.first_until.or(circuit.open_until);
                circuit.opened += 1;
                circuit.epoch += 1;
                return true;
            }
        }
    }
    false
}

/// The item, or the status that says why not.
async fn fetch(service: &Knobbed, id: u32) -> Result<Value, StatusCode> {
    fetch_why(service, id).await.map_err(|(status, _)| status)
}

/// How a call to the inventory failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// No answer in time.
    Timeout,
    /// No answer: refused or reset.
    Reset,
    /// A status other than 200.
    Status,
    /// A 200 that is not the item asked for.
    NoItem,
    /// The inventory's own 503.
    Unavailable,
}

/// The item, or the status that says why not and how it failed.
async fn fetch_why(service: &Knobbed, id: u32) -> Result<Value, (StatusCode, Failure)> {
    let response =
        service.client.get(service.inventory.url(&format!("/items/{id}"))).send().await.map_err(
            |error| {
                if error.is_timeout() {
                    (StatusCode::GATEWAY_TIMEOUT, Failure::Timeout)
                } else {
                    (StatusCode::BAD_GATEWAY, Failure::Reset)
                }
            },
        )?;
    let no_item = (StatusCode::BAD_GATEWAY, Failure::NoItem);
    let body: Value = match response.status() {
        StatusCode::OK => response.json().await.map_err(|_| no_item)?,
        StatusCode::NOT_FOUND => return Err((StatusCode::NOT_FOUND, Failure::Status)),
        StatusCode::SERVICE_UNAVAILABLE => {
            return Err((StatusCode::BAD_GATEWAY, Failure::Unavailable));
        }
        _ => return Err((StatusCode::BAD_GATEWAY, Failure::Status)),
    };
    if body["id"] != id {
        return Err(no_item);
    }
    Ok(body)
}

async fn knobbed_live(State(service): State<Knobbed>) -> StatusCode {
    tokio::time::sleep(service.behaviour.live_pause).await;
    if service.behaviour.live_asks_inventory && fetch(&service, 1).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    StatusCode::OK
}

async fn knobbed_ready(State(service): State<Knobbed>) -> Response {
    let (open, trial) = {
        let circuit = service.circuit.lock().unwrap();
        (circuit.open_until.is_some(), circuit.trial.is_some())
    };
    let behaviour = service.behaviour;
    let draining = behaviour.ready_drains && service.lifecycle.is_draining();
    let testing = behaviour.ready_fails_during_trial && trial;
    if draining || (behaviour.ready_follows_breaker && open) || testing {
        let retry_after = [(header::RETRY_AFTER, behaviour.draining_retry_after)];
        return (StatusCode::SERVICE_UNAVAILABLE, retry_after).into_response();
    }
    StatusCode::OK.into_response()
}

fn error(status: StatusCode, code: &str) -> Response {
    let code = code.to_ascii_uppercase().replace(' ', "_");
    (status, Json(json!({"error": {"code": code, "message": "no item this time"}}))).into_response()
}

fn unavailable(retry_after: Option<u64>) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A right breaker in another style: lock-free atomics, the half-open moment decided lazily by
/// whoever arrives first after the cooldown, RFC 9457 problem details, and an HTTP-date as the
/// draining instance's Retry-After.
mod atomic {
    use super::*;

    /// `opened_at` holds this for a closed breaker.
    const CLOSED: u64 = u64::MAX;

    struct Breaker {
        policy: BreakerPolicy,
        epoch: Instant,
        failures: AtomicU32,
        /// Milliseconds since `epoch` when it opened, or [`CLOSED`].
        opened_at: AtomicU64,
        trial: AtomicBool,
        /// How many times a trial closed it: a call let through before the last time is late.
        closings: AtomicU32,
    }

    /// A call let through: the trial, or a call of the `n`th closed spell.
    #[derive(Clone, Copy)]
    enum Call {
        Trial,
        Closed(u32),
    }

    #[derive(Clone)]
    struct Service {
        inventory: Upstream,
        client: reqwest::Client,
        breaker: Arc<Breaker>,
        lifecycle: Lifecycle,
    }

    pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
        let client = reqwest::Client::builder().timeout(inventory.timeout()).build().unwrap();
        let breaker = Breaker {
            policy,
            epoch: Instant::now(),
            failures: AtomicU32::new(0),
            opened_at: AtomicU64::new(CLOSED),
            trial: AtomicBool::new(false),
            closings: AtomicU32::new(0),
        };
        Router::new()
            .route("/items/{id}", get(item))
            .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))
            .route("/health/ready", get(ready))
            .with_state(Service { inventory, client, breaker: Arc::new(breaker), lifecycle })
    }

    impl Breaker {
        fn now(&self) -> u64 {
            self.epoch.elapsed().as_millis() as u64
        }

        /// The call let through, or the milliseconds left.
        fn admit(&self) -> Result<Call, u64> {
            let opened_at = self.opened_at.load(Ordering::Acquire);
            if opened_at == CLOSED {
                return Ok(Call::Closed(self.closings.load(Ordering::Acquire)));
            }
            let ends = opened_at + self.policy.cooldown.as_millis() as u64 + 1;
            let now = self.now();
            if now < ends {
                return Err(ends - now);
            }
            match self.trial.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => Ok(Call::Trial),
                Err(_) => Err(0),
            }
        }

        /// Whether a call of closed spell `spell` is of the current one, still closed.
        fn current(&self, spell: u32) -> bool {
            self.opened_at.load(Ordering::Acquire) == CLOSED
                && self.closings.load(Ordering::Acquire) == spell
        }

        fn succeeded(&self, call: Call) {
            match call {
                Call::Trial => {
                    self.failures.store(0, Ordering::Release);
                    self.closings.fetch_add(1, Ordering::AcqRel);
                    self.opened_at.store(CLOSED, Ordering::Release);
                    self.trial.store(false, Ordering::Release);
                }
                Call::Closed(spell) if self.current(spell) => {
                    self.failures.store(0, Ordering::Release);
                }
                Call::Closed(_) => {}
            }
        }

        fn failed(&self, call: Call) {
            if let Call::Trial = call {
                self.opened_at.store(self.now(), Ordering::Release);
                self.trial.store(false, Ordering::Release);
            } else if let Call::Closed(spell) = call
                && self.current(spell)
                && self.failures.fetch_add(1, Ordering::AcqRel) + 1 >= self.policy.failure_threshold
            {
                self.failures.store(0, Ordering::Release);
                let _ = self.opened_at.compare_exchange(
                    CLOSED,
                    self.now(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
    }

    /// A trial dropped before it finished counts as a failed one: open for a cooldown again.
    struct Abandoned<'a>(Option<&'a Breaker>);

    impl Drop for Abandoned<'_> {
        fn drop(&mut self) {
            if let Some(breaker) = self.0 {
                breaker.failed(Call::Trial);
            }
        }
    }

    async fn item(State(service): State<Service>, Path(id): Path<u32>) -> Response {
        let call = match service.breaker.admit() {
            Ok(call) => call,
            Err(left_ms) => {
                let seconds = left_ms.div_ceil(1000).max(1);
                let mut response = problem(StatusCode::SERVICE_UNAVAILABLE);
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                return response;
            }
        };
        let trial = matches!(call, Call::Trial);
        let mut abandoned = Abandoned(trial.then_some(&*service.breaker));
        let url = service.inventory.url(&format!("/items/{id}"));
        let answer = match service.client.get(url).send().await {
            Ok(response) if response.status() == StatusCode::OK => {
                response.json::<Value>().await.map_err(|_| StatusCode::BAD_GATEWAY)
            }
            Ok(response) if response.status() == StatusCode::NOT_FOUND => {
                Err(StatusCode::NOT_FOUND)
            }
            Ok(_) => Err(StatusCode::BAD_GATEWAY),
            Err(error) if error.is_timeout() => Err(StatusCode::GATEWAY_TIMEOUT),
            Err(_) => Err(StatusCode::BAD_GATEWAY),
        };
        abandoned.0 = None;
        match answer {
            Ok(item) if item["id"] == id => {
                service.breaker.succeeded(call);
                Json(item).into_response()
            }
            Ok(_) => {
                service.breaker.failed(call);
                problem(StatusCode::BAD_GATEWAY)
            }
            Err(StatusCode::NOT_FOUND) => {
                service.breaker.succeeded(call);
                problem(StatusCode::NOT_FOUND)
            }
            Err(status) => {
                service.breaker.failed(call);
                problem(status)
            }
        }
    }

    async fn ready(State(service): State<Service>) -> Response {
        if !service.lifecycle.is_draining() {
            return StatusCode::NO_CONTENT.into_response();
        }
        let back = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, back)]).into_response()
    }

    pub(super) fn problem(status: StatusCode) -> Response {
        let body = json!({"type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16()});
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string())
            .into_response()
    }
}

/// A right breaker in another style: an actor. One task owns the breaker's state; handlers ask
/// it by message. Each call to the inventory runs in a task of its own, so a client that hangs
/// up never takes the outcome with it: the trial finishes whatever its client does.
mod actor {
    use tokio::sync::{mpsc, oneshot};

    use super::*;

    enum Message {
        /// May a request call? `Ok((is_trial, epoch))`, or how long until one may.
        Admit(oneshot::Sender<Result<(bool, u32), Duration>>),
        Done {
            trial: bool,
            epoch: u32,
            succeeded: bool,
        },
    }

    #[derive(Clone)]
    struct Service {
        inventory: Upstream,
        client: reqwest::Client,
        breaker: mpsc::UnboundedSender<Message>,
        lifecycle: Lifecycle,
        cooldown: Duration,
    }

    pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
        let client = reqwest::Client::builder().timeout(inventory.timeout()).build().unwrap();
        let (breaker, messages) = mpsc::unbounded_channel();
        tokio::spawn(run(policy, messages));
        let cooldown = policy.cooldown;
        let service = Service { inventory, client, breaker, lifecycle, cooldown };
        Router::new()
            .route("/items/{id}", get(item))
            .route("/health/live", get(|| async { "alive" }))
            .route("/health/ready", get(ready))
            .with_state(service)
    }

    /// The breaker: closed with a count, open until an instant, or half-open.
    async fn run(policy: BreakerPolicy, mut messages: mpsc::UnboundedReceiver<Message>) {
        let (mut failures, mut open_until, mut half_open, mut epoch) = (0, None, false, 0);
        while let Some(message) = messages.recv().await {
            let now = Instant::now();
            match message {
                Message::Admit(reply) => {
                    let admitted = match open_until {
                        None => Ok((false, epoch)),
                        Some(until) if now < until => Err(until - now),
                        Some(_) if half_open => Err(Duration::ZERO),
                        Some(_) => {
                            half_open = true;
                            Ok((true, epoch))
                        }
                    };
                    let _ = reply.send(admitted);
                }
                Message::Done { trial: true, succeeded, .. } => {
                    half_open = false;
                    epoch += 1;
                    failures = 0;
                    open_until = (!succeeded).then(|| now + policy.cooldown);
                }
                Message::Done { epoch: then, .. } if then != epoch => {}
                Message::Done { succeeded: true, .. } => failures = 0,
                Message::Done { succeeded: false, .. } => {
                    failures += 1;
                    if failures >= policy.failure_threshold {
                        open_until = Some(now + policy.cooldown);
                        epoch += 1;
                    }
                }
            }
        }
    }

    async fn item(State(service): State<Service>, Path(id): Path<u32>) -> Response {
        let (reply, admitted) = oneshot::channel();
        let _ = service.breaker.send(Message::Admit(reply));
        let (trial, epoch) = match admitted.await {
            Ok(Ok(admitted)) => admitted,
            Ok(Err(left)) => {
                let seconds = jittered(left, service.cooldown).unwrap_or(1);
                return unavailable(Some(seconds));
            }
            Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error"),
        };
        let calling = service.clone();
        let call = tokio::spawn(async move {
            let url = calling.inventory.url(&format!("/items/{id}"));
            let result = match calling.client.get(url).send().await {
                Ok(response) if response.status() == StatusCode::OK => {
                    match response.json::<Value>().await {
                        Ok(item) if item["id"] == id => Ok(item),
                        _ => Err(StatusCode::BAD_GATEWAY),
                    }
                }
                Ok(response) if response.status() == StatusCode::NOT_FOUND => {
                    Err(StatusCode::NOT_FOUND)
                }
                Ok(_) => Err(StatusCode::BAD_GATEWAY),
                Err(error) if error.is_timeout() => Err(StatusCode::GATEWAY_TIMEOUT),
                Err(_) => Err(StatusCode::BAD_GATEWAY),
            };
            let succeeded = matches!(result, Ok(_) | Err(StatusCode::NOT_FOUND));
            let _ = calling.breaker.send(Message::Done { trial, epoch, succeeded });
            result
        });
        match call.await {
            Ok(Ok(item)) => Json(item).into_response(),
            Ok(Err(status)) => error(status, status.canonical_reason().unwrap_or_default()),
            Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error"),
        }
    }

    async fn ready(State(service): State<Service>) -> Response {
        if service.lifecycle.is_draining() {
            let headers = [(header::RETRY_AFTER, "10"), (header::CONNECTION, "close")];
            return (StatusCode::SERVICE_UNAVAILABLE, headers, "draining").into_response();
        }
        "ready".into_response()
    }
}

/// A right breaker in another style: a middleware in front of the item route, which knows
/// nothing of the inventory and judges each call by the status the route answered (502 and 504
/// are the inventory failing). An abandoned trial opens it for a whole cooldown.
mod layered {
    use super::*;

    /// Closed: the failures in a row, and since when it is closed.
    #[derive(Clone, Copy)]
    enum Circuit {
        Closed(u32, Instant),
        Open(Instant),
        HalfOpen,
    }

    struct Breaker {
        policy: BreakerPolicy,
        circuit: Mutex<Circuit>,
    }

    /// A call let through; dropped unfinished, it opens the breaker again.
    struct Permit<'a> {
        breaker: &'a Breaker,
        trial: bool,
        /// When the breaker that let it through had closed: its outcome counts only while the
        /// breaker stays closed since then.
        closed_since: Option<Instant>,
        done: bool,
    }

    impl Breaker {
        fn admit(&self) -> Result<Permit<'_>, Duration> {
            let mut circuit = self.circuit.lock().unwrap();
            let closed_since = match *circuit {
                Circuit::Closed(_, since) => Some(since),
                _ => None,
            };
            let trial = match *circuit {
                Circuit::Closed(..) => false,
                Circuit::Open(until) if Instant::now() < until => {
                    return Err(until - Instant::now());
                }
                Circuit::Open(_) => {
                    *circuit = Circuit::HalfOpen;
                    true
                }
                Circuit::HalfOpen => return Err(Duration::ZERO),
            };
            Ok(Permit { breaker: self, trial, closed_since, done: false })
        }
    }

    impl Permit<'_> {
        fn finish(mut self, succeeded: bool) {
            self.done = true;
            let (threshold, cooldown) =
                (self.breaker.policy.failure_threshold, self.breaker.policy.cooldown);
            let mut circuit = self.breaker.circuit.lock().unwrap();
            *circuit = match (*circuit, self.trial, succeeded) {
                (_, true, true) => Circuit::Closed(0, Instant::now()),
                (_, true, false) => Circuit::Open(Instant::now() + cooldown),
                (Circuit::Closed(failures, since), false, _)
                    if self.closed_since == Some(since) =>
                {
                    match succeeded {
                        true => Circuit::Closed(0, since),
                        false if failures + 1 >= threshold => {
                            Circuit::Open(Instant::now() + cooldown)
                        }
                        false => Circuit::Closed(failures + 1, since),
                    }
                }
                (state, false, _) => state,
            };
        }
    }

    impl Drop for Permit<'_> {
        fn drop(&mut self) {
            if !self.done && self.trial {
                let cooldown = self.breaker.policy.cooldown;
                *self.breaker.circuit.lock().unwrap() = Circuit::Open(Instant::now() + cooldown);
            }
        }
    }

    #[derive(Clone)]
    struct Gateway {
        inventory: Upstream,
        client: reqwest::Client,
    }

    pub fn app(inventory: Upstream, policy: BreakerPolicy, lifecycle: Lifecycle) -> Router {
        let client = reqwest::Client::builder().timeout(inventory.timeout()).build().unwrap();
        let breaker =
            Arc::new(Breaker { policy, circuit: Mutex::new(Circuit::Closed(0, Instant::now())) });
        let items = Router::new()
            .route("/items/{id}", get(item))
            .with_state(Gateway { inventory, client })
            .route_layer(middleware::from_fn_with_state(breaker, guard));
        Router::new()
            .merge(items)
            .route("/health/live", get(|| async { StatusCode::OK }))
            .route("/health/ready", get(move || ready(lifecycle.clone())))
    }

    async fn guard(State(breaker): State<Arc<Breaker>>, request: Request, next: Next) -> Response {
        let permit = match breaker.admit() {
            Ok(permit) => permit,
            Err(left) => return unavailable(jittered(left, breaker.policy.cooldown)),
        };
        let response = next.run(request).await;
        let failed =
            matches!(response.status(), StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT);
        permit.finish(!failed);
        response
    }

    async fn item(State(gateway): State<Gateway>, Path(id): Path<u32>) -> Response {
        let url = gateway.inventory.url(&format!("/items/{id}"));
        let status = match gateway.client.get(url).send().await {
            Ok(response) if response.status() == StatusCode::OK => {
                match response.json::<Value>().await {
                    Ok(item) if item["id"] == id => return Json(item).into_response(),
                    _ => StatusCode::BAD_GATEWAY,
                }
            }
            Ok(response) if response.status() == StatusCode::NOT_FOUND => StatusCode::NOT_FOUND,
            Ok(_) => StatusCode::BAD_GATEWAY,
            Err(error) if error.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
            Err(_) => StatusCode::BAD_GATEWAY,
        };
        atomic::problem(status)
    }

    async fn ready(lifecycle: Lifecycle) -> Response {
        if lifecycle.is_draining() {
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")]).into_response();
        }
        StatusCode::OK.into_response()
    }
}
