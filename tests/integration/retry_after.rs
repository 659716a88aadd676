//! Lesson 2's judge, run in process against its solution, its starter, right answers in other
//! styles, and known-wrong answers. Each wrong answer is the reference with one mistake
//! swapped in, so a check that fails can only be reacting to that mistake.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use httplings::fixtures::Database;
use httplings::lessons::retry_after::Exercise;
use httplings_judge::judge::{Evidence, Judged};
use httplings_judge::lessons::retry_after::{self, CHECKS};
use serde_json::json;

use crate::support::{assert_failed, report, seed};

#[path = "../../solutions/02_retry_after.rs"]
mod solution;

#[path = "../../exercises/.starters/02_retry_after.rs"]
mod starter;

const DOWN_503: &str = CHECKS[0];
const RETRY_HEADER: &str = CHECKS[1];
const BACK_UP: &str = CHECKS[2];
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

/// Judges `exercise`, asserts that exactly `expected` failed, and returns what was decided.
async fn judged_failing(exercise: Exercise, expected: &[&str]) -> (Judged, u64) {
    let seed = seed();
    let judged = retry_after::judge_in_process(exercise, seed).await;
    assert_failed(&judged, seed, CHECKS, expected);
    (judged, seed)
}

/// The first cell of every row `check` marked wrong: for the parser checks, the input as
/// `{:?}` shows it; for the client check, what the 503 carried.
fn wrong_rows<'a>(judged: &'a Judged, check: &str) -> Vec<&'a str> {
    let Some(failure) = judged.failure(check) else { return Vec::new() };
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

