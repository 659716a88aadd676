//! What one run of the request-ids lesson asks, drawn from the seed: the orders and what the
//! shipping service does for each, the database failure and its text, the incoming ids (good
//! ones across the whole charset and length, bad ones in every way a header allows), and who
//! asks what of which instance.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;
use httplings::fixtures::{DatabaseSetup, Order, QueryFailure};
use serde_json::json;

use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{Reply, Seen};

/// The order "id" of a path that is not a number.
pub(super) const NOT_A_NUMBER: &str = "seven";

/// The characters a kept id may have, besides letters and digits.
pub(super) const PUNCTUATION: &[char] = &['.', '_', '-'];
pub(super) const MAX_LENGTH: usize = 128;

/// The shortest incoming id a failing request comes with: one a log line shows only where the
/// id was put, not by chance in its words.
const JOINABLE: usize = 4;

/// Whether `id` is one the lesson keeps: 1 to 128 letters, digits, `.`, `_` or `-`.
pub(super) fn well_formed(id: &str) -> bool {
    (1..=MAX_LENGTH).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || PUNCTUATION.contains(&c))
}

/// Which instance a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Instance {
    /// Over the healthy database, in the first process.
    Healthy,
    /// Over the failing database, in the first process.
    Failing,
    /// Over a database that is down (every query fails as unavailable), in the first process.
    Down,
    /// Another healthy one, in the first process.
    Twin,
    /// A healthy one in the second process.
    Elsewhere,
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// An order whose shipping service answers.
    Shipped(u32),
    /// An order whose shipping service fails with a 5xx (the run's `failure_status`).
    ShippingFails(u32),
    /// An order whose shipping service resets the connection: it cannot be asked.
    ShippingResets(u32),
    /// An order whose shipping service never answers: the app's call to it times out.
    ShippingSilent(u32),
    /// An order whose shipping service answers 200 with a body that is no shipment.
    ShippingGarbled(u32),
    /// An order's number plus 2³²: no order, whatever it wraps to in a `u32`.
    Overflowing(u32),
    /// An order that does not exist.
    Missing(u32),
    /// A path the router does not know.
    NoRoute,
    /// An order's path with letters for its number: axum's own rejection (400), or a 404.
    NotANumber,
    /// An order's path with a method the route does not take (its name): axum's own 405, or a
    /// 404.
    WrongMethod(u32, &'static str),
}

/// The request id a request comes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Incoming {
    None,
    /// Well-formed: it must come back.
    Good(String),
    /// Malformed (`why` says how): it must be replaced; `token` is in it, and must reach nothing.
    Bad {
        value: String,
        token: String,
        why: &'static str,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Ask {
    pub(super) instance: Instance,
    pub(super) target: Target,
    pub(super) incoming: Incoming,
    /// A `traceparent` sent with it: (trace id, parent id).
    pub(super) traceparent: Option<(String, String)>,
}

impl Ask {
    pub(super) fn path(&self) -> String {
        match self.target {
            Target::Shipped(id)
            | Target::ShippingFails(id)
            | Target::ShippingResets(id)
            | Target::ShippingSilent(id)
            | Target::ShippingGarbled(id)
            | Target::Missing(id) => format!("/orders/{id}"),
            Target::Overflowing(id) => format!("/orders/{}", u64::from(id) + (1 << 32)),
            Target::NoRoute => "/no-such-route/here".into(),
            Target::NotANumber => format!("/orders/{NOT_A_NUMBER}"),
            Target::WrongMethod(id, _) => format!("/orders/{id}"),
        }
    }

    pub(super) fn method(&self) -> Method {
        match self.target {
            Target::WrongMethod(_, name) => Method::from_bytes(name.as_bytes()).unwrap_or_default(),
            _ => Method::GET,
        }
    }

    /// Its request line, as a report shows it.
    pub(super) fn line(&self) -> String {
        format!("{} {}", self.method(), self.path())
    }

