//! The client half of lesson 6: the learner's `pay` meets a payments server of the judge's that
//! answers each call's attempts as scripted (created, a 5xx, a 409, a 4xx, a dropped
//! connection, silence) and notes every request: its key, its body, when it came.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use super::plan::Payments;
use crate::judge::upstream_old::{Reply, ScriptedUpstream, Seen};
use crate::judge::{Evidence, Failure};
use crate::judge::schedule::{self, Sample, backoff};
use httplings::RetryPolicy;
use httplings::adapter::{SeenError, SeenResponse};
use httplings::fixtures::Payment;

/// How the payments server answers one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Created,
    Status(u16),
    /// 503 with `Retry-After` of this many seconds.
    Asking(u64),
    /// The request read, the connection closed without a word.
    Drop,
    /// No answer until the client gives up.
    Hang,
}

/// One call of `pay` the judge makes.
#[derive(Debug, Clone)]
pub(super) struct PlannedCall {
    pub(super) payment: Payment,
    pub(super) steps: Vec<Step>,
    pub(super) policy: RetryPolicy,
    pub(super) client_timeout: Duration,
    /// How long after the others the call starts (see the long calls).
    pub(super) starts_after: Duration,
}

/// The calls, by the situation they put `pay` in.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) created: PlannedCall,
    pub(super) flaky: PlannedCall,
    pub(super) conflict: PlannedCall,
    pub(super) dropped: PlannedCall,
    pub(super) hanging: PlannedCall,
    pub(super) refused: [PlannedCall; 2],
    /// A 503, a 409, a dropped connection: every time, more times than `max_attempts`.
    pub(super) broken: [PlannedCall; 3],
    /// `Retry-After: 1`, exactly `max_delay`.
    pub(super) asked: PlannedCall,
    /// `Retry-After: 3`, beyond `max_delay`.
    pub(super) too_long: PlannedCall,
    /// Ten 503s each, for the growth of the waits, judged over all of them.
    pub(super) long_outages: Vec<PlannedCall>,
    /// Ten 409s each: a first attempt that takes its time deserves the same patience.
    pub(super) long_conflicts: Vec<PlannedCall>,
    /// The same payment, paid six times over.
    pub(super) twins: Vec<PlannedCall>,
}

/// How long a request may hang before the client handed to `pay` times out.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);

impl Plan {
    pub(super) fn draw(payments: &mut Payments) -> Self {
        let policy = |max_attempts, base, max| RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(base),
            max_delay: Duration::from_millis(max),
        };
        let five_xx = [500, 502, 503, 504];
        let flaky_statuses: Vec<u16> =
            (0..2).map(|_| five_xx[payments.rng().usize(..five_xx.len())]).collect();
        let mut call = |steps: Vec<Step>, policy: RetryPolicy| PlannedCall {
            payment: payments.next(),
            steps,
            policy,
            client_timeout: CLIENT_TIMEOUT,
            starts_after: Duration::ZERO,
        };
        let usual = policy(4, 40, 300);
        let created = call(vec![Step::Created], usual);
        let flaky = call(
            vec![Step::Status(flaky_statuses[0]), Step::Status(flaky_statuses[1]), Step::Created],
            policy(5, 40, 300),
        );
        let conflict =
            call(vec![Step::Status(409), Step::Status(409), Step::Created], policy(5, 40, 300));
        let dropped = call(vec![Step::Drop, Step::Created], usual);
        let hanging = call(vec![Step::Hang, Step::Created], usual);
        let refused = [call(vec![Step::Status(400)], usual), call(vec![Step::Status(422)], usual)];
        let broken = [
            call(vec![Step::Status(503); 5], policy(4, 30, 200)),
            call(vec![Step::Status(409); 5], policy(3, 30, 200)),
            call(vec![Step::Drop; 5], policy(3, 30, 200)),
        ];
        // Exactly max_delay: "more than max_delay" it is not, so it is waited out.
        let asked = call(vec![Step::Asking(1), Step::Created], policy(4, 40, 1_000));
        let too_long = call(vec![Step::Asking(3), Step::Created], policy(4, 40, 1_000));
        // The long calls start after the first rush, one every 30 ms, so that their first,
        // shortest waits do not make a rush of their own.
        let mut long = |status, offset: u64| {
            let mut steps = vec![Step::Status(status); 10];
            steps.push(Step::Created);
            (0..6)
                .map(|index| PlannedCall {
                    starts_after: Duration::from_millis(700 + offset + index * 60),
                    ..call(steps.clone(), policy(11, 10, 120))
                })
                .collect::<Vec<_>>()
        };
        let long_outages = long(503, 0);
        let long_conflicts = long(409, 30);
        let twin = call(vec![Step::Created], usual);
        let twins = vec![twin; 6];
        Plan {
            created,
            flaky,
            conflict,
            dropped,
            hanging,
            refused,
            broken,
            asked,
            too_long,
            long_outages,
            long_conflicts,
            twins,
        }
    }

    /// Every call, each once.
    pub(super) fn calls(&self) -> Vec<&PlannedCall> {
        let mut calls = vec![
            &self.created,
            &self.flaky,
            &self.conflict,
            &self.dropped,
            &self.hanging,
            &self.asked,
            &self.too_long,
        ];
        calls.extend(&self.refused);
        calls.extend(&self.broken);
        calls.extend(&self.long_outages);
        calls.extend(&self.long_conflicts);
        calls.extend(&self.twins);
        calls
    }
}

