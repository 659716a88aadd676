//! Judges lesson 2's route across down–up–down–up: while the database is down, a 503 with a
//! JSON error and one readable `Retry-After`; while it is up, the order or a 404, and lesson 1's
//! generic 500 for a query that fails for another reason. The route learns which from the
//! error the query returns, as with a real driver: each error while down gives another reason
//! (refused, the pool timed out, shutting down…), so only its kind tells.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use serde_json::json;

use super::{Call, SERVER_CHECKS};
use crate::judge::answer::{Answer, error_mismatch, mismatch, sent_retry_after_problem};
use crate::judge::compare::{given_away, leaves, outline};
use crate::judge::exchange::{Client, Exchange};
use crate::judge::log::{self, Owed};
use crate::judge::seed::{self, Rng};
use crate::judge::{self, Evidence, Failure, Learner, Lost, Recorder};
use httplings::fixtures::{DatabaseSetup, Order, QueryFailure};

/// One request, with whether the database was down when it went.
#[derive(Debug)]
pub(super) struct Asked {
    pub(super) down: bool,
    /// The order asked for, when there is one.
    pub(super) order: Option<Order>,
    /// Whether its query fails while the database is up.
    pub(super) failing: bool,
    /// What the database said when its query failed, down or up.
    pub(super) reason: Option<String>,
    /// The failed query's id, which its log line names with the reason.
    pub(super) query: String,
    /// Where the log stood just before the request went out.
    pub(super) mark: u64,
    pub(super) sent_at: SystemTime,
    pub(super) exchange: Exchange,
}

const UNAVAILABLE: [&str; 6] = [
    "connection refused",
    "pool timed out while waiting for an open connection",
    "the database system is shutting down",
    "server closed the connection unexpectedly",
    "could not translate host name to address: Temporary failure in name resolution",
    "sorry, too many clients already",
];

/// Bugs all, two of them in words an outage might use ("timeout", "connection"): only the
/// error's kind tells which is which.
const QUERY_FAILURES: [&str; 6] = [
    "column \"total_cents\" does not exist",
    "permission denied for table orders",
    "syntax error at or near \"FORM\"",
    "relation \"orders_archive\" does not exist",
    "column \"connection_timeout\" does not exist",
    "relation \"connection_log\" does not exist",
];

/// Whether a reason has a word a route that reads the words would take for an outage.
fn sounds_like_an_outage(reason: &str) -> bool {
    ["timeout", "timed out", "connection", "refused"].iter().any(|word| reason.contains(word))
}

/// How many times the second outage asks an id of each reason, in turn.
const TURNS: usize = 4;

/// What the app was asked across two outages, and the database's password and host, which,
/// with its reasons, no answer may give away.
pub(super) struct Served {
    pub(super) asked: Vec<Asked>,
    password: String,
    host: String,
}

impl Served {
    /// What the log may not hold: the database password.
    pub(super) fn credentials(&self) -> Vec<(String, &'static str)> {
        vec![(self.password.clone(), "the database password")]
    }

    /// What no answer may hold, each with what it would give away. "connection refused" alone
    /// is left out: a generic message may say as much by itself.
    fn secrets(&self) -> Vec<(String, &'static str)> {
        let reasons = UNAVAILABLE.iter().skip(1).chain(&QUERY_FAILURES);
        let words = reasons.map(|reason| (reason.to_string(), "the database's own words"));
        self.credentials()
            .into_iter()
            .chain([(self.host.clone(), "the database host")])
            .chain(words)
            .collect()
    }
}

