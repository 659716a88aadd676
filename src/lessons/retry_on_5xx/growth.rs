//! The growth check: over every backoff wait of the long scenarios, the time waited against the
//! time backoff allows. Jitter makes single waits anything from nothing to `d`, so growth is
//! judged in aggregate, where it averages out: full jitter waits half of `d` on average, equal
//! jitter three quarters, none all of it. A client that does not grow, or grows past the cap,
//! or adds jitter on top of `d`, lands outside.

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
