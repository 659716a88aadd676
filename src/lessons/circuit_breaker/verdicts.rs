//! Lesson 5's verdicts, each from what the five instances answered and when, and how many
//! requests reached their inventories.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::Seen;
use super::evidence::{
    Timeline, did, diff, fast_503_problem, is_503, is_item, is_status, item_diff, millis,
    not_healthy, ordinal, status_problem, unavailable_diff, v_timeline, w_timeline, x_timeline,
    y_timeline, z_timeline,
};
use super::exchange::{Burst, Exchange, PAST_COOLDOWN};
use super::inventory::{Fault, Mood};
use crate::judge::answer::{Shown, error_problem, expected_error};
use crate::judge::{Evidence, Failure, Row};

/// How much sooner than the inventory's timeout a learner's service may give up on it: its
/// clock starts a moment after the judge's.
const EARLY: Duration = Duration::from_millis(30);

/// The status and error code a failure of the inventory comes back as.
fn failure_status(fault: Fault) -> (StatusCode, &'static str) {
    match fault {
        Fault::Silence => (StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT"),
        Fault::Status(_) | Fault::Garbage => (StatusCode::BAD_GATEWAY, "BAD_GATEWAY"),
    }
}

/// What is wrong with the answer to a request the inventory failed, if anything. An
/// inventory's own 504 is an answer, so a 502; passing it on as a 504 is common, and fine too.
fn failure_problem(
    exchange: &Exchange,
    fault: Fault,
) -> Option<(StatusCode, &'static str, String)> {
    let (status, code) = failure_status(fault);
    let problem = error_problem(&exchange.answer, status, code)?;
    let passed_on = fault == Fault::Status(504)
        && error_problem(&exchange.answer, StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT")
            .is_none();
    (!passed_on).then_some((status, code, problem))
}

pub(super) fn closed(seen: &Seen) -> Option<Failure> {
    let x = seen.x;
    let before_success = seen.plan.threshold as usize;
    // A 503 here is a breaker open too soon: the check of counting says so.
    let closed =
        x.counting.exchanges[..before_success].iter().take_while(|exchange| !is_503(exchange));
    for exchange in [&x.healthy].into_iter().chain(closed) {
        let failure = match exchange.inventory {
            None | Some(Mood::Healthy(_) | Mood::Missing) => (!is_item(exchange)).then(|| {
                Failure::new(
                    format!("GET {}: the inventory had the item, and it did not come through", exchange.path),
                    "While the inventory answers, the breaker is invisible: the client gets the item as the inventory has it.",
                )
                .with(item_diff(exchange))
            }),
            Some(Mood::Failing(fault)) => failure_problem(exchange, fault).map(|(status, code, problem)| {
                Failure::new(
                    format!("GET {}: the inventory {}, and the answer is wrong: {problem}", exchange.path, did(Mood::Failing(fault))),
                    "A closed breaker changes nothing about lesson 4: a failure behind you is a 502, no answer in time a 504, each in your own JSON.",
                )
                .with(diff(&expected_error(&exchange.answer, status, code), exchange, &["content-type"]))
            }),
        };
        if let Some(failure) = failure {
            return Some(failure.with(x_timeline(seen)));
        }
    }
    None
}

/// Whether instance X's breaker answered a single 503 before the cooldown was over.
fn ever_opened(seen: &Seen) -> bool {
    let x = seen.x;
    x.counting
        .exchanges
        .iter()
        .chain([&x.trigger])
        .chain(&x.open.exchanges)
        .chain(&x.later.exchanges)
        .any(is_503)
}

/// The failure of a check that needs a breaker that opens, when none ever did.
fn never_opened(seen: &Seen, needed: &str) -> Failure {
    Failure::new(
        format!(
            "the breaker never opened: after {} failures in a row, requests still reached the inventory, and no answer was a 503",
            seen.plan.threshold
        ),
        format!(
            "This check needs a breaker that opens ({needed}); the check that it opens shows what happened instead."
        ),
    )
}

pub(super) fn opens(seen: &Seen) -> Option<Failure> {
    let why = "Once the breaker is open, the inventory gets a rest and your clients get an answer at once, instead of each waiting for a timeout: a 503, which says the trouble is temporary. A timeout is a failure like any other, and the costliest.";
    let (plan, x, y, v) = (seen.plan, seen.x, seen.y, seen.v);
    let bursts: [(&Burst, String, Timeline); 5] = [
        (&x.open, format!("after {} failures in a row", plan.threshold), x_timeline),
        (&x.later, format!("after {} failures in a row", plan.threshold), x_timeline),
        (
            &y.open_probe,
            format!("after {} failures in a row, the last a timeout", plan.threshold),
            y_timeline,
        ),
        (
            &v.open,
            format!("after {} failures in a row (that instance's threshold)", plan.v_threshold),
            v_timeline,
        ),
        (
            &v.later,
            format!("after {} failures in a row (that instance's threshold)", plan.v_threshold),
            v_timeline,
        ),
    ];
    for (burst, when, timeline) in bursts {
        if burst.reached > 0 {
            let summary = format!(
                "{when}, {} of the {} requests that followed still reached the inventory",
                burst.reached,
                burst.exchanges.len()
            );
            return Some(Failure::new(summary, why).with(timeline(seen)));
        }
        for exchange in &burst.exchanges {
            if let Some(problem) = fast_503_problem(exchange) {
                return Some(
                    Failure::new(format!("GET {} {when}: {problem}", exchange.path), why)
                        .with(unavailable_diff(exchange))
                        .with(timeline(seen)),
                );
            }
        }
    }
    None
}

pub(super) fn counts(seen: &Seen) -> Option<Failure> {
    if !ever_opened(seen) {
        return Some(never_opened(
            seen,
            "it judges that it opens on failures in a row, and not before",
        ));
    }
    let (plan, x, v) = (seen.plan, seen.x, seen.v);
    let v_early = &v.opening.exchanges[..v.opening.exchanges.len() - 1];
    let runs: [(&[Exchange], usize, u32, Timeline); 2] = [
        (&x.counting.exchanges, x.counting.reached, plan.threshold, x_timeline),
        (v_early, v.opening.reached.min(v_early.len()), plan.v_threshold, v_timeline),
    ];
    for (exchanges, reached, threshold, timeline) in runs {
        let opened = exchanges.iter().position(is_503);
        if opened.is_none() && reached == exchanges.len() {
            continue;
        }
        let summary = match opened {
            Some(at) => format!(
                "the breaker opened at the {} request, with never {threshold} failures in a row (the threshold is {threshold})",
                ordinal(at + 1)
            ),
            None => format!(
                "only {reached} of these {} requests reached the inventory, with never {threshold} failures in a row",
                exchanges.len()
            ),
        };
        return Some(
            Failure::new(
                summary,
                "A breaker opens on failures in a row, as many as the policy it is given says: one success shows the dependency is back, and the count starts again. Counting every failure ever would open it, sooner or later, on a service that is fine.",
            )
            .with(timeline(seen)),
        );
    }
    None
}

pub(super) fn not_found(seen: &Seen) -> Option<Failure> {
    let why = "A 404 is the inventory working: it looked, and the item does not exist. Pass it on (the client asked for something that is not there), and never count it: a breaker that opened on 404s would shut everyone out because some clients asked for the wrong thing.";
    let missing = &seen.x.missing;
    let wrong =
        missing.exchanges.iter().find(|exchange| !is_status(exchange, StatusCode::NOT_FOUND));
    let next = seen.x.counting.exchanges.first();
    let opened = missing.reached < missing.exchanges.len() || next.is_some_and(is_503);
    let summary = match wrong {
        _ if opened => {
            format!(
                "after {} answers of 404 from the inventory, the breaker opened",
                seen.plan.threshold
            )
        }
        Some(exchange) => format!(
            "GET {}: the inventory answered 404, and the service answered {}",
            exchange.path,
            status_problem(exchange, StatusCode::NOT_FOUND).unwrap_or_default()
        ),
        None => return None,
    };
    Some(Failure::new(summary, why).with(x_timeline(seen)))
}

/// When a breaker opened: no sooner than it could know of the failure, no later than it said so.
#[derive(Debug, Clone, Copy)]
struct Opened {
    earliest: Instant,
    latest: Instant,
}

impl Opened {
    fn by(exchange: &Exchange) -> Self {
        Self { earliest: exchange.sent, latest: exchange.received }
    }
}

/// The Retry-After values an answer may carry, sent between `exchange.sent` and
/// `exchange.received` by a breaker that `opened` for `cooldown`: the cooldown left, rounded
/// up, at least 1.
fn acceptable(cooldown: Duration, opened: Opened, exchange: &Exchange) -> RangeInclusive<u64> {
    let left = |since: Duration| {
        let left = cooldown.saturating_sub(since);
        (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1)
    };
    let least = left(exchange.received.saturating_duration_since(opened.earliest));
    let most = left(exchange.sent.saturating_duration_since(opened.latest));
    least..=most
}

fn retry_after_seconds(exchange: &Exchange) -> Result<u64, String> {
    let Ok(answer) = &exchange.answer else { return Err("(no answer)".into()) };
    let values: Vec<_> = answer.headers.get_all("retry-after").iter().collect();
    match values.as_slice() {
        [] => Err("(not sent)".into()),
        [value] => {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
            digits.then(|| text.parse().ok()).flatten().ok_or(text)
        }
        _ => Err(format!("{} values", values.len())),
    }
}

/// One 503 whose Retry-After is judged.
struct Asked<'a> {
    instance: &'static str,
    exchange: &'a Exchange,
    opened: Opened,
    cooldown: Duration,
    /// Half-open, the trial under way: the cooldown is over, and anything up to a whole new
    /// one is fair, since the trial may fail.
    half_open: bool,
}

fn asked_for_retry_after<'a>(seen: &'a Seen) -> Vec<Asked<'a>> {
    let (plan, x, y, v) = (seen.plan, seen.x, seen.y, seen.v);
    let open = |instance, exchanges: &'a [Exchange], opened, cooldown| {
        exchanges.iter().map(move |exchange| Asked {
            instance,
            exchange,
            opened,
            cooldown,
            half_open: false,
        })
    };
    // Y's breaker could not know of the silent failure before the inventory's timeout was up.
    let y_opened =
        Opened { earliest: y.silent.sent + plan.timeout - EARLY, latest: y.silent.received };
    let mut asked: Vec<Asked> = open("X", &x.open.exchanges, Opened::by(&x.trigger), plan.cooldown)
        .chain(open("X", &x.later.exchanges, Opened::by(&x.trigger), plan.cooldown))
        .chain(open("Y", &y.open_probe.exchanges, y_opened, plan.cooldown))
        .collect();
    if let Some(trial) = y.trial.exchanges.first() {
        let reopened = Opened::by(trial);
        asked.extend(open("Y", &y.right_after.exchanges, reopened, plan.cooldown));
        asked.extend(open("Y", &y.half_later.exchanges, reopened, plan.cooldown));
    }
    let v_trigger = v.opening.exchanges.last().expect("a threshold of at least one");
    asked.extend(open("V", &v.open.exchanges, Opened::by(v_trigger), plan.v_cooldown));
    asked.extend(open("V", &v.later.exchanges, Opened::by(v_trigger), plan.v_cooldown));
    asked.extend(x.trial.exchanges.iter().map(|exchange| Asked {
        instance: "X",
        exchange,
        opened: Opened::by(&x.trigger),
        cooldown: plan.cooldown,
        half_open: true,
    }));
    asked.retain(|asked| is_503(asked.exchange));
    asked
}

