//! What one run of lesson 5 does, drawn from the seed: four instances of the learner's service,
//! each with its own policy and timeout, and the walk each goes through: the phases of the
//! breaker's cycle, the items asked for in each, and what the inventory does with each one.

use std::time::Duration;

use httplings::BreakerPolicy;

use crate::judge::seed::{self, Rng};

/// What the inventory does with a request for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Script {
    /// 200 with the item, after this long.
    Item(Duration),
    /// 404: no such item. An answer: the inventory works.
    Missing,
    /// A failure, after this long.
    Fault(Fault, Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    Status(u16),
    /// 200 with an HTML page.
    Html,
    /// 200 with another item.
    OtherItem,
    /// The connection reset.
    Reset,
    /// No answer at all.
    Silence,
}

/// The failures that answer at once.
const QUICK: [Fault; 7] = [
    Fault::Status(500),
    Fault::Status(502),
    Fault::Status(504),
    Fault::Status(507),
    Fault::Html,
    Fault::OtherItem,
    Fault::Reset,
];

impl Script {
    pub(super) fn fails(self) -> bool {
        matches!(self, Script::Fault(..))
    }

    /// How long the inventory holds it (a silence: until the caller gives up).
    pub(super) fn delay(self) -> Option<Duration> {
        match self {
            Script::Fault(Fault::Silence, _) => None,
            Script::Item(delay) | Script::Fault(_, delay) => Some(delay),
            Script::Missing => Some(Duration::ZERO),
        }
    }
}

/// One item, asked for once (or again, to see that nothing answers from a cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Item {
    pub(super) id: u32,
    /// Drawn: no answer can make it up.
    pub(super) stock: u32,
    pub(super) script: Script,
}

impl Item {
    pub(super) fn path(&self) -> String {
        format!("/items/{}", self.id)
    }
}

/// A stretch of an instance's walk.
#[derive(Debug, Clone)]
pub(super) enum Phase {
    /// One request after the other. `trips`: the last makes `threshold` failures in a row.
    Run { items: Vec<Item>, trips: bool },
    /// threshold − 1 failures one after the other; then `slow`, held by the inventory; while it
    /// waits, `trip` fails at once and opens the breaker, so that `slow` comes back after.
    Trip { run: Vec<Item>, slow: Item, trip: Item },
    /// Just opened: a burst at once (items asked before among them), the health endpoints,
    /// and `late` shortly before the cooldown ends; then a wait until it has.
    Open { burst: Vec<Item>, late: Option<Item> },
    /// The cooldown is over: `crowd` released together (or one request alone), then bursts of
    /// stragglers, each at its time after the inventory got the trial, while it holds it.
    Trial { crowd: Vec<Item>, stragglers: Vec<(Duration, Vec<Item>)> },
    /// A failed trial has just opened the breaker again: `now` at once, `halfway` half a
    /// cooldown after the trial ended; then a wait until the new cooldown is over.
    Reopened { now: Item, halfway: Option<Item> },
    /// A trial whose client hangs up once the inventory has it; `burst` right after; `after`
    /// once a cooldown has passed since.
    HangUp { trial: Item, burst: Vec<Item>, after: Item },
    /// Draining starts while `slow` is on its way.
    Drain { slow: Item },
}

/// One instance of the learner's service and its walk.
#[derive(Debug, Clone)]
pub(super) struct Instance {
    pub(super) name: &'static str,
    pub(super) policy: BreakerPolicy,
    /// How long the service may wait for the inventory.
    pub(super) timeout: Duration,
    pub(super) phases: Vec<Phase>,
}

impl Instance {
    /// Every item its walk asks for.
    pub(super) fn items(&self) -> Vec<Item> {
        self.phases.iter().flat_map(Phase::items).collect()
    }
}

impl Phase {
    fn items(&self) -> Vec<Item> {
        match self {
            Phase::Run { items, .. } => items.clone(),
            Phase::Trip { run, slow, trip } => run.iter().chain([slow, trip]).copied().collect(),
            Phase::Open { burst, late } => burst.iter().chain(late).copied().collect(),
            Phase::Trial { crowd, stragglers } => crowd
                .iter()
                .chain(stragglers.iter().flat_map(|(_, burst)| burst))
                .copied()
                .collect(),
            Phase::Reopened { now, halfway } => [*now].into_iter().chain(*halfway).collect(),
            Phase::HangUp { trial, burst, after } => {
                [*trial, *after].into_iter().chain(burst.iter().copied()).collect()
            }
            Phase::Drain { slow } => vec![*slow],
        }
    }

