//! Lesson 9, retry budgets: a client that many tasks share, whose retries stay within a share
//! of its first attempts however long an outage lasts.
//!
//! One round makes sixteen clients of the learner's and calls them from many tasks at once (see
//! [`round`]): two through total outages and one through a flapping one, judged against the
//! budget's rules written as a model ([`ledger`]); one through a partial outage; one made fresh
//! while the others are spent; one called by many tasks at once against a slow server; one seen
//! across windows, whose later outage must find the budget as the window says, no fuller and
//! no emptier; one whose calls use every attempt, which must not pay for a retry never made;
//! one whose budget always has room, whose calls meet every failure lesson 3 retries; one whose
//! calls ask the budget long after they set out, one whose server refuses connections at
//! first, one whose budget allows nothing, one whose budget is a floor alone, and one whose
//! first retries succeed before an outage ([`edges`]).
//! A check that fails is decided again on a fresh round before it is believed; lesson 3's rules,
//! passed on a round that the machine ran late through, are too.

mod edges;
mod ledger;
mod roles;
mod round;
mod rules;
mod twin;
mod verdicts;

use std::cell::RefCell;
use std::rc::Rc;

use httplings::lessons::retry_budget::{Adapter, Get, New};

use self::round::{Plan, Round};
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
pub async fn judge_in_process<C: Send + Sync + 'static>(
    new: New<C>,
    get: impl Get<C> + Send + Clone,
    seed: u64,
) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { new, get: get.clone() }, seed).await
}

fn verdict(check: &str, plan: &Plan, round: &Round) -> Option<Failure> {
    let lag = round.lag;
    let made = match round.clients.as_ref().map(Result::as_ref).transpose() {
        Ok(made) => made.map(Vec::as_slice),
        Err(problem) => return Some(Failure::of(problem.clone())),
    };
    let plans = &plan.clients;
    match check {
        FIRST => verdicts::first(&[
            ("outage A", made.outage_a),
            ("outage B", made.outage_b),
            ("partial outage", made.partial),
            ("flapping", made.flapping),
            ("windows", made.windows),
            ("ends", made.ends),
            ("inside", made.inside),
            (verdicts::RULES, made.rules),
            ("late", made.late),
            ("zero", made.zero),
            ("floor", made.floor),
            ("repaid", made.repaid),
        ]),
        OUTAGE => ledger::judge("in a total outage", plans.outage_a.budget, made.outage_a)
            .or_else(|| ledger::totals("in a total outage", plans.outage_a.budget, made.outage_a))
            .or_else(|| ledger::judge("in a total outage", plans.outage_b.budget, made.outage_b))
            .or_else(|| {
                ledger::judge(
                    "one after another, while the server flaps",
                    plans.flapping.budget,
                    made.flapping,
                )
            })
            .or_else(|| ledger::judge("healthy, then failing", plans.windows.budget, made.windows))
            .or_else(|| ledger::judge("healthy, then failing", plans.inside.budget, made.inside))
            .or_else(|| edges::refused(&plans.refused, made.refused))
            .or_else(|| edges::zero(&plans.zero, made.zero))
            .or_else(|| edges::repaid(&plans.repaid, made.repaid)),
        AT_ONCE => [made.outage_a, made.outage_b, made.flapping, made.windows, made.inside]
            .into_iter()
            .find_map(|calls| verdicts::at_once(calls, lag, &round.lateness)),
        PARTIAL => verdicts::partial(&plans.partial, made.partial),
        WINDOW => verdicts::window(&plans.windows, plan.phases, made.windows)
            .or_else(|| verdicts::inside(&plans.inside, made.inside))
            .or_else(|| verdicts::ends(&plans.ends, made.ends))
            .or_else(|| verdicts::refusals(&plans.refusals, made.refusals))
            .or_else(|| edges::late(&plans.late, made.late))
            .or_else(|| edges::floor_only(&plans.floor, made.floor)),
        LESSON_3 => verdicts::lesson_3(
            &[
                ("outage A", &plans.outage_a, made.outage_a),
                ("outage B", &plans.outage_b, made.outage_b),
                ("partial outage", &plans.partial, made.partial),
                ("flapping", &plans.flapping, made.flapping),
                ("windows", &plans.windows, made.windows),
                ("inside", &plans.inside, made.inside),
                (verdicts::RULES, &plans.rules, made.rules),
            ],
            lag,
            &round.lateness,
        )
        .or_else(|| rules::judge(&plans.rules, made.rules)),
        SHARED => verdicts::shared(made.together),
        _ => verdicts::fresh(made.fresh),
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