    /// The statuses the exercise allows for it.
    pub(super) fn expected(&self) -> &'static [u16] {
        match (self.instance, self.target) {
            (_, Target::NoRoute | Target::Missing(_)) => &[404],
            (_, Target::NotANumber | Target::Overflowing(_)) => &[400, 404],
            (_, Target::WrongMethod(..)) => &[405, 404],
            (Instance::Failing, _) => &[500],
            // Lesson 2's 503 for a database that is down is as good as this lesson's 500.
            (Instance::Down, _) => &[500, 503],
            (_, Target::ShippingFails(_) | Target::ShippingGarbled(_)) => &[502],
            // Lesson 4: 502 for a connection that fails (or Envoy's 503), 504 for a timeout
            // (or this lesson's 502 for any failure of the shipping service).
            (_, Target::ShippingResets(_)) => &[502, 503],
            (_, Target::ShippingSilent(_)) => &[504, 502],
            (_, Target::Shipped(_)) => &[200],
        }
    }

    /// The order asked for, if any.
    pub(super) fn order(&self) -> Option<u32> {
        match self.target {
            Target::Shipped(id)
            | Target::ShippingFails(id)
            | Target::ShippingResets(id)
            | Target::ShippingSilent(id)
            | Target::ShippingGarbled(id)
            | Target::Missing(id) => Some(id),
            Target::NoRoute | Target::NotANumber | Target::WrongMethod(..) => None,
            Target::Overflowing(_) => None,
        }
    }

    /// Whether the shipping service fails it: with a 5xx, without an answer, or with one that
    /// is no shipment.
    pub(super) fn shipping_fails(&self) -> bool {
        matches!(
            self.target,
            Target::ShippingFails(_)
                | Target::ShippingResets(_)
                | Target::ShippingSilent(_)
                | Target::ShippingGarbled(_)
        )
    }

    /// Whether the shipping service answers it with its failure status (the database, working,
    /// lets the call to it happen).
    pub(super) fn shipping_fails_with_a_status(&self) -> bool {
        matches!(self.target, Target::ShippingFails(_)) && !self.database_fails()
    }

    /// Whether the shipping service gives it no answer it can use: none at all, or a 200 that
    /// is no shipment (its failure has no status to name).
    pub(super) fn shipping_unanswered(&self) -> bool {
        matches!(
            self.target,
            Target::ShippingResets(_) | Target::ShippingSilent(_) | Target::ShippingGarbled(_)
        )
    }

    /// Whether it goes to an instance whose database fails every query.
    pub(super) fn database_fails(&self) -> bool {
        matches!(self.instance, Instance::Failing | Instance::Down)
    }

    /// Whether it fails on the server's side (a 5xx), with a cause to log.
    pub(super) fn fails(&self) -> bool {
        self.database_fails() && self.order().is_some() || self.shipping_fails()
    }
}

/// The statuses the shipping service fails with: 5xx that ask for a 502 alike, none of them
/// the 502 or 504 a right answer says (nor a 503, which lesson 4 lets a gateway pass on).
const FAILURE_STATUSES: [u16; 5] = [500, 501, 507, 508, 511];

