//! The rules of an idempotency key's life, written once as a [`Model`]: unknown (or known only
//! to the processor, after a failure whose outcome got lost), in flight, abandoned by a client
//! that hung up, or answered and stored. The judge plays generated scenarios against the
//! learner's server and checks each key's recorded history against these rules.

use std::fmt;
use std::time::Duration;

use axum::http::StatusCode;
use httplings::fixtures::Payment;

use super::processor::Fate;
use crate::judge::answer::Answer;
use crate::judge::bounds::{Bound, millis};
use crate::judge::model::Model;

/// What the judge did at one step of a key's life.
#[derive(Debug, Clone)]
pub(super) enum Step {
    /// A request with the key and `payment`; the processor, if asked, does `fate`.
    Pay { payment: Payment, fate: Fate, respelled: bool },
    /// The first request, whose charge the processor holds, as it reached the processor.
    Claimed { payment: Payment },
    /// A request while the key's first request is with the processor.
    Meanwhile { payment: Payment },
    /// The held first request's answer, once the processor let it go.
    Finished { payment: Payment },
    /// A first request whose client hung up once the processor had it; `fails`: the processor
    /// then answers 503, charging nothing.
    HungUp { payment: Payment, fails: bool },
    /// A retry after that; `due`: the processor answered the first long before.
    Retried { payment: Payment, due: bool },
    /// First requests released together, down to the last byte.
    Burst { payment: Payment, count: usize },
    /// The same payment, one request after another, across the moment the processor answered
    /// the first.
    Handover { payment: Payment, count: usize },
}

/// What came of a step, as the judge saw it.
#[derive(Debug, Clone, Default)]
pub(super) struct Observed {
    /// The answers (one per request; several for a burst; none while one is held).
    pub(super) answers: Vec<Result<Answer, String>>,
    /// How long the slowest answer took.
    pub(super) took: Duration,
    /// How late the machine ran meanwhile.
    pub(super) late: Duration,
    /// From when the processor was first asked to the answer (none when it was not asked): a
    /// timeout starts no later than that, however long the request took to reach it.
    pub(super) since_asked: Option<Duration>,
    /// The processor's requests for this payment meanwhile.
    pub(super) asked: usize,
    /// Whether each of them carried an idempotency key.
    pub(super) keyed: Vec<bool>,
    /// The new charges they made.
    pub(super) charged: Vec<String>,
    /// The charge the processor answered last (new, or one its key made before).
    pub(super) charge: Option<String>,
}

/// What the server knows of a key, by the rules.
#[derive(Debug, Clone)]
enum State {
    /// Unknown; `charged`: a charge the processor made, whose answer got lost.
    Fresh {
        charged: Option<String>,
    },
    InFlight {
        payment: Payment,
    },
    /// Its client hung up while the processor charged.
    Abandoned {
        charged: Option<String>,
    },
    Stored {
        payment: Payment,
        answer: Answer,
    },
    /// Off the path the scenario was written for (an earlier step broke a rule, and its outcome
    /// led nowhere the later steps assume): nothing after it is judged.
    Lost,
}

#[derive(Debug, Clone)]
pub(super) struct Life {
    state: State,
    /// How long the learner's server may wait for the processor.
    timeout: Duration,
}

impl Life {
    pub(super) fn new(timeout: Duration) -> Self {
        Self { state: State::Fresh { charged: None }, timeout }
    }
}

impl Model for Life {
    type Step = Step;
    type Observed = Observed;

