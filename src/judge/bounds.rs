//! Every timing slack the checks allow, in one place, each under a name that says what it
//! bounds. A check compares what it measured with a [`Bound`], never with a bare number.
//!
//! Two sides, tight enough to tell 1.2× from 1× and loose enough for a busy machine:
//! - **lower bounds are exact**: a wait the rules ask for is never cut short, whatever the load
//!   (a busy machine makes waits longer, never shorter), so only the clock's grain is allowed;
//! - **upper bounds are proportional**: `expected × (1 + RATE) + FLOOR`, where the rate is small
//!   (a wait 20 % too long is caught once it is long enough to measure) and the floor covers what
//!   a loopback round trip and a timer cost. A timing verdict that fails is replayed before it is
//!   shown ([`super::confirm`]), so a load spike that stretches one wait is not a ✗.

mod lag;

use std::fmt;
use std::time::{Duration, Instant};

pub use self::lag::{Lag, QUIET_LAG};

/// How much earlier than asked a timer may seem to fire: the clocks' grain (tokio's timer
/// wheel has 1 ms slots, and two clocks are read).
pub const CLOCK_GRAIN: Duration = Duration::from_millis(2);

/// The part of an upper bound that grows with what is bounded.
pub const LATE_RATE: f64 = 0.05;

/// What every upper bound allows on top: a loopback round trip, a timer firing late, a task
/// scheduled late on a busy machine.
pub const LATE_FLOOR: Duration = Duration::from_millis(30);

/// How long an answer the rules want "at once" may take: no wait, no upstream call, just a
/// loopback round trip through the learner's server on a busy machine.
pub const AT_ONCE: Duration = Duration::from_millis(150);

/// What a flood adds to the answers a server does give: while it answers dozens of requests
/// released together (refusing most of them), the ones it serves wait for a worker a little, on
/// a busy machine. Smaller than a queue adds, which is a whole backend call of 200 ms or more.
pub const UNDER_FLOOD: Duration = Duration::from_millis(150);

/// How far apart two processes' waits for the same call of the same scenario may be and still
/// count as drawn alike (a generator seeded with a constant): what scheduling adds to each, a
/// millisecond or two, 7 at worst beside two CPU hogs. Two processes that draw apart, even with
/// equal jitter (spread over d/2 of a 200 ms d, the narrowest the course allows), wait alike
/// within it about one time in seven; half of forty waits alike, about once in 10⁷ runs.
pub const ALIKE_BETWEEN_PROCESSES: Duration = Duration::from_millis(8);

/// How much longer than a control request sent beside it an answer that asks nobody may take,
/// in the median over a dozen or more: nothing, but for what scheduling adds to one and not the
/// other (lesson 5's refusals). A pause of a few tens of milliseconds, under [`LATE_FLOOR`] on
/// each, shows in the median.
pub const REFUSAL_LAG: Duration = Duration::from_millis(10);

/// How much sooner than its timeout a client may seem to hang up on an upstream that never
/// finished answering, as the upstream sees it (from the request read to the hang-up): the way
/// there, connecting and writing, which the client's clock counts and the upstream's does not.
/// A client that gives up 15 ms early shows past it (lesson 4).
pub const EARLY_HANG_UP: Duration = Duration::from_millis(8);

/// How late the machine's timers may run in a replay for its pass to tell that no client hangs
/// up early: one 15 ms early shows past [`EARLY_HANG_UP`] and the way to the upstream only while
/// the lag allowed on top stays under about 7 ms (lesson 4).
pub const HANG_UP_TELLS: Duration = Duration::from_millis(5);

/// How widely apart the earliest and the latest moment a breaker can have opened may lie before
/// a walk that passed is played again (lesson 5): the service passing the inventory's answer on,
/// a millisecond or two on a quiet machine. Wider, a cooldown a sixth short (counted from a
/// moment the judge cannot pin) could hide in it.
pub const OPENED_WITHIN: Duration = Duration::from_millis(25);

/// How long the judge's own servers and clients wait for anything before calling it silence.
pub const PATIENCE: Duration = Duration::from_secs(3);

/// What a call's time limit allows each attempt beyond its wait: a connection opened, a
/// request sent and its answer read. A cargo build beside the tests made that 30 ms a retry,
/// and a right client of seventy-nine retries at a cap of 24 ms ran past a limit that allowed
/// none (lesson 3).
pub const ATTEMPT_ROUND_TRIP: Duration = Duration::from_millis(40);