/// Serves the learner's app and asks it across two outages; `None` when `app()` could not be
/// served (every server check is failed then).
pub(super) async fn ask(
    learner: &Learner,
    recorder: &mut Recorder,
    rng: &mut Rng,
) -> Result<Option<Served>, Lost> {
    // Three orders, one id with none, two whose queries fail while the database is up; ids
    // from the whole range of a u32, half of them above an i32's.
    let mut ids = seed::distinct(rng, 100_000..1 << 31, 3);
    ids.extend(seed::distinct(rng, (1 << 31) + 1..u32::MAX, 3));
    rng.shuffle(&mut ids);
    let orders: Vec<Order> = ids[..3]
        .iter()
        .map(|id| Order {
            id: *id,
            customer: "Grace Hopper".into(),
            total_cents: rng.u64(100..100_000),
            status: "paid".into(),
        })
        .collect();
    let reasons = |reasons: &[&str]| reasons.iter().map(ToString::to_string).collect();
    let setup = DatabaseSetup {
        orders: orders.clone(),
        host: format!("orders-db-{}.internal:5432", seed::token(rng, 6)),
        password: seed::token(rng, 20),
        secret: rng.u64(..),
        failure: Some(QueryFailure {
            reasons: reasons(&QUERY_FAILURES),
            only: Some(ids[4..].to_vec()),
        }),
        panic: None,
        unavailable: reasons(&UNAVAILABLE),
        down: false,
    };
    let mut setup = setup;
    // Outages of both kinds of words while down, and a bug in an outage's words while up,
    // every run: a route that reads the words shows.
    let down_reasons = |setup: &DatabaseSetup| -> Vec<String> {
        ids.iter()
            .filter_map(|id| Some(setup.reason_for(&setup.unavailable, *id)?.to_string()))
            .collect()
    };
    while !(down_reasons(&setup).iter().any(|reason| reason.contains("timed out"))
        && down_reasons(&setup).iter().any(|reason| !sounds_like_an_outage(reason))
        && setup.reason_for(&reasons(&QUERY_FAILURES), ids[4]).is_some_and(sounds_like_an_outage))
    {
        setup.secret = rng.u64(..);
    }
    let reason_of = |setup: &DatabaseSetup, down: bool, id: u32| {
        let failures = setup.failure.as_ref().map(|failure| &failure.reasons);
        let reasons = if down { Some(&setup.unavailable) } else { failures };
        Some(setup.reason_for(reasons?, id)?.to_string())
    };
    let reason_of = {
        let setup = setup.clone();
        move |down, id| reason_of(&setup, down, id)
    };
    let failed = |problem: &str| {
        Failure::new(problem, "No request can be answered until the router builds.")
    };
    let (password, host) = (setup.password.clone(), setup.host.clone());
    let queries = setup.clone();
    let call = Call::Serve(setup);
    let Some(base) = judge::serve_for(learner, recorder, &call, SERVER_CHECKS, failed).await?
    else {
        return Ok(None);
    };
    let client = Client::new(base);
    // Down, up, down again, up again: a route that remembers the outage shows. The second
    // outage also asks, in turn, an id of each reason an outage may give, four times each: a
    // `Retry-After` that follows the reason is the same for each reason and differs between
    // some of them.
    let first_turn = ids.len();
    for reason in UNAVAILABLE {
        let id = std::iter::repeat_with(|| rng.u32(100_000..))
            .find(|id| !ids.contains(id) && reason_of(true, *id).as_deref() == Some(reason))
            .expect("an id for every reason");
        ids.push(id);
    }
    let turns = (0..TURNS).flat_map(|_| first_turn..ids.len());
    let second_outage: Vec<usize> = [2, 5].into_iter().chain(turns).collect();
    let rounds: [(bool, &[usize]); 4] = [
        (true, &[0, 3, 4, 1, 5]),
        (false, &[0, 4, 3]),
        (true, &second_outage),
        (false, &[2, 1, 5, 3]),
    ];
    let mut asked = Vec::new();
    for (down, indexes) in rounds {
        learner.call::<_, ()>("set_down", &Call::SetDown(down), Duration::from_secs(2)).await?;
        for index in indexes {
            let (mark, sent_at) = (learner.log_mark(), SystemTime::now());
            let exchange = client.get(&format!("/orders/{}", ids[*index])).await;
            let query = queries.query_id(ids[*index]);
            let (order, failing) = (orders.get(*index).cloned(), (4..6).contains(index));
            let reason = (down || failing).then(|| reason_of(down, ids[*index])).flatten();
            asked.push(Asked { down, order, failing, reason, query, mark, sent_at, exchange });
        }
    }
    Ok(Some(Served { asked, password, host }))
}

