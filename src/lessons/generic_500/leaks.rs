//! Does anything of a failure reach the client? Two ways to find out, the first readable and
//! the second thorough: look for this run's secrets in every answer, and compare answers that
//! must not depend on the failure (two runs whose failures differ in every detail; a database
//! error and a panic; one id and another). Encoded, partial and header-borne leaks all show up
//! as a difference, without a list of encodings to try.

use std::collections::BTreeSet;

use super::asked::{Asked, FailingAnswers};
use super::plan::Plan;
use crate::judge::answer::Answer;
use crate::judge::{Evidence, Failure};

const WHY: &str = "Anything in an answer that depends on the failure tells an outsider about \
    your internals, one probe at a time: hosts, queries, code paths. Encoded (base64, hex) or \
    tucked in a header, it is still a leak. The generic 500 is the same bytes whatever failed.";

pub(super) fn find(plan: &Plan, asked: &Asked) -> Option<Failure> {
    secrets_found(plan, asked).or_else(|| first_difference(asked))
}

/// Every secret of the run, with what it would give away.
fn secrets(plan: &Plan) -> Vec<(String, &'static str)> {
    let mut secrets = Vec::new();
    for instance in &plan.failing {
        secrets.push((instance.secrets.query_id.clone(), "the failed query's id"));
        secrets.push((instance.secrets.host.clone(), "the database host"));
        secrets.push((instance.secrets.panic_key.clone(), "the panic message"));
        if let Some(failure) = &instance.setup.failure {
            secrets.push((base64(failure.error.as_bytes()), "the database error, in base64"));
        }
    }
    for instance in plan.failing.iter().chain([&plan.healthy]) {
        secrets.push((instance.token.clone(), "the request's bearer token"));
    }
    secrets.extend([
        ("panicked".to_string(), "a panic report"),
        (".rs:".to_string(), "a source code location"),
    ]);
    secrets
}

