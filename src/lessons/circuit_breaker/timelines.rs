//! What the judge does to each instance of the learner's service, step by step, and what it
//! saw: instance X goes from closed to open to a trial that closes it again; Y has a trial
//! that fails; Z is drained. The three run at once.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::inventory::{Fault, Inventory, Mood};
use super::plan::Plan;
use crate::judge::answer::Answer;

/// One request to the learner's service, timed.
#[derive(Debug)]
pub(super) struct Exchange {
    pub(super) path: String,
    pub(super) sent: Instant,
    pub(super) received: Instant,
    pub(super) answer: Result<Answer, String>,
    /// How the inventory was told to answer, when the judge set it for this request.
    pub(super) inventory: Option<Mood>,
}

impl Exchange {
    pub(super) fn took(&self) -> Duration {
        self.received.duration_since(self.sent)
    }
}

/// Requests to one instance.
pub(super) struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub(super) fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(3))
            .build()
            .expect("a client without TLS always builds");
        Self { http, base }
    }

    pub(super) async fn get(&self, path: &str) -> Exchange {
        let sent = Instant::now();
        let answer = Answer::get(&self.http, &format!("{}{path}", self.base)).await;
        Exchange { path: path.to_string(), sent, received: Instant::now(), answer, inventory: None }
    }

    /// `paths`, all at once.
    pub(super) async fn burst(&self, paths: &[String]) -> Vec<Exchange> {
        join_all(paths.iter().map(|path| self.get(path))).await
    }
}

/// A burst of requests, with the inventory's count of requests before and after.
#[derive(Debug)]
pub(super) struct Burst {
    pub(super) exchanges: Vec<Exchange>,
    /// Requests that reached the inventory during the burst.
    pub(super) reached: usize,
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
    /// threshold − 1 failures, a success, threshold − 1 failures: none may open the breaker.
    pub(super) counting: Burst,
    /// The failure that makes threshold in a row.
    pub(super) trigger: Exchange,
    /// Right after it opened, and again a while later.
    pub(super) open: Burst,
    pub(super) later: Burst,
    pub(super) ready_while_open: Exchange,
    pub(super) live_while_open: Exchange,
    /// When the cooldown is over: many at once, while the trial is slow.
    pub(super) trial: Burst,
    /// After the trial succeeded.
    pub(super) after: Burst,
}

/// What instance Y saw.
#[derive(Debug)]
pub(super) struct Reopening {
    pub(super) start: Instant,
    /// threshold failures in a row, one after the other.
    pub(super) opening: Vec<Exchange>,
    /// The trial, failing.
    pub(super) trial: Burst,
    /// Right after it, and half a cooldown later.
    pub(super) right_after: Burst,
    pub(super) half_later: Burst,
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
}

/// `count` requests for distinct items of the plan, from `first` on.
fn items(plan: &Plan, first: usize, count: usize) -> Vec<String> {
    plan.items[first..first + count].iter().map(|id| format!("/items/{id}")).collect()
}

/// Sends `paths` one after the other, each while the inventory is in the mood `moods` gives it.
async fn one_by_one(
    client: &Client,
    inventory: &Inventory,
    paths: &[String],
    moods: &[Mood],
) -> Burst {
    let before = inventory.asked();
    let mut exchanges = Vec::new();
    for (path, mood) in paths.iter().zip(moods) {
        inventory.set(*mood);
        let mut exchange = client.get(path).await;
        exchange.inventory = Some(*mood);
        exchanges.push(exchange);
    }
    Burst { exchanges, reached: inventory.asked() - before }
}

async fn all_at_once(client: &Client, inventory: &Inventory, paths: &[String]) -> Burst {
    let before = inventory.asked();
    let exchanges = client.burst(paths).await;
    Burst { exchanges, reached: inventory.asked() - before }
}

/// Waits until `at`.
async fn until(at: Instant) {
    tokio::time::sleep_until(at.into()).await;
}

/// How long after the cooldown the judge asks again: the breaker's clock starts a moment
/// before the judge's.
pub(super) const PAST_COOLDOWN: Duration = Duration::from_millis(60);

