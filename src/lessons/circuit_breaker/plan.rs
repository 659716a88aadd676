//! What one run of lesson 5 does, drawn from the seed: nine instances of the learner's service,
//! each with its own policy and timeout, and the walk each goes through: the phases of the
//! breaker's cycle, the items asked for in each, and what the inventory does with each one.

use std::time::Duration;

use httplings::BreakerPolicy;

use crate::judge::bounds::LATE_FLOOR;
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
    Reset,
    /// No answer at all.
    Silence,
}

/// The failures that answer at once: the inventory's own 503 among them, a failure of the
/// inventory's like any 5xx (lesson 4's gateway may pass it on).
const QUICK: [Fault; 8] = [
    Fault::Status(500),
    Fault::Status(502),
    Fault::Status(503),
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
    /// threshold − 1 failures; `quiet`, with nothing asked (however long, the failures are still
    /// in a row); then `slow` calls, held by the inventory; while they wait, `trip` fails at once
    /// and opens the breaker, so that they come back after it opened, and are awaited `back`.
    Trip { run: Vec<Item>, quiet: Duration, slow: Vec<Item>, trip: Item, back: Back },
    /// Just opened: `after` that long (nothing asked meanwhile: the cooldown counts from the
    /// failure that opened it, not from the next request), a burst, the health endpoints, `then`
    /// once every answer still to come is back (a late success among them), `edge` (a cooldown
    /// over a second) released together just before less than a whole second is left, and
    /// `late` shortly before the cooldown ends; then (unless it is the last phase) a wait until
    /// it has.
    Open { after: Duration, burst: Vec<Item>, then: Item, edge: Vec<Item>, late: Option<Item> },
    /// The cooldown is over: `crowd` released together (or one request alone), then bursts of
    /// stragglers, each at its time after the inventory got the trial, while it holds it (and
    /// `/health/ready` asked meanwhile). Before it, `early`, each like the crowd's first, sent
    /// so long before the cooldown is over: refused, or the trial should the walk's timer be late.
    Trial { early: Vec<(Item, Duration)>, crowd: Vec<Item>, stragglers: Vec<(Duration, Vec<Item>)> },
    /// A failed trial has just opened the breaker again: `now` at once, `halfway` half a
    /// cooldown after the trial ended; then a wait until the new cooldown is over.
    Reopened { now: Item, halfway: Option<Item> },
    /// A trial whose client hangs up once the inventory has held it `hold`; `burst` right after;
    /// `before` this long before a cooldown has passed since the hang-up (a breaker open for a
    /// cooldown counted from the lost trial's start lets it through); `after` once it has.
    HangUp { trial: Item, hold: Duration, burst: Vec<Item>, before: (Item, Duration), after: Item },
    /// While closed, a request whose client hangs up once the inventory has held it `hold`,
    /// awaited until the inventory's call is over: no failure of the inventory's, it adds
    /// nothing to the count.
    Leaves { item: Item, hold: Duration },
    /// Draining starts while `slow` is on its way; `quick`, asked meanwhile, comes back at once.
    Drain { slow: Item, quick: Item },
    /// The calls of a trip held over to this point come back, one failing and one succeeding,
    /// while the breaker, closed again since, counts threshold − 1 fresh failures: let through
    /// before it last opened, they count for nothing (nor reset the count), and `then`, a
    /// failure, still reaches the inventory and opens the breaker.
    HeldOver { then: Item },
    /// `threshold` failures released together, each held by the inventory a moment so that all
    /// are in flight at once: they open the breaker as surely as a run of them does (a count read
    /// before the call and written after it loses all but one).
    Volley { items: Vec<Item> },
}

/// When the walk awaits the answers of a trip's slow calls, which come back after it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Back {
    /// While the breaker is open.
    Open,
    /// During the next trial, which they come back during.
    Trial,
    /// Once the breaker has closed again: [`Phase::HeldOver`].
    Closed,
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

