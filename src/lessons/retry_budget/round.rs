//! One round: the clients a run makes, the calls each gets and when, drawn from the seed; then
//! all of it played at once against upstreams of the judge's, and what each call came to.
//!
//! - two clients through total outages (every answer a 5xx), called in waves by many tasks,
//!   one with a budget generous enough that miscounting it shows, one with a typical 10 %;
//! - one client through a partial outage: one call in ten fails once (some with a
//!   `Retry-After`), a few get a 404;
//! - one client made while the others burn their budgets, called once with a failure;
//! - one client called by many tasks at once, against a slow upstream;
//! - one client called by one task after another, while its upstream flaps;
//! - one client whose budget is seen across windows: healthy calls and an outage, then, once
//!   all of that has left the window, an outage again (see [`Windows`]);
//! - one client whose first wave of calls uses every attempt, and whose second must still find
//!   the budget those attempts did not spend;
//! - one client with a budget that always has room, whose calls meet every failure lesson 3
//!   retries (see [`super::rules`]);
//! - one client whose calls ask the budget long after they set out, one whose server refuses
//!   connections at first, one whose budget allows nothing, one whose budget is a floor alone,
//!   and one whose first retries succeed before an outage (see [`super::edges`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use httplings::RetryPolicy;
use httplings::adapter::{SeenError, SeenResponse};
use httplings::lessons::deadlines::Policy;
use httplings::lessons::retry_budget::{Budget, Call, Reply as Came};

use crate::judge::bounds::{Lag, Lateness, PROBE_EVERY};
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{Options, Reply, Seen, Upstream};
use crate::judge::{Learner, Lost, Returned};

use super::roles::{ROLES, Roles};

/// A client the judge makes, and what its upstream does.
#[derive(Debug, Clone)]
pub struct Client {
    pub policy: RetryPolicy,
    pub budget: Budget,
    /// When the `reqwest::Client` handed to `new` gives up on an attempt.
    pub timeout: Duration,
    /// How long, from the client's start, its upstream refuses every connection (a server not
    /// up yet), where it does.
    pub refuses_for: Option<Duration>,
    /// When each call is made, from the round's start.
    pub calls: Vec<Duration>,
    /// What the upstream does with each call's attempts (by the call's number).
    pub script: Vec<Script>,
}

/// What the upstream does with one call's attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// A 5xx (or a reset) every time.
    Down(u16),
    /// A 503 every time, the first with `Retry-After` in these seconds.
    DownAsking(u64),
    /// Fails once (a 503, with `Retry-After` when it has seconds; or a reset), then a 200.
    FailsOnce(Option<u64>, bool),
    NotFound,
    Fine,
    /// A 200, slowly.
    Slow(Duration),
    /// Down (a 503) and up (a 200) in turns of this long, from the upstream's start.
    Flapping(Duration),
    /// This 5xx, another, this one again asking `Retry-After` in these seconds, then a fourth
    /// 5xx: the retry the server timed counts, and four attempts are all there are.
    Asking(u16, u64),
    /// No answer until the client's timeout gives up, then a 200.
    TimesOutOnce,
    /// A reset and a 5xx (starting with this one) in turns, every time; a reset first when set.
    Mixed(u16, bool),
    /// The first attempt answered a 503 only at this moment from the upstream's start, then a
    /// 200: a call that asks the budget long after it set out.
    FailsLate(Duration),
}

/// How many calls the outage with no floor makes.
const GENEROUS_CALLS: usize = 58;

/// The timeout of the `reqwest::Client` handed to `new`, where no attempt is meant to time out.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The clients of a run, by role, and when the windows client's phases come.
#[derive(Debug, Clone)]
pub struct Plan {
    pub clients: Roles<Client>,
    pub phases: Windows,
}

/// The windows client's calls: first `healthy` calls that succeed and `failing` that fail
/// (made together at the start), then, from call `later` on, calls that fail, all made at the
/// same moment, once everything before has left the window.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub healthy: usize,
    pub failing: usize,
    pub later: usize,
}

