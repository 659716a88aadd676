//! What `parse_retry_after` is asked, and what it may answer: a fixed table a reader of the
//! lesson will recognise (read at the RFC's example date less 30 s, unless a row says
//! otherwise), then inputs generated from the seed. Delay-seconds of every size; dates in all
//! three forms around a "now" anywhere from 1970 to 9999, near and far from it, across century
//! and leap-day boundaries; and mangled values of both that no reader may accept (or, where
//! RFC 9110 lets a recipient be lenient, may read either way).

use std::time::Duration;

use super::dates::{read_at, rfc850_years};
use crate::judge::http_date::{Civil, DateForm};
use crate::judge::seed::{self, Rng};

/// Which check a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Seconds,
    Dates,
    Invalid,
}

/// What a check accepts as the wait read from a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expect {
    /// Any of these (most often, one).
    OneOf(Vec<Option<Duration>>),
    /// A wait at least this long (saturated arithmetic).
    AtLeast(Duration),
    /// A wait up to two seconds short of this (a date read a moment after it was written).
    About(Duration),
}

/// How much a wait measured against the clock may fall short.
const CLOCK_SLACK: Duration = Duration::from_secs(2);

impl Expect {
    pub(super) fn is(wait: Option<Duration>) -> Self {
        Expect::OneOf(vec![wait])
    }

    pub(super) fn seconds(seconds: u64) -> Self {
        Self::is(Some(Duration::from_secs(seconds)))
    }

    pub(super) fn accepts(&self, got: Option<Duration>) -> bool {
        match self {
            Expect::OneOf(wanted) => wanted.contains(&got),
            Expect::AtLeast(least) => got.is_some_and(|got| got >= *least),
            Expect::About(wanted) => {
                got.is_some_and(|got| got <= *wanted && got + CLOCK_SLACK >= *wanted)
            }
        }
    }

    pub(super) fn shown(&self) -> String {
        match self {
            Expect::OneOf(wanted) => {
                wanted.iter().map(|wait| shown(*wait)).collect::<Vec<_>>().join(" or ")
            }
            Expect::AtLeast(least) => format!("≥ {}", shown(Some(*least))),
            Expect::About(wanted) => format!("about {}", shown(Some(*wanted))),
        }
    }
}

/// `Some(30 s)` as `30 s`, `None` as `None`.
pub(super) fn shown(duration: Option<Duration>) -> String {
    match duration {
        None => "None".into(),
        Some(duration) if duration.subsec_nanos() == 0 => format!("{} s", duration.as_secs()),
        Some(duration) => format!("{:.3} s", duration.as_secs_f64()),
    }
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) input: String,
    /// The moment `parse_retry_after` is told it is, in seconds since 1970.
    pub(super) now: i64,
    /// The fraction of a second past `now`: a reader that drops it, or rounds it, waits too
    /// long or too little.
    pub(super) fraction: Duration,
    pub(super) expect: Expect,
    pub(super) group: Group,
}

/// `Sun, 06 Nov 1994 08:49:07 GMT`, the table's "now": whole seconds, so every answer is exact.
pub(super) const TABLE_NOW: i64 = 784_111_777 - 30;

