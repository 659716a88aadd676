//! Walking one instance of the learner's service through its plan, and what that showed: every
//! request a [`Step`], with what came back and whether (and how) the inventory was asked
//! ([`Observed`]), in the order the service met them. The walk times each step from when the
//! breaker should have opened, by the rules; whether it did is the model's to say.

use std::fmt;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio::time::sleep_until;

use super::inventory::Inventory;
use super::plan::{Back, Instance, Item, Phase};
use super::rules::{Span, recorded};
use crate::judge::answer::brief;
use crate::judge::bounds::{AT_ONCE, LATE_FLOOR, PATIENCE, millis};
use crate::judge::exchange::{BURST_SETTLE, Client, Exchange, KeptAlive, Request};
use crate::judge::upstream::{Reply, Seen};

/// The control request sent beside every request for an item: `/health/live` must be answered
/// at once, so how long it takes is how long a round trip through the service takes just then,
/// on this machine (a refusal is timed against it).
const CONTROL: &str = "/health/live";

/// What the judge did at one step.
#[derive(Debug, Clone)]
pub(super) enum Act {
    /// Keep-alive connections opened, each with `GET /health/live`.
    Warm(usize),
    /// A request, answered before the next step.
    Ask(Item),
    /// A request whose answer comes at a later step ([`Act::Answer`]).
    Send(Item),
    Answer(Item),
    /// A request the judge hung up on once the inventory had it.
    HangUp(Item),
    /// Requests released together; those that reached the inventory are answered later.
    Burst(Vec<Item>),
    Live,
    Ready,
    Drain,
}

#[derive(Debug, Clone)]
pub(super) struct Step {
    /// Since the instance's first request.
    pub(super) at: Duration,
    pub(super) act: Act,
}

/// One request's exchange, and what the inventory saw of it.
#[derive(Debug, Clone)]
pub(super) struct Got {
    pub(super) exchange: Exchange,
    /// The inventory's requests for its item while it was on its way.
    pub(super) asked: Vec<Seen>,
    /// Whether the inventory held another request meanwhile.
    pub(super) busy: bool,
    /// Whether its answer is shown (and judged) at a later step.
    pub(super) later: bool,
    /// How long the [`CONTROL`] request sent beside it took, when it was answered.
    pub(super) control: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(super) struct Observed {
    pub(super) gots: Vec<Got>,
}

pub(super) type History = Vec<(Step, Observed)>;

/// Walks `instance`, served at `base` in front of `inventory`; `drain` starts its draining.
pub(super) async fn walk(
    instance: &Instance,
    base: &str,
    inventory: &Inventory,
    drain: impl AsyncFn(),
) -> History {
    let client = Client::new(base);
    let start = Instant::now();
    let (kept, warm) = client.keep_alive(5, &Request::get("/health/live")).await;
    let warm = Record { key: start, act: Act::Warm(warm.len()), exchanges: warm, control: None };
    let mut walk = Walk {
        instance,
        client,
        kept,
        inventory,
        records: vec![warm],
        flying: Vec::new(),
        lingering: Vec::new(),
        held_over: Vec::new(),
        opened: None,
    };
    for (at, phase) in instance.phases.iter().enumerate() {
        walk.phase(phase, &drain).await;
        // Nothing follows the last phase: no need to wait for its cooldown.
        let next = instance.phases.get(at + 1);
        if next.is_some() && matches!(phase, Phase::Open { .. } | Phase::Reopened { .. }) {
            if let Some(Phase::Trial { early, .. }) = next {
                for (item, lead) in early {
                    walk.just_before_cooled(item, *lead).await;
                }
            }
            walk.until_cooled().await;
        }
    }
    walk.flying.append(&mut walk.lingering);
    walk.flying.append(&mut walk.held_over);
    walk.settle().await;
    walk.into_history(start)
}

struct Record {
    key: Instant,
    act: Act,
    exchanges: Vec<Exchange>,
    control: Option<Duration>,
}

/// Requests on their way, with their control's latency, to be awaited at a later step.
type Flying = JoinHandle<(Vec<Exchange>, Option<Duration>)>;

struct Walk<'a> {
    instance: &'a Instance,
    client: Client,
    kept: KeptAlive,
    inventory: &'a Inventory,
    records: Vec<Record>,
    flying: Vec<(Act, Flying)>,
    /// Requests whose answers the next trial awaits (they come back while it is under way).
    lingering: Vec<(Act, Flying)>,
    /// Requests whose answers [`Phase::HeldOver`] awaits, once the breaker has closed again.
    held_over: Vec<(Act, Flying)>,
    /// When the breaker opened last, by the rules.
    opened: Option<Span>,
}