    fn check(&self, step: &Step, seen: &Observed) -> Result<(), String> {
        let answer = seen.answers.first().map(|answer| answer.as_ref());
        match (&self.state, step) {
            (State::Fresh { charged }, Step::Pay { payment, fate, .. }) => match fate {
                Fate::Charge | Fate::Slow(_) => created(seen, payment, charged.as_deref()),
                Fate::Fail(status) => failed(seen, *status),
                Fate::FailLate(_) => failed(seen, 503),
                Fate::Drop => failed(seen, 0),
                Fate::Hang => timed_out(seen, self.timeout, &[504]),
                // Half an answer is no answer: by the timeout, 504 (or 502, "unusable").
                Fate::Stall(_) => timed_out(seen, self.timeout, &[504, 502]),
            },
            (State::Stored { payment: first, answer: stored }, Step::Pay { payment, .. }) => {
                if payment != first {
                    return refused(seen, StatusCode::UNPROCESSABLE_ENTITY);
                }
                untouched(seen)?;
                identical(stored, answer)
            }
            (State::Fresh { .. }, Step::Claimed { .. }) => match answer {
                _ if seen.asked == 0 => Err("the processor was never asked to charge".into()),
                Some(answer) => Err(format!("answered {} before the processor did", shown(answer))),
                None => Ok(()),
            },
            (State::InFlight { payment: first }, Step::Meanwhile { payment })
                if payment == first =>
            {
                refused(seen, StatusCode::CONFLICT)?;
                // `late`: what a request any server refuses at once, sent beside it, took.
                let at_once = Bound::no_wait().later_by(seen.late);
                (at_once.holds(seen.took)).then_some(()).ok_or_else(|| {
                    format!(
                        "the 409 took {}, more than {at_once} (a request without a key, sent \
                         beside it, took {}): it waited",
                        millis(seen.took),
                        millis(seen.late)
                    )
                })
            }
            (State::InFlight { .. }, Step::Meanwhile { .. }) => {
                refused(seen, StatusCode::UNPROCESSABLE_ENTITY)
            }
            (State::InFlight { .. }, Step::Finished { payment }) => created(seen, payment, None),
            (State::Fresh { .. }, Step::HungUp { .. }) => (seen.asked > 0)
                .then_some(())
                .ok_or_else(|| "the processor was never asked to charge".to_string()),
            (State::Abandoned { charged, .. }, Step::Retried { payment, due }) => match answer {
                Some(Ok(answer)) if answer.status == StatusCode::CONFLICT && !due => Ok(()),
                Some(Ok(answer)) if answer.status == StatusCode::CONFLICT => Err(format!(
                    "409, long after the processor answered: the key was left in progress when the \
                     client hung up ({} since)",
                    millis(seen.took)
                )),
                // A server that finished the first request's work after its client left (a
                // task of its own) stored its answer: the retry gets it, the processor left alone.
                _ if seen.asked == 0 => {
                    let known = Observed {
                        charge: charged.clone(),
                        asked: 1,
                        keyed: vec![true],
                        charged: Vec::new(),
                        ..seen.clone()
                    };
                    created(&known, payment, charged.as_deref())
                }
                _ => created(seen, payment, charged.as_deref()),
            },
            (
                State::Fresh { charged: None },
                Step::Burst { payment, count } | Step::Handover { payment, count },
            ) => burst(seen, payment, *count),
            // Lost, or a step the scenario meant for another state: not judged.
            _ => Ok(()),
        }
    }

    fn advance(&mut self, step: &Step, seen: &Observed) {
        let answer = || seen.answers.iter().flatten().find(|answer| answer.status.is_success());
        self.state = match (&self.state, step) {
            (State::Fresh { charged }, Step::Pay { payment, fate, .. }) => match (fate, answer()) {
                (Fate::Charge | Fate::Slow(_), Some(answer)) => {
                    State::Stored { payment: payment.clone(), answer: answer.clone() }
                }
                (Fate::Charge | Fate::Slow(_), None) => State::Lost,
                _ => State::Fresh {
                    charged: charged.clone().or_else(|| seen.charged.first().cloned()),
                },
            },
            (State::Fresh { .. }, Step::Claimed { payment }) => {
                State::InFlight { payment: payment.clone() }
            }
            (State::Fresh { .. }, Step::HungUp { .. }) => {
                State::Abandoned { charged: seen.charged.first().cloned() }
            }
            // Still in progress, as the rules allow while the processor's answer is not due.
            (State::Abandoned { .. }, Step::Retried { due: false, .. }) if answer().is_none() => {
                self.state.clone()
            }
            (
                _,
                Step::Finished { payment }
                | Step::Retried { payment, .. }
                | Step::Burst { payment, .. }
                | Step::Handover { payment, .. },
            ) => match answer() {
                Some(answer) => State::Stored { payment: payment.clone(), answer: answer.clone() },
                None => State::Lost,
            },
            _ => self.state.clone(),
        };
    }

