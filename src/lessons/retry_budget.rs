//! Lesson 9, retry budgets: a client that many tasks share, whose retries stay within a share
//! of its first attempts however long an outage lasts.
//!
//! One round makes ten clients of the learner's and calls them from many tasks at once (see
//! [`round`]): two through total outages and one through a flapping one, judged against the
//! budget's rules written as a model ([`ledger`]); one through a partial outage; one made fresh
//! while the others are spent; one called by many tasks at once against a slow server; one seen
//! across windows, whose later outage must find the budget as the window says, no fuller and
//! no emptier; one whose calls use every attempt, which must not pay for a retry never made;
//! one whose budget always has room, whose calls meet every failure lesson 3 retries.
//! A check that fails is decided again on a fresh round before it is believed; lesson 3's rules,
//! passed on a round that the machine ran late through, are too.

mod ledger;
mod round;
mod rules;
mod twin;
mod verdicts;

use std::cell::RefCell;
use std::rc::Rc;

use httplings::lessons::retry_budget::{Adapter, Get, New};

use self::round::{Plan, Played, Round};
use crate::judge::bounds::{ALIKE_BETWEEN_PROCESSES, Lag, QUIET_LAG};
use crate::judge::confirm::{confirmed, confirmed_quiet};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, seed};

const FIRST: &str = "first";
const OUTAGE: &str = "outage";
const AT_ONCE: &str = "at-once";
const PARTIAL: &str = "partial";
const WINDOW: &str = "window";
const LESSON_3: &str = "lesson-3";
const SHARED: &str = "shared";
const FRESH: &str = "fresh";

/// How many times the twin is played at most, while nothing is found on a busy machine: a
/// machine that ran late by a tenth of a second hides a backoff one doubling ahead, and three
/// plays let it through about one catalogue run in four beside another lesson's judge.
const TWIN_PLAYS: usize = 5;

pub const CHECKS: &[&str] = &[FIRST, OUTAGE, AT_ONCE, PARTIAL, WINDOW, LESSON_3, SHARED, FRESH];

/// Lesson 9's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "09_retry_budget";
    const CHECKS: &'static [&'static str] = CHECKS;
    /// A second process plays the twin client: jitter drawn from a generator seeded with a
    /// constant is the same in both.
    const PROCESSES: usize = 2;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// Judges a `BudgetedClient` on a thread of this process (the project's tests).
pub async fn judge_in_process<C: 'static>(
    new: New<C>,
    get: impl Get<C> + Send + Clone,
    seed: u64,
) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { new, get: get.clone() }, seed).await
}

/// A round's clients, by role, or why one could not be made.
fn clients(played: &[Played]) -> Result<[&[round::Made]; 11], Failure> {
    let mut made = Vec::new();
    for client in played {
        match client {
            Ok(calls) => made.push(calls.as_slice()),
            Err(problem) => return Err(Failure::of(problem.clone())),
        }
    }
    made.try_into().map_err(|_| Failure::of("a client is missing"))
}

