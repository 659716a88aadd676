//! The server half of lesson 6: the judge pays through the learner's `POST /payments`, as clients
//! would (fresh keys, replays, changed payments, a second request while the first is on its way,
//! two at the same moment, a retry after the processor failed) and counts the charges its
//! processor made.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::Value;

use super::plan::{Payments, respelled};
use super::processor::{Fate, Processor};
use crate::judge::answer::{Answer, Shown};
use crate::judge::together::{self, Post, Sent};
use crate::judge::{Evidence, Failure};
use httplings::fixtures::Payment;

/// A payment sent under a key, as the judge plans it.
#[derive(Debug, Clone)]
pub(super) struct Keyed {
    pub(super) key: String,
    pub(super) payment: Payment,
}

/// What the judge will send the learner's server.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) no_key: Payment,
    /// Sent with an empty key, `""`.
    pub(super) empty_key: Payment,
    /// Three keys; the last two pay the same.
    pub(super) fresh: [Keyed; 3],
    /// The first key with another amount; the third with another currency.
    pub(super) changed: [Keyed; 2],
    pub(super) in_flight: Keyed,
    /// The in-flight key with another payment, sent while its first request is on its way.
    pub(super) in_flight_changed: Keyed,
    /// Another key, sent while the in-flight one is on its way.
    pub(super) meanwhile: Keyed,
    /// Sent by a client that hangs up while the processor takes its time, then retried.
    pub(super) abandoned: Keyed,
    pub(super) races: Vec<Keyed>,
    /// Each with the way the processor fails it first.
    pub(super) failing: Vec<(Keyed, Fate)>,
    pub(super) charge_ids: Vec<String>,
}

/// How long the processor takes to charge while a second request comes.
pub(super) const SLOW_CHARGE: Duration = Duration::from_millis(300);

/// How long the client that hangs up waits at most for its server to ask the processor.
const IMPATIENCE: Duration = Duration::from_millis(250);

/// How long after hanging up the client retries before it concludes the key is stuck: the
/// processor's charge is long over by then.
const ABANDONED_DEADLINE: Duration = Duration::from_millis(1_200);

/// How long it takes when two requests come at the same moment.
const RACE_CHARGE: Duration = Duration::from_millis(150);

impl Plan {
    pub(super) fn draw(payments: &mut Payments) -> Self {
        let keyed =
            |payment: Payment, payments: &mut Payments| Keyed { key: payments.key(), payment };
        let first = payments.next();
        let shared = payments.next();
        let fresh = [
            keyed(first.clone(), payments),
            keyed(shared.clone(), payments),
            keyed(shared.clone(), payments),
        ];
        let changed = [
            Keyed { key: fresh[0].key.clone(), payment: payments.next() },
            Keyed { key: fresh[2].key.clone(), payment: payments.in_another_currency(&shared) },
        ];
        let no_key = payments.next();
        let empty_key = payments.next();
        let next = payments.next();
        let in_flight = keyed(next, payments);
        let in_flight_changed = Keyed { key: in_flight.key.clone(), payment: payments.next() };
        let next = payments.next();
        let meanwhile = keyed(next, payments);
        let next = payments.next();
        let abandoned = keyed(next, payments);
        let races = (0..8)
            .map(|_| {
                let next = payments.next();
                keyed(next, payments)
            })
            .collect();
        let fates = [
            Fate::ChargeThenDrop,
            Fate::ChargeThenHang,
            Fate::Fail(500),
            Fate::Fail(502),
            Fate::Fail(503),
        ];
        let failing = fates
            .into_iter()
            .map(|fate| {
                let next = payments.next();
                (keyed(next, payments), fate)
            })
            .collect();
        Plan {
            no_key,
            empty_key,
            fresh,
            changed,
            in_flight,
            in_flight_changed,
            meanwhile,
            abandoned,
            races,
            failing,
            charge_ids: payments.charge_ids(24),
        }
    }

