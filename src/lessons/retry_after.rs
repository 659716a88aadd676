//! Lesson 2, 503 and Retry-After: the server says when to come back, and the client reads it
//! in every form the standard allows.
//!
//! The judge serves the learner's `app` and takes its database down and up again; it calls
//! `parse_retry_after` on a fixed table and on inputs generated from the seed, each with a
//! "now" of its own; and it has the learner's process fetch 503s from the judge's upstream, for
//! `retry_after` to read.

mod cases;
mod client;
mod dates;
mod server;

use std::time::Duration;

use httplings::lessons::retry_after::{Adapter, Call, Exercise};

use self::cases::{Case, Group, TABLE_NOW, shown};
use crate::judge::http_date::{Civil, DateForm};
use crate::judge::{
    self, Evidence, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned, Row,
};
use crate::judge::{log, seed};

const DOWN_503: &str = "down-503";
const RETRY_HEADER: &str = "retry-header";
const BACK_UP: &str = "back-up";
const FAULT_500: &str = "fault-500";
const LOGGED: &str = "logged";
const NO_CREDENTIAL: &str = "no-credential";
const SECONDS: &str = "seconds";
const DATES: &str = "dates";
const INVALID: &str = "invalid";
const CLIENT: &str = "client";

pub const CHECKS: &[&str] = &[
    DOWN_503,
    RETRY_HEADER,
    BACK_UP,
    FAULT_500,
    SECONDS,
    DATES,
    INVALID,
    CLIENT,
    LOGGED,
    NO_CREDENTIAL,
];

/// The checks that need the app served; the parser's and the client's do not.
const SERVER_CHECKS: &[&str] = &[DOWN_503, RETRY_HEADER, BACK_UP, FAULT_500, LOGGED, NO_CREDENTIAL];

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
    let served = server::ask(learner, recorder, &mut rng).await?;
    if let Some(served) = &served {
        recorder.decide(DOWN_503, server::unavailable(served));
        recorder.decide(RETRY_HEADER, server::retry_after(served));
        recorder.decide(BACK_UP, server::back_up(served));
        recorder.decide(FAULT_500, server::query_failure(served));
    }
    let cases = cases::all(&mut rng);
    for (check, group) in
        [(SECONDS, Group::Seconds), (DATES, Group::Dates), (INVALID, Group::Invalid)]
    {
        let failure = parsed(learner, cases.iter().filter(|case| case.group == group)).await?;
        recorder.decide(check, failure);
    }
    recorder.decide(CLIENT, client::judge(learner, &mut rng).await?);
    // Last, so that whatever the parser and the client logged is searched too.
    if let Some(served) = &served {
        recorder.decide(LOGGED, server::logged(learner, served).await?);
        recorder.decide(NO_CREDENTIAL, log::credentials(learner, &served.credentials()).await?);
    }
    Ok(())
}

/// What the learner's parser made of each case, one call each, so that a panic or a hang is
/// pinned on the input that caused it.
async fn parsed(
    learner: &Learner,
    cases: impl Iterator<Item = &Case>,
) -> Result<Option<Failure>, Lost> {
    let mut rows = Vec::new();
    for case in cases {
        let now = Duration::from_secs(case.now.unsigned_abs()) + case.fraction;
        let call = Call::Parse { value: case.input.clone(), now };
        let what = format!("parse_retry_after({:?})", case.input);
        let got = returned(learner.call(&what, &call, Duration::from_secs(2)).await?);
        let ok = got.as_ref().is_ok_and(|got| case.expect.accepts(*got));
        let now = Civil::of(case.now);
        let now = match (case.now, case.fraction.as_millis()) {
            (TABLE_NOW, 0) => String::new(),
            (_, 0) => now.format(DateForm::ImfFixdate, now.weekday()),
            (_, millis) => {
                format!("{} + {millis} ms", now.format(DateForm::ImfFixdate, now.weekday()))
            }
        };
        let got = got.map_or_else(|problem| problem, shown);
        rows.push(Row {
            cells: vec![format!("{:?}", case.input), now, case.expect.shown(), got],
            ok,
        });
    }
    let wrong = rows.iter().filter(|row| !row.ok).count();
    Ok((wrong > 0).then(|| {
        let note = "rows without one are read at Sun, 06 Nov 1994 08:49:07 GMT (the RFC's \
                    example date less 30 s)";
        Failure::of(format!("{wrong} of {} inputs parsed wrongly", rows.len()))
            .with(Evidence::Text { title: "now".into(), body: note.into() })
            .with_rows(&["input", "now", "expected", "got"], rows)
    }))
}

/// What a call of the learner's code returned, or what happened instead, as a table cell.
fn returned<T>(returned: Returned<T>) -> Result<T, String> {
    match returned {
        Returned::Value(value) => Ok(value),
        Returned::Panicked(message) => Err(format!("panicked: {message}")),
        Returned::TimedOut(limit) => Err(format!("still running after {} s", limit.as_secs())),
    }
}
