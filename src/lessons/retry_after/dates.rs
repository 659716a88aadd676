//! HTTP-dates in the three forms RFC 9110 §5.6.7 has recipients accept, written for any moment.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateForm {
    /// `Sun, 06 Nov 1994 08:49:37 GMT`: the one senders must use.
    ImfFixdate,
    /// `Sunday, 06-Nov-94 08:49:37 GMT`: obsolete, with a two-digit year.
    Rfc850,
    /// `Sun Nov  6 08:49:37 1994`: obsolete, C's asctime.
    Asctime,
}

impl DateForm {
    pub(super) const ALL: [DateForm; 3] =
        [DateForm::ImfFixdate, DateForm::Rfc850, DateForm::Asctime];

    pub(super) fn name(self) -> &'static str {
        match self {
            DateForm::ImfFixdate => "IMF-fixdate",
            DateForm::Rfc850 => "RFC 850",
            DateForm::Asctime => "asctime",
        }
    }
}

/// `at` (whole seconds) in `form`, by rearranging its IMF-fixdate.
pub(super) fn format(form: DateForm, at: SystemTime) -> String {
    let imf = httpdate::fmt_http_date(at);
    let parts: Vec<&str> = imf.split([' ', ',']).filter(|part| !part.is_empty()).collect();
    let [weekday, day, month, year, time, _zone] = parts[..] else {
        unreachable!("httpdate writes six fields: {imf}")
    };
    match form {
        DateForm::ImfFixdate => imf.clone(),
        DateForm::Rfc850 => {
            format!("{}, {day}-{month}-{} {time} GMT", full_weekday(weekday), &year[2..])
        }
        DateForm::Asctime => {
            format!("{weekday} {month} {:>2} {time} {year}", day.trim_start_matches('0'))
        }
    }
}

/// Whether `value` is an IMF-fixdate, the only form a sender may generate.
pub(super) fn is_imf_fixdate(value: &str) -> bool {
    httpdate::parse_http_date(value).is_ok_and(|at| httpdate::fmt_http_date(at) == value)
}

pub(super) fn seconds(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn full_weekday(short: &str) -> &'static str {
    const DAYS: [&str; 7] =
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    DAYS.iter().find(|day| day.starts_with(short)).copied().unwrap_or("Sunday")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_three_forms_of_one_moment() {
        let at = seconds(784_111_777);
        assert_eq!(format(DateForm::ImfFixdate, at), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format(DateForm::Rfc850, at), "Sunday, 06-Nov-94 08:49:37 GMT");
        assert_eq!(format(DateForm::Asctime, at), "Sun Nov  6 08:49:37 1994");
        assert!(is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert!(!is_imf_fixdate("Sun Nov  6 08:49:37 1994"));
    }
}