    /// How the processor treats each amount.
    pub(super) fn fates(&self) -> HashMap<u64, Vec<Fate>> {
        let mut fates = HashMap::new();
        fates.insert(self.in_flight.payment.amount, vec![Fate::ChargeSlowly(SLOW_CHARGE)]);
        fates.insert(self.abandoned.payment.amount, vec![Fate::ChargeSlowly(SLOW_CHARGE)]);
        for race in &self.races {
            fates.insert(race.payment.amount, vec![Fate::ChargeSlowly(RACE_CHARGE)]);
        }
        for (keyed, fate) in &self.failing {
            fates.insert(keyed.payment.amount, vec![*fate]);
        }
        fates
    }
}

/// One request to the learner's server, timed.
#[derive(Debug)]
pub(super) struct Exchange {
    pub(super) key: Option<String>,
    pub(super) body: String,
    pub(super) sent: Instant,
    pub(super) received: Instant,
    pub(super) answer: Result<Answer, String>,
}

impl Exchange {
    pub(super) fn status(&self) -> Option<StatusCode> {
        self.answer.as_ref().ok().map(|answer| answer.status)
    }

    fn json(&self) -> Option<Value> {
        self.answer.as_ref().ok().and_then(Answer::json)
    }

    /// The request and its answer, as a request log shows them.
    pub(super) fn logged(&self, start: Instant) -> String {
        let at = self.sent.saturating_duration_since(start).as_millis();
        let key = self
            .key
            .as_deref()
            .map_or("(no key)".to_string(), |key| format!("Idempotency-Key: {key}"));
        let answer = match &self.answer {
            Ok(answer) => format!("{} {}", answer.status.as_u16(), shortened(&answer.text(), 120)),
            Err(what_happened) => what_happened.clone(),
        };
        let took = self.received.saturating_duration_since(self.sent).as_millis();
        format!(
            "{at:>5} ms  POST /payments  {key}\n          {}\n          → {answer} (in {took} ms)\n",
            self.body.replace('\n', " ")
        )
    }
}

/// `text`, cut to `most` characters with an ellipsis when it is longer: a cut JSON body must
/// not look like a malformed one.
fn shortened(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_string();
    }
    let kept: String = text.chars().take(most - 1).collect();
    format!("{kept}…")
}

pub(super) struct Client {
    http: reqwest::Client,
    url: String,
    start: Instant,
}

impl Client {
    pub(super) fn new(base: &str, start: Instant) -> Self {
        Self { http: crate::judge::answer::client(), url: format!("{base}/payments"), start }
    }

    async fn post(&self, key: Option<&str>, body: String) -> Exchange {
        let mut request =
            self.http.post(&self.url).header("content-type", "application/json").body(body.clone());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let sent = Instant::now();
        let answer = Answer::send(request).await;
        Exchange { key: key.map(str::to_string), body, sent, received: Instant::now(), answer }
    }

    async fn pay(&self, keyed: &Keyed) -> Exchange {
        self.post(
            Some(&keyed.key),
            serde_json::to_string(&keyed.payment).expect("a payment serialises"),
        )
        .await
    }

    /// Pays, and hangs up as soon as the processor has been asked to charge, long before it
    /// answers: the learner's server is then certainly waiting for it.
    async fn pay_impatiently(&self, keyed: &Keyed, processor: &Processor) -> Exchange {
        let body = serde_json::to_string(&keyed.payment).expect("a payment serialises");
        let request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("idempotency-key", &keyed.key)
            .body(body.clone());
        let sent = Instant::now();
        let charging = async {
            while processor.asked(&keyed.payment) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let answer = tokio::select! {
            answer = Answer::send(request) => answer,
            () = charging => Err("(the judge hung up while the processor was charging)".into()),
            () = tokio::time::sleep(IMPATIENCE) => Err("(the judge hung up: the processor was never asked)".into()),
        };
        Exchange { key: Some(keyed.key.clone()), body, sent, received: Instant::now(), answer }
    }

    /// Pays twice with one key, the two requests completing at the same moment.
    async fn pay_twice_at_once(&self, keyed: &Keyed) -> [Exchange; 2] {
        let body = serde_json::to_string(&keyed.payment).expect("a payment serialises");
        let post = || Post {
            headers: vec![
                ("content-type", "application/json".into()),
                ("idempotency-key", keyed.key.clone()),
            ],
            body: body.clone(),
        };
        let sent = together::post_at_once(&self.url, vec![post(), post()]).await;
        let exchange = |sent: Sent| Exchange {
            key: Some(keyed.key.clone()),
            body: body.clone(),
            sent: sent.sent,
            received: sent.received,
            answer: sent.answer,
        };
        let [one, other] = <[Sent; 2]>::try_from(sent).ok().expect("one answer per post");
        [exchange(one), exchange(other)]
    }

    async fn pay_respelled(&self, keyed: &Keyed) -> Exchange {
        self.post(Some(&keyed.key), respelled(&keyed.payment)).await
    }
}

/// The requests around one slow charge.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) first: Exchange,
    /// The same key and payment, while the first was on its way.
    pub(super) second: Exchange,
    /// The same key with another payment, meanwhile.
    pub(super) changed: Exchange,
    /// Another key altogether, meanwhile.
    pub(super) other_key: Exchange,
    /// The same key and payment once the first was done.
    pub(super) replay: Exchange,
}