fn policy(rng: &mut Rng, base: (u64, u64)) -> RetryPolicy {
    RetryPolicy {
        max_attempts: rng.u32(3..=4),
        base_delay: seed::duration_spread(
            rng,
            Duration::from_millis(base.0),
            Duration::from_millis(base.1),
        ),
        max_delay: Duration::from_millis(1200),
    }
}

fn waves(rng: &mut Rng, waves: u32, size: u32, every: Duration) -> Vec<Duration> {
    (0..waves)
        .flat_map(|wave| (0..size).map(move |_| every * wave))
        .map(|at| at + Duration::from_millis(rng.u64(0..20)))
        .collect()
}

/// A run of a client's calls: `count` of them, made `at` from the round's start (each up to
/// `spread` later, drawn), every one scripted `script`.
#[derive(Debug, Clone, Copy)]
struct Phase {
    count: usize,
    at: Duration,
    spread: Duration,
    script: Script,
}

impl Phase {
    fn new(count: usize, at: Duration, script: Script) -> Self {
        Self { count, at, spread: Duration::ZERO, script }
    }

    /// Made within `spread` of `at`: a burst of its own would make every client's timers late.
    fn spread(self, spread: Duration) -> Self {
        Self { spread, ..self }
    }
}

/// A client that retries quickly (`attempts` at most, waits of `base` to four times it) and gets
/// `phases`' calls, one phase after the other.
fn phased(
    rng: &mut Rng,
    attempts: u32,
    base: (u64, u64),
    budget: Budget,
    phases: &[Phase],
) -> Client {
    let (calls, script) = phases
        .iter()
        .flat_map(|phase| std::iter::repeat_n(phase, phase.count))
        .map(|phase| {
            let spread = phase.spread.as_millis() as u64;
            let late = if spread == 0 { 0 } else { rng.u64(0..=spread) };
            (phase.at + Duration::from_millis(late), phase.script)
        })
        .unzip();
    let base =
        seed::duration_spread(rng, Duration::from_millis(base.0), Duration::from_millis(base.1));
    Client {
        timeout: TIMEOUT,
        refuses_for: None,
        policy: RetryPolicy { max_attempts: attempts, base_delay: base, max_delay: base * 4 },
        budget,
        calls,
        script,
    }
}

