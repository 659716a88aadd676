//! The parser table: `Retry-After` values with what `parse_retry_after` must make of them,
//! at a fixed `now` thirty seconds before the RFC's own example date.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:07 GMT`: whole seconds, so every answer is exact.
pub(super) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777 - 30)
}

/// Which check a case belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Seconds,
    Dates,
    Invalid,
}

#[derive(Debug)]
pub(super) struct Case {
    pub(super) input: &'static str,
    pub(super) expected: Option<Duration>,
    pub(super) group: Group,
}

const fn secs(input: &'static str, seconds: u64) -> Case {
    Case { input, expected: Some(Duration::from_secs(seconds)), group: Group::Seconds }
}

const fn date(input: &'static str, seconds: u64) -> Case {
    Case { input, expected: Some(Duration::from_secs(seconds)), group: Group::Dates }
}

const fn invalid(input: &'static str) -> Case {
    Case { input, expected: None, group: Group::Invalid }
}

pub(super) const CASES: &[Case] = &[
    secs("120", 120),
    secs("0", 0),
    secs("007", 7),
    secs(" 30", 30),
    secs("30  ", 30),
    secs("\t5\t", 5),
    secs("86400", 86_400),
    secs("18446744073709551615", u64::MAX),
    date("Sun, 06 Nov 1994 08:49:37 GMT", 30),
    date("Sunday, 06-Nov-94 08:49:37 GMT", 30),
    date("Sun Nov  6 08:49:37 1994", 30),
    date("Mon, 07 Nov 1994 08:49:07 GMT", 86_400),
    date("  Sun, 06 Nov 1994 08:49:37 GMT ", 30),
    date("Sun, 06 Nov 1994 08:49:07 GMT", 0),
    date("Sun, 06 Nov 1994 08:48:07 GMT", 0),
    date("Saturday, 05-Nov-94 08:49:37 GMT", 0),
    date("Sat Nov  5 08:49:37 1994", 0),
    invalid("-1"),
    invalid("+5"),
    invalid("1.5"),
    invalid(""),
    invalid("   "),
    invalid("soon"),
    invalid("120, 60"),
    invalid("30s"),
    invalid("0x1E"),
    invalid("1e3"),
    invalid("1 20"),
    invalid("١٢٠"),
    invalid("18446744073709551616"),
    invalid("sun, 06 nov 1994 08:49:37 gmt"),
    invalid("Sun, 06 Nov 1994 08:49:37 UTC"),
    invalid("Sun, 06 Nov 1994 08:49:37"),
    invalid("1994-11-06T08:49:37Z"),
    invalid("Sun, 06 Nov 1994 25:49:37 GMT"),
];
