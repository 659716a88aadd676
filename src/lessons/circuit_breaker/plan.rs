//! What one run of lesson 5 uses, drawn from the seed: each instance's breaker policy, the
//! inventory's timeout, the items asked for, and the order in which the inventory fails.

use std::time::Duration;

use super::inventory::Fault;
use crate::judge::seed;
use httplings::BreakerPolicy;

#[derive(Debug)]
pub(super) struct Plan {
    /// The policy of instances X, Y, Z and W.
    pub(super) threshold: u32,
    pub(super) cooldown: Duration,
    /// Instance V's: another threshold, and a cooldown of several seconds, so that neither can
    /// be hard-coded and every Retry-After from 1 to 4 can be asked for.
    pub(super) v_threshold: u32,
    pub(super) v_cooldown: Duration,
    /// How long the learner's service may wait for the inventory.
    pub(super) timeout: Duration,
    /// How long a slow but healthy inventory takes: well within the timeout.
    pub(super) slow: Duration,
    /// Distinct item ids from all of `u32`, used in order.
    pub(super) items: Vec<u32>,
    /// Failures that answer at once (statuses and garbage), in the order timelines meet them.
    pub(super) faults: Vec<Fault>,
    /// Where, among instance X's first threshold − 1 failures, the inventory is silent instead.
    pub(super) silent_at: usize,
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let threshold = rng.u32(3..=5);
        let faults = (0..4 * threshold as usize)
            .map(|_| match rng.u8(..6) {
                0 => Fault::Status(500),
                1 => Fault::Status(501),
                2 => Fault::Status(502),
                3 => Fault::Status(504),
                4 => Fault::Status(507),
                _ => Fault::Garbage,
            })
            .collect();
        Plan {
            threshold,
            // Between one and two seconds: right after opening the Retry-After is 2, in the
            // cooldown's second half it is 1, so rounding down and never counting down both show.
            cooldown: Duration::from_millis(rng.u64(1_100..=1_300)),
            v_threshold: 3 + (threshold - 3 + rng.u32(1..=2)) % 3,
            v_cooldown: Duration::from_millis(rng.u64(2_100..=3_900)),
            timeout: Duration::from_millis(400),
            slow: Duration::from_millis(250),
            items: seed::distinct(&mut rng, 1..u32::MAX, 60),
            faults,
            silent_at: rng.usize(..threshold as usize - 1),
        }
    }

    pub(super) fn policy(&self) -> BreakerPolicy {
        BreakerPolicy { failure_threshold: self.threshold, cooldown: self.cooldown }
    }

    pub(super) fn v_policy(&self) -> BreakerPolicy {
        BreakerPolicy { failure_threshold: self.v_threshold, cooldown: self.v_cooldown }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_v_never_shares_the_threshold() {
        for seed in 0..200 {
            let plan = Plan::draw(seed);
            assert_ne!(plan.threshold, plan.v_threshold, "seed {seed}");
            assert!((3..=5).contains(&plan.v_threshold), "seed {seed}");
        }
    }
}