pub(super) fn retry_after(seen: &Seen) -> Option<Failure> {
    if !ever_opened(seen) {
        return Some(never_opened(seen, "it judges the Retry-After of its 503s"));
    }
    let mut rows = Vec::new();
    let mut wrong = None;
    for asked in asked_for_retry_after(seen) {
        let exchange = asked.exchange;
        let range = if asked.half_open {
            1..=asked.cooldown.as_secs() + u64::from(asked.cooldown.subsec_nanos() > 0)
        } else {
            acceptable(asked.cooldown, asked.opened, exchange)
        };
        let sent = retry_after_seconds(exchange);
        let ok = sent.as_ref().is_ok_and(|seconds| range.contains(seconds));
        let since = millis(exchange.sent.saturating_duration_since(asked.opened.latest));
        let left = asked
            .cooldown
            .saturating_sub(exchange.sent.saturating_duration_since(asked.opened.latest));
        let when = if asked.half_open {
            format!("{}, half-open, the trial under way", asked.instance)
        } else {
            format!("{}, {since} ms after it opened", asked.instance)
        };
        if !ok && wrong.is_none() {
            wrong = Some((when.clone(), asked.cooldown, sent.clone()));
        }
        let expected = if range.start() == range.end() {
            range.start().to_string()
        } else {
            format!("{} to {}", range.start(), range.end())
        };
        rows.push(Row {
            cells: vec![
                when,
                format!("{} ms", millis(left)),
                sent.map_or_else(|shown| shown, |seconds| seconds.to_string()),
                expected,
            ],
            ok,
        });
    }
    let (when, cooldown, sent) = wrong?;
    let sent = match sent {
        Ok(seconds) => format!("Retry-After: {seconds}"),
        Err(shown) if shown.starts_with('(') => format!("Retry-After {shown}"),
        Err(shown) => format!("Retry-After: {shown}, which is not whole seconds"),
    };
    Some(
        Failure::new(
            format!("instance {when} (cooldown {} ms): {sent}", millis(cooldown)),
            "The breaker knows when it will let a request through again: the cooldown left. Rounded up, so that a client that waits as asked never arrives early; at least 1, since 0 would invite it straight back. (This exercise opens for the same cooldown every time: no backoff.)",
        )
        .with(Evidence::Table {
            columns: ["503 from", "cooldown left", "Retry-After", "expected"].map(String::from).to_vec(),
            rows,
        }),
    )
}

