//! The server half of lesson 6: key lives drawn from the seed (first payments, replays, changed
//! payments, requests while the first is with the processor, bursts, clients that hang up,
//! every way the processor can fail, two clients with one key), played against the learner's
//! `POST /payments` as clients would, each key's history checked against the rules ([`Life`]);
//! and what lies outside one key's life: unusable keys, and keys that must not queue.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use futures_util::StreamExt;
use futures_util::future::join_all;
use httplings::fixtures::Payment;

use super::life::{Life, Observed, Step};
use super::plan::{Payments, respelled as respelled_body};
use super::processor::{Fate, Processor};
use super::{ABANDONED, CHANGED, CHARGES, GATEWAY, IN_FLIGHT, NOT_STORED, RACES, REPLAYS, SCOPED};
use crate::judge::bounds::{AT_ONCE, HANDOVER_HOLE, Lateness, PATIENCE, late, millis};
use crate::judge::compare::{case_swapped, secrets_in};
use crate::judge::exchange::{Client, Exchange, Request};
use crate::judge::model::divergences_by;
use crate::judge::{Evidence, Failure, seed};

/// What the judge does with one key.
#[derive(Debug, Clone)]
enum Act {
    /// Pay, the processor doing `fate` if asked; the step belongs to `check`.
    Pay { fate: Fate, respelled: bool, check: &'static str },
    /// Pay, the processor silent (`fate`: not a word, or a head and half a body); when the 504
    /// is due, a control request that any server refuses at once (no key), paying `control`:
    /// how late it comes back, from then, is how late the machine runs then.
    Silent { fate: Fate, control: Payment },
    /// Once the processor was asked to charge `held` (another scenario's slow charge), pay, the
    /// processor charging at once: `held`'s answer is let go when this payment reaches the
    /// processor or comes back, so the two overlap however late this one goes out.
    Beside { held: u64, check: &'static str },
    /// Pay another payment under the key.
    Changed(Payment),
    /// Pay with the processor holding the charge; meanwhile, the same payment, `changed`, and
    /// `other` under a key of its own, and beside them a control request paying `control`
    /// without a key, which any server refuses at once: the 409 is timed against it.
    Held { changed: Payment, other: Payment, control: Payment },
    /// Pay, hang up once the processor has it, then retry until the key is free; `fails`: the
    /// processor answers the first request 503.
    HangUp { fails: bool },
    /// First requests, released together.
    Burst(usize),
    /// Pay, the processor slow; from just before its answer is due until the server's answer
    /// comes back, the same again, one after another: the moment a claim becomes a stored
    /// answer, which must leave no gap where the key is free.
    Handover,
    /// Nothing until [`LATE_REPLAY`] after the play began: what comes next finds keys that every
    /// other scenario has long finished with.
    Pause,
}

/// When the last replays of every scenario go out, from the start of the play: two seconds after
/// the first keys were stored, and after some fifty others were, while the client half still
/// runs (so that the check takes no longer). The exercise keeps its keys for the life of the
/// process; a store that forgets them after a while, after a few replays, or keeps only the last
/// few, answers these as new payments.
const LATE_REPLAY: Duration = Duration::from_millis(2_000);

/// How long before the processor's answer is due the handover's requests begin.
const HANDOVER_AHEAD: Duration = Duration::from_millis(5);

/// The fewest characters a processor key may have: 64 bits as hex. Fewer, and two payments
/// among a few hundred (16 bits) or a few hundred thousand (32) meet at the processor.
const SHORTEST_PROCESSOR_KEY: usize = 16;

/// One key's life, as the judge plays it.
#[derive(Debug, Clone)]
struct KeyLife {
    api_key: String,
    key: String,
    payment: Payment,
    acts: Vec<Act>,
    /// The check its first payment belongs to, when not its act's own (a second client's
    /// first payment under a key another client used: the check of scopes).
    first_check: Option<&'static str>,
    /// Whether its key is one a server may refuse with 400 (an unbalanced quote: no Structured
    /// Field string), rather than take as a key of its own: its life ends there.
    refusable: bool,
}

/// Lives played one after the other (they share an amount, or a key).
type Scenario = Vec<KeyLife>;

#[derive(Debug)]
pub(super) struct Plan {
    scenarios: Vec<Scenario>,
    /// Requests whose key no server may take: a header value (none: no header), and a payment.
    unusable: Vec<(Option<String>, Payment, &'static str)>,
    /// Requests with a usable key and no client: an `Authorization` value (none: no header).
    strangers: Vec<(Option<String>, Payment, &'static str)>,
    /// The key every stranger sends: a server that takes them for one client replays the
    /// first one's answer to the next.
    strangers_key: String,
    api_key: String,
    timeout: Duration,
}

impl Plan {
    /// Draws a server play, for a processor whose timeout is `timeout`.
    pub(super) fn draw(payments: &mut Payments, timeout: Duration) -> Self {
        let api_key = payments.api_key();
        let life = |payments: &mut Payments, acts: Vec<Act>| KeyLife {
            api_key: api_key.clone(),
            key: payments.key(),
            payment: payments.next(),
            acts,
            first_check: None,
            refusable: false,
        };
        let charge = |check| Act::Pay { fate: Fate::Charge, respelled: false, check };
        let replay = |respelled| Act::Pay { fate: Fate::Charge, respelled, check: REPLAYS };
        let mut scenarios = Vec::new();
        // First payments, then replays and changed payments in a random order; two keys of
        // one scenario pay the same amount, and must be charged twice.
        // The first key's life holds every act, so that each run changes the amount alone and
        // the currency alone: a payment compared by one of its fields is caught every run.
        let mut shared = Vec::new();
        for index in 0..3 {
            // Another amount, and (filled in below, once the payment is known) another currency.
            let currency = Act::Changed(Payment { amount: 0, currency: String::new() });
            let amount =
                Act::Changed(Payment { amount: payments.next().amount, currency: String::new() });
            let mut after = vec![replay(false), replay(true), amount, currency];
            payments.rng().shuffle(&mut after);
            if index > 0 {
                after.truncate(payments.rng().usize(2..=4));
            }
            let mut acts = vec![charge(CHARGES)];
            acts.extend(after);
            let mut drawn = life(payments, acts);
            for act in &mut drawn.acts {
                if let Act::Changed(payment) = act
                    && payment.currency.is_empty()
                {
                    *payment = match payment.amount {
                        0 => payments.in_another_currency(&drawn.payment),
                        amount => Payment { amount, currency: drawn.payment.currency.clone() },
                    };
                }
            }
            shared.push(drawn);
        }
        shared[1].payment = shared[0].payment.clone();
        // A key at the limit, 255 visible characters, is a key like any other; sent quoted, as
        // the draft sends it (257 bytes in all), it is still 255 characters.
        shared[2].key = format!("\"{}\"", payments.visible_key(255));
        scenarios.push(shared[..2].to_vec());
        scenarios.push(shared[2..].to_vec());
        let (changed, other, control) = (payments.next(), payments.next(), payments.next());
        let held = Act::Held { changed, other, control };
        scenarios.push(vec![life(payments, vec![held, replay(true)])]);
        // Silence three times: a deadline a fifth too long shows on each, and a busy moment hides
        // it on one at most. Then a head half the timeout on and a body that stalls: a deadline on
        // the head alone never ends that one, and one on each read ends it late. The retry is
        // spelled the other way (the key quoted or bare, `Bearer` in another case): after a charge
        // whose answer was lost, the processor must be given the same key for it all the same.
        let fates = [500, 502, 503].map(Fate::Fail).into_iter().chain([Fate::Drop]);
        for fate in fates.chain([Fate::Hang, Fate::Hang, Fate::Hang, Fate::Stall(timeout / 2)]) {
            let first = match fate {
                Fate::Hang | Fate::Stall(_) => Act::Silent { fate, control: payments.next() },
                _ => Act::Pay { fate, respelled: false, check: GATEWAY },
            };
            let acts = vec![
                first,
                Act::Pay { fate: Fate::Charge, respelled: true, check: NOT_STORED },
                replay(seed::chance(payments.rng(), 0.5)),
            ];
            scenarios.push(vec![life(payments, acts)]);
        }
        // A hang-up, with the charge made, and with the processor failing after it: a charge run
        // to its end after the client left must free the key either way.
        for fails in [false, true] {
            scenarios.push(vec![life(payments, vec![Act::HangUp { fails }, replay(false)])]);
        }
        // Bursts released down to the last byte: a check and a claim with an .await between
        // let several through.
        for _ in 0..5 {
            let count = payments.rng().usize(3..=8);
            scenarios.push(vec![life(payments, vec![Act::Burst(count), replay(false)])]);
        }
        // The same, one after another across the moment the processor answers: a claim let go
        // before the answer is stored lets one through.
        for _ in 0..3 {
            scenarios.push(vec![life(payments, vec![Act::Handover, replay(false)])]);
        }
        // Two clients, one key: two payments. The second pays the same, or something else. Its
        // API key is the first's in another case: a credential is compared as it is sent.
        let first = life(payments, vec![charge(CHARGES), replay(false)]);
        let swapped = case_swapped(&first.api_key);
        let mut second = KeyLife { api_key: swapped, first_check: Some(SCOPED), ..first.clone() };
        if seed::chance(payments.rng(), 0.5) {
            second.payment = payments.in_another_currency(&first.payment);
        }
        scenarios.push(vec![first, second]);
        // Two clients, one key, at once: the second client's payment goes out while the
        // processor holds the first's (three fifths of the timeout at most, so that the first
        // is in time however late the second is). Claims belong to a client as much as answers
        // do: a 409 (or a 422) for the second is a claim scoped by the key alone.
        let held = Act::Pay { fate: Fate::Slow(timeout * 3 / 5), respelled: false, check: CHARGES };
        let first = life(payments, vec![held, replay(false)]);
        let beside = Act::Beside { held: first.payment.amount, check: SCOPED };
        let second = KeyLife {
            api_key: payments.twin_api_key(&first.api_key),
            payment: payments.next(),
            acts: vec![beside, replay(true)],
            ..first.clone()
        };
        scenarios.extend([vec![first], vec![second]]);
        // Two clients, each using the other's API key as its key: two payments, which a
        // processor key that mixes the two symmetrically (digests XORed, say) would merge.
        let (one, other) = (payments.api_key(), payments.api_key());
        let first = KeyLife {
            api_key: one.clone(),
            key: other.clone(),
            ..life(payments, vec![charge(CHARGES), replay(false)])
        };
        let second = KeyLife {
            api_key: other,
            key: one,
            first_check: Some(SCOPED),
            ..life(payments, vec![charge(CHARGES), replay(false)])
        };
        scenarios.push(vec![first, second]);
        // One client, a bare key, then the same with a quote at one end only: other keys (or no
        // keys at all), never the first. Only a pair of quotes around a key is taken off.
        let mut bare = life(payments, vec![charge(CHARGES), replay(true)]);
        bare.key = bare.key.trim_matches('"').to_string();
        let mut lives = vec![bare.clone()];
        // Two pairs of quotes lose one: `"key"` is left, which is not the bare key (and has no
        // other spelling, so it is not the last life, whose replays are respelled).
        let quoted_twice = format!("\"\"{}\"\"", bare.key);
        // Spaces inside the quotes are the key's own: not visible characters, so refused, or
        // (read as the draft's sf-string) another key, never the bare one trimmed.
        let spaced = format!("\" {} \"", bare.key);
        // A comma is no separator: the header holds one key, not a list of them. Refused, or a
        // key of its own, never the part before the comma.
        let listed = format!("{},{}", bare.key, seed::token(payments.rng(), 8));
        for unbalanced in
            [spaced, listed, quoted_twice, format!("\"{}", bare.key), format!("{}\"", bare.key)]
        {
            lives.push(KeyLife {
                key: unbalanced,
                refusable: true,
                ..life(payments, vec![charge(CHARGES), replay(false)])
            });
        }
        scenarios.push(lives);
        // One client, two keys alike but for case, two payments: keys are compared as sent.
        let first = life(payments, vec![charge(CHARGES), replay(false)]);
        let second = KeyLife {
            key: case_swapped(&first.key),
            payment: payments.next(),
            ..life(payments, vec![charge(CHARGES), replay(false)])
        };
        let second = KeyLife { api_key: first.api_key.clone(), ..second };
        scenarios.push(vec![first, second]);
        // One client, two keys of 255 characters alike but for the last, two payments: keys are
        // compared whole (a store that keeps a key's first 64 characters, or 128, merges them).
        let long = payments.visible_key(255);
        let last = if long.ends_with('a') { "b" } else { "a" };
        let first =
            KeyLife { key: long.clone(), ..life(payments, vec![charge(CHARGES), replay(false)]) };
        let second = KeyLife {
            key: format!("{}{last}", &long[..254]),
            payment: payments.next(),
            api_key: first.api_key.clone(),
            ..life(payments, vec![charge(CHARGES), replay(false)])
        };
        scenarios.push(vec![first, second]);
        // Two clients whose API key and key run together alike (sk_…ab + cd, sk_…abc + d): two
        // payments, which a processor key made of the two strings glued end to end would merge.
        // The same with every character an API key (a token68) may hold between them: a
        // separator the API key can contain merges them too (sk_…ab with c-d, sk_…ab-c with d).
        // An API key may end in `=` (a token68's padding): sk_…ab= with c, sk_…ab with =c.
        for separator in ["", "-", ".", "_", "~", "+", "/", "="] {
            let tail = seed::token(payments.rng(), 32);
            let joint =
                if separator == "=" { String::new() } else { seed::token(payments.rng(), 4) };
            let first = KeyLife {
                key: format!("{joint}{separator}{tail}"),
                ..life(payments, vec![charge(CHARGES), replay(false)])
            };
            let second = KeyLife {
                api_key: format!("{}{separator}{joint}", first.api_key),
                key: tail,
                first_check: Some(SCOPED),
                payment: payments.next(),
                ..first.clone()
            };
            scenarios.push(vec![first, second]);
        }
        // Replayed three times at the end: a store that forgets an answer after it served it a
        // couple of times charges again.
        for scenario in &mut scenarios {
            let last = scenario.last_mut().expect("a scenario has a life");
            last.acts.extend([Act::Pause, replay(false), replay(true), replay(false)]);
        }
        let long: String = (0..payments.rng().usize(1_024..=16_384)).map(|_| 'k').collect();
        let unusable = vec![
            (None, payments.next(), "without an Idempotency-Key"),
            (Some(String::new()), payments.next(), "with an empty Idempotency-Key"),
            (Some("\"\"".into()), payments.next(), "with an empty Idempotency-Key, \"\""),
            (Some(long), payments.next(), "with a key of thousands of characters"),
            (Some(payments.visible_key(256)), payments.next(), "with a key of 256 characters"),
            (
                Some(format!("order {}", seed::token(payments.rng(), 12))),
                payments.next(),
                "with a space in its key",
            ),
            (
                Some(format!("order\t{}", seed::token(payments.rng(), 12))),
                payments.next(),
                "with a tab in its key",
            ),
            (
                Some(format!("clé-{}", seed::token(payments.rng(), 12))),
                payments.next(),
                "with a key that is not ASCII",
            ),
        ];
        let strangers = vec![
            (None, payments.next(), "without an Authorization header"),
            (Some("Bearer".into()), payments.next(), "with `Authorization: Bearer` and no API key"),
        ];
        let strangers_key = payments.key();
        Self { scenarios, unusable, strangers, strangers_key, api_key, timeout }
    }
}

/// What one play of the server half decided: a failure per check, or none; and the checks
/// whose pass the machine was too busy meanwhile to tell.
pub(super) type Decided = (Vec<(&'static str, Option<Failure>)>, Vec<&'static str>);

/// How late a request sent when a 504 was due may come back for a `gateway` pass to tell: a
/// timeout a fifth too long still ends past [`late`] of the right one and that much more.
fn tells_a_fifth(timeout: Duration) -> Duration {
    timeout.mul_f64(1.2).saturating_sub(late(timeout))
}

/// Plays every scenario at once against the learner's server at `base`.
pub(super) async fn play(
    plan: &Plan,
    base: &str,
    processor: &Processor,
    lateness: &RefCell<Lateness>,
    no_key: &'static str,
    no_queue: &'static str,
) -> Decided {
    let player = Player {
        started: Instant::now(),
        client: Client::new(base),
        processor,
        lateness,
        timeout: plan.timeout,
        queued: RefCell::new(None),
        uncovered: Cell::new(false),
    };
    let player = &player;
    let histories = join_all(plan.scenarios.iter().map(|scenario| async move {
        let mut histories = Vec::new();
        for life in scenario {
            histories.push(player.live(life).await);
        }
        histories
    }));
    let (histories, unusable, strangers) =
        tokio::join!(histories, player.unusable(plan), player.strangers(plan));
    // The silent processors are met all at once: a busy moment stretches them alike.
    let silent_lateness = histories
        .iter()
        .flatten()
        .flat_map(|(history, _)| history)
        .filter(|(step, ..)| matches!(step, Step::Pay { fate: Fate::Hang | Fate::Stall(_), .. }))
        .map(|(_, seen, _)| seen.late)
        .min();
    let busy_gateway = silent_lateness.is_some_and(|late| late >= tells_a_fifth(plan.timeout));
    let mut decided: HashMap<&'static str, Failure> = HashMap::new();
    for (history, log) in histories.into_iter().flatten() {
        let steps: Vec<(Step, Observed)> =
            history.iter().map(|(step, seen, _)| (step.clone(), seen.clone())).collect();
        for (check, divergence) in
            divergences_by(Life::new(plan.timeout), &steps, |at| history[at].2)
        {
            let step = divergence.history.last().map_or("", |line| line.trim());
            let failure = Failure::of(format!("{step}: {}", divergence.why))
                .with(Evidence::Text {
                    title: format!("the key's life ({} before this step)", divergence.state),
                    body: divergence.history.join("\n"),
                })
                .with(log.evidence());
            decided.entry(check).or_insert(failure);
        }
    }
    if let Some(failure) = leaked(plan, processor).or_else(|| weak(processor)).or(strangers) {
        decided.entry(SCOPED).or_insert(failure);
    }
    let mut all = vec![(no_key, unusable), (no_queue, player.queued.take())];
    for check in
        [CHARGES, REPLAYS, CHANGED, IN_FLIGHT, ABANDONED, RACES, GATEWAY, NOT_STORED, SCOPED]
    {
        all.push((check, decided.remove(check)));
    }
    let busy = [(busy_gateway, GATEWAY), (player.uncovered.get(), RACES)]
        .into_iter()
        .filter_map(|(busy, check)| busy.then_some(check))
        .collect();
    (all, busy)
}

/// The processor must never learn a client's API key: its key for a payment is derived, not
/// copied.
fn leaked(plan: &Plan, processor: &Processor) -> Option<Failure> {
    let secrets: Vec<String> =
        plan.scenarios.iter().flatten().map(|life| life.api_key.clone()).collect();
    let asked = processor
        .all_asked()
        .into_iter()
        .find(|asked| !secrets_in(&asked.text, &secrets).is_empty())?;
    Some(
        Failure::of("the processor was sent a client's API key: derive its key from the client and the key, do not pass either on as it is")
            .with(Evidence::Text { title: "the processor was asked".into(), body: asked.text }),
    )
}

/// The processor's keys must keep payments apart: a key of a few characters makes two of them
/// meet there sooner or later.
fn weak(processor: &Processor) -> Option<Failure> {
    let asked = processor.all_asked().into_iter().find(|asked| {
        asked.key.as_deref().is_some_and(|key| key.trim().chars().count() < SHORTEST_PROCESSOR_KEY)
    })?;
    let key = asked.key.clone().unwrap_or_default();
    Some(
        Failure::of(format!(
            "the processor was sent the key {key:?}: {} characters, too few to keep every payment \
             apart (at 4 hex digits, two among a few hundred meet, and the second is never \
             charged); send it at least {SHORTEST_PROCESSOR_KEY}, a whole digest or a UUID",
            key.trim().chars().count()
        ))
        .with(Evidence::Text { title: "the processor was asked".into(), body: asked.text }),
    )
}

struct Player<'a> {
    started: Instant,
    client: Client,
    processor: &'a Processor,
    lateness: &'a RefCell<Lateness>,
    timeout: Duration,
    /// The no-queue check's failure, if a payment under another key waited.
    queued: RefCell<Option<Failure>>,
    /// Whether a handover went [`HANDOVER_HOLE`] or longer without a request while its first
    /// answer was due: a busy machine held the judge up, and a race's pass proves less.
    uncovered: Cell<bool>,
}

/// The requests of one key, as a report shows them.
#[derive(Debug, Default)]
struct Log {
    start: Option<Instant>,
    lines: Vec<String>,
}

impl Log {
    fn note(&mut self, exchange: &Exchange) {
        let start = *self.start.get_or_insert(exchange.sent);
        let key = exchange.request.headers.iter().find(|(name, _)| name == "idempotency-key");
        let answer = match &exchange.answer {
            Ok(answer) => format!("{} {}", answer.status.as_u16(), shortened(&answer.text())),
            Err(what) => what.clone(),
        };
        // The scheme only, when spelled other than `Bearer`: the API key is a credential.
        let scheme = exchange
            .request
            .headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .and_then(|(_, value)| value.split_once(' '))
            .map(|(scheme, _)| scheme)
            .filter(|scheme| *scheme != "Bearer")
            .map_or_else(String::new, |scheme| format!("  Authorization: {scheme}␣␣…"));
        self.lines.push(format!(
            "{:>5} ms  POST /payments  Idempotency-Key: {}{scheme}\n          {}\n          → {answer} (in {})",
            exchange.sent.saturating_duration_since(start).as_millis(),
            key.map_or("(none)", |(_, key)| key.as_str()),
            String::from_utf8_lossy(&exchange.request.body).replace('\n', " "),
            millis(exchange.took())
        ));
    }

    fn evidence(&self) -> Evidence {
        Evidence::Text { title: "your server was asked".into(), body: self.lines.join("\n") }
    }
}

fn shortened(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

type History = Vec<(Step, Observed, &'static str)>;

/// `Bearer` as clients may spell it too.
const RESPELLED_SCHEMES: [&str; 3] = ["bearer", "BEARER", "bEaReR"];

impl Player<'_> {
    /// A request for `payment` under `life`'s key; `respelled`, the same payment spelled another
    /// way: the JSON rewritten, the key quoted if it was bare (bare if it was quoted: the
    /// draft's Structured Field string), and the scheme `Bearer` in another case and followed by
    /// two spaces (RFC 9110 §11.1 and §11.4: auth schemes are case-insensitive, and one or more
    /// spaces end them, so it is the same client).
    fn request(&self, life: &KeyLife, payment: &Payment, respelled: bool) -> Request {
        let (body, scheme, key) = if respelled {
            let key = match life.key.strip_prefix('"').and_then(|key| key.strip_suffix('"')) {
                Some(bare) => bare.to_string(),
                None => format!("\"{}\"", life.key),
            };
            (respelled_body(payment), RESPELLED_SCHEMES[payment.amount as usize % 3], key)
        } else {
            (serde_json::to_string(payment).expect("a payment"), "Bearer", life.key.clone())
        };
        // Respelled, two spaces after the scheme: RFC 9110 §11.4 allows one or more.
        let gap = if respelled { "  " } else { " " };
        let mut request = Request::post_json("/payments", &serde_json::Value::Null)
            .header("authorization", format!("{scheme}{gap}{}", life.api_key))
            .header("idempotency-key", key);
        request.body = body.into_bytes();
        request
    }

    /// What came of `exchanges` for `payment`, with what the processor did from `from` to `to`.
    fn observe(
        &self,
        payment: &Payment,
        exchanges: &[&Exchange],
        from: Instant,
        to: Option<Instant>,
    ) -> Observed {
        let asked = self.processor.asked(payment.amount, from, to);
        let end = to.unwrap_or_else(Instant::now);
        Observed {
            answers: exchanges.iter().map(|exchange| exchange.answer.clone()).collect(),
            took: exchanges.iter().map(|exchange| exchange.took()).max().unwrap_or_default(),
            late: self.lateness.borrow().during(from, end),
            since_asked: asked.first().map(|asked| end.saturating_duration_since(asked.at)),
            asked: asked.len(),
            keyed: asked
                .iter()
                .map(|asked| asked.key.as_deref().is_some_and(|key| !key.trim().is_empty()))
                .collect(),
            charged: asked
                .iter()
                .filter(|asked| asked.new_charge)
                .filter_map(|asked| asked.charge.clone())
                .collect(),
            charge: asked.iter().rev().find_map(|asked| asked.charge.clone()),
        }
    }

    async fn pay(
        &self,
        life: &KeyLife,
        payment: &Payment,
        respelled: bool,
        log: &mut Log,
    ) -> (Exchange, Observed) {
        let exchange = self.client.send(self.request(life, payment, respelled)).await;
        log.note(&exchange);
        let seen = self.observe(payment, &[&exchange], exchange.sent, Some(exchange.received));
        (exchange, seen)
    }

    /// How late a request without a key, sent once the processor's timeout is up (from
    /// `start`), came back refused, from the moment it was due: the judge's own timer running
    /// late counts as much as the round trip.
    async fn control(&self, start: Instant, payment: &Payment) -> Duration {
        let due = start + self.timeout;
        tokio::time::sleep_until(due.into()).await;
        self.refused_at_once(payment).await;
        due.elapsed()
    }

    /// How long a request without a key, which any server refuses at once, took to come back.
    async fn refused_at_once(&self, payment: &Payment) -> Duration {
        let request =
            Request::post_json("/payments", &serde_json::to_value(payment).expect("a payment"))
                .header("authorization", "Bearer sk_test_control");
        self.client.send(request).await.took()
    }

    async fn live(&self, life: &KeyLife) -> (History, Log) {
        let (mut history, mut log): (History, Log) = (Vec::new(), Log::default());
        let payment = &life.payment;
        for (at, act) in life.acts.iter().enumerate() {
            let first = at == 0;
            match act {
                Act::Pay { fate, respelled, check } => {
                    self.processor.set(payment.amount, *fate);
                    let (exchange, seen) = self.pay(life, payment, *respelled, &mut log).await;
                    if life.refusable && exchange.status() == Some(400) && seen.asked == 0 {
                        break;
                    }
                    let check = life.first_check.filter(|_| first).unwrap_or(check);
                    history.push((
                        Step::Pay { payment: payment.clone(), fate: *fate, respelled: *respelled },
                        seen,
                        check,
                    ));
                }
                Act::Silent { fate, control } => {
                    self.processor.set(payment.amount, *fate);
                    let start = Instant::now();
                    let (paid, control) = tokio::join!(
                        self.pay(life, payment, false, &mut log),
                        self.control(start, control)
                    );
                    let (_, mut seen) = paid;
                    seen.late = control;
                    let step =
                        Step::Pay { payment: payment.clone(), fate: *fate, respelled: false };
                    history.push((step, seen, GATEWAY));
                }
                Act::Beside { held, check } => {
                    self.processor.wait_for(*held, self.started, PATIENCE).await;
                    self.processor.set(payment.amount, Fate::Charge);
                    self.processor.release_on(*held, payment.amount);
                    let (_, seen) = self.pay(life, payment, false, &mut log).await;
                    self.processor.release(*held);
                    let step = Step::Pay {
                        payment: payment.clone(),
                        fate: Fate::Charge,
                        respelled: false,
                    };
                    history.push((step, seen, check));
                }
                Act::Changed(other) => {
                    let (_, seen) = self.pay(life, other, false, &mut log).await;
                    history.push((
                        Step::Pay { payment: other.clone(), fate: Fate::Charge, respelled: false },
                        seen,
                        CHANGED,
                    ));
                }
                Act::Held { changed, other, control } => {
                    self.held(life, [changed, other, control], &mut history, &mut log).await
                }
                Act::HangUp { fails } => self.hang_up(life, *fails, &mut history, &mut log).await,
                Act::Pause => tokio::time::sleep_until((self.started + LATE_REPLAY).into()).await,
                Act::Handover => self.handover(life, &mut history, &mut log).await,
                Act::Burst(count) => {
                    self.processor.set(payment.amount, Fate::Slow(self.timeout / 4));
                    let requests =
                        (0..*count).map(|_| self.request(life, payment, false)).collect();
                    let exchanges = self.client.burst(requests).await;
                    exchanges.iter().for_each(|exchange| log.note(exchange));
                    let all: Vec<&Exchange> = exchanges.iter().collect();
                    let to = exchanges.iter().map(|exchange| exchange.received).max();
                    let seen = self.observe(payment, &all, exchanges[0].sent, to);
                    history.push((
                        Step::Burst { payment: payment.clone(), count: *count },
                        seen,
                        RACES,
                    ));
                }
            }
        }
        (history, log)
    }

    /// The first request, the processor slow; from just before its answer is due, the same
    /// payment again, one request at a time, until the first's answer is back and once more.
    async fn handover(&self, life: &KeyLife, history: &mut History, log: &mut Log) {
        let payment = &life.payment;
        let slow = self.timeout / 4;
        self.processor.set(payment.amount, Fate::Slow(slow));
        let answered = std::sync::atomic::AtomicBool::new(false);
        let sent = Instant::now();
        let (first, (mut again, due)) = tokio::join!(
            async {
                let exchange = self.client.send(self.request(life, payment, false)).await;
                answered.store(true, std::sync::atomic::Ordering::SeqCst);
                exchange
            },
            async {
                let mut again = Vec::new();
                if !self.processor.wait_for(payment.amount, sent, PATIENCE).await {
                    return (again, None);
                }
                let asked = self.processor.asked(payment.amount, sent, None);
                let due = asked.first().map(|asked| asked.at + slow);
                let ahead = due.map_or_else(Instant::now, |due| due - HANDOVER_AHEAD);
                tokio::time::sleep_until(ahead.into()).await;
                // One every millisecond, each sent without waiting for the one before (a 409
                // that comes back late on a busy machine must not leave a gap uncovered), until
                // the first's answer is back: however late a busy machine makes it, a count
                // would run out first and leave the moment it is stored unasked. A tick missed
                // is skipped, not made up in a burst that would spend the moment at once.
                let mut flying = futures_util::stream::FuturesUnordered::new();
                let mut every = tokio::time::interval(Duration::from_millis(1));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let until = Instant::now() + self.timeout * 2;
                while !answered.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < until
                {
                    tokio::select! {
                        _ = every.tick() => {
                            flying.push(self.client.send(self.request(life, payment, false)));
                        }
                        Some(exchange) = flying.next(), if !flying.is_empty() => again.push(exchange),
                    }
                }
                flying.push(self.client.send(self.request(life, payment, false)));
                while let Some(exchange) = flying.next().await {
                    again.push(exchange);
                }
                (again, due)
            }
        );
        again.sort_by_key(|exchange| exchange.sent);
        let sends: Vec<Instant> = again.iter().map(|exchange| exchange.sent).collect();
        if !covered(due, &sends, first.received) {
            self.uncovered.set(true);
        }
        let mut all = vec![first];
        all.append(&mut again);
        all.iter().for_each(|exchange| log.note(exchange));
        let exchanges: Vec<&Exchange> = all.iter().collect();
        let to = all.iter().map(|exchange| exchange.received).max();
        let seen = self.observe(payment, &exchanges, sent, to);
        let step = Step::Handover { payment: payment.clone(), count: all.len() };
        history.push((step, seen, RACES));
    }

    /// The first request held by the processor; meanwhile the same payment, another one, and a
    /// payment under another key, which must not wait for it.
    async fn held(
        &self,
        life: &KeyLife,
        [changed, other, control]: [&Payment; 3],
        history: &mut History,
        log: &mut Log,
    ) {
        let payment = &life.payment;
        // Held until the requests sent meanwhile came back, however late a busy machine sends
        // them; at most three fifths of the timeout, so that the first answer is in time.
        self.processor.set(payment.amount, Fate::Slow(self.timeout * 3 / 5));
        let sent = Instant::now();
        let first = self.client.send(self.request(life, payment, false));
        tokio::pin!(first);
        let early = tokio::select! {
            exchange = &mut first => Some(exchange),
            _ = self.processor.wait_for(payment.amount, sent, PATIENCE) => None,
        };
        let claimed = self.observe(payment, &early.iter().collect::<Vec<_>>(), sent, None);
        history.push((Step::Claimed { payment: payment.clone() }, claimed, CHARGES));
        // What the processor did for the first request is what it did until now: whatever it is
        // asked from here on, the requests sent meanwhile asked.
        let meanwhile = Instant::now();
        let another = KeyLife { key: format!("{}-b", life.key.trim_matches('"')), ..life.clone() };
        let ((same, changed_answer, elsewhere, control), first) = tokio::join!(
            async {
                let answers = tokio::join!(
                    self.client.send(self.request(life, payment, true)),
                    self.client.send(self.request(life, changed, false)),
                    self.client.send(self.request(&another, other, false)),
                    self.refused_at_once(control),
                );
                self.processor.release(payment.amount);
                answers
            },
            async {
                match early {
                    Some(exchange) => exchange,
                    None => first.await,
                }
            }
        );
        log.note(&first);
        for (exchange, paid) in [(&same, payment), (&changed_answer, changed)] {
            log.note(exchange);
            let mut seen = self.observe(paid, &[exchange], exchange.sent, Some(exchange.received));
            seen.late = control;
            let check = if paid == payment { IN_FLIGHT } else { CHANGED };
            history.push((Step::Meanwhile { payment: paid.clone() }, seen, check));
        }
        let mut seen = self.observe(payment, &[&first], first.sent, Some(meanwhile));
        seen.late = self.lateness.borrow().during(first.sent, first.received);
        history.push((Step::Finished { payment: payment.clone() }, seen, CHARGES));
        let waited = elsewhere.status() != Some(201) || elsewhere.received > first.received;
        if waited && self.queued.borrow().is_none() {
            let summary = match elsewhere.status() {
                Some(201) => format!(
                    "a payment under another key, sent while a slow charge was on its way, came back \
                     {} after it: it waited for a charge it had nothing to do with",
                    millis(elsewhere.received.saturating_duration_since(first.received))
                ),
                _ => format!(
                    "a payment under another key, sent while a slow charge was on its way: {}",
                    elsewhere.status().map_or_else(
                        || "no answer".to_string(),
                        |status| format!("{status}, not 201")
                    )
                ),
            };
            let mut both = Log::default();
            both.note(&first);
            both.note(&elsewhere);
            *self.queued.borrow_mut() = Some(Failure::of(summary).with(both.evidence()));
        }
    }

    /// The first request, hung up on once the processor has it; then the same again, a moment
    /// apart, until the key is free (or long after the processor answered).
    async fn hang_up(&self, life: &KeyLife, fails: bool, history: &mut History, log: &mut Log) {
        let payment = &life.payment;
        // Four fifths of the timeout: the server must notice the hang-up before the processor
        // answers, or the request finishes as if nobody had left. At two fifths, a machine
        // busy with other tests noticed too late, and a server that never frees an abandoned
        // key passed (CI, seed 102463650).
        let held = self.timeout * 4 / 5;
        self.processor
            .set(payment.amount, if fails { Fate::FailLate(held) } else { Fate::Slow(held) });
        let sent = Instant::now();
        tokio::select! {
            exchange = self.client.send(self.request(life, payment, false)) => log.note(&exchange),
            _ = self.processor.wait_for(payment.amount, sent, PATIENCE) => {}
        }
        let seen = self.observe(payment, &[], sent, None);
        let answered =
            self.processor.asked(payment.amount, sent, None).first().map_or(sent, |asked| asked.at)
                + held;
        history.push((Step::HungUp { payment: payment.clone(), fails }, seen, ABANDONED));
        self.processor.set(payment.amount, Fate::Charge);
        loop {
            tokio::time::sleep(held / 3).await;
            let (exchange, mut seen) = self.pay(life, payment, false, log).await;
            let due = exchange.sent
                > answered + AT_ONCE + self.lateness.borrow().during(answered, exchange.sent);
            seen.took = exchange.sent.saturating_duration_since(answered);
            let conflict = exchange.status() == Some(StatusCode::CONFLICT.as_u16());
            history.push((Step::Retried { payment: payment.clone(), due }, seen, ABANDONED));
            if !conflict || due {
                break;
            }
        }
    }

    /// Requests with no client to keep their key for: each refused (401, or 400 or 403), and
    /// nothing charged. The lesson asks for 401; any refusal keeps the payments apart.
    async fn strangers(&self, plan: &Plan) -> Option<Failure> {
        let sent = Instant::now();
        let mut log = Log::default();
        for (authorization, payment, what) in &plan.strangers {
            let mut request =
                Request::post_json("/payments", &serde_json::to_value(payment).expect("a payment"))
                    .header("idempotency-key", plan.strangers_key.clone());
            if let Some(authorization) = authorization {
                request = request.header("authorization", authorization.clone());
            }
            let exchange = self.client.send(request).await;
            log.note(&exchange);
            let charged = self.processor.asked(payment.amount, sent, None).len();
            let names_scheme =
                exchange.answer().is_some_and(|answer| answer.header("www-authenticate").is_some());
            let nobody = "a request with no API key has no client to keep its key for, and every \
                          such caller would share one";
            let problem = match exchange.status() {
                Some(401) if charged == 0 && !names_scheme => "it answered 401 without \
                     WWW-Authenticate: every 401 names the scheme it wants (RFC 9110 §11.6.1), \
                     here Bearer"
                    .to_string(),
                Some(400 | 401 | 403) if charged == 0 => continue,
                Some(status @ (400 | 401 | 403)) => format!(
                    "it answered {status}, and asked the processor to charge all the same: {nobody}"
                ),
                Some(status) => format!("it answered {status}, not 401: {nobody}"),
                None => exchange.answer.as_ref().err().cloned().unwrap_or_default(),
            };
            return Some(Failure::of(format!("a payment {what}: {problem}")).with(log.evidence()));
        }
        None
    }

    /// Requests whose key no server may take: each a 400, and nothing charged.
    async fn unusable(&self, plan: &Plan) -> Option<Failure> {
        let sent = Instant::now();
        let exchanges = join_all(plan.unusable.iter().map(|(key, payment, _)| {
            let mut request =
                Request::post_json("/payments", &serde_json::to_value(payment).expect("a payment"))
                    .header("authorization", format!("Bearer {}", plan.api_key));
            if let Some(key) = key {
                request = request.header("idempotency-key", key.clone());
            }
            self.client.send(request)
        }))
        .await;
        for ((_, payment, what), exchange) in plan.unusable.iter().zip(&exchanges) {
            let asked = self.processor.asked(payment.amount, sent, None).len();
            let problem = match exchange.status() {
                Some(400) if asked == 0 => continue,
                Some(400) => {
                    "it answered 400, and asked the processor to charge all the same".to_string()
                }
                Some(status) => format!("it answered {status}, not 400"),
                None => exchange.answer.as_ref().err().cloned().unwrap_or_default(),
            };
            let mut log = Log::default();
            log.note(exchange);
            return Some(Failure::of(format!("a payment {what}: {problem}")).with(log.evidence()));
        }
        None
    }
}

/// Whether the handover's requests, `sent` in order, left no hole of [`HANDOVER_HOLE`] or
/// longer from when the processor's answer was `due` until the first request's answer was back
/// (`answered`): whenever the server stored that answer, a request was on its way.
fn covered(due: Option<Instant>, sent: &[Instant], answered: Instant) -> bool {
    let Some(due) = due else { return false };
    let within = sent.iter().copied().filter(|sent| *sent > due && *sent < answered);
    let moments: Vec<Instant> = std::iter::once(due).chain(within).chain([answered]).collect();
    moments.windows(2).all(|pair| pair[1].saturating_duration_since(pair[0]) < HANDOVER_HOLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handover_with_a_hole_while_the_answer_was_due_is_not_covered() {
        let due = Instant::now();
        let at = |millis: u64| due + Duration::from_millis(millis);
        let every_ten: Vec<Instant> = (0..=12).map(|step| at(step * 10)).collect();
        assert!(covered(Some(due), &every_ten, at(125)));
        // Held up from 40 ms to 90 ms; the moments before and after the window do not count.
        let held_up: Vec<Instant> = [0, 10, 20, 30, 40, 90, 100, 110, 200].map(at).to_vec();
        assert!(!covered(Some(due), &held_up, at(115)));
        // Nothing sent until the answer was back (a judge asleep for all of it).
        assert!(!covered(Some(due), &[at(130), at(131)], at(125)));
        assert!(covered(Some(due), &[], at(20)));
        assert!(!covered(None, &every_ten, at(125)));
    }
}