impl Plan {
    pub fn draw(rng: &mut Rng) -> Self {
        // `asking`: in the first two waves, half the calls are a 503 with this Retry-After.
        // Always that many: a client whose asked-for retries skip the budget must overshoot
        // the model's spare (the floor over the time taken, and two) every run, not most.
        let outage = |rng: &mut Rng, ratio: f64, min_per_second: u32, asking: u64| {
            let calls = waves(rng, 6, 10, Duration::from_millis(180));
            let asked = seed::distinct(rng, 0..20, 10);
            let script = (0..calls.len())
                .map(|call| {
                    if asked.contains(&(call as u32)) {
                        Script::DownAsking(asking)
                    } else {
                        Script::Down(*seed::pick(rng, &[500, 502, 503, 503, 504, 0]))
                    }
                })
                .collect();
            Client {
                timeout: TIMEOUT,
                refuses_for: None,
                // Long waits: a refused retry that sleeps anyway shows.
                policy: policy(rng, (250, 400)),
                budget: Budget {
                    ratio,
                    min_per_second,
                    window: Duration::from_millis(rng.u64(1000..=2000)),
                },
                calls,
                script,
            }
        };
        // Ratios whose inverse is whole: budgets that count in whole retries (tower's does) keep
        // them exactly. The first outage has no floor, so that its ratio is judged to the retry:
        // 0.25 rounded up to 0.3, or retries that deposit too, overshoot; its max_delay is
        // reached by the second retry (a backoff left uncapped shows) and below the one-second
        // Retry-After its server sends (which must end the call, not be cut to max_delay).
        let mut generous = outage(rng, 0.25, 0, 1);
        // Fifty-eight calls: a quarter of them is 14.5 retries, 14 for a budget that counts
        // whole ones, 15 for one that rounds up.
        generous.calls.truncate(GENEROUS_CALLS);
        generous.script.truncate(GENEROUS_CALLS);
        let base = generous.policy.base_delay;
        generous.policy.max_delay = base.mul_f64(1.3 + 0.4 * rng.f64());
        let floor = rng.u32(1..=2);
        let outages = [generous, outage(rng, 0.1, floor, 1)];
        let calls = waves(rng, 10, 10, Duration::from_millis(90));
        // The two calls whose 503 asks for a second come after the first third, when what the
        // calls before paid in leaves room for both however a budget counts: each must wait as
        // asked and retry (a client that returns every Retry-After at once passed on 80 %).
        // So do two of the resets: every call that fails once after the first third must be
        // retried to a 200 (a client that never retried a reset passed on the 80 % as well).
        let count = calls.len() as u32;
        let later = seed::distinct(rng, count / 3..count, 4);
        let (asking, resets) = (&later[..2], &later[2..]);
        let others = seed::distinct(rng, 0..count, calls.len() / 10 + 5);
        let others = others.into_iter().filter(|call| !later.contains(call));
        let failing: Vec<u32> =
            asking.iter().copied().chain(others.take(calls.len() / 10 + 1)).collect();
        let script = (0..calls.len() as u32)
            .map(|call| match failing.iter().position(|failing| *failing == call) {
                _ if resets.contains(&call) => Script::FailsOnce(None, true),
                Some(0 | 1) => Script::FailsOnce(Some(1), false),
                Some(2..=4) => Script::NotFound,
                Some(place) => Script::FailsOnce(None, place % 4 == 0),
                None => Script::Fine,
            })
            .collect();
        let partial = Client {
            timeout: TIMEOUT,
            refuses_for: None,
            // Waits of a tenth of a second or more: a backoff too long shows in them too.
            policy: policy(rng, (120, 200)),
            budget: Budget {
                ratio: 0.2 + rng.f64() * 0.1,
                min_per_second: rng.u32(1..=2),
                window: Duration::from_millis(rng.u64(1000..=2000)),
            },
            calls,
            script,
        };
        let fresh = Client {
            timeout: TIMEOUT,
            refuses_for: None,
            policy: outages[1].policy,
            budget: outages[1].budget,
            calls: vec![Duration::from_millis(1050)],
            script: vec![Script::FailsOnce(None, false)],
        };
        let size = rng.usize(8..=16);
        let together = Client {
            timeout: TIMEOUT,
            refuses_for: None,
            policy: policy(rng, (20, 80)),
            budget: outages[1].budget,
            calls: vec![Duration::ZERO; size],
            script: vec![Script::Slow(Duration::from_millis(150)); size],
        };
        let period =
            seed::duration_spread(rng, Duration::from_millis(120), Duration::from_millis(300));
        let calls: Vec<Duration> =
            (0..50u32).map(|call| Duration::from_millis(30) * call).collect();
        let flapping = Client {
            timeout: TIMEOUT,
            refuses_for: None,
            policy: policy(rng, (30, 80)),
            budget: Budget {
                ratio: *seed::pick(rng, &[0.1, 0.2, 0.25]),
                min_per_second: rng.u32(1..=2),
                window: Duration::from_millis(rng.u64(1000..=2000)),
            },
            script: vec![Script::Flapping(period); calls.len()],
            calls,
        };
        let (windows, phases) = windows(rng);
        let ends = ends(rng);
        let inside = inside(rng);
        let rules = super::rules::draw(rng);
        let refusals = refusals(rng);
        let (late, refused, zero) = (late(rng), refused(rng), zero(rng));
        let (floor, repaid) = (floor_only(rng), repaid(rng));
        let [outage_a, outage_b] = outages;
        let clients = Roles {
            outage_a,
            outage_b,
            partial,
            fresh,
            together,
            flapping,
            windows,
            ends,
            inside,
            rules,
            refusals,
            late,
            refused,
            zero,
            floor,
            repaid,
        };
        Self { clients, phases }
    }
}