#[derive(Debug)]
pub(super) struct Plan {
    /// What the shipping service answers for each order: its status, or `None` for a failure.
    pub(super) shipping: HashMap<u32, Option<String>>,
    /// The orders it gives no answer for: a reset (`true`), or silence.
    pub(super) unanswered: HashMap<u32, bool>,
    /// The orders it answers 200 for, with a body that is no shipment.
    pub(super) garbled: Vec<u32>,
    pub(super) delays: HashMap<u32, Duration>,
    /// The failing database: every query fails, each with a query id of its own (made from a
    /// secret of the judge's and the order id), which the line that logs it must carry. It fails
    /// as a query that failed; down, the same database fails as unavailable.
    pub(super) database: DatabaseSetup,
    /// In the shipping service's failures: it must reach no client.
    pub(super) secret: String,
    /// The status the shipping service fails with: neither it nor its phrase may reach a client
    /// (the 502 says the shipping service failed, not how).
    pub(super) failure_status: u16,
    /// In the failing database's reason (the relation or file it names): it must reach no
    /// client either.
    pub(super) reason_token: String,
    pub(super) asks: Vec<Ask>,
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let ids = seed::distinct(&mut rng, 100_000..1_000_000, 80);
        let (known, missing) = ids.split_at(60);
        let orders: Vec<Order> = known
            .iter()
            .map(|&id| Order {
                id,
                customer: format!("customer-{}", seed::token(&mut rng, 6)),
                total_cents: rng.u64(100..1_000_000),
                status: seed::pick(&mut rng, &["paid", "packed", "shipped"]).to_string(),
            })
            .collect();
        let mut shipping = HashMap::new();
        let mut delays = HashMap::new();
        // Four orders the shipping service never answers: two resets, two silences.
        let unanswered: HashMap<u32, bool> = orders[orders.len() - 4..]
            .iter()
            .zip([true, true, false, false])
            .map(|(order, reset)| (order.id, reset))
            .collect();
        // Two more it answers with a 200 that is no shipment.
        let garbled: Vec<u32> =
            orders[orders.len() - 6..orders.len() - 4].iter().map(|order| order.id).collect();
        let answered =
            |order: &&Order| !unanswered.contains_key(&order.id) && !garbled.contains(&order.id);
        for order in orders.iter().filter(answered) {
            let status = (!seed::chance(&mut rng, 0.3)).then(|| {
                seed::pick(&mut rng, &["in transit", "delivered", "at the depot"]).to_string()
            });
            shipping.insert(order.id, status);
            delays.insert(order.id, Duration::from_millis(rng.u64(0..=40)));
        }
        let host = format!("orders-db-{}.internal:5432", rng.u32(1..9));
        let reason_token = seed::token(&mut rng, 10);
        let reason = match rng.u32(0..3) {
            0 => format!(
                "canceling statement due to lock timeout on relation \"orders_{reason_token}\""
            ),
            1 => format!(
                "deadlock detected while locking a tuple in relation \"orders_{reason_token}\""
            ),
            _ => format!(
                "could not read block 7 in file \"base/16384/{reason_token}\": read only 0 of 8192 bytes"
            ),
        };
        // Down, it is unreachable or refuses the query; the error's text quotes the connection
        // string all the same.
        let unavailable = match rng.u32(0..3) {
            0 => format!(
                "pool \"orders_{reason_token}\" timed out after 5 s waiting for a connection"
            ),
            1 => format!("the database system is shutting down (backend orders_{reason_token})"),
            _ => format!("connection refused by pool \"orders_{reason_token}\" (os error 111)"),
        };
        // An `@` inside the password, as generated passwords have: a mask that ends at the
        // first `@` of the connection string leaves the rest, eight characters or more, in the
        // log.
        let mut password = seed::token(&mut rng, 20);
        let at = rng.usize(3..12);
        password.replace_range(at..=at, "@");
        let database = DatabaseSetup {
            orders: orders.clone(),
            host,
            password,
            secret: rng.u64(..),
            failure: Some(QueryFailure { reasons: vec![reason], only: None }),
            panic: None,
            unavailable: vec![unavailable],
            down: false,
        };
        let asks = asks(&mut rng, &orders, &shipping, &unanswered, &garbled, missing);
        Plan {
            shipping,
            unanswered,
            garbled,
            delays,
            database,
            secret: seed::token(&mut rng, 16),
            reason_token,
            failure_status: *seed::pick(&mut rng, &FAILURE_STATUSES),
            asks,
        }
    }

    /// The database `instance` is built over.
    pub(super) fn database(&self, instance: Instance) -> DatabaseSetup {
        let failure =
            if instance == Instance::Failing { self.database.failure.clone() } else { None };
        DatabaseSetup { failure, down: instance == Instance::Down, ..self.database.clone() }
    }

    /// The id the failing database gives the query for `order`.
    pub(super) fn query_id(&self, order: u32) -> String {
        self.database.query_id(order)
    }

    /// What the shipping service does for `seen`.
    pub(super) fn reply(&self, seen: &Seen) -> Reply {
        let order = seen.path().strip_prefix("/shipping/").and_then(|id| id.parse::<u32>().ok());
        match order.and_then(|order| self.unanswered.get(&order)) {
            Some(true) => return Reply::Reset,
            Some(false) => return Reply::Silence,
            None => {}
        }
        if order.is_some_and(|order| self.garbled.contains(&order)) {
            // A 200 from a maintenance page in front of the service: no shipment in it.
            let page = "<html><body>Scheduled maintenance: back soon</body></html>";
            return Reply::Respond {
                status: 200,
                headers: vec![("content-type".into(), "text/html".into())],
                body: page.into(),
            };
        }
        let Some((order, status)) = order.and_then(|id| Some((id, self.shipping.get(&id)?))) else {
            return Reply::json(404, &json!({"error": "no such shipment"}));
        };
        let delay = self.delays.get(&order).copied().unwrap_or_default();
        let reply = match status {
            Some(status) => Reply::json(200, &json!({"order": order, "status": status})),
            None => Reply::json(
                self.failure_status,
                &json!({"error": format!("carrier API down, trace {}", self.secret)}),
            )
            .with_header("x-carrier-trace", &self.secret),
        };
        Reply::Delayed(delay, Box::new(reply))
    }
}