/// Every instance of one run, and every item they ask for.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) instances: Vec<Instance>,
    pub(super) items: Vec<Item>,
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let mut items = Items::new(&mut rng);
        let [a, b, w, v] = thresholds(&mut rng);
        let [u, s, q, l, j] = [(); 5].map(|()| rng.u32(3..=5));
        let [fails_b, fails_u, fails_w] = trial_faults(&mut rng);
        let instances = vec![
            timed_out(&mut rng, &mut items, a),
            drained(&mut rng, &mut items, b, fails_b),
            abandoned(&mut rng, &mut items, w, fails_w),
            counting_down(&mut rng, &mut items, v),
            reopened(&mut rng, &mut items, u, fails_u),
            held_over(&mut rng, &mut items, s),
            quiet(&mut rng, &mut items, q),
            late_in_trial(&mut rng, &mut items, l),
            jittered(&mut rng, &mut items, j),
        ];
        Plan { instances, items: items.made }
    }
}

/// Hands out items, each with an id of its own.
struct Items {
    rng: Rng,
    ids: Vec<u32>,
    made: Vec<Item>,
    /// The failures still to deal to runs that open a breaker: every kind, shuffled, then
    /// every kind again, so that each is counted where counting it shows, in every run.
    deck: Vec<Fault>,
    /// Items served at once so far, for an open breaker to be asked again.
    served: Vec<Item>,
}

impl Items {
    fn new(rng: &mut Rng) -> Self {
        let ids = seed::distinct(rng, 1..u32::MAX, 400);
        Self { rng: rng.fork(), ids, made: Vec::new(), deck: Vec::new(), served: Vec::new() }
    }

    fn make(&mut self, script: Script) -> Item {
        let id = self.ids.pop().expect("enough ids for a run");
        let item = Item { id, stock: self.rng.u32(..100_000), script };
        self.made.push(item);
        item
    }

    fn healthy(&mut self, count: usize) -> Vec<Item> {
        (0..count).map(|_| self.make(Script::Item(Duration::ZERO))).collect()
    }

    fn failures(&mut self, count: usize) -> Vec<Item> {
        let faults: Vec<Fault> = (0..count).map(|_| *seed::pick(&mut self.rng, &QUICK)).collect();
        faults.into_iter().map(|fault| self.make(Script::Fault(fault, Duration::ZERO))).collect()
    }

    /// `count` failures from the deck, for a run that opens a breaker.
    fn counted(&mut self, count: usize) -> Vec<Item> {
        self.counted_after(count, Duration::ZERO)
    }

    /// `count` failures from the deck, each answered after `delay`.
    fn counted_after(&mut self, count: usize, delay: Duration) -> Vec<Item> {
        (0..count)
            .map(|_| {
                if self.deck.is_empty() {
                    self.deck = QUICK.to_vec();
                    self.rng.shuffle(&mut self.deck);
                }
                let fault = self.deck.pop().expect("a full deck");
                self.make(Script::Fault(fault, delay))
            })
            .collect()
    }

    /// Twice threshold − 1 failures, each time one short of opening: after the first, a
    /// success, which starts the count again; after the second, a 404, which would open a
    /// breaker that counted it, then the same success again (asked again, not answered from a
    /// cache), so that ignoring the 404 is as fine as a reset.
    fn one_short(&mut self, threshold: u32) -> Phase {
        let success = self.healthy(1)[0];
        self.served.push(success);
        let mut items = self.failures(threshold as usize - 1);
        items.push(success);
        items.extend(self.failures(threshold as usize - 1));
        items.extend([self.make(Script::Missing), success]);
        Phase::Run { items, trips: false }
    }

    /// threshold − 1 failures, then a slow success overtaken by the failure that opens.
    fn late_trip(&mut self, threshold: u32, timeout: Duration) -> Phase {
        self.late(threshold, &[Script::Item(slow(timeout))], Back::Open)
    }

    /// threshold − 1 failures, then `slow` calls overtaken by the failure that opens: their
    /// outcomes come back after it opened, and decide nothing.
    fn late(&mut self, threshold: u32, slow: &[Script], back: Back) -> Phase {
        let mut run = self.counted(threshold as usize);
        let trip = run.pop().expect("a threshold of at least one");
        let slow = slow.iter().map(|script| self.make(*script)).collect();
        Phase::Trip { run, quiet: Duration::ZERO, slow, trip, back }
    }