impl Walk<'_> {
    async fn phase(&mut self, phase: &Phase, drain: &impl AsyncFn()) {
        let cooldown = self.instance.policy.cooldown;
        match phase {
            Phase::Run { items, trips } => {
                for item in items {
                    let exchange = self.ask(item).await;
                    if *trips && item == items.last().expect("a run has items") {
                        self.opened = self.span(item, &exchange);
                    }
                }
            }
            Phase::Trip { run, quiet, slow, trip, back } => {
                for item in run {
                    self.ask(item).await;
                }
                tokio::time::sleep(*quiet).await;
                for item in slow {
                    self.send(std::slice::from_ref(item));
                }
                let from = self.flying.len() - slow.len();
                match back {
                    Back::Open => {}
                    Back::Trial => self.lingering.extend(self.flying.drain(from..)),
                    Back::Closed => self.held_over.extend(self.flying.drain(from..)),
                }
                if !slow.is_empty() {
                    self.inventory.asked_for(slow, AT_ONCE).await;
                }
                let exchange = self.ask(trip).await;
                self.opened = self.span(trip, &exchange);
            }
            Phase::Open { after, burst, then, edge, late } => {
                if let Some(opened) = self.opened.filter(|_| !after.is_zero()) {
                    sleep_until((opened.latest + *after).into()).await;
                }
                self.burst(burst).await;
                self.health().await;
                self.settle().await;
                self.ask(then).await;
                // Released with a second and a little more left, even a little late (a burst
                // is released BURST_SETTLE after it starts): the rules judge it by when it came
                // back, so a late one is only judged looser, never wrongly.
                let lead = Duration::from_secs(1) + LATE_FLOOR + BURST_SETTLE;
                let edge_at =
                    self.opened.and_then(|opened| (opened.earliest + cooldown).checked_sub(lead));
                if let Some(at) = edge_at.filter(|at| !edge.is_empty() && *at > Instant::now()) {
                    sleep_until(at.into()).await;
                    self.burst(edge).await;
                }
                if let (Some(item), Some(opened)) = (late, self.opened) {
                    // Shortly before the end: the cooldown left is a fraction of a second.
                    sleep_until((opened.earliest + cooldown - cooldown / 6).into()).await;
                    self.ask(item).await;
                }
            }
            Phase::Trial { early, crowd, stragglers } => {
                self.send(crowd);
                // An early request may have been the trial, should the walk's timer be late.
                let early = early.iter().map(|(item, _)| *item);
                let candidates: Vec<Item> = early.chain(crowd.iter().copied()).collect();
                self.inventory.asked_for(&candidates, AT_ONCE).await;
                let arrived = self.arrival(&candidates).unwrap_or_else(Instant::now);
                if !stragglers.is_empty() {
                    // Readiness is the instance's, whatever the breaker: a trial included.
                    self.probe(Act::Ready, "/health/ready").await;
                }
                for (after, burst) in stragglers {
                    sleep_until((arrived + *after).into()).await;
                    self.burst(burst).await;
                }
                self.flying.append(&mut self.lingering);
                let answered = self.settle().await;
                let trial = answered
                    .iter()
                    .flat_map(|(act, exchanges)| act.items().into_iter().zip(exchanges))
                    .filter(|(item, _)| candidates.contains(item))
                    .filter_map(|(item, exchange)| {
                        let at = self.arrival(std::slice::from_ref(&item))?;
                        Some((at, item, exchange.clone()))
                    })
                    .min_by_key(|(at, ..)| *at);
                if let Some((_, item, exchange)) = trial.filter(|(_, item, _)| item.script.fails())
                {
                    self.opened = self.span(&item, &exchange);
                }
            }
            Phase::Reopened { now, halfway } => {
                self.ask(now).await;
                if let (Some(item), Some(opened)) = (halfway, self.opened) {
                    sleep_until((opened.latest + cooldown / 2).into()).await;
                    self.ask(item).await;
                }
            }
            Phase::HangUp { trial, hold, burst, before: (before, lead), after } => {
                let hung_up = self.hang_up(trial, *hold).await;
                let held = trial.script.delay().unwrap_or(PATIENCE) + AT_ONCE;
                let seen = self.inventory.ended(trial, held).await;
                let over = seen.and_then(|seen| seen.ended).unwrap_or_else(Instant::now);
                self.burst(burst).await;
                if let Some(at) = (hung_up + cooldown).checked_sub(*lead) {
                    sleep_until(at.into()).await;
                    self.ask(before).await;
                }
                sleep_until((over + cooldown + LATE_FLOOR).into()).await;
                self.ask(after).await;
            }
            Phase::Leaves { item, hold } => {
                self.hang_up(item, *hold).await;
                let held = item.script.delay().unwrap_or(PATIENCE) + AT_ONCE;
                self.inventory.ended(item, held).await;
            }
            Phase::Volley { items } => {
                let exchanges = self.burst(items).await;
                // The last failure back is the one that opens it.
                let last = items.iter().zip(&exchanges).max_by_key(|(_, e)| e.received);
                self.opened = last.and_then(|(item, exchange)| self.span(item, exchange));
            }
            Phase::HeldOver { then } => {
                self.flying.append(&mut self.held_over);
                self.settle().await;
                let exchange = self.ask(then).await;
                if then.script.fails() {
                    self.opened = self.span(then, &exchange);
                }
            }
            Phase::Drain { slow, quick } => {
                self.probe(Act::Ready, "/health/ready").await;
                self.send(std::slice::from_ref(slow));
                self.inventory.asked_for(std::slice::from_ref(slow), AT_ONCE).await;
                drain().await;
                let drained = Record {
                    key: Instant::now(),
                    act: Act::Drain,
                    exchanges: Vec::new(),
                    control: None,
                };
                self.records.push(drained);
                self.probe(Act::Live, "/health/live").await;
                self.ask(quick).await;
                self.settle().await;
                self.probe(Act::Ready, "/health/ready").await;
            }
        }
    }

    /// Asks for `item`, a control request beside it.
    async fn ask(&mut self, item: &Item) -> Exchange {
        let path = item.path();
        let (exchange, control) = tokio::join!(self.client.get(&path), self.client.get(CONTROL));
        self.records.push(Record {
            key: exchange.sent,
            act: Act::Ask(*item),
            exchanges: vec![exchange.clone()],
            control: latency(&control),
        });
        exchange
    }

    /// Sends one request, or several released together, a control request beside them, leaving
    /// their answers to come.
    fn send(&mut self, items: &[Item]) {
        let client = self.client.clone();
        let mut requests: Vec<Request> =
            items.iter().map(|item| Request::get(item.path())).collect();
        let act = match items {
            [item] => Act::Send(*item),
            _ => Act::Burst(items.to_vec()),
        };
        let sending = tokio::spawn(async move {
            if let [request] = &requests[..] {
                let (exchange, control) =
                    tokio::join!(client.send(request.clone()), client.get(CONTROL));
                return (vec![exchange], latency(&control));
            }
            requests.push(Request::get(CONTROL));
            split_control(client.burst(requests).await)
        });
        self.flying.push((act, sending));
    }

    /// Requests released together on the kept-alive connections, a control request with them;
    /// their exchanges.
    async fn burst(&mut self, items: &[Item]) -> Vec<Exchange> {
        let mut requests: Vec<Request> =
            items.iter().map(|item| Request::get(item.path())).collect();
        requests.push(Request::get(CONTROL));
        let (exchanges, control) = split_control(self.kept.burst(requests).await);
        let key = exchanges.first().map_or_else(Instant::now, |exchange| exchange.sent);
        self.records.push(Record {
            key,
            act: Act::Burst(items.to_vec()),
            exchanges: exchanges.clone(),
            control,
        });
        exchanges
    }

    async fn health(&mut self) {
        self.probe(Act::Ready, "/health/ready").await;
        self.probe(Act::Live, "/health/live").await;
    }

    async fn probe(&mut self, act: Act, path: &str) {
        let exchange = self.client.get(path).await;
        let record = Record { key: exchange.sent, act, exchanges: vec![exchange], control: None };
        self.records.push(record);
    }

    /// Asks for `trial` and hangs up once the inventory has held it `hold` (a client of its own,
    /// so that hanging up closes the connection); when it did (or had its answer).
    async fn hang_up(&mut self, trial: &Item, hold: Duration) -> Instant {
        let (impatient, sent, path) =
            (Client::new(self.client.base.clone()), Instant::now(), trial.path());
        let inventory = self.inventory;
        let asked = async {
            let asked = inventory.asked_for(std::slice::from_ref(trial), PATIENCE).await;
            tokio::time::sleep(hold).await;
            asked
        };
        let exchange = tokio::select! {
            exchange = impatient.get(&path) => exchange,
            true = asked => Exchange {
                request: Request::get(trial.path()),
                sent,
                received: Instant::now(),
                answer: Err("(the judge hung up once the inventory had it)".into()),
            },
        };
        let hung_up = exchange.received;
        self.records.push(Record {
            key: sent,
            act: Act::HangUp(*trial),
            exchanges: vec![exchange],
            control: None,
        });
        hung_up
    }

    /// Waits for every answer still to come, and records them.
    async fn settle(&mut self) -> Vec<(Act, Vec<Exchange>)> {
        let mut answered = Vec::new();
        for (act, sending) in std::mem::take(&mut self.flying) {
            let (exchanges, control) = sending.await.unwrap_or_default();
            let key = exchanges.first().map_or_else(Instant::now, |exchange| exchange.sent);
            let record = Record { key, act: act.clone(), exchanges: exchanges.clone(), control };
            self.records.push(record);
            answered.push((act, exchanges));
        }
        answered
    }

    /// Sends `item` `lead` before the cooldown is over, by the earliest the breaker can have
    /// opened: a breaker that lets it through lets its trial through early.
    async fn just_before_cooled(&mut self, item: &Item, lead: Duration) {
        let cooldown = self.instance.policy.cooldown;
        let at = self.opened.and_then(|opened| (opened.earliest + cooldown).checked_sub(lead));
        if let Some(at) = at.filter(|at| *at > Instant::now()) {
            sleep_until(at.into()).await;
            self.send(std::slice::from_ref(item));
        }
    }

    async fn until_cooled(&self) {
        if let Some(opened) = self.opened {
            sleep_until((opened.latest + self.instance.policy.cooldown + LATE_FLOOR).into()).await;
        }
    }

    /// When the inventory got the first of `items`, if it did.
    fn arrival(&self, items: &[Item]) -> Option<Instant> {
        let paths: Vec<String> = items.iter().map(Item::path).collect();
        self.inventory
            .upstream
            .seen()
            .iter()
            .filter(|seen| paths.iter().any(|p| p == seen.path()))
            .map(|seen| seen.at)
            .min()
    }

    /// When the breaker learnt how `item`'s call went, had it made it.
    fn span(&self, item: &Item, exchange: &Exchange) -> Option<Span> {
        let got = got(&self.inventory.upstream.seen(), Some(item), exchange.clone(), false, None);
        Some(recorded(item, &got, self.instance.timeout))
    }

    fn into_history(self, start: Instant) -> History {
        let seen = self.inventory.upstream.seen();
        let since = |key: Instant| key.saturating_duration_since(start);
        let mut steps = Vec::new();
        for Record { key, act, exchanges, control } in self.records {
            let items = act.items();
            let later = matches!(act, Act::Send(_) | Act::Burst(_));
            let gots: Vec<Got> = exchanges
                .into_iter()
                .enumerate()
                .map(|(at, exchange)| got(&seen, items.get(at), exchange, later, control))
                .collect();
            for (item, got) in items.iter().zip(&gots).filter(|(_, got)| got.later) {
                let answer = Observed { gots: vec![Got { later: false, ..got.clone() }] };
                let received = got.exchange.received;
                steps.push((
                    received,
                    Step { at: since(received), act: Act::Answer(*item) },
                    answer,
                ));
            }
            steps.push((key, Step { at: since(key), act }, Observed { gots }));
        }
        steps.sort_by_key(|(key, ..)| *key);
        steps.into_iter().map(|(_, step, observed)| (step, observed)).collect()
    }
}