    /// The items of its runs of failures that open the breaker: where counting a kind of
    /// failure, or not, shows.
    fn counted(&mut self) -> Vec<&mut Item> {
        match self {
            Phase::Run { items, trips: true } => items.iter_mut().collect(),
            Phase::Trip { run, trip, .. } => run.iter_mut().chain([trip]).collect(),
            _ => Vec::new(),
        }
    }
}

/// Every instance of one run.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) instances: Vec<Instance>,
}

/// Hands out items, each with an id of its own.
struct Items {
    rng: Rng,
    ids: Vec<u32>,
}

impl Items {
    fn new(rng: &mut Rng) -> Self {
        Self { ids: seed::distinct(rng, 1..u32::MAX, 400), rng: rng.fork() }
    }

    fn make(&mut self, script: Script) -> Item {
        let id = self.ids.pop().expect("enough ids for a run");
        Item { id, stock: self.rng.u32(..100_000), script }
    }

    fn quick_failures(&mut self, count: usize) -> Vec<Item> {
        (0..count)
            .map(|_| {
                let fault = *seed::pick(&mut self.rng, &QUICK);
                self.make(Script::Fault(fault, Duration::ZERO))
            })
            .collect()
    }

    fn healthy(&mut self, count: usize) -> Vec<Item> {
        (0..count).map(|_| self.make(Script::Item(Duration::ZERO))).collect()
    }

    /// Twice threshold − 1 failures, each time one short of opening: after the first, a
    /// success, which starts the count again; after the second, a 404, which would open a
    /// breaker that counted it, then a success, so that ignoring the 404 is as fine as a reset.
    fn one_short(&mut self, threshold: u32) -> Phase {
        let mut items = self.quick_failures(threshold as usize - 1);
        items.push(self.make(Script::Item(Duration::ZERO)));
        items.extend(self.quick_failures(threshold as usize - 1));
        items.push(self.make(Script::Missing));
        items.push(self.make(Script::Item(Duration::ZERO)));
        Phase::Run { items, trips: false }
    }

    /// threshold − 1 failures, then a slow success overtaken by the failure that opens.
    fn late_trip(&mut self, threshold: u32, slow: Duration) -> Phase {
        let run = self.quick_failures(threshold as usize - 1);
        let trip = self.quick_failures(1)[0];
        Phase::Trip { run, slow: self.make(Script::Item(slow)), trip }
    }

    /// A burst of `count` requests as the breaker opens: fresh items and, where it has some, one
    /// asked before with success (an answer from a cache would show).
    fn open_burst(&mut self, count: usize, asked: &[Item]) -> Vec<Item> {
        let mut burst = self.healthy(count);
        let served: Vec<&Item> =
            asked.iter().filter(|item| item.script == Script::Item(Duration::ZERO)).collect();
        if !served.is_empty() {
            burst[0] = *served[self.rng.usize(..served.len())];
        }
        burst
    }

    /// Straggler bursts while the inventory holds a trial for `held`: early, in the middle and
    /// late, and at `also` (just past a cooldown) when that falls within it.
    fn stragglers(&mut self, held: Duration, also: Option<Duration>) -> Vec<(Duration, Vec<Item>)> {
        let mut times: Vec<Duration> =
            [0.15, 0.5, 0.85].iter().map(|&share| held.mul_f64(share)).collect();
        times.extend(also.filter(|at| *at < held.mul_f64(0.85)));
        times.sort();
        times
            .into_iter()
            .map(|at| {
                let count = self.rng.usize(2..=3);
                (at, self.healthy(count))
            })
            .collect()
    }
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let mut items = Items::new(&mut rng);
        let thresholds = thresholds(&mut rng);
        let mut instances = vec![
            timed_out(&mut rng, &mut items, thresholds[0]),
            drained(&mut rng, &mut items, thresholds[1]),
            abandoned(&mut rng, &mut items, thresholds[2]),
            counting_down(&mut rng, &mut items, thresholds[3]),
        ];
        place_every_fault(&mut rng, &mut instances);
        Plan { instances }
    }
}