/// How long answers the rules want "at once" may take on average, over many of them: a busy
/// machine stretches some, never all (lesson 9).
pub const AT_ONCE_ON_AVERAGE: Duration = Duration::from_millis(75);

/// The share of a deadline that an answer the deadline ends may come before it: a service may
/// keep a little of its caller's budget for the answer's own way back (lesson 7).
pub const DEADLINE_HEADROOM: f64 = 0.1;

/// How much time a retry the rules require must still leave before the deadline, once its
/// longest wait is over (and the machine's lateness): a client may skip an attempt that would
/// have less (lesson 7). The lesson's floor is a few milliseconds; this accepts one of up to
/// about 50 ms, with room for the answer's way to the client and its wake-up.
pub const ROOM_TO_RETRY: Duration = Duration::from_millis(60);

/// How much later than the judge's a deadline the judge describes may start in the learner's
/// process: the call's way there, on a busy machine (lesson 7). A wait the judge sees ending
/// this much past its own deadline ends past the learner's too.
pub const CALL_SKEW: Duration = Duration::from_millis(15);

/// How long the thread that runs the learner's calls may be held before the judge concludes
/// that its code blocks it (`std::thread::sleep`, a loop that never awaits): a busy machine
/// delays a task by tens of milliseconds, not by a quarter of a second.
pub const STALL: Duration = Duration::from_millis(250);

/// A range a measured duration must fall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub at_least: Duration,
    pub at_most: Duration,
}

impl Bound {
    /// Around a duration the rules fix: never shorter (but for the clock's grain), and at most
    /// proportionally longer.
    pub fn around(expected: Duration) -> Self {
        Self { at_least: expected.saturating_sub(CLOCK_GRAIN), at_most: late(expected) }
    }

    /// Between two durations the rules allow (jitter: anywhere from `low` to `high`).
    pub fn between(low: Duration, high: Duration) -> Self {
        Self { at_least: low.saturating_sub(CLOCK_GRAIN), at_most: late(high) }
    }

    /// "At once": no more than [`AT_ONCE`].
    pub fn at_once() -> Self {
        Self { at_least: Duration::ZERO, at_most: AT_ONCE }
    }

    /// No wait at all, where a control request sent beside it says how long a round trip takes
    /// now (add it with [`Bound::later_by`]): no more than [`LATE_FLOOR`] on top. A pause of a
    /// tenth of a second, which [`Bound::at_once`] lets through, shows.
    pub fn no_wait() -> Self {
        Self { at_least: Duration::ZERO, at_most: LATE_FLOOR }
    }

    /// The same bound, its upper side later by `latency`: what a control request sent when the
    /// answer was due took, on the same machine at the same moment. On an idle machine that is
    /// a few milliseconds and the bound stays tight; on a busy one every answer is late by
    /// about as much, right or wrong.
    pub fn later_by(self, latency: Duration) -> Self {
        Self { at_most: self.at_most + latency, ..self }
    }

    /// The same bound, its upper side no later than `most`: a control request slowed by the
    /// very fault it measures (every answer of a server held up alike) widens it no further.
    pub fn no_later_than(self, most: Duration) -> Self {
        Self { at_most: self.at_most.min(most), ..self }
    }

    pub fn holds(&self, measured: Duration) -> bool {
        self.at_least <= measured && measured <= self.at_most
    }

    /// Whether `measured` came too early, too late, or in time.
    pub fn judge(&self, measured: Duration) -> Timing {
        if measured < self.at_least {
            Timing::Early
        } else if measured > self.at_most {
            Timing::Late
        } else {
            Timing::InTime
        }
    }