/// Every answer while down is a 503 whose body says "service unavailable" in JSON: the
/// course's error object (more fields welcome) or RFC 9457 problem details with `"status": 503`;
/// like lesson 1's 500, it gives nothing of the error away.
pub(super) fn unavailable(served: &Served) -> Option<Failure> {
    let down = || served.asked.iter().filter(|asked| asked.down);
    first_error(down(), StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
        .or_else(|| gives_away(down(), &served.secrets()))
        .or_else(|| body_follows_the_reason(down()))
        .or_else(|| wait_follows_the_reason(down()))
}

/// 503s whose `Retry-After` is one wait for every request of a reason, asked at least
/// [`TURNS`] times, and another for another reason: the wait tells the outages apart. A wait
/// that is jittered, or counted down on a clock, is not the same for every request of a
/// reason asked in turn with others, so only a wait that follows the reason fails.
fn wait_follows_the_reason<'a>(down: impl Iterator<Item = &'a Asked>) -> Option<Failure> {
    let mut waits: BTreeMap<&str, Vec<(u64, &Asked)>> = BTreeMap::new();
    for asked in down {
        let answer = asked.exchange.answer().filter(|answer| answer.status == 503);
        if let (Some(wait), Some(reason)) =
            (answer.and_then(Answer::retry_after_seconds), asked.reason.as_deref())
        {
            waits.entry(reason).or_default().push((wait, asked));
        }
    }
    let steady: Vec<&Vec<(u64, &Asked)>> =
        waits.values().filter(|waits| waits.len() >= TURNS).collect();
    let each_the_same =
        steady.iter().all(|waits| waits.iter().all(|(wait, _)| *wait == waits[0].0));
    let (one, other) = (
        steady.first()?[0],
        steady.iter().map(|waits| waits[0]).find(|(wait, _)| *wait != steady[0][0].0)?,
    );
    each_the_same.then(|| {
        let said = |(wait, asked): (u64, &Asked)| {
            format!(
                "{} ({}): Retry-After {wait} s\n",
                asked.exchange.request.line(),
                asked.reason.as_deref().unwrap_or_default()
            )
        };
        Failure::of(format!(
            "the Retry-After follows the outage's reason: every request of one reason got {} s, \
             every request of another {} s: as in lesson 1, nothing of the error reaches the \
             client, not even which kind of outage it was",
            one.0, other.0
        ))
        .with(Evidence::Text {
            title: "what each outage was told".into(),
            body: [said(one), said(other)].concat(),
        })
    })
}

/// Two 503s for outages of different reasons whose bodies differ: each JSON value compared by
/// its outline (a request id, the order's path, a time may change from one answer to the next;
/// words may not), so that the body does not tell a refused connection from a pool timeout.
fn body_follows_the_reason<'a>(down: impl Iterator<Item = &'a Asked>) -> Option<Failure> {
    let bodies: Vec<(&Asked, BTreeMap<String, String>)> = down
        .filter_map(|asked| {
            let answer = asked.exchange.answer().filter(|answer| answer.status == 503)?;
            let body = leaves(answer)
                .into_iter()
                .filter(|(place, _)| place.starts_with("body"))
                .map(|(place, value)| (place, outline(&value)))
                .collect();
            Some((asked, body))
        })
        .collect();
    let (one, other) = bodies.iter().find_map(|one| {
        let other =
            bodies.iter().find(|other| other.0.reason != one.0.reason && other.1 != one.1)?;
        Some((one.0, other.0))
    })?;
    let body =
        |asked: &Asked| asked.exchange.answer().map(|answer| answer.text()).unwrap_or_default();
    Some(
        Failure::of(format!(
            "{} and {}: two outages of different reasons got different bodies: as in lesson 1, \
             nothing of the error reaches the client, not even which kind of outage it was",
            one.exchange.request.line(),
            other.exchange.request.line()
        ))
        .with(Evidence::Diff { expected: body(one), actual: body(other) }),
    )
}