/// The judge's payments server: every call's attempts answered as its script says, by amount.
pub(super) struct PaymentsServer {
    pub(super) server: ScriptedUpstream,
}

impl PaymentsServer {
    pub(super) async fn start(plan: &Plan, tag: String) -> Self {
        let scripts: HashMap<u64, Vec<Step>> = plan
            .calls()
            .into_iter()
            .map(|call| (call.payment.amount, call.steps.clone()))
            .collect();
        let attempts: Arc<Mutex<HashMap<u64, usize>>> = Arc::default();
        let server = ScriptedUpstream::start(move |seen| {
            let Ok(payment) = serde_json::from_slice::<Payment>(&seen.body) else {
                return Reply::json(400, &json!({"error": {"code": "NOT_A_PAYMENT", "message": "send the payment as JSON"}}));
            };
            let attempt = {
                let mut attempts = attempts.lock().unwrap_or_else(PoisonError::into_inner);
                let attempt = attempts.entry(payment.amount).or_default();
                *attempt += 1;
                *attempt
            };
            let steps = scripts.get(&payment.amount).map_or(&[Step::Created][..], Vec::as_slice);
            answer(steps[(attempt - 1).min(steps.len() - 1)], &payment, attempt, &tag)
        })
        .await;
        Self { server }
    }

    /// The requests made for `payment`, in order of arrival.
    pub(super) fn requests_for(&self, payment: &Payment) -> Vec<Seen> {
        self.server
            .seen()
            .into_iter()
            .filter(|seen| {
                serde_json::from_slice::<Value>(&seen.body)
                    .is_ok_and(|body| body["amount"] == payment.amount)
            })
            .collect()
    }
}

/// The body the payments server sends for `attempt`: what the judge expects `pay` to hand back.
pub(super) fn body_of(step: Step, payment: &Payment, attempt: usize, tag: &str) -> Value {
    match step {
        Step::Created => {
            json!({"payment_id": format!("pay_{tag}_{}_{attempt}", payment.amount), "amount": payment.amount, "currency": payment.currency})
        }
        _ => {
            json!({"error": {"code": "FAILED", "message": format!("attempt {attempt} failed"), "attempt": attempt, "tag": tag}})
        }
    }
}

fn answer(step: Step, payment: &Payment, attempt: usize, tag: &str) -> Reply {
    let body = body_of(step, payment, attempt, tag);
    match step {
        Step::Created => Reply::json(201, &body),
        Step::Status(status) => Reply::json(status, &body),
        Step::Asking(seconds) => {
            let Reply::Respond { status, mut headers, body } = Reply::json(503, &body) else {
                unreachable!("a JSON reply")
            };
            headers.push(("retry-after".into(), seconds.to_string()));
            Reply::Respond { status, headers, body }
        }
        Step::Drop => Reply::Raw(Vec::new()),
        Step::Hang => Reply::Silence,
    }
}

/// What one call of `pay` came to, as the learner's process reported it.
pub(super) type Paid = Result<SeenResponse, SeenError>;

/// A call and what came of it.
pub(super) struct Played<'a> {
    pub(super) call: &'a PlannedCall,
    pub(super) paid: Result<Paid, String>,
    /// When the judge heard what `pay` returned.
    pub(super) returned: std::time::Instant,
    pub(super) requests: Vec<Seen>,
}

/// The key of a request, as sent, quotes and all.
fn key_of(seen: &Seen) -> Option<&str> {
    seen.header("idempotency-key").filter(|key| !key.trim().is_empty())
}

