//! Plays one scenario: a scripted upstream per call (one for all, for a herd that shares a
//! URL), every call of `get_with_retry` at once, and what each came to. Every response carries
//! an id of this play, so that what a call returns can be matched with what the server sent.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use futures_util::future::join_all;
use serde_json::json;
use tokio::sync::Notify;

use super::plan::{
    Asked, CLIENT_TIMEOUT, ENDLESS_PROMISED, ENDLESS_SENT, Planned, Scenario, Step, Target,
    Together,
};
use super::rules::{expected, step};
use crate::judge::bounds::{ATTEMPT_ROUND_TRIP, PATIENCE};
use crate::judge::http_date::{format_time, whole_second_after};
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{self, Options, Reply, Seen, Upstream};
use crate::judge::{Learner, Lost, Returned};
use httplings::lessons::retry_on_5xx::{Call, Came};

/// The header that tells the calls of a herd apart (they share one URL).
const TAG: &str = "x-httplings-call";

/// How one call of the learner's function ended.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
    Came(Came),
    Panicked(String),
    /// Still running at its deadline, and stopped.
    TimedOut(Duration),
    /// Given up on once the server had seen more requests than the rules allow.
    RanAway,
}

#[derive(Debug, Clone)]
pub(super) struct PlayedCall {
    pub(super) planned: Planned,
    /// What it was asked to GET (for a scripted target, the path and query).
    pub(super) target: String,
    /// The requests its server saw, in order.
    pub(super) seen: Vec<Seen>,
    pub(super) started: Instant,
    pub(super) ended: Instant,
    pub(super) outcome: Outcome,
}

/// Plays `scenario` once; `rng` draws this play's ids. `answered`, when given, is told as soon
/// as every call's first attempt has been answered.
pub(super) async fn play(
    learner: &Learner,
    scenario: &Scenario,
    rng: &mut Rng,
    answered: Option<&Notify>,
) -> Result<Vec<PlayedCall>, Lost> {
    let token = seed::token(rng, 10);
    let shared = scenario.together == Together::Spread;
    let path = |index: usize, rng: &mut Rng| {
        let name = if shared { "herd".to_string() } else { index.to_string() };
        format!("/{token}/{name}?k={}", seed::token(rng, 6))
    };
    let first_path = path(0, rng);
    let targets: Vec<String> = (0..scenario.calls.len())
        .map(|index| if shared { first_path.clone() } else { path(index, rng) })
        .collect();
    let tags: Vec<Option<String>> =
        (0..scenario.calls.len()).map(|index| shared.then(|| format!("{token}-{index}"))).collect();
    let upstreams: Vec<Upstream> = if shared {
        vec![serve(&scenario.calls, &tags, &token).await]
    } else {
        let mut upstreams = Vec::new();
        for (planned, tag) in scenario.calls.iter().zip(&tags) {
            upstreams.push(
                serve(std::slice::from_ref(planned), std::slice::from_ref(tag), &token).await,
            );
        }
        upstreams
    };
    let refused = upstream::refused();
    let calls = scenario.calls.iter().enumerate().map(|(index, planned)| {
        let upstream = &upstreams[if shared { 0 } else { index }];
        let (target, tag) = (&targets[index], &tags[index]);
        let mine = move |seen: &Seen| tag.is_none() || seen.header(TAG) == tag.as_deref();
        // A refused call's upstream hears of its lookups, one per attempt to connect.
        let (url, resolves_to, lookups_told_to) = match planned.target {
            Target::Scripted => (format!("{}{target}", upstream.base), upstream.address.ip(), None),
            Target::Refused => (
                format!("http://refused-{token}.test:{}{target}", refused.address.port()),
                refused.address.ip(),
                Some(upstream.address),
            ),
            Target::Unsendable(url) => (url.to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST), None),
        };
        let call = Call {
            url,
            max_attempts: planned.policy.max_attempts,
            base_delay: planned.policy.base_delay,
            max_delay: planned.policy.max_delay,
            client_timeout: planned.client_timeout(),
            resolves_to,
            lookups_told_to,
            tag: tag.clone().map(|tag| (TAG.to_string(), tag)),
        };
        let allowed = expected(planned).attempts;
        async move {
            let started = Instant::now();
            let ran_away = upstream.wait_until(deadline(planned), |seen| {
                seen.iter().filter(|seen| mine(seen)).count() > allowed
            });
            let outcome = tokio::select! {
                came = learner.call("get_with_retry", &call, deadline(planned)) => match came? {
                    Returned::Value(came) => Outcome::Came(came),
                    Returned::Panicked(message) => Outcome::Panicked(message),
                    Returned::TimedOut(limit) => Outcome::TimedOut(limit),
                },
                true = ran_away => Outcome::RanAway,
            };
            let ended = Instant::now();
            let seen = match planned.target {
                Target::Scripted | Target::Refused => {
                    upstream.seen().into_iter().filter(|seen| mine(seen)).collect()
                }
                Target::Unsendable(_) => Vec::new(),
            };
            Ok(PlayedCall {
                planned: planned.clone(),
                target: target.clone(),
                seen,
                started,
                ended,
                outcome,
            })
        }
    });
    let first_answered = async {
        let Some(answered) = answered else { return };
        let count = scenario.calls.len();
        for upstream in &upstreams {
            upstream
                .wait_until(PATIENCE, |seen| {
                    seen.len() >= count.min(upstream_calls(&upstreams, count))
                        && seen.iter().all(|seen| seen.ended.is_some())
                })
                .await;
        }
        answered.notify_one();
    };
    let (played, ()) = tokio::join!(join_all(calls), first_answered);
    played.into_iter().collect()
}