pub(super) fn one_trial(seen: &Seen) -> Option<Failure> {
    if !ever_opened(seen) {
        return Some(never_opened(seen, "it judges what gets through once the cooldown is over"));
    }
    let (plan, trial) = (seen.plan, &seen.x.trial);
    if !seen.w.trial_reached {
        return Some(
            Failure::new(
                format!(
                    "GET {}, the first request {} ms after the cooldown had passed, did not reach the inventory",
                    seen.w.abandoned.path,
                    millis(PAST_COOLDOWN)
                ),
                "The cooldown starts when the breaker opens, and when it is over the next request is the trial: whether anyone asked in between changes nothing.",
            )
            .with(w_timeline(seen)),
        );
    }
    let count = trial.exchanges.len();
    let why = "Half-open is a question, asked once: one request finds out whether the inventory is back. A crowd let through at once would hit a service that may still be down, the very load the breaker exists to hold off; and while the trial is under way, everyone else still gets the fast 503.";
    let summary = match trial.reached {
        1 => trial.exchanges.iter().find(|exchange| !is_item(exchange)).and_then(|waited| {
            let problem = fast_503_problem(waited)?;
            Some(format!("GET {} arrived with the trial under way: {problem}", waited.path))
        }),
        0 => Some(format!(
            "{count} requests arrived {} ms after the cooldown of {} ms had passed, and none reached the inventory",
            millis(PAST_COOLDOWN),
            millis(plan.cooldown)
        )),
        reached => Some(format!(
            "{count} requests arrived when the cooldown had passed (most at once, a few while the first was on its way), and {reached} reached the inventory"
        )),
    }?;
    Some(Failure::new(summary, why).with(x_timeline(seen)))
}