/// Four thresholds from 3 to 5, never all the same: none can be written into an answer.
fn thresholds(rng: &mut Rng) -> [u32; 4] {
    let first = rng.u32(3..=5);
    [first, rng.u32(3..=5), rng.u32(3..=5), 3 + (first - 3 + rng.u32(1..=2)) % 3]
}

fn drawn(rng: &mut Rng, low_ms: u64, high_ms: u64) -> Duration {
    seed::duration_spread(rng, Duration::from_millis(low_ms), Duration::from_millis(high_ms))
}

fn policy(threshold: u32, cooldown: Duration) -> BreakerPolicy {
    BreakerPolicy { failure_threshold: threshold, cooldown }
}

/// How long a slow success takes: long enough to see who waits for it, short of the timeout.
fn slow(timeout: Duration) -> Duration {
    timeout.mul_f64(0.6)
}

/// A: the counting subtleties first, a trial that times out, a crowd when the cooldown is over.
fn timed_out(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    let (cooldown, timeout) = (drawn(rng, 350, 550), drawn(rng, 300, 450));
    let mut phases = vec![items.one_short(threshold)];
    phases.push(items.late_trip(threshold, slow(timeout)));
    let asked: Vec<Item> = phases.iter().flat_map(Phase::items).collect();
    phases.push(Phase::Open { burst: items.open_burst(rng.usize(3..=5), &asked), late: None });
    let silent = items.make(Script::Fault(Fault::Silence, Duration::ZERO));
    phases.push(Phase::Trial { crowd: vec![silent], stragglers: items.stragglers(timeout, None) });
    // Half a cooldown after a trial of `timeout`: only telling when the trial outlasts it enough.
    let halfway = (timeout > cooldown / 2 + Duration::from_millis(80)).then(|| items.healthy(1)[0]);
    phases.push(Phase::Reopened { now: items.healthy(1)[0], halfway });
    let held = timeout.mul_f64(0.7);
    let crowd = (0..rng.usize(4..=8)).map(|_| items.make(Script::Item(held))).collect();
    phases.push(Phase::Trial { crowd, stragglers: items.stragglers(held, None) });
    phases.push(Phase::Run { items: items.quick_failures(threshold as usize), trips: true });
    phases.push(Phase::Open { burst: items.healthy(rng.usize(2..=4)), late: None });
    Instance { name: "A", policy: policy(threshold, cooldown), timeout, phases }
}

/// B: drained from the start with a request in flight; trials that outlast the cooldown; a
/// trial that fails slowly, so that a cooldown counted from its start shows.
fn drained(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    let timeout = drawn(rng, 400, 480);
    let held = timeout.mul_f64(0.7);
    let cooldown = held.mul_f64(rng.f64() * 0.15 + 0.5);
    let mut phases = vec![
        Phase::Drain { slow: items.make(Script::Item(slow(timeout))) },
        Phase::Run { items: items.quick_failures(threshold as usize), trips: true },
        Phase::Open { burst: items.healthy(rng.usize(2..=4)), late: None },
    ];
    let status = *seed::pick(rng, &[500, 502, 503, 504]);
    let failing = items.make(Script::Fault(Fault::Status(status), held));
    let lease = Some(cooldown + Duration::from_millis(40));
    phases.push(Phase::Trial { crowd: vec![failing], stragglers: items.stragglers(held, lease) });
    phases.push(Phase::Reopened { now: items.healthy(1)[0], halfway: Some(items.healthy(1)[0]) });
    let succeeding = items.make(Script::Item(held));
    phases
        .push(Phase::Trial { crowd: vec![succeeding], stragglers: items.stragglers(held, lease) });
    phases.push(items.one_short(threshold));
    phases.push(items.late_trip(threshold, slow(timeout)));
    phases.push(Phase::Open { burst: items.healthy(rng.usize(2..=4)), late: None });
    Instance { name: "B", policy: policy(threshold, cooldown), timeout, phases }
}

