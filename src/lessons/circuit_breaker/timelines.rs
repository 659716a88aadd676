//! What the judge does to each instance of the learner's service, step by step, and what it
//! saw. X goes from closed to open to a trial that closes it again; Y opens on a timeout and
//! its trial fails; Z is drained; W's trial is abandoned by its client; V has a threshold and a
//! cooldown of its own. All five run at once, each with an inventory of its own.

use std::time::{Duration, Instant};

use super::exchange::{
    Burst, Client, Exchange, PAST_COOLDOWN, all_at_once, item_of, items, one_by_one, until,
};
use super::inventory::{Fault, Inventory, Mood};
use super::plan::Plan;

/// Hands out the plan's items in order, so that no item is asked for twice on one instance.
struct Items<'a> {
    plan: &'a Plan,
    next: usize,
}

impl<'a> Items<'a> {
    fn new(plan: &'a Plan) -> Self {
        Self { plan, next: 0 }
    }

    fn take(&mut self, count: usize) -> Vec<String> {
        let taken = items(self.plan, self.next, count);
        self.next += count;
        taken
    }

    fn one(&mut self) -> String {
        self.take(1).remove(0)
    }
}

/// `count` of the plan's quick failures, from `first` on.
fn failing(plan: &Plan, first: usize, count: usize) -> Vec<Mood> {
    (first..first + count).map(|at| Mood::Failing(plan.faults[at % plan.faults.len()])).collect()
}

/// What instance X saw.
#[derive(Debug)]
pub(super) struct Closing {
    pub(super) start: Instant,
    /// While healthy.
    pub(super) healthy: Exchange,
    /// A slow item asked, then a quick one while the slow one was still on its way.
    pub(super) slow: Exchange,
    pub(super) quick: Exchange,
    /// threshold items the inventory does not have: none may open the breaker.
    pub(super) missing: Burst,
    /// threshold − 1 failures (one of them a silence), a success, threshold − 1 failures: none
    /// may open the breaker.
    pub(super) counting: Burst,
    /// The failure that makes threshold in a row.
    pub(super) trigger: Exchange,
    /// Right after it opened, and again a while later.
    pub(super) open: Burst,
    pub(super) later: Burst,
    pub(super) ready_while_open: Exchange,
    pub(super) live_while_open: Exchange,
    /// When the cooldown is over: a crowd at once, then a few more while the slow trial is
    /// still on its way, across both of which one request may reach the inventory.
    pub(super) trial: Burst,
    pub(super) ready_while_half_open: Exchange,
    /// After the trial succeeded: threshold − 1 failures, which may not open the breaker
    /// again, then an item.
    pub(super) after: Burst,
}

pub(super) async fn closing(plan: &Plan, client: &Client, inventory: &Inventory) -> Closing {
    let start = Instant::now();
    let threshold = plan.threshold as usize;
    let mut items = Items::new(plan);
    let healthy = client.get(&items.one()).await;

    let (slow_path, quick_path) = (items.one(), items.one());
    let slow = client.get_while(inventory, &slow_path, Mood::Healthy(plan.slow));
    let quick = async {
        tokio::time::sleep(Duration::from_millis(60)).await;
        client.get(&quick_path).await
    };
    let (slow, quick) = tokio::join!(slow, quick);

    let missing = vec![Mood::Missing; threshold];
    let missing = one_by_one(client, inventory, &items.take(threshold), &missing).await;

    let mut moods = failing(plan, 0, threshold - 1);
    moods[plan.silent_at] = Mood::Failing(Fault::Silence);
    moods.push(Mood::Healthy(Duration::ZERO));
    moods.extend(failing(plan, threshold - 1, threshold - 1));
    let counting = one_by_one(client, inventory, &items.take(moods.len()), &moods).await;
    let trigger_mood = failing(plan, 2 * threshold - 2, 1)[0];
    let trigger = client.get_while(inventory, &items.one(), trigger_mood).await;

    // The inventory is healthy for every item from here: only the breaker can stop a request.
    let open = all_at_once(client, inventory, &items.take(4)).await;
    let ready_while_open = client.get("/health/ready").await;
    let live_while_open = client.get("/health/live").await;
    until(trigger.received + plan.cooldown / 2 + Duration::from_millis(150)).await;
    let later = all_at_once(client, inventory, &items.take(1)).await;

    until(trigger.received + plan.cooldown + PAST_COOLDOWN).await;
    let (crowd, stragglers) = (items.take(12), items.take(2));
    for path in crowd.iter().chain(&stragglers) {
        inventory.set_item(item_of(path), Mood::Healthy(plan.slow));
    }
    let before = inventory.asked();
    let first_wave = all_at_once(client, inventory, &crowd);
    let second_wave = async {
        tokio::time::sleep(plan.slow / 2).await;
        tokio::join!(all_at_once(client, inventory, &stragglers), client.get("/health/ready"))
    };
    let (first_wave, (second_wave, ready_while_half_open)) = tokio::join!(first_wave, second_wave);
    let exchanges = first_wave.exchanges.into_iter().chain(second_wave.exchanges).collect();
    let trial = Burst { exchanges, reached: inventory.asked() - before };

    let mut moods = failing(plan, 2 * threshold - 1, threshold - 1);
    moods.push(Mood::Healthy(Duration::ZERO));
    let after = one_by_one(client, inventory, &items.take(moods.len()), &moods).await;
    Closing {
        start,
        healthy,
        slow,
        quick,
        missing,
        counting,
        trigger,
        open,
        later,
        ready_while_open,
        live_while_open,
        trial,
        ready_while_half_open,
        after,
    }
}