/// `check` marked the row for `input` wrong: the check caught the mistake with the case
/// written for it, not by accident.
#[track_caller]
fn assert_row_caught(judged: &Judged, seed: u64, check: &str, input: &str) {
    let shown = format!("{input:?}");
    let wrong = wrong_rows(judged, check);
    assert!(
        wrong.contains(&shown.as_str()),
        "{check:?} did not flag {shown}; it flagged {wrong:?}\n{}",
        report(judged, seed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_solution_passes_every_check() {
    judged_failing(reference(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails_everything_but_back_up() {
    let starter = Exercise {
        app: starter::app,
        parse_retry_after: starter::parse_retry_after,
        retry_after: starter::retry_after,
    };
    // Only BACK_UP passes: the starter already answers 200 and 404 while the database is up.
    judged_failing(starter, &[DOWN_503, RETRY_HEADER, SECONDS, DATES, INVALID, CLIENT]).await;
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
    Json(
        json!({"error": {"code": "SERVICE_UNAVAILABLE", "message": "Try again later", "retryable": true}}),
    )
}

fn unavailable(retry_after: &'static [&'static str]) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, unavailable_body()).into_response();
    for value in retry_after {
        response.headers_mut().append(RETRY_AFTER, HeaderValue::from_static(value));
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unreadable_or_unwise_retry_after_fails_retry_header_only() {
    let apps: [fn(Database) -> Router; 5] = [
        |db| answering_down_with(db, || unavailable(&[])),
        |db| answering_down_with(db, || unavailable(&["30s"])),
        |db| answering_down_with(db, || unavailable(&["0"])),
        |db| answering_down_with(db, || unavailable(&["30", "60"])),
        |db| answering_down_with(db, || unavailable(&["Sunday, 06-Nov-94 08:49:37 GMT"])),
    ];
    for app in apps {
        judged_failing(with_app(app), &[RETRY_HEADER]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_in_the_past_fails_and_one_in_the_future_passes() {
    fn dated(ahead: bool) -> Response {
        let at = if ahead {
            SystemTime::now() + Duration::from_secs(30)
        } else {
            SystemTime::now() - Duration::from_secs(30)
        };
        let mut response = unavailable(&[]);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap());
        response
    }
    judged_failing(with_app(|db| answering_down_with(db, || dated(false))), &[RETRY_HEADER]).await;
    judged_failing(with_app(|db| answering_down_with(db, || dated(true))), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9457_problem_details_pass() {
    fn problem() -> Response {
        let body = json!({"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "The order database is down"});
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(RETRY_AFTER, "20"), (CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
    judged_failing(with_app(|db| answering_down_with(db, problem)), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_or_a_text_503_while_down_fails_down_503() {
    fn as_500() -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, [(RETRY_AFTER, "30")], unavailable_body())
            .into_response()
    }
    fn as_text() -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, "30")], "come back later").into_response()
    }
    judged_failing(with_app(|db| answering_down_with(db, as_500)), &[DOWN_503]).await;
    judged_failing(with_app(|db| answering_down_with(db, as_text)), &[DOWN_503]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_remembers_the_outage_or_changes_its_type_fails_back_up() {
    fn remembers(db: Database) -> Router {
        let seen_down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sticky = move |State(db): State<Database>, request: Request, next: Next| {
            let seen_down = seen_down.clone();
            async move {
                if db.is_down() {
                    seen_down.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                if seen_down.load(std::sync::atomic::Ordering::SeqCst) {
                    unavailable(&["30"])
                } else {
                    next.run(request).await
                }
            }
        };
        solution::app(db.clone()).layer(middleware::from_fn_with_state(db, sticky))
    }
    fn as_text(db: Database) -> Router {
        let retype = |request: Request, next: Next| async move {
            let mut response = next.run(request).await;
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
        };
        answering_down_with(db, || unavailable(&["30"])).layer(middleware::from_fn(retype))
    }
    judged_failing(with_app(remembers), &[BACK_UP]).await;
    // The 503 is text/plain too, so DOWN_503 fails with it.
    judged_failing(with_app(as_text), &[DOWN_503, BACK_UP]).await;
}

// ---- The parser ----

/// delay-seconds as the grammar has it: digits only; more than a u64 holds is the longest wait.
fn delay_seconds(value: &str) -> Option<Option<Duration>> {
    let is_digits = !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit());
    is_digits.then(|| Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX))))
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
    let trimmed = value.trim_matches([' ', '\t']);
    match trimmed.parse::<f64>() {
        Ok(seconds) if trimmed.contains('.') => Some(Duration::from_secs(seconds as u64)),
        _ => solution::parse_retry_after(value, now),
    }
}

// Mistake: what `u64::from_str` takes, which includes a leading `+`.
fn parser_accepting_plus(value: &str, now: SystemTime) -> Option<Duration> {
    match value.trim_matches([' ', '\t']).strip_prefix('+') {
        Some(digits) => delay_seconds(digits).flatten(),
        None => solution::parse_retry_after(value, now),
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

// Mistake: digits too many for a u64 read as "no hint", which would mean "retry now".
fn parser_without_saturation(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    solution::parse_retry_after(value, now)
}

// Mistake: slices the value by bytes, which panics inside a character of more than one byte.
fn parser_panicking_on_non_ascii(value: &str, now: SystemTime) -> Option<Duration> {
    let _first = &value[..value.len().min(1)];
    solution::parse_retry_after(value, now)
}

// Mistake: the lesson's examples learned by heart.
fn parser_knowing_the_table_only(value: &str, _: SystemTime) -> Option<Duration> {
    let table_now = UNIX_EPOCH + Duration::from_secs(784_111_777 - 30);
    let examples = [
        "120",
        "0",
        "007",
        " 30",
        "30  ",
        "\t5\t",
        "86400",
        "18446744073709551615",
        "18446744073709551616",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Mon, 07 Nov 1994 08:49:07 GMT",
        "  Sun, 06 Nov 1994 08:49:37 GMT ",
        "Sun, 06 Nov 1994 08:49:07 GMT",
        "Sun, 06 Nov 1994 08:48:07 GMT",
        "Saturday, 05-Nov-94 08:49:37 GMT",
        "Sat Nov  5 08:49:37 1994",
    ];
    examples.contains(&value).then(|| solution::parse_retry_after(value, table_now)).flatten()
}

// Right, in another style: lenient about case, as RFC 9110 §5.6.7 allows, and `trim()`.
fn lenient_parser(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(seconds) = delay_seconds(value) {
        return seconds;
    }
    let mut normal = value.to_ascii_lowercase();
    for word in [
        "gmt", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "jan", "feb", "mar", "apr", "may",
        "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ] {
        let proper = if word == "gmt" {
            "GMT".to_string()
        } else {
            format!("{}{}", word[..1].to_uppercase(), &word[1..])
        };
        normal = normal.replace(word, &proper);
    }
    Some(httpdate::parse_http_date(&normal).ok()?.duration_since(now).unwrap_or(Duration::ZERO))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_parser_mistake_is_caught_by_the_check_for_it() {
    let (judged, seed) = judged_failing(with_parser(parser_without_dates), &[DATES]).await;
    assert_row_caught(&judged, seed, DATES, "Sunday, 06-Nov-94 08:49:37 GMT");
    judged_failing(with_parser(parser_with_imf_fixdate_only), &[DATES]).await;
    let (judged, seed) = judged_failing(with_parser(parser_clamping_negatives), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "-1");
    let (judged, seed) = judged_failing(with_parser(parser_truncating_fractions), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "1.5");
    let (judged, seed) = judged_failing(with_parser(parser_accepting_plus), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "+5");
    let (judged, seed) = judged_failing(with_parser(parser_without_past_dates), &[DATES]).await;
    assert_row_caught(&judged, seed, DATES, "Sun, 06 Nov 1994 08:48:07 GMT");
    let (judged, seed) =
        judged_failing(with_parser(parser_without_trimming), &[SECONDS, DATES]).await;
    assert_row_caught(&judged, seed, SECONDS, "\t5\t");
    let (judged, seed) =
        judged_failing(with_parser(parser_without_trimming_over_httpdate), &[SECONDS]).await;
    assert_row_caught(&judged, seed, SECONDS, " 30");
    let (judged, seed) = judged_failing(with_parser(parser_without_saturation), &[SECONDS]).await;
    assert_row_caught(&judged, seed, SECONDS, "18446744073709551616");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_that_knows_only_the_table_fails_on_generated_inputs() {
    let (judged, seed) =
        judged_failing(with_parser(parser_knowing_the_table_only), &[SECONDS, DATES]).await;
    // Every example of the table is right: what it gets wrong is what it never saw.
    assert!(!wrong_rows(&judged, SECONDS).contains(&"\"120\""), "{}", report(&judged, seed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_on_some_input_fails_and_names_that_input() {
    let (judged, seed) =
        judged_failing(with_parser(parser_panicking_on_non_ascii), &[INVALID]).await;
    assert_row_caught(&judged, seed, INVALID, "١٢٠");
    let shown = format!("{:?}", judged.failure(INVALID).unwrap().evidence);
    assert!(
        shown.contains("panicked: end byte index 1 is not a char boundary")
            && shown.contains("(at tests/integration/retry_after.rs:"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lenient_parser_passes() {
    judged_failing(with_parser(lenient_parser), &[]).await;
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

// Right, in another style: of two Retry-After headers, the last one.
fn client_reading_the_last_header(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get_all(RETRY_AFTER).iter().next_back()?;
    solution::parse_retry_after(value.to_str().ok()?, SystemTime::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_are_caught_and_the_run_goes_on() {
    let (judged, seed) =
        judged_failing(with_client(client_panicking_on_non_ascii), &[CLIENT]).await;
    let wrong = wrong_rows(&judged, CLIENT);
    assert!(
        wrong.contains(&"Retry-After: 3\\xff0 (not ASCII)"),
        "{wrong:?}\n{}",
        report(&judged, seed)
    );
    let (judged, _) = judged_failing(with_client(client_defaulting_to_zero), &[CLIENT]).await;
    assert_eq!(wrong_rows(&judged, CLIENT), ["no Retry-After at all"]);
    judged_failing(with_client(client_reading_the_last_header), &[]).await;
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
    judged_failing(exercise, &[]).await;
}