/// Everything the learner's server answered.
#[derive(Debug)]
pub(super) struct Seen {
    pub(super) start: Instant,
    /// Without a key, and with an empty one.
    pub(super) no_key: [Exchange; 2],
    pub(super) fresh: Vec<Exchange>,
    /// The first two fresh keys again, after they completed.
    pub(super) replays: Vec<Exchange>,
    pub(super) changed: Vec<Exchange>,
    pub(super) in_flight: InFlight,
    /// The request whose client hung up, then its retries until one was answered 201.
    pub(super) abandoned: Vec<Exchange>,
    /// Two requests at once, per key.
    pub(super) races: Vec<[Exchange; 2]>,
    /// The first request, which the processor failed, and the retry.
    pub(super) failing: Vec<[Exchange; 2]>,
}

pub(super) async fn play(plan: &Plan, client: &Client, processor: &Processor) -> Seen {
    let no_key = async {
        let json = |payment| serde_json::to_string(payment).expect("a payment serialises");
        tokio::join!(
            client.post(None, json(&plan.no_key)),
            client.post(Some("\"\""), json(&plan.empty_key))
        )
    };
    let fresh = async {
        let fresh = join_all(plan.fresh.iter().map(|keyed| client.pay(keyed))).await;
        let replays =
            join_all([&plan.fresh[0], &plan.fresh[1]].map(|keyed| client.pay_respelled(keyed)))
                .await;
        let changed = join_all(plan.changed.iter().map(|keyed| client.pay(keyed))).await;
        (fresh, replays, changed)
    };
    let in_flight = async {
        let meanwhile = async {
            // Once the processor has the first request: it is then certainly in flight,
            // however busy the machine.
            let asked = async {
                while processor.asked(&plan.in_flight.payment) == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            };
            let _ = tokio::time::timeout(SLOW_CHARGE, asked).await;
            tokio::time::sleep(SLOW_CHARGE / 6).await;
            tokio::join!(
                client.pay(&plan.in_flight),
                client.pay(&plan.in_flight_changed),
                client.pay(&plan.meanwhile)
            )
        };
        let (first, (second, changed, other_key)) =
            tokio::join!(client.pay(&plan.in_flight), meanwhile);
        let replay = client.pay_respelled(&plan.in_flight).await;
        InFlight { first, second, changed, other_key, replay }
    };
    let races = join_all(plan.races.iter().map(|keyed| client.pay_twice_at_once(keyed)));
    let failing = join_all(plan.failing.iter().map(|(keyed, _)| async {
        let first = client.pay(keyed).await;
        [first, client.pay(keyed).await]
    }));
    let abandoned = async {
        let mut exchanges = vec![client.pay_impatiently(&plan.abandoned, processor).await];
        let deadline = exchanges[0].sent + ABANDONED_DEADLINE;
        loop {
            tokio::time::sleep(SLOW_CHARGE / 3).await;
            let retry = client.pay(&plan.abandoned).await;
            let done = retry.status() != Some(StatusCode::CONFLICT);
            exchanges.push(retry);
            if done || Instant::now() >= deadline {
                break exchanges;
            }
        }
    };
    let ((none, empty), (fresh, replays, changed), in_flight, abandoned, races, failing) =
        tokio::join!(no_key, fresh, in_flight, abandoned, races, failing);
    let no_key = [none, empty];
    Seen {
        start: client.start,
        no_key,
        fresh,
        replays,
        changed,
        in_flight,
        abandoned,
        races,
        failing,
    }
}