    /// The burst as a breaker opens: fresh items and one this instance served before (an
    /// answer from a cache would show).
    fn open_burst(&mut self) -> Vec<Item> {
        let again = self.served.get(self.rng.usize(..self.served.len().max(1))).copied();
        let count = self.rng.usize(2..=4);
        let mut burst = self.healthy(count);
        burst.splice(..again.is_some() as usize, again);
        burst
    }

    fn open(&mut self, late: Option<Item>) -> Phase {
        self.open_after(Duration::ZERO, late)
    }

    /// Open, its first request `after` it opened.
    fn open_after(&mut self, after: Duration, late: Option<Item>) -> Phase {
        let (burst, then) = (self.open_burst(), self.healthy(1)[0]);
        Phase::Open { after, burst, then, edge: Vec::new(), late }
    }

    /// Open, with a cooldown over a second: six requests together when a little more than a
    /// second is left, where a Retry-After that may fall short of it (jitter both ways, rounding
    /// down) shows as 1 instead of 2 in one answer of two or three, whatever the jitter drawn.
    fn open_edge(&mut self, late: Option<Item>) -> Phase {
        let edge = self.healthy(6);
        let (burst, then) = (self.open_burst(), self.healthy(1)[0]);
        Phase::Open { after: Duration::ZERO, burst, then, edge, late }
    }

    /// Straggler bursts while the inventory holds a trial for `held`: early, in the middle and
    /// late, and at `also` (just past a cooldown) when that falls within.
    fn stragglers(&mut self, held: Duration, also: Option<Duration>) -> Vec<(Duration, Vec<Item>)> {
        let mut times: Vec<Duration> = [0.15, 0.5, 0.85].map(|share| held.mul_f64(share)).to_vec();
        times.extend(also.filter(|at| *at < held.mul_f64(0.85)));
        times.sort();
        let sizes: Vec<usize> = times.iter().map(|_| self.rng.usize(2..=3)).collect();
        times.into_iter().zip(sizes).map(|(at, size)| (at, self.healthy(size))).collect()
    }

    fn slow_trial(&mut self, held: Duration, crowd: usize, also: Option<Duration>) -> Phase {
        let crowd = (0..crowd).map(|_| self.make(Script::Item(held))).collect();
        let stragglers = self.stragglers(held, also);
        self.trial(crowd, stragglers)
    }

    /// A trial phase for `crowd`, with its early request.
    fn trial(&mut self, crowd: Vec<Item>, stragglers: Vec<(Duration, Vec<Item>)>) -> Phase {
        let early =
            EARLY.map(|(low, high)| (self.make(crowd[0].script), drawn(&mut self.rng, low, high)));
        Phase::Trial { early: early.to_vec(), crowd, stragglers }
    }

    /// `count` failures of the same kind: whichever is the trial fails that way.
    fn alike(&mut self, fault: Fault, count: usize) -> Vec<Item> {
        (0..count).map(|_| self.make(Script::Fault(fault, Duration::ZERO))).collect()
    }
}

/// How long before a cooldown is over the early requests of a trial phase go, at least and at
/// most, in milliseconds: late enough that a breaker that lets its trial through ten
/// milliseconds early is seen to, though a request takes a few to arrive, and early enough that
/// the clock's grain and the walk's own timer leave them before the end.
const EARLY: [(u64, u64); 2] = [(10, 16), (5, 9)];

/// How trials fail in one run, one of each kind to each of B, U and W: a status, an answer that
/// is no item, and a reset connection all fail a trial (A's times out).
fn trial_faults(rng: &mut Rng) -> [Fault; 3] {
    let status = Fault::Status(*seed::pick(rng, &[500, 502, 503, 504]));
    let unusable = *seed::pick(rng, &[Fault::Html, Fault::OtherItem]);
    let mut faults = [status, unusable, Fault::Reset];
    rng.shuffle(&mut faults);
    faults
}

/// How long the inventory holds each failure of a volley: long enough that all are in flight
/// together even on a busy machine, short of any timeout.
const VOLLEY_HELD: Duration = Duration::from_millis(80);

/// Four thresholds from 3 to 5, never all the same: none can be written into an answer.
fn thresholds(rng: &mut Rng) -> [u32; 4] {
    let first = rng.u32(3..=5);
    [first, rng.u32(3..=5), rng.u32(3..=5), 3 + (first - 3 + rng.u32(1..=2)) % 3]
}