/// How long a control request took, if it was answered at all.
fn latency(control: &Exchange) -> Option<Duration> {
    control.answer.is_ok().then(|| control.took())
}

/// A burst's exchanges, and its control's latency: the control is its last request.
fn split_control(mut exchanges: Vec<Exchange>) -> (Vec<Exchange>, Option<Duration>) {
    let control = exchanges.pop();
    (exchanges, control.as_ref().and_then(latency))
}

/// `exchange`, for `item`, with what the inventory saw meanwhile.
fn got(
    seen: &[Seen],
    item: Option<&Item>,
    exchange: Exchange,
    later: bool,
    control: Option<Duration>,
) -> Got {
    let path = item.map(Item::path);
    let during = |s: &&Seen| s.at >= exchange.sent && s.at <= exchange.received;
    let asked: Vec<Seen> =
        seen.iter().filter(|s| Some(s.path()) == path.as_deref()).filter(during).cloned().collect();
    let held = |s: &&Seen| matches!(s.reply, Reply::Delayed(..) | Reply::Silence);
    let busy = seen
        .iter()
        .filter(|s| Some(s.path()) != path.as_deref())
        .filter(held)
        .any(|s| s.at < exchange.received && s.ended.is_none_or(|ended| ended > exchange.sent));
    Got { later: later && !asked.is_empty(), exchange, asked, busy, control }
}

