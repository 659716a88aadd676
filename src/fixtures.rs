//! The pretend dependencies that exercises program against. The judge decides their state (a
//! healthy, failing or down [`Database`], with this run's ids and secrets) and the adapter
//! builds them in the learner's process from that description.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// An order as the database stores it; serialises to the JSON the API sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: u32,
    pub customer: String,
    pub total_cents: u64,
    pub status: String,
}

/// The error a failing [`Database`] returns. Its text is a diagnostic: which query failed on
/// which host. That belongs in the server log, and never in a response.
#[derive(Debug, Clone)]
pub struct DbError {
    message: String,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {}

/// A handle to the orders database. Cheap to clone: every clone sees the same state.
#[derive(Debug, Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    setup: DatabaseSetup,
    down: AtomicBool,
}

/// What the judge decides about a database: its orders, and how it fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DatabaseSetup {
    pub(crate) orders: Vec<Order>,
    pub(crate) failure: Option<DatabaseFailure>,
    pub(crate) down: bool,
}

/// How a failing database fails: the text of its errors, and of its report renderer's panics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DatabaseFailure {
    pub(crate) error: String,
    pub(crate) panic: String,
}

impl Database {
    pub(crate) fn new(setup: DatabaseSetup) -> Self {
        let down = AtomicBool::new(setup.down);
        Self { inner: Arc::new(Inner { setup, down }) }
    }

    /// Looks an order up: `Ok(None)` when there is no such order, `Err` when the query fails.
    pub fn find_order(&self, id: u32) -> Result<Option<Order>, DbError> {
        if let Some(failure) = &self.inner.setup.failure {
            return Err(DbError { message: failure.error.clone() });
        }
        if self.is_down() {
            return Err(DbError { message: "database unreachable: connection refused".into() });
        }
        Ok(self.inner.setup.orders.iter().find(|order| order.id == id).cloned())
    }

    /// Renders a plain-text report of an order. Panics when the database is failing, as a
    /// renderer with a bug would; the panic points at the caller, as `unwrap` does.
    #[track_caller]
    pub fn render_report(&self, id: u32) -> String {
        if let Some(failure) = &self.inner.setup.failure {
            panic!("{}", failure.panic);
        }
        match self.inner.setup.orders.iter().find(|order| order.id == id) {
            Some(order) => format!(
                "Order #{} for {}: {} cents, {}",
                order.id, order.customer, order.total_cents, order.status
            ),
            None => format!("Order #{id}: no such order"),
        }
    }

    /// Whether the database is down (lesson 2): alive, but unable to serve anything.
    pub fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::SeqCst)
    }

    /// Takes the database down or brings it back. The checks use this; exercises need not.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }
}
