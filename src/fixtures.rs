//! The pretend dependencies that exercises program against, controlled by the checks:
//! a [`Database`] that can be healthy, failing or down.
//!
//! When failing, the database's error text and the report renderer's panic message each carry
//! a secret made fresh for every run, so the checks can tell whether a detail leaked to a
//! client or reached the server log, and no answer can get by filtering a fixed string.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

/// An order as the database stores it; serialises to the JSON the API sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub id: u32,
    pub customer: String,
    pub total_cents: u64,
    pub status: String,
}

/// The error a failing [`Database`] returns. Its text holds a connection string with a password:
/// exactly the kind of detail that belongs in a server log and never in a response.
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
    orders: Vec<Order>,
    failure: Option<Secrets>,
    down: AtomicBool,
}

/// The per-run secrets of a failing database.
#[derive(Debug, Clone)]
pub(crate) struct Secrets {
    /// Inside the [`DbError`] text.
    pub(crate) db: String,
    /// Inside the report renderer's panic message.
    pub(crate) panic: String,
}

impl Database {
    /// A database that answers: orders 1 to 3 exist, any other id is missing.
    pub fn healthy() -> Self {
        Self::with_failure(None)
    }

    /// A database whose queries fail and whose report renderer panics.
    pub fn failing() -> Self {
        Self::with_failure(Some(Secrets { db: random_token(), panic: random_token() }))
    }

    fn with_failure(failure: Option<Secrets>) -> Self {
        let inner = Inner { orders: sample_orders(), failure, down: AtomicBool::new(false) };
        Self { inner: Arc::new(inner) }
    }

    /// Looks an order up: `Ok(None)` when there is no such order, `Err` when the query fails.
    pub fn find_order(&self, id: u32) -> Result<Option<Order>, DbError> {
        if let Some(secrets) = &self.inner.failure {
            return Err(DbError { message: connection_error(&secrets.db) });
        }
        if self.is_down() {
            return Err(DbError { message: "database unreachable: connection refused".into() });
        }
        Ok(self.inner.orders.iter().find(|order| order.id == id).cloned())
    }

    /// Renders a plain-text report of an order. Panics when the database is failing, as a
    /// renderer with a bug would; the panic points at the caller, as `unwrap` does.
    #[track_caller]
    pub fn render_report(&self, id: u32) -> String {
        if let Some(secrets) = &self.inner.failure {
            panic!("report template cache is corrupt (cache key {}): cannot render", secrets.panic);
        }
        match self.inner.orders.iter().find(|order| order.id == id) {
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

    pub(crate) fn secrets(&self) -> Option<&Secrets> {
        self.inner.failure.as_ref()
    }
}

fn connection_error(secret: &str) -> String {
    format!(
        "pool timed out connecting to postgres://orders_app:{secret}@db-primary.internal:5432/orders \
         (server closed the connection unexpectedly)"
    )
}

fn sample_orders() -> Vec<Order> {
    let order = |id, customer: &str, total_cents, status: &str| Order {
        id,
        customer: customer.into(),
        total_cents,
        status: status.into(),
    };
    vec![
        order(1, "Ada Lovelace", 4_200, "shipped"),
        order(2, "Grace Hopper", 1_999, "paid"),
        order(3, "Alan Turing", 250, "pending"),
    ]
}

/// A token nobody can guess in advance: std's hasher keys are random per process.
pub(crate) fn random_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{:016x}", RandomState::new().hash_one(nanos))
}