/// How many calls each of `upstreams` serves (all of them, or one each).
fn upstream_calls(upstreams: &[Upstream], calls: usize) -> usize {
    if upstreams.len() == 1 { calls } else { 1 }
}

/// How long a call may take: its waits at their longest (one at least, so that a client that
/// waits when it should give up is seen making its next request) and the attempts after them,
/// its silences, and time to spare.
fn deadline(planned: &Planned) -> Duration {
    let waits = (expected(planned).attempts.max(2) - 1) as u32;
    let longest_wait = planned.policy.max_delay.min(Duration::from_millis(2_000));
    let silences = planned.script.iter().filter(|step| **step == Step::Silence).count() as u32;
    Duration::from_millis(1_500)
        + (longest_wait + ATTEMPT_ROUND_TRIP) * waits
        + CLIENT_TIMEOUT * silences
}

/// How long a herd's first requests are held, from the first one's arrival, so that every call
/// has set out before any hears its failure; then the failures go out one call after the other,
/// [`HERD_STEP`] apart, in the calls' order. Each call draws its wait when it hears, so the
/// draws come in that order, in every process alike: a generator seeded with a constant shows
/// as the same wait for the same call in both. The step is wide enough that a busy machine
/// seldom lets one call hear its failure before the call ahead of it (at 4 ms, CI's load let a
/// constant-seeded client's two processes draw out of step).
const HERD_HELD: Duration = Duration::from_millis(40);
const HERD_STEP: Duration = Duration::from_millis(10);

/// An upstream that answers each of `calls` (told apart by `tags`, when they share it) as its
/// script says, and holds its tongue past one request more than the rules allow. A herd's first
/// answers go out together.
async fn serve(calls: &[Planned], tags: &[Option<String>], token: &str) -> Upstream {
    let scripts: Vec<(Option<String>, Planned)> =
        tags.iter().cloned().zip(calls.iter().cloned()).collect();
    let herd = tags.iter().any(Option::is_some);
    let cap = calls.iter().map(|planned| expected(planned).attempts + 1).sum();
    let answered = Mutex::new((HashMap::<usize, usize>::new(), None::<Instant>));
    let token = token.to_string();
    Upstream::with(Options { cap, keep_alive: false }, move |seen| {
        let call = scripts
            .iter()
            .position(|(tag, _)| tag.is_none() || seen.header(TAG) == tag.as_deref())
            .unwrap_or(0);
        let mut state = answered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (answered, first) = &mut *state;
        *answered.entry(call).or_default() += 1;
        let (attempt, responses) = (answered[&call], answered.values().sum::<usize>());
        let step = step(&scripts[call].1, attempt).unwrap_or(Step::Status(404));
        let reply = reply(step, &format!("{token}-{responses}"));
        let release = *first.get_or_insert(seen.at) + HERD_HELD + HERD_STEP * call as u32;
        let first_held = scripts[call].1.first_held;
        match release.checked_duration_since(seen.at) {
            Some(held) if herd && attempt == 1 => Reply::Delayed(held, Box::new(reply)),
            _ if attempt == 1 && !first_held.is_zero() => {
                Reply::Delayed(first_held, Box::new(reply))
            }
            _ => reply,
        }
    })
    .await
}

fn reply(step: Step, id: &str) -> Reply {
    match step {
        Step::Status(status) => respond(status, id, None),
        Step::Asking(status, asked) => respond(status, id, Some(retry_after(asked))),
        Step::Reset => Reply::Reset,
        Step::Silence => Reply::Silence,
        Step::Endless(status) => {
            Reply::Stalled { status, promised: ENDLESS_PROMISED, sent: vec![b' '; ENDLESS_SENT] }
        }
    }
}

/// A response tagged with `id`, in a header and in its body (204 and 304 have no body).
fn respond(status: u16, id: &str, retry_after: Option<String>) -> Reply {
    let body = if matches!(status, 204 | 304) {
        Vec::new()
    } else {
        json!({"status": status, "response": id}).to_string().into_bytes()
    };
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("x-response-id".to_string(), id.to_string()),
    ];
    if (300..400).contains(&status) && status != 304 {
        headers.push(("location".into(), "/somewhere-else".into()));
    }
    if let Some(value) = retry_after {
        headers.push(("retry-after".into(), value));
    }
    Reply::Respond { status, headers, body }
}

/// How far ahead a date sent as `Retry-After` is at least: past the longest the date
/// scenarios' backoff allows (550–650 ms), so that a client that does not read dates is seen
/// coming back too soon, and a whole backoff added on top of one shows.
const DATE_AHEAD_AT_LEAST: Duration = Duration::from_millis(800);

/// A `Retry-After` value, dates chosen now.
fn retry_after(asked: Asked) -> String {
    let now = SystemTime::now();
    match asked {
        Asked::Seconds(seconds) => seconds.to_string(),
        Asked::Unreadable(value) | Asked::Huge(value) => value.to_string(),
        Asked::DateAhead(form) => format_time(whole_second_after(now + DATE_AHEAD_AT_LEAST), form),
        Asked::DatePast(form) => format_time(now - Duration::from_secs(30), form),
        Asked::DateFar(form) => format_time(now + Duration::from_secs(3_600), form),
    }
}