/// When the later calls of the windows client start: once the first calls' deposits and
/// retries (all over within 80 ms) are older than the window, with a tenth of a window to spare
/// for a budget that counts in slots. No more: a window a fifth too long still holds the first
/// deposits then, by 70 ms or more.
pub fn later_at(window: Duration) -> Duration {
    WINDOWS_FROM + Duration::from_millis(50) + window.mul_f64(1.1)
}

/// When the windows client's first calls start: once the round's first burst (every other
/// client starts at once) is over, so that a busy machine makes their retries late less often.
/// A retry noted late leaves the window late, and the window check cannot count it against
/// the client then.
pub const WINDOWS_FROM: Duration = Duration::from_millis(120);

/// How far apart the calls a phase makes together set out.
const SPREAD: Duration = Duration::from_millis(9);

/// An upstream that is down for a call: a 503 every time.
const DOWN: Script = Script::Down(503);

/// How far into its window the inside client's outage comes, after its healthy calls: their
/// deposits are still in the window, and a budget whose window is a fifth short or more, or
/// cut to whole seconds, has let them go.
pub const INSIDE_AT: f64 = 0.85;

/// The inside client: twenty healthy calls, spread over 40 ms (a burst of its own would make
/// every client's timers late), then, `INSIDE_AT` of a window (1.3 to 1.5 s) later, ten calls
/// failing together, each wanting three retries: the healthy calls' deposits pay for most.
fn inside(rng: &mut Rng) -> Client {
    let window = Duration::from_millis(rng.u64(1300..=1500));
    let budget = Budget { ratio: 0.5, min_per_second: rng.u32(3..=4), window };
    let healthy = Phase::new(INSIDE_HEALTHY, Duration::ZERO, Script::Fine);
    let failing = Phase::new(INSIDE_CALLS - INSIDE_HEALTHY, window.mul_f64(INSIDE_AT), DOWN);
    phased(rng, 4, (5, 10), budget, &[healthy.spread(Duration::from_millis(39)), failing])
}

/// The refusals client's calls: failing every time, healthy, then failing once.
pub const REFUSALS_FIRST: usize = 20;
pub const REFUSALS_HEALTHY: usize = 30;
pub const REFUSALS_LATER: usize = 8;

/// The refusals client, all within one window and with no floor. First, twenty calls fail every
/// time, wanting three retries each, with room for ten (a ratio of a half: ten of twenty first
/// attempts): the rest are refused. Then thirty healthy calls, and eight calls failing once. A
/// refused retry takes nothing from the budget, so these eight find room for every retry
/// (half of 58 first attempts, less the ten retries made: 19). A client that counts a refused
/// retry as a withdrawal has spent thirty, and finds none.
fn refusals(rng: &mut Rng) -> Client {
    let window = Duration::from_millis(rng.u64(2000..=2500));
    let budget = Budget { ratio: 0.5, min_per_second: 0, window };
    let at =
        |count, ms, script| Phase::new(count, Duration::from_millis(ms), script).spread(SPREAD);
    let phases = [
        at(REFUSALS_FIRST, 0, DOWN),
        at(REFUSALS_HEALTHY, 300, Script::Fine),
        at(REFUSALS_LATER, 500, Script::FailsOnce(None, false)),
    ];
    phased(rng, 4, (10, 20), budget, &phases)
}

/// The late client's healthy calls, and its calls that ask the budget late.
pub const LATE_HEALTHY: usize = 20;
pub const LATE_CALLS: usize = 10;

/// When, in windows from the late client's start, its failing calls set out, and when their
/// first attempts are answered.
pub const LATE_FROM: f64 = 0.5;
pub const LATE_ANSWERED: f64 = 1.2;

