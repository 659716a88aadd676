//! What one run of lesson 4 asks, drawn from the seed: each gateway's timeout (spread over a
//! wide range), the symbols (of real shapes) and what the pricing services do for each in each
//! round, the symbols that need escaping, and the secrets the services' answers carry.

use std::time::Duration;

use serde_json::json;

use super::{BEHIND, Behind, GATEWAYS, SERVICES};
use crate::judge::confirm;
use crate::judge::exchange::segment;
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{Reply, Seen};

/// What a pricing service does for one symbol.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Behaviour {
    /// 200 with the symbol and this price, as its JSON text.
    Price(String),
    /// The same, labelled [`VENDOR_JSON`]: JSON, so a price to a gateway that reads it (or a
    /// 502 to one that reads only `application/json`), and a label the gateway's own answer
    /// does not carry.
    VendorPrice(String),
    /// 307 to [`moved_path`], where the service answers this price: followed, a price (reqwest
    /// follows redirects unless told not to); refused, a 502. Never the 307 passed on: its
    /// `Location` names a path of the pricing service's own.
    Redirect(String),
    /// This status with an error body, and a `Retry-After` of so many seconds when given.
    Status(u16, Option<u64>),
    /// 200, with a body that is not a price.
    NotAPrice(Garbage),
    /// Bytes that are not HTTP.
    Broken,
    /// The head and part of the body (a whole price, of a longer body), then a reset.
    CutOff,
    /// The request read, then a reset.
    Reset,
    Silent,
    /// The head and part of the body, then nothing.
    Stalls,
    /// A price whose head trickles in over three timeouts.
    TrickleHead,
    /// A price whose head comes after half the timeout and whose body takes three more.
    TrickleBody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Garbage {
    Text,
    NoPrice,
    NullPrice,
    TextPrice,
    /// A number written as a JSON string: `"412.5"` is text, not a number.
    QuotedPrice,
    /// A price, then more: a body that starts with JSON is not JSON.
    Trailing,
    /// A good price, for another symbol than the one asked for: not what was asked.
    OtherSymbol,
    /// A price, in a body of [`HUGE`] bytes: no gateway should read that much for one.
    Huge,
    /// The same, sent in chunks with no `Content-Length`: a limit that trusts the length alone
    /// reads it all.
    HugeChunked,
}

/// The media type of the pricing service's own JSON, a structured `+json` one (RFC 6839).
pub(super) const VENDOR_JSON: &str = "application/vnd.pricing.v4+json";

/// The size of a body no gateway should read in full for a price: four mebibytes, where a price
/// takes a few hundred bytes and a limit of 64 KiB (or a mebibyte) is plenty.
pub(super) const HUGE: usize = 4 << 20;

/// The range [`Plan::quiet_windows`] are drawn from: long enough to see what else on the machine
/// fails to connect at the rate that matters, a few times the span of a batch of refused
/// requests answered at once.
const QUIET_WINDOW: (Duration, Duration) = (Duration::from_millis(10), Duration::from_millis(30));

/// The size of each chunk of a chunked huge body.
const CHUNK: usize = 16 << 10;

/// How much of a huge body goes at once: past the largest limit the lesson allows (a mebibyte),
/// head included.
const AT_ONCE: usize = 5 << 18;

/// How long a huge body's sender stops after what it sent at once: a gateway whose limit is
/// larger than that reads nothing more for so long, and cannot pass for one that answered at
/// once however busy the machine (see [`HUGE_ANSWERED_BY`]).
const PAUSE: Duration = Duration::from_millis(600);

/// How soon a gateway answers a huge body, at most: half the pause, where two CPU hogs made a
/// right gateway take 219 ms to read what came at once and answer.
pub(super) const HUGE_ANSWERED_BY: Duration = Duration::from_millis(300);

/// How a huge body is sent, for a report.
const PACE: &str =
    ", 1.25 MiB of it at once, then nothing for 600 ms, then the rest over three timeouts";

