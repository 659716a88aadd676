//! Lesson 2, 503 and Retry-After: the server says when to come back, and the client reads it
//! in every form the standard allows.
//!
//! The judge serves the learner's `app` and takes its database down and up again; it calls
//! `parse_retry_after` on a fixed table and on inputs generated from the seed; and it has the
//! learner's process fetch 503s from a server of the judge's, for `retry_after` to read.

mod client;
mod dates;
mod expect;
mod generated;
mod parser;
mod server;
mod table;

use std::time::{Duration, SystemTime};

use httplings::fixtures::{DatabaseSetup, Order};
use httplings::lessons::retry_after::{Adapter, Call, Exercise, Reply};

use self::server::Asked;
use self::table::Group;
use crate::judge::answer::{self, Answer};
use crate::judge::seed::{self, Rng};
use crate::judge::{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned};

const DOWN_503: &str = "down-503";
const RETRY_HEADER: &str = "retry-header";
const BACK_UP: &str = "back-up";
const SECONDS: &str = "seconds";
const DATES: &str = "dates";
const INVALID: &str = "invalid";
const CLIENT: &str = "client";

pub const CHECKS: &[&str] = &[DOWN_503, RETRY_HEADER, BACK_UP, SECONDS, DATES, INVALID, CLIENT];

/// Judges `exercise` on a thread of this process (the project's tests).
pub async fn judge_in_process(exercise: Exercise, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter::new(exercise), seed).await
}

/// Lesson 2's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "02_retry_after";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let mut rng = seed::rng(seed);
    judge_server(learner, recorder, &mut rng).await?;
    let mut cases = table::cases();
    cases.extend(generated::cases(&mut rng));
    for (check, group) in
        [(SECONDS, Group::Seconds), (DATES, Group::Dates), (INVALID, Group::Invalid)]
    {
        recorder.decide(check, parser::judge(learner, &cases, group).await?);
    }
    recorder.decide(CLIENT, client::judge(learner, &mut rng).await?);
    Ok(())
}

const SERVER_CHECKS: [&str; 3] = [DOWN_503, RETRY_HEADER, BACK_UP];

/// An order id to ask for, and the order it names when there is one.
type Asking = (u32, Option<Order>);

async fn judge_server(
    learner: &Learner,
    recorder: &mut Recorder,
    rng: &mut Rng,
) -> Result<(), Lost> {
    let ids = seed::distinct(rng, 1..1_000_000, 5);
    let orders: Vec<Order> = ids[..3]
        .iter()
        .map(|id| Order {
            id: *id,
            customer: "Grace Hopper".into(),
            total_cents: rng.u64(100..100_000),
            status: "paid".into(),
        })
        .collect();
    let setup = DatabaseSetup { orders: orders.clone(), failure: None, down: false };
    let base = match learner.call("app()", &Call::Serve(setup), Duration::from_secs(5)).await? {
        Returned::Value(Reply::Served(Ok(base))) => base,
        Returned::Value(Reply::Served(Err(problem))) | Returned::Panicked(problem) => {
            let failure =
                Failure::new(problem, "No request can be answered until the router builds.");
            SERVER_CHECKS.iter().for_each(|check| recorder.fail(check, failure.clone()));
            return Ok(());
        }
        _ => {
            let failure = Failure::new(
                "app() did not return",
                "No request can be answered until the router builds.",
            );
            SERVER_CHECKS.iter().for_each(|check| recorder.fail(check, failure.clone()));
            return Ok(());
        }
    };
    let client = answer::client();
    let order = |index: usize| Some(orders[index].clone());
    // Down, up, down again, up again: a route that remembers the outage shows.
    let rounds: [(bool, Vec<Asking>); 4] = [
        (true, vec![(ids[0], order(0)), (ids[3], None), (ids[1], order(1))]),
        (false, vec![(ids[0], order(0)), (ids[4], None)]),
        (true, vec![(ids[2], order(2))]),
        (false, vec![(ids[2], order(2)), (ids[1], order(1)), (ids[3], None)]),
    ];
    let mut asked = Vec::new();
    for (down, requests) in rounds {
        learner
            .call::<_, Reply>("Database::set_down", &Call::SetDown(down), Duration::from_secs(2))
            .await?;
        for (id, order) in requests {
            let path = format!("/orders/{id}");
            let sent = SystemTime::now();
            let answer = Answer::get(&client, &format!("{base}{path}")).await;
            asked.push(Asked { path, sent, down, order, answer });
        }
    }
    recorder.decide(DOWN_503, server::unavailable(&asked));
    recorder.decide(RETRY_HEADER, server::retry_after(&asked));
    recorder.decide(BACK_UP, server::back_up(&asked));
    Ok(())
}