    /// When a deadline `deadline` away ends the wait: not after it (but for the usual slack),
    /// and not long before it ([`DEADLINE_HEADROOM`]).
    pub fn by_deadline(deadline: Duration) -> Self {
        Self {
            at_least: deadline.mul_f64(1.0 - DEADLINE_HEADROOM).saturating_sub(CLOCK_GRAIN),
            at_most: late(deadline),
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", millis(self.at_least), millis(self.at_most))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Early,
    InTime,
    Late,
}

/// How late the machine ran, moment by moment: the round trips of a probe the judge keeps
/// sending while it measures (a ping to the learner's process, answered on the thread that runs
/// its code). A load that holds the probe up for 80 ms holds a retry up as much: a wait measured
/// across that moment may be that much longer with nobody's code at fault. Only upper bounds
/// are raised by it; a wait cut short is never the machine's doing.
#[derive(Debug, Clone, Default)]
pub struct Lateness {
    probes: Vec<(Instant, Duration)>,
}

/// How many times a probe's delay what is measured may run late by: the probe meets the
/// machine's scheduler twice (there and back); a retry or an answer meets it at more points (a
/// timer, the learner's runtime, a connection accepted, the judge's runtime), each as late.
pub const LATE_PER_PROBE: u32 = 2;

/// How often a round that lasts seconds pings the learner to see how late its process runs
/// ([`crate::judge::Learner::gauged`]), and how often where single waits are judged by the
/// probes around them ([`Lateness::during`]): several fall within [`PROBE_REACH`] of each.
pub const PROBE_EVERY: Duration = Duration::from_millis(20);
pub const PROBE_OFTEN: Duration = Duration::from_millis(5);

/// How far before and after a measured interval a probe still tells how busy the machine was:
/// what is measured ends with a few hops that a probe sent just after meets as well.
pub const PROBE_REACH: Duration = Duration::from_millis(100);

/// The most [`Lateness::during`] allows, however busy the machine: past this, the machine is
/// too busy to judge time by, and a wait too long is too long (confirm plays it again anyway).
pub const MOST_LATE: Duration = Duration::from_millis(200);

/// The longest lesson 6's handover may go without a request while the first answer is being
/// stored. Quiet, the judge sends one every millisecond; beside two CPU hogs its holes reach
/// 15 ms, and a judge held up for longer (900 ms was seen) may miss a claim let go 100 ms before
/// its answer is stored: such a race's pass is played again.
pub const HANDOVER_HOLE: Duration = Duration::from_millis(30);

/// How long a probe must be held up for the machine to count as too busy to tell a wait too
/// long from one a busy moment stretched ([`Lateness::too_busy`]); on a quiet machine a probe
/// comes back within a few milliseconds.
pub const TOO_BUSY: Duration = Duration::from_millis(30);

impl Lateness {
    /// Notes a probe sent at `sent` that took `took` to come back.
    pub fn note(&mut self, sent: Instant, took: Duration) {
        self.probes.push((sent, took));
    }

    /// How much later than its bound a duration measured from `from` to `to` may end: the
    /// longest a probe was held up around that interval ([`PROBE_REACH`] either side),
    /// [`LATE_PER_PROBE`] times (nothing, when no probe was), and [`MOST_LATE`] at most.
    pub fn during(&self, from: Instant, to: Instant) -> Duration {
        (self.longest_around(from, to) * LATE_PER_PROBE).min(MOST_LATE)
    }

    /// Whether the machine ran so late around `from`..`to` (a probe held [`TOO_BUSY`] or more)
    /// that a wait too long measured there tells nothing of the code that waited: waits there
    /// ran late by more than twice a probe's delay (seen beside two CPU hogs: probes held
    /// 37–97 ms, a right answer's waits 130–540 ms past their bounds).
    pub fn too_busy(&self, from: Instant, to: Instant) -> bool {
        self.longest_around(from, to) >= TOO_BUSY
    }

    /// The longest a probe was held up around `from`..`to` ([`PROBE_REACH`] either side).
    fn longest_around(&self, from: Instant, to: Instant) -> Duration {
        let (from, to) = (from.checked_sub(PROBE_REACH).unwrap_or(from), to + PROBE_REACH);
        self.probes
            .iter()
            .filter(|(sent, took)| *sent <= to && *sent + *took >= from)
            .map(|(_, took)| *took)
            .max()
            .unwrap_or_default()
    }

    /// Whether a probe in flight at `at` took longer than `by`: a moment the judge (or the
    /// learner's process) was held up, when whatever it stamped may have been stamped late.
    pub fn held_at(&self, at: Instant, by: Duration) -> bool {
        self.probes.iter().any(|(sent, took)| *took > by && *sent <= at && at <= *sent + *took)
    }

    /// The longest a probe was held up at all.
    pub fn longest(&self) -> Duration {
        self.probes.iter().map(|(_, took)| *took).max().unwrap_or_default()
    }
}

/// The latest a duration of `expected` may seem to take: proportional, plus the floor.
pub fn late(expected: Duration) -> Duration {
    expected.mul_f64(1.0 + LATE_RATE) + LATE_FLOOR
}

/// How long the judge waits for an answer due after `expected` before it hangs up: past the
/// latest the answer may come by half as much again (and a little), so that a late answer is
/// seen and shown with how late it came, and an answer that never comes costs a bounded wait.
pub fn patience_for(expected: Duration) -> Duration {
    late(expected) + expected / 2 + Duration::from_millis(100)
}

/// A duration as a report shows it: `1 234 ms`, or `12.3 s` once it is long.
pub fn millis(duration: Duration) -> String {
    if duration >= Duration::from_secs(10) {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_twenty_percent_too_long_is_late_once_it_is_long_enough_to_measure() {
        let expected = Duration::from_millis(400);
        assert!(Bound::around(expected).holds(Duration::from_millis(430)));
        assert_eq!(Bound::around(expected).judge(Duration::from_millis(480)), Timing::Late);
        assert_eq!(Bound::around(expected).judge(Duration::from_millis(390)), Timing::Early);
    }

    #[test]
    fn a_control_latency_widens_the_upper_side_alone() {
        let bound = Bound::around(Duration::from_millis(400)).later_by(Duration::from_millis(60));
        assert_eq!(bound.at_least, Duration::from_millis(398));
        assert!(
            bound.holds(Duration::from_millis(490)) && !bound.holds(Duration::from_millis(520))
        );
    }

    #[test]
    fn the_judge_waits_well_past_the_latest_an_answer_may_come() {
        let expected = Duration::from_millis(400);
        assert!(patience_for(expected) > Bound::around(expected).at_most + expected / 2);
    }

    #[test]
    fn lateness_raises_a_bound_by_the_probes_held_up_meanwhile() {
        let start = Instant::now();
        let at = |millis| start + Duration::from_millis(millis);
        let mut lateness = Lateness::default();
        lateness.note(at(0), Duration::from_millis(1));
        lateness.note(at(20), Duration::from_millis(60));
        lateness.note(at(200), Duration::from_millis(2));
        assert_eq!(lateness.during(at(50), at(150)), Duration::from_millis(120));
        lateness.note(at(700), Duration::from_secs(1));
        assert_eq!(lateness.during(at(700), at(800)), MOST_LATE);
        assert!(lateness.too_busy(at(700), at(800)) && lateness.too_busy(at(50), at(150)));
        assert!(!lateness.too_busy(at(300), at(350)) && !lateness.too_busy(at(500), at(550)));
        assert_eq!(lateness.during(at(300), at(350)), Duration::from_millis(4));
        assert_eq!(lateness.during(at(500), at(550)), Duration::ZERO);
        let bound = Bound::around(Duration::from_millis(100)).later_by(lateness.longest());
        assert!(bound.holds(Duration::from_millis(190)) && !bound.holds(Duration::from_millis(97)));
    }

    #[test]
    fn a_moment_is_held_while_a_probe_that_took_longer_than_asked_was_out() {
        let start = Instant::now();
        let at = |millis| start + Duration::from_millis(millis);
        let mut lateness = Lateness::default();
        lateness.note(at(20), Duration::from_millis(60));
        lateness.note(at(100), Duration::from_millis(3));
        let by = Duration::from_millis(5);
        assert!(lateness.held_at(at(20), by) && lateness.held_at(at(80), by));
        assert!(!lateness.held_at(at(19), by) && !lateness.held_at(at(81), by));
        assert!(!lateness.held_at(at(101), by), "a probe back in 3 ms held nothing up");
        assert!(!lateness.held_at(at(50), Duration::from_millis(60)));
    }

    #[test]
    fn jitter_bounds_span_the_range_and_a_little_past_its_top() {
        let bound = Bound::between(Duration::ZERO, Duration::from_millis(100));
        assert!(bound.holds(Duration::ZERO) && bound.holds(Duration::from_millis(130)));
        assert!(!bound.holds(Duration::from_millis(200)));
        assert_eq!(bound.to_string(), "0 ms–135 ms");
    }

    #[test]
    fn an_answer_ended_by_a_deadline_may_come_a_little_before_it_never_much_after() {
        let bound = Bound::by_deadline(Duration::from_millis(500));
        assert!(bound.holds(Duration::from_millis(460)) && bound.holds(Duration::from_millis(550)));
        assert_eq!(bound.judge(Duration::from_millis(400)), Timing::Early);
        assert_eq!(bound.judge(Duration::from_millis(600)), Timing::Late);
    }
}
