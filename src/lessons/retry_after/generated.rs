//! Parser inputs generated from the run's seed, around a random `now`: delay-seconds of every
//! size, dates in all three forms before and after `now`, and mutations of both that no
//! reader may accept (or, where RFC 9110 lets a recipient be lenient, may read either way).
//! A parser that only knows the table's examples fails here.

use std::time::{Duration, SystemTime};

use super::dates::{self, DateForm};
use super::expect::Expect;
use super::table::{Case, Group};
use crate::judge::seed::Rng;

/// How many of each kind a run generates.
const PER_KIND: usize = 12;

pub(super) fn cases(rng: &mut Rng) -> Vec<Case> {
    let now = dates::seconds(rng.u64(820_000_000..2_400_000_000)); // 1995 to 2046
    let mut cases = Vec::new();
    for _ in 0..PER_KIND {
        cases.push(seconds(rng, now));
        cases.push(date(rng, now));
        cases.push(mangled_seconds(rng, now));
        cases.push(mangled_date(rng, now));
    }
    cases.push(Case {
        input: format!("{}{}", rng.u64(1..10), "0".repeat(rng.usize(20..30))),
        now,
        expect: Expect::AtLeast(Duration::from_secs(u64::MAX)),
        group: Group::Seconds,
    });
    cases
}

fn whitespace(rng: &mut Rng) -> &'static str {
    ["", "", " ", "\t", "  ", " \t"][rng.usize(..6)]
}

/// A number of seconds of some magnitude, maybe with leading zeros and surrounding whitespace.
fn seconds(rng: &mut Rng, now: SystemTime) -> Case {
    let value = match rng.u8(..4) {
        0 => rng.u64(0..10),
        1 => rng.u64(10..100_000),
        2 => rng.u64(100_000..10_000_000_000),
        _ => rng.u64(10_000_000_000..=u64::MAX),
    };
    let zeros = "0".repeat(rng.usize(0..3));
    let input = format!("{}{zeros}{value}{}", whitespace(rng), whitespace(rng));
    Case { input, now, expect: Expect::seconds(value), group: Group::Seconds }
}

/// A moment before or after `now`, in a random form.
fn date(rng: &mut Rng, now: SystemTime) -> Case {
    let (at, wait) = moment(rng, now);
    let form = form_for(rng, at);
    let input = format!("{}{}{}", whitespace(rng), dates::format(form, at), whitespace(rng));
    Case { input, now, expect: Expect::Is(Some(wait)), group: Group::Dates }
}

/// A moment up to ten years either side of `now`, and the wait until it (zero once past).
fn moment(rng: &mut Rng, now: SystemTime) -> (SystemTime, Duration) {
    let span = [60, 3_600, 86_400 * 30, 86_400 * 365 * 10][rng.usize(..4)];
    let offset = Duration::from_secs(rng.u64(1..=span));
    if rng.bool() { (now + offset, offset) } else { (now - offset, Duration::ZERO) }
}

/// RFC 850's two-digit years read the same under every reading rule only between 1990 and
/// 2060 (the RFC's 50-year rule and httpdate's fixed 1970–2069 window): elsewhere, another form.
fn form_for(rng: &mut Rng, at: SystemTime) -> DateForm {
    let form = DateForm::ALL[rng.usize(..3)];
    let year =
        httpdate::fmt_http_date(at).split(' ').nth(3).and_then(|year| year.parse::<u32>().ok());
    match (form, year) {
        (DateForm::Rfc850, Some(1990..=2060)) | (DateForm::ImfFixdate | DateForm::Asctime, _) => {
            form
        }
        (DateForm::Rfc850, _) => DateForm::ImfFixdate,
    }
}

