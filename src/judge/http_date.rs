//! HTTP-dates (RFC 9110 §5.6.7) in the three forms a recipient must accept, written for any
//! moment of years 1 to 9999 in the proleptic Gregorian calendar, as HTTP counts: [`Civil`], a
//! day of the calendar (one that does not exist, such as 29 February 2100, included, for the
//! checks that a reader refuses it) and a time of that day. For judges that test a reader of
//! `Retry-After`, `Date` or `Expires` across the whole range, not only around today.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: i64 = 86_400;
const WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateForm {
    /// `Sun, 06 Nov 1994 08:49:37 GMT`: the one senders must use.
    ImfFixdate,
    /// `Sunday, 06-Nov-94 08:49:37 GMT`: obsolete, with a two-digit year.
    Rfc850,
    /// `Sun Nov  6 08:49:37 1994`: obsolete, C's asctime.
    Asctime,
}

impl DateForm {
    pub const ALL: [DateForm; 3] = [DateForm::ImfFixdate, DateForm::Rfc850, DateForm::Asctime];
}

/// A day of the calendar, which may not exist (29 February 2100), and a time of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    /// Seconds into the day.
    pub time: i64,
}

impl Civil {
    pub fn new(year: i64, month: u32, day: u32, hms: (i64, i64, i64)) -> Self {
        Self { year, month, day, time: hms.0 * 3600 + hms.1 * 60 + hms.2 }
    }

    /// The moment `at` (seconds since 1970, before it too).
    pub fn of(at: i64) -> Self {
        // Howard Hinnant's civil_from_days: years counted from March put the leap day last.
        let days = at.div_euclid(DAY) + 719_468;
        let era = days.div_euclid(146_097);
        let of_era = days - era * 146_097;
        let year_of_era = (of_era - of_era / 1460 + of_era / 36_524 - of_era / 146_096) / 365;
        let of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * of_year + 2) / 153;
        let day = (of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
        let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self { year, month: month as u32, day, time: at.rem_euclid(DAY) }
    }

    /// The present moment, to the second.
    pub fn now() -> Self {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Self::of(i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
    }

    /// Seconds since 1970 (a day that does not exist counts as the next one).
    pub fn at(&self) -> i64 {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_from_march = (i64::from(self.month) + 9) % 12;
        let of_year = (153 * month_from_march + 2) / 5 + i64::from(self.day) - 1;
        let of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + of_year;
        (era * 146_097 + of_era - 719_468) * DAY + self.time
    }

    pub fn exists(&self) -> bool {
        let leap = self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0);
        let days = match self.month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (1..=9999).contains(&self.year) && (1..=days).contains(&self.day)
    }

    /// 0 for Monday (1970-01-01 was a Thursday).
    pub fn weekday(&self) -> usize {
        (self.at().div_euclid(DAY) + 3).rem_euclid(7) as usize
    }

    /// This date in `form`, under `weekday` (its own, or a wrong one on purpose).
    pub fn format(&self, form: DateForm, weekday: usize) -> String {
        let (long, month) = (WEEKDAYS[weekday], MONTHS[self.month as usize - 1]);
        let (day, year, short) = (self.day, self.year, &long[..3]);
        let time =
            format!("{:02}:{:02}:{:02}", self.time / 3600, self.time / 60 % 60, self.time % 60);
        match form {
            DateForm::ImfFixdate => format!("{short}, {day:02} {month} {year:04} {time} GMT"),
            DateForm::Rfc850 => format!("{long}, {day:02}-{month}-{:02} {time} GMT", year % 100),
            DateForm::Asctime => format!("{short} {month} {day:>2} {time} {year:04}"),
        }
    }
}

/// `time`, to the second, as an HTTP-date in `form`.
pub fn format_time(time: SystemTime, form: DateForm) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let civil = Civil::of(i64::try_from(seconds).unwrap_or(i64::MAX));
    civil.format(form, civil.weekday())
}

/// The first whole second at or after `time`: an HTTP-date has no fraction.
pub fn whole_second_after(time: SystemTime) -> SystemTime {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The wall-clock time of an instant of this run (close enough: within the clocks' grain).
pub fn system_time(at: std::time::Instant) -> SystemTime {
    let (now, system_now) = (std::time::Instant::now(), SystemTime::now());
    match now.checked_duration_since(at) {
        Some(ago) => system_now - ago,
        None => system_now + at.duration_since(now),
    }
}

/// Whether `value` is an IMF-fixdate, the only form a sender may generate.
pub fn is_imf_fixdate(value: &str) -> bool {
    httpdate::parse_http_date(value).is_ok_and(|at| httpdate::fmt_http_date(at) == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_agrees_with_httpdate_and_knows_its_leap_years() {
        for at in [0, 784_111_777, 951_782_400, 4_107_542_400, 253_402_300_799] {
            let date = Civil::of(at);
            assert_eq!(date.at(), at);
            let imf = date.format(DateForm::ImfFixdate, date.weekday());
            assert_eq!(
                imf,
                httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(at as u64))
            );
        }
        let day = |year, month, day| Civil::new(year, month, day, (0, 0, 0));
        assert!(day(2000, 2, 29).exists() && day(2400, 2, 29).exists());
        assert!(!day(1900, 2, 29).exists() && !day(2100, 2, 29).exists());
        assert_eq!(day(1900, 3, 1).at() - day(1900, 2, 28).at(), DAY);
        assert_eq!(Civil::of(day(1969, 12, 31).at()), day(1969, 12, 31));
        let nov_6 = Civil::new(1994, 11, 6, (8, 49, 37));
        assert_eq!(nov_6.format(DateForm::Rfc850, 6), "Sunday, 06-Nov-94 08:49:37 GMT");
        assert_eq!(nov_6.format(DateForm::Asctime, 6), "Sun Nov  6 08:49:37 1994");
    }
}