/// The late client: twenty healthy calls, then, half a window later, ten calls whose first
/// attempt is answered (a 503) only 1.2 windows after the start, each wanting one retry. When
/// they ask, the healthy calls' deposits have left the window (a fifth of a window ago: a
/// budget that counts in tenths of it has let them go too) and their own are in it: a ratio of
/// a half and no floor is five retries, no more and no fewer. A budget that measures the window
/// back from when the call set out, or forgets only when a call sets out, still counts the
/// healthy calls (ten retries); a window that starts afresh once it has run out has forgotten
/// the ten's own deposits too (none).
fn late(rng: &mut Rng) -> Client {
    let window = Duration::from_millis(rng.u64(1000..=1200));
    let budget = Budget { ratio: 0.5, min_per_second: 0, window };
    let answered = Script::FailsLate(window.mul_f64(LATE_ANSWERED));
    let phases = [
        Phase::new(LATE_HEALTHY, Duration::ZERO, Script::Fine).spread(SPREAD),
        Phase::new(LATE_CALLS, window.mul_f64(LATE_FROM), answered).spread(SPREAD),
    ];
    phased(rng, 2, (10, 20), budget, &phases)
}

/// How many calls the refused client makes, and how long its server refuses connections.
pub const REFUSED_CALLS: usize = 16;
pub const REFUSED_FOR: Duration = Duration::from_millis(100);

/// The refused client: sixteen calls at once to a server that is not up yet, each refused its
/// connection; the server is up a tenth of a second later, before most backoffs (of up to a
/// second) are over. A ratio of a quarter and no floor is four retries, which reach the server;
/// a client that retries a refused connection without asking the budget reaches it with most
/// of the sixteen.
fn refused(rng: &mut Rng) -> Client {
    let budget = Budget { ratio: 0.25, min_per_second: 0, window: Duration::from_secs(2) };
    let calls = Phase::new(REFUSED_CALLS, Duration::ZERO, Script::Fine).spread(SPREAD);
    Client { refuses_for: Some(REFUSED_FOR), ..phased(rng, 2, (800, 1000), budget, &[calls]) }
}

/// How many calls the zero client makes.
pub const ZERO_CALLS: usize = 6;

/// The zero client: a ratio of 0 and no floor, a budget that allows no retry at all (a layer
/// told to leave retries to another), and six calls that fail once.
fn zero(rng: &mut Rng) -> Client {
    let window = Duration::from_millis(rng.u64(1000..=2000));
    failing_once(rng, 3, Budget { ratio: 0.0, min_per_second: 0, window }, ZERO_CALLS)
}

/// A client of quick retries whose `count` calls set out together and each fail once.
fn failing_once(rng: &mut Rng, attempts: u32, budget: Budget, count: usize) -> Client {
    let failing = Phase::new(count, Duration::ZERO, Script::FailsOnce(None, false));
    phased(rng, attempts, (10, 20), budget, &[failing.spread(SPREAD)])
}

/// How many calls the floor client makes.
pub const FLOOR_CALLS: usize = 16;

/// The floor client: a ratio of 0 and a floor of 2 or 3 a second over a window of four to six
/// seconds, and sixteen calls that fail once, all at the start: the floor holds `min_per_second
/// × window` retries (or its whole seconds', as tower counts), not `min_per_second`.
fn floor_only(rng: &mut Rng) -> Client {
    let window = Duration::from_millis(rng.u64(4_200..=5_800));
    let budget = Budget { ratio: 0.0, min_per_second: rng.u32(2..=3), window };
    failing_once(rng, 2, budget, FLOOR_CALLS)
}

/// How many calls each wave of the repaid client makes.
pub const REPAID_WAVE: usize = 10;