    fn at_rest(&self) -> bool {
        matches!(self.state, State::Fresh { charged: None } | State::Stored { .. })
    }

    fn describe(&self) -> String {
        match &self.state {
            State::Fresh { charged: None } => "the key is new".into(),
            State::Fresh { charged: Some(id) } => {
                format!("the key's first request failed, after the processor charged {id}")
            }
            State::InFlight { .. } => "the key's first request is with the processor".into(),
            State::Abandoned { .. } => {
                "the key's first client hung up while the processor charged".into()
            }
            State::Stored { answer, .. } => {
                format!("the key's answer is stored: {}", answer.status.as_u16())
            }
            State::Lost => "the key's life went off its path".into(),
        }
    }
}

/// A 201 for `payment`, carrying the charge the processor answered, asked once: a new charge, or,
/// after a failure that charged (`charged`), that same charge again.
fn created(seen: &Observed, payment: &Payment, charged: Option<&str>) -> Result<(), String> {
    match (seen.asked, charged, seen.charged.len()) {
        (0, ..) => return Err("the processor was never asked to charge".into()),
        (2.., ..) => return Err(format!("the processor was asked {} times", seen.asked)),
        _ if seen.keyed.contains(&false) => {
            return Err("the processor was asked to charge without an Idempotency-Key".into());
        }
        (_, None, 0) => {
            return Err("the processor made no new charge: it took this payment for the retry of \
                        another, as the key it was given had been given it before"
                .into());
        }
        (_, Some(first), new @ 1..) => {
            return Err(format!(
                "the processor charged again ({new} new charge after {first}): it was not given the \
                 key it got the first time, so it could not tell this retry from a new payment"
            ));
        }
        _ => {}
    }
    let answer = match seen.answers.first() {
        Some(Ok(answer)) if answer.status == StatusCode::CREATED => answer,
        Some(answer) => return Err(format!("{}, not 201", shown(answer.as_ref()))),
        None => return Err("no answer".into()),
    };
    if answer.media_type().as_deref() != Some("application/json") {
        return Err(format!(
            "the 201's Content-Type is {}, not application/json: the stored answer, and every \
             replay of it, would carry that",
            answer
                .header("content-type")
                .and_then(|value| value.to_str().ok())
                .map_or_else(|| "missing".into(), |value| format!("{value:?}"))
        ));
    }
    let body = answer.json().unwrap_or_default();
    let expected = seen.charge.as_deref().unwrap_or_default();
    if body["payment_id"] != expected
        || body["amount"] != payment.amount
        || body["currency"] != payment.currency.as_str()
    {
        return Err(format!(
            "the 201's body is {}, not {{\"payment_id\":\"{expected}\",\"amount\":{},\"currency\":\"{}\"}} \
             (the charge the processor answered)",
            answer.text(),
            payment.amount,
            payment.currency
        ));
    }
    Ok(())
}