/// The exchanges as a request log. A run of requests that got the same answer (a retry loop
/// meeting one 409 after another) shows its first two and its last, and counts the rest.
fn log(title: &str, start: Instant, exchanges: &[&Exchange]) -> Evidence {
    let answered = |exchange: &Exchange| match &exchange.answer {
        Ok(answer) => (Some(answer.status), answer.body.clone()),
        Err(_) => (None, Vec::new()),
    };
    let mut body = String::new();
    let mut index = 0;
    while index < exchanges.len() {
        let same = exchanges[index..]
            .iter()
            .take_while(|exchange| answered(exchange) == answered(exchanges[index]))
            .count();
        if same <= 4 {
            exchanges[index..index + same].iter().for_each(|e| body += &e.logged(start));
        } else {
            body += &exchanges[index].logged(start);
            body += &exchanges[index + 1].logged(start);
            body += &format!("          … {} more with the same answer …\n", same - 3);
            body += &exchanges[index + same - 1].logged(start);
        }
        index += same;
    }
    Evidence::Text { title: title.to_string(), body }
}

/// What is wrong with a 201 for `keyed`, given the charge ids the processor made for it.
fn created_problem(
    exchange: &Exchange,
    payment: &Payment,
    charge_ids: &[String],
) -> Option<String> {
    let Ok(answer) = &exchange.answer else { return exchange.answer.as_ref().err().cloned() };
    if answer.status != StatusCode::CREATED {
        return Some(format!("the status is {}, not 201", answer.status.as_u16()));
    }
    let body = answer.json().unwrap_or(Value::Null);
    if answer.media_type().as_deref() != Some("application/json") {
        return Some("the Content-Type is not application/json".into());
    }
    if body["amount"] != payment.amount || body["currency"] != payment.currency.as_str() {
        return Some("the body does not repeat the payment's amount and currency".into());
    }
    let id = body["payment_id"].as_str();
    (!id.is_some_and(|id| charge_ids.iter().any(|charge| charge == id)))
        .then(|| "its payment_id is not the charge_id the processor gave".into())
}

fn created_shown(payment: &Payment) -> Shown {
    Shown::status(StatusCode::CREATED).header("content-type", "application/json").json(
        &serde_json::json!({"payment_id": "<the processor's charge_id>", "amount": payment.amount, "currency": payment.currency}),
    )
}

fn diff(expected: &Shown, exchange: &Exchange) -> Evidence {
    Evidence::Diff {
        expected: expected.render(),
        actual: Shown::of_result(&exchange.answer, &["content-type"])
            .media_type_shown_as("application/json")
            .render(),
    }
}

/// What is wrong with the keys the processor got for one payment, if anything: each request
/// must carry one, and the same.
fn key_problem(keys: &[Option<String>]) -> Option<&'static str> {
    if keys.iter().any(Option::is_none) {
        Some("the processor got no key, so a retry after a lost answer would charge again")
    } else if keys.windows(2).any(|pair| pair[0] != pair[1]) {
        Some(
            "the processor got different keys for the first request and the retry, so a retry after a lost answer would charge again",
        )
    } else {
        None
    }
}

fn ids(processor: &Processor, payment: &Payment) -> Vec<String> {
    processor.charges_of(payment.amount).into_iter().map(|charge| charge.id).collect()
}