/// The repaid client, within one window and with no floor: first ten calls that fail once, half
/// of them retried (a ratio of a half) to a 200; then ten calls failing every time, which find
/// half of the twenty first attempts less the five retries made: five. A retry that succeeded
/// was still a retry: a budget that takes it back finds ten.
fn repaid(rng: &mut Rng) -> Client {
    let window = Duration::from_millis(rng.u64(2_400..=2_800));
    let budget = Budget { ratio: 0.5, min_per_second: 0, window };
    let at = |ms, script| Phase::new(REPAID_WAVE, Duration::from_millis(ms), script).spread(SPREAD);
    let phases = [at(0, Script::FailsOnce(None, false)), at(300, DOWN)];
    phased(rng, 2, (10, 20), budget, &phases)
}

/// The inside client's healthy calls, and all its calls.
pub const INSIDE_HEALTHY: usize = 20;
pub const INSIDE_CALLS: usize = 30;

/// The windows client. At the start, forty healthy calls bank deposits that four failing ones
/// cannot spend: a budget without a window (or with a longer one) still holds them later. Later,
/// ten calls fail together, each wanting three retries: more than the budget holds, which is
/// then only theirs and the floor, whole again (a floor spent once, or retries that never
/// leave the window, show as too few retries).
fn windows(rng: &mut Rng) -> (Client, Windows) {
    let phases = Windows { healthy: 40, failing: 4, later: 44 };
    let window = Duration::from_millis(rng.u64(1200..=1350));
    let budget = Budget { ratio: 0.5, min_per_second: rng.u32(3..=4), window };
    let first = |count, script| Phase::new(count, WINDOWS_FROM, script).spread(SPREAD);
    // Quick waits: the first outage's retries are over within a tenth of a second.
    let client = phased(
        rng,
        4,
        (5, 10),
        budget,
        &[
            first(phases.healthy, Script::Fine),
            first(phases.failing, DOWN),
            Phase::new(10, later_at(window), DOWN),
        ],
    );
    (client, phases)
}

/// How many calls each part of the ends client's waves makes.
pub const ENDS_WAVE: usize = 8;

/// How many calls the ends client's first wave makes: a part failing every time, a part
/// answered 404, a part asking a `Retry-After` beyond `max_delay`.
pub const ENDS_FIRST: usize = 3 * ENDS_WAVE;

/// The ends client. First a wave of calls: a part that fails every time and uses both its
/// attempts (one retry each), a part answered 404 and a part whose 503 asks for more than
/// `max_delay` (no retry at all); then, a quarter of a second later, a wave that fails once.
/// The budget's floor holds the first part's retries and about a wave more, so the second wave
/// still finds a retry for every call. A client that asks the budget for a retry it then does
/// not make (`max_attempts`, a 4xx or the `Retry-After` forbids it) spends a part's worth for
/// nothing, and the second wave finds the budget nearly empty.
fn ends(rng: &mut Rng) -> Client {
    let budget = Budget {
        ratio: 0.1,
        // The first part's 8 retries and 7 of the second wave's 8, however the floor is
        // counted (tower's whole seconds: 12 + 32 / 10 = 15); the 16 a client that pays
        // for nothing spends first leave it 7 short at the most generous (14 × 1.15 s + 3).
        min_per_second: 12 + rng.u32(0..=2),
        window: Duration::from_millis(rng.u64(1000..=1150)),
    };
    let at = |ms, script| Phase::new(ENDS_WAVE, Duration::from_millis(ms), script).spread(SPREAD);
    let phases = [
        at(0, DOWN),
        at(0, Script::NotFound),
        at(0, Script::DownAsking(1)),
        at(250, Script::FailsOnce(None, false)),
    ];
    // Two attempts: the first part's calls use every one.
    phased(rng, 2, (20, 40), budget, &phases)
}

/// One call as played, its times from the moment its client was made.
#[derive(Debug, Clone)]
pub struct Made {
    /// When its client was made: every time below is from then.
    pub made_at: Instant,
    pub returned: Duration,
    pub got: Result<Result<SeenResponse, SeenError>, NoOutcome>,
    /// Its attempts, as the upstream saw them.
    pub attempts: Vec<Attempt>,
}