fn secrets_found(plan: &Plan, asked: &Asked) -> Option<Failure> {
    let secrets = secrets(plan);
    // Each kind of leak once, with the first answer that had it and how many more did.
    let mut found: Vec<(String, String, usize)> = Vec::new();
    for (request, answer) in every_answer(asked) {
        let Ok(answer) = answer else { continue };
        let mut places: Vec<(String, String)> = answer
            .headers
            .iter()
            .map(|(name, value)| {
                (format!("header {name}"), String::from_utf8_lossy(value.as_bytes()).into())
            })
            .collect();
        places.push(("body".into(), answer.text()));
        for (place, text) in &places {
            let lowered = text.to_lowercase();
            for (secret, meaning) in &secrets {
                let Some(at) = lowered.find(&secret.to_lowercase()) else { continue };
                let kind = format!("{place}: {meaning}");
                match found.iter_mut().find(|(known, _, _)| *known == kind) {
                    Some((_, _, more)) => *more += 1,
                    None => found.push((
                        kind,
                        format!("{request}\n    {}", excerpt(text, at, secret.len())),
                        0,
                    )),
                }
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    let shown: Vec<String> = found
        .iter()
        .map(|(kind, first, more)| match more {
            0 => format!("{kind}, in {first}"),
            more => format!("{kind}, in {first}\n    (and in {more} more answer(s))"),
        })
        .collect();
    let kinds: Vec<&str> = found.iter().map(|(kind, _, _)| kind.as_str()).collect();
    Some(
        Failure::new(format!("what the client received gives away {}", kinds.join("; ")), WHY)
            .with(Evidence::Text { title: "leaks".into(), body: shown.join("\n") }),
    )
}

/// Each answer with a label that says which request of which run it was.
fn every_answer(asked: &Asked) -> Vec<(String, &Result<Answer, String>)> {
    let mut all = Vec::new();
    for run in &asked.failing {
        for (path, answer) in run.orders.iter().chain(&run.reports).chain([&run.unknown]) {
            all.push((format!("GET {path} ({})", run.name), answer));
        }
        all.push((format!("GET /health ({})", run.name), &run.health));
    }
    let healthy = &asked.healthy;
    for (order, answer) in &healthy.found {
        all.push((format!("GET /orders/{} (healthy)", order.id), answer));
    }
    for (id, answer) in &healthy.missing {
        all.push((format!("GET /orders/{id} (healthy)"), answer));
    }
    all.push(("GET /health (healthy)".into(), &healthy.health));
    all
}

/// The first pair of answers that should be the same bytes and are not.
fn first_difference(asked: &Asked) -> Option<Failure> {
    let [a, b] = &asked.failing;
    let noise = noise(a).union(&noise(b)).cloned().collect::<BTreeSet<String>>();
    let view = |answer: &Result<Answer, String>| {
        answer.as_ref().ok().map(|answer| stable_view(answer, &noise))
    };
    // Across runs: the same request, failures that differ in every detail.
    let across_runs = a
        .orders
        .iter()
        .zip(&b.orders)
        .chain(a.reports.iter().zip(&b.reports))
        .chain([(&a.unknown, &b.unknown)])
        .map(|((path, first), (_, second))| (path.clone(), first, second))
        .chain([("/health".to_string(), &a.health, &b.health)]);
    for (path, first, second) in across_runs {
        if let (Some(first), Some(second)) = (view(first), view(second))
            && first != second
        {
            return Some(differs(
                format!(
                    "GET {path} answers differently in two runs whose failures differ only in their details"
                ),
                ("run A", first),
                ("run B", second),
            ));
        }
    }
    // Within a run: one id and another, a database error and a panic.
    for run in [a, b] {
        let Some((first_path, first)) = run.orders.first() else { continue };
        let Some(first) = view(first) else { continue };
        for (path, answer) in run.orders.iter().skip(1).chain(&run.reports) {
            let Some(other) = view(answer) else { continue };
            if other != first {
                let cause = if path.starts_with("/reports") { "a panic" } else { "another id" };
                return Some(differs(
                    format!(
                        "GET {first_path} (a database error) and GET {path} ({cause}) answer \
                         differently ({}): a client can tell failures apart",
                        run.name
                    ),
                    (first_path, first),
                    (path, other),
                ));
            }
        }
    }
    None
}

fn differs(
    summary: String,
    (first_name, first): (&str, String),
    (second_name, second): (&str, String),
) -> Failure {
    Failure::new(summary, WHY)
        .with(Evidence::Text {
            title: "compared".into(),
            body: format!("- {first_name}\n+ {second_name}\n(the Date header, and headers that change between identical requests, are left out)"),
        })
        .with(Evidence::Diff { expected: first, actual: second })
}

/// Headers that differ between two identical requests (a request id, say): noise, not leaks.
fn noise(run: &FailingAnswers) -> BTreeSet<String> {
    let mut noise = BTreeSet::from(["date".to_string()]);
    if let (Some((_, Ok(first))), Ok(again)) = (run.orders.first(), &run.repeated) {
        for name in first.headers.keys().chain(again.headers.keys()) {
            let values = |answer: &Answer| {
                answer
                    .headers
                    .get_all(name)
                    .iter()
                    .map(|value| value.as_bytes().to_vec())
                    .collect::<Vec<_>>()
            };
            if values(first) != values(again) {
                noise.insert(name.as_str().to_string());
            }
        }
    }
    noise
}

/// An answer as bytes a client could compare: status, headers but the noisy ones, body.
fn stable_view(answer: &Answer, noise: &BTreeSet<String>) -> String {
    let mut headers: Vec<String> = answer
        .headers
        .iter()
        .filter(|(name, _)| !noise.contains(name.as_str()))
        .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())))
        .collect();
    headers.sort();
    let body = String::from_utf8_lossy(&answer.body);
    format!(
        "HTTP/1.1 {}\n{}\n\n{}\n",
        answer.status.as_u16(),
        headers.join("\n"),
        crate::judge::log::shortened(&body)
    )
}

/// A short window of `text` around the `length` bytes at `at`, so a leak can be seen in context.
fn excerpt(text: &str, at: usize, length: usize) -> String {
    let start = text.floor_char_boundary(at.saturating_sub(40));
    let end = text.ceil_char_boundary((at + length + 40).min(text.len()));
    format!("…{}…", &text[start..end])
}

/// Standard base64, with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (index, byte)| bits | u32::from(*byte) << (16 - 8 * index));
        for index in 0..4 {
            if index <= chunk.len() {
                encoded.push(char::from(ALPHABET[(bits >> (18 - 6 * index) & 63) as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_examples() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
