//! The rules client: lesson 3's rules, where the budget cannot be the reason a call gives up.
//! Its budget always has room, so each of its calls must be retried as lesson 3 says until it
//! succeeds or `max_attempts` runs out. Between them its calls meet every 5xx (500, 502, 503,
//! 504) with and without `Retry-After`, a `Retry-After` of exactly `max_delay` (and a 5xx after
//! it, with no attempt left), an attempt that times out, resets and 5xx in turns that never end,
//! and resets that never end; and their backoff waits, retry after retry, show whether the
//! backoff grows, after a reset as after a 5xx.

use std::time::Duration;

use httplings::RetryPolicy;
use httplings::lessons::retry_budget::Budget;

use super::round::{Client, Made, Script};
use super::verdicts::{Waits, broken};
use crate::judge::bounds::millis;
use crate::judge::schedule::{self, Sample, reach};
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::Reply;
use crate::judge::{Failure, Row};

/// What each asking call's `Retry-After` asks for, in seconds: `max_delay` exactly, which the
/// rules wait ("more than max_delay" ends the call; this is not more).
const ASKED: u64 = 1;

/// The timeout of the client handed to `new`: the one attempt that is never answered ends then.
const TIMEOUT: Duration = Duration::from_millis(500);

/// Calls that meet resets and 5xx in turns until `max_attempts` runs out: each gives a backoff
/// wait before its second and third retry, and with the asking calls' second ones, 24 waits
/// whose bound is past `base_delay`, enough to tell whether they reach it.
const MIXED: usize = 10;

/// Calls reset every time: with the mixed calls' waits after a reset, 26 waits after a reset
/// whose bound is past `base_delay` (a backoff that grows after a 5xx only never reaches them).
const RESETS: usize = 8;

/// Calls whose first attempt times out.
const TIMING_OUT: usize = 2;

const FIVE_XX: [u16; 4] = [500, 502, 503, 504];

/// When the rules client's calls start: after the round's first burst (every other client
/// starts at once), which they would only make longer.
const START: Duration = Duration::from_millis(250);

/// The rules client. Four attempts: the asking calls' `Retry-After` comes on the third answer,
/// when the backoff's bound is `4 × base_delay` (half a second or so): a jittered wait added on
/// top of the asked one shows. A budget of a hundred retries a second for seventy at most.
pub fn draw(rng: &mut Rng) -> Client {
    let mut script: Vec<Script> = FIVE_XX.map(|status| Script::Asking(status, ASKED)).to_vec();
    script.extend([Script::TimesOutOnce; TIMING_OUT]);
    script.extend((0..MIXED).map(|call| Script::Mixed(*seed::pick(rng, &FIVE_XX), call % 2 == 0)));
    script.extend([Script::Down(0); RESETS]);
    let calls: Vec<Duration> =
        script.iter().map(|_| START + Duration::from_millis(rng.u64(0..50))).collect();
    let base = seed::duration_spread(rng, Duration::from_millis(120), Duration::from_millis(160));
    Client {
        policy: RetryPolicy {
            max_attempts: 4,
            base_delay: base,
            max_delay: Duration::from_secs(ASKED),
        },
        budget: Budget { ratio: 1.0, min_per_second: 100, window: Duration::from_secs(1) },
        timeout: TIMEOUT,
        refuses_for: None,
        calls,
        script,
    }
}

/// The rules client's verdict: no call gave up on a failure with attempts left, and the backoff
/// waits whose bound is past `base_delay` reach towards it (a backoff that does not grow stays
/// below `base_delay`).
pub fn judge(client: &Client, calls: &[Made]) -> Option<Failure> {
    let policy = &client.policy;
    let rows: Vec<Row> = calls
        .iter()
        .enumerate()
        .filter_map(|(call, made)| {
            let gave_up = gave_up(policy, made)?;
            Some(Row {
                cells: vec![
                    format!("call {call}"),
                    format!("attempt {} got {gave_up}", made.attempts.len()),
                    format!("returned it, {} attempt(s) left", left(policy, made)),
                ],
                ok: false,
            })
        })
        .collect();
    if !rows.is_empty() {
        return Some(
            Failure::of(format!(
                "{} of {} calls, with a budget that had room for every retry, gave up on a \
                 failure lesson 3 retries while attempts were left: every 5xx is retried (500 \
                 as much as 503), after its Retry-After when it asks for max_delay ({}) or less, \
                 and so are a reset and a timeout; an attempt counts whatever it ended in",
                rows.len(),
                calls.len(),
                millis(policy.max_delay)
            ))
            .with_rows(&["call", "the server saw", "the client"], rows),
        );
    }
    let waits: Vec<Waits> = calls.iter().filter_map(|made| broken(client, made).ok()).collect();
    let grown = |samples: fn(&Waits) -> &[Sample]| -> Vec<Sample> {
        let samples = waits.iter().flat_map(|waits| samples(waits).iter().copied());
        samples.filter(|sample| sample.nominal > policy.base_delay).collect()
    };
    let bound = millis(policy.base_delay * 2);
    let rule = format!(
        "before retry n the bound is min(max_delay, base_delay × 2^(n−1)), {bound} and up here"
    );
    // The waits after a reset come first: they are enough on their own for a verdict, and a
    // backoff that grows after a 5xx only keeps the pooled waits low as well, some of the
    // time. Those after a 5xx are too few for one, but say whether the backoff grows there.
    reach(&grown(|waits| &waits.after_no_response))
        .map(|why| {
            let (reaching, judged) = schedule::reaching(&grown(|waits| &waits.after_a_5xx));
            Failure::of(if schedule::stay_low(reaching, judged) {
                format!(
                    "after a reset or a timeout, {why}; and after a 5xx, {reaching} of {judged} \
                     came that close: {rule}"
                )
            } else {
                format!(
                    "after a reset or a timeout, {why}; the backoff grows after a failure on the \
                     way as after a 5xx: {rule}"
                )
            })
        })
        .or_else(|| {
            let backoff = waits.iter().flat_map(|waits| waits.backoff.iter().map(|t| t.sample));
            let grown: Vec<Sample> =
                backoff.filter(|sample| sample.nominal > policy.base_delay).collect();
            reach(&grown).map(|why| Failure::of(format!("{why}; {rule}")))
        })
}

/// What the last attempt of a call that returned with attempts left ended in, when lesson 3
/// retries that.
fn gave_up(policy: &RetryPolicy, made: &Made) -> Option<String> {
    let last = made.attempts.last()?;
    if made.got.is_err() || left(policy, made) == 0 {
        return None;
    }
    match &last.reply {
        Reply::Reset => Some("a reset".into()),
        Reply::Silence => {
            Some(format!("no answer before the client's {} timeout", millis(TIMEOUT)))
        }
        reply => {
            let status = reply.status_code().filter(|status| *status >= 500)?;
            Some(match super::verdicts::retry_after(reply) {
                Some(seconds) => format!(
                    "a {status} asking Retry-After: {seconds} s (max_delay {})",
                    millis(policy.max_delay)
                ),
                None => format!("a {status}"),
            })
        }
    }
}

fn left(policy: &RetryPolicy, made: &Made) -> usize {
    (policy.max_attempts as usize).saturating_sub(made.attempts.len())
}
