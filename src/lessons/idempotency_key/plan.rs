//! What one run of lesson 6 uses, drawn from the seed: payments (each scenario an amount of its
//! own, so that the processor and the payments server know which scenario a request is for),
//! idempotency keys as a client would make them, and the charge ids the processor hands out.

use std::collections::BTreeSet;

use crate::judge::seed::{self, Rng};
use httplings::fixtures::Payment;

const CURRENCIES: [&str; 6] = ["EUR", "USD", "GBP", "JPY", "CHF", "SEK"];

/// Hands out payments whose amounts are all different.
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
        let currency = CURRENCIES[self.rng.usize(..CURRENCIES.len())].to_string();
        Payment { amount, currency }
    }

    /// The same payment in another currency.
    pub(super) fn in_another_currency(&mut self, payment: &Payment) -> Payment {
        let others: Vec<&str> =
            CURRENCIES.iter().copied().filter(|currency| *currency != payment.currency).collect();
        Payment { amount: payment.amount, currency: others[self.rng.usize(..others.len())].into() }
    }

    /// A key as a client makes one: a v4 UUID's shape, sent bare (as most payment APIs take
    /// it) or as the quoted string of the IETF draft.
    pub(super) fn key(&mut self) -> String {
        let hex = seed::token(&mut self.rng, 32);
        let uuid = format!(
            "{}-{}-4{}-a{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..]
        );
        if self.rng.bool() { format!("\"{uuid}\"") } else { uuid }
    }

    /// Charge ids for the processor to hand out.
    pub(super) fn charge_ids(&mut self, count: usize) -> Vec<String> {
        (0..count).map(|_| format!("ch_{}", seed::token(&mut self.rng, 16))).collect()
    }

    pub(super) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
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
    fn amounts_never_repeat_and_respelled_payments_read_the_same() {
        let mut payments = Payments::new(7);
        let drawn: Vec<Payment> = (0..500).map(|_| payments.next()).collect();
        let amounts: BTreeSet<u64> = drawn.iter().map(|payment| payment.amount).collect();
        assert_eq!(amounts.len(), drawn.len());
        let read: Payment = serde_json::from_str(&respelled(&drawn[0])).unwrap();
        assert_eq!(read, drawn[0]);
        let key = payments.key();
        assert!(key.trim_matches('"').len() == 36, "{key}");
    }
}
