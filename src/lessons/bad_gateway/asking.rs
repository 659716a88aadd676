//! The judge's requests of a lesson 4 run, with what came back: every symbol in two rounds,
//! the symbols that need escaping one at a time (so that what the pricing service was asked is
//! known to come from each), and the replays of a timing failure.

use std::cell::{Ref, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::{join, join_all};
use futures_util::{StreamExt, stream};

use super::plan::{Behaviour, Plan};
use super::{A, B, DOWN, ESCAPES, UNREACHABLE, answers};
use crate::judge::Failure;
use crate::judge::bounds::patience_for;
use crate::judge::exchange::{Client, Exchange, Request};
use crate::judge::upstream::{Seen, Upstream};

/// One request of the judge's to one gateway.
#[derive(Debug)]
pub(super) struct Asked {
    pub(super) gateway: usize,
    pub(super) symbol: String,
    /// Which round's answer the pricing service gave: 0 or 1.
    pub(super) round: usize,
    /// 0 when first asked; from 1 on, a replay of a failure before it is believed.
    pub(super) play: u32,
    pub(super) exchange: Exchange,
    /// For an answer due at a time: how long a control request took, sent then.
    pub(super) latency: Duration,
}

impl Asked {
    /// What the pricing service behind the gateway did, for a report.
    pub(super) fn did(&self, plan: &Plan) -> String {
        match (plan.behaviour(&self.symbol, self.round), self.gateway) {
            (Some(behaviour), _) => behaviour.did(),
            (None, DOWN) => "refused the connection".into(),
            (None, _) => "never let a connection complete".into(),
        }
    }
}

/// The play of [`Record::timing_again`]'s requests, apart from every confirmed verdict's.
const TIMING_AGAIN: u32 = u32::MAX;

/// A request to make: of which gateway, for which symbol, in which round.
type Wanted = (usize, String, usize);

/// A symbol that needs escaping, what the pricing service was asked while the gateway handled
/// it (the targets), and what the gateway answered.
#[derive(Debug)]
pub(super) struct Escaped {
    pub(super) symbol: String,
    pub(super) segment: String,
    pub(super) targets: Vec<Seen>,
    pub(super) exchange: Exchange,
}

/// Every request asked so far.
pub(super) struct Record<'a> {
    pub(super) plan: &'a Plan,
    gateways: &'a [Client],
    /// The round the pricing services answer for.
    round: &'a AtomicUsize,
    asked: RefCell<Vec<Asked>>,
    /// The requests a confirmed verdict's last play found wrong: the next play asks them again.
    suspects: RefCell<Vec<Wanted>>,
}

impl<'a> Record<'a> {
    pub(super) fn new(plan: &'a Plan, gateways: &'a [Client], round: &'a AtomicUsize) -> Self {
        Self { plan, gateways, round, asked: RefCell::default(), suspects: RefCell::default() }
    }