fn drawn(rng: &mut Rng, low_ms: u64, high_ms: u64) -> Duration {
    seed::duration_spread(rng, Duration::from_millis(low_ms), Duration::from_millis(high_ms))
}

/// How long the inventory holds a slow request (a trial, or one in flight): long enough that a
/// request made to wait for it shows (the timeouts drawn make it 245 ms at least), and short
/// enough of the timeout that a busy machine does not turn it into one.
fn slow(timeout: Duration) -> Duration {
    timeout.mul_f64(0.7)
}

fn instance(
    name: &'static str,
    threshold: u32,
    cooldown: Duration,
    timeout: Duration,
    phases: Vec<Phase>,
) -> Instance {
    let policy = BreakerPolicy { failure_threshold: threshold, cooldown };
    Instance { name, policy, timeout, phases }
}

/// A: the counting subtleties first, a trial that times out, then a crowd when the cooldown
/// is over; last, a volley of failures opens it.
fn timed_out(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    items.served.clear();
    let (cooldown, timeout) = (drawn(rng, 350, 550), drawn(rng, 350, 450));
    let silent = items.make(Script::Fault(Fault::Silence, Duration::ZERO));
    // Half a cooldown after a trial of `timeout` tells a cooldown counted from the trial's
    // start from one counted from its end, once the trial outlasts it enough.
    let halfway = (timeout > cooldown / 2 + Duration::from_millis(80)).then(|| items.healthy(1)[0]);
    // A failure let through while closed, back once the breaker is open: late, it must not
    // start the cooldown again (the trial would come late), as a late success must not close it.
    let late_failure =
        Script::Fault(Fault::Status(*seed::pick(rng, &[500, 502, 503])), slow(timeout));
    let phases = vec![
        items.one_short(threshold),
        items.late(threshold, &[late_failure], Back::Open),
        items.open(None),
        {
            let stragglers = items.stragglers(timeout, None);
            items.trial(vec![silent], stragglers)
        },
        Phase::Reopened { now: items.healthy(1)[0], halfway },
        items.slow_trial(slow(timeout), rng.usize(4..=8), None),
        Phase::Volley { items: items.counted_after(threshold as usize, VOLLEY_HELD) },
        items.open(None),
    ];
    instance("A", threshold, cooldown, timeout, phases)
}

/// B: drained from the start, a request in flight; trials that outlast the cooldown; a trial
/// that fails slowly, so that a cooldown counted from its start shows.
fn drained(rng: &mut Rng, items: &mut Items, threshold: u32, fails: Fault) -> Instance {
    items.served.clear();
    let timeout = drawn(rng, 400, 480);
    let held = slow(timeout);
    let cooldown = held.mul_f64(0.5 + rng.f64() * 0.15);
    let lease = Some(cooldown + Duration::from_millis(40));
    let failing = Script::Fault(fails, held);
    // Let through before the breaker opened, a success comes back a quarter of the way through
    // the first trial, and a failure halfway: late, they decide nothing (the success does not
    // close it, the failure does not end the trial), and the trial's own failure reopens the
    // breaker. (A 504, which may be passed on: should a busy machine stretch it past the
    // timeout, a 504 is right either way.)
    let lingering = [
        Script::Item(cooldown + LATE_FLOOR + held / 4),
        Script::Fault(Fault::Status(504), cooldown + LATE_FLOOR + held / 2),
    ];
    let phases = vec![
        Phase::Drain { slow: items.make(Script::Item(slow(timeout))), quick: items.healthy(1)[0] },
        items.late(threshold, &lingering, Back::Trial),
        items.open(None),
        {
            let (crowd, stragglers) = (vec![items.make(failing)], items.stragglers(held, lease));
            items.trial(crowd, stragglers)
        },
        Phase::Reopened { now: items.healthy(1)[0], halfway: Some(items.healthy(1)[0]) },
        items.slow_trial(held, 1, lease),
        items.one_short(threshold),
        items.late_trip(threshold, timeout),
        items.open(None),
    ];
    instance("B", threshold, cooldown, timeout, phases)
}