/// Every request of the run.
fn asks(
    rng: &mut Rng,
    orders: &[Order],
    shipping: &HashMap<u32, Option<String>>,
    unanswered: &HashMap<u32, bool>,
    garbled: &[u32],
    missing: &[u32],
) -> Vec<Ask> {
    let mut shipped = orders
        .iter()
        .filter(|order| matches!(shipping.get(&order.id), Some(Some(_))))
        .map(|order| order.id);
    let mut failing = orders
        .iter()
        .filter(|order| matches!(shipping.get(&order.id), Some(None)))
        .map(|order| order.id);
    let mut missing = missing.iter().copied();
    let mut any_order =
        orders.iter().map(|order| order.id).cycle().skip(rng.usize(0..orders.len()));
    // Two orders kept for the requests that come with a traceparent.
    let traced: Vec<Target> = shipped.by_ref().take(2).map(Target::Shipped).collect();
    let mut targets = |rng: &mut Rng| -> Target {
        match rng.u32(0..10) {
            0..=3 => shipped.next().map_or(Target::NoRoute, Target::Shipped),
            4..=6 => failing.next().map_or(Target::NoRoute, Target::ShippingFails),
            7..=8 => missing.next().map_or(Target::NoRoute, Target::Missing),
            _ => Target::NoRoute,
        }
    };
    let mut asks = Vec::new();
    let mut ask = |instance, target, incoming, traceparent| {
        asks.push(Ask { instance, target, incoming, traceparent });
    };
    // Good ids across the charset and the lengths, the two ends included.
    // The first two with a traceparent, for orders the shipping service is asked about.
    let lengths = [
        rng.usize(8..40),
        rng.usize(8..40),
        1,
        MAX_LENGTH,
        rng.usize(2..20),
        rng.usize(20..MAX_LENGTH),
    ];
    let mut shapes = SHAPES.to_vec();
    rng.shuffle(&mut shapes);
    // Those of 8 characters or more, each with a shape of its own.
    let shaped: HashMap<usize, Shape> = [0, 1, 3, 5].into_iter().zip(shapes).collect();
    for (n, length) in lengths.into_iter().enumerate() {
        let (target, traceparent) = if n < 2 {
            let trace = (seed::token(rng, 32), seed::token(rng, 16));
            (traced.get(n).copied().unwrap_or(Target::NoRoute), Some(trace))
        } else if length < JOINABLE {
            // Too short to find in a log line ("a" is a word of many): kept, never logged.
            let target = std::iter::repeat_with(|| targets(rng))
                .find(|target| !matches!(target, Target::ShippingFails(_)))
                .expect("an endless supply");
            (target, None)
        } else {
            (targets(rng), None)
        };
        let mut id = good_id(rng, length);
        if let Some(shape) = shaped.get(&n) {
            id = shape.applied(rng, id);
        }
        ask(Instance::Healthy, target, Incoming::Good(id), traceparent);
    }
    // Bad ones, each in a way of its own. One of them (of one line) comes twice: a replacement
    // made from the rejected value (a hash of it, or what is left of it) gives both requests the
    // same "fresh" id.
    let bad = bad_ids(rng);
    let twice = rng.usize(0..bad.len() - TWO_LINES);
    for (n, (value, token, why)) in bad.into_iter().enumerate() {
        let incoming = Incoming::Bad { value, token, why };
        if n == twice {
            let target = targets(rng);
            ask(Instance::Healthy, target, incoming.clone(), None);
        }
        let target = targets(rng);
        ask(Instance::Healthy, target, incoming, None);
    }
    // Every printable character outside the charset, each in an id of its own: a charset a
    // character too wide shows whichever character it is. They go to an unknown path, a path
    // that is not a number and every method the route does not take, in turn: a trust check
    // made for some requests only (GETs, the routes) shows on the others.
    let turn = rng.usize(0..3);
    for (n, (value, token)) in forbidden_characters(rng).into_iter().enumerate() {
        let why = "a character outside A-Z a-z 0-9 . _ -";
        let target = match (n + turn) % 3 {
            0 => Target::NoRoute,
            1 => Target::NotANumber,
            _ => {
                let order = any_order.next().expect("orders cycle");
                Target::WrongMethod(order, WRONG_METHODS[n / 3 % WRONG_METHODS.len()])
            }
        };
        ask(Instance::Healthy, target, Incoming::Bad { value, token, why }, None);
    }
    // axum's own rejections: errors too, each with the id it came with.
    let order = any_order.next().expect("orders cycle");
    let length = rng.usize(JOINABLE..40);
    let method = WRONG_METHODS[rng.usize(..WRONG_METHODS.len())];
    let incoming = Incoming::Good(good_id(rng, length));
    ask(Instance::Healthy, Target::WrongMethod(order, method), incoming, None);
    ask(Instance::Healthy, Target::NotANumber, Incoming::None, None);
    let target = targets(rng);
    let empty = Incoming::Bad { value: String::new(), token: String::new(), why: "empty" };
    ask(Instance::Healthy, target, empty, None);
    for _ in 0..8 {
        let target = targets(rng);
        ask(Instance::Healthy, target, Incoming::None, None);
    }
    // The failing database: every request to an order fails there; a bad path or method is
    // still the client's mistake, answered before the database is asked.
    for n in 0..8 {
        let order = any_order.next().expect("orders cycle");
        let target = match n {
            5 => Target::NoRoute,
            6 => Target::NotANumber,
            7 => Target::WrongMethod(order, WRONG_METHODS[rng.usize(..WRONG_METHODS.len())]),
            _ => Target::Shipped(order),
        };
        let incoming = match n {
            0 | 1 => {
                let length = rng.usize(JOINABLE..40);
                Incoming::Good(good_id(rng, length))
            }
            2 => bad_ids(rng).swap_remove(0).into_incoming(),
            _ => Incoming::None,
        };
        ask(Instance::Failing, target, incoming, None);
    }
    // The shipping service unanswering: a reset, a timeout; each a failure with one line.
    let mut unanswered: Vec<(u32, bool)> =
        unanswered.iter().map(|(&order, &reset)| (order, reset)).collect();
    unanswered.sort_unstable();
    for (n, (order, reset)) in unanswered.into_iter().enumerate() {
        let target =
            if reset { Target::ShippingResets(order) } else { Target::ShippingSilent(order) };
        let incoming = joinable(rng, n % 2 == 0);
        ask(Instance::Healthy, target, incoming, None);
    }
    // A 200 that is no shipment: a failure of the shipping service's too, with one line.
    for (n, &order) in garbled.iter().enumerate() {
        let incoming = joinable(rng, n == 0);
        ask(Instance::Healthy, Target::ShippingGarbled(order), incoming, None);
    }
    // An order's number past what a u32 holds: no order, not the one it wraps to.
    for n in 0..2 {
        let order = any_order.next().expect("orders cycle");
        let incoming = if n == 0 { Incoming::None } else { Incoming::Good(good_id(rng, 16)) };
        ask(Instance::Healthy, Target::Overflowing(order), incoming, None);
    }
    // The database down: each kind of the error the same way, its password kept out of the log.
    for n in 0..4 {
        let order = any_order.next().expect("orders cycle");
        let incoming = joinable(rng, n == 0);
        ask(Instance::Down, Target::Shipped(order), incoming, None);
    }
    for _ in 0..6 {
        let target = targets(rng);
        ask(Instance::Twin, target, Incoming::None, None);
    }
    for _ in 0..8 {
        let target = targets(rng);
        ask(Instance::Elsewhere, target, Incoming::None, None);
    }
    rng.shuffle(&mut asks);
    asks
}