/// Why a call handed back neither a response nor an error.
#[derive(Debug, Clone)]
pub enum NoOutcome {
    Panicked(String),
    NotReturned(Duration),
    Unexpected,
}

impl std::fmt::Display for NoOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoOutcome::Panicked(problem) => write!(f, "it panicked: {problem}"),
            NoOutcome::NotReturned(limit) => {
                write!(f, "it had not returned after {} s", limit.as_secs())
            }
            NoOutcome::Unexpected => f.write_str("an unexpected reply"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: Duration,
    pub ended: Option<Duration>,
    pub reply: Reply,
}

/// A client as played: its calls, in the plan's order. `Err` when `new` failed.
pub type Played = Result<Vec<Made>, String>;

/// A round as played: each client, how late the machine's timers ran meanwhile, and how long
/// the learner's code took to answer a ping, moment by moment.
#[derive(Debug)]
pub struct Round {
    pub clients: Roles<Played>,
    pub lag: Duration,
    pub lateness: Lateness,
}

/// Plays every client of `plan` at once.
pub async fn play(learner: &Learner, plan: &Plan, round: u32) -> Result<Round, Lost> {
    let lag = Lag::start();
    let lateness = RefCell::new(Lateness::default());
    let playing = plan.clients.as_ref().into_array().into_iter().enumerate();
    let playing =
        join_all(playing.map(|(index, client)| {
            play_client(learner, client, round * ROLES as u32 + index as u32)
        }));
    let played = learner.gauged(PROBE_EVERY, &lateness, playing).await?;
    let played: [_; ROLES] = played.try_into().unwrap_or_else(|_| unreachable!("one per role"));
    Ok(Round {
        clients: Roles::from_array(played).transpose()?,
        lag: lag.worst(),
        lateness: lateness.into_inner(),
    })
}

pub async fn play_client(learner: &Learner, client: &Client, id: u32) -> Result<Played, Lost> {
    let script = client.script.clone();
    let counts = Mutex::new(HashMap::<usize, usize>::new());
    let started = Instant::now();
    let answer = move |seen: &Seen| {
        let call: usize =
            seen.path().rsplit('/').next().and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
        let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
        let attempt = counts.entry(call).or_default();
        *attempt += 1;
        let script = script.get(call).copied().unwrap_or(Script::NotFound);
        reply(script, *attempt, started.elapsed())
    };
    let (upstream, opener) = match client.refuses_for {
        Some(_) => {
            let (upstream, opener) = Upstream::refusing(Options::default(), answer);
            (upstream, Some(opener))
        }
        None => (Upstream::start(answer).await, None),
    };
    let upstream = Arc::new(upstream);
    let new = Call::New {
        id,
        policy: Policy::from(client.policy),
        budget: client.budget,
        timeout: client.timeout,
    };
    let made_at = Instant::now();
    match learner.call("BudgetedClient::new()", &new, Duration::from_secs(5)).await? {
        Returned::Value(Came::Made(Ok(()))) => {}
        Returned::Value(
            Came::Made(Err(problem)) | Came::Got(Err(SeenError { text: problem, .. })),
        )
        | Returned::Panicked(problem) => {
            return Ok(Err(format!("BudgetedClient::new() failed: {problem}")));
        }
        Returned::Value(Came::Got(Ok(_))) => return Ok(Err("an unexpected reply".into())),
        Returned::TimedOut(_) => return Ok(Err("BudgetedClient::new() did not return".into())),
    }
    let opening = async {
        if let (Some(after), Some(opener)) = (client.refuses_for, opener) {
            tokio::time::sleep_until((made_at + after).into()).await;
            opener.open();
        }
    };
    let calls = join_all(client.calls.iter().enumerate().map(|(call, at)| {
        let url = format!("{}/c{id}/{call}", upstream.base);
        async move {
            tokio::time::sleep_until((made_at + *at).into()).await;
            let came =
                learner.call("get()", &Call::Get { id, url }, Duration::from_secs(6)).await?;
            let returned = made_at.elapsed();
            let got = match came {
                Returned::Value(Came::Got(got)) => Ok(got),
                Returned::Value(Came::Made(Err(problem))) | Returned::Panicked(problem) => {
                    Err(NoOutcome::Panicked(problem))
                }
                Returned::Value(Came::Made(Ok(()))) => Err(NoOutcome::Unexpected),
                Returned::TimedOut(limit) => Err(NoOutcome::NotReturned(limit)),
            };
            Ok::<_, Lost>((returned, got))
        }
    }));
    let (calls, ()) = futures_util::future::join(calls, opening).await;
    upstream
        .wait_until(Duration::from_millis(300), |seen| seen.iter().all(|seen| seen.ended.is_some()))
        .await;
    let seen = upstream.seen();
    let mut made = Vec::new();
    for (call, outcome) in calls.into_iter().enumerate() {
        let (returned, got) = outcome?;
        let path = format!("/c{id}/{call}");
        let attempts = seen
            .iter()
            .filter(|seen| seen.path() == path)
            .map(|seen| Attempt {
                at: seen.at.saturating_duration_since(made_at),
                ended: seen.ended.map(|ended| ended.saturating_duration_since(made_at)),
                reply: seen.reply.clone(),
            })
            .collect();
        made.push(Made { made_at, returned, got, attempts });
    }
    Ok(Ok(made))
}