/// W: a crowd when the cooldown is over, whose trial fails at once, all in the same way; two
/// more trials that fail at once; then a trial whose client hangs up while the inventory holds
/// it.
fn abandoned(rng: &mut Rng, items: &mut Items, threshold: u32, fails: Fault) -> Instance {
    items.served.clear();
    let (cooldown, timeout) = (drawn(rng, 300, 450), drawn(rng, 350, 450));
    // Slow, so that a burst that all gets through once the trial is abandoned shows.
    let held = Script::Item(slow(timeout));
    let (trial, burst) = (items.make(held), (0..3).map(|_| items.make(held)).collect());
    // Held a while before the hang-up, so that a cooldown counted from the trial's start ends
    // well before one counted from the hang-up.
    let hold = drawn(rng, 80, 140);
    let before = (items.healthy(1)[0], drawn(rng, 20, 40));
    let crowd = items.alike(fails, rng.usize(3..=5));
    // Two more trials fail after it, each its own way: three in a row, and every cooldown
    // after them as long as the first (a breaker that lengthens its cooldown after failed
    // trials in a row refuses the trial after them).
    let (again, third) = (items.failures(1), items.failures(1));
    let phases = vec![
        Phase::Run { items: items.counted(threshold as usize), trips: true },
        items.open(None),
        items.trial(crowd, Vec::new()),
        Phase::Reopened { now: items.healthy(1)[0], halfway: None },
        items.trial(again, Vec::new()),
        Phase::Reopened { now: items.healthy(1)[0], halfway: None },
        items.trial(third, Vec::new()),
        Phase::Reopened { now: items.healthy(1)[0], halfway: None },
        Phase::HangUp { trial, hold, burst, before, after: items.healthy(1)[0] },
        items.one_short(threshold),
        items.late_trip(threshold, timeout),
        items.open(None),
    ];
    instance("W", threshold, cooldown, timeout, phases)
}

/// V: opened by a timeout; a cooldown over a second long, so that Retry-After counts down
/// through whole seconds.
fn counting_down(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    items.served.clear();
    let (cooldown, timeout) = (drawn(rng, 1_150, 1_300), drawn(rng, 350, 450));
    let late = items.healthy(1)[0];
    // A trial the inventory answers 404: it works, so the breaker closes.
    let missing = (0..rng.usize(4..=8)).map(|_| items.make(Script::Missing)).collect();
    // Opened by a timeout: the cooldown counts from when it failed, a timeout after it was let
    // through, and a request shortly before the end shows a cooldown counted from the start.
    let mut opening = items.counted(threshold as usize);
    *opening.last_mut().expect("a threshold of at least one") =
        items.make(Script::Fault(Fault::Silence, Duration::ZERO));
    let phases = vec![
        Phase::Run { items: opening, trips: true },
        items.open_edge(Some(late)),
        items.trial(missing, Vec::new()),
        items.one_short(threshold),
        items.late_trip(threshold, timeout),
        items.open(None),
    ];
    instance("V", threshold, cooldown, timeout, phases)
}

/// U: a timeout among the failures that open it; a cooldown over a second long again, opened
/// again by a trial that fails slowly: stragglers meanwhile are told 1 (or their jitter), where
/// the whole cooldown would say 2, and the Retry-After right after counts from the new opening.
/// (A cycle of two such cooldowns would not fit in the time a check takes; A, B, W and V walk the
/// whole cycle.)
fn reopened(rng: &mut Rng, items: &mut Items, threshold: u32, fails: Fault) -> Instance {
    let (cooldown, timeout) = (drawn(rng, 1_150, 1_300), drawn(rng, 350, 450));
    // A timeout among the failures that open it: it counts like any other. Never the first,
    // so that the run takes a timeout from its first failure to the one that opens: a cooldown
    // counted from the first shows in the request shortly before the cooldown ends.
    let mut first = items.counted(threshold as usize);
    first[rng.usize(1..threshold as usize - 1)] =
        items.make(Script::Fault(Fault::Silence, Duration::ZERO));
    let late = items.healthy(1)[0];
    let held = slow(timeout);
    let failing = Script::Fault(fails, held);
    let phases = vec![
        Phase::Run { items: first, trips: true },
        items.open_edge(Some(late)),
        {
            let (crowd, stragglers) = (vec![items.make(failing)], items.stragglers(held, None));
            items.trial(crowd, stragglers)
        },
        Phase::Reopened { now: items.healthy(1)[0], halfway: None },
    ];
    instance("U", threshold, cooldown, timeout, phases)
}

