//! The fixed parser table: `Retry-After` values a reader of the lesson will recognise, with
//! what `parse_retry_after` must make of them at a fixed `now`, thirty seconds before the RFC's
//! own example date. It teaches; the generated inputs (`generated.rs`) make sure it is not all
//! that is learned.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::expect::Expect;

/// `Sun, 06 Nov 1994 08:49:07 GMT`: whole seconds, so every answer is exact.
pub(super) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777 - 30)
}

/// How `now` is shown above the table.
pub(super) const NOW_SHOWN: &str = "Sun, 06 Nov 1994 08:49:07 GMT";

/// Which check a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Seconds,
    Dates,
    Invalid,
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) input: String,
    /// The moment `parse_retry_after` is told it is.
    pub(super) now: SystemTime,
    pub(super) expect: Expect,
    pub(super) group: Group,
}

impl Case {
    /// A case of the fixed table, read at its fixed [`now`].
    pub(super) fn new(input: impl Into<String>, expect: Expect, group: Group) -> Self {
        Self { input: input.into(), now: now(), expect, group }
    }
}

pub(super) fn cases() -> Vec<Case> {
    let secs = |input: &str, seconds| Case::new(input, Expect::seconds(seconds), Group::Seconds);
    let date = |input: &str, seconds| Case::new(input, Expect::seconds(seconds), Group::Dates);
    let lenient = |input: &str, seconds| Case::new(input, Expect::lenient(seconds), Group::Dates);
    let invalid = |input: &str| Case::new(input, Expect::Is(None), Group::Invalid);
    vec![
        secs("120", 120),
        secs("0", 0),
        secs("007", 7),
        secs(" 30", 30),
        secs("30  ", 30),
        secs("\t5\t", 5),
        secs("86400", 86_400),
        secs("18446744073709551615", u64::MAX),
        Case::new(
            "18446744073709551616",
            Expect::AtLeast(Duration::from_secs(u64::MAX)),
            Group::Seconds,
        ),
        date("Sun, 06 Nov 1994 08:49:37 GMT", 30),
        date("Sunday, 06-Nov-94 08:49:37 GMT", 30),
        date("Sun Nov  6 08:49:37 1994", 30),
        date("Mon, 07 Nov 1994 08:49:07 GMT", 86_400),
        date("  Sun, 06 Nov 1994 08:49:37 GMT ", 30),
        date("Sun, 06 Nov 1994 08:49:07 GMT", 0),
        date("Sun, 06 Nov 1994 08:48:07 GMT", 0),
        date("Saturday, 05-Nov-94 08:49:37 GMT", 0),
        date("Sat Nov  5 08:49:37 1994", 0),
        lenient("sun, 06 nov 1994 08:49:37 gmt", 30),
        lenient("Sun, 06 NOV 1994 08:49:37 GMT", 30),
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
        invalid("Sun, 06 Nov 1994 08:49:37 PST"),
        invalid("Sun, 06 Nov 1994 08:49:37"),
        invalid("1994-11-06T08:49:37Z"),
        invalid("Sun, 06 Nov 1994 25:49:37 GMT"),
    ]
}
