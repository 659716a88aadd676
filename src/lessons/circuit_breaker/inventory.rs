//! The inventory service of lesson 5: a scripted upstream whose mood the judge changes as a
//! timeline goes on (healthy, slow, failing), and which counts every request it gets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::json;

use crate::judge::upstream_old::{Reply, ScriptedUpstream};

/// How the inventory answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mood {
    /// 200 with the item, after this long.
    Healthy(Duration),
    /// A failure of this kind.
    Failing(Fault),
    /// 404: no such item. An answer, not a failure.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    Status(u16),
    /// 200 with a body that is not an item.
    Garbage,
    /// No answer at all: the caller times out.
    Silence,
}

#[derive(Debug, Default)]
struct Moods {
    default: Option<Mood>,
    /// Items that answer otherwise.
    items: HashMap<u32, Mood>,
}

/// A running inventory, and the handle to change its mood.
pub(super) struct Inventory {
    pub(super) server: ScriptedUpstream,
    moods: Arc<Mutex<Moods>>,
}

impl Inventory {
    pub(super) async fn start() -> Self {
        let moods = Arc::new(Mutex::new(Moods {
            default: Some(Mood::Healthy(Duration::ZERO)),
            items: HashMap::new(),
        }));
        let reading = Arc::clone(&moods);
        let server = ScriptedUpstream::start(move |seen| {
            let id = item_of(&seen.target);
            let moods = reading.lock().unwrap_or_else(PoisonError::into_inner);
            let mood = id.and_then(|id| moods.items.get(&id)).copied().or(moods.default);
            reply(id.unwrap_or(0), mood.unwrap_or(Mood::Healthy(Duration::ZERO)))
        })
        .await;
        Self { server, moods }
    }

    /// Every item answers so from now on (but those given a mood of their own), and so does
    /// any other path.
    pub(super) fn set(&self, mood: Mood) {
        self.moods.lock().unwrap_or_else(PoisonError::into_inner).default = Some(mood);
    }

    /// `item` answers so from now on.
    pub(super) fn set_item(&self, item: u32, mood: Mood) {
        self.moods.lock().unwrap_or_else(PoisonError::into_inner).items.insert(item, mood);
    }

    /// How many requests it has had.
    pub(super) fn asked(&self) -> usize {
        self.server.seen().len()
    }
}

/// The stock the inventory reports for `item`: a function of the id, so the judge can check it.
pub(super) fn stock(item: u32) -> u32 {
    item % 97 + 3
}

fn reply(item: u32, mood: Mood) -> Reply {
    match mood {
        Mood::Healthy(delay) => {
            let found = Reply::json(200, &json!({"id": item, "stock": stock(item)}));
            if delay.is_zero() { found } else { Reply::Delayed(delay, Box::new(found)) }
        }
        Mood::Failing(Fault::Status(status)) => {
            Reply::json(status, &json!({"error": "inventory failure"}))
        }
        Mood::Failing(Fault::Garbage) => Reply::Respond {
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html>maintenance</html>".to_vec(),
        },
        Mood::Failing(Fault::Silence) => Reply::Silence,
        Mood::Missing => Reply::json(404, &json!({"error": "no such item"})),
    }
}

/// The item a request asks for: `/items/{id}`.
fn item_of(target: &str) -> Option<u32> {
    target.split('?').next()?.strip_prefix("/items/")?.parse().ok()
}
