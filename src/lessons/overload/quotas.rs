//! The quota scenarios: on an instance whose backend is never the bottleneck, one client asks more
//! than its quota at once while another (its key the same but for case) stays within its own and
//! clients without a key share theirs (then a client whose key is not ASCII asks within its own);
//! the noisy client then comes back a moment before and a moment after the time its `Retry-After`
//! gave; a client that asked once asks for more than its quota a little before a window later, and
//! comes back as told too (its room comes well before a whole window); a client uses its whole
//! quota twice, a window apart; and another asks for its whole quota again a little before a window
//! has passed. Every 429 is to say when to come back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::floods::{healthy, table};
use super::plan::{Ask, AsksAgain, Plan, QuotaPlan, UNREACHED_CONCURRENCY};
use super::shown::{self, ms, row, served};
use super::{
    ANONYMOUS, Failures, HEALTH, PER_CLIENT, QUOTA, RETRY_AFTER, Stop, backend, note, serve,
};
use crate::judge::exchange::{Client, Exchange, Request};
use crate::judge::{Failure, Learner};

/// How much before the time a `Retry-After` allows the noisy client comes back (it must still
/// be refused: the time was rounded up, never down), and how much after (it must be let in).
const EARLY: Duration = Duration::from_millis(100);
const LATE: Duration = Duration::from_millis(60);
/// How long past a window the cycling client comes back.
const PAST_WINDOW: Duration = Duration::from_millis(100);
/// How long before a window has passed since it spent its whole quota the hasty client asks
/// for all of it again: a window cut short by a sixth or more (one cut to whole seconds, one
/// counted in whole seconds) has let it all back by then; a bucket has let back only part.
const HASTY_ROOM: Duration = Duration::from_millis(200);
/// How much past the room it knows of the judge allows a `Retry-After` to reach before it
/// counts as overstated: the way there and back.
const OVERSTATED: Duration = Duration::from_millis(150);
/// How far into the run, as a share of the window, the late comer first asks.
const LATE_COMER_AT: f64 = 0.4;
/// Health probes sent once the anonymous quota is spent.
const HEALTH_PROBES: usize = 3;

/// How many times in all a quota scenario is begun afresh when the machine stretched its first
/// burst over half a window or more: which of the requests released together a quota lets in is
/// then the clock's to decide (a key folded to another's shares a window that ended meanwhile).
const STRETCHED_PLAYS: u32 = 3;

pub(super) async fn spend(
    learner: &Learner,
    plan: &Arc<Plan>,
    which: usize,
) -> Result<Failures, Stop> {
    let mut play = 1;
    loop {
        if let Some(failures) = spend_once(learner, plan, which, play == STRETCHED_PLAYS).await? {
            return Ok(failures);
        }
        play += 1;
    }
}

