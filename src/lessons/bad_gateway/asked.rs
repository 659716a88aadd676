//! Every request of a lesson 4 run, made at once, and the answers that came back, timed.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::Gateway;
use super::plan::{Behaviour, Plan};
use crate::judge::answer::Answer;

#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) gateway: Gateway,
    pub(crate) symbol: String,
    pub(crate) took: Duration,
    pub(crate) answer: Result<Answer, String>,
}

#[derive(Debug)]
pub(crate) struct Asked {
    pub(crate) requests: Vec<Request>,
}

impl Asked {
    /// Asks the gateways at `bases` (over A, B, the service that is down, the unreachable one).
    pub(crate) async fn ask(plan: &Plan, bases: &[String]) -> Self {
        // Long enough for a gateway that waits its whole timeout, and a little more: one that
        // is later than that fails the timeout check anyway.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(plan.timeout + Duration::from_millis(1_000))
            .build()
            .expect("a client without TLS always builds");
        // Every failure twice of A and once of B: what differs between A's two answers (a
        // request id, a timing) is noise, not a leak, when A's answer is compared with B's.
        let mut wanted: Vec<(Gateway, String)> = Vec::new();
        for case in &plan.cases {
            wanted.push((Gateway::Priced(0), case.symbol.clone()));
            if !matches!(case.behaviour, Behaviour::Price(_)) {
                wanted.push((Gateway::Priced(0), case.symbol.clone()));
                wanted.push((Gateway::Priced(1), case.symbol.clone()));
            }
        }
        wanted.push((Gateway::Down, plan.down_symbol.clone()));
        wanted.push((Gateway::Unreachable, plan.unreachable_symbol.clone()));
        let base = |gateway: Gateway| match gateway {
            Gateway::Priced(service) => &bases[service],
            Gateway::Down => &bases[2],
            Gateway::Unreachable => &bases[3],
        };
        let requests = join_all(wanted.into_iter().map(|(gateway, symbol)| {
            let url = format!("{}/quotes/{symbol}", base(gateway));
            let client = &client;
            async move {
                let sent = Instant::now();
                let answer = Answer::get(client, &url).await;
                Request { gateway, symbol, took: sent.elapsed(), answer }
            }
        }))
        .await;
        Self { requests }
    }

    /// The requests for `symbol` made of `gateway`.
    pub(crate) fn of(&self, gateway: Gateway, symbol: &str) -> impl Iterator<Item = &Request> {
        self.requests
            .iter()
            .filter(move |request| request.gateway == gateway && request.symbol == symbol)
    }
}