fn request_log(played: &Played) -> Evidence {
    let first = played.requests.first().map(|seen| seen.at);
    let mut body = String::new();
    for (attempt, seen) in played.requests.iter().enumerate() {
        let at = first.map_or(0, |first| seen.at.saturating_duration_since(first).as_millis());
        let step = played.call.steps[attempt.min(played.call.steps.len() - 1)];
        let answered = match step {
            Step::Created => "201 Created".to_string(),
            Step::Status(status) => format!("{status}"),
            Step::Asking(seconds) => format!("503, Retry-After: {seconds}"),
            Step::Drop => "(connection closed, no answer)".into(),
            Step::Hang => "(no answer)".into(),
        };
        let key = key_of(seen)
            .map_or("(no Idempotency-Key)".to_string(), |key| format!("Idempotency-Key: {key}"));
        body.push_str(&format!(
            "{at:>5} ms  POST {}  {key}\n          {}\n          → {answered}\n",
            seen.target,
            String::from_utf8_lossy(&seen.body)
        ));
    }
    let returned = match &played.paid {
        Ok(Ok(response)) => format!("pay returned Ok(a {} response)", response.status),
        Ok(Err(error)) => format!("pay returned {}", schedule::returned(&Err(error.clone()))),
        Err(problem) => format!("pay did not return: {problem}"),
    };
    body.push_str(&format!("          {returned}\n"));
    Evidence::Text {
        title: format!(
            "the payments server saw, for {} {}",
            played.call.payment.amount, played.call.payment.currency
        ),
        body,
    }
}

/// A failure about one call, with its request log.
fn about(played: &Played, summary: String, why: &str) -> Option<Failure> {
    Some(Failure::new(summary, why).with(request_log(played)))
}

pub(super) fn keyed(plays: &[&Played]) -> Option<Failure> {
    let why = "The key is what makes a retry safe: the server recognises the attempt it already processed. Every attempt of one payment must carry the same key, with the same payment, or the server sees a new payment each time.";
    for played in plays.iter().copied() {
        let keys: Vec<Option<&str>> = played.requests.iter().map(key_of).collect();
        if keys.iter().any(Option::is_none) {
            return about(played, "a request came without an Idempotency-Key".into(), why);
        }
        if keys.windows(2).any(|pair| pair[0] != pair[1]) {
            return about(
                played,
                format!("the {} attempts of one call carried {} different keys", keys.len(), {
                    let mut distinct = keys.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    distinct.len()
                }),
                why,
            );
        }
        let wrong_body = played.requests.iter().find(|seen| {
            serde_json::from_slice::<Payment>(&seen.body).ok().as_ref()
                != Some(&played.call.payment)
                || seen
                    .header("content-type")
                    .is_none_or(|value| !value.starts_with("application/json"))
        });
        if wrong_body.is_some() {
            return about(
                played,
                "a request did not carry the payment as JSON (Content-Type: application/json)"
                    .into(),
                why,
            );
        }
    }
    None
}

/// Whether `keys` look random: long enough, and any two of a length differing in most places.
fn unguessable(keys: &[&str]) -> Result<(), String> {
    if let Some(short) = keys.iter().find(|key| key.trim_matches('"').len() < 16) {
        return Err(format!(
            "the key {short:?} is too short to be unguessable (use 16 characters or more: a v4 UUID has 36)"
        ));
    }
    for (at, one) in keys.iter().enumerate() {
        for other in &keys[at + 1..] {
            if one.len() == other.len() {
                let differing = one.bytes().zip(other.bytes()).filter(|(a, b)| a != b).count();
                if differing < 8 {
                    return Err(format!(
                        "the keys {one:?} and {other:?} differ in {differing} places: keys that follow a pattern can be guessed, and collide"
                    ));
                }
            }
        }
    }
    Ok(())
}

pub(super) fn fresh(singles: &[&Played], twins: &[Seen]) -> Option<Failure> {
    let why = "One key per payment, made fresh for each call: two calls with the same amount are two payments (a customer may well buy the same thing twice), and a key that can be guessed or repeated lets two payments collide. A v4 UUID (122 random bits) is the usual choice.";
    let firsts = singles.iter().filter_map(|played| played.requests.first());
    let requests: Vec<&Seen> = firsts.chain(twins).collect();
    let shown = |keys: &[&str]| Evidence::Text {
        title: "the first key of each call (the last six paid the same payment)".into(),
        body: if keys.is_empty() {
            "(none: no request had a key)\n".into()
        } else {
            keys.join("\n") + "\n"
        },
    };
    let keys: Vec<&str> = requests.iter().filter_map(|seen| key_of(seen)).collect();
    if keys.len() < requests.len() {
        return Some(
            Failure::new("a request came without an Idempotency-Key", why).with(shown(&keys)),
        );
    }
    let mut distinct = keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < keys.len() {
        let summary = format!(
            "{} calls of pay used {} different keys: a key was used for more than one payment",
            keys.len(),
            distinct.len()
        );
        return Some(Failure::new(summary, why).with(shown(&keys)));
    }
    unguessable(&keys).err().map(|problem| Failure::new(problem, why).with(shown(&keys)))
}

