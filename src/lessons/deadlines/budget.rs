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

/// A budget of nothing and two of less than a millisecond, in microseconds and in
/// nanoseconds: a gateway that treats only zero as spent calls for the other two.
pub fn all_spent(rng: &mut Rng) -> Vec<Form> {
    let zero = *seed::pick(rng, &["0m", "0S", "0n", "0u", "0H", "000m", "0M"]);
    let micros = format!("{}u", rng.u32(1..=999));
    let nanos = format!("{}n", rng.u32(1_000..=999_999));
    [zero.to_string(), micros, nanos]
        .into_iter()
        .map(|text| Form { meant: parse(&text).expect("a spent budget is a budget"), text })
        .collect()
}

/// Every value the format does not allow that a lenient parser would read as about `near`
/// (which the judge picks well below the gateway's own timeout, so that such a reading shows in
/// the budget passed on): no unit, a unit of two letters, a sign, nine digits, a fraction, a
/// space, hexadecimal, an exponent, an unknown unit. With the fixed garbage of [`garbage`].
pub fn lenient(near: Duration) -> Vec<String> {
    let ms = near.as_millis().max(10);
    vec![
        format!("{ms}"),
        format!("{ms}ms"),
        format!("+{ms}m"),
        format!("{ms:0>9}m"),
        format!("{:0>9}n", ms * 1_000_000),
        format!("0.{ms:0>3}S"),
        format!("{ms}.0m"),
        format!("{ms} m"),
        format!("0x{ms:x}m"),
        format!("{ms}e0m"),
        format!("{ms}x"),
        format!("{ms}mS"),
        // A unit alone, and units in the wrong case (`s` and `h` are not units): read as no
        // time left, each is a spent budget.
        "S".to_string(),
        "0s".to_string(),
        "0h".to_string(),
    ]
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
        assert_eq!(parse("S"), None, "a unit alone");
        assert_eq!(parse("250s"), None, "a unit in the wrong case");
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
        for near in [10, 99, 137, 999] {
            for text in lenient(Duration::from_millis(near)) {
                assert_eq!(parse(&text), None, "{text}");
            }
        }
        for _ in 0..20 {
            let spent = all_spent(&mut rng);
            assert!(spent.iter().all(|form| form.meant < Duration::from_millis(1)));
            assert_eq!(spent.iter().filter(|form| !form.meant.is_zero()).count(), 2);
        }
    }
}