/// Every case of a run: the table, then the generated ones.
pub(super) fn all(rng: &mut Rng) -> Vec<Case> {
    let mut cases = table();
    for _ in 0..12 {
        cases.push(seconds(rng));
        cases.push(mangled_seconds(rng));
        cases.push(mangled_date(rng));
    }
    cases.push(Case {
        input: format!("{}{}", rng.u64(1..10), "0".repeat(rng.usize(20..30))),
        now: TABLE_NOW,
        fraction: Duration::ZERO,
        expect: Expect::AtLeast(Duration::from_secs(u64::MAX)),
        group: Group::Seconds,
    });
    // A letter outside ASCII in each date form, at every place but the edges, each run: a
    // reader that slices by bytes panics at some place, in whichever form it rewrites. Once in
    // place of a character, and once in place of two, as a letter of two bytes: the date keeps
    // its length in bytes, so a reader that checks the length first still meets it.
    for form in DateForm::ALL {
        let (now, date) = scene(rng);
        let text = date.format(form, date.weekday());
        let count = text.chars().count();
        let inputs =
            (1..count - 1).map(|at| with_foreign_letter_at(rng, &text, at)).collect::<Vec<_>>();
        let same_length = (1..count - 2).map(|at| with_two_byte_letter_at(rng, &text, at));
        for input in inputs.into_iter().chain(same_length.collect::<Vec<_>>()) {
            let (fraction, expect, group) = (Duration::ZERO, Expect::is(None), Group::Invalid);
            cases.push(Case { input, now, fraction, expect, group });
        }
    }
    // Every boundary, every run: each calendar mistake shows at some of them only (five drawn
    // of twelve missed one in fifteen runs).
    let scenes = (0..6).map(|_| scene(rng)).collect::<Vec<_>>();
    for (now, date) in scenes.into_iter().chain(boundaries()) {
        for form in DateForm::ALL {
            let now = (now, fraction(rng));
            cases.push(date_case(rng, now, date, form));
        }
    }
    cases.extend(foreign_whitespace(rng));
    cases.extend(impossible_days(rng));
    cases.extend(fifty_years_on(rng));
    cases.extend(OTHER_ZONES.map(|zone| in_another_zone(rng, zone)));
    cases
}

/// The fixed table: the RFC's examples and their neighbours, at [`TABLE_NOW`]; then rows with
/// a "now" of their own: RFC 850's 50-year rule, leap days, the end of the range.
#[rustfmt::skip]
fn table() -> Vec<Case> {
    use Group::{Dates, Invalid, Seconds};
    let wait = Expect::seconds;
    let either = |seconds| Expect::OneOf(vec![Some(Duration::from_secs(seconds)), None]);
    let mut rows = vec![
        ("120", wait(120), Seconds), ("0", wait(0), Seconds), ("007", wait(7), Seconds),
        (" 30", wait(30), Seconds), ("30  ", wait(30), Seconds), ("\t5\t", wait(5), Seconds),
        ("86400", wait(86_400), Seconds), ("18446744073709551615", wait(u64::MAX), Seconds),
        ("18446744073709551616", Expect::AtLeast(Duration::from_secs(u64::MAX)), Seconds),
        // Longer than any u64 written out, yet small: the length alone says nothing.
        ("0000000000000000000030", wait(30), Seconds),
        ("00018446744073709551615", wait(u64::MAX), Seconds),
        ("Sun, 06 Nov 1994 08:49:37 GMT", wait(30), Dates),
        ("Sunday, 06-Nov-94 08:49:37 GMT", wait(30), Dates),
        ("Sun Nov  6 08:49:37 1994", wait(30), Dates),
        ("Mon, 07 Nov 1994 08:49:07 GMT", wait(86_400), Dates),
        ("  Sun, 06 Nov 1994 08:49:37 GMT ", wait(30), Dates),
        ("Sun, 06 Nov 1994 08:49:07 GMT", wait(0), Dates),
        ("Sun, 06 Nov 1994 08:48:07 GMT", wait(0), Dates),
        ("Saturday, 05-Nov-94 08:49:37 GMT", wait(0), Dates),
        ("Sat Nov  5 08:49:37 1994", wait(0), Dates),
        ("sun, 06 nov 1994 08:49:37 gmt", either(30), Dates),
        ("Sun, 06 NOV 1994 08:49:37 GMT", either(30), Dates),
    ];
    rows.extend([
        "-1", "+5", "1.5", "", "   ", "soon", "120, 60", "30s", "0x1E", "1e3", "1 20", "١٢٠",
        "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 06 Nov 1994 08:49:37", "1994-11-06T08:49:37Z",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        // RFC 850's form with no day's name, or with a four-digit year: neither is that form.
        "Funday, 06-Nov-94 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
    ].map(|input| (input, Expect::is(None), Invalid)));
    let mut cases: Vec<Case> = rows.into_iter()
        .map(|(input, expect, group)| Case {
            input: input.into(),
            now: TABLE_NOW,
            fraction: Duration::ZERO,
            expect,
            group,
        })
        .collect();
    let day = |year, month, day| Civil::new(year, month, day, (0, 0, 0)).at();
    for (input, now, then) in [
        ("Wednesday, 01-Jan-70 00:00:00 GMT", day(2025, 6, 1), Some(day(2070, 1, 1))),
        ("Friday, 01-Jan-99 00:00:00 GMT", day(2025, 6, 1), Some(day(1999, 1, 1))),
        ("Tue, 29 Feb 2000 00:00:00 GMT", day(2000, 2, 28), Some(day(2000, 2, 29))),
        ("Wed, 01 Mar 2000 00:00:00 GMT", day(2000, 2, 28), Some(day(2000, 3, 1))),
        ("Mon, 29 Feb 2100 00:00:00 GMT", day(2100, 2, 28), None),
        ("Mon Mar  1 00:00:00 2100", day(2100, 2, 28), Some(day(2100, 3, 1))),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 0, Some(day(10_000, 1, 1) - 1)),
    ] {
        let wait = then.map(|then| Duration::from_secs((then - now).max(0).unsigned_abs()));
        let (input, fraction, expect) = (input.into(), Duration::ZERO, Expect::is(wait));
        cases.push(Case { input, now, fraction, expect, group: Dates });
    }
    cases
}