/// What instance Y saw.
#[derive(Debug)]
pub(super) struct Reopening {
    pub(super) start: Instant,
    /// threshold − 2 quick failures, one after the other.
    pub(super) opening: Vec<Exchange>,
    /// Then a failure by silence; while it waits, a quick failure and the health endpoints.
    pub(super) silent: Exchange,
    pub(super) quick: Exchange,
    pub(super) live_while_failing: Exchange,
    pub(super) ready_while_failing: Exchange,
    /// Right after the silent request timed out, which made threshold failures in a row.
    pub(super) open_probe: Burst,
    /// The trial, failing.
    pub(super) trial: Burst,
    /// Right after it, and half a cooldown later.
    pub(super) right_after: Burst,
    pub(super) half_later: Burst,
}

pub(super) async fn reopening(plan: &Plan, client: &Client, inventory: &Inventory) -> Reopening {
    let start = Instant::now();
    let threshold = plan.threshold as usize;
    let mut items = Items::new(plan);
    let quick_failures = failing(plan, 0, threshold - 2);
    let opening = one_by_one(client, inventory, &items.take(threshold - 2), &quick_failures).await;
    let (silent_path, quick_path) = (items.one(), items.one());
    // Silent for everything but the quick failure, health checks that ask it included.
    inventory.set(Mood::Failing(Fault::Silence));
    let silent = client.get_while(inventory, &silent_path, Mood::Failing(Fault::Silence));
    let quick = async {
        tokio::time::sleep(Duration::from_millis(60)).await;
        client.get_while(inventory, &quick_path, Mood::Failing(Fault::Status(500))).await
    };
    let health = async {
        tokio::time::sleep(Duration::from_millis(120)).await;
        (client.get("/health/live").await, client.get("/health/ready").await)
    };
    let (silent, quick, (live_while_failing, ready_while_failing)) =
        tokio::join!(silent, quick, health);
    inventory.set(Mood::Healthy(Duration::ZERO));
    let open_probe = all_at_once(client, inventory, &items.take(1)).await;

    until(silent.received + plan.cooldown + PAST_COOLDOWN).await;
    let failed_trial = [Mood::Failing(Fault::Status(500))];
    let trial = one_by_one(client, inventory, &items.take(1), &failed_trial).await;
    let reopened = trial.exchanges[0].received;
    let right_after = all_at_once(client, inventory, &items.take(1)).await;
    until(reopened + plan.cooldown / 2).await;
    let half_later = all_at_once(client, inventory, &items.take(1)).await;
    Reopening {
        start,
        opening: opening.exchanges,
        silent,
        quick,
        live_while_failing,
        ready_while_failing,
        open_probe,
        trial,
        right_after,
        half_later,
    }
}

/// What instance Z saw.
#[derive(Debug)]
pub(super) struct Draining {
    pub(super) start: Instant,
    pub(super) live_before: Exchange,
    pub(super) ready_before: Exchange,
    /// Sent before draining began, answered after.
    pub(super) in_flight: Exchange,
    pub(super) ready_while_draining: Exchange,
    pub(super) live_while_draining: Exchange,
    pub(super) item_while_draining: Exchange,
    /// A second into draining.
    pub(super) live_later: Exchange,
}