/// Seconds with something no delay-seconds may have: a sign, a fraction, a unit, an exponent…
fn mangled_seconds(rng: &mut Rng, now: SystemTime) -> Case {
    let value = rng.u64(1..100_000);
    let input = match rng.u8(..10) {
        0 => format!("+{value}"),
        1 => format!("-{value}"),
        2 => format!("{value}.{}", rng.u8(0..10)),
        3 => format!("{value}{}", ["s", "sec", " seconds", "ms", "m"][rng.usize(..5)]),
        4 => format!("{}e{}", rng.u8(1..10), rng.u8(1..5)),
        5 => format!("0x{value:x}"),
        6 => format!("{value}, {}", rng.u64(1..1000)),
        7 => format!("{} {}", value / 10, value % 10),
        8 => value.to_string().chars().map(fullwidth).collect(),
        _ => with_foreign_byte(rng, &value.to_string()),
    };
    Case { input, now, expect: Expect::Is(None), group: Group::Invalid }
}

/// A date broken beyond reading (a field lost, out of range, another zone, a foreign byte), or
/// bent in ways a lenient reader may forgive (case, a wrong weekday).
fn mangled_date(rng: &mut Rng, now: SystemTime) -> Case {
    let (at, wait) = moment(rng, now);
    let imf = dates::format(DateForm::ImfFixdate, at);
    let (input, expect) = match rng.u8(..8) {
        0 => (imf.to_lowercase(), Expect::OneOf(vec![Some(wait), None])),
        1 => (imf.to_uppercase(), Expect::OneOf(vec![Some(wait), None])),
        2 => (with_wrong_weekday(&imf), Expect::OneOf(vec![Some(wait), None])),
        3 => (
            imf.replacen(" GMT", [" PST", " +0100", " EST", ""][rng.usize(..4)], 1),
            Expect::Is(None),
        ),
        // "Sun, 06 Nov 1994 08:49:37 GMT": the hour is bytes 17 and 18.
        4 => (
            format!("{}{}{}", &imf[..17], ["24", "25", "99"][rng.usize(..3)], &imf[19..]),
            Expect::Is(None),
        ),
        5 => {
            // Drop the day, the month, the year or the time.
            let mut fields: Vec<&str> = imf.split(' ').collect();
            fields.remove(rng.usize(1..5));
            (fields.join(" "), Expect::Is(None))
        }
        6 => (format!("{imf} {}", ["1994", "x", "GMT"][rng.usize(..3)]), Expect::Is(None)),
        _ => (with_foreign_byte(rng, &imf), Expect::Is(None)),
    };
    Case { input, now, expect, group: Group::Invalid }
}

fn fullwidth(digit: char) -> char {
    char::from_u32(u32::from(digit) - u32::from('0') + 0xFF10).unwrap_or(digit)
}

/// `text` with one character replaced by a letter outside ASCII, away from the edges (where a
/// reader that trims Unicode whitespace would be judged on something else entirely).
fn with_foreign_byte(rng: &mut Rng, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 3 {
        return format!("{text}é1");
    }
    let at = rng.usize(1..chars.len() - 1);
    let foreign = ['é', 'ß', '٣', '€', 'ı'][rng.usize(..5)];
    chars
        .iter()
        .enumerate()
        .map(|(index, char)| if index == at { foreign } else { *char })
        .collect()
}

/// An IMF-fixdate whose weekday does not match its date.
fn with_wrong_weekday(imf: &str) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let day = &imf[..3];
    let at = DAYS.iter().position(|name| *name == day).unwrap_or(0);
    format!("{}{}", DAYS[(at + 3) % 7], &imf[3..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn httpdate_agrees_with_every_valid_generated_date() {
        // The expected waits come from arithmetic, not from a parser: check them against one.
        let mut rng = crate::judge::seed::rng(11);
        for case in cases(&mut rng).into_iter().filter(|case| case.group == Group::Dates) {
            let parsed = httpdate::parse_http_date(case.input.trim_matches([' ', '\t'])).unwrap();
            let wait = parsed.duration_since(case.now).unwrap_or(Duration::ZERO);
            assert!(case.expect.accepts(Some(wait)), "{case:?}");
        }
    }

    #[test]
    fn httpdate_rejects_every_invalid_generated_value() {
        let mut rng = crate::judge::seed::rng(12);
        for case in cases(&mut rng).into_iter().filter(|case| case.expect == Expect::Is(None)) {
            assert!(httpdate::parse_http_date(&case.input).is_err(), "{case:?}");
        }
    }
}
