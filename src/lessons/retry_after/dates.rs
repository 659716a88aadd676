//! What a recipient may make of an HTTP-date written at some "now": the wait until it, or
//! none; and, for RFC 850's two-digit years, which years it may read.

use std::time::Duration;

use crate::judge::http_date::{Civil, DateForm};

/// The mean Gregorian year, in seconds.
const YEAR: f64 = 31_556_952.0;

/// What a recipient may read `date` as at `now`, written in `form` under `weekday`: the wait
/// until it (zero once past), or no wait at all where the date does not exist, or where it may
/// refuse one (a weekday that does not match, a year before 1970, which many date libraries
/// cannot hold: long past, either way).
pub(super) fn read_at(
    date: Civil,
    now: i64,
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
        readings.push(Some(Duration::from_secs((date.at() - now).max(0).unsigned_abs())));
        if date.weekday() != weekday || year < 1970 {
            readings.push(None);
        }
    }
    readings.sort();
    readings.dedup();
    readings
}

/// The years RFC 850's two-digit year of `date` may be read as at `now`. RFC 9110 §5.6.7 moves
/// a year that "appears to be more than 50 years in the future" back to the last past year with
/// those digits. It leaves open what a year appears to be (this century's, or the nearest with
/// those digits) and whether a day or a year decides the boundary: every such reading is
/// accepted, within two years of slack around the boundary. Only fixed windows are not.
pub(super) fn rfc850_years(now: i64, date: Civil) -> Vec<i64> {
    let now_year = Civil::of(now).year;
    let this_century = now_year - now_year.rem_euclid(100) + date.year.rem_euclid(100);
    let ahead = |year: i64| (Civil { year, ..date }.at() - now) as f64 / YEAR;
    let mut years = Vec::new();
    if ahead(this_century) <= 52.0 {
        years.push(this_century);
    }
    if ahead(this_century) > 48.0 {
        years.push(this_century - 100);
    }
    years.extend(
        [this_century - 100, this_century + 100].iter().filter(|y| ahead(**y).abs() <= 52.0),
    );
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
        assert_eq!(rfc850_years(now, year(76)), [1976, 2076], "on the boundary");
        let now = Civil::new(2090, 1, 1, (0, 0, 0)).at();
        assert_eq!(rfc850_years(now, year(30)), [2030, 2130], "this century, or the nearest");
    }
}
