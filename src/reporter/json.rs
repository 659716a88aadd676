//! Results in the exercism test-runner format, version 3, so that graders and CI pipelines can
//! run httplings unattended: a top-level `status` (pass, fail or error) with a `message` for
//! errors, and one entry per check whose `message` holds the whole failure (what, the evidence
//! as plain text, why) and whose `output` holds what the learner's code printed meanwhile.

use httplings_judge::judge::Failure;
use serde_json::{Value, json};

use super::evidence;
use crate::outcome::{CheckState, Checked};

/// The spec's limit on a test's `output`, and the words it asks for when it is cut.
const OUTPUT_LIMIT: usize = 500;
const TRUNCATED: &str = "Output was truncated. Please limit to 500 chars.";

pub fn results(outcome: &Checked, width: usize) -> Value {
    let report = match outcome {
        Checked::CompileFailed(diagnostics) => {
            let message = super::as_opened(diagnostics);
            return json!({"version": 3, "status": "error", "message": message, "tests": []});
        }
        Checked::Ran(report) => report,
    };
    let interruption = report.interruption.as_ref().map(|interruption| interruption.cause.clone());
    let tests: Vec<Value> = report
        .checks
        .iter()
        .map(|check| {
            let output = (!check.output.trim().is_empty()).then(|| truncated(&check.output));
            match &check.state {
                CheckState::Passed => json!({"name": check.name, "status": "pass", "output": output}),
                CheckState::Failed(failure) => json!({
                    "name": check.name,
                    "status": "fail",
                    "message": message(failure, check.why.as_deref(), width),
                    "output": output,
                }),
                CheckState::NotJudged => json!({
                    "name": check.name,
                    "status": "error",
                    "message": format!("not judged: {}", interruption.as_deref().unwrap_or("judging stopped early")),
                    "output": output,
                }),
            }
        })
        .collect();
    let status = match (&interruption, report.passed()) {
        (Some(_), _) => "error",
        (None, true) => "pass",
        (None, false) => "fail",
    };
    let mut results = json!({"version": 3, "status": status, "tests": tests});
    // Not part of the exercism format: whether the learner's code was walled in.
    if let Some(sandbox) = &report.sandbox {
        results["sandbox"] = json!(sandbox);
    }
    if let Some(cause) = interruption {
        results["message"] = Value::String(cause);
    }
    results
}

/// The whole failure as plain text: the summary, the evidence as the terminal shows it
/// (without colour or indentation), and why it matters.
fn message(failure: &Failure, why: Option<&str>, width: usize) -> String {
    let mut text = Vec::new();
    evidence::evidence(&mut text, &failure.evidence).expect("writing to memory cannot fail");
    let text = String::from_utf8_lossy(&text);
    let evidence: Vec<&str> =
        text.lines().map(|line| line.strip_prefix("    ").unwrap_or(line)).collect();
    let mut parts =
        vec![failure.summary.clone(), evidence.join("\n").trim_matches('\n').to_string()];
    if let Some(why) = failure.why.as_deref().or(why) {
        parts.push(evidence::wrap(&format!("Why it matters: {why}"), width).join("\n"));
    }
    parts.retain(|part| !part.is_empty());
    parts.join("\n\n")
}

fn truncated(output: &str) -> String {
    match output.char_indices().nth(OUTPUT_LIMIT) {
        Some((cut, _)) => format!("{}\n{TRUNCATED}", &output[..cut]),
        None => output.to_string(),
    }
}