pub(super) fn no_key(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let why = "Without a key, a retry cannot be told from a second payment: the server cannot make the request safe to repeat. The draft says: refuse it, 400 Bad Request, and charge nothing. An empty key is no key.";
    let asked = [
        (&plan.no_key, &seen.no_key[0], "without an Idempotency-Key"),
        (&plan.empty_key, &seen.no_key[1], "with an empty Idempotency-Key, \"\""),
    ];
    for (payment, exchange, what) in asked {
        let problem = match exchange.status() {
            Some(StatusCode::BAD_REQUEST) if processor.asked(payment) == 0 => continue,
            Some(StatusCode::BAD_REQUEST) => {
                "it answered 400, and asked the processor to charge all the same".to_string()
            }
            Some(status) => format!("it answered {}, not 400", status.as_u16()),
            None => exchange.answer.as_ref().err().cloned().unwrap_or_default(),
        };
        return Some(Failure::new(format!("a payment {what}: {problem}"), why).with(log(
            "your server was asked",
            seen.start,
            &[exchange],
        )));
    }
    None
}

pub(super) fn charges(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let why = "A new key is a new payment: charge it once, through the processor, and give the processor a key for it too (the client's, or one made from it), so that a retry of yours can never charge twice. Two keys are two payments, even for the same amount, and get two keys at the processor.";
    for (keyed, exchange) in plan.fresh.iter().zip(&seen.fresh) {
        let charge_ids = ids(processor, &keyed.payment);
        if let Some(problem) = created_problem(exchange, &keyed.payment, &charge_ids) {
            return Some(
                Failure::new(format!("a first payment under a new key: {problem}"), why)
                    .with(diff(&created_shown(&keyed.payment), exchange)),
            );
        }
        let keys = processor.keys_for(keyed.payment.amount);
        if keys.iter().any(|key| key.as_deref().is_none_or(|key| key.trim().is_empty())) {
            return Some(Failure::new(
                "the processor was asked to charge without an Idempotency-Key: if its answer is lost, a retry charges again",
                why,
            ).with(log("your server was asked", seen.start, &[exchange])));
        }
    }
    let shared = &plan.fresh[1].payment;
    let made = processor.charges_of(shared.amount).len();
    let keys: std::collections::BTreeSet<Option<String>> =
        processor.keys_for(shared.amount).into_iter().collect();
    let problem = if made != 2 {
        format!("two keys paid the same amount, and the processor made {made} charge(s), not 2")
    } else if keys.len() != 2 {
        "two keys paid the same amount, and the processor got the same key for both".to_string()
    } else {
        return None;
    };
    Some(Failure::new(problem, why).with(log(
        "your server was asked",
        seen.start,
        &[&seen.fresh[1], &seen.fresh[2]],
    )))
}

pub(super) fn replays(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let why = "The key's first answer is the answer: store it, and send it again, status and body, to every request that repeats the key and the payment. Running the handler again would ask the processor again; the client retried because it did not get the answer, not to pay twice.";
    let pairs = [
        (&plan.fresh[0], &seen.fresh[0], &seen.replays[0]),
        (&plan.fresh[1], &seen.fresh[1], &seen.replays[1]),
        (&plan.in_flight, &seen.in_flight.first, &seen.in_flight.replay),
    ];
    for (keyed, first, replay) in pairs {
        let same = first.status() == replay.status()
            && first.json().is_some()
            && first.json() == replay.json();
        if !same {
            return Some(
                Failure::new("the same key and payment again (its JSON spelled differently): not the answer the key first got", why)
                    .with(Evidence::Diff {
                        expected: Shown::of_result(&first.answer, &[]).render(),
                        actual: Shown::of_result(&replay.answer, &[]).render(),
                    })
                    .with(log("your server was asked", seen.start, &[first, replay])),
            );
        }
        let asked = processor.asked_since(&keyed.payment, Some(replay.sent));
        if asked > 0 {
            return Some(
                Failure::new(format!("the same key and payment again: the processor was asked {asked} more time(s)"), why)
                    .with(log("your server was asked", seen.start, &[first, replay])),
            );
        }
    }
    None
}