/// The answer to a processor failure: 502 (or, for a 503 without a date, 502 or 503), and the
/// processor asked once. `status` is the processor's (0: the connection closed).
fn failed(seen: &Observed, status: u16) -> Result<(), String> {
    let allowed: &[u16] = if status == 503 { &[502, 503] } else { &[502] };
    match seen.answers.first() {
        Some(Ok(answer)) if allowed.contains(&answer.status.as_u16()) => untouched_but_once(seen),
        Some(answer) => Err(format!(
            "{}, not {}: the processor {}",
            shown(answer.as_ref()),
            if status == 503 { "502 (or 503)" } else { "502" },
            if status == 0 {
                "closed the connection without a word".into()
            } else {
                format!("answered {status}")
            }
        )),
        None => Err("no answer".into()),
    }
}

/// The answer to a processor that never answers (or never finishes): 504 (or one of `allowed`),
/// once its timeout is up, and not much later. Not sooner than the timeout from when the request
/// was sent; not later than it (and the usual slack) from when the processor was asked, which a
/// server's timer cannot start after: a server that took long to reach the processor (the play
/// starts with dozens of requests at once, and a busy machine queues them) is not late for it.
/// `late`: how late a request sent when the 504 was due came back, from then, the judge's timer
/// and a round trip through the learner's server included.
fn timed_out(seen: &Observed, timeout: Duration, allowed: &[u16]) -> Result<(), String> {
    let bound = Bound::around(timeout).later_by(seen.late);
    let since_asked = seen.since_asked.unwrap_or(seen.took);
    let in_time = seen.took >= bound.at_least && since_asked <= bound.at_most;
    let allowed = |answer: &Answer| allowed.contains(&answer.status.as_u16());
    match seen.answers.first() {
        Some(Ok(answer)) if allowed(answer) && in_time => untouched_but_once(seen),
        Some(Ok(answer)) if allowed(answer) => Err(format!(
            "{} after {} ({} after the processor was asked): the processor's timeout is {} \
             (want {bound}; a request sent when it was due came back {} after that)",
            answer.status.as_u16(),
            millis(seen.took),
            millis(since_asked),
            millis(timeout),
            millis(seen.late)
        )),
        Some(answer) => Err(format!(
            "{} after {}, not 504: the processor never finished an answer, and its timeout is {}",
            shown(answer.as_ref()),
            millis(seen.took),
            millis(timeout)
        )),
        None => Err("no answer".into()),
    }
}

fn untouched_but_once(seen: &Observed) -> Result<(), String> {
    (seen.asked == 1)
        .then_some(())
        .ok_or_else(|| format!("the processor was asked {} times", seen.asked))
}

fn untouched(seen: &Observed) -> Result<(), String> {
    (seen.asked == 0)
        .then_some(())
        .ok_or_else(|| format!("the processor was asked {} more time(s)", seen.asked))
}

/// `status`, and nothing charged.
fn refused(seen: &Observed, status: StatusCode) -> Result<(), String> {
    match seen.answers.first() {
        Some(Ok(answer)) if answer.status == status => untouched(seen),
        Some(answer) => Err(format!("{}, not {}", shown(answer.as_ref()), status.as_u16())),
        None => Err("no answer".into()),
    }
}

/// The same answer again: status, `Content-Type` and JSON body (headers of its own, such as one
/// that marks a replay, are welcome).
fn identical(stored: &Answer, replay: Option<Result<&Answer, &String>>) -> Result<(), String> {
    let content_type = |answer: &Answer| {
        answer.header("content-type").and_then(|value| value.to_str().ok()).map(str::to_string)
    };
    match replay {
        Some(Ok(replay))
            if replay.status == stored.status
                && content_type(replay) == content_type(stored)
                && replay.json().is_some()
                && replay.json() == stored.json() =>
        {
            Ok(())
        }
        Some(Ok(replay)) => Err(format!(
            "{} {} ({}), not the stored {} {} ({})",
            replay.status.as_u16(),
            replay.text(),
            content_type(replay).unwrap_or_else(|| "no Content-Type".into()),
            stored.status.as_u16(),
            stored.text(),
            content_type(stored).unwrap_or_else(|| "no Content-Type".into())
        )),
        Some(Err(what)) => Err(what.clone()),
        None => Err("no answer".into()),
    }
}

