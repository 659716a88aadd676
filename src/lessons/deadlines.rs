//! Lesson 7, deadlines: one budget for a whole call, spent honestly and passed on.
//!
//! Two halves, played together in one round. The client half calls the learner's `get_before`
//! in scenarios drawn from the seed, each against an upstream of its own, and reads each history
//! through the rules ([`rules`]: lesson 3's retries, inside the deadline). The gateway half
//! serves the learner's `app` in front of an upstream whose behaviour each symbol decides, and
//! sends it budgets in every form, none, spent ones and garbage. A check that fails is decided
//! again on a fresh round (confirm before failing): a load spike must not make a ✗.

mod budget;
mod client;
mod gateway;
mod rules;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use httplings::lessons::deadlines::{Adapter, App, GetBefore};

use self::client::{Played, Scenario};
use self::gateway::{Asked, Plan};
use self::rules::Rule;
use crate::judge::bounds::{Lag, Lateness, PROBE_EVERY};
use crate::judge::confirm::confirmed;
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, seed};

const PAST: &str = "past";
const IN_TIME: &str = "in-time";
const NO_LATE_ATTEMPT: &str = "no-late-attempt";
const AT_ONCE: &str = "at-once";
const RETRIES: &str = "retries";
const QUOTES: &str = "quotes";
const PASSED_ON: &str = "passed-on";
const BUDGET_READ: &str = "budget-read";
const SHORTEST: &str = "shortest";
const SPENT: &str = "spent";
const HANG_UP: &str = "hang-up";

pub const CHECKS: &[&str] = &[
    PAST,
    IN_TIME,
    NO_LATE_ATTEMPT,
    AT_ONCE,
    RETRIES,
    QUOTES,
    PASSED_ON,
    BUDGET_READ,
    SHORTEST,
    SPENT,
    HANG_UP,
];

/// Lesson 7's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "07_deadlines";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// Judges `app` and `get_before` on a thread of this process (the project's tests).
pub async fn judge_in_process(
    app: App,
    get_before: impl GetBefore + Send + Clone,
    seed: u64,
) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app, get_before: get_before.clone() }, seed).await
}

/// A check of the gateway half, from the plan and the requests as played.
type GatewayVerdict = fn(&Plan, &[Asked], Duration) -> Option<Failure>;

/// One round: every client scenario and every gateway request, played at once.
struct Round {
    clients: Vec<Played>,
    /// `Err` when `app()` did not serve.
    gateway: Result<Vec<Asked>, Failure>,
    /// How late the machine's timers ran meanwhile, the judge's or the learner's.
    lag: Duration,
}

async fn play(
    learner: &Learner,
    scenarios: &[Scenario],
    plan: &Arc<Plan>,
    round: u32,
) -> Result<Round, Lost> {
    let tags: Vec<String> = (0..scenarios.len()).map(|index| format!("r{round}s{index}")).collect();
    let clients = join_all(
        scenarios.iter().zip(&tags).map(|(scenario, tag)| client::play(learner, scenario, tag)),
    );
    let (lag, lateness, started) =
        (Lag::start(), RefCell::new(Lateness::default()), Instant::now());
    let playing = async { tokio::join!(clients, gateway::play(learner, plan)) };
    let (clients, gateway) = learner.gauged(PROBE_EVERY, &lateness, playing).await?;
    // The learner's process may run later than the judge's own timers show (a process of its
    // own, on a machine others load): what its pings took counts as well.
    let lag = lag.worst().max(lateness.borrow().during(started, Instant::now()));
    Ok(Round { clients: clients.into_iter().collect::<Result<_, _>>()?, gateway: gateway?, lag })
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let mut rng = seed::rng(seed);
    let scenarios = &client::draw(&mut rng);
    let plan = &Arc::new(Plan::draw(&mut rng));
    let rounds = RefCell::new(vec![Rc::new(play(learner, scenarios, plan, 0).await?)]);
    let lost = RefCell::new(None);
    // The round of play `n`: played now if no check needed it before.
    let round = &async |n: u32| -> Option<Rc<Round>> {
        let known = rounds.borrow().get(n as usize).cloned();
        if known.is_some() {
            return known;
        }
        match play(learner, scenarios, plan, n).await {
            Ok(round) => {
                let round = Rc::new(round);
                rounds.borrow_mut().push(Rc::clone(&round));
                Some(round)
            }
            Err(gone) => {
                lost.borrow_mut().replace(gone);
                None
            }
        }
    };
    let client_checks = [
        (PAST, Rule::Past),
        (IN_TIME, Rule::InTime),
        (NO_LATE_ATTEMPT, Rule::NoLateAttempt),
        (AT_ONCE, Rule::AtOnce),
        (RETRIES, Rule::Retries),
    ];
    for (check, rule) in client_checks {
        let failure = confirmed(|n| async move {
            let round = round(n).await?;
            rules::judge(rule, scenarios, &round.clients, round.lag)
        })
        .await;
        recorder.decide(check, failure);
    }
    if let Err(failure) = &rounds.borrow()[0].gateway {
        recorder.fail_the_rest(failure);
        return lost.into_inner().map_or(Ok(()), Err);
    }
    let gateway_checks: [(&str, GatewayVerdict); 6] = [
        (QUOTES, gateway::quotes),
        (PASSED_ON, gateway::passes_on),
        (BUDGET_READ, gateway::reads),
        (SHORTEST, gateway::shortest),
        (SPENT, gateway::spent),
        (HANG_UP, gateway::hang_up),
    ];
    for (check, verdict) in gateway_checks {
        let failure = confirmed(|n| async move {
            let round = round(n).await?;
            match &round.gateway {
                Ok(asked) => verdict(plan, asked, round.lag),
                Err(failure) => Some(failure.clone()),
            }
        })
        .await;
        recorder.decide(check, failure);
    }
    lost.into_inner().map_or(Ok(()), Err)
}
