//! What one run of lesson 1 asks, drawn from the seed: three failing databases whose failures
//! differ in every detail (host, password, reason, panic, the secret their query ids are made
//! from), a healthy one with orders of its own, the ids to ask for, and a bearer token for
//! each server.

use crate::judge::seed::{self, Rng};
use httplings::fixtures::{DatabaseSetup, Order, QueryFailure};

/// One server of the learner's app, over one database.
#[derive(Debug, Clone)]
pub(super) struct Served {
    /// "run A, instance 1", "run C, instance 2", "healthy": how a report names it.
    pub(super) name: &'static str,
    /// Which database it serves: 0, 1 and 2 for runs A, B and C, 3 for the healthy one.
    pub(super) database: usize,
    pub(super) setup: DatabaseSetup,
    /// Sent in `Authorization: Bearer …` with every request: a credential.
    pub(super) token: String,
    /// Sent in `Cookie: session=…` with every request: a credential too.
    pub(super) session: String,
}

#[derive(Debug)]
pub(super) struct Plan {
    /// Runs A, B and C twice each (two instances of one service each, to tell what is the
    /// instance's own from what comes from the failure), and the healthy one. Three runs, not
    /// two: a hash of the failure tucked into an id agrees with another run's on a character
    /// once in 16, and with both others' once in 256.
    pub(super) served: [Served; 7],
    /// Asked of every failing server.
    pub(super) order_ids: Vec<u32>,
    pub(super) report_ids: Vec<u32>,
    /// Asked of the healthy server: none of these is an order.
    pub(super) missing_ids: Vec<u32>,
    /// A path the app does not serve.
    pub(super) unknown_path: String,
}

/// The failing servers' places in [`Plan::served`].
pub(super) const FAILING: [usize; 6] = [0, 1, 2, 3, 4, 5];
pub(super) const HEALTHY: usize = 6;
/// How the failing runs are named, by database.
pub(super) const RUNS: [&str; 3] = ["run A", "run B", "run C"];

const REASONS: [&str; 4] = [
    "canceling statement due to statement timeout",
    "could not serialize access due to concurrent update",
    "deadlock detected while waiting for ShareLock on transaction",
    "could not extend file: No space left on device",
];

const PANICS: [&str; 4] = [
    "report template cache is corrupt (cache key {key}): cannot render",
    "report layout {key} has no column 'total_cents': cannot render",
    "font cache entry {key} is poisoned: cannot render",
    "chart renderer state {key} was left half-written: cannot render",
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
    let reasons = seed::distinct(&mut rng, 0..REASONS.len() as u32, 3);
    let panics = seed::distinct(&mut rng, 0..PANICS.len() as u32, 3);
    // Six digits or ten (past i32::MAX: an id is a u32), taken in turn so that every kind of
    // request has both, and so that an id in an answer is told from other numbers around it.
    let short = seed::distinct(&mut rng, 100_000..1_000_000, 6);
    let long = seed::distinct(&mut rng, 1 << 31..u32::MAX, 6);
    let ids: Vec<u32> =
        (0..12).map(|at| if at % 2 == 0 { short[at / 2] } else { long[at / 2] }).collect();
    // Passwords of four lengths: a mask as long as the password shows which database it hides.
    let lengths = seed::distinct(&mut rng, 12..29, 4);
    let failing = [0, 1, 2].map(|run| {
        let mut setup = database(&mut rng, lengths[run]);
        // An `@` inside it, as generated passwords have: a mask that ends at the first `@` of
        // the connection string leaves the rest, eight characters or more, in the log.
        let at = rng.usize(3..setup.password.len() - 8);
        setup.password.replace_range(at..=at, "@");
        setup.failure = Some(QueryFailure {
            reasons: vec![REASONS[reasons[run] as usize].to_string()],
            only: None,
        });
        setup.panic = Some(PANICS[panics[run] as usize].to_string());
        setup
    });
    let mut healthy = database(&mut rng, lengths[3]);
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
        served("run C, instance 1", 2, &failing[2]),
        served("run C, instance 2", 2, &failing[2]),
        served("healthy", 3, &healthy),
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
    fn the_failing_runs_differ_in_every_detail_and_a_seed_replays() {
        let plan = draw(7);
        let [a, a_again, b, b_again, c, c_again, healthy] = &plan.served;
        assert_ne!(a.token, a_again.token);
        for (one, again) in [(a, a_again), (b, b_again), (c, c_again)] {
            assert_eq!(one.setup, again.setup);
        }
        for (one, other) in [(a, b), (b, c), (a, c)] {
            let (one, other) = (&one.setup, &other.setup);
            for differs in [
                one.host != other.host,
                one.password.len() != other.password.len(),
                one.failure != other.failure,
                one.panic != other.panic,
                one.query_id(7) != other.query_id(7),
            ] {
                assert!(differs, "{plan:?}");
            }
        }
        let missing = &plan.missing_ids;
        assert!(healthy.setup.orders.iter().all(|order| !missing.contains(&order.id)));
        assert_eq!(format!("{:?}", draw(7)), format!("{plan:?}"));
    }
}
