//! What lesson 1's server log must hold (the failures' details) and must not (a credential).
//! The log is everything the learner's process wrote, stdout and stderr alike.

use super::plan::Plan;
use crate::judge::log::{self, is_panic_report, unlogged};
use crate::judge::{Evidence, Failure, Learner, Lost};

/// Each failing run's query id, written by the learner (a panic report does not count).
pub(super) async fn diagnostics(learner: &Learner, plan: &Plan) -> Result<Option<Failure>, Lost> {
    let wanted: Vec<_> = plan
        .failing
        .iter()
        .map(|instance| {
            move |line: &str| !is_panic_report(line) && line.contains(&instance.secrets.query_id)
        })
        .collect();
    let missing: Vec<String> = unlogged(learner, &wanted)
        .await?
        .into_iter()
        .map(|index| {
            format!("{} (query {})", plan.failing[index].name, plan.failing[index].secrets.query_id)
        })
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    Ok(Some(with_log(
        learner,
        Failure::new(
            format!("the log never mentions the database error of {}", missing.join(" or ")),
            "The generic 500 hides the cause from the client, so the log is the only place your \
             team can find it: which query failed, on which host. Log the error itself, e.g. \
             tracing::error!(%error, \"...\"), once, where it becomes a 500.",
        ),
    )))
}

/// Each failing run's panic message: the panic report counts, as does the learner's own line.
pub(super) async fn panics(learner: &Learner, plan: &Plan) -> Result<Option<Failure>, Lost> {
    let wanted: Vec<_> = plan
        .failing
        .iter()
        .map(|instance| move |line: &str| line.contains(&instance.secrets.panic_key))
        .collect();
    let missing: Vec<&str> = unlogged(learner, &wanted)
        .await?
        .into_iter()
        .map(|index| plan.failing[index].name)
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    Ok(Some(with_log(
        learner,
        Failure::new(
            format!("the log never mentions the panic of {}", missing.join(" or ")),
            "A caught panic still needs a trace: without one, a bug that turns requests into \
             500s leaves nothing to debug. The default panic hook writes it to stderr; a custom \
             hook or a CatchPanicLayer function that swallows it must log the message itself.",
        ),
    )))
}

/// No bearer token, of any run, anywhere in the log.
pub(super) async fn no_credential(learner: &Learner, plan: &Plan) -> Option<Failure> {
    let text = learner.log().text();
    let tokens: Vec<&str> = plan
        .failing
        .iter()
        .chain([&plan.healthy])
        .map(|instance| instance.token.as_str())
        .collect();
    let lines: Vec<String> = text
        .lines()
        .filter(|line| tokens.iter().any(|token| line.contains(token)))
        .take(3)
        .map(|line| {
            tokens
                .iter()
                .fold(log::shortened(line), |line, token| line.replace(token, "«the bearer token»"))
        })
        .collect();
    if lines.is_empty() {
        return None;
    }
    Some(
        Failure::new(
            "the server log holds the bearer token sent in the request's Authorization header",
            "Logs are shipped to vendors, kept for years and read by many people: a credential \
             in a log is an incident. Log the error, not the whole request; if you log headers, \
             mark Authorization as sensitive (tower-http's SetSensitiveRequestHeadersLayer) so \
             it prints as \"Sensitive\".",
        )
        .with(Evidence::Text { title: "log lines with the token".into(), body: lines.join("\n") }),
    )
}

/// Adds the end of the log, and says so when only part of a flood of output was searched.
fn with_log(learner: &Learner, mut failure: Failure) -> Failure {
    let captured = learner.log();
    if captured.truncated() {
        failure.summary.push_str(&format!(
            " (your code wrote {} bytes: only the first and last MiB were searched)",
            captured.total()
        ));
    }
    failure.with(Evidence::Text {
        title: "server log, last lines".into(),
        body: log::tail(&captured.text(), 12),
    })
}