/// Moments where calendars go wrong, each with a "now" shortly before (or, for 1900, long
/// after): the turn of a century, leap days that are (2000, 2400) and are not (1900, 2100),
/// both ends of the range.
#[rustfmt::skip]
fn boundaries() -> Vec<(i64, Civil)> {
    let at = Civil::new;
    let noon = (12, 0, 0);
    vec![
        (at(1999, 12, 31, (23, 59, 30)).at(), at(2000, 1, 1, (0, 0, 30))),
        (at(2099, 12, 31, (23, 59, 0)).at(), at(2100, 1, 1, (0, 1, 0))),
        (at(2000, 2, 28, noon).at(), at(2000, 2, 29, noon)),
        (at(2000, 2, 28, noon).at(), at(2000, 3, 1, noon)),
        (at(2100, 2, 28, noon).at(), at(2100, 2, 29, noon)),
        (at(2100, 2, 28, noon).at(), at(2100, 3, 1, noon)),
        (at(2400, 2, 28, noon).at(), at(2400, 2, 29, noon)),
        (at(2300, 2, 27, noon).at(), at(2300, 3, 1, noon)),
        (at(1970, 1, 1, (0, 0, 0)).at(), at(1900, 2, 29, noon)),
        (at(1975, 6, 1, noon).at(), at(1969, 7, 20, (20, 17, 40))),
        (at(1970, 1, 1, (0, 0, 0)).at(), at(9999, 12, 31, (23, 59, 59))),
        (at(9999, 12, 31, (23, 0, 0)).at(), at(9999, 12, 31, (23, 59, 59))),
    ]
}

/// A "now" anywhere from 1970 to 9999 (a third of them in this century or the next), and a
/// moment before or after it, from a second to millennia away (log-uniform).
fn scene(rng: &mut Rng) -> (i64, Civil) {
    let first = Civil::new(1970, 1, 1, (0, 0, 0)).at();
    let last = Civil::new(9999, 12, 31, (23, 59, 59)).at();
    let now = match rng.u8(..3) {
        0 => {
            rng.i64(Civil::new(2000, 1, 1, (0, 0, 0)).at()..Civil::new(2200, 1, 1, (0, 0, 0)).at())
        }
        _ => rng.i64(first..last),
    };
    let away =
        seed::duration_spread(rng, Duration::from_secs(1), Duration::from_secs(250_000_000_000));
    let away = i64::try_from(away.as_secs()).unwrap_or(i64::MAX);
    let at = if rng.bool() { now.saturating_add(away) } else { now.saturating_sub(away) };
    (now, Civil::of(at.clamp(Civil::new(1900, 1, 1, (0, 0, 0)).at(), last)))
}