/// One 201 (a new charge, the processor asked once); every other request 409, or the same 201.
fn burst(seen: &Observed, payment: &Payment, count: usize) -> Result<(), String> {
    let statuses: Vec<String> = seen.answers.iter().map(|answer| shown(answer.as_ref())).collect();
    let created: Vec<&Answer> = seen
        .answers
        .iter()
        .flatten()
        .filter(|answer| answer.status == StatusCode::CREATED)
        .collect();
    let others_fine = seen.answers.iter().flatten().all(|answer| {
        answer.status == StatusCode::CONFLICT
            || (answer.status == StatusCode::CREATED && answer.json() == created[0].json())
    });
    if created.is_empty()
        || !others_fine
        || seen.answers.len() != count
        || seen.answers.iter().any(Result::is_err)
    {
        return Err(format!(
            "the {count} answers were {}: one 201, and 409 (or the same 201) for the others",
            statuses.join(", ")
        ));
    }
    let first = Observed { answers: vec![Ok(created[0].clone())], ..seen.clone() };
    created_once(&first, payment)
}

fn created_once(seen: &Observed, payment: &Payment) -> Result<(), String> {
    match seen.charged.len() {
        1 => created(seen, payment, None),
        new => Err(format!("the processor made {new} charges, and was asked {} times", seen.asked)),
    }
}

fn shown(answer: Result<&Answer, &String>) -> String {
    match answer {
        Ok(answer) => answer.status.as_u16().to_string(),
        Err(what) => what.clone(),
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paid = |payment: &Payment| format!("{} {}", payment.amount, payment.currency);
        match self {
            Step::Pay { payment, fate, respelled } => {
                let spelled = if *respelled {
                    ", its key (quoted or bare), JSON and `Bearer` spelled otherwise"
                } else {
                    ""
                };
                let fate = match fate {
                    Fate::Charge | Fate::Slow(_) => "charges".to_string(),
                    Fate::Fail(status) => format!("answers {status}"),
                    Fate::FailLate(_) => "answers 503, late".into(),
                    Fate::Drop => "charges, then closes the connection without a word".into(),
                    Fate::Hang => "charges, then never answers".into(),
                    Fate::Stall(after) => format!(
                        "charges, then, {} on, sends a 201's head and half its body, and stalls",
                        millis(*after)
                    ),
                };
                write!(f, "POST {}{spelled} (the processor, if asked, {fate})", paid(payment))
            }
            Step::Claimed { payment } => {
                write!(f, "POST {} (the processor holds the charge)", paid(payment))
            }
            Step::Meanwhile { payment } => {
                write!(f, "  meanwhile, POST {} with the same key", paid(payment))
            }
            Step::Finished { .. } => {
                write!(f, "  the first request's answer, once the processor let it go")
            }
            Step::HungUp { payment, fails } => {
                let then = if *fails { ", and the processor then answers 503" } else { "" };
                write!(
                    f,
                    "POST {} (the client hangs up once the processor has it{then})",
                    paid(payment)
                )
            }
            Step::Retried { payment, .. } => {
                write!(f, "POST {} again, the same key", paid(payment))
            }
            Step::Burst { payment, count } => {
                write!(f, "{count} × POST {}, all at once", paid(payment))
            }
            Step::Handover { payment, count } => write!(
                f,
                "{count} × POST {}, one after another from just before the processor answered \
                 the first until its answer came back",
                paid(payment)
            ),
        }
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answers: Vec<String> =
            self.answers.iter().map(|answer| shown(answer.as_ref())).collect();
        let answered =
            if answers.is_empty() { "(no answer yet)".to_string() } else { answers.join(", ") };
        write!(
            f,
            "{answered} in {}; the processor asked {} time(s), {} new charge(s)",
            millis(self.took),
            self.asked,
            self.charged.len()
        )
    }
}
