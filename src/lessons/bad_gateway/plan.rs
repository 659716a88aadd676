//! What one run of lesson 4 asks, drawn from the seed: the symbols and what the pricing service
//! does for each, the secrets its failures carry, and how long the gateway may wait.

use std::time::Duration;

use serde_json::json;

use crate::judge::seed::{self, Rng};
use crate::judge::upstream_old::Reply;

/// What the pricing service does for one symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Behaviour {
    /// 200 with the symbol and this price.
    Price(f64),
    /// 404: no such symbol.
    Unknown,
    /// A 5xx of its own.
    Fails(u16),
    /// 200, but the body is not a price.
    NotAPrice(Garbage),
    /// Bytes that are not HTTP.
    Broken,
    /// A head promising a body that never comes whole: the connection is reset mid-answer.
    CutOff,
    /// A head and the start of a price, then nothing more, ever.
    Stalls,
    /// No answer, ever.
    Silent,
    /// 503 with `Retry-After` of this many seconds.
    Unavailable(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Garbage {
    Text,
    NoPrice,
    NullPrice,
    /// A price that is a string, not a number.
    TextPrice,
}

/// One symbol of the run.
#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) symbol: String,
    pub(super) behaviour: Behaviour,
}

#[derive(Debug)]
pub(super) struct Plan {
    pub(super) cases: Vec<Case>,
    /// How long the gateway may wait for the pricing service.
    pub(super) timeout: Duration,
    /// Per-run secrets the pricing service's failures carry: one per pricing service.
    pub(super) secrets: [String; 2],
    /// Symbols asked of the gateway whose pricing service is down, and of the one that cannot
    /// be reached in time.
    pub(super) down_symbol: String,
    pub(super) unreachable_symbol: String,
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let mut symbols: Vec<String> = Vec::new();
        while symbols.len() < 18 {
            let symbol = symbol(&mut rng);
            if !symbols.contains(&symbol) {
                symbols.push(symbol);
            }
        }
        let price = |rng: &mut Rng| f64::from(rng.u32(100..1_000_000)) / 100.0;
        let behaviours = [
            Behaviour::Price(price(&mut rng)),
            Behaviour::Price(price(&mut rng)),
            Behaviour::Price(price(&mut rng)),
            Behaviour::Unknown,
            Behaviour::Fails(500),
            Behaviour::Fails(502),
            Behaviour::Fails(504),
            Behaviour::NotAPrice(Garbage::Text),
            Behaviour::NotAPrice(Garbage::NoPrice),
            Behaviour::NotAPrice(Garbage::NullPrice),
            Behaviour::NotAPrice(Garbage::TextPrice),
            Behaviour::Broken,
            Behaviour::CutOff,
            Behaviour::Stalls,
            Behaviour::Silent,
            Behaviour::Unavailable(rng.u32(5..300)),
        ];
        let mut cases: Vec<Case> = behaviours
            .into_iter()
            .zip(&symbols)
            .map(|(behaviour, symbol)| Case { symbol: symbol.clone(), behaviour })
            .collect();
        rng.shuffle(&mut cases);
        Plan {
            cases,
            timeout: Duration::from_millis(rng.u64(250..=450)),
            secrets: [seed::token(&mut rng, 16), seed::token(&mut rng, 16)],
            down_symbol: symbols[16].clone(),
            unreachable_symbol: symbols[17].clone(),
        }
    }

    /// What the pricing service numbered `service` (0 or 1) sends for `symbol`.
    pub(super) fn reply(&self, service: usize, symbol: &str) -> Reply {
        let secret = &self.secrets[service];
        let Some(case) = self.cases.iter().find(|case| case.symbol == symbol) else {
            return Reply::json(404, &json!({"error": "no such route"}));
        };
        // Every failure carries the service's secret, in its body and in a header.
        let failure = |status: u16, body: serde_json::Value| {
            let mut reply = Reply::json(status, &body);
            if let Reply::Respond { headers, .. } = &mut reply {
                headers.push(("x-pricing-trace".into(), secret.clone()));
            }
            reply
        };
        match case.behaviour {
            // A good answer carries the service's secret too, in a header and a field of its
            // own: a gateway passes on what it means to say, not whatever came.
            Behaviour::Price(price) => {
                let body =
                    json!({"symbol": symbol, "price": price, "currency": "EUR", "node": secret});
                let mut reply = Reply::json(200, &body);
                if let Reply::Respond { headers, .. } = &mut reply {
                    headers.push(("x-pricing-trace".into(), secret.clone()));
                }
                reply
            }
            Behaviour::Unknown => {
                failure(404, json!({"error": format!("unknown symbol {symbol}"), "trace": secret}))
            }
            Behaviour::Fails(status) => {
                failure(status, json!({"error": format!("pricing engine crashed: trace {secret}")}))
            }
            Behaviour::NotAPrice(Garbage::Text) => Reply::Respond {
                status: 200,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: format!("pricing-service 2.3.1 at {secret}: maintenance page").into_bytes(),
            },
            Behaviour::NotAPrice(Garbage::NoPrice) => {
                Reply::json(200, &json!({"symbol": symbol, "note": secret}))
            }
            Behaviour::NotAPrice(Garbage::NullPrice) => {
                Reply::json(200, &json!({"symbol": symbol, "price": null, "trace": secret}))
            }
            Behaviour::NotAPrice(Garbage::TextPrice) => {
                Reply::json(200, &json!({"symbol": symbol, "price": "12.50", "trace": secret}))
            }
            Behaviour::Broken => {
                Reply::Raw(format!("PRICE {symbol} ERR {secret}\r\n\r\n").into_bytes())
            }
            Behaviour::CutOff => Reply::CutOff {
                status: 200,
                promised: 400,
                sent: format!("{{\"symbol\":\"{symbol}\",\"pri").into_bytes(),
            },
            Behaviour::Stalls => Reply::Stalled {
                status: 200,
                promised: 400,
                sent: format!("{{\"symbol\":\"{symbol}\",\"pri").into_bytes(),
            },
            Behaviour::Silent => Reply::Silence,
            Behaviour::Unavailable(seconds) => {
                let mut reply =
                    failure(503, json!({"error": format!("pricing paused: trace {secret}")}));
                if let Reply::Respond { headers, .. } = &mut reply {
                    headers.push(("retry-after".into(), seconds.to_string()));
                }
                reply
            }
        }
    }
}

/// A ticker-like symbol: three to five capital letters.
fn symbol(rng: &mut Rng) -> String {
    (0..rng.usize(3..=5)).map(|_| char::from(b'A' + rng.u8(0..26))).collect()
}