/// `date` in `form`, at `now`, with the weekday it has (for RFC 850, in the year the 50-year
/// rule reads it as), maybe with whitespace around.
fn date_case(rng: &mut Rng, (now, fraction): (i64, Duration), date: Civil, form: DateForm) -> Case {
    let read_as = match form {
        DateForm::Rfc850 => rfc850_years(now, date)[0],
        _ => date.year,
    };
    let weekday = Civil { year: read_as, ..date }.weekday();
    let input = format!("{}{}{}", whitespace(rng), date.format(form, weekday), whitespace(rng));
    let expect = Expect::OneOf(read_at(date, (now, fraction), form, weekday));
    Case { input, now, fraction, expect, group: Group::Dates }
}

/// A fraction of a second for a "now", a whole number of milliseconds so the table shows it
/// exactly, far enough from 0 and 1 s that neither dropping it nor rounding it goes unseen.
fn fraction(rng: &mut Rng) -> Duration {
    Duration::from_millis(rng.u64(10..990))
}

/// A time of day, to the second.
fn time_of_day(rng: &mut Rng) -> (i64, i64, i64) {
    (rng.i64(0..24), rng.i64(0..60), rng.i64(0..60))
}

/// Whitespace that is not a space or a tab around delay-seconds, every kind each run, and
/// around a date the kinds outside ASCII: RFC 9110 §5.5 takes only spaces and tabs away, so
/// what `str::trim` (or `trim_ascii`, or a lossy decoding) would forgive is no value at all.
fn foreign_whitespace(rng: &mut Rng) -> Vec<Case> {
    const FOREIGN: [&str; 8] =
        ["\r", "\n", "\r\n", "\x0b", "\x0c", "\u{a0}", "\u{3000}", "\u{2009}"];
    let around = |rng: &mut Rng, space: &str, value: String| match rng.u8(..3) {
        0 => format!("{space}{value}"),
        1 => format!("{value}{space}"),
        _ => format!("{space}{value}{space}"),
    };
    let mut inputs: Vec<String> = FOREIGN
        .iter()
        .map(|space| {
            let value = rng.u64(1..100_000).to_string();
            around(rng, space, value)
        })
        .collect();
    for space in ["\u{a0}", "\u{3000}"] {
        let date = Civil::of(TABLE_NOW + rng.i64(1..1_000_000));
        let form = *seed::pick(rng, &DateForm::ALL);
        let date = around(rng, space, date.format(form, date.weekday()));
        inputs.push(date);
    }
    inputs
        .into_iter()
        .map(|input| Case {
            input,
            now: TABLE_NOW,
            fraction: Duration::ZERO,
            expect: Expect::is(None),
            group: Group::Invalid,
        })
        .collect()
}

/// Days no calendar has, in each form, each run, a few weeks ahead of a "now" of the same
/// year (so that RFC 850's year is read one way only): 29 February of a century year that is
/// not a leap year (2100, not 2000), and a day past its month's end (31 April, 30 February…).
/// A reader that checks `day <= 31` only, or takes every fourth year as leap, reads them as the
/// next month's first days. Each is written under the weekday of the day it would become.
fn impossible_days(rng: &mut Rng) -> Vec<Case> {
    const PAST_THE_END: [(u32, u32); 7] =
        [(2, 29), (2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)];
    let mut cases = Vec::new();
    for form in DateForm::ALL {
        let century = loop {
            let year = rng.i64(20..100) * 100;
            if year % 400 != 0 {
                break year;
            }
        };
        let (month, day) = *seed::pick(rng, &PAST_THE_END);
        let year = rng.i64(1971..9999);
        // 29 February of a common year: the year after a leap year is one.
        let year = if year % 4 == 0 { year + 1 } else { year };
        let leap_day = Civil::new(century, 2, 29, time_of_day(rng));
        let past_the_end = Civil::new(year, month, day, time_of_day(rng));
        for date in [leap_day, past_the_end] {
            let now = date.at() - rng.i64(3_600..28 * 86_400);
            cases.push(Case {
                input: date.format(form, date.weekday()),
                now,
                fraction: Duration::ZERO,
                expect: Expect::is(None),
                group: Group::Dates,
            });
        }
    }
    cases
}

