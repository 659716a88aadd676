//! The payment processor behind the learner's server: `POST /charges` with a payment and an
//! `Idempotency-Key` answers `201 {"charge_id":…}`, charges once per key, and counts every
//! charge. Per amount, the judge scripts how each request fares: charged at once or slowly, a
//! failure before charging, or a charge whose answer never arrives (dropped, or hanging).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::judge::upstream_old::{Reply, ScriptedUpstream};
use httplings::fixtures::Payment;

/// How one request for an amount fares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    Charge,
    ChargeSlowly(Duration),
    /// This status, and no charge.
    Fail(u16),
    /// Charged, then the connection closes before a word of the answer.
    ChargeThenDrop,
    /// Charged, then no answer until the caller gives up.
    ChargeThenHang,
}

/// One charge the processor made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Charge {
    pub(super) id: String,
    pub(super) amount: u64,
    /// The key it was made under, if the request had one.
    pub(super) key: Option<String>,
}

#[derive(Debug, Default)]
struct Ledger {
    fates: HashMap<u64, Vec<Fate>>,
    asked: HashMap<u64, usize>,
    charges: Vec<Charge>,
    /// Random enough to be nobody's guess, fixed by the seed.
    ids: Vec<String>,
}

pub(super) struct Processor {
    pub(super) server: ScriptedUpstream,
    ledger: Arc<Mutex<Ledger>>,
}

impl Processor {
    /// A processor whose requests for each amount fare as `fates` says, in order (and are
    /// charged at once after that), and whose charges take their ids from `ids`.
    pub(super) async fn start(fates: HashMap<u64, Vec<Fate>>, ids: Vec<String>) -> Self {
        let ledger = Arc::new(Mutex::new(Ledger { fates, ids, ..Ledger::default() }));
        let books = Arc::clone(&ledger);
        let server = ScriptedUpstream::start(move |seen| {
            let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
            let Some(amount) = body["amount"].as_u64().filter(|_| body["currency"].is_string())
            else {
                return Reply::json(400, &json!({"error": "not a payment"}));
            };
            let key = seen.header("idempotency-key").map(str::to_string);
            books.lock().unwrap_or_else(PoisonError::into_inner).answer(amount, key)
        })
        .await;
        Self { server, ledger }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The charges made for `amount`.
    pub(super) fn charges_of(&self, amount: u64) -> Vec<Charge> {
        self.ledger().charges.iter().filter(|charge| charge.amount == amount).cloned().collect()
    }

    /// How many requests asked to charge `payment`.
    pub(super) fn asked(&self, payment: &Payment) -> usize {
        self.asked_since(payment, None)
    }

    /// How many requests asked to charge `payment`, from `since` on.
    pub(super) fn asked_since(&self, payment: &Payment, since: Option<Instant>) -> usize {
        self.server
            .seen()
            .iter()
            .filter(|seen| since.is_none_or(|since| seen.at >= since))
            .filter(|seen| {
                serde_json::from_slice::<Payment>(&seen.body).is_ok_and(|paid| paid == *payment)
            })
            .count()
    }

    /// The idempotency keys the requests for `amount` carried (`None` for one without).
    pub(super) fn keys_for(&self, amount: u64) -> Vec<Option<String>> {
        self.server
            .seen()
            .iter()
            .filter(|seen| {
                serde_json::from_slice::<Value>(&seen.body)
                    .is_ok_and(|body| body["amount"].as_u64() == Some(amount))
            })
            .map(|seen| seen.header("idempotency-key").map(str::to_string))
            .collect()
    }
}

impl Ledger {
    fn answer(&mut self, amount: u64, key: Option<String>) -> Reply {
        let attempt = self.asked.entry(amount).or_default();
        let fate = self.fates.get(&amount).and_then(|fates| fates.get(*attempt)).copied();
        *attempt += 1;
        let fate = fate.unwrap_or(Fate::Charge);
        if let Fate::Fail(status) = fate {
            return Reply::json(status, &json!({"error": "the processor failed"}));
        }
        // A key seen before is the same charge again, whatever happened to its first answer.
        let known = key
            .as_ref()
            .and_then(|key| self.charges.iter().find(|charge| charge.key.as_ref() == Some(key)));
        let id = match known {
            Some(charge) => charge.id.clone(),
            None => {
                let id = self.ids.pop().unwrap_or_else(|| format!("ch_{}", self.charges.len()));
                self.charges.push(Charge { id: id.clone(), amount, key });
                id
            }
        };
        let created = Reply::json(201, &json!({"charge_id": id}));
        match fate {
            Fate::Charge | Fate::Fail(_) => created,
            Fate::ChargeSlowly(delay) => Reply::Delayed(delay, Box::new(created)),
            Fate::ChargeThenDrop => Reply::Raw(Vec::new()),
            Fate::ChargeThenHang => Reply::Silence,
        }
    }
}
