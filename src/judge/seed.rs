//! Randomness from one seed per run: the report prints it, and `check N --seed S` replays it.

/// A generator for one run's randomness.
pub type Rng = fastrand::Rng;

/// A fresh seed, for a run that was not given one.
pub fn fresh() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), nanos) % 1_000_000_000
}

pub fn rng(seed: u64) -> Rng {
    fastrand::Rng::with_seed(seed)
}

/// A token of lower-case hex digits, for secrets and ids nobody can write into an answer.
pub fn token(rng: &mut Rng, length: usize) -> String {
    (0..length).map(|_| char::from_digit(rng.u32(0..16), 16).expect("a hex digit")).collect()
}

/// `count` distinct values from `range`, in random order.
pub fn distinct(rng: &mut Rng, range: std::ops::Range<u32>, count: usize) -> Vec<u32> {
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        let value = rng.u32(range.clone());
        if !picked.contains(&value) {
            picked.push(value);
        }
    }
    picked
}

/// A duration from `low` to `high`, spread evenly over orders of magnitude (log-uniform): as
/// many draws between 10 and 100 ms as between 100 ms and 1 s, so that both small and large
/// values of a range are met in every few runs.
pub fn duration_spread(
    rng: &mut Rng,
    low: std::time::Duration,
    high: std::time::Duration,
) -> std::time::Duration {
    let (low, high) = (low.as_secs_f64().max(1e-6), high.as_secs_f64().max(1e-6));
    let exponent = rng.f64() * (high / low).ln();
    std::time::Duration::from_secs_f64(low * exponent.exp())
        .min(std::time::Duration::from_secs_f64(high))
}

/// One of `choices`.
pub fn pick<'a, T>(rng: &mut Rng, choices: &'a [T]) -> &'a T {
    &choices[rng.usize(..choices.len())]
}

/// `true` with probability `p`.
pub fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.f64() < p
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn spread_durations_meet_both_ends_of_their_range() {
        let mut rng = rng(7);
        let (low, high) = (Duration::from_millis(10), Duration::from_millis(1000));
        let drawn: Vec<Duration> = (0..200).map(|_| duration_spread(&mut rng, low, high)).collect();
        assert!(drawn.iter().all(|d| *d >= low && *d <= high));
        let small = drawn.iter().filter(|d| **d < Duration::from_millis(100)).count();
        assert!((70..=130).contains(&small), "{small} of 200 below 100 ms");
    }
}