/// How long the inventory holds S's call let through before its breaker opened, past the
/// cooldown: long enough for the trial that closes it again and threshold − 1 fresh failures,
/// even on a busy machine; short of S's timeout.
const HELD_OVER: Duration = Duration::from_millis(300);

/// S: failures in a row, the last of them after well over a second of quiet, open it (a count
/// that forgets failures after a second does not); a failing call and a succeeding one let
/// through just before, held across the whole cycle (open, a trial that succeeds, closed
/// again), come back once the breaker has counted threshold − 1 fresh failures: from an earlier
/// state, they decide nothing, so the next failure reaches the inventory and opens it again.
fn held_over(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    items.served.clear();
    let (cooldown, timeout) = (drawn(rng, 200, 300), drawn(rng, 800, 900));
    let quiet = drawn(rng, 1_300, 1_600);
    // A 504, which may be passed on: should a busy machine stretch it past the timeout, a 504
    // is right either way.
    let straggler = items.make(Script::Fault(Fault::Status(504), cooldown + HELD_OVER));
    // Back well within the timeout: a success, which must not reset the new count.
    let late_success = items.make(Script::Item(cooldown + HELD_OVER));
    let trip = items.failures(1)[0];
    let phases = vec![
        Phase::Trip {
            run: items.failures(threshold as usize - 1),
            quiet,
            slow: vec![straggler, late_success],
            trip,
            back: Back::Closed,
        },
        items.open(None),
        {
            let crowd = items.healthy(1);
            items.trial(crowd, Vec::new())
        },
        Phase::Run { items: items.failures(threshold as usize - 1), trips: false },
        Phase::HeldOver { then: items.failures(1)[0] },
        items.open(None),
    ];
    instance("S", threshold, cooldown, timeout, phases)
}

/// The longest quiet Q keeps between its failures in a row, at least and at most, in
/// milliseconds: as long as the other walks take, so that the check takes no longer.
const LONG_QUIET: (u64, u64) = (2_020, 2_120);

/// Q: threshold − 1 failures, then over two seconds of quiet, then the failure that opens it:
/// failures in a row count however far apart they come (S's quiet is shorter, and drawn from
/// another range). Nothing is asked for 40-55 % of the cooldown after it opened, then the trial
/// is due when the cooldown counted from that failure is over (a breaker that opens only when
/// the next request comes counts it from then).
fn quiet(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    items.served.clear();
    let (cooldown, timeout) = (drawn(rng, 300, 450), drawn(rng, 350, 450));
    let quiet = drawn(rng, LONG_QUIET.0, LONG_QUIET.1);
    let mut run = items.counted(threshold as usize);
    let trip = run.pop().expect("a threshold of at least one");
    let after = cooldown.mul_f64(0.4 + 0.15 * rng.f64());
    let phases = vec![
        Phase::Trip { run, quiet, slow: Vec::new(), trip, back: Back::Open },
        items.open_after(after, None),
        {
            let crowd = items.healthy(1);
            items.trial(crowd, Vec::new())
        },
    ];
    instance("Q", threshold, cooldown, timeout, phases)
}

/// L: a failure let through before it opened comes back early in a long trial (a short
/// cooldown, the trial held most of a long timeout): it decides nothing, so the breaker is
/// still waiting for its trial when a cooldown has passed since that failure, and stragglers
/// then are refused (a breaker that reopened on it lets one through as a second trial).
fn late_in_trial(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    items.served.clear();
    let (cooldown, timeout) = (drawn(rng, 150, 200), drawn(rng, 800, 900));
    let held = slow(timeout);
    let failure = Fault::Status(*seed::pick(rng, &[500, 502, 503]));
    let lingering = [Script::Fault(failure, cooldown + LATE_FLOOR + held / 8)];
    let phases = vec![
        items.late(threshold, &lingering, Back::Trial),
        items.open(None),
        items.slow_trial(held, 1, None),
    ];
    instance("L", threshold, cooldown, timeout, phases)
}