/// A huge body sent as a slow one: past any allowed limit at once, then after a pause the rest
/// over three of the gateway's timeouts. A gateway with a limit gives up at once; one that
/// reads it all (and weighs it after) is still reading when its timeout is up.
fn paced(response: Reply, timeout: Duration) -> Reply {
    let chunks = (HUGE - AT_ONCE) / CHUNK;
    let every = timeout * 3 / u32::try_from(chunks).expect("a few hundred chunks");
    Reply::Paced {
        response: Box::new(response),
        at_once: AT_ONCE,
        pause: PAUSE,
        chunk: CHUNK,
        every,
    }
}

impl Behaviour {
    /// Whether the service gives a price for it: as its own JSON, labelled otherwise, or where
    /// it moved.
    pub(super) fn gives_price(&self) -> bool {
        matches!(self, Self::Price(_) | Self::VendorPrice(_) | Self::Redirect(_))
    }

    pub(super) fn is_timing(&self) -> bool {
        matches!(self, Self::Silent | Self::Stalls | Self::TrickleHead | Self::TrickleBody)
    }

    /// What the pricing service did, for a report.
    pub(super) fn did(&self) -> String {
        match self {
            Self::Price(price) => format!("answered 200 with a price of {price}"),
            Self::VendorPrice(price) => {
                format!("answered 200 with a price of {price}, as {VENDOR_JSON}")
            }
            Self::Redirect(price) => format!(
                "answered 307 with Location: {}, where it answers a price of {price}",
                MOVED
            ),
            Self::Status(status, Some(seconds)) => {
                format!("answered {status} with Retry-After: {seconds}")
            }
            Self::Status(status, None) => format!("answered {status}"),
            Self::NotAPrice(Garbage::Text) => "answered 200 with a text page, not a price".into(),
            Self::NotAPrice(Garbage::NoPrice) => "answered 200 with JSON that has no price".into(),
            Self::NotAPrice(Garbage::NullPrice) => "answered 200 with a price of null".into(),
            Self::NotAPrice(Garbage::TextPrice) => "answered 200 with a price that is text".into(),
            Self::NotAPrice(Garbage::QuotedPrice) => {
                "answered 200 with a price in a JSON string".into()
            }
            Self::NotAPrice(Garbage::OtherSymbol) => {
                "answered 200 with a price for another symbol".into()
            }
            Self::NotAPrice(Garbage::Trailing) => {
                "answered 200 with a price followed by more text".into()
            }
            Self::NotAPrice(Garbage::Huge) => {
                format!("answered 200 with a price, in a body of {} MiB{PACE}", HUGE >> 20)
            }
            Self::NotAPrice(Garbage::HugeChunked) => {
                format!(
                    "answered 200 with a price, in a chunked body of {} MiB (no Content-Length){PACE}",
                    HUGE >> 20
                )
            }
            Self::Broken => "answered with bytes that are not HTTP".into(),
            Self::CutOff => "broke its answer off mid-body".into(),
            Self::Reset => "reset the connection".into(),
            Self::Silent => "never answered".into(),
            Self::Stalls => "stalled half-way through its answer".into(),
            Self::TrickleHead => "sent its head a few bytes at a time".into(),
            Self::TrickleBody => "sent its head late, then its body a few bytes at a time".into(),
        }
    }
}

/// A symbol, and what the pricing services do for it in rounds 1 and 2.
#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) symbol: String,
    pub(super) rounds: [Behaviour; 2],
}

/// What a pricing service's answers carry that must never reach a client.
#[derive(Debug, Clone)]
pub(super) struct Secrets {
    pub(super) node: String,
    pub(super) cookie: String,
    pub(super) trace: String,
    /// The entity tag of its answers: it names the pricing service's representation, not the
    /// gateway's, so a conditional request built on it would be answered wrongly.
    pub(super) etag: String,
}

/// Every registered 4xx and 5xx beyond the named ones (400, 401, 403, 404, 409, 410, 429; 500,
/// 503), and a few that no registry names (499, 520, 599: a gateway that looks a reason phrase
/// up must not fail on them): each a 502 (or, for a 4xx, a 500), like the named ones of their
/// class. All of them, every run: a gateway that passes one rare status on (a
/// 451, a 418) fails whatever the seed.
const OTHER_STATUSES: [u16; 34] = [
    402, 405, 406, 407, 408, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426,
    428, 431, 451, 499, 501, 502, 504, 505, 506, 507, 508, 510, 511, 520, 599,
];

