//! Every request of a lesson 1 run, with the mark the log stood at when it went out, so that a
//! log line can be tied to the request it follows.

use futures_util::future::join_all;

use super::plan::{FAILING, HEALTHY, Plan, Served};
use crate::judge::Learner;
use crate::judge::exchange::{Client, Exchange, Request};

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `GET /orders/{id}` of a failing database: a database error.
    Failed,
    /// `GET /reports/{id}`: a panic.
    Panicked,
    Unknown,
    Health,
    Found,
    Missing,
}

#[derive(Debug)]
pub(super) struct Asked {
    /// Which server, by its place in [`Plan::served`].
    pub(super) served: usize,
    pub(super) kind: Kind,
    /// The order id in the path (0 for none).
    pub(super) id: u32,
    /// Where the log stood just before the request went out.
    pub(super) mark: u64,
    pub(super) exchange: Exchange,
}

/// How many times each failing server is asked for `/health` before the failures. A request
/// id may be a counter (tower-http's own example counts from 0), of the process or of each
/// instance. Past the warm-up's 24 requests, a process's counter keeps two digits to the run's
/// end (fewer than 100 requests in all); an instance's counter is the same on each at every
/// step, since each step asks all six: either way, comparing answers by shape does not take a
/// new digit for a leak.
const WARM_UP: usize = 4;

/// Asks the servers at `bases` everything: each request of the failing servers at once on all
/// six (in steps, so that the health check comes after the panics), then the healthy
/// server's, all at once.
pub(super) async fn ask(learner: &Learner, plan: &Plan, bases: &[String]) -> Vec<Asked> {
    let clients: Vec<Client> = bases.iter().map(Client::new).collect();
    let warm_up =
        FAILING.iter().flat_map(|served| (0..WARM_UP).map(|_| clients[*served].get("/health")));
    join_all(warm_up).await;
    let mut steps = Vec::new();
    for (index, order) in plan.order_ids.iter().enumerate() {
        steps.push((Kind::Failed, *order));
        steps.extend(plan.report_ids.get(index).map(|report| (Kind::Panicked, *report)));
    }
    steps.extend([(Kind::Unknown, 0), (Kind::Health, 0)]);
    let mut asked = Vec::new();
    for (kind, id) in steps {
        let step = FAILING.map(|served| one(learner, plan, &clients[served], served, kind, id));
        asked.extend(join_all(step).await);
    }
    let healthy = &plan.served[HEALTHY].setup;
    let found = healthy.orders.iter().map(|order| (Kind::Found, order.id));
    let missing = plan.missing_ids.iter().map(|id| (Kind::Missing, *id));
    let last = found.chain(missing).chain([(Kind::Health, 0)]);
    asked.extend(
        join_all(last.map(|(kind, id)| one(learner, plan, &clients[HEALTHY], HEALTHY, kind, id)))
            .await,
    );
    asked
}

async fn one(
    learner: &Learner,
    plan: &Plan,
    client: &Client,
    served: usize,
    kind: Kind,
    id: u32,
) -> Asked {
    let path = match kind {
        Kind::Failed | Kind::Found | Kind::Missing => format!("/orders/{id}"),
        Kind::Panicked => format!("/reports/{id}"),
        Kind::Unknown => plan.unknown_path.clone(),
        Kind::Health => "/health".into(),
    };
    let Served { token, session, .. } = &plan.served[served];
    let request = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .header("cookie", format!("session={session}"));
    let mark = learner.log_mark();
    Asked { served, kind, id, mark, exchange: client.send(request).await }
}

/// The answers of `kind`, in the order asked.
pub(super) fn of(asked: &[Asked], kind: Kind) -> impl Iterator<Item = &Asked> {
    asked.iter().filter(move |asked| asked.kind == kind)
}