/// How many requests J sends at once while open.
const JITTER_BURST: usize = 40;

/// The range of J's cooldown: from a day and a half, so that a Retry-After capped at a day (or
/// anything less, or a count of seconds that a `u16` holds) shows in every run.
const J_COOLDOWN: (Duration, Duration) =
    (Duration::from_secs(36 * 3_600), Duration::from_secs(30 * 86_400));

/// J: a cooldown of a day and a half to a month, opened, then asked [`JITTER_BURST`] times at
/// once (never waited out, so it costs nothing): each Retry-After is at least the cooldown left,
/// so that one capped anywhere below it shows (a minute, an hour, a day), and at most that
/// and half a cooldown, rounded up. The cooldown makes that sum fall just short of a whole
/// second, so that jitter drawn from a little more than half a cooldown crosses it (from 0.6
/// of it: one answer in six, and none of forty about once in 1,500 runs).
fn jittered(rng: &mut Rng, items: &mut Items, threshold: u32) -> Instance {
    items.served.clear();
    // One and a half cooldowns are a whole number of seconds and 950 ms; the seconds drawn
    // evenly over their logarithm, so that each scale (days, weeks) comes as often.
    let (least, most) = (J_COOLDOWN.0.as_secs_f64() * 1.5, J_COOLDOWN.1.as_secs_f64() * 1.5);
    let whole = (least * (most / least).powf(rng.f64())) as u64;
    let cooldown = Duration::from_millis((whole * 1_000 + 950) * 2 / 3);
    // A long timeout, so that a success held most of it is slow, and still 200 ms or more in
    // time (what a busy machine adds to it does not make it a timeout).
    let timeout = drawn(rng, 1_000, 1_100);
    let open = Phase::Open {
        after: Duration::ZERO,
        burst: items.healthy(JITTER_BURST),
        then: items.healthy(1)[0],
        edge: Vec::new(),
        late: None,
    };
    // Before it opens, one short of the threshold: a request whose client hangs up, then a
    // success held 80 % of the timeout. Neither is a failure of the inventory's (a breaker that
    // counted either would refuse the request after it), and the success starts the count again.
    // Then one short again, another hang-up, and one failure: the hang-up is no success either
    // (a breaker that took it for one starts the count again, and does not open).
    let hung_up = items.make(Script::Item(slow(timeout)));
    let slow_success = items.make(Script::Item(timeout.mul_f64(0.8)));
    let hung_up_again = items.make(Script::Item(slow(timeout)));
    let phases = vec![
        Phase::Run { items: items.failures(threshold as usize - 1), trips: false },
        Phase::Leaves { item: hung_up, hold: drawn(rng, 80, 140) },
        Phase::Run { items: vec![slow_success], trips: false },
        Phase::Run { items: items.failures(threshold as usize - 1), trips: false },
        Phase::Leaves { item: hung_up_again, hold: drawn(rng, 80, 140) },
        Phase::Run { items: items.counted(1), trips: true },
        open,
    ];
    instance("J", threshold, cooldown, timeout, phases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_failure_is_counted_where_it_shows_in_every_run() {
        for seed in 0..300 {
            let plan = Plan::draw(seed);
            let counted: Vec<Script> = (plan
                .instances
                .iter()
                .flat_map(|instance| &instance.phases))
            .flat_map(|phase| match phase {
                Phase::Run { items, trips: true } | Phase::Volley { items } => items.clone(),
                Phase::Trip { run, trip, .. } => run.iter().chain([trip]).copied().collect(),
                _ => Vec::new(),
            })
            .map(|item| item.script)
            .collect();
            for kind in QUICK.iter().chain([&Fault::Silence]) {
                let found =
                    counted.iter().any(|script| matches!(script, Script::Fault(k, _) if k == kind));
                assert!(found, "seed {seed}: {kind:?} never counted");
            }
            let thresholds: Vec<u32> =
                plan.instances.iter().map(|instance| instance.policy.failure_threshold).collect();
            assert!(thresholds.iter().any(|t| *t != thresholds[0]), "seed {seed}");
        }
    }
}