pub(super) fn closes(seen: &Seen) -> Option<Failure> {
    if !ever_opened(seen) {
        return Some(never_opened(seen, "it judges that a trial that succeeds closes it again"));
    }
    let (plan, x) = (seen.plan, seen.x);
    let why = "A trial that succeeds shows the inventory is back: the breaker closes, every request goes through again, and the count of failures starts from zero.";
    let Some(trial) = x.trial.exchanges.iter().find(|exchange| is_item(exchange)) else {
        let summary = "when the cooldown had passed, no request came back with its item: the trial never reached a healthy inventory";
        return Some(Failure::new(summary, why).with(x_timeline(seen)));
    };
    let (next, failures) = x.after.exchanges.split_last().expect("failures and an item after");
    let reopened = failures.iter().any(is_503) || x.after.reached < x.after.exchanges.len();
    if reopened {
        let summary = format!(
            "after the trial GET {} closed it, {} failures (fewer than the threshold of {}) opened the breaker again",
            trial.path,
            failures.len(),
            plan.threshold
        );
        return Some(Failure::new(summary, why).with(x_timeline(seen)));
    }
    (!is_item(next)).then(|| {
        Failure::new(
            format!(
                "the trial GET {} closed the breaker, and a later request, GET {}, did not come back with its item",
                trial.path, next.path
            ),
            why,
        )
        .with(item_diff(next))
        .with(x_timeline(seen))
    })
}

