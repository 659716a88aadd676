//! What a recipient may make of an HTTP-date written at some "now": the wait until it, or
//! none; and, for RFC 850's two-digit years, which years it may read.

use std::time::Duration;

use crate::judge::http_date::{Civil, DateForm};

/// How far either side of RFC 850's 50-year boundary a reading may fall: 50 mean Gregorian
/// years and 50 calendar years part by a day or so, and 29 February has no twin 50 years on.
const BOUNDARY_SLACK: i64 = 2 * 86_400;

/// What a recipient may read `date` as at `now` and `fraction` of a second, written in `form`
/// under `weekday`: the wait until it (zero once past), or no wait at all where the date does
/// not exist, or where it may refuse one (a weekday that does not match, a year before 1970,
/// which many date libraries cannot hold: long past, either way).
pub(super) fn read_at(
    date: Civil,
    (now, fraction): (i64, Duration),
    form: DateForm,
    weekday: usize,
) -> Vec<Option<Duration>> {
    let years = if form == DateForm::Rfc850 { rfc850_years(now, date) } else { vec![date.year] };
    let mut readings = Vec::new();
    for year in years {
        let date = Civil { year, ..date };
        if !date.exists() {
            readings.push(None);
            continue;
        }
        readings.push(Some(wait_until(date.at(), (now, fraction))));
        if date.weekday() != weekday || year < 1970 {
            readings.push(None);
        }
    }
    readings.sort();
    readings.dedup();
    readings
}

/// The wait from `now` and `fraction` of a second until `then`: zero once it has passed.
pub(super) fn wait_until(then: i64, (now, fraction): (i64, Duration)) -> Duration {
    match u64::try_from(then - now) {
        Ok(seconds @ 1..) => Duration::from_secs(seconds) - fraction,
        _ => Duration::ZERO,
    }
}

/// The years RFC 850's two-digit year of `date` may be read as at `now`. RFC 9110 §5.6.7 moves
/// a timestamp that "appears to be more than 50 years in the future" back to the last past year
/// with those digits: more than 50 calendar years after `now`, to the second. It leaves open
/// what a year appears to be (this century's, or the nearest with those digits): both readings
/// are accepted, and either way of counting 50 years within [`BOUNDARY_SLACK`] of the boundary.
pub(super) fn rfc850_years(now: i64, date: Civil) -> Vec<i64> {
    let today = Civil::of(now);
    let fifty_years_on = Civil { year: today.year + 50, ..today }.at();
    let this_century = today.year - today.year.rem_euclid(100) + date.year.rem_euclid(100);
    // How far past the boundary `date` lies when read in `year`.
    let beyond = |year: i64| Civil { year, ..date }.at() - fifty_years_on;
    let mut years = Vec::new();
    if beyond(this_century) <= BOUNDARY_SLACK {
        years.push(this_century);
    }
    if beyond(this_century) > -BOUNDARY_SLACK {
        years.push(this_century - 100);
    }
    // The nearest reading: the latest year with those digits not beyond the boundary.
    let nearest = [this_century - 100, this_century, this_century + 100]
        .into_iter()
        .filter(|year| beyond(*year) <= BOUNDARY_SLACK && beyond(year + 100) > -BOUNDARY_SLACK);
    years.extend(nearest);
    years.sort_unstable();
    years.dedup();
    years
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_850_years_follow_the_50_year_rule_and_accept_each_reading_of_it() {
        let now = Civil::new(2025, 6, 1, (0, 0, 0)).at();
        let year = |yy| Civil::new(yy, 1, 1, (0, 0, 0));
        assert_eq!(rfc850_years(now, year(70)), [2070], "45 years ahead");
        assert_eq!(rfc850_years(now, year(99)), [1999], "74 years ahead: the century before");
        assert_eq!(rfc850_years(now, year(76)), [1976], "50 years and 7 months ahead");
        let day = |yy, month, day| Civil::new(yy, month, day, (0, 0, 0));
        assert_eq!(rfc850_years(now, day(75, 5, 28)), [2075], "4 days inside the boundary");
        assert_eq!(rfc850_years(now, day(75, 6, 5)), [1975], "4 days past it");
        assert_eq!(rfc850_years(now, day(75, 6, 2)), [1975, 2075], "a day past it");
        let now = Civil::new(2090, 1, 1, (0, 0, 0)).at();
        assert_eq!(rfc850_years(now, year(30)), [2030, 2130], "this century, or the nearest");
    }
}