/// RFC 850 dates a few days inside and a few days past 50 calendar years after a "now" in the
/// first half of its century (where this century's year and the nearest are the same), each
/// run: a reader that compares years alone, or moves back a year exactly 50 ahead, or counts
/// 50 × 365 days (11 to 13 short), reads one of them in the wrong century. From 2100 on: the
/// date past the boundary is read 50 years back, and before 1970 a reader may refuse any date,
/// which a reader that checks the weekday does for the wrong century's (seed 255077783 drew
/// 2016, and a reader comparing years alone passed).
fn fifty_years_on(rng: &mut Rng) -> Vec<Case> {
    let year = rng.i64(21..99) * 100 + rng.i64(0..50);
    // From March to October, so that both dates fall in the year 50 years on.
    let today = Civil::new(year, rng.u32(3..11), rng.u32(1..29), time_of_day(rng));
    let boundary = Civil { year: year + 50, ..today }.at();
    let inside = boundary - rng.i64(3..11) * 86_400 - rng.i64(0..86_400);
    let past = boundary + rng.i64(3..31) * 86_400 + rng.i64(0..86_400);
    [inside, past]
        .into_iter()
        .map(|at| {
            let now = (today.at(), fraction(rng));
            date_case(rng, now, Civil::of(at), DateForm::Rfc850)
        })
        .collect()
}

fn whitespace(rng: &mut Rng) -> &'static str {
    const AROUND: [&str; 6] = ["", "", "", " ", "\t", " \t"];
    AROUND[rng.usize(..AROUND.len())]
}

/// A number of seconds of some magnitude, maybe with leading zeros and whitespace around.
fn seconds(rng: &mut Rng) -> Case {
    let value = match rng.u8(..4) {
        0 => rng.u64(0..10),
        1 => rng.u64(10..100_000),
        2 => rng.u64(100_000..10_000_000_000),
        _ => rng.u64(10_000_000_000..=u64::MAX),
    };
    let zeros = "0".repeat(rng.usize(0..3));
    let input = format!("{}{zeros}{value}{}", whitespace(rng), whitespace(rng));
    let (fraction, expect) = (Duration::ZERO, Expect::seconds(value));
    Case { input, now: TABLE_NOW, fraction, expect, group: Group::Seconds }
}

/// Seconds with something no delay-seconds may have: a sign, a fraction, a unit, an exponent…
fn mangled_seconds(rng: &mut Rng) -> Case {
    let value = rng.u64(1..100_000);
    let input = match rng.u8(..10) {
        0 => format!("+{value}"),
        1 => format!("-{value}"),
        2 => format!("{value}.{}", rng.u8(0..10)),
        3 => format!("{value}{}", *seed::pick(rng, &["s", "sec", " seconds", "ms", "m"])),
        4 => format!("{}e{}", rng.u8(1..10), rng.u8(1..5)),
        5 => format!("0x{value:x}"),
        6 => format!("{value}, {}", rng.u64(1..1000)),
        7 => format!("{} {}", value / 10, value % 10),
        8 => value
            .to_string()
            .chars()
            .map(|digit| char::from_u32(u32::from(digit) + 0xFF10 - 0x30).unwrap_or(digit))
            .collect(),
        _ => with_foreign_letter(rng, &value.to_string()),
    };
    let (fraction, expect) = (Duration::ZERO, Expect::is(None));
    Case { input, now: TABLE_NOW, fraction, expect, group: Group::Invalid }
}

/// What an IMF-fixdate's `GMT` becomes in a date of another zone: each is no HTTP-date, every run
/// (a numeric offset read as GMT, or dropped, was drawn once in three runs before).
const OTHER_ZONES: [&str; 4] = [" PST", " +0100", " -0500", ""];

/// An IMF-fixdate whose `GMT` is `zone`: no value.
fn in_another_zone(rng: &mut Rng, zone: &str) -> Case {
    let (now, date) = scene(rng);
    let imf = date.format(DateForm::ImfFixdate, date.weekday());
    let input = imf.replacen(" GMT", zone, 1);
    Case { input, now, fraction: fraction(rng), expect: Expect::is(None), group: Group::Invalid }
}