impl Act {
    fn items(&self) -> Vec<Item> {
        match self {
            Act::Ask(item) | Act::Send(item) | Act::Answer(item) | Act::HangUp(item) => vec![*item],
            Act::Burst(items) => items.clone(),
            Act::Warm(_) | Act::Live | Act::Ready | Act::Drain => Vec::new(),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>8}  ", millis(self.at))?;
        match &self.act {
            Act::Warm(count) => {
                write!(f, "{count} keep-alive connections, each opened with GET /health/live")
            }
            Act::Ask(item) | Act::Send(item) => write!(f, "GET {}", item.path()),
            Act::Answer(item) => write!(f, "  the answer to GET {}", item.path()),
            Act::HangUp(item) => {
                write!(f, "GET {}, hung up on once the inventory has it", item.path())
            }
            Act::Burst(items) => {
                let ids: Vec<String> = items.iter().map(|item| item.id.to_string()).collect();
                write!(
                    f,
                    "{} requests released together, GET /items/ {}",
                    items.len(),
                    ids.join(", ")
                )
            }
            Act::Live => f.write_str("GET /health/live"),
            Act::Ready => f.write_str("GET /health/ready"),
            Act::Drain => f.write_str("draining starts: lifecycle.is_draining() is true from here"),
        }
    }
}