trait IntoIncoming {
    fn into_incoming(self) -> Incoming;
}

impl IntoIncoming for (String, String, &'static str) {
    fn into_incoming(self) -> Incoming {
        Incoming::Bad { value: self.0, token: self.1, why: self.2 }
    }
}

/// Methods `/orders/{id}` does not take.
const WRONG_METHODS: &[&str] = &["DELETE", "PUT", "POST", "PATCH"];

/// A place for punctuation in a kept id, one per id: a rule stricter than the lesson's (no
/// leading `.` or `-`, no `..`) shows on the id that has it.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Leading(char),
    DoubleDot,
}

const SHAPES: [Shape; 4] =
    [Shape::Leading('.'), Shape::Leading('-'), Shape::Leading('_'), Shape::DoubleDot];

impl Shape {
    /// `id` (of 4 characters or more) with this shape.
    fn applied(self, rng: &mut Rng, id: String) -> String {
        match self {
            Shape::Leading(c) => format!("{c}{}", &id[1..]),
            Shape::DoubleDot => {
                let at = rng.usize(1..id.len() - 2);
                format!("{}..{}", &id[..at], &id[at + 2..])
            }
        }
    }
}

/// A well-formed id of `length`, with every kind of character it may have.
/// A well-formed id long enough to find in a log line when `with_id`, else none.
fn joinable(rng: &mut Rng, with_id: bool) -> Incoming {
    if with_id {
        let length = rng.usize(JOINABLE..40);
        Incoming::Good(good_id(rng, length))
    } else {
        Incoming::None
    }
}

