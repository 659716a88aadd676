//! [`Expect`]: what a check accepts as a wait read from a `Retry-After` value. Some values have
//! one right answer; where RFC 9110 lets a recipient be lenient (a lower-case `gmt`), either
//! answer is right; a number too large for any clock means the longest wait there is.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expect {
    Is(Option<Duration>),
    /// Any of these.
    OneOf(Vec<Option<Duration>>),
    /// A wait at least this long (saturated arithmetic).
    AtLeast(Duration),
    /// A wait up to two seconds short of this (a date read a moment after it was written).
    About(Duration),
}

/// How much a wait measured against the clock may fall short.
const CLOCK_SLACK: Duration = Duration::from_secs(2);

impl Expect {
    pub(super) fn seconds(seconds: u64) -> Self {
        Expect::Is(Some(Duration::from_secs(seconds)))
    }

    /// Right either way: the value itself, or "no readable hint".
    pub(super) fn lenient(seconds: u64) -> Self {
        Expect::OneOf(vec![Some(Duration::from_secs(seconds)), None])
    }

    pub(super) fn accepts(&self, got: Option<Duration>) -> bool {
        match self {
            Expect::Is(wanted) => got == *wanted,
            Expect::OneOf(wanted) => wanted.contains(&got),
            Expect::AtLeast(least) => got.is_some_and(|got| got >= *least),
            Expect::About(wanted) => {
                got.is_some_and(|got| got <= *wanted && got + CLOCK_SLACK >= *wanted)
            }
        }
    }

    pub(super) fn shown(&self) -> String {
        match self {
            Expect::Is(wanted) => shown(*wanted),
            Expect::OneOf(wanted) => {
                wanted.iter().map(|wanted| shown(*wanted)).collect::<Vec<_>>().join(" or ")
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