pub(super) fn reopens(seen: &Seen) -> Option<Failure> {
    if !ever_opened(seen) {
        return Some(never_opened(seen, "it judges what a failed trial does"));
    }
    let (plan, y) = (seen.plan, seen.y);
    let why = "A trial that fails is the answer to the question: the inventory is still down. The breaker opens for a whole cooldown again, counted from the failed trial; the old cooldown is spent.";
    let Some(trial) = y.trial.exchanges.first().filter(|_| y.trial.reached == 1) else {
        let summary = format!(
            "one request came {} ms after the cooldown had passed, and it did not reach the inventory (so the trial never happened)",
            millis(PAST_COOLDOWN)
        );
        return Some(Failure::new(summary, why).with(y_timeline(seen)));
    };
    for (burst, when) in [(&y.right_after, "right after"), (&y.half_later, "half a cooldown after")]
    {
        let exchange = &burst.exchanges[0];
        let problem = if burst.reached > 0 {
            Some("it reached the inventory".to_string())
        } else {
            fast_503_problem(exchange)
        };
        if let Some(problem) = problem {
            return Some(
                Failure::new(
                    format!(
                        "the trial GET {} failed; GET {}, {when} it ({} ms cooldown): {problem}",
                        trial.path,
                        exchange.path,
                        millis(plan.cooldown)
                    ),
                    why,
                )
                .with(unavailable_diff(exchange))
                .with(y_timeline(seen)),
            );
        }
    }
    None
}

pub(super) fn abandoned(seen: &Seen) -> Option<Failure> {
    if !ever_opened(seen) {
        return Some(never_opened(seen, "it judges what an abandoned trial leaves behind"));
    }
    let w = seen.w;
    if w.probes.last().is_some_and(is_item) {
        return None;
    }
    let waited = w
        .probes
        .last()
        .map_or(0, |probe| millis(probe.received.saturating_duration_since(w.abandoned.sent)));
    Some(
        Failure::new(
            format!(
                "the trial's client hung up; for {waited} ms after that (the cooldown is {} ms), no request got its item again",
                millis(seen.plan.cooldown)
            ),
            "When a client hangs up, axum drops its handler's future: the code after the .await never runs, and a breaker waiting for the trial's outcome waits forever, refusing everyone. Notice the permit being dropped (impl Drop) and let another request be the trial, or open again for a cooldown.",
        )
        .with(w_timeline(seen)),
    )
}

pub(super) fn live(seen: &Seen) -> Option<Failure> {
    let (x, y, z) = (seen.x, seen.y, seen.z);
    let asked: [(&Exchange, &str, Timeline); 5] = [
        (&x.live_while_open, "with the breaker open", x_timeline),
        (
            &y.live_while_failing,
            "while the inventory was failing, one request waiting for it",
            y_timeline,
        ),
        (&z.live_before, "before draining", z_timeline),
        (&z.live_while_draining, "while draining", z_timeline),
        (&z.live_later, "a second into draining", z_timeline),
    ];
    let (when, timeline, problem) = asked
        .into_iter()
        .find_map(|(exchange, when, timeline)| Some((when, timeline, not_healthy(exchange)?)))?;
    Some(
        Failure::new(
            format!("GET /health/live {when}: {problem}"),
            "Liveness asks one thing: is this process able to answer at all? A 'no' gets it restarted. A failing dependency or a planned shutdown is no reason to restart anything.",
        )
        .with(timeline(seen)),
    )
}

pub(super) fn ready(seen: &Seen) -> Option<Failure> {
    let (x, y, z) = (seen.x, seen.y, seen.z);
    let shared = "Readiness must not follow the inventory or the breaker. The inventory is shared: every replica's breaker opens together, every replica goes unready, and the load balancer has nowhere to send anyone. Your clients get its bare error, without your JSON or your Retry-After.";
    let asked: [(&Exchange, &str, &str, Timeline); 4] = [
        (&x.ready_while_open, "with the breaker open", shared, x_timeline),
        (&x.ready_while_half_open, "with the breaker half-open", shared, x_timeline),
        (
            &y.ready_while_failing,
            "while the inventory was failing, one request waiting for it",
            shared,
            y_timeline,
        ),
        (
            &z.ready_before,
            "before draining",
            "An instance that is up and not draining is ready: otherwise it never gets any traffic.",
            z_timeline,
        ),
    ];
    if let Some((when, why, timeline, problem)) =
        asked.into_iter().find_map(|(exchange, when, why, timeline)| {
            Some((when, why, timeline, not_healthy(exchange)?))
        })
    {
        return Some(
            Failure::new(format!("GET /health/ready {when}: {problem}"), why).with(timeline(seen)),
        );
    }
    let exchange = &z.ready_while_draining;
    let problem = status_problem(exchange, StatusCode::SERVICE_UNAVAILABLE).or_else(|| {
        let answer = exchange.answer.as_ref().ok()?;
        let value = answer.header("retry-after").and_then(|value| value.to_str().ok());
        let valid = value.is_some_and(|value| {
            let value = value.trim();
            value.parse::<u64>().is_ok() || httpdate::parse_http_date(value).is_ok()
        });
        (!valid).then(|| "no valid Retry-After".to_string())
    })?;
    Some(
        Failure::new(
            format!("GET /health/ready while draining: {problem}"),
            "Draining starts with 'not ready': the load balancer takes the instance out of rotation and sends new traffic elsewhere, while what is under way finishes. A 503 says exactly that, and Retry-After says it is not for long.",
        )
        .with(diff(
            &Shown::status(StatusCode::SERVICE_UNAVAILABLE).header("retry-after", "<seconds or an HTTP-date>"),
            exchange,
            &["retry-after"],
        ))
        .with(z_timeline(seen)),
    )
}

