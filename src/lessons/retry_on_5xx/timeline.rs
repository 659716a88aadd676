//! A call's requests on a time axis, beside the schedule the rules describe: "retried
//! instantly" and "never retried" show at a glance.

use std::time::{Duration, Instant};

use super::expect::{Expected, Wait};
use super::server::Arrival;
use crate::judge::Evidence;

/// Columns in a timeline.
const WIDTH: usize = 48;

pub(super) const LEGEND: &str =
    "● a request · 2–9 that many requests in one column · + ten or more";

pub(super) fn render(expected: &Expected, seen: &[&Arrival], started: Instant) -> Evidence {
    // Time runs from the first request, so both rows start together.
    let origin = seen.first().map_or(started, |first| first.at);
    let yours: Vec<Duration> =
        seen.iter().map(|arrival| arrival.at.saturating_duration_since(origin)).collect();
    let mut nominal = Vec::new();
    let mut at = Duration::ZERO;
    for request in &expected.requests {
        at += match request.wait {
            Some(Wait::Backoff(wait) | Wait::Asked(wait)) => wait,
            None => Duration::ZERO,
        };
        nominal.push(at);
    }
    let span = yours
        .iter()
        .chain(&nominal)
        .max()
        .copied()
        .unwrap_or_default()
        .max(Duration::from_millis(1));
    let axis = format!("0 ms{:>width$}", format!("{} ms", span.as_millis()), width = WIDTH - 4);
    let body = format!(
        "           {axis}\nyours      {}\nnominal    {}\n(nominal: every wait at its longest, d = base_delay × 2^(n−1) capped, or as asked)\n{LEGEND}",
        track(&yours, span),
        track(&nominal, span)
    );
    Evidence::Text { title: "timeline".into(), body }
}

/// One row of dots; a digit where several requests fall in one column.
fn track(moments: &[Duration], span: Duration) -> String {
    let mut counts = [0usize; WIDTH];
    for moment in moments {
        let column =
            (moment.as_secs_f64() / span.as_secs_f64() * (WIDTH - 1) as f64).round() as usize;
        counts[column.min(WIDTH - 1)] += 1;
    }
    let row: String = counts
        .iter()
        .map(|count| match count {
            0 => '·',
            1 => '●',
            2..=9 => char::from_digit(*count as u32, 10).unwrap_or('+'),
            _ => '+',
        })
        .collect();
    row.trim_end_matches('·').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_counts_requests_that_share_a_column() {
        let span = Duration::from_millis(470);
        let moments = [0, 1, 2, 470].map(Duration::from_millis);
        assert_eq!(track(&moments, span), format!("3{}●", "·".repeat(WIDTH - 2)));
    }
}