#[derive(Debug)]
pub(super) struct Plan {
    pub(super) cases: Vec<Case>,
    /// Symbols that need escaping: each, and the path segment the judge sends it as.
    pub(super) escaped: Vec<(String, String)>,
    /// Asked of the gateway over the service that is down, and of the one never reached.
    pub(super) refused: String,
    pub(super) unreachable: String,
    pub(super) secrets: Vec<Secrets>,
    /// The names of the header and the field the services' secrets travel in.
    pub(super) header: String,
    pub(super) field: String,
    /// Each gateway's `upstream.timeout()`.
    pub(super) timeouts: [Duration; GATEWAYS],
    /// How long the machine's failed connection attempts are counted at least, in each play of
    /// the refused check, between its batches: drawn, so that two judges side by side (a test
    /// suite's) seldom keep in step.
    pub(super) quiet_windows: Vec<Duration>,
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let rng = &mut rng;
        let mut quick = vec![Behaviour::Price(String::new()); 5];
        quick.extend(
            [404, 410, 400, 401, 403, 409, 429, 500, 503].map(|s| Behaviour::Status(s, None)),
        );
        // Every other status a gateway has no answer of its own for, asked each run: a gateway
        // that lists the usual ones (500, 502; 400, 401) and passes the rest on fails whatever
        // the seed, not one run in four.
        quick.extend(OTHER_STATUSES.map(|s| Behaviour::Status(s, None)));
        // A 429 with a Retry-After as well as one without, in each round: not a coin toss that
        // left both without one run in four (and a 429's Retry-After dropped unseen).
        quick.push(Behaviour::Status(429, Some(1)));
        // And a 503 that asks for no wait at all, every run: asked again at once, it is asked
        // twice (one run in five drew a 0 before).
        quick.push(Behaviour::Status(503, Some(0)));
        quick.extend(
            [
                Garbage::Text,
                Garbage::NoPrice,
                Garbage::NullPrice,
                Garbage::TextPrice,
                Garbage::QuotedPrice,
                Garbage::Trailing,
                Garbage::OtherSymbol,
                Garbage::Huge,
                Garbage::HugeChunked,
            ]
            .map(Behaviour::NotAPrice),
        );
        quick.extend([Behaviour::Broken, Behaviour::CutOff, Behaviour::Reset]);
        rng.shuffle(&mut quick[5..]);
        // Two more that give a price, each where neither round prices its symbol otherwise (a
        // gateway that caches shows by its price from memory, never by these).
        quick.insert(10, Behaviour::VendorPrice(String::new()));
        quick.insert(12, Behaviour::Redirect(String::new()));
        // Each twice: eight requests at a time wait on each gateway's timeout, so that one
        // that lets only a few call at once (a semaphore of four) answers the rest late.
        let timing: Vec<Behaviour> =
            [Behaviour::Silent, Behaviour::Stalls, Behaviour::TrickleHead, Behaviour::TrickleBody]
                .iter()
                .cycle()
                .take(8)
                .cloned()
                .collect();
        let symbols = symbols(rng, quick.len() + timing.len() + 2);
        // Round 2 moves every quick behaviour five symbols on: the five priced in round 1 (one
        // of each shape) fail, five others (again one of each shape) are priced.
        let mut cases: Vec<Case> = (0..quick.len())
            .map(|n| Case {
                symbol: symbols[n].clone(),
                rounds: [
                    fresh(rng, &quick[n], n, 0),
                    fresh(rng, &quick[(n + 5) % quick.len()], n, 1),
                ],
            })
            .collect();
        let shift = quick.len();
        cases.extend(timing.iter().enumerate().map(|(n, behaviour)| Case {
            symbol: symbols[shift + n].clone(),
            rounds: [behaviour.clone(), behaviour.clone()],
        }));
        rng.shuffle(&mut cases);
        // The timeouts of the gateways over A and B (one draw: they are compared; from the upper
        // half, for the many quick requests they get) and over the two other services, each from
        // a quarter of the range.
        let mut spread: Vec<Duration> =
            (0..4).map(|quarter| quarter_of_range(rng, quarter)).collect();
        spread.swap(0, rng.usize(2..4));
        rng.shuffle(&mut spread[1..]);
        let escapes = spread[0];
        let refused =
            seed::duration_spread(rng, Duration::from_millis(500), Duration::from_millis(1_200));
        // The gateway over an address that never completes a connection waits one timeout a
        // request, past a whole second every run: a gateway that keeps only the milliseconds of
        // its timeout (`subsec_millis`) gives up a second early there. (Over a service, a timeout
        // past a second would make each trickle take seconds.)
        let unreachable =
            seed::duration_spread(rng, Duration::from_secs(1), Duration::from_millis(1_200));
        let timeouts =
            [spread[0], spread[0], spread[0], spread[1], spread[2], escapes, refused, unreachable];
        let word = *seed::pick(rng, &["admin", "internal", "debug", "config", "metrics"]);
        let base = letters(rng, 3..=3);
        let hex = seed::token(rng, 2).to_uppercase();
        let escaped = [
            "..".to_string(),
            // One dot is a dot segment too: a URL parser drops it, and asks for `/prices/`.
            ".".to_string(),
            format!("../{word}"),
            // A URL parser reads a backslash in an http URL's path as a slash.
            format!("..\\{word}"),
            // Asked for as it is, the space included: a gateway that trims asks for another.
            format!(" {base}"),
            format!("{base}?{word}=1"),
            format!("{base}/{word}"),
            format!("{base}#{word}"),
            format!("%{hex}{base}"),
            // A path is not a form: a space is %20 there, and `+` is a plus.
            format!("{base} {word}"),
        ];
        let lengths = seed::distinct(rng, 10..25, SERVICES);
        Plan {
            cases,
            escaped: escaped.into_iter().map(|symbol| (symbol.clone(), segment(&symbol))).collect(),
            refused: symbols[symbols.len() - 2].clone(),
            unreachable: symbols[symbols.len() - 1].clone(),
            secrets: lengths
                .into_iter()
                .map(|length| Secrets {
                    node: format!("px-{}.prices.internal", seed::token(rng, length as usize)),
                    cookie: seed::token(rng, length as usize + 3),
                    trace: seed::token(rng, 32 - length as usize),
                    etag: seed::token(rng, 40 - length as usize),
                })
                .collect(),
            header: format!("x-{word}-{}", seed::token(rng, 4)),
            field: format!("{word}_{}", seed::token(rng, 4)),
            timeouts,
            quiet_windows: (0..confirm::PLAYS)
                .map(|_| seed::duration_spread(rng, QUIET_WINDOW.0, QUIET_WINDOW.1))
                .collect(),
        }
    }

    /// What the service numbered `service` does in `round` for `symbol`.
    pub(super) fn behaviour(&self, symbol: &str, round: usize) -> Option<&Behaviour> {
        let case = self.cases.iter().find(|case| case.symbol == symbol)?;
        Some(&case.rounds[round.min(1)])
    }

    /// The reply of the service numbered `service` to `seen`, in `round`.
    pub(super) fn reply(&self, service: usize, round: usize, seen: &Seen) -> Reply {
        let s = &self.secrets[service];
        let moved = moved_symbol(seen);
        let symbol = priced_symbol(seen).or_else(|| moved.clone()).unwrap_or_default();
        let headers = [
            ("server".to_string(), format!("pricing/4.2 ({})", s.node)),
            ("set-cookie".into(), format!("route={}; Path=/; HttpOnly", s.cookie)),
            (self.header.clone(), s.trace.clone()),
            ("etag".into(), format!("W/\"{}\"", s.etag)),
        ];
        let respond_as = |status: u16, media_type: &str, body: String| Reply::Respond {
            status,
            headers: [("content-type".into(), media_type.into())]
                .into_iter()
                .chain(headers.clone())
                .collect(),
            body: body.into_bytes(),
        };
        let respond = |status: u16, body: String| respond_as(status, "application/json", body);
        // A few hundred bytes of the service's own small print, as a real price answer has: a
        // gateway whose body limit is a few hundred bytes refuses good prices.
        let terms = "Indicative price, not an offer. ".repeat(12 + symbol.len() % 7);
        let quoted = json!(symbol);
        let (field, trace, node) = (&self.field, &s.trace, &s.node);
        let price_as = |media_type: &str, price: &str| {
            respond_as(
                200,
                media_type,
                format!(
                    r#"{{"symbol":{quoted},"price":{price},"currency":"EUR","{field}":"{trace}","meta":{{"node":"{node}","hops":["{}"]}},"terms":"{terms}"}}"#,
                    s.cookie
                ),
            )
        };
        let price = |price: &str| price_as("application/json", price);
        let start = format!(r#"{{"symbol":{quoted},"{field}":"{trace}","pri"#);
        let gateway = BEHIND.iter().position(|behind| *behind == Behind::Service(service));
        let timeout = self.timeouts[gateway.expect("every service has a gateway")];
        let behaviour = self.behaviour(&symbol, round);
        let behaviour = match (behaviour, moved) {
            (Some(Behaviour::Redirect(text)), Some(_)) => return price(text),
            (_, Some(_)) => None,
            (behaviour, None) => behaviour,
        };
        let Some(behaviour) = behaviour else {
            return respond(
                404,
                json!({"error": {"message": format!("no such symbol at {node}"), "trace": trace}})
                    .to_string(),
            );
        };
        match behaviour {
            Behaviour::Price(text) => price(text),
            Behaviour::VendorPrice(text) => price_as(VENDOR_JSON, text),
            Behaviour::Redirect(_) => {
                let location = moved_path(&symbol);
                respond(307, String::new()).with_header("location", &location)
            }
            Behaviour::Status(status, retry_after) => {
                let body =
                    json!({"error": {"message": format!("{status} from {node}"), "trace": trace}});
                let reply = respond(*status, body.to_string());
                match retry_after {
                    Some(seconds) => reply.with_header("retry-after", &seconds.to_string()),
                    None => reply,
                }
            }
            Behaviour::NotAPrice(Garbage::Text) => Reply::Respond {
                status: 200,
                headers: [("content-type".into(), "text/plain".into())]
                    .into_iter()
                    .chain(headers)
                    .collect(),
                body: format!("pricing-service 4.2 at {node}: down for maintenance").into_bytes(),
            },
            Behaviour::NotAPrice(Garbage::NoPrice) => {
                respond(200, format!(r#"{{"symbol":{quoted},"{field}":"{trace}"}}"#))
            }
            Behaviour::NotAPrice(Garbage::NullPrice) => {
                respond(200, format!(r#"{start}ce":null}}"#))
            }
            Behaviour::NotAPrice(Garbage::TextPrice) => {
                respond(200, format!(r#"{start}ce":"12.50 EUR"}}"#))
            }
            Behaviour::NotAPrice(Garbage::QuotedPrice) => {
                respond(200, format!(r#"{start}ce":"412.5"}}"#))
            }
            Behaviour::NotAPrice(Garbage::OtherSymbol) => {
                let other = json!(format!("{symbol}X"));
                respond(200, format!(r#"{{"symbol":{other},"price":12.5}}"#))
            }
            Behaviour::NotAPrice(Garbage::Trailing) => {
                respond(200, format!(r#"{{"symbol":{quoted},"price":12.5}} <- {node}"#))
            }
            Behaviour::NotAPrice(Garbage::Huge) => {
                // Whitespace is JSON too: a gateway that reads it all finds a good price.
                let mut body = format!(r#"{{"symbol":{quoted},"price":12.5}}"#);
                body.push_str(&" ".repeat(HUGE.saturating_sub(body.len())));
                paced(respond(200, body), timeout)
            }
            Behaviour::NotAPrice(Garbage::HugeChunked) => {
                let mut head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n".to_string();
                for (name, value) in &headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                // The connection ends with the reply: no client may keep it for another.
                head.push_str("transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
                let mut bytes = head.into_bytes();
                let mut body = format!(r#"{{"symbol":{quoted},"price":12.5}}"#);
                body.push_str(&" ".repeat(HUGE.saturating_sub(body.len())));
                for chunk in body.as_bytes().chunks(CHUNK) {
                    bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    bytes.extend_from_slice(chunk);
                    bytes.extend_from_slice(b"\r\n");
                }
                bytes.extend_from_slice(b"0\r\n\r\n");
                paced(Reply::Raw(bytes), timeout)
            }
            Behaviour::Broken => {
                Reply::Raw(format!("PRICE {symbol} ERR {node}\r\n\r\n").into_bytes())
            }
            // What came before the break is a whole price: a gateway that takes a read that
            // failed for the end of the body answers with it.
            Behaviour::CutOff => {
                let sent = format!(r#"{{"symbol":{quoted},"price":12.5}}"#).into_bytes();
                Reply::CutOff { status: 200, promised: 400, sent }
            }
            Behaviour::Reset => Reply::Reset,
            Behaviour::Silent => Reply::Silence,
            Behaviour::Stalls => {
                Reply::Stalled { status: 200, promised: 400, sent: start.into_bytes() }
            }
            Behaviour::TrickleHead => {
                let whole = price("12.5");
                Reply::Trickle { response: Box::new(whole), chunk: 16, every: timeout / 8 }
            }
            Behaviour::TrickleBody => {
                let body = Box::new(price(&format!("12.5{}", " ".repeat(100))));
                Reply::Delayed(
                    timeout / 2,
                    Box::new(Reply::TrickleBody { response: body, chunk: 12, every: timeout / 8 }),
                )
            }
        }
    }
}

/// A fresh draw of `behaviour`: a new price (the `n`-th of the round's forms), a new
/// `Retry-After` from a quarter of the whole range, so that every run has each: the 503's under
/// five seconds (0 included) in round 0 and past what a `u16` holds in round 1, the 429's up to an
/// hour in round 0 and from an hour to what a `u16` holds in round 1 (a gateway that caps what
/// it passes on, or raises it to a floor of its own, or drops what does not fit, shows each time).
fn fresh(rng: &mut Rng, behaviour: &Behaviour, n: usize, round: usize) -> Behaviour {
    let (low, high) = match (behaviour, round) {
        (Behaviour::Status(503, _), 0) => (0, 4),
        (Behaviour::Status(503, _), _) => (65_536, 2_000_000),
        (_, 0) => (10, 3_600),
        _ => (3_601, 65_535),
    };
    let seconds = match low {
        0 => rng.u64(low..=high),
        _ => seed::duration_spread(rng, Duration::from_secs(low), Duration::from_secs(high))
            .as_secs(),
    };
    match behaviour {
        Behaviour::Price(_) => Behaviour::Price(price(rng, n % 5)),
        Behaviour::VendorPrice(_) => Behaviour::VendorPrice(price(rng, n % 5)),
        Behaviour::Redirect(_) => Behaviour::Redirect(price(rng, n % 5)),
        Behaviour::Status(503, Some(0)) => Behaviour::Status(503, Some(0)),
        Behaviour::Status(503, _) => Behaviour::Status(503, Some(seconds)),
        Behaviour::Status(429, asks) => Behaviour::Status(429, asks.map(|_| seconds)),
        other => other.clone(),
    }
}

/// A price as JSON writes it, in one of five forms: a whole number, a tiny one (9 to 15
/// decimals, the last not 0, so that rounding to eight places or fewer always shows), a long
/// one of ten or eleven significant digits, one with an exponent, one with a trailing zero. Each
/// round has one of each.
///
/// The long one ends in a digit other than 0: an `f32` writes back at most nine significant
/// digits, so it can never give that price back unchanged, whatever the draw (with eight or
/// nine, about a third of draws came back whole and a gateway through an `f32` could pass).
fn price(rng: &mut Rng, form: usize) -> String {
    let digits = if form == 2 { rng.u32(10..=11) } else { rng.u32(1..=6) };
    let mut mantissa = rng.u64(10u64.pow(digits - 1)..10u64.pow(digits));
    if matches!(form, 1 | 2) && mantissa.is_multiple_of(10) {
        mantissa += 1;
    }
    let decimals = match form {
        0 => 0,
        1 => rng.usize(9..=15),
        _ => rng.usize(1..=digits as usize),
    };
    let text = format!("{mantissa:0>width$}", width = decimals + 1);
    let (whole, fraction) = text.split_at(text.len() - decimals);
    match form {
        0 => whole.to_string(),
        3 => format!("{mantissa}e-{decimals}"),
        4 => format!("{whole}.{fraction}0"),
        _ => format!("{whole}.{fraction}"),
    }
}

/// A timeout from one quarter (0 to 3) of 150 ms to 1.2 s, log-uniform.
fn quarter_of_range(rng: &mut Rng, quarter: u32) -> Duration {
    let at = |quarter: u32| Duration::from_millis(150).mul_f64(8f64.powf(f64::from(quarter) / 4.0));
    seed::duration_spread(rng, at(quarter), at(quarter + 1))
}

/// `count` symbols of the shapes real ones have, taken in turn (`ACME`, `BRK.B`, `7203.T`,
/// `RELIANCE.NS`, `RDS-A`), none inside another.
fn symbols(rng: &mut Rng, count: usize) -> Vec<String> {
    let mut symbols: Vec<String> = Vec::new();
    while symbols.len() < count {
        let symbol = match symbols.len() % 5 {
            0 => letters(rng, 3..=5),
            1 => format!("{}.{}", letters(rng, 2..=4), letters(rng, 1..=1)),
            2 => format!("{}.{}", rng.u32(1000..10_000), seed::pick(rng, &["T", "HK", "KS", "SS"])),
            // Up to nine letters and a market (`RELIANCE.NS`): a gateway that refuses symbols
            // past eight characters refuses real ones in every run.
            3 => format!(
                "{}.{}",
                letters(rng, 4..=9),
                seed::pick(rng, &["L", "DE", "PA", "SW", "TO", "NS", "AX"])
            ),
            _ => format!("{}-{}", letters(rng, 2..=4), letters(rng, 1..=1)),
        };
        // Words of log lines are no symbols: a line would seem to name them.
        let word = ["GET", "HTTP", "URI", "INFO", "WARN", "ERROR", "DEBUG", "TRACE", "JSON", "EUR"];
        let inside = |known: &String| known.contains(&symbol) || symbol.contains(known.as_str());
        if !symbols.iter().any(inside) && !word.iter().any(|word| word.contains(&symbol)) {
            symbols.push(symbol);
        }
    }
    symbols
}

fn letters(rng: &mut Rng, count: std::ops::RangeInclusive<usize>) -> String {
    (0..rng.usize(count)).map(|_| char::from(b'A' + rng.u8(0..26))).collect()
}

/// The symbol a request to a pricing service asks for: `/prices/` and one segment.
/// Where a redirected price moved to, for a report: [`moved_path`] of the symbol.
const MOVED: &str = "/moved/prices/{symbol}";

/// The path a [`Behaviour::Redirect`] sends a gateway to: one of the pricing service's own.
fn moved_path(symbol: &str) -> String {
    format!("/moved/prices/{}", segment(symbol))
}

/// The symbol of a request that followed a redirect to [`moved_path`].
pub(super) fn moved_symbol(seen: &Seen) -> Option<String> {
    match seen.segments()?.as_slice() {
        [moved, prices, symbol] if moved == "moved" && prices == "prices" => Some(symbol.clone()),
        _ => None,
    }
}

pub(super) fn priced_symbol(seen: &Seen) -> Option<String> {
    match seen.segments()?.as_slice() {
        [prices, symbol] if prices == "prices" => Some(symbol.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway that serves prices from memory must show by a price it gives from round 1: so
    /// no symbol is priced in both rounds, whatever the seed.
    #[test]
    fn no_symbol_gives_a_price_in_both_rounds() {
        for seed in 0..200 {
            let plan = Plan::draw(seed);
            let both =
                plan.cases.iter().find(|case| case.rounds.iter().all(Behaviour::gives_price));
            assert!(both.is_none(), "seed {seed}: {both:?}");
            let rounds =
                |round: usize| plan.cases.iter().filter(|c| c.rounds[round].gives_price()).count();
            assert_eq!((rounds(0), rounds(1)), (7, 7), "seed {seed}");
        }
    }
}
