//! What one run of lesson 1 asks, drawn from the seed: two failing databases whose failures
//! differ in every detail, a healthy one with orders of its own, the ids to ask for, and a
//! bearer token per server.

use crate::judge::seed::{self, Rng};
use httplings::fixtures::{DatabaseFailure, DatabaseSetup, Order};

/// One server of the learner's app, over one database.
#[derive(Debug, Clone)]
pub(super) struct Instance {
    /// "run A", "run B", "healthy": how a report names it.
    pub(super) name: &'static str,
    pub(super) setup: DatabaseSetup,
    /// Sent in `Authorization: Bearer …` with every request: a credential.
    pub(super) token: String,
    pub(super) secrets: Secrets,
}

/// What a failing database's errors carry that must reach the log and never the client.
#[derive(Debug, Clone, Default)]
pub(super) struct Secrets {
    pub(super) query_id: String,
    pub(super) host: String,
    pub(super) panic_key: String,
}

#[derive(Debug)]
pub(super) struct Plan {
    pub(super) failing: [Instance; 2],
    pub(super) healthy: Instance,
    /// Asked of both failing servers.
    pub(super) order_ids: Vec<u32>,
    pub(super) report_ids: Vec<u32>,
    /// Asked of the healthy server: none of these is an order.
    pub(super) missing_ids: Vec<u32>,
    /// A path the app does not serve.
    pub(super) unknown_path: String,
}

const ERRORS: [&str; 4] = [
    "canceling statement due to statement timeout",
    "could not serialize access due to concurrent update",
    "server closed the connection unexpectedly",
    "deadlock detected while waiting for ShareLock on transaction",
];

const PANICS: [&str; 3] = [
    "report template cache is corrupt (cache key {key}): cannot render",
    "report layout {key} has no column 'total_cents': cannot render",
    "font cache entry {key} is poisoned: cannot render",
];

const CUSTOMERS: [&str; 10] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Ken Thompson",
    "Radia Perlman",
];

const STATUSES: [&str; 4] = ["pending", "paid", "shipped", "refunded"];

pub(super) fn draw(seed: u64) -> Plan {
    let mut rng = seed::rng(seed);
    let errors = seed::distinct(&mut rng, 0..ERRORS.len() as u32, 2);
    let panics = seed::distinct(&mut rng, 0..PANICS.len() as u32, 2);
    let ids = seed::distinct(&mut rng, 1..1_000_000, 12);
    let orders: Vec<Order> = ids[..4].iter().map(|id| order(&mut rng, *id)).collect();
    let failing = [0, 1].map(|run| {
        let secrets = Secrets {
            query_id: format!("q-{}", seed::token(&mut rng, 12)),
            host: format!("orders-db-{}.internal", seed::token(&mut rng, 6)),
            panic_key: seed::token(&mut rng, 16),
        };
        let failure = DatabaseFailure {
            error: format!(
                "query {} failed on {}:5432: {}",
                secrets.query_id, secrets.host, ERRORS[errors[run] as usize]
            ),
            panic: PANICS[panics[run] as usize].replace("{key}", &secrets.panic_key),
        };
        Instance {
            name: ["run A", "run B"][run],
            setup: DatabaseSetup { orders: Vec::new(), failure: Some(failure), down: false },
            token: seed::token(&mut rng, 32),
            secrets,
        }
    });
    let healthy = Instance {
        name: "healthy",
        setup: DatabaseSetup { orders, failure: None, down: false },
        token: seed::token(&mut rng, 32),
        secrets: Secrets::default(),
    };
    Plan {
        failing,
        healthy,
        order_ids: ids[4..7].to_vec(),
        report_ids: ids[7..9].to_vec(),
        missing_ids: ids[9..11].to_vec(),
        unknown_path: format!("/{}", seed::token(&mut rng, 8)),
    }
}

fn order(rng: &mut Rng, id: u32) -> Order {
    Order {
        id,
        customer: CUSTOMERS[rng.usize(..CUSTOMERS.len())].to_string(),
        total_cents: rng.u64(100..1_000_000),
        status: STATUSES[rng.usize(..STATUSES.len())].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_failing_runs_differ_in_every_detail_and_a_seed_replays() {
        let plan = draw(7);
        let [a, b] = &plan.failing;
        let (a_failure, b_failure) =
            (a.setup.failure.as_ref().unwrap(), b.setup.failure.as_ref().unwrap());
        assert_ne!(a_failure.error.split(": ").last(), b_failure.error.split(": ").last());
        assert_ne!(a_failure.panic.split(' ').next(), b_failure.panic.split(' ').next());
        assert_ne!(a.token, b.token);
        assert!(
            a_failure.error.contains(&a.secrets.query_id)
                && a_failure.panic.contains(&a.secrets.panic_key)
        );
        let missing = &plan.missing_ids;
        assert!(plan.healthy.setup.orders.iter().all(|order| !missing.contains(&order.id)));
        assert_eq!(format!("{:?}", draw(7)), format!("{plan:?}"));
    }
}
