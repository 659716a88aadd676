//! Lesson 2's checks against its solution and known-wrong answers.
//!
//! Each wrong answer is the reference solution with one mistake swapped in, so a check that
//! fails can only be reacting to that mistake.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use httplings::Recorder;
use httplings::fixtures::Database;
use httplings::lessons::retry_after::{CHECKS, Exercise, run};
use httplings::protocol::{Evidence, Outcome, Verdict};
use serde_json::json;

use crate::support::failed;

#[path = "../../solutions/02_retry_after.rs"]
mod solution;

#[path = "../../exercises/.starters/02_retry_after.rs"]
mod starter;

const DOWN_503: &str = CHECKS[0];
const RETRY_HEADER: &str = CHECKS[1];
const SECONDS: &str = CHECKS[3];
const DATES: &str = CHECKS[4];
const INVALID: &str = CHECKS[5];
const CLIENT: &str = CHECKS[6];

fn reference() -> Exercise {
    Exercise {
        app: solution::app,
        parse_retry_after: solution::parse_retry_after,
        retry_after: solution::retry_after,
    }
}

fn with_app(app: fn(Database) -> Router) -> Exercise {
    Exercise { app, ..reference() }
}

fn with_parser(parse_retry_after: fn(&str, SystemTime) -> Option<Duration>) -> Exercise {
    Exercise { parse_retry_after, ..reference() }
}

fn with_client(retry_after: fn(&reqwest::Response) -> Option<Duration>) -> Exercise {
    Exercise { retry_after, ..reference() }
}

async fn verdicts_for(exercise: Exercise) -> Vec<Verdict> {
    let mut recorder = Recorder::new();
    run(exercise, &mut recorder).await;
    recorder.verdicts().to_vec()
}

