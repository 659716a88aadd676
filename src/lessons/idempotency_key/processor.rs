//! The payment processor behind the learner's server, on the judge's [`Upstream`]: `POST
//! /charges` with a payment and an `Idempotency-Key` answers `201 {"charge_id":…}`, and charges
//! once per key, as real processors do. The judge says, per amount, how the next request fares
//! (charged at once or slowly, failed, or charged and its answer lost), and reads back every
//! request: when it came, its key, and whether it made a new charge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::judge::upstream::{Options, Release, Reply, Upstream};

/// How a request for an amount fares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    Charge,
    /// Charged, with the answer held this long, or until the judge lets it go
    /// ([`Processor::release`]).
    Slow(Duration),
    /// This status, and no charge.
    Fail(u16),
    /// A 503 after this long, and no charge.
    FailLate(Duration),
    /// Charged, then the connection closed before a word of the answer.
    Drop,
    /// Charged, then no answer until the caller gives up.
    Hang,
    /// Charged, then, after this long, a 201's head and half its body, and nothing more until
    /// the caller gives up: a timeout on each read, not on the whole answer, runs past it.
    Stall(Duration),
}

/// One request the processor got.
#[derive(Debug, Clone)]
pub(super) struct Asked {
    pub(super) at: Instant,
    pub(super) amount: Option<u64>,
    /// The idempotency key it carried.
    pub(super) key: Option<String>,
    /// The charge it was answered with (a new one, or the one its key made before).
    pub(super) charge: Option<String>,
    pub(super) new_charge: bool,
    /// Its head and body, as text: what the processor learnt from it.
    pub(super) text: String,
}

#[derive(Debug, Default)]
struct Ledger {
    fates: HashMap<u64, Fate>,
    /// Charges by the key they were made under (a request without a key always charges anew).
    charges: Vec<(Option<String>, String)>,
    /// Charge ids to hand out: random enough to be nobody's guess, fixed by the seed.
    ids: Vec<String>,
    asked: Vec<Asked>,
    /// What lets the slow answers for an amount go before their time, until it does.
    releases: HashMap<u64, Release>,
    /// Amounts whose slow answers go as soon as a request for another amount (the key) comes.
    released_by: HashMap<u64, u64>,
}

#[derive(Debug, Clone)]
pub(super) struct Processor {
    pub(super) base: String,
    ledger: Arc<Mutex<Ledger>>,
    upstream: Arc<Upstream>,
}

impl Processor {
    pub(super) async fn start(ids: Vec<String>) -> Self {
        let ledger = Arc::new(Mutex::new(Ledger { ids, ..Ledger::default() }));
        let books = Arc::clone(&ledger);
        let upstream = Upstream::with(Options { cap: 2_000, keep_alive: true }, move |seen| {
            let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
            let amount = body["amount"].as_u64().filter(|_| body["currency"].is_string());
            let key = seen.header("idempotency-key").map(str::to_string);
            let mut text = format!("{} {}\n", seen.method, seen.target);
            for (name, value) in &seen.headers {
                text.push_str(&format!("{name}: {value}\n"));
            }
            text.push_str(&String::from_utf8_lossy(&seen.body));
            let mut ledger = books.lock().unwrap_or_else(PoisonError::into_inner);
            ledger.answer(Asked {
                at: Instant::now(),
                amount,
                key,
                charge: None,
                new_charge: false,
                text,
            })
        })
        .await;
        Self { base: upstream.base.clone(), ledger, upstream: Arc::new(upstream) }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How the next requests for `amount` fare.
    pub(super) fn set(&self, amount: u64, fate: Fate) {
        self.ledger().fates.insert(amount, fate);
    }

    /// Lets the slow answers to the requests for `amount` that came so far go now.
    pub(super) fn release(&self, amount: u64) {
        self.ledger().release(amount);
    }

    /// Lets the slow answers for `held` go as soon as a request for `by` comes.
    pub(super) fn release_on(&self, held: u64, by: u64) {
        self.ledger().released_by.insert(by, held);
    }

    /// The requests for `amount` that came from `from` on (up to `to`, when given).
    pub(super) fn asked(&self, amount: u64, from: Instant, to: Option<Instant>) -> Vec<Asked> {
        self.ledger()
            .asked
            .iter()
            .filter(|asked| asked.amount == Some(amount) && asked.at >= from)
            .filter(|asked| to.is_none_or(|to| asked.at <= to))
            .cloned()
            .collect()
    }

    /// Every request, whatever it was for.
    pub(super) fn all_asked(&self) -> Vec<Asked> {
        self.ledger().asked.clone()
    }

    /// Waits until a request for `amount` came from `from` on, or `limit` passes.
    pub(super) async fn wait_for(&self, amount: u64, from: Instant, limit: Duration) -> bool {
        let ledger = Arc::clone(&self.ledger);
        self.upstream
            .wait_until(limit, move |_| {
                let ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
                ledger.asked.iter().any(|asked| asked.amount == Some(amount) && asked.at >= from)
            })
            .await
    }
}

impl Ledger {
    /// Opened once and forgotten: a later request for the amount (another play's) is held anew.
    fn release(&mut self, amount: u64) {
        if let Some(release) = self.releases.remove(&amount) {
            release.open();
        }
    }

    fn answer(&mut self, mut asked: Asked) -> Reply {
        let Some(amount) = asked.amount else {
            self.asked.push(asked);
            return Reply::json(400, &json!({"error": "not a payment"}));
        };
        if let Some(held) = self.released_by.remove(&amount) {
            self.release(held);
        }
        let fate = self.fates.get(&amount).copied().unwrap_or(Fate::Charge);
        let failed = |status| Reply::json(status, &json!({"error": "the processor failed"}));
        let failure = match fate {
            Fate::Fail(status) => Some(failed(status)),
            Fate::FailLate(delay) => Some(Reply::Delayed(delay, Box::new(failed(503)))),
            _ => None,
        };
        if let Some(failure) = failure {
            self.asked.push(asked);
            return failure;
        }
        // A key seen before is the same charge again, whatever happened to its first answer.
        let known = asked.key.as_ref().and_then(|key| {
            self.charges
                .iter()
                .find(|(known, _)| known.as_ref() == Some(key))
                .map(|(_, id)| id.clone())
        });
        let id = known.clone().unwrap_or_else(|| {
            let id = self.ids.pop().unwrap_or_else(|| format!("ch_{}", self.charges.len()));
            self.charges.push((asked.key.clone(), id.clone()));
            id
        });
        asked.new_charge = known.is_none();
        asked.charge = Some(id.clone());
        self.asked.push(asked);
        let created = Reply::json(201, &json!({"charge_id": id}));
        match fate {
            Fate::Charge | Fate::Fail(_) | Fate::FailLate(_) => created,
            Fate::Slow(at_most) => Reply::Held {
                release: self.releases.entry(amount).or_default().clone(),
                at_most,
                then: Box::new(created),
            },
            Fate::Drop => Reply::Raw(Vec::new()),
            Fate::Hang => Reply::Silence,
            Fate::Stall(head_after) => {
                let body = json!({"charge_id": id}).to_string().into_bytes();
                let sent = body[..body.len() / 2].to_vec();
                let stalled = Reply::Stalled { status: 201, promised: body.len(), sent };
                Reply::Delayed(head_after, Box::new(stalled))
            }
        }
    }
}
