//! Lesson 6, retrying a POST safely: idempotency keys, from both ends. The learner's server
//! takes payments under keys and charges through a processor of the judge's, which counts
//! every charge; the learner's client pays a payments server of the judge's, which notes every
//! attempt's key. Both halves run at once, with payments, keys and failures drawn from the seed.

mod client_side;
mod plan;
mod processor;
mod server_side;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use httplings::fixtures::UpstreamSetup;
use httplings::lessons::idempotency_key::{Adapter, App, Call, Pay};

use self::client_side::{Paid, PaymentsServer, Played};
use self::plan::Payments;
use self::processor::Processor;
use crate::judge::{
    self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned, seed,
};

const NO_KEY: &str = "no-key";
const CHARGES: &str = "charges";
const REPLAYS: &str = "replays";
const CHANGED: &str = "changed";
const IN_FLIGHT: &str = "in-flight";
const NO_QUEUE: &str = "no-queue";
const ABANDONED: &str = "abandoned";
const RACES: &str = "races";
const NOT_STORED: &str = "not-stored";
const KEYED: &str = "keyed";
const FRESH: &str = "fresh";
const RETRIES: &str = "retries";
const NEVER: &str = "never";
const GIVES_UP: &str = "gives-up";
const WAITS: &str = "waits";

pub const CHECKS: &[&str] = &[
    NO_KEY, CHARGES, REPLAYS, CHANGED, IN_FLIGHT, NO_QUEUE, ABANDONED, RACES, NOT_STORED, KEYED,
    FRESH, RETRIES, NEVER, GIVES_UP, WAITS,
];

/// Judges `app` and `pay` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, pay: impl Pay + Send + Clone, seed: u64) -> Judged {
    judge::in_process::<Judge, _>(|| Adapter { app, pay: pay.clone() }, seed).await
}

/// Lesson 6's judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {
    const SLUG: &'static str = "06_idempotency_key";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {
        Box::pin(run(learner, recorder, seed))
    }
}

/// How long the learner's service may wait for the processor.
const PROCESSOR_TIMEOUT: Duration = Duration::from_millis(500);

/// How long one call of `pay` may take.
const PAY_DEADLINE: Duration = Duration::from_secs(8);

async fn run(learner: &Learner, recorder: &mut Recorder, seed: u64) -> Result<(), Lost> {
    let mut payments = Payments::new(seed);
    let server_plan = server_side::Plan::draw(&mut payments);
    let client_plan = client_side::Plan::draw(&mut payments);
    let tag = seed::token(payments.rng(), 8);
    let processor = Processor::start(server_plan.fates(), server_plan.charge_ids.clone()).await;
    let payments_server = PaymentsServer::start(&client_plan, tag.clone()).await;

    let call = Call::Serve {
        processor: UpstreamSetup {
            base: processor.server.base.clone(),
            timeout: PROCESSOR_TIMEOUT,
        },
    };
    let Some(base) = judge::serve(learner, recorder, &call, app_failed).await? else {
        return Ok(());
    };
    let client = server_side::Client::new(&base, Instant::now());
    let url = format!("{}/payments", payments_server.server.base);
    let paying = join_all(client_plan.calls().into_iter().map(|planned| {
        let call = Call::Pay {
            url: url.clone(),
            payment: planned.payment.clone(),
            policy: planned.policy.into(),
            client_timeout: planned.client_timeout,
        };
        async move {
            tokio::time::sleep(planned.starts_after).await;
            let reply = learner.call("pay()", &call, PAY_DEADLINE).await;
            let returned = Instant::now();
            let paid: Result<Paid, String> = match reply {
                Ok(Returned::Value(paid)) => Ok(paid),
                Ok(Returned::Panicked(panic)) => Err(format!("it panicked: {panic}")),
                Ok(Returned::TimedOut(limit)) => {
                    Err(format!("it did not return within {} s", limit.as_secs()))
                }
                Err(lost) => return Err(lost),
            };
            Ok((planned, paid, returned))
        }
    }));
    let (seen, paid) = tokio::join!(server_side::play(&server_plan, &client, &processor), paying);
    let paid = paid.into_iter().collect::<Result<Vec<_>, Lost>>()?;

    recorder.decide(NO_KEY, server_side::no_key(&server_plan, &seen, &processor));
    recorder.decide(CHARGES, server_side::charges(&server_plan, &seen, &processor));
    recorder.decide(REPLAYS, server_side::replays(&server_plan, &seen, &processor));
    recorder.decide(CHANGED, server_side::changed(&server_plan, &seen, &processor));
    recorder.decide(IN_FLIGHT, server_side::in_flight(&server_plan, &seen, &processor));
    recorder.decide(NO_QUEUE, server_side::no_queue(&server_plan, &seen, &processor));
    recorder.decide(ABANDONED, server_side::abandoned(&server_plan, &seen, &processor));
    recorder.decide(RACES, server_side::races(&server_plan, &seen, &processor));
    recorder.decide(NOT_STORED, server_side::not_stored(&server_plan, &seen, &processor));

    let plays: Vec<Played> = paid
        .into_iter()
        .map(|(call, paid, returned)| Played {
            call,
            paid,
            returned,
            requests: payments_server.requests_for(&call.payment),
        })
        .collect();
    let played = |planned: &client_side::PlannedCall| {
        plays
            .iter()
            .find(|played| std::ptr::eq(played.call, planned))
            .expect("every call was played")
    };
    let cp = &client_plan;
    // The twins pay one payment six times: each of the server's requests for it is one call.
    let twins = &played(&cp.twins[0]).requests;
    let singles: Vec<&Played> =
        plays.iter().filter(|played| played.call.payment != cp.twins[0].payment).collect();
    recorder.decide(KEYED, client_side::keyed(&singles));
    recorder.decide(FRESH, client_side::fresh(&singles, twins));
    let succeeding = [&cp.created, &cp.flaky, &cp.conflict, &cp.dropped, &cp.hanging].map(played);
    recorder.decide(RETRIES, client_side::retries(&succeeding, &tag));
    recorder.decide(NEVER, client_side::never(&cp.refused.each_ref().map(played), &tag));
    recorder.decide(GIVES_UP, client_side::gives_up(&cp.broken.each_ref().map(played), &tag));
    let backing_off = [&cp.flaky, &cp.conflict, &cp.broken[0], &cp.broken[1]].map(played);
    let long_outages: Vec<&Played> = cp.long_outages.iter().map(played).collect();
    let long_conflicts: Vec<&Played> = cp.long_conflicts.iter().map(played).collect();
    let long = [long_outages.as_slice(), long_conflicts.as_slice()];
    let (asked, too_long) = (played(&cp.asked), played(&cp.too_long));
    recorder.decide(WAITS, client_side::waits_well(&backing_off, long, asked, too_long));
    Ok(())
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No payment can be taken until the router builds. In axum 0.8, routes are written /payments, and a handler that takes the body takes it last.",
    )
}
