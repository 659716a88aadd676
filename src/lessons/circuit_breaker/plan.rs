//! What one run of lesson 5 uses, drawn from the seed: the breaker's policy, the inventory's
//! timeout, the items asked for, and the order in which the inventory fails.

use std::time::Duration;

use super::inventory::Fault;
use crate::judge::seed;

#[derive(Debug)]
pub(super) struct Plan {
    pub(super) threshold: u32,
    pub(super) cooldown: Duration,
    /// How long the learner's service may wait for the inventory.
    pub(super) timeout: Duration,
    /// How long a slow but healthy inventory takes: well within the timeout.
    pub(super) slow: Duration,
    /// Distinct item ids, used in order.
    pub(super) items: Vec<u32>,
    /// The inventory's failures, in the order a timeline meets them: one silence among the
    /// first threshold − 1 (a timeout costs time), and the rest statuses or garbage.
    pub(super) faults: Vec<Fault>,
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let threshold = rng.u32(3..=5);
        let mut faults: Vec<Fault> = (0..2 * threshold as usize)
            .map(|_| match rng.u8(..4) {
                0 => Fault::Status(500),
                1 => Fault::Status(502),
                2 => Fault::Status(504),
                _ => Fault::Garbage,
            })
            .collect();
        faults[rng.usize(..threshold as usize - 1)] = Fault::Silence;
        Plan {
            threshold,
            // Between one and two seconds: right after opening the Retry-After is 2, in the
            // cooldown's second half it is 1, so rounding down and never counting down both show.
            cooldown: Duration::from_millis(rng.u64(1_100..=1_300)),
            timeout: Duration::from_millis(400),
            slow: Duration::from_millis(250),
            items: seed::distinct(&mut rng, 1..100_000, 40),
            faults,
        }
    }
}