/// A date broken beyond reading (a field lost, out of range, another zone, a foreign letter), or
/// bent in ways a lenient reader may forgive (case, a wrong weekday).
fn mangled_date(rng: &mut Rng) -> Case {
    let (now, date) = scene(rng);
    let fraction = fraction(rng);
    let weekday = date.weekday();
    let imf = date.format(DateForm::ImfFixdate, weekday);
    let forgiven = |input: String| {
        let mut readings = read_at(date, (now, fraction), DateForm::ImfFixdate, weekday);
        readings.push(None);
        (input, Expect::OneOf(readings))
    };
    let (input, expect) = match rng.u8(..8) {
        0 => forgiven(imf.to_lowercase()),
        1 => forgiven(imf.to_uppercase()),
        2 => forgiven(date.format(DateForm::ImfFixdate, (weekday + 3) % 7)),
        3 => {
            let zone = OTHER_ZONES[rng.usize(..OTHER_ZONES.len())];
            (imf.replacen(" GMT", zone, 1), Expect::is(None))
        }
        // "Sun, 06 Nov 1994 08:49:37 GMT": the hour is bytes 17 and 18.
        4 => (
            format!("{}{}{}", &imf[..17], *seed::pick(rng, &["24", "25", "99"]), &imf[19..]),
            Expect::is(None),
        ),
        5 => {
            // Drop the day, the month, the year or the time.
            let mut fields: Vec<&str> = imf.split(' ').collect();
            fields.remove(rng.usize(1..5));
            (fields.join(" "), Expect::is(None))
        }
        6 => (format!("{imf} {}", *seed::pick(rng, &["1994", "x", "GMT"])), Expect::is(None)),
        _ => (with_foreign_letter(rng, &imf), Expect::is(None)),
    };
    Case { input, now, fraction, expect, group: Group::Invalid }
}

/// `text` with one character replaced by a letter outside ASCII, away from the edges (where a
/// reader that trims Unicode whitespace would be judged on something else entirely).
fn with_foreign_letter(rng: &mut Rng, text: &str) -> String {
    let count = text.chars().count();
    if count < 3 {
        return format!("{text}é1");
    }
    let at = rng.usize(1..count - 1);
    with_foreign_letter_at(rng, text, at)
}

/// `text` with its character at `at` replaced by a letter outside ASCII, of two to four bytes.
fn with_foreign_letter_at(rng: &mut Rng, text: &str, at: usize) -> String {
    let foreign = *seed::pick(rng, &['é', 'ß', '٣', '€', 'ı']);
    text.chars().enumerate().map(|(index, char)| if index == at { foreign } else { char }).collect()
}

/// `text` (ASCII) with its characters at `at` and the next replaced by one letter of two bytes.
fn with_two_byte_letter_at(rng: &mut Rng, text: &str, at: usize) -> String {
    let foreign = *seed::pick(rng, &['é', 'ß', 'ı', 'ñ']);
    format!("{}{foreign}{}", &text[..at], &text[at + 2..])
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    /// The expected waits come from the judge's own calendar: where httpdate can read a date
    /// (from 1970, and RFC 850 within its fixed window), it must agree.
    #[test]
    fn httpdate_agrees_with_every_date_it_can_read_and_rejects_every_invalid_value() {
        for seed in 0..20 {
            for case in all(&mut seed::rng(seed)) {
                let parsed = httpdate::parse_http_date(case.input.trim_matches([' ', '\t']));
                let read = parsed.ok().map(|at| {
                    let now = UNIX_EPOCH + Duration::from_secs(case.now.unsigned_abs());
                    let now = now + case.fraction;
                    at.duration_since(now).unwrap_or(Duration::ZERO)
                });
                match (case.group, &case.expect) {
                    (Group::Invalid, Expect::OneOf(wanted)) if wanted == &[None] => {
                        assert_eq!(read, None, "{case:?}");
                    }
                    (Group::Dates, _) if read.is_some() && !case.input.contains('-') => {
                        assert!(case.expect.accepts(read), "{case:?} read as {read:?}");
                    }
                    _ => {}
                }
            }
        }
    }
}