/// One play of the quota scenario; `None`, unless it is the `last`, when the machine stretched
/// its first burst too long to judge by.
async fn spend_once(
    learner: &Learner,
    plan: &Arc<Plan>,
    which: usize,
    last: bool,
) -> Result<Option<Failures>, Stop> {
    let quota = &plan.quotas[which];
    let backend = backend(plan).await;
    let base =
        serve(learner, plan, &backend, UNREACHED_CONCURRENCY, quota.per_client, quota.window)
            .await?;
    let client = Client::new(base);
    let groups: Vec<&[Ask]> = [
        Some(&quota.noisy[..]),
        Some(&quota.quiet[..]),
        Some(&quota.anonymous[..]),
        quota.cycling.as_ref().map(|(first, _)| &first[..]),
        Some(std::slice::from_ref(&quota.spread.first)),
        Some(std::slice::from_ref(&quota.rounded.first)),
        Some(&quota.hasty.0[..]),
    ]
    .into_iter()
    .flatten()
    .collect();
    let requests: Vec<Request> =
        groups.iter().flat_map(|asks| asks.iter().map(shown::request)).collect();
    let start = Instant::now();
    let answers = client.burst(requests).await;
    if !last && stretched(&answers) >= quota.window / 2 {
        return Ok(None);
    }
    let mut answers = answers.into_iter();
    let mut take = |asks: &[Ask]| -> Vec<Exchange> { answers.by_ref().take(asks.len()).collect() };
    let noisy = take(&quota.noisy);
    let quiet = take(&quota.quiet);
    let anonymous = take(&quota.anonymous);
    let cycling_first = quota.cycling.as_ref().map(|(first, _)| take(first));
    // The spread client's first request is judged by what its second burst is told.
    let _spread_first = take(std::slice::from_ref(&quota.spread.first));
    let _rounded_first = take(std::slice::from_ref(&quota.rounded.first));
    let hasty_first = take(&quota.hasty.0);
    // Once the clients without a key have spent their quota: taken for one of them, the client
    // whose key is not ASCII is refused every time, not by a race's luck.
    let opaque = client.burst(quota.opaque.iter().map(shown::request).collect()).await;
    let sent = noisy.first().map_or(start, |one| one.sent);
    let received = noisy.iter().map(|one| one.received).max().unwrap_or(start);
    let health =
        client.burst((0..HEALTH_PROBES).map(|_| Request::get("/health/live")).collect()).await;

    let mut failures = Failures::new();
    let described = format!("a quota of {} per {}", quota.per_client, ms(quota.window));
    for (exchanges, who) in [
        (&noisy[..], "one client"),
        (&anonymous[..], "requests without a key"),
        (cycling_first.as_deref().unwrap_or_default(), "one client"),
    ] {
        judge_retry_afters(
            quota,
            exchanges,
            start,
            &format!("{who}, with {described}"),
            &mut failures,
        );
    }
    judge_spent(
        plan,
        quota,
        &noisy,
        start,
        QUOTA,
        &format!("one client, with {described}"),
        &mut failures,
    );
    judge_spent(
        plan,
        quota,
        &anonymous,
        start,
        ANONYMOUS,
        &format!("requests without a key, with {described}"),
        &mut failures,
    );
    let whole_quota = hasty_first.iter().filter(|one| served(plan, one)).count();
    if whole_quota != hasty_first.len() {
        let rows = hasty_first.iter().map(|one| row(one, start, served(plan, one))).collect();
        let summary = format!(
            "one client asked for exactly {described}, all at once, and {whole_quota} of its {} \
             requests were served",
            hasty_first.len()
        );
        note(&mut failures, QUOTA, Failure::of(summary).with(table(rows)));
    }
    if let Some(first) = &cycling_first {
        judge_spent(
            plan,
            quota,
            first,
            start,
            QUOTA,
            &format!("one client, with {described}"),
            &mut failures,
        );
    }
    let unserved: Vec<&Exchange> = quiet.iter().filter(|one| !served(plan, one)).collect();
    if let Some(first) = unserved.first() {
        let rows = quiet.iter().map(|one| row(one, start, served(plan, one))).collect();
        note(
            &mut failures,
            PER_CLIENT,
            Failure::of(format!(
                "a client within its quota ({} requests, {described}) got {} for {}, in the \
                 same instant another client went over its own",
                quota.quiet.len(),
                first.status().map_or("no answer".to_string(), |status| status.to_string()),
                first.request.line()
            ))
            .with(table(rows)),
        );
    }
    // Refused as malformed (a 4xx of its own) is a choice; taken for no key at all is not.
    let own_or_refused = |one: &Exchange| {
        served(plan, one)
            || one.status().is_some_and(|status| (400..500).contains(&status) && status != 429)
    };
    if let Some(first) = opaque.iter().find(|one| !own_or_refused(one)) {
        let rows = opaque.iter().map(|one| row(one, start, own_or_refused(one))).collect();
        let key = quota.opaque[0].key.clone().unwrap_or_default();
        note(
            &mut failures,
            PER_CLIENT,
            Failure::of(format!(
                "a client whose x-api-key is not ASCII ({key:?}), asking {} time(s) within \
                 {described}, got {} for {}, once the clients without a key had spent theirs: a \
                 key is bytes, opaque, and a client of its own (or refused as malformed, with a \
                 4xx of its own)",
                quota.opaque.len(),
                first.status().map_or("no answer".to_string(), |status| status.to_string()),
                first.request.line()
            ))
            .with(table(rows)),
        );
    }
    let slow: Vec<&Exchange> = health.iter().filter(|one| !healthy(one)).collect();
    if let Some(first) = slow.first() {
        note(
            &mut failures,
            HEALTH,
            Failure::of(format!(
                "GET /health/live, once the clients without a key had spent their quota, \
                 answered {} after {}: a health endpoint stands outside every quota",
                first.status().map_or("nothing".to_string(), |status| status.to_string()),
                ms(first.took())
            ))
            .with(table(health.iter().map(|one| row(one, start, healthy(one))).collect())),
        );
    }

    // The noisy client comes back as its Retry-After says, and the cycling one a window later.
    let promised = noisy
        .iter()
        .filter(|one| one.status() == Some(429))
        .map(shown::retry_after)
        .max_by_key(|one| one.clone().unwrap_or(0));
    let come_back = async {
        match promised {
            Some(Ok(seconds))
                if (1..=quota.window.as_millis().div_ceil(1000) as u64).contains(&seconds) =>
            {
                let told = Told { seconds, sent, received };
                let probes = (&quota.noisy_early, &quota.noisy_late);
                Some(return_as_told(plan, &client, told, probes, start).await)
            }
            Some(Ok(seconds)) => Some(Some(Failure::of(format!(
                "one client over {described} was told Retry-After: {seconds}; its quota has \
                 room again within a window, so that is 1 to {} seconds",
                quota.window.as_millis().div_ceil(1000)
            )))),
            Some(Err(problem)) => Some(Some(Failure::of(format!(
                "one client over {described} was refused with {problem}: it must say, in \
                 seconds, when the quota has room again"
            )))),
            None => Some(Some(Failure::of(format!(
                "one client over {described} got no 429, so no Retry-After to come back by"
            )))),
        }
    };
    let cycle = async {
        let (_, again) = quota.cycling.as_ref()?;
        tokio::time::sleep_until((start + quota.window + PAST_WINDOW).into()).await;
        let second = client.burst(again.iter().map(shown::request).collect()).await;
        let mut found = Failures::new();
        judge_spent(
            plan,
            quota,
            &second,
            start,
            QUOTA,
            &format!("one client, a window after it spent {described}"),
            &mut found,
        );
        found.remove(QUOTA)
    };
    let spread = asks_again(plan, &client, quota, &quota.spread, start);
    let rounded = asks_again(plan, &client, quota, &quota.rounded, start);
    let hasty = async {
        let again_at = quota.window - HASTY_ROOM;
        tokio::time::sleep_until((start + again_at).into()).await;
        let again = client.burst(quota.hasty.1.iter().map(shown::request).collect()).await;
        let context = format!("one client that spent {described} at once, {} later", ms(again_at));
        let mut found = Failures::new();
        judge_retry_afters(quota, &again, start, &context, &mut found);
        let served_count = again.iter().filter(|one| served(plan, one)).count();
        if served_count == again.len() {
            let rows = again.iter().map(|one| row(one, start, !served(plan, one))).collect();
            let summary = format!(
                "{context}: all {served_count} of its requests released together were served; \
                 none of the first ones is a window old yet, so a log or a window counted from \
                 the first request has no room, and a bucket only part of it"
            );
            note(&mut found, QUOTA, Failure::of(summary).with(table(rows)));
        }
        found
    };
    let late_comer = async {
        let (first, again) = &quota.late_comer;
        let first_at = quota.window.mul_f64(LATE_COMER_AT);
        tokio::time::sleep_until((start + first_at).into()).await;
        let first = client.burst(first.iter().map(shown::request).collect()).await;
        let again_at = quota.window + PAST_WINDOW;
        tokio::time::sleep_until((start + again_at).into()).await;
        let again = client.burst(again.iter().map(shown::request).collect()).await;
        let context = format!(
            "one client that first asked {} into the run, for {described}, then for all of it \
             again {} later",
            ms(first_at),
            ms(again_at - first_at)
        );
        let mut found = Failures::new();
        judge_spent(plan, quota, &first, start, QUOTA, &context, &mut found);
        let served_count = again.iter().filter(|one| served(plan, one)).count();
        if served_count == again.len() && !found.contains_key(QUOTA) {
            let rows = again.iter().map(|one| row(one, start, !served(plan, one))).collect();
            let summary = format!(
                "{context}: all {served_count} of its second requests were served; its window \
                 counts from its own first request, not from when the service started, so a \
                 log or its own window has no room yet, and a bucket only part of it"
            );
            note(&mut found, QUOTA, Failure::of(summary).with(table(rows)));
        }
        found
    };
    let (came_back, cycled, spread, rounded, hasty, late_comer) =
        tokio::join!(come_back, cycle, spread, rounded, hasty, late_comer);
    for (check, failure) in hasty.into_iter().chain(late_comer) {
        note(&mut failures, check, failure);
    }
    if let Some(Some(failure)) = came_back {
        note(&mut failures, RETRY_AFTER, failure);
    }
    for failure in [spread, rounded].into_iter().flatten() {
        note(&mut failures, RETRY_AFTER, failure);
    }
    if let Some(failure) = cycled {
        note(&mut failures, QUOTA, failure);
    }
    Ok(Some(failures))
}