pub(super) async fn closing(plan: &Plan, client: &Client, inventory: &Inventory) -> Closing {
    let start = Instant::now();
    let threshold = plan.threshold as usize;
    let healthy = Mood::Healthy(Duration::ZERO);
    let healthy_exchange = client.get(&items(plan, 0, 1)[0]).await;

    let (slow_item, quick_item) = (plan.items[1], plan.items[2]);
    inventory.set_item(slow_item, Mood::Healthy(plan.slow));
    let slow_path = format!("/items/{slow_item}");
    let slow = client.get(&slow_path);
    let quick = async {
        tokio::time::sleep(Duration::from_millis(60)).await;
        client.get(&format!("/items/{quick_item}")).await
    };
    let (slow, quick) = tokio::join!(slow, quick);

    let failing =
        |faults: &[Fault]| faults.iter().map(|fault| Mood::Failing(*fault)).collect::<Vec<_>>();
    let mut moods = failing(&plan.faults[..threshold - 1]);
    moods.push(healthy);
    moods.extend(failing(&plan.faults[threshold - 1..2 * (threshold - 1)]));
    let counting = one_by_one(client, inventory, &items(plan, 3, moods.len()), &moods).await;

    let trigger_fault = Mood::Failing(plan.faults[2 * threshold - 1]);
    let trigger = one_by_one(client, inventory, &items(plan, 12, 1), &[trigger_fault]).await;
    let trigger = trigger.exchanges.into_iter().next().expect("one request");
    // Healthy again: whatever reaches it now would succeed, so only the breaker can stop it.
    inventory.set(healthy);
    let open = all_at_once(client, inventory, &items(plan, 13, 4)).await;
    let ready_while_open = client.get("/health/ready").await;
    let live_while_open = client.get("/health/live").await;
    until(trigger.received + plan.cooldown / 2 + Duration::from_millis(150)).await;
    let later = all_at_once(client, inventory, &items(plan, 17, 1)).await;

    until(trigger.received + plan.cooldown + PAST_COOLDOWN).await;
    inventory.set(Mood::Healthy(plan.slow));
    let trial = all_at_once(client, inventory, &items(plan, 18, 5)).await;
    inventory.set(healthy);
    let after = all_at_once(client, inventory, &items(plan, 23, 1)).await;
    Closing {
        start,
        healthy: healthy_exchange,
        slow,
        quick,
        counting,
        trigger,
        open,
        later,
        ready_while_open,
        live_while_open,
        trial,
        after,
    }
}

pub(super) async fn reopening(plan: &Plan, client: &Client, inventory: &Inventory) -> Reopening {
    let start = Instant::now();
    let threshold = plan.threshold as usize;
    let failing: Vec<Mood> =
        plan.faults[..threshold].iter().map(|fault| Mood::Failing(*fault)).collect();
    let opening = one_by_one(client, inventory, &items(plan, 0, threshold), &failing).await;
    let opened = opening.exchanges.last().expect("a threshold of at least one").received;
    until(opened + plan.cooldown + PAST_COOLDOWN).await;
    let trial =
        one_by_one(client, inventory, &items(plan, 6, 1), &[Mood::Failing(Fault::Status(500))])
            .await;
    let reopened = trial.exchanges[0].received;
    inventory.set(Mood::Healthy(Duration::ZERO));
    let right_after = all_at_once(client, inventory, &items(plan, 7, 1)).await;
    until(reopened + plan.cooldown / 2).await;
    let half_later = all_at_once(client, inventory, &items(plan, 8, 1)).await;
    Reopening { start, opening: opening.exchanges, trial, right_after, half_later }
}

/// Drains instance Z: `set_draining` flips its lifecycle in the learner's process.
pub(super) async fn draining(
    plan: &Plan,
    client: &Client,
    inventory: &Inventory,
    set_draining: impl AsyncFnOnce(),
) -> Draining {
    let start = Instant::now();
    let live_before = client.get("/health/live").await;
    let ready_before = client.get("/health/ready").await;
    let in_flight_item = plan.items[0];
    inventory.set_item(in_flight_item, Mood::Healthy(plan.slow));
    let in_flight_path = format!("/items/{in_flight_item}");
    let in_flight = client.get(&in_flight_path);
    let drain_then_ask = async {
        tokio::time::sleep(plan.slow / 3).await;
        set_draining().await;
        let ready = client.get("/health/ready").await;
        let live = client.get("/health/live").await;
        let item = client.get(&items(plan, 1, 1)[0]).await;
        (ready, live, item)
    };
    let (in_flight, (ready_while_draining, live_while_draining, item_while_draining)) =
        tokio::join!(in_flight, drain_then_ask);
    Draining {
        start,
        live_before,
        ready_before,
        in_flight,
        ready_while_draining,
        live_while_draining,
        item_while_draining,
    }
}