fn verdict(check: &str, plan: &Plan, round: &Round) -> Option<Failure> {
    let lag = round.lag;
    let [
        outage,
        typical,
        partial,
        fresh,
        together,
        flapping,
        windows,
        ends,
        inside,
        rules,
        refusals,
    ] = match clients(&round.clients) {
        Ok(clients) => clients,
        Err(failure) => return Some(failure),
    };
    match check {
        FIRST => verdicts::first(&[
            ("outage A", outage),
            ("outage B", typical),
            ("partial outage", partial),
            ("flapping", flapping),
            ("windows", windows),
            ("ends", ends),
            ("inside", inside),
            (verdicts::RULES, rules),
        ]),
        OUTAGE => ledger::judge("in a total outage", plan.outages[0].budget, outage)
            .or_else(|| ledger::totals("in a total outage", plan.outages[0].budget, outage))
            .or_else(|| ledger::judge("in a total outage", plan.outages[1].budget, typical))
            .or_else(|| {
                ledger::judge(
                    "one after another, while the server flaps",
                    plan.flapping.budget,
                    flapping,
                )
            })
            .or_else(|| ledger::judge("healthy, then failing", plan.windows.budget, windows))
            .or_else(|| ledger::judge("healthy, then failing", plan.inside.budget, inside)),
        AT_ONCE => verdicts::at_once(outage, lag)
            .or_else(|| verdicts::at_once(typical, lag))
            .or_else(|| verdicts::at_once(flapping, lag))
            .or_else(|| verdicts::at_once(windows, lag))
            .or_else(|| verdicts::at_once(inside, lag)),
        PARTIAL => verdicts::partial(&plan.partial, partial),
        WINDOW => verdicts::window(&plan.windows, plan.phases, windows)
            .or_else(|| verdicts::inside(&plan.inside, inside))
            .or_else(|| verdicts::ends(&plan.ends, ends))
            .or_else(|| verdicts::refusals(&plan.refusals, refusals)),
        LESSON_3 => verdicts::lesson_3(
            &[
                ("outage A", &plan.outages[0], outage),
                ("outage B", &plan.outages[1], typical),
                ("partial outage", &plan.partial, partial),
                ("flapping", &plan.flapping, flapping),
                ("windows", &plan.windows, windows),
                ("inside", &plan.inside, inside),
                (verdicts::RULES, &plan.rules, rules),
            ],
            lag,
            &round.lateness,
        )
        .or_else(|| rules::judge(&plan.rules, rules)),
        SHARED => verdicts::shared(together),
        _ => verdicts::fresh(fresh),
    }
}

/// The twin client played in both processes at once, before anything else uses their random
/// numbers. A failure is not replayed: two processes that draw their own jitter almost never
/// wait alike that often, and a wait too long must show in both. A pass is, when the machine
/// ran later than two alike waits may differ by: a busy moment can pull waits drawn alike
/// apart, never push waits drawn apart together.
async fn twins(learner: &Learner, seed: u64) -> Result<Option<Failure>, Lost> {
    let Some(other) = learner.other(0) else { return Ok(None) };
    let client = twin::draw(&mut seed::rng(seed ^ 0x7457_1a5e));
    for _ in 0..TWIN_PLAYS {
        let lag = Lag::start();
        let (first, second) = futures_util::future::join(
            twin::play(learner, &client, 900),
            twin::play(other, &client, 901),
        )
        .await;
        let (Some(first), Some(second)) = (first?, second?) else { return Ok(None) };
        let verdict = twin::judge(&client.policy, lag.worst(), &first, &second);
        if verdict.is_some() || lag.worst() <= ALIKE_BETWEEN_PROCESSES {
            return Ok(verdict);
        }
    }
    Ok(None)
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let plan = &Plan::draw(&mut seed::rng(seed));
    let in_step = twins(learner, seed).await?;
    let rounds = RefCell::new(vec![Rc::new(round::play(learner, plan, 0).await?)]);
    let lost = RefCell::new(None);
    let round = &async |n: u32| -> Option<Rc<Round>> {
        let known = rounds.borrow().get(n as usize).cloned();
        if known.is_some() {
            return known;
        }
        match round::play(learner, plan, n).await {
            Ok(played) => {
                let played = Rc::new(played);
                rounds.borrow_mut().push(Rc::clone(&played));
                Some(played)
            }
            Err(gone) => {
                lost.borrow_mut().replace(gone);
                None
            }
        }
    };
    for check in CHECKS {
        let failure = if *check == LESSON_3 {
            // Its waits too long hide in what a busy round allows for lateness: a pass there is
            // played again.
            confirmed_quiet(|n| async move {
                let round = round(n).await?;
                Some((verdict(check, plan, &round), round.lag > QUIET_LAG))
            })
            .await
        } else {
            confirmed(|n| async move { verdict(check, plan, &*round(n).await?) }).await
        };
        // A rule the rounds see broken (a call given up with attempts left, one too many) says
        // more than the twin's waits, and is shown first.
        let failure = match (*check, &in_step) {
            (LESSON_3, Some(in_step)) => failure.or_else(|| Some(in_step.clone())),
            _ => failure,
        };
        recorder.decide(check, failure);
    }
    lost.into_inner().map_or(Ok(()), Err)
}
