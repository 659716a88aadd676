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