/// The first cell of every row `check` marked wrong: for the parser checks, the input as
/// `{:?}` shows it; for the client check, what the 503 carried.
fn wrong_rows<'a>(verdicts: &'a [Verdict], check: &str) -> Vec<&'a str> {
    let Some(verdict) = verdicts.iter().find(|verdict| verdict.check == check) else {
        return Vec::new();
    };
    let Outcome::Fail(failure) = &verdict.outcome else {
        return Vec::new();
    };
    failure
        .evidence
        .iter()
        .filter_map(|evidence| match evidence {
            Evidence::Table { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .filter(|row| !row.ok)
        .map(|row| row.cells[0].as_str())
        .collect()
}

/// Asserts that the parser check `check` marked the row for `input` wrong: the check caught
/// the mistake with the case written for it, not by accident.
fn assert_row_caught(verdicts: &[Verdict], check: &str, input: &str) {
    let shown = format!("{input:?}");
    let wrong = wrong_rows(verdicts, check);
    assert!(
        wrong.contains(&shown.as_str()),
        "{check:?} did not flag {shown}; it flagged {wrong:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_solution_passes_every_check() {
    let verdicts = verdicts_for(reference()).await;
    let names: Vec<_> = verdicts.iter().map(|verdict| verdict.check.as_str()).collect();
    assert_eq!(names, CHECKS);
    assert_eq!(failed(&verdicts), Vec::<&str>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails_everything_but_back_up() {
    let starter = Exercise {
        app: starter::app,
        parse_retry_after: starter::parse_retry_after,
        retry_after: starter::retry_after,
    };
    let verdicts = verdicts_for(starter).await;
    // Only BACK_UP passes: the starter already answers 200 and 404 while the database is up.
    assert_eq!(failed(&verdicts), [DOWN_503, RETRY_HEADER, SECONDS, DATES, INVALID, CLIENT]);
}

// ---- The server ----

/// The reference app, except that `down` answers every request while the database is down.
fn answering_down_with(db: Database, down: fn() -> Response) -> Router {
    let down_first = move |State(db): State<Database>, request: Request, next: Next| async move {
        if db.is_down() { down() } else { next.run(request).await }
    };
    solution::app(db.clone()).layer(middleware::from_fn_with_state(db, down_first))
}

fn unavailable_body() -> Json<serde_json::Value> {
    Json(json!({"error": {"code": "SERVICE_UNAVAILABLE", "message": "Try again later"}}))
}

// Mistake: the 503 never says when to come back.
fn app_without_retry_after(db: Database) -> Router {
    answering_down_with(db, || {
        (StatusCode::SERVICE_UNAVAILABLE, unavailable_body()).into_response()
    })
}

// Mistake: a unit on the delay, which the grammar does not allow.
fn app_with_retry_after_in_30s(db: Database) -> Router {
    answering_down_with(db, || {
        (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, "30s")], unavailable_body())
            .into_response()
    })
}

// Mistake: the outage is reported as lesson 1's generic 500, a bug rather than "come back later".
fn app_with_down_as_500(db: Database) -> Router {
    answering_down_with(db, || {
        let body =
            json!({"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}});
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_without_retry_after_fails_retry_header_only() {
    let verdicts = verdicts_for(with_app(app_without_retry_after)).await;
    assert_eq!(failed(&verdicts), [RETRY_HEADER]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_with_a_unit_fails_retry_header_only() {
    let verdicts = verdicts_for(with_app(app_with_retry_after_in_30s)).await;
    assert_eq!(failed(&verdicts), [RETRY_HEADER]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_while_down_fails_down_503() {
    let verdicts = verdicts_for(with_app(app_with_down_as_500)).await;
    // The 500 carries no Retry-After either, so RETRY_HEADER rightly fails with it.
    assert_eq!(failed(&verdicts), [DOWN_503, RETRY_HEADER]);
}

// ---- The parser ----

/// delay-seconds as the grammar has it: digits only, and no more than a u64 holds.
fn delay_seconds(value: &str) -> Option<Option<Duration>> {
    let is_digits = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    is_digits.then(|| value.parse().ok().map(Duration::from_secs))
}

// Mistake: delay-seconds only; every HTTP-date is unreadable.
fn parser_without_dates(value: &str, _now: SystemTime) -> Option<Duration> {
    delay_seconds(value.trim_matches([' ', '\t'])).flatten()
}

// Mistake: of the three date forms, only IMF-fixdate (read by hand, below), the one servers send.
fn parser_with_imf_fixdate_only(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if let Some(seconds) = delay_seconds(value) {
        return seconds;
    }
    Some(imf_fixdate(value)?.duration_since(now).unwrap_or(Duration::ZERO))
}

// Mistake: a negative delay is read as "retry now" instead of being rejected.
fn parser_clamping_negatives(value: &str, now: SystemTime) -> Option<Duration> {
    match value.trim_matches([' ', '\t']).parse::<i64>() {
        Ok(seconds) => Some(Duration::from_secs(u64::try_from(seconds).unwrap_or(0))),
        Err(_) => solution::parse_retry_after(value, now),
    }
}

// Mistake: fractional seconds are accepted and truncated.
fn parser_truncating_fractions(value: &str, now: SystemTime) -> Option<Duration> {
    match value.trim_matches([' ', '\t']).parse::<f64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds as u64)),
        Err(_) => solution::parse_retry_after(value, now),
    }
}

// Mistake: `u64::from_str` alone, which also takes a leading `+`.
fn parser_accepting_plus(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => Some(
            httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO),
        ),
    }
}

// Mistake: a date already past gives no wait at all, instead of "now".
fn parser_without_past_dates(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if let Some(seconds) = delay_seconds(value) {
        return seconds;
    }
    httpdate::parse_http_date(value).ok()?.duration_since(now).ok()
}

// Mistake: whitespace around the value is taken as part of it (dates are read by hand, below).
fn parser_without_trimming(value: &str, now: SystemTime) -> Option<Duration> {
    if let Some(seconds) = delay_seconds(value) {
        return seconds;
    }
    let at =
        imf_fixdate(value).or_else(|| rfc850_date(value, now)).or_else(|| asctime_date(value))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

// Mistake: the same, but `httpdate` trims a date itself, so only delay-seconds suffers.
fn parser_without_trimming_over_httpdate(value: &str, now: SystemTime) -> Option<Duration> {
    if let Some(seconds) = delay_seconds(value) {
        return seconds;
    }
    Some(httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_without_dates_fails_dates_only() {
    let verdicts = verdicts_for(with_parser(parser_without_dates)).await;
    assert_eq!(failed(&verdicts), [DATES]);
    assert_row_caught(&verdicts, DATES, "Sun, 06 Nov 1994 08:49:37 GMT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_with_imf_fixdate_only_fails_dates_only() {
    let verdicts = verdicts_for(with_parser(parser_with_imf_fixdate_only)).await;
    assert_eq!(failed(&verdicts), [DATES]);
    assert_row_caught(&verdicts, DATES, "Sunday, 06-Nov-94 08:49:37 GMT");
    assert_row_caught(&verdicts, DATES, "Sun Nov  6 08:49:37 1994");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_clamping_negatives_fails_invalid_only() {
    let verdicts = verdicts_for(with_parser(parser_clamping_negatives)).await;
    assert_eq!(failed(&verdicts), [INVALID]);
    assert_row_caught(&verdicts, INVALID, "-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_truncating_fractions_fails_invalid_only() {
    let verdicts = verdicts_for(with_parser(parser_truncating_fractions)).await;
    assert_eq!(failed(&verdicts), [INVALID]);
    assert_row_caught(&verdicts, INVALID, "1.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_accepting_plus_fails_invalid_only() {
    let verdicts = verdicts_for(with_parser(parser_accepting_plus)).await;
    assert_eq!(failed(&verdicts), [INVALID]);
    assert_row_caught(&verdicts, INVALID, "+5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_without_past_dates_fails_dates_only() {
    let verdicts = verdicts_for(with_parser(parser_without_past_dates)).await;
    assert_eq!(failed(&verdicts), [DATES]);
    assert_row_caught(&verdicts, DATES, "Sun, 06 Nov 1994 08:48:07 GMT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_without_trimming_fails_seconds_and_dates() {
    let verdicts = verdicts_for(with_parser(parser_without_trimming)).await;
    // Both tables hold a value with whitespace around it, so both checks rightly fail.
    assert_eq!(failed(&verdicts), [SECONDS, DATES]);
    assert_row_caught(&verdicts, SECONDS, "\t5\t");
    assert_row_caught(&verdicts, DATES, "  Sun, 06 Nov 1994 08:49:37 GMT ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_without_trimming_over_httpdate_fails_seconds_only() {
    let verdicts = verdicts_for(with_parser(parser_without_trimming_over_httpdate)).await;
    assert_eq!(failed(&verdicts), [SECONDS]);
    assert_row_caught(&verdicts, SECONDS, " 30");
}

// ---- The client ----

// Mistake: `to_str().unwrap()` on bytes from the network.
fn client_panicking_on_non_ascii(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().unwrap();
    solution::parse_retry_after(value, SystemTime::now())
}

// Mistake: no Retry-After read as "retry at once".
fn client_defaulting_to_zero(response: &reqwest::Response) -> Option<Duration> {
    let Some(value) = response.headers().get(RETRY_AFTER) else {
        return Some(Duration::ZERO);
    };
    solution::parse_retry_after(value.to_str().ok()?, SystemTime::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_panicking_on_non_ascii_fails_client_and_the_run_goes_on() {
    let verdicts = verdicts_for(with_client(client_panicking_on_non_ascii)).await;
    // The panic is caught per response: every check still reports, in order.
    let names: Vec<_> = verdicts.iter().map(|verdict| verdict.check.as_str()).collect();
    assert_eq!(names, CHECKS);
    assert_eq!(failed(&verdicts), [CLIENT]);
    assert_eq!(wrong_rows(&verdicts, CLIENT), ["Retry-After: 3\\xff0 (not ASCII)"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_defaulting_to_zero_fails_client() {
    let verdicts = verdicts_for(with_client(client_defaulting_to_zero)).await;
    assert_eq!(failed(&verdicts), [CLIENT]);
    assert_eq!(wrong_rows(&verdicts, CLIENT), ["no Retry-After at all"]);
}

// ---- A correct parser without the httpdate crate ----

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// RFC 9110 §10.2.3 by hand: proves the checks test behaviour, not the use of a crate.
fn hand_written_parser(value: &str, now: SystemTime) -> Option<Duration> {
    parser_without_trimming(value.trim_matches([' ', '\t']), now)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn imf_fixdate(value: &str) -> Option<SystemTime> {
    let (weekday, rest) = value.split_once(", ")?;
    let [day, month, year, time, "GMT"] = rest.split(' ').collect::<Vec<_>>()[..] else {
        return None;
    };
    let weekday = WEEKDAYS.iter().position(|name| *name == weekday)?;
    moment(weekday, number(year, 4)?, month, number(day, 2)?, time)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`
fn rfc850_date(value: &str, now: SystemTime) -> Option<SystemTime> {
    let (weekday, rest) = value.split_once(", ")?;
    let [date, time, "GMT"] = rest.split(' ').collect::<Vec<_>>()[..] else {
        return None;
    };
    let [day, month, year] = date.split('-').collect::<Vec<_>>()[..] else {
        return None;
    };
    let weekday = LONG_WEEKDAYS.iter().position(|name| *name == weekday)?;
    // §5.6.7: a two-digit year more than 50 years ahead belongs to the century before.
    // A year to the day is close enough here: the mean Gregorian year is 31,556,952 s.
    let since_epoch = now.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let latest = 1970 + i64::try_from(since_epoch / 31_556_952).ok()? + 50;
    let year = latest - (latest - number(year, 2)?).rem_euclid(100);
    moment(weekday, year, month, number(day, 2)?, time)
}

/// `Sun Nov  6 08:49:37 1994`: the day is two digits, or a space and one digit.
fn asctime_date(value: &str) -> Option<SystemTime> {
    let (weekday, rest) = value.split_once(' ')?;
    let (month, rest) = rest.split_once(' ')?;
    let (day, rest) = (rest.get(..2)?, rest.get(2..)?);
    let day = match day.strip_prefix(' ') {
        Some(digit) => number(digit, 1)?,
        None => number(day, 2)?,
    };
    let [time, year] = rest.strip_prefix(' ')?.split(' ').collect::<Vec<_>>()[..] else {
        return None;
    };
    let weekday = WEEKDAYS.iter().position(|name| *name == weekday)?;
    moment(weekday, number(year, 4)?, month, day, time)
}

/// Exactly `width` ASCII digits.
fn number(text: &str, width: usize) -> Option<i64> {
    let digits = text.len() == width && text.bytes().all(|byte| byte.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// A valid calendar date and `hh:mm:ss` on the weekday it names, as a point in time.
fn moment(weekday: usize, year: i64, month: &str, day: i64, time: &str) -> Option<SystemTime> {
    let month = MONTHS.iter().position(|name| *name == month)? as i64 + 1;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > month_days {
        return None;
    }
    let [hour, minute, second] = time.split(':').collect::<Vec<_>>()[..] else {
        return None;
    };
    let (hour, minute, second) = (number(hour, 2)?, number(minute, 2)?, number(second, 2)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // 1970-01-01 was a Thursday, index 3 of WEEKDAYS.
    if (days + 3).rem_euclid(7) != weekday as i64 {
        return None;
    }
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    let offset = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm):
/// counting years from March puts the leap day last, where it cannot shift the months.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn hand_written_client(response: &reqwest::Response) -> Option<Duration> {
    hand_written_parser(response.headers().get(RETRY_AFTER)?.to_str().ok()?, SystemTime::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_written_parser_passes_every_check() {
    // Through the client too: its dates are of today, not of the table's 1994.
    let exercise = Exercise {
        parse_retry_after: hand_written_parser,
        retry_after: hand_written_client,
        ..reference()
    };
    let verdicts = verdicts_for(exercise).await;
    assert_eq!(failed(&verdicts), Vec::<&str>::new());
}