/// What is wrong with what `pay` returned, given the response it should have handed back.
fn returned_problem(played: &Played, tag: &str) -> Option<String> {
    let attempts = played.requests.len();
    let step = played.call.steps[attempts.saturating_sub(1).min(played.call.steps.len() - 1)];
    let expected_status = match step {
        Step::Created => 201,
        Step::Status(status) => status,
        Step::Asking(_) => 503,
        // No answer to hand back: the error that came instead, whatever reqwest calls it.
        Step::Drop | Step::Hang => {
            return match &played.paid {
                Ok(Err(error)) if !error.builder => None,
                Ok(Err(error)) => Some(format!("pay returned {}", schedule::returned(&Err(error.clone())))),
                Ok(Ok(response)) => Some(format!(
                    "pay returned a {} response, when the last attempt got no answer at all",
                    response.status
                )),
                Err(problem) => Some(format!("pay did not return: {problem}")),
            };
        }
    };
    let expected_body = body_of(step, &played.call.payment, attempts, tag);
    match &played.paid {
        Ok(Ok(response))
            if response.status == expected_status
                && response
                    .body
                    .as_ref()
                    .ok()
                    .and_then(|body| serde_json::from_str::<Value>(body).ok())
                    == Some(expected_body) =>
        {
            None
        }
        Ok(Ok(response)) => Some(format!(
            "pay returned a {} response, not the {expected_status} of the last attempt as it came",
            response.status
        )),
        Ok(Err(error)) => {
            Some(format!("pay returned {}, not the {expected_status} response", schedule::returned(&Err(error.clone()))))
        }
        Err(problem) => Some(format!("pay did not return: {problem}")),
    }
}

pub(super) fn retries(plays: &[&Played], tag: &str) -> Option<Failure> {
    let why = "A POST with an idempotency key is safe to repeat: a 5xx, a dropped connection or a timeout may have charged or not, and the same key makes the server sort it out; a 409 says the first attempt is still being processed. Retry all of them until the payment is made.";
    for played in plays.iter().copied() {
        let needed =
            played.call.steps.iter().position(|step| *step == Step::Created).map_or(0, |at| at + 1);
        if played.requests.len() != needed {
            return about(
                played,
                format!("{} came; the payment needed {needed}", requests(played.requests.len())),
                why,
            );
        }
        if let Some(problem) = returned_problem(played, tag) {
            return about(played, problem, why);
        }
    }
    None
}

pub(super) fn never(plays: &[&Played], tag: &str) -> Option<Failure> {
    let why = "A 400 or a 422 says the request itself is wrong (no key, a key reused for another payment): the same request will be refused the same way every time. Return it at once, and let the caller fix it.";
    for played in plays.iter().copied() {
        if played.requests.len() != 1 {
            return about(
                played,
                format!(
                    "a {} was retried: {} came",
                    played.call.steps[0].status(),
                    requests(played.requests.len())
                ),
                why,
            );
        }
        if let Some(problem) = returned_problem(played, tag) {
            return about(played, problem, why);
        }
    }
    None
}

impl Step {
    fn status(self) -> u16 {
        match self {
            Step::Created => 201,
            Step::Status(status) => status,
            Step::Asking(_) => 503,
            Step::Drop | Step::Hang => 0,
        }
    }
}

pub(super) fn gives_up(plays: &[&Played], tag: &str) -> Option<Failure> {
    let why = "max_attempts bounds the damage of an outage, whatever the failure: after that many requests, hand back the last response as it came (status and body), or the last error, and let the caller decide. The key stays valid: a later call may try again with it.";
    for played in plays.iter().copied() {
        let max = played.call.policy.max_attempts as usize;
        if played.requests.len() != max {
            let failure = match played.call.steps[0] {
                Step::Drop => "dropped the connection".to_string(),
                step => format!("answered {}", step.status()),
            };
            let summary = format!(
                "the server {failure} every time, and {} came; max_attempts is {max}",
                requests(played.requests.len())
            );
            return about(played, summary, why);
        }
        if let Some(problem) = returned_problem(played, tag) {
            return about(played, problem, why);
        }
    }
    None
}

