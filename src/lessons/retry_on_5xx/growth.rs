//! The growth check: over every backoff wait of the long scenarios, the time waited against the
//! time backoff allows. Jitter makes single waits anything from nothing to `d`, so growth is
//! judged in aggregate, where it averages out: full jitter waits half of `d` on average, equal
//! jitter three quarters, none all of it. A client that does not grow, or grows past the cap,
//! or adds jitter on top of `d`, lands outside; so does one whose waits keep one length that
//! happens to average out (the waits at the cap must be well above the first ones).

use std::time::Duration;

use super::verdict::Sample;
use crate::judge::{Evidence, Failure};

/// The least share of the nominal total a client may wait. Full jitter averages 0.5; over the
/// sixty waits of a run its standard deviation is about 0.042, so 0.28 is more than five of
/// them away. A client that does not grow waits about 0.12 of it.
const LEAST: f64 = 0.28;

/// The most: all of it, plus what a loaded machine adds to each wait (measured at 9 ms on
/// average with both cores busy; "jitter on top" would add about half of the whole).
const MOST: f64 = 1.0;
const NOISE_PER_WAIT: Duration = Duration::from_millis(20);

/// How much longer the waits at the cap must be than the first ones (retries 1 and 2, where
/// the bound is at most twice `base_delay`): their median against the first ones' lower
/// quartile. A busy machine makes some waits longer, never shorter, and hits the first retries
/// hardest (every call starts at once); the lower quartile is the least touched by it. With the
/// long scenarios' 10 ms base and 120 ms cap, full jitter gives about 15×, and still 2.5× when
/// the machine adds 20 ms to that quartile; a wait that never grows gives 1× or less, whatever
/// its length, since no sleep ends early.
const GROWTH: f64 = 2.0;

/// The first waits' lower quartile and the capped waits' median, when the capped ones are not
/// `GROWTH` times longer.
fn flat(samples: &[Sample]) -> Option<(Duration, Duration)> {
    let least = samples.iter().map(|sample| sample.nominal).min()?;
    let most = samples.iter().map(|sample| sample.nominal).max()?;
    let quantile = |keep: &dyn Fn(Duration) -> bool, share: f64| {
        let mut kept: Vec<Duration> =
            samples.iter().filter(|sample| keep(sample.nominal)).map(|s| s.waited).collect();
        kept.sort();
        kept.get((kept.len() as f64 * share) as usize).copied()
    };
    let first = quantile(&|nominal| nominal <= least * 2, 0.25)?;
    let capped = quantile(&|nominal| nominal == most, 0.5)?;
    (most >= least * 4 && capped.as_secs_f64() < first.as_secs_f64() * GROWTH)
        .then_some((first, capped))
}

pub(crate) fn judge(samples: &[Sample], why: &str) -> Option<Failure> {
    let waited: Duration = samples.iter().map(|sample| sample.waited).sum();
    let nominal: Duration = samples.iter().map(|sample| sample.nominal).sum();
    if samples.is_empty() || nominal.is_zero() {
        return None;
    }
    let share = waited.as_secs_f64() / nominal.as_secs_f64();
    let noise = NOISE_PER_WAIT.as_secs_f64() * samples.len() as f64 / nominal.as_secs_f64();
    let summary = if share < LEAST {
        format!(
            "over {} backoff waits the client waited {} ms in all, {:.0} % of the {} ms backoff \
             allows: the waits do not grow (even full jitter averages 50 %)",
            samples.len(),
            waited.as_millis(),
            share * 100.0,
            nominal.as_millis()
        )
    } else if share > MOST + noise {
        format!(
            "over {} backoff waits the client waited {} ms in all, {:.0} % of the {} ms backoff \
             allows: no wait may be longer than d (jitter goes below it, not on top)",
            samples.len(),
            waited.as_millis(),
            share * 100.0,
            nominal.as_millis()
        )
    } else if let Some((first, capped)) = flat(samples) {
        format!(
            "the waits do not grow: a quarter of the first retries waited {} ms or less, half of \
             those where backoff reaches max_delay {} ms or less (backoff doubles the bound each \
             time)",
            first.as_millis(),
            capped.as_millis()
        )
    } else {
        return None;
    };
    let rows: Vec<String> = samples
        .iter()
        .take(24)
        .map(|sample| {
            format!("{:>5} ms of ≤ {:>5} ms", sample.waited.as_millis(), sample.nominal.as_millis())
        })
        .collect();
    Some(Failure::new(summary, why).with(Evidence::Text {
        title: "waits (measured, of nominal d)".into(),
        body: rows.join("\n"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The long scenarios' bounds: base 10 ms, cap 120 ms, ten retries.
    fn nominal() -> impl Iterator<Item = Duration> {
        (0..10).map(|retry| Duration::from_millis((10u64 << retry).min(120)))
    }

    /// Twelve calls' waits; `wait` gets the bound, the retry's index and the call's number.
    fn samples(wait: impl Fn(Duration, usize, u32) -> Duration) -> Vec<Sample> {
        (0..12)
            .flat_map(|call| {
                nominal().enumerate().map(move |(index, nominal)| (call, index, nominal))
            })
            .map(|(call, index, nominal)| Sample { waited: wait(nominal, index, call), nominal })
            .collect()
    }

    #[test]
    fn backoff_with_any_jitter_passes_even_with_a_busy_machine_on_top() {
        let busy = Duration::from_millis(20);
        // Full jitter at its mean, equal jitter at its mean, none.
        for share in [0.5, 0.75, 1.0] {
            assert!(judge(&samples(|nominal, _, _| nominal.mul_f64(share) + busy), "").is_none());
        }
    }

    #[test]
    fn full_jitter_passes_when_the_first_waits_take_the_brunt_of_a_busy_machine() {
        // Each call draws its share of the bound (0 to 11 twelfths); two calls in three lose
        // 40 ms on their first two waits to the rush of every call starting at once.
        let waits = samples(|nominal, index, call| {
            let drawn = nominal.mul_f64(f64::from(call) / 12.0);
            if index < 2 && call % 3 != 0 { drawn + Duration::from_millis(40) } else { drawn }
        });
        assert!(judge(&waits, "").is_none());
    }

    #[test]
    fn a_wait_that_never_grows_fails_whatever_its_length() {
        for millis in [10, 40, 60, 100] {
            let failure = judge(&samples(|_, _, _| Duration::from_millis(millis)), "")
                .unwrap_or_else(|| panic!("a flat {millis} ms passed"));
            assert!(failure.summary.contains("do not grow"), "{}", failure.summary);
        }
    }
}