fn good_id(rng: &mut Rng, length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    (0..length).map(|_| char::from(*seed::pick(rng, ALPHABET))).collect()
}

/// An id around each printable ASCII character an id may not have (the space included).
fn forbidden_characters(rng: &mut Rng) -> Vec<(String, String)> {
    (b' '..=b'~')
        .map(char::from)
        .filter(|c| !c.is_ascii_alphanumeric() && !PUNCTUATION.contains(c))
        .map(|c| {
            let token = seed::token(rng, 12);
            (format!("{token}{c}{}", seed::token(rng, 4)), token)
        })
        .collect()
}

/// How many of [`bad_ids`], the last, come as two lines.
const TWO_LINES: usize = 2;

/// Malformed ids, each with a token of its own to look for, and why it is malformed. Two
/// x-request-id lines (sent as two, from a value with a line break) are malformed too: the
/// header is not a list, and either line kept is a guess.
fn bad_ids(rng: &mut Rng) -> Vec<(String, String, &'static str)> {
    let mut token = || seed::token(rng, 12);
    let forms: Vec<(String, &'static str)> = vec![
        ("{t}\"}, \"admin\": true, \"x\": {\"".into(), "a JSON string's end and more"),
        ("{t} ERROR payment failed for user=admin".into(), "spaces: a second log line's words"),
        ("{t}\twith\ttabs".into(), "tabs"),
        ("{t}\u{2028}forged line".into(), "a Unicode line separator"),
        ("{t}\u{202e}desrever".into(), "a right-to-left override"),
        ("{t}-café".into(), "non-ASCII letters"),
        // Each byte of its UTF-8 a Latin-1 letter: read byte by byte as chars, it looks fine.
        ("{t}ºª".into(), "non-ASCII letters, Latin-1 letters byte by byte"),
        ("{t}%0d%0aSet-Cookie:%20x=1".into(), "an encoded CR LF and header"),
        ("{t}\\r\\nforged: yes".into(), "an escaped CR LF"),
        ("<script>{t}</script>".into(), "markup"),
        ("{t};x=1,y=2".into(), "separators"),
        (format!("{{t}}{}", "a".repeat(MAX_LENGTH + 1 - 12)), "129 characters"),
        (format!("{{t}}{}", "0123456789abcdef".repeat(640)), "10 KB"),
        ("{t}\n{t}-b".into(), "two x-request-id lines"),
        ("{t}\n{t}".into(), "two identical x-request-id lines"),
    ];
    forms
        .into_iter()
        .map(|(form, why)| {
            let token = token();
            (form.replace("{t}", &token), token, why)
        })
        .collect()
}