/// W: a trial that fails at once, then one whose client hangs up.
fn abandoned(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    let (cooldown, timeout) = (drawn(rng, 300, 450), drawn(rng, 250, 400));
    let mut phases = vec![
        Phase::Run { items: items.quick_failures(threshold as usize), trips: true },
        Phase::Open { burst: items.healthy(rng.usize(2..=4)), late: None },
        Phase::Trial { crowd: items.quick_failures(1), stragglers: Vec::new() },
        Phase::Reopened { now: items.healthy(1)[0], halfway: None },
        Phase::HangUp {
            trial: items.make(Script::Item(timeout.mul_f64(0.7))),
            burst: items.healthy(3),
            after: items.healthy(1)[0],
        },
        items.one_short(threshold),
    ];
    phases.push(items.late_trip(threshold, slow(timeout)));
    phases.push(Phase::Open { burst: items.healthy(rng.usize(2..=4)), late: None });
    Instance { name: "W", policy: policy(threshold, cooldown), timeout, phases }
}

/// V: a cooldown over a second long, so that Retry-After counts down through whole seconds.
fn counting_down(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    let (cooldown, timeout) = (drawn(rng, 1_050, 1_250), drawn(rng, 250, 350));
    let held = timeout.mul_f64(0.7);
    let crowd = (0..rng.usize(4..=8)).map(|_| items.make(Script::Item(held))).collect();
    let mut phases = vec![
        Phase::Run { items: items.quick_failures(threshold as usize), trips: true },
        Phase::Open { burst: items.healthy(rng.usize(2..=4)), late: Some(items.healthy(1)[0]) },
        Phase::Trial { crowd, stragglers: items.stragglers(held, None) },
        items.one_short(threshold),
    ];
    phases.push(items.late_trip(threshold, slow(timeout)));
    phases.push(Phase::Open { burst: items.healthy(rng.usize(2..=4)), late: None });
    Instance { name: "V", policy: policy(threshold, cooldown), timeout, phases }
}

/// Spreads the kinds of failure over the runs that open a breaker, so that every kind is
/// counted where counting it shows, in every run; and one silence among them (B's first run),
/// where a timeout must count like any failure.
fn place_every_fault(rng: &mut Rng, instances: &mut [Instance]) {
    let drained_run = instances[1].phases.iter_mut().find_map(|phase| match phase {
        Phase::Run { items, trips: true } => Some(items),
        _ => None,
    });
    if let Some(run) = drained_run {
        let at = rng.usize(..run.len() - 1);
        run[at].script = Script::Fault(Fault::Silence, Duration::ZERO);
    }
    let mut slots: Vec<&mut Item> = instances
        .iter_mut()
        .flat_map(|instance| instance.phases.iter_mut())
        .flat_map(Phase::counted)
        .filter(|item| item.script.delay().is_some())
        .collect();
    let mut kinds: Vec<Fault> = QUICK.to_vec();
    while kinds.len() < slots.len() {
        kinds.push(*seed::pick(rng, &QUICK));
    }
    rng.shuffle(&mut kinds);
    for (slot, kind) in slots.iter_mut().zip(kinds) {
        slot.script = Script::Fault(kind, Duration::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_failure_is_counted_where_it_shows_in_every_run() {
        for seed in 0..300 {
            let mut plan = Plan::draw(seed);
            let counted: Vec<Script> = plan
                .instances
                .iter_mut()
                .flat_map(|instance| instance.phases.iter_mut())
                .flat_map(|phase| {
                    phase.counted().into_iter().map(|item| item.script).collect::<Vec<_>>()
                })
                .collect();
            for kind in QUICK.iter().chain([&Fault::Silence]) {
                assert!(
                    counted.iter().any(|script| matches!(script, Script::Fault(k, _) if k == kind)),
                    "seed {seed}: {kind:?} never counted"
                );
            }
            let thresholds: Vec<u32> =
                plan.instances.iter().map(|instance| instance.policy.failure_threshold).collect();
            assert!(thresholds.iter().any(|t| *t != thresholds[0]), "seed {seed}");
        }
    }
}