impl fmt::Display for Observed {
    /// Each answer once, with how many came so and how long they took.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.gots.is_empty() {
            return f.write_str("done");
        }
        let mut shown: Vec<(String, usize, Duration, Duration)> = Vec::new();
        for got in &self.gots {
            let took = got.exchange.took();
            let text = got.summary();
            match shown.iter_mut().find(|(known, ..)| *known == text) {
                Some((_, count, least, most)) => {
                    *count += 1;
                    *least = (*least).min(took);
                    *most = (*most).max(took);
                }
                None => shown.push((text, 1, took, took)),
            }
        }
        let parts: Vec<String> = shown
            .into_iter()
            .map(|(text, count, least, most)| {
                let times = if least == most {
                    millis(least)
                } else {
                    format!("{}–{} ms", least.as_millis(), most.as_millis())
                };
                let many = if count > 1 { format!("{count} × ") } else { String::new() };
                format!("{many}{text}", text = text.replace("{took}", &times))
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl Got {
    /// `503 Retry-After: 1 in {took} (not asked)`, with `{took}` to fill in.
    fn summary(&self) -> String {
        if self.later {
            return "asked the inventory (the answer below)".into();
        }
        let asked = match self.asked.as_slice() {
            [] => "(not asked)".to_string(),
            [seen] => format!("(the inventory {})", did(seen)),
            many => format!("(the inventory asked {} times)", many.len()),
        };
        format!("{} in {{took}} {asked}", brief(&self.exchange.answer))
    }
}

/// What the inventory did with a request, in a few words.
fn did(seen: &Seen) -> String {
    let mut text = reply_text(&seen.reply);
    if seen.abandoned {
        text.push_str(", the service hanging up first");
    }
    text
}

fn reply_text(reply: &Reply) -> String {
    match reply {
        Reply::Delayed(delay, reply) => format!("{} after {}", reply_text(reply), millis(*delay)),
        Reply::Respond { headers, .. } if headers.iter().any(|(_, value)| value == "text/html") => {
            "answered 200 with an HTML page".into()
        }
        Reply::Respond { status: 200, body, .. } => {
            format!("answered 200 {}", String::from_utf8_lossy(body))
        }
        Reply::Respond { status, .. } => format!("answered {status}"),
        Reply::Reset => "reset the connection".into(),
        Reply::Silence => "never answered".into(),
        _ => "answered in pieces".into(),
    }
}