pub(super) fn changed(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let why = "A key stands for one payment. The same key with another payment is a client bug (a key reused by mistake); neither replaying the first answer nor charging the new payment is right, whether the first is done or still in flight. The draft says 422 Unprocessable Content.";
    let asked = [
        (&plan.changed[0], &seen.changed[0], &seen.fresh[0], "another amount"),
        (&plan.changed[1], &seen.changed[1], &seen.fresh[2], "another currency"),
        (
            &plan.in_flight_changed,
            &seen.in_flight.changed,
            &seen.in_flight.first,
            "another amount, while its first request was in flight",
        ),
    ];
    for (keyed, exchange, before, what) in asked {
        let problem = match exchange.status() {
            Some(StatusCode::UNPROCESSABLE_ENTITY) if processor.asked(&keyed.payment) == 0 => {
                continue;
            }
            Some(StatusCode::UNPROCESSABLE_ENTITY) => {
                "422, and the processor was asked to charge it all the same".to_string()
            }
            Some(status) => format!("{}, not 422", status.as_u16()),
            None => exchange.answer.as_ref().err().cloned().unwrap_or_default(),
        };
        return Some(
            Failure::new(format!("a key used before, with {what}: {problem}"), why).with(log(
                "your server was asked",
                seen.start,
                &[before, exchange],
            )),
        );
    }
    None
}

pub(super) fn in_flight(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let InFlight { first, second, replay, .. } = &seen.in_flight;
    let why = "While the first request with a key is still being processed, there is no answer to replay yet, and starting a second charge is the very thing keys prevent. The draft says 409 Conflict: the client tries again a moment later, and gets the stored answer.";
    let payment = &plan.in_flight.payment;
    let problem = if second.status() != Some(StatusCode::CONFLICT) {
        Some(format!(
            "the second request, sent {} ms after the first while it was still being processed, got {}, not 409",
            second.sent.saturating_duration_since(first.sent).as_millis(),
            second.status().map_or("no answer".into(), |status| status.as_u16().to_string())
        ))
    } else if second.received > first.received {
        Some("the 409 came only after the first request was done: it waited for it".into())
    } else if let asked @ 2.. =
        processor.asked(payment) - processor.asked_since(payment, Some(replay.sent))
    {
        // The replay afterwards is the check of replays'.
        Some(format!("the processor was asked {asked} times for it"))
    } else {
        created_problem(first, payment, &ids(processor, payment))
            .map(|problem| format!("the first request's answer: {problem}"))
    }?;
    Some(
        Failure::new(format!("the same key while its first request was in flight: {problem}"), why)
            .with(log("your server was asked", seen.start, &[first, second])),
    )
}

pub(super) fn no_queue(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let InFlight { first, other_key, .. } = &seen.in_flight;
    let why = "The store of keys is shared, but a request holds its lock only to look up and claim, and to store: never across the call to the processor. Held across it, every payment waits for the one before, and one slow charge makes every customer wait.";
    let payment = &plan.meanwhile.payment;
    let problem = match created_problem(other_key, payment, &ids(processor, payment)) {
        Some(problem) => problem,
        None if other_key.received < first.received => return None,
        None => format!(
            "it came back {} ms after the slow one, which the processor held for {} ms",
            other_key.received.saturating_duration_since(first.received).as_millis(),
            SLOW_CHARGE.as_millis()
        ),
    };
    Some(
        Failure::new(
            format!(
                "a payment under another key, sent while a slow charge was on its way: {problem}"
            ),
            why,
        )
        .with(log("your server was asked", seen.start, &[first, other_key])),
    )
}

pub(super) fn abandoned(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let why = "When a client hangs up, axum drops the handler's future at its .await, and the code after it never runs. A key claimed as in progress must be released then (a guard with impl Drop), or every retry with that key gets 409, forever, and the payment can never be completed.";
    let last = seen.abandoned.last().expect("the first request at least");
    let charged = ids(processor, &plan.abandoned.payment);
    let problem = if last.status() == Some(StatusCode::CONFLICT) {
        format!(
            "the client hung up while the processor was charging; its retries with the same key got 409 for {} ms after that",
            last.received.saturating_duration_since(seen.abandoned[0].received).as_millis()
        )
    } else if charged.len() != 1 {
        let why_twice = key_problem(&processor.keys_for(plan.abandoned.payment.amount))
            .map_or_else(String::new, |problem| format!(" ({problem})"));
        format!(
            "the client hung up, retried with the same key, and the processor made {} charges{why_twice}",
            charged.len()
        )
    } else {
        created_problem(last, &plan.abandoned.payment, &charged)
            .map(|problem| format!("the client hung up and retried with the same key: {problem}"))?
    };
    let asked: Vec<&Exchange> = seen.abandoned.iter().collect();
    Some(Failure::new(problem, why).with(log(
        "your server was asked, the first time by a client that hung up",
        seen.start,
        &asked,
    )))
}

