//! What one run of lesson 1 asks, drawn from the seed: two failing databases whose failures
//! differ in every detail (host, password, reason, panic, the secret their query ids are made
//! from), a healthy one with orders of its own, the ids to ask for, and a bearer token for
//! each server.

use crate::judge::seed::{self, Rng};
use httplings::fixtures::{DatabaseSetup, Order, QueryFailure};

/// One server of the learner's app, over one database.
#[derive(Debug, Clone)]
pub(super) struct Served {
    /// "run A, instance 1", "run B", "healthy": how a report names it.
    pub(super) name: &'static str,
    /// Which database it serves: 0 for run A, 1 for run B, 2 for the healthy one.
    pub(super) database: usize,
    pub(super) setup: DatabaseSetup,
    /// Sent in `Authorization: Bearer …` with every request: a credential.
    pub(super) token: String,
    /// Sent in `Cookie: session=…` with every request: a credential too.
    pub(super) session: String,
}

#[derive(Debug)]
pub(super) struct Plan {
    /// Run A twice and run B twice (two instances of one service each, to tell what is the
    /// instance's own from what comes from the failure), and the healthy one.
    pub(super) served: [Served; 5],
    /// Asked of every failing server.
    pub(super) order_ids: Vec<u32>,
    pub(super) report_ids: Vec<u32>,
    /// Asked of the healthy server: none of these is an order.
    pub(super) missing_ids: Vec<u32>,
    /// A path the app does not serve.
    pub(super) unknown_path: String,
}

/// The failing servers' places in [`Plan::served`].
pub(super) const FAILING: [usize; 4] = [0, 1, 2, 3];
pub(super) const HEALTHY: usize = 4;

const REASONS: [&str; 4] = [
    "canceling statement due to statement timeout",
    "could not serialize access due to concurrent update",
    "deadlock detected while waiting for ShareLock on transaction",
    "could not extend file: No space left on device",
];

const PANICS: [&str; 3] = [
    "report template cache is corrupt (cache key {key}): cannot render",
    "report layout {key} has no column 'total_cents': cannot render",
    "font cache entry {key} is poisoned: cannot render",
];

const CUSTOMERS: [&str; 6] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Barbara Liskov",
    "Frances Allen",
    "Radia Perlman",
];

const STATUSES: [&str; 4] = ["pending", "paid", "shipped", "refunded"];

pub(super) fn draw(seed: u64) -> Plan {
    let mut rng = seed::rng(seed);
    let reasons = seed::distinct(&mut rng, 0..REASONS.len() as u32, 2);
    let panics = seed::distinct(&mut rng, 0..PANICS.len() as u32, 2);
    // Six digits or ten (past i32::MAX: an id is a u32), taken in turn so that every kind of
    // request has both, and so that an id in an answer is told from other numbers around it.
    let short = seed::distinct(&mut rng, 100_000..1_000_000, 6);
    let long = seed::distinct(&mut rng, 1 << 31..u32::MAX, 6);
    let ids: Vec<u32> =
        (0..12).map(|at| if at % 2 == 0 { short[at / 2] } else { long[at / 2] }).collect();
    // Passwords of three lengths: a mask as long as the password shows which database it hides.
    let lengths = seed::distinct(&mut rng, 12..29, 3);
    let failing = [0, 1].map(|run| {
        let mut setup = database(&mut rng, lengths[run]);
        setup.failure = Some(QueryFailure {
            reasons: vec![REASONS[reasons[run] as usize].to_string()],
            only: None,
        });
        setup.panic = Some(PANICS[panics[run] as usize].to_string());
        setup
    });
    let mut healthy = database(&mut rng, lengths[2]);
    healthy.orders = ids[..4].iter().map(|id| order(&mut rng, *id)).collect();
    let mut served = |name, database: usize, setup: &DatabaseSetup| Served {
        name,
        database,
        setup: setup.clone(),
        token: seed::token(&mut rng, 32),
        session: seed::token(&mut rng, 24),
    };
    let served = [
        served("run A, instance 1", 0, &failing[0]),
        served("run A, instance 2", 0, &failing[0]),
        served("run B, instance 1", 1, &failing[1]),
        served("run B, instance 2", 1, &failing[1]),
        served("healthy", 2, &healthy),
    ];
    Plan {
        served,
        // Four failing orders: what each database's errors keep in common is judged over them.
        order_ids: ids[4..8].to_vec(),
        report_ids: ids[8..10].to_vec(),
        missing_ids: ids[10..12].to_vec(),
        unknown_path: format!("/{}", seed::token(&mut rng, 8)),
    }
}

/// A database of its own: host, password of `length` characters, and secret.
fn database(rng: &mut Rng, length: u32) -> DatabaseSetup {
    DatabaseSetup {
        orders: Vec::new(),
        host: format!("orders-db-{}.internal:5432", seed::token(rng, 6)),
        password: (0..length).map(|_| rng.alphanumeric()).collect(),
        secret: rng.u64(..),
        failure: None,
        panic: None,
        unavailable: Vec::new(),
        down: false,
    }
}

fn order(rng: &mut Rng, id: u32) -> Order {
    Order {
        id,
        customer: seed::pick(rng, &CUSTOMERS).to_string(),
        total_cents: rng.u64(100..1_000_000),
        status: seed::pick(rng, &STATUSES).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_failing_runs_differ_in_every_detail_and_a_seed_replays() {
        let plan = draw(7);
        let [a, a_again, b, b_again, healthy] = &plan.served;
        assert_eq!(a.setup, a_again.setup);
        assert_ne!(a.token, a_again.token);
        assert_eq!(b.setup, b_again.setup);
        for differs in [
            a.setup.host != b.setup.host,
            a.setup.password.len() != b.setup.password.len(),
            a.setup.failure != b.setup.failure,
            a.setup.panic != b.setup.panic,
            a.setup.query_id(7) != b.setup.query_id(7),
        ] {
            assert!(differs, "{plan:?}");
        }
        let missing = &plan.missing_ids;
        assert!(healthy.setup.orders.iter().all(|order| !missing.contains(&order.id)));
        assert_eq!(format!("{:?}", draw(7)), format!("{plan:?}"));
    }
}
