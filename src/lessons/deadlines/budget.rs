//! `grpc-timeout` as the judge writes and reads it: at most eight digits, then a unit (`H`, `M`,
//! `S`, `m`, `u`, `n`). The judge writes budgets in every unit, and a few values that are not
//! budgets at all; it reads what the learner's gateway passes on strictly.

use std::time::Duration;

use crate::judge::seed::{self, Rng};

/// The header, in both directions.
pub const HEADER: &str = "grpc-timeout";

/// A budget the judge sends, as written and as meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub text: String,
    pub meant: Duration,
}

/// Reads a `grpc-timeout` value; `None` for anything the format does not allow.
pub fn parse(value: &str) -> Option<Duration> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(amount * 3600),
        'M' => Duration::from_secs(amount * 60),
        'S' => Duration::from_secs(amount),
        'm' => Duration::from_millis(amount),
        'u' => Duration::from_micros(amount),
        'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// `duration` in `unit`, rounded down, with leading zeros now and then (the format allows them).
pub fn written(rng: &mut Rng, duration: Duration, unit: char) -> Form {
    let amount = match unit {
        'H' => duration.as_secs() / 3600,
        'M' => duration.as_secs() / 60,
        'S' => duration.as_secs(),
        'm' => u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        'u' => u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
        _ => u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX),
    };
    let mut digits = amount.to_string();
    if digits.len() < 8 && seed::chance(rng, 0.25) {
        digits.insert(0, '0');
    }
    let text = format!("{digits}{unit}");
    let meant = parse(&text).expect("a budget the judge writes is one");
    Form { text, meant }
}

/// A budget of nothing, or of less than a millisecond, in one of its many spellings.
pub fn spent(rng: &mut Rng) -> Form {
    let text = *seed::pick(rng, &["0m", "0S", "0n", "0u", "0H", "000m", "700u", "950000n", "3u"]);
    Form { text: text.to_string(), meant: parse(text).expect("a spent budget is a budget") }
}

/// Values the format does not allow, each close to one that it does.
pub fn garbage(rng: &mut Rng, count: usize) -> Vec<String> {
    let mut all = vec![
        "250",
        "-5m",
        "1.5S",
        "123456789m",
        "5 m",
        "m",
        "250ms",
        "0x10m",
        "+250m",
        "250x",
        "soon",
        "2s",
        "1e3m",
        "٣m",
    ];
    rng.shuffle(&mut all);
    all.into_iter().take(count).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_reads_and_nothing_else_does() {
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("000000250m"), None, "nine digits");
        assert_eq!(parse("00000250m"), Some(Duration::from_millis(250)), "eight digits");
        assert_eq!(parse("0250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["250", "-5m", "1.5S", "5 m", "m", "250ms", "", "٣m"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let mut rng = seed::rng(1);
        for text in garbage(&mut rng, 14) {
            assert_eq!(parse(&text), None, "{text}");
        }
        let form = written(&mut rng, Duration::from_micros(1_234_567), 'm');
        assert_eq!(form.meant, Duration::from_millis(1234));
    }
}