/// Every query that fails while the database is up is lesson 1's generic 500: nothing of the
/// error given away, and no `Retry-After` (waiting does not mend a bug).
pub(super) fn query_failure(served: &Served) -> Option<Failure> {
    let failing = || served.asked.iter().filter(|asked| !asked.down && asked.failing);
    first_error(failing(), StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR")
        .or_else(|| gives_away(failing(), &served.secrets()))
        .or_else(|| {
            let asked = failing().find(|asked| {
                asked
                    .exchange
                    .answer()
                    .is_some_and(|answer| answer.headers.contains_key("retry-after"))
            })?;
            Some(Failure::of(format!(
                "{}: a failed query is a bug, and its 500 carried a Retry-After: waiting does not \
                 mend a bug, so the header invites retries that cannot help (a 503 promises \
                 that waiting helps; a 500 promises nothing)",
                asked.exchange.request.line()
            )))
        })
}

/// The first kind of secret the answers give away, in headers or body, raw or encoded.
fn gives_away<'a>(
    asked: impl Iterator<Item = &'a Asked>,
    secrets: &[(String, &'static str)],
) -> Option<Failure> {
    let answers: Vec<(String, &Answer)> = asked
        .filter_map(|asked| Some((asked.exchange.request.line(), asked.exchange.answer()?)))
        .collect();
    let (kind, line, more) = given_away(&answers, secrets).into_iter().next()?;
    let others = if more > 0 { format!(" (and {more} more answers)") } else { String::new() };
    Some(Failure::of(format!(
        "{line}: the answer gives away {kind}{others}: as in lesson 1, nothing of the error \
         reaches the client, in the body or a header"
    )))
}

fn first_error<'a>(
    mut asked: impl Iterator<Item = &'a Asked>,
    status: StatusCode,
    code: &str,
) -> Option<Failure> {
    asked.find_map(|asked| {
        let answer = &asked.exchange.answer;
        let (problem, diff) = error_mismatch(answer, status, code, &["retry-after"])?;
        Some(Failure::of(format!("{}: {problem}", asked.exchange.request.line())).with(diff))
    })
}

/// Every 503 carries exactly one `Retry-After`: whole seconds, at least 1, or an IMF-fixdate
/// still to come. (A wrong status is the 503 check's to judge: when no 503 came at all, the
/// answers that came are judged instead.)
pub(super) fn retry_after(served: &Served) -> Option<Failure> {
    let asked = &served.asked;
    let any_503 = asked.iter().any(|asked| asked.down && asked.exchange.status() == Some(503));
    let judged = |asked: &&Asked| asked.down && (!any_503 || asked.exchange.status() == Some(503));
    asked.iter().filter(judged).find_map(|asked| {
        let answer = asked.exchange.answer()?;
        let values: Vec<String> = answer
            .headers
            .get_all("retry-after")
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        let problem = sent_retry_after_problem(&values, asked.sent_at)?;
        let sent = match &values[..] {
            [] => "retry-after: (not sent)\n".to_string(),
            values => values.iter().map(|value| format!("retry-after: {value}\n")).collect(),
        };
        let expected = "retry-after: <seconds, e.g. 30>\n".into();
        Some(
            Failure::of(format!("{}: {problem}", asked.exchange.request.line()))
                .with(Evidence::Diff { expected, actual: sent }),
        )
    })
}

/// Each failure, outage or failed query, in a line of the log of its own written after its
/// request (at INFO or above), naming its query and the database's reason: the error's fields.
pub(super) async fn logged(learner: &Learner, served: &Served) -> Result<Option<Failure>, Lost> {
    let owed: Vec<Owed> = served
        .asked
        .iter()
        .filter_map(|asked| {
            Some(Owed {
                mark: asked.mark,
                request: asked.exchange.request.line(),
                what: if asked.down { "database down" } else { "query failed" },
                query: &asked.query,
                reason: asked.reason.as_deref()?,
            })
        })
        .collect();
    log::untold(learner, "failures", &owed).await
}

/// Every answer while up is what it was before the outage: the order as JSON, or a 404.
pub(super) fn back_up(served: &Served) -> Option<Failure> {
    served.asked.iter().filter(|asked| !asked.down && !asked.failing).find_map(|asked| {
        let (status, body) = match &asked.order {
            Some(order) => (StatusCode::OK, Some(json!(order))),
            None => (StatusCode::NOT_FOUND, None),
        };
        let diff = mismatch(&asked.exchange.answer, status, body.as_ref())?;
        let line = asked.exchange.request.line();
        Some(
            Failure::of(format!(
                "{line} with the database back up did not answer as before the outage"
            ))
            .with(diff),
        )
    })
}
