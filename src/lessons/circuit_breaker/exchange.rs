//! [`Exchange`]: one request to an instance of the learner's service, timed; [`Client`]: the
//! judge's client for one instance; and the ways the timelines send requests.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::inventory::{Inventory, Mood};
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
    pub(super) base: String,
}

impl Client {
    pub(super) fn new(base: String) -> Self {
        Self::with_timeout(base, Duration::from_secs(3))
    }

    pub(super) fn with_timeout(base: String, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
            .expect("a client without TLS always builds");
        Self { http, base }
    }

    pub(super) async fn get(&self, path: &str) -> Exchange {
        let sent = Instant::now();
        let answer = Answer::get(&self.http, &format!("{}{path}", self.base)).await;
        Exchange { path: path.to_string(), sent, received: Instant::now(), answer, inventory: None }
    }

    /// `path`, with the inventory answering it so.
    pub(super) async fn get_while(
        &self,
        inventory: &Inventory,
        path: &str,
        mood: Mood,
    ) -> Exchange {
        inventory.set_item(item_of(path), mood);
        let mut exchange = self.get(path).await;
        exchange.inventory = Some(mood);
        exchange
    }
}

/// A burst of requests, with how many of them reached the inventory.
#[derive(Debug)]
pub(super) struct Burst {
    pub(super) exchanges: Vec<Exchange>,
    pub(super) reached: usize,
}

/// `count` requests for distinct items of the plan, from `first` on.
pub(super) fn items(plan: &Plan, first: usize, count: usize) -> Vec<String> {
    plan.items[first..first + count].iter().map(|id| format!("/items/{id}")).collect()
}

pub(super) fn item_of(path: &str) -> u32 {
    path.rsplit('/').next().and_then(|id| id.parse().ok()).unwrap_or_default()
}

/// Sends `paths` one after the other, each while the inventory is in the mood `moods` gives it.
pub(super) async fn one_by_one(
    client: &Client,
    inventory: &Inventory,
    paths: &[String],
    moods: &[Mood],
) -> Burst {
    let before = inventory.asked();
    let mut exchanges = Vec::new();
    for (path, mood) in paths.iter().zip(moods) {
        exchanges.push(client.get_while(inventory, path, *mood).await);
    }
    Burst { exchanges, reached: inventory.asked() - before }
}

/// Sends `paths` all at once, the inventory healthy for each (unless told otherwise).
pub(super) async fn all_at_once(client: &Client, inventory: &Inventory, paths: &[String]) -> Burst {
    let before = inventory.asked();
    let exchanges = join_all(paths.iter().map(|path| client.get(path))).await;
    Burst { exchanges, reached: inventory.asked() - before }
}

/// Waits until `at`.
pub(super) async fn until(at: Instant) {
    tokio::time::sleep_until(at.into()).await;
}

/// How long after the cooldown the judge asks again: the breaker's clock starts a moment
/// before the judge's.
pub(super) const PAST_COOLDOWN: Duration = Duration::from_millis(60);