fn reply(script: Script, attempt: usize, since_start: Duration) -> Reply {
    match (script, attempt) {
        (Script::Flapping(period), _) => {
            let turn = since_start.as_nanos() / period.as_nanos().max(1);
            Reply::status(if turn.is_multiple_of(2) { 503 } else { 200 })
        }
        (Script::FailsOnce(_, true), 1) => Reply::Reset,
        (Script::DownAsking(seconds), 1) => {
            Reply::status(503).with_header("retry-after", &seconds.to_string())
        }
        (Script::DownAsking(_), _) => Reply::status(503),
        // Each attempt fails otherwise than the one before: a call hands back the last.
        (Script::Down(0), _) => Reply::Reset,
        // Each attempt a 5xx other than the one before: a call hands back the last.
        (Script::Down(first), attempt) => Reply::status(turn(first, attempt)),
        (Script::Asking(status, seconds), 3) => {
            Reply::status(status).with_header("retry-after", &seconds.to_string())
        }
        (Script::Asking(status, _), 1 | 2 | 4) => Reply::status(turn(status, attempt)),
        (Script::TimesOutOnce, 1) => Reply::Silence,
        (Script::Mixed(first, reset_first), attempt) => {
            if attempt % 2 == usize::from(reset_first) {
                Reply::Reset
            } else {
                Reply::status(turn(first, attempt.div_ceil(2)))
            }
        }
        (Script::FailsOnce(Some(seconds), _), 1) => {
            Reply::status(503).with_header("retry-after", &seconds.to_string())
        }
        (Script::FailsOnce(..), 1) => Reply::status(503),
        (Script::FailsLate(at), 1) => {
            Reply::Delayed(at.saturating_sub(since_start), Box::new(Reply::status(503)))
        }
        (Script::NotFound, _) => Reply::status(404),
        (Script::Slow(after), _) => Reply::Delayed(after, Box::new(Reply::status(200))),
        (
            Script::FailsOnce(..)
            | Script::FailsLate(_)
            | Script::Fine
            | Script::Asking(..)
            | Script::TimesOutOnce,
            _,
        ) => Reply::status(200),
    }
}

/// The 5xx of a call's `attempt`-th failure (from 1), starting with `first`: each other than
/// the one before, so that a call that hands back the wrong one shows.
fn turn(first: u16, attempt: usize) -> u16 {
    const TURNS: [u16; 4] = [500, 502, 503, 504];
    let from = TURNS.iter().position(|status| *status == first).unwrap_or(0);
    TURNS[(from + attempt - 1) % TURNS.len()]
}
