//! Every request of a lesson 1 run, and the answers that came back.

use super::plan::{Instance, Plan};
use crate::judge::answer::{self, Answer};
use httplings::fixtures::Order;

/// One failing server's answers.
#[derive(Debug)]
pub(super) struct FailingAnswers {
    pub(super) name: &'static str,
    /// `GET /orders/{id}` for each id, then the first one again (to tell noise from leaks).
    pub(super) orders: Vec<(String, Result<Answer, String>)>,
    pub(super) repeated: Result<Answer, String>,
    pub(super) reports: Vec<(String, Result<Answer, String>)>,
    /// Asked after the panics.
    pub(super) health: Result<Answer, String>,
    pub(super) unknown: (String, Result<Answer, String>),
}

#[derive(Debug)]
pub(super) struct HealthyAnswers {
    pub(super) found: Vec<(Order, Result<Answer, String>)>,
    pub(super) missing: Vec<(u32, Result<Answer, String>)>,
    pub(super) health: Result<Answer, String>,
}

#[derive(Debug)]
pub(super) struct Asked {
    pub(super) failing: [FailingAnswers; 2],
    pub(super) healthy: HealthyAnswers,
}

impl Asked {
    /// Asks the servers at `bases` (the failing two, then the healthy one) everything.
    pub(super) async fn ask(plan: &Plan, bases: &[String]) -> Self {
        let client = answer::client();
        let a = ask_failing(&client, plan, &plan.failing[0], &bases[0]).await;
        let b = ask_failing(&client, plan, &plan.failing[1], &bases[1]).await;
        let healthy = ask_healthy(&client, plan, &bases[2]).await;
        Self { failing: [a, b], healthy }
    }
}

async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    instance: &Instance,
) -> Result<Answer, String> {
    Answer::send(client.get(format!("{base}{path}")).bearer_auth(&instance.token)).await
}

async fn ask_failing(
    client: &reqwest::Client,
    plan: &Plan,
    instance: &Instance,
    base: &str,
) -> FailingAnswers {
    let mut orders = Vec::new();
    for id in &plan.order_ids {
        let path = format!("/orders/{id}");
        orders.push((path.clone(), get(client, base, &path, instance).await));
    }
    let repeated = get(client, base, &orders[0].0, instance).await;
    let mut reports = Vec::new();
    for id in &plan.report_ids {
        let path = format!("/reports/{id}");
        reports.push((path.clone(), get(client, base, &path, instance).await));
    }
    let health = get(client, base, "/health", instance).await;
    let unknown =
        (plan.unknown_path.clone(), get(client, base, &plan.unknown_path, instance).await);
    FailingAnswers { name: instance.name, orders, repeated, reports, health, unknown }
}

async fn ask_healthy(client: &reqwest::Client, plan: &Plan, base: &str) -> HealthyAnswers {
    let instance = &plan.healthy;
    let mut found = Vec::new();
    for order in &instance.setup.orders {
        found.push((
            order.clone(),
            get(client, base, &format!("/orders/{}", order.id), instance).await,
        ));
    }
    let mut missing = Vec::new();
    for id in &plan.missing_ids {
        missing.push((*id, get(client, base, &format!("/orders/{id}"), instance).await));
    }
    let health = get(client, base, "/health", instance).await;
    HealthyAnswers { found, missing, health }
}
