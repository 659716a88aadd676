//! What one run of lesson 6 uses, drawn from the seed: payments (each key's life an amount of its
//! own, so that the processor and the payments server know which scenario a request is for),
//! idempotency keys in the shapes clients make them, API keys, and the processor's charge ids.

use std::collections::BTreeSet;

use httplings::fixtures::Payment;

use crate::judge::seed::{self, Rng};

const CURRENCIES: [&str; 6] = ["EUR", "USD", "GBP", "JPY", "CHF", "SEK"];

/// Hands out payments whose amounts are all different.
#[derive(Debug)]
pub(super) struct Payments {
    rng: Rng,
    used: BTreeSet<u64>,
}

impl Payments {
    pub(super) fn new(seed: u64) -> Self {
        Self { rng: seed::rng(seed), used: BTreeSet::new() }
    }

    pub(super) fn next(&mut self) -> Payment {
        let amount = loop {
            let amount = self.rng.u64(100..10_000_000);
            if self.used.insert(amount) {
                break amount;
            }
        };
        let currency = seed::pick(&mut self.rng, &CURRENCIES).to_string();
        Payment { amount, currency }
    }

    /// The same payment in another currency.
    pub(super) fn in_another_currency(&mut self, payment: &Payment) -> Payment {
        let others: Vec<&str> =
            CURRENCIES.iter().copied().filter(|currency| *currency != payment.currency).collect();
        Payment { amount: payment.amount, currency: seed::pick(&mut self.rng, &others).to_string() }
    }

    /// A key as clients make them, 64 characters at most: a v4 UUID (bare, as most payment APIs
    /// take it, or the quoted string of the IETF draft), a hex digest, a short random token, or
    /// an order reference with a random part.
    pub(super) fn key(&mut self) -> String {
        let rng = &mut self.rng;
        let hex = seed::token(rng, 64);
        match rng.u8(0..5) {
            0 => format!("\"{}\"", uuid_shaped(&hex)),
            1 => uuid_shaped(&hex),
            2 => hex,
            3 => (0..22).map(|_| *seed::pick(rng, BASE62)).map(char::from).collect(),
            _ => format!("order-{}-{}", rng.u32(1_000..100_000), &hex[..20]),
        }
    }

    /// A key of `length` visible ASCII characters, punctuation included (all but `"`, `\` and
    /// `,`, which a reader of Structured Fields or of lists would trip on): a key every server
    /// takes at 255, and none at 256.
    pub(super) fn visible_key(&mut self, length: usize) -> String {
        (0..length)
            .map(|_| char::from(self.rng.u8(b'!'..=b'~')))
            .map(|c| match c {
                '"' | '\\' | ',' => '_',
                c => c,
            })
            .collect()
    }

    /// An API key, for `Authorization: Bearer …`.
    pub(super) fn api_key(&mut self) -> String {
        format!("sk_test_{}", seed::token(&mut self.rng, 24))
    }

    /// Another API key that differs from `api_key` in four characters of its middle only: its
    /// first sixteen and last twelve are the same, so a client told by an end of its key
    /// takes the two for one.
    pub(super) fn twin_api_key(&mut self, api_key: &str) -> String {
        loop {
            let twin =
                format!("{}{}{}", &api_key[..16], seed::token(&mut self.rng, 4), &api_key[20..]);
            if twin != api_key {
                return twin;
            }
        }
    }

    /// Charge ids for the processor to hand out.
    pub(super) fn charge_ids(&mut self, count: usize) -> Vec<String> {
        (0..count).map(|_| format!("ch_{}", seed::token(&mut self.rng, 16))).collect()
    }

    pub(super) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn uuid_shaped(hex: &str) -> String {
    format!("{}-{}-4{}-a{}-{}", &hex[..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// A payment as JSON with its fields in another order and spaced out: the same payment, to
/// anyone who reads it as JSON.
pub(super) fn respelled(payment: &Payment) -> String {
    format!("{{ \"currency\" : \"{}\",\n  \"amount\" : {} }}", payment.currency, payment.amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_never_repeat_keys_stay_short_and_respelled_payments_read_the_same() {
        let mut payments = Payments::new(7);
        let drawn: Vec<Payment> = (0..500).map(|_| payments.next()).collect();
        let amounts: BTreeSet<u64> = drawn.iter().map(|payment| payment.amount).collect();
        assert_eq!(amounts.len(), drawn.len());
        let read: Payment = serde_json::from_str(&respelled(&drawn[0])).unwrap();
        assert_eq!(read, drawn[0]);
        for _ in 0..50 {
            let key = payments.key();
            assert!(
                (16..=66).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()),
                "{key}"
            );
        }
    }
}