/// "1 request", "3 requests".
fn requests(count: usize) -> String {
    if count == 1 { "1 request".into() } else { format!("{count} requests") }
}

/// How much longer than max_delay a wait may be: the time to notice and send again, on a busy
/// machine. (Lesson 3 judges the backoff's growth closely; here it is the bounds that matter.)
const SLACK: Duration = Duration::from_millis(250);

/// The waits between one call's requests, each with the longest backoff allows there (a wait
/// after a silence or a Retry-After is judged on its own).
fn waits(played: &Played) -> Vec<(Duration, Duration)> {
    played
        .requests
        .windows(2)
        .zip(1..)
        .filter(|(_, retry)| {
            !matches!(
                played.call.steps.get(*retry as usize - 1),
                Some(Step::Hang | Step::Asking(_))
            )
        })
        .map(|(pair, retry)| {
            (pair[1].at.saturating_duration_since(pair[0].at), backoff(&played.call.policy, retry))
        })
        .collect()
}

/// The waits judged in aggregate: each wait of the long outages against the longest backoff
/// allows there.
fn samples(long_outages: &[&Played]) -> Vec<Sample> {
    long_outages
        .iter()
        .flat_map(|played| waits(played))
        .map(|(waited, nominal)| Sample { waited, nominal })
        .collect()
}

pub(super) fn waits_well(
    backing_off: &[&Played],
    long: [&[&Played]; 2],
    asked: &Played,
    too_long: &Played,
) -> Option<Failure> {
    let why = "Retrying a payment at once hammers a processor that is struggling, and backoff without a ceiling leaves the customer waiting: wait up to base_delay × 2^(n−1) (with jitter, never more than max_delay), and a Retry-After when the server sends one, unless it asks for more than max_delay: then return at once.";
    for played in backing_off.iter().chain(long[0]).chain(long[1]).copied() {
        for (wait, _) in waits(played) {
            let max_delay = played.call.policy.max_delay;
            if wait > max_delay + SLACK {
                let summary = format!(
                    "a retry came {} ms after the attempt before; no wait may be longer than max_delay, {} ms",
                    wait.as_millis(),
                    max_delay.as_millis()
                );
                return about(played, summary, why);
            }
        }
    }
    // Each kind on its own: a client patient after a 503 may rush after a 409.
    for (outages, kind) in long.into_iter().zip(["503", "409"]) {
        if let Some(problem) = schedule::growth(&samples(outages)) {
            return Some(Failure::new(format!("after a {kind}, {problem}"), why));
        }
    }
    let [first, second] = &asked.requests[..] else {
        let summary = format!(
            "a 503 asked for Retry-After: 1, then {} came in all, not 2",
            requests(asked.requests.len())
        );
        return about(asked, summary, why);
    };
    let gap = second.at.saturating_duration_since(first.at);
    let asked_for = Duration::from_secs(1);
    if gap + Duration::from_millis(20) < asked_for || gap > asked_for * 3 / 2 + SLACK {
        let summary = format!(
            "a 503 asked for Retry-After: 1, and the retry came {} ms later",
            gap.as_millis()
        );
        return about(asked, summary, why);
    }
    let took = too_long
        .requests
        .first()
        .map_or(Duration::ZERO, |first| too_long.returned.saturating_duration_since(first.at));
    if too_long.requests.len() != 1 || took > Duration::from_millis(500) {
        let summary = format!(
            "a 503 asked for Retry-After: 3, beyond max_delay (1 s): {} came, and pay returned {} ms after the first",
            requests(too_long.requests.len()),
            took.as_millis()
        );
        return about(too_long, summary, why);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_pass_and_patterns_do_not() {
        let uuids =
            ["3f1c6a2e-9b7d-4e21-8a5f-0c4d2b9e7a13", "a8e5d0c1-2f3b-4c6d-9e7f-81a2b3c4d5e6"];
        assert!(unguessable(&uuids).is_ok());
        assert!(unguessable(&["\"3f1c6a2e-9b7d-4e21-8a5f-0c4d2b9e7a13\""]).is_ok());
        assert!(unguessable(&["payment-000000001", "payment-000000002"]).is_err());
        assert!(unguessable(&["1764134400123"]).is_err());
    }
}
