//! What lesson 1's server log must hold (each failure's details, in a line written after the
//! request that caused it) and must not (a credential, in any encoding). The log is everything
//! the learner's process wrote, stdout and stderr alike.

use super::asked::{self, Asked, Kind};
use httplings::fixtures::DB_USER;

use super::plan::Plan;
use crate::judge::log::{self, Owed, unlogged_since};
use crate::judge::{Failure, Learner, Lost};

/// Each failed query's id and the database's reason, in one line of the learner's own (a panic
/// report does not count) written after the request.
pub(super) async fn details(
    learner: &Learner,
    plan: &Plan,
    asked: &[Asked],
) -> Result<Option<Failure>, Lost> {
    let failed: Vec<(&Asked, String, &str)> = asked::of(asked, Kind::Failed)
        .map(|asked| {
            let setup = &plan.served[asked.served].setup;
            let reason = setup.failure.as_ref().map_or("", |failure| failure.reasons[0].as_str());
            (asked, setup.query_id(asked.id), reason)
        })
        .collect();
    let owed: Vec<Owed> = failed
        .iter()
        .map(|(asked, query, reason)| Owed {
            mark: asked.mark,
            request: asked.exchange.request.line(),
            what: plan.served[asked.served].name,
            query,
            reason,
        })
        .collect();
    log::untold(learner, "failed requests", &owed).await
}

/// Each panic's message (its key is made for the report asked), in a line written after the
/// request: the panic report counts, as does the learner's own line.
pub(super) async fn panics(
    learner: &Learner,
    plan: &Plan,
    asked: &[Asked],
) -> Result<Option<Failure>, Lost> {
    let panicked: Vec<(&Asked, String)> = asked::of(asked, Kind::Panicked)
        .map(|asked| (asked, plan.served[asked.served].setup.panic_key(asked.id)))
        .collect();
    let wanted: Vec<_> = panicked
        .iter()
        .map(|(asked, key)| (asked.mark, move |line: &str| line.contains(key.as_str())))
        .collect();
    let missing = unlogged_since(learner, &wanted).await?;
    let Some(first) = missing.first() else { return Ok(None) };
    let (asked, _) = &panicked[*first];
    let failure = Failure::of(format!(
        "no line of the log written after {} ({}) holds its panic's message",
        asked.exchange.request.line(),
        plan.served[asked.served].name
    ));
    Ok(Some(log::with_tail(learner, failure)))
}

/// No credential of the run anywhere in the log, at any level, whole or in part: the bearer
/// tokens, the session cookies, the database passwords.
pub(super) async fn no_credential(learner: &Learner, plan: &Plan) -> Result<Option<Failure>, Lost> {
    let mut secrets: Vec<(String, &str)> = Vec::new();
    for served in &plan.served {
        secrets.push((served.token.clone(), "the bearer token"));
        secrets.push((served.session.clone(), "the session cookie"));
        secrets.push((served.setup.password.clone(), "the database password"));
    }
    if let Some(failure) = log::credentials(learner, &secrets).await? {
        return Ok(Some(failure));
    }
    Ok(partly_masked(&learner.log_text()))
}

/// A mask that keeps something of the password: the databases' passwords differ, in length
/// too, so where the log shows what stands between the user and the host, a mask that hides all
/// of it reads the same for each of them, and one that keeps a letter or two, or the length,
/// does not.
fn partly_masked(text: &str) -> Option<Failure> {
    let mut masks: Vec<&str> = text
        .split(&format!("{DB_USER}:"))
        .skip(1)
        .filter_map(|rest| rest.split_once('@').map(|(mask, _)| mask))
        .filter(|mask| mask.len() <= 64)
        .collect();
    masks.sort_unstable();
    masks.dedup();
    (masks.len() > 1).then(|| {
        let shown: Vec<String> =
            masks.iter().take(3).map(|mask| format!("{DB_USER}:{mask}@…")).collect();
        Failure::of(format!(
            "the server log masks the database password so that what is left differs from one \
             database to another ({}): the mask keeps something of the password (a letter, or \
             its length). Mask all of it, the same whatever the password",
            shown.join(", ")
        ))
    })
}