/// Drains instance Z: `set_draining` flips its lifecycle in the learner's process.
pub(super) async fn draining(
    plan: &Plan,
    client: &Client,
    inventory: &Inventory,
    set_draining: impl AsyncFnOnce(),
) -> Draining {
    let start = Instant::now();
    let mut items = Items::new(plan);
    let live_before = client.get("/health/live").await;
    let ready_before = client.get("/health/ready").await;
    let (in_flight_path, item_path) = (items.one(), items.one());
    let in_flight = client.get_while(inventory, &in_flight_path, Mood::Healthy(plan.slow));
    let drain_then_ask = async {
        tokio::time::sleep(plan.slow / 3).await;
        set_draining().await;
        let drained = Instant::now();
        let ready = client.get("/health/ready").await;
        let live = client.get("/health/live").await;
        let item = client.get(&item_path).await;
        (drained, ready, live, item)
    };
    let (in_flight, (drained, ready_while_draining, live_while_draining, item_while_draining)) =
        tokio::join!(in_flight, drain_then_ask);
    until(drained + Duration::from_secs(1)).await;
    let live_later = client.get("/health/live").await;
    Draining {
        start,
        live_before,
        ready_before,
        in_flight,
        ready_while_draining,
        live_while_draining,
        item_while_draining,
        live_later,
    }
}

/// What instance W saw.
#[derive(Debug)]
pub(super) struct Abandoning {
    pub(super) start: Instant,
    pub(super) opening: Vec<Exchange>,
    /// The trial, whose client gave up while the inventory took its time.
    pub(super) abandoned: Exchange,
    /// Whether it reached the inventory, as the first request after the cooldown should.
    pub(super) trial_reached: bool,
    /// Asked every little while after it, until one was served.
    pub(super) probes: Vec<Exchange>,
}

/// How long the client of an abandoned trial waits before it hangs up.
const IMPATIENCE: Duration = Duration::from_millis(200);

/// How often instance W is asked once its trial was abandoned.
const PROBE_EVERY: Duration = Duration::from_millis(150);

/// Opens instance W's breaker, lets its trial be abandoned by its client, then asks every
/// [`PROBE_EVERY`] until a request is served again, or a cooldown and a margin have passed
/// since the abandoned trial: by then, a breaker that is not stuck has let one through.
pub(super) async fn abandoning(plan: &Plan, client: &Client, inventory: &Inventory) -> Abandoning {
    let start = Instant::now();
    let threshold = plan.threshold as usize;
    let mut items = Items::new(plan);
    let failures = failing(plan, 0, threshold);
    let opening = one_by_one(client, inventory, &items.take(threshold), &failures).await;
    let opened = opening.exchanges.last().expect("a threshold of at least one").received;
    until(opened + plan.cooldown + PAST_COOLDOWN).await;
    let asked = inventory.asked();
    // Hang up once the trial has reached the inventory: the breaker is then certainly waiting
    // for its answer. (Had it not reached it by IMPATIENCE, the trial check says so.)
    let reached = async {
        while inventory.asked() == asked {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let impatient = Client::with_timeout(client.base.clone(), IMPATIENCE);
    let (path, sent, mood) = (items.one(), Instant::now(), Mood::Healthy(plan.slow));
    let abandoned = tokio::select! {
        exchange = impatient.get_while(inventory, &path, mood) => exchange,
        () = reached => Exchange {
            path: path.clone(),
            sent,
            received: Instant::now(),
            answer: Err("(the judge hung up while the trial waited for the inventory)".into()),
            inventory: Some(mood),
        },
    };
    let trial_reached = inventory.asked() > asked;
    let deadline = abandoned.sent + plan.cooldown + PROBE_EVERY + PAST_COOLDOWN * 4;
    let mut probes = Vec::new();
    for path in items.take(20) {
        let probe = client.get(&path).await;
        let served = probe.answer.as_ref().is_ok_and(|answer| answer.status.is_success());
        probes.push(probe);
        if served || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
    Abandoning { start, opening: opening.exchanges, abandoned, trial_reached, probes }
}

/// What instance V saw: its own threshold of failures, then its long cooldown counted down.
#[derive(Debug)]
pub(super) struct CountingDown {
    pub(super) start: Instant,
    /// v_threshold failures; the last opens the breaker.
    pub(super) opening: Burst,
    /// Right after it opened, and most of a second later.
    pub(super) open: Burst,
    pub(super) later: Burst,
}

pub(super) async fn counting_down(
    plan: &Plan,
    client: &Client,
    inventory: &Inventory,
) -> CountingDown {
    let start = Instant::now();
    let threshold = plan.v_threshold as usize;
    let mut items = Items::new(plan);
    let failures = failing(plan, 0, threshold);
    let opening = one_by_one(client, inventory, &items.take(threshold), &failures).await;
    let opened = opening.exchanges.last().expect("a threshold of at least one").received;
    let open = all_at_once(client, inventory, &items.take(1)).await;
    until(opened + Duration::from_millis(800)).await;
    let later = all_at_once(client, inventory, &items.take(1)).await;
    CountingDown { start, opening, open, later }
}