    pub(super) fn asked(&self) -> Ref<'_, Vec<Asked>> {
        self.asked.borrow()
    }

    /// Every symbol of real shape of every gateway over A and B (of A twice, so that what
    /// changes between two asks is known as noise), the timing ones of the two other services
    /// too, and a symbol of the gateways over the service down and the one never reached.
    pub(super) async fn round_one(&self) {
        let mut wanted = Vec::new();
        for case in &self.plan.cases {
            wanted.extend([A, A, A + 1, B].map(|gateway| (gateway, case.symbol.clone(), 0)));
            if case.rounds[0].is_timing() {
                wanted.extend([B + 1, B + 2].map(|gateway| (gateway, case.symbol.clone(), 0)));
            }
        }
        wanted.push((DOWN, self.plan.refused.clone(), 0));
        wanted.push((UNREACHABLE, self.plan.unreachable.clone(), 0));
        self.ask_all(wanted, 0).await;
    }

    /// Every symbol again, of the first gateway over A, each answer changed since round one.
    pub(super) async fn round_two(&self) {
        let quick = self.plan.cases.iter().filter(|case| !case.rounds[1].is_timing());
        self.ask_all(quick.map(|case| (A, case.symbol.clone(), 1)).collect(), 0).await;
    }

    /// The symbols that wait on a timeout asked again of every gateway that had them in round
    /// one, as a play of their own: a second look at when the gateways hang up.
    pub(super) async fn timing_again(&self) {
        let mut wanted = Vec::new();
        for case in self.plan.cases.iter().filter(|case| case.rounds[0].is_timing()) {
            let gateways = [A, A, A + 1, B, B + 1, B + 2];
            wanted.extend(gateways.map(|gateway| (gateway, case.symbol.clone(), 0)));
        }
        self.ask_all(wanted, TIMING_AGAIN).await;
    }

    /// `symbol` asked of the gateways over A and B again, as in round one: a value that seemed
    /// to change with the service may be a clock's, seen to change once there are more asks.
    pub(super) async fn again(&self, symbol: &str) {
        let wanted = [A, A, A + 1, B].map(|gateway| (gateway, symbol.to_string(), 0));
        self.ask_all(wanted.to_vec(), 0).await;
    }

    /// Play `play` of a confirmed verdict on the requests that `which` picks: play 0 judges
    /// them as they were answered, each later play asks again those the last one found wrong,
    /// in the round they were asked in. A failure is believed only when the same request failed
    /// in every play: a busy machine delays one answer now and then, never the same one every
    /// time, and a wrong gateway answers wrong every time.
    pub(super) async fn replayed(
        &self,
        play: u32,
        which: impl Fn(&Asked) -> bool,
    ) -> Option<Failure> {
        if play > 0 {
            let again = self.suspects.take();
            self.ask_all(again, play).await;
        }
        let asked = self.asked.borrow();
        let wrong: Vec<(&Asked, Failure)> = asked
            .iter()
            .filter(|asked| asked.play == play && which(asked))
            .filter_map(|asked| Some((asked, answers::wrong(self.plan, asked)?)))
            .collect();
        *self.suspects.borrow_mut() = wrong
            .iter()
            .map(|(asked, _)| (asked.gateway, asked.symbol.clone(), asked.round))
            .collect();
        // An answer only late is told last: the others cannot be a busy moment's doing.
        let telling = wrong.iter().position(|(asked, _)| !answers::late_only(self.plan, asked));
        wrong.into_iter().nth(telling.unwrap_or(0)).map(|(_, failure)| failure)
    }

    /// The symbols that need escaping, one after the other, of the gateway over `service`.
    pub(super) async fn escapes(&self, service: &Upstream) -> Vec<Escaped> {
        let mut escaped = Vec::new();
        for (symbol, segment) in &self.plan.escaped {
            let before = service.asked();
            let request = Request::get(format!("/quotes/{segment}"));
            // Sent as it is: a client that parses URLs would resolve `%2E%2E`.
            let exchange = self.gateways[ESCAPES].burst(vec![request]).await.remove(0);
            let targets = service.seen().split_off(before);
            escaped.push(Escaped {
                symbol: symbol.clone(),
                segment: segment.clone(),
                targets,
                exchange,
            });
        }
        escaped
    }

    /// Asks for `wanted`, round by round (the pricing services answer as in that round): the
    /// requests that wait on a timeout all at once, the others sixteen at a time, so that a
    /// busy machine answers each within the smallest timeout.
    async fn ask_all(&self, wanted: Vec<Wanted>, play: u32) {
        for round in [0, 1] {
            let (waiting, quick): (Vec<_>, Vec<_>) = wanted
                .iter()
                .filter(|wanted| wanted.2 == round)
                .partition(|(gateway, symbol, _)| self.waits(*gateway, symbol));
            if waiting.is_empty() && quick.is_empty() {
                continue;
            }
            self.round.store(round, Ordering::SeqCst);
            let ask = |wanted: &Wanted| self.ask(wanted.clone(), play);
            let quick = stream::iter(quick).map(ask).buffer_unordered(16).collect::<Vec<_>>();
            let waiting =
                join_all(waiting.into_iter().map(|wanted| self.ask_in_time(wanted.clone(), play)));
            let (waiting, quick) = join(waiting, quick).await;
            self.asked.borrow_mut().extend(waiting.into_iter().flatten().chain(quick));
        }
    }

    /// Whether the gateway's answer for `symbol` waits on its timeout.
    fn waits(&self, gateway: usize, symbol: &str) -> bool {
        matches!(gateway, DOWN | UNREACHABLE)
            || self.plan.behaviour(symbol, 0).is_some_and(Behaviour::is_timing)
    }

    async fn ask(&self, (gateway, symbol, round): Wanted, play: u32) -> Asked {
        let patience = patience_for(self.plan.timeouts[gateway]);
        let request = Request::get(format!("/quotes/{symbol}"));
        let exchange = self.gateways[gateway].hang_up_after(request, patience).await;
        Asked { gateway, symbol, round, play, exchange, latency: Duration::ZERO }
    }

    /// A request whose answer is due at a time (the timeout, or at once for a refused
    /// connection), and a control request sent when it is due: a symbol the pricing service
    /// answers 404 at once, through the first gateway over A. Both are kept.
    async fn ask_in_time(&self, wanted: Wanted, play: u32) -> [Asked; 2] {
        let (due, round) = (
            if wanted.0 == DOWN { Duration::ZERO } else { self.plan.timeouts[wanted.0] },
            wanted.2,
        );
        let unknown =
            self.plan.cases.iter().find(|case| case.rounds[round] == Behaviour::Status(404, None));
        let control =
            (A, unknown.expect("a symbol is unknown in each round").symbol.clone(), round);
        let control = async {
            tokio::time::sleep(due).await;
            self.ask(control, play).await
        };
        let (mut asked, control) = join(self.ask(wanted, play), control).await;
        asked.latency = control.exchange.took();
        [asked, control]
    }
}
