//! Lesson 4's judge, run in process against its solution, its starter, a right answer in
//! another style, and one known-wrong gateway per rule, each caught by the check written for it.

mod gateway;

use std::time::Duration;

use axum::http::StatusCode;
use httplings::lessons::bad_gateway::App;
use httplings_judge::judge::Judged;
use httplings_judge::lessons::bad_gateway::{self, CHECKS};

use self::gateway::{Covers, Leak, Price, RIGHT};
use crate::support::{assert_failed, assert_rejected, seed};

#[path = "../../solutions/04_bad_gateway.rs"]
mod solution;

#[path = "../../exercises/.starters/04_bad_gateway.rs"]
mod starter;

const PRICE: &str = CHECKS[0];
const REFUSED: &str = CHECKS[2];
const UNUSABLE: &str = CHECKS[3];
const TIMEOUT: &str = CHECKS[4];
const UNAVAILABLE: &str = CHECKS[5];
const NO_LEAK: &str = CHECKS[6];
const ONCE: &str = CHECKS[7];
const LOGGED: &str = CHECKS[8];

async fn judged_failing(app: App, expected: &[&str]) -> (Judged, u64) {
    let seed = seed();
    judged_failing_with(app, seed, expected).await
}

async fn judged_failing_with(app: App, seed: u64, expected: &[&str]) -> (Judged, u64) {
    let judged = bad_gateway::judge_in_process(app, seed).await;
    assert_failed(&judged, seed, CHECKS, expected);
    (judged, seed)
}

/// A gateway: [`RIGHT`] with some knobs turned.
macro_rules! with {
    ($($field:ident: $value:expr),*) => {
        |upstream| gateway::app(upstream, gateway::Behaviour { $($field: $value,)* ..RIGHT })
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes_and_the_starter_fails_usefully() {
    judged_failing(solution::app, &[]).await;
    let (starter, seed) = judged_failing(
        starter::app,
        &[PRICE, REFUSED, UNUSABLE, TIMEOUT, UNAVAILABLE, NO_LEAK, LOGGED],
    )
    .await;
    // The 404 passes through as it should; the rest, as it should not.
    assert_rejected(&starter, seed, NO_LEAK, "the pricing service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_gateway_in_another_style_passes() {
    judged_failing(with!(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_known_wrong_gateway_is_caught_by_the_check_for_its_rule() {
    let (judged, seed) =
        judged_failing(with!(leak: Some(Leak::Bodies)), &[UNUSABLE, NO_LEAK]).await;
    assert_rejected(&judged, seed, NO_LEAK, "a secret from the pricing service's answer");
    judged_failing(with!(on_timeout: StatusCode::BAD_GATEWAY), &[TIMEOUT]).await;
    let everything_500 = with!(on_timeout: StatusCode::INTERNAL_SERVER_ERROR, on_failure: StatusCode::INTERNAL_SERVER_ERROR);
    judged_failing(everything_500, &[REFUSED, UNUSABLE, TIMEOUT]).await;
    let (judged, seed) = judged_failing(with!(attempts: 2), &[ONCE, TIMEOUT]).await;
    assert_rejected(&judged, seed, ONCE, "and the pricing service");
    let (judged, seed) = judged_failing(with!(leak: Some(Leak::Url)), &[NO_LEAK]).await;
    assert_rejected(&judged, seed, NO_LEAK, "the pricing service's address");
    judged_failing(with!(passes_retry_after: false), &[UNAVAILABLE]).await;
    let (judged, seed) =
        judged_failing(with!(deadline: Some(|timeout| timeout * 2)), &[TIMEOUT]).await;
    assert_rejected(&judged, seed, TIMEOUT, "more than upstream.timeout()");
    let (judged, seed) = judged_failing(with!(covers: Covers::Head), &[TIMEOUT, LOGGED]).await;
    assert_rejected(&judged, seed, TIMEOUT, "stalled half-way through its answer");
    let (judged, seed) = judged_failing(with!(deadline: None), &[TIMEOUT, LOGGED]).await;
    assert_rejected(&judged, seed, TIMEOUT, "no answer");
    let (judged, seed) =
        judged_failing(with!(deadline: Some(|timeout| timeout / 2)), &[TIMEOUT]).await;
    assert_rejected(&judged, seed, TIMEOUT, "before upstream.timeout()");
}

/// What the judge of before lets through (issue 21): each of these fails no check of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_gateways_the_judge_of_before_lets_through() {
    let seed = seed();
    let wrong: [(&str, App); 17] = [
        ("a deadline on each read", with!(covers: Covers::EachRead)),
        ("a fresh deadline for each phase", with!(covers: Covers::EachPhase)),
        ("a grace period of 30 %", with!(deadline: Some(|timeout| timeout * 13 / 10))),
        ("a reconnect loop while refused", with!(reconnects: true)),
        ("every 4xx passed on", with!(passes_4xx: true)),
        ("the bare host", with!(leak: Some(Leak::Host))),
        ("error text without the URL", with!(leak: Some(Leak::ErrorText))),
        ("an encoded secret beside a request id", with!(leak: Some(Leak::EncodedBesideRandom))),
        ("a blocklist of headers", with!(leak: Some(Leak::HeadersButSome))),
        ("a blocklist of fields", with!(leak: Some(Leak::FieldsButSome))),
        ("an access log alone", with!(logs_causes: false)),
        ("prices rounded to cents", with!(price: Price::Cents)),
        ("prices through an f32", with!(price: Price::Single)),
        ("prices cached", with!(caches: true)),
        ("symbols of capital letters alone", with!(letters_only: true)),
        ("whole prices refused", with!(floats_only: true)),
        ("symbols put into the URL as they are", with!(checks_symbols: false)),
    ];
    for (what, app) in wrong {
        eprintln!("{what}");
        judged_failing_with(app, seed, &[]).await;
    }
    // A timeout of 400 ms, whatever upstream.timeout() says: passes whenever the timeout drawn
    // is a little longer or up to a third shorter (as for seed 1).
    judged_failing_with(with!(deadline: Some(|_| Duration::from_millis(400))), 1, &[]).await;
}

/// Right answers the judge of before rejects as leaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_gateways_the_judge_of_before_rejects() {
    judged_failing(with!(instance_id: true), &[NO_LEAK]).await;
    judged_failing(with!(problem_instance: true), &[NO_LEAK]).await;
}