/// How long the requests of a burst took from their release to their last answer: what a quota
/// saw as "at once".
fn stretched(burst: &[Exchange]) -> Duration {
    let released = burst.iter().map(|one| one.sent).min();
    let answered = burst.iter().map(|one| one.received).max();
    released.zip(answered).map_or(Duration::ZERO, |(from, to)| to.saturating_duration_since(from))
}

/// A client that asked once asks for more than its quota `room` before a window has passed
/// since, and comes back as its `Retry-After` says.
async fn asks_again(
    plan: &Plan,
    client: &Client,
    quota: &QuotaPlan,
    asks: &AsksAgain,
    start: Instant,
) -> Option<Failure> {
    tokio::time::sleep_until((start + quota.window - asks.room).into()).await;
    let again = client.burst(asks.again.iter().map(shown::request).collect()).await;
    let context =
        format!("one client that asked once, then {} later", ms(quota.window - asks.room));
    let mut found = Failures::new();
    judge_retry_afters(quota, &again, start, &context, &mut found);
    if let Some(failure) = found.remove(RETRY_AFTER) {
        return Some(failure);
    }
    let refused = again.iter().find(|one| one.status() == Some(429))?;
    let seconds = shown::retry_after(refused).ok()?;
    // Whichever way the quota counts (a log, a window from the first request, a bucket), it
    // has room again `room` after the refusal or sooner: a longer wait wastes the client's room.
    let most = (asks.room + OVERSTATED).as_millis().div_ceil(1000) as u64;
    if seconds > most {
        return Some(Failure::of(format!(
            "{context}: it was told Retry-After: {seconds}, though its quota has room again {}              after the refusal (its first request is a window old then): {most} at most,              rounded up; a longer wait wastes the room it has",
            ms(asks.room)
        )));
    }
    let told = Told { seconds, sent: refused.sent, received: refused.received };
    return_as_told(plan, client, told, (&asks.early, &asks.late), start).await.map(|failure| {
        let summary = format!("{context}: {}", failure.summary);
        Failure { summary, ..failure }
    })
}