pub(super) fn races(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let why = "Two requests with a new key can arrive at the same moment (a client that retried too early, a double click). Checking for the key and recording it must be one step, under one lock: check, then insert, with an .await between, lets both through.";
    for (keyed, [one, other]) in plan.races.iter().zip(&seen.races) {
        let charged = processor.charges_of(keyed.payment.amount).len();
        let asked = processor.asked(&keyed.payment);
        let statuses = [one.status(), other.status()];
        let one_created = statuses.contains(&Some(StatusCode::CREATED));
        let loser_ok = statuses.contains(&Some(StatusCode::CONFLICT))
            || (statuses == [Some(StatusCode::CREATED); 2] && one.json() == other.json());
        let problem = if charged != 1 {
            format!("the processor made {charged} charges")
        } else if asked != 1 {
            format!(
                "the processor was asked {asked} times (its own key saved the day; a server must not count on that)"
            )
        } else if !one_created || !loser_ok {
            let shown: Vec<String> = statuses
                .iter()
                .map(|status| {
                    status.map_or("no answer".into(), |status| status.as_u16().to_string())
                })
                .collect();
            format!(
                "the answers were {} and {}: one 201, and a 409 (or the same 201) for the other",
                shown[0], shown[1]
            )
        } else {
            continue;
        };
        return Some(
            Failure::new(
                format!("two requests with one new key at the same moment: {problem}"),
                why,
            )
            .with(log(
                "your server was asked, both at once",
                seen.start,
                &[one, other],
            )),
        );
    }
    None
}

pub(super) fn not_stored(plan: &Plan, seen: &Seen, processor: &Processor) -> Option<Failure> {
    let why = "A failure of the processor is not the key's answer: the payment may or may not have happened, and the client will retry with the same key. Store nothing (or forget the attempt), and pass the processor the same key of its own on the retry: then it charges at most once, even when it charged the first time and its answer was lost.";
    for ((keyed, fate), [first, retry]) in plan.failing.iter().zip(&seen.failing) {
        let what = match fate {
            Fate::Fail(status) => format!("the processor answered {status} and charged nothing"),
            Fate::ChargeThenDrop => {
                "the processor charged, then dropped the connection before answering".into()
            }
            _ => "the processor charged, then never answered".into(),
        };
        let charged = ids(processor, &keyed.payment);
        let first_ok = first.status().is_some_and(|status| status.is_server_error())
            || created_problem(first, &keyed.payment, &charged).is_none();
        let log = log("your server was asked, one after the other", seen.start, &[first, retry]);
        let failure = if !first_ok {
            let status = first.status().map_or("none".into(), |status| status.as_u16().to_string());
            Failure::new(format!("{what}: the first answer was {status}, not a 5xx"), why)
        } else if charged.len() != 1 {
            let why_twice = key_problem(&processor.keys_for(keyed.payment.amount))
                .map_or_else(String::new, |problem| format!(" ({problem})"));
            Failure::new(
                format!(
                    "{what}: the processor made {} charges for the one payment{why_twice}",
                    charged.len()
                ),
                why,
            )
        } else if let Some(problem) = key_problem(&processor.keys_for(keyed.payment.amount)) {
            Failure::new(format!("{what}: {problem}"), why)
        } else if let Some(problem) = created_problem(retry, &keyed.payment, &charged) {
            Failure::new(format!("{what}: the retry with the same key: {problem}"), why)
                .with(diff(&created_shown(&keyed.payment), retry))
        } else {
            continue;
        };
        return Some(failure.with(log));
    }
    None
}
