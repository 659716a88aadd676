//! Results in the exercism test-runner format (version 3), so that graders and CI pipelines
//! can run httplings unattended: `status` pass/fail/error, a `message` for errors, `tests[]`.

use httplings::protocol::Failure;
use serde_json::{Value, json};

use super::evidence;
use crate::check::{CheckState, Checked};

pub fn results(outcome: &Checked) -> Value {
    let report = match outcome {
        Checked::CompileFailed(diagnostics) => {
            return json!({"version": 3, "status": "error", "message": diagnostics, "tests": []});
        }
        Checked::Ran(report) => report,
    };
    let tests: Vec<Value> = report
        .checks
        .iter()
        .map(|check| match &check.state {
            CheckState::Passed => {
                json!({"name": check.name, "status": "pass", "message": null, "output": null})
            }
            CheckState::Failed(failure) => json!({
                "name": check.name,
                "status": "fail",
                "message": format!("{}. {}", failure.summary, failure.why),
                "output": evidence_text(failure),
            }),
            CheckState::NotReached => json!({
                "name": check.name,
                "status": "error",
                "message": report.interrupted.as_deref().unwrap_or("the check never reported"),
                "output": report.log_tail,
            }),
        })
        .collect();
    let status = match (&report.interrupted, report.passed()) {
        (Some(_), _) => "error",
        (None, true) => "pass",
        (None, false) => "fail",
    };
    json!({"version": 3, "status": status, "message": report.interrupted, "tests": tests})
}

/// The evidence as the terminal shows it, without colour or indentation.
fn evidence_text(failure: &Failure) -> String {
    let mut text = Vec::new();
    evidence::evidence(&mut text, &failure.evidence).expect("writing to memory cannot fail");
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> =
        text.lines().map(|line| line.strip_prefix("    ").unwrap_or(line)).collect();
    lines.join("\n").trim_matches('\n').to_string()
}