pub(super) fn draining(seen: &Seen) -> Option<Failure> {
    let z = seen.z;
    let asked = [
        (&z.in_flight, "sent before draining began, answered after it"),
        (&z.item_while_draining, "sent while draining"),
    ];
    let (exchange, when) = asked.into_iter().find(|(exchange, _)| !is_item(exchange))?;
    Some(
        Failure::new(
            format!("GET {}, {when}, did not come back with its item", exchange.path),
            "Draining is how a deploy causes no 5xx: the instance stops getting new traffic, and answers, as well as ever, everything it does get until it stops.",
        )
        .with(item_diff(exchange))
        .with(z_timeline(seen)),
    )
}

pub(super) fn no_queue(seen: &Seen) -> Option<Failure> {
    let (plan, x, y) = (seen.plan, seen.x, seen.y);
    let why = "The breaker's state is shared, but a request must hold it only for a moment: to read it, and to record an outcome. Held across the call to the inventory, every request waits for the one before it, and one slow answer makes everyone slow.";
    // What is wrong with each quick answer itself, with the diff that shows it.
    let x_wrong = (!is_item(&x.quick)).then(|| ("not its item".to_string(), item_diff(&x.quick)));
    let y_wrong = failure_problem(&y.quick, Fault::Status(500)).map(|(status, code, problem)| {
        (problem, diff(&expected_error(&y.quick.answer, status, code), &y.quick, &["content-type"]))
    });
    let pairs = [
        (&x.quick, &x.slow, x_wrong, plan.slow, x_timeline as Timeline),
        (&y.quick, &y.silent, y_wrong, plan.timeout, y_timeline),
    ];
    for (quick, slow, wrong, held, timeline) in pairs {
        let failure = match wrong {
            Some((problem, evidence)) => Failure::new(
                format!("GET {}, asked while a slow request was on its way: {problem}", quick.path),
                why,
            )
            .with(evidence),
            None if quick.received < slow.received => continue,
            None => Failure::new(
                format!(
                    "GET {} waited for GET {}: the inventory answered it at once, and it came back {} ms after the slow one, which the inventory held for {} ms",
                    quick.path,
                    slow.path,
                    millis(quick.received.saturating_duration_since(slow.received)),
                    millis(held)
                ),
                why,
            ),
        };
        return Some(failure.with(timeline(seen)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, from_ms: u64, to_ms: u64) -> Exchange {
        Exchange {
            path: "/items/1".into(),
            sent: start + Duration::from_millis(from_ms),
            received: start + Duration::from_millis(to_ms),
            answer: Err("unused".into()),
            inventory: None,
        }
    }

    #[test]
    fn retry_after_is_the_cooldown_left_rounded_up_and_at_least_one() {
        let start = Instant::now();
        let opened = Opened::by(&at(start, 0, 10));
        let cooldown = Duration::from_millis(1_200);
        assert_eq!(acceptable(cooldown, opened, &at(start, 12, 15)), 2..=2);
        assert_eq!(acceptable(cooldown, opened, &at(start, 700, 705)), 1..=1);
        // A slow answer spans the boundary: both values are right.
        assert_eq!(acceptable(cooldown, opened, &at(start, 150, 300)), 1..=2);
        assert_eq!(acceptable(cooldown, opened, &at(start, 1_500, 1_505)), 1..=1);
        let long = Duration::from_millis(3_300);
        assert_eq!(acceptable(long, opened, &at(start, 12, 15)), 4..=4);
        assert_eq!(acceptable(long, opened, &at(start, 810, 812)), 3..=3);
    }
}
