//! The inventory behind one instance: the toolkit's scripted upstream, answering each item as
//! the walk planned it (anything else it was not told about: silence, so that a health endpoint
//! that asks it shows).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::plan::{Fault, Item, Script};
use crate::judge::upstream::{Reply, Seen, Upstream};

pub(super) struct Inventory {
    pub(super) upstream: Upstream,
}

impl Inventory {
    pub(super) async fn start(items: &[Item]) -> Self {
        let scripted: HashMap<String, Item> =
            items.iter().map(|item| (item.path(), *item)).collect();
        let upstream =
            Upstream::start(move |seen| scripted.get(seen.path()).map_or(Reply::Silence, reply))
                .await;
        Self { upstream }
    }

    /// Waits (at most `limit`) until the inventory has been asked for one of `items`.
    pub(super) async fn asked_for(&self, items: &[Item], limit: Duration) -> bool {
        let paths: Vec<String> = items.iter().map(Item::path).collect();
        self.upstream
            .wait_until(limit, |seen| {
                seen.iter().any(|seen| paths.iter().any(|p| p == seen.path()))
            })
            .await
    }

    /// The request for `item` that arrived last, once it is over (at most `limit` from now).
    pub(super) async fn ended(&self, item: &Item, limit: Duration) -> Option<Seen> {
        let path = item.path();
        let last = |seen: &[Seen]| seen.iter().rev().find(|seen| seen.path() == path).cloned();
        self.upstream.wait_until(limit, |seen| last(seen).is_some_and(|s| s.ended.is_some())).await;
        last(&self.upstream.seen())
    }
}

fn reply(item: &Item) -> Reply {
    let (reply, delay) = match item.script {
        Script::Item(delay) => {
            (Reply::json(200, &json!({"id": item.id, "stock": item.stock})), delay)
        }
        Script::Missing => (Reply::json(404, &json!({"error": "no such item"})), Duration::ZERO),
        Script::Fault(fault, delay) => (failure(item, fault), delay),
    };
    if delay.is_zero() { reply } else { Reply::Delayed(delay, Box::new(reply)) }
}

fn failure(item: &Item, fault: Fault) -> Reply {
    match fault {
        Fault::Status(status) => Reply::json(status, &json!({"error": "inventory failure"})),
        Fault::Html => Reply::Respond {
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html><body>Down for maintenance</body></html>".to_vec(),
        },
        Fault::OtherItem => {
            Reply::json(200, &json!({"id": item.id.wrapping_add(1), "stock": item.stock}))
        }
        Fault::Reset => Reply::Reset,
        Fault::Silence => Reply::Silence,
    }
}