/// `asks` from one client (or none) released together: exactly the quota served, the rest 429
/// with a JSON error.
fn judge_spent(
    plan: &Plan,
    quota: &QuotaPlan,
    exchanges: &[Exchange],
    start: Instant,
    check: &'static str,
    context: &str,
    failures: &mut Failures,
) {
    let served_count = exchanges.iter().filter(|one| served(plan, one)).count();
    let problem = exchanges.iter().filter(|one| !served(plan, one)).find_map(|one| {
        let line = one.request.line();
        match one.status() {
            Some(503) => Some(format!(
                "{line} was refused with 503, which says the whole service is over capacity; a \
                 client over its own quota gets 429"
            )),
            Some(429) => shown::not_error(one, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS")
                .map(|problem| format!("{line} was refused with 429, but {problem}")),
            Some(status) => Some(format!("{line} was answered {status}")),
            None => Some(format!("{line} got no answer")),
        }
    });
    let wrong_count = served_count != quota.per_client as usize;
    let summary = match (wrong_count, problem) {
        (true, _) => format!(
            "{context}: {served_count} of {} requests released together were served; the quota \
             lets in exactly {}",
            exchanges.len(),
            quota.per_client
        ),
        (false, Some(problem)) => format!("{context}: {problem}"),
        (false, None) => return,
    };
    let rows = exchanges.iter().map(|one| row(one, start, true)).collect();
    note(failures, check, Failure::of(summary).with(table(rows)));
}

/// Every 429 says when to come back: one Retry-After, in seconds, 1 to the window rounded up
/// (whichever way a quota counts, it has room again within a window).
fn judge_retry_afters(
    quota: &QuotaPlan,
    exchanges: &[Exchange],
    start: Instant,
    context: &str,
    failures: &mut Failures,
) {
    let most = quota.window.as_millis().div_ceil(1000) as u64;
    let problem = exchanges.iter().filter(|one| one.status() == Some(429)).find_map(|one| {
        let line = one.request.line();
        match shown::retry_after(one) {
            Ok(seconds) if (1..=most).contains(&seconds) => None,
            Ok(seconds) => Some(format!(
                "{line} was refused with Retry-After: {seconds}; the quota has room again within \
                 a window, so that is 1 to {most} seconds"
            )),
            Err(problem) => Some(format!(
                "{line} was refused with 429 and {problem}: every 429 says, in seconds, when the \
                 client's quota has room again"
            )),
        }
    });
    if let Some(problem) = problem {
        let rows = exchanges.iter().map(|one| row(one, start, true)).collect();
        note(failures, RETRY_AFTER, Failure::of(format!("{context}: {problem}")).with(table(rows)));
    }
}

/// One client spends its quota on the instance whose window is minutes long, then asks once
/// more: its 429 must say, in seconds rounded up, when the oldest request leaves the window.
pub(super) async fn long_window(learner: &Learner, plan: &Arc<Plan>) -> Result<Failures, Stop> {
    let long = &plan.long;
    let backend = backend(plan).await;
    let base =
        serve(learner, plan, &backend, UNREACHED_CONCURRENCY, long.per_client, long.window).await?;
    let client = Client::new(base);
    let mut exchanges = Vec::new();
    for ask in &long.asks {
        exchanges.push(client.send(shown::request(ask)).await);
    }
    let mut failures = Failures::new();
    let (Some(first), Some(refused)) = (exchanges.first(), exchanges.last()) else {
        return Ok(failures);
    };
    let start = first.sent;
    // The quota has room again when the first request leaves the window (a log), or when a
    // bucket has a token back (a window's share for each request of the quota): no sooner than
    // that share after the first request was sent, no later than a window after the refusal.
    let share = long.window / long.per_client;
    let least = share.saturating_sub(refused.received - first.sent).as_secs();
    let most = long.window.as_millis().div_ceil(1000) as u64;
    let problem = match (refused.status(), shown::retry_after(refused)) {
        (Some(429), Ok(seconds)) if (least..=most).contains(&seconds) => None,
        (Some(429), Ok(seconds)) => Some(format!(
            "{} was refused with Retry-After: {seconds}; its quota has room again {least} to \
             {most} seconds on (when a bucket has a token back, or its first request leaves the \
             window): a 429's wait is as long as the quota says, minutes too",
            refused.request.line()
        )),
        (Some(429), Err(problem)) => Some(format!(
            "{} was refused with 429 and {problem}: every 429 says, in seconds, when the client's \
             quota has room again",
            refused.request.line()
        )),
        // A quota not kept is the other checks' to tell.
        _ => None,
    };
    if let Some(problem) = problem {
        let described = format!("a quota of {} per {}", long.per_client, ms(long.window));
        let last = exchanges.len() - 1;
        let rows = exchanges.iter().enumerate().map(|(n, one)| row(one, start, n < last)).collect();
        note(
            &mut failures,
            RETRY_AFTER,
            Failure::of(format!("{described}: {problem}")).with(table(rows)),
        );
    }
    Ok(failures)
}

/// A refusal's `Retry-After`, and when the refused request went and came back.
struct Told {
    seconds: u64,
    sent: Instant,
    received: Instant,
}

/// A client told to come back after `seconds`: a moment before that, when the time left was
/// more than `seconds - 1` (it was rounded up), it is still refused (the first of `probes`); a
/// moment after, it is let in (the second).
async fn return_as_told(
    plan: &Plan,
    client: &Client,
    Told { seconds, sent, received }: Told,
    (early_ask, late_ask): (&Ask, &Ask),
    start: Instant,
) -> Option<Failure> {
    let told = Duration::from_secs(seconds);
    let mut rows = Vec::new();
    if seconds >= 2 {
        tokio::time::sleep_until((sent + told - Duration::from_secs(1) - EARLY).into()).await;
        let early = client.send(shown::request(early_ask)).await;
        let let_in = served(plan, &early);
        rows.push(row(&early, start, !let_in));
        if let_in {
            return Some(
                Failure::of(format!(
                    "told Retry-After: {seconds}, the client came back {} after it was refused, \
                     more than a second early, and was let in: the time until the quota has room \
                     is rounded up to whole seconds, so it should have said {} or less",
                    ms(early.sent - sent),
                    seconds - 1
                ))
                .with(table(rows)),
            );
        }
    }
    tokio::time::sleep_until((received + told + LATE).into()).await;
    let late = client.send(shown::request(late_ask)).await;
    let let_in = served(plan, &late);
    rows.push(row(&late, start, let_in));
    (!let_in).then(|| {
        Failure::of(format!(
            "told Retry-After: {seconds}, the client came back {} after the answer, and was \
             refused again ({}): a Retry-After must give the time until the quota has room",
            ms(late.sent - received),
            late.status().map_or("no answer".to_string(), |status| status.to_string())
        ))
        .with(table(rows))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_stretched_from_its_release_to_its_last_answer() {
        let start = Instant::now();
        let at = |millis| start + Duration::from_millis(millis);
        let exchange = |sent, received| Exchange {
            request: Request::get("/reports/1"),
            sent: at(sent),
            received: at(received),
            answer: Err("reset".into()),
        };
        let burst = [exchange(5, 40), exchange(0, 30), exchange(5, 900)];
        assert_eq!(stretched(&burst), Duration::from_millis(900));
        assert_eq!(stretched(&[]), Duration::ZERO);
    }
}
