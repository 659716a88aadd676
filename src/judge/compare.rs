//! Differential comparison: "the answer must not depend on X", asked twice with X changed.
//!
//! An answer is cut into its leaves (each header, each JSON value by its path), and the same
//! request's answers are compared across:
//! - two asks of one instance (what differs there is **noise**: a request id, a timestamp);
//! - another instance of the learner's service in front of the same dependency (what differs
//!   there as well is **per-instance**: an instance id drawn at start-up);
//! - an instance in front of a dependency that differs in X (its address, its secrets, its
//!   failure's text).
//!
//! A leaf that keeps one value for a given X but changes with X is a **leak**: it carries X.
//! Noise is compared by **shape** instead (its length and the kinds of characters in it): a
//! request id whose shape changes with X carries X as well. And whatever the comparison, no
//! secret of the dependency may appear anywhere, raw or encoded ([`secrets_in`]).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::Value;

use super::answer::Answer;

/// An answer's leaves: `header x-request-id` → its value(s), `body /error/message` → the value.
pub fn leaves(answer: &Answer) -> BTreeMap<String, String> {
    let mut leaves = BTreeMap::new();
    for name in answer.headers.keys() {
        let values: Vec<String> = answer
            .headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        leaves.insert(format!("header {name}"), values.join(", "));
    }
    match answer.json() {
        Some(json) => json_leaves(&json, String::new(), &mut leaves),
        None => {
            leaves.insert("body".into(), answer.text());
        }
    }
    leaves
}

fn json_leaves(value: &Value, path: String, leaves: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                json_leaves(field, format!("{path}/{key}"), leaves);
            }
            if fields.is_empty() {
                leaves.insert(format!("body {path}"), "{}".into());
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                json_leaves(item, format!("{path}/{index}"), leaves);
            }
            leaves.insert(format!("body {path}/length"), items.len().to_string());
        }
        Value::String(text) => {
            leaves.insert(format!("body {path}"), text.clone());
        }
        other => {
            leaves.insert(format!("body {path}"), other.to_string());
        }
    }
}

/// The shape of a value: its length and the kinds of characters it has, so that two request
/// ids compare equal and a request id and an upstream's host name do not.
pub fn shape(value: &str) -> String {
    let kinds: BTreeSet<&str> = value
        .chars()
        .map(|character| match character {
            '0'..='9' => "digit",
            'a'..='f' | 'A'..='F' => "hex",
            'a'..='z' | 'A'..='Z' => "letter",
            '-' | '_' | '.' | ':' | '/' | '+' | '=' => "punctuation",
            ' ' => "space",
            _ => "other",
        })
        .collect();
    format!(
        "{} chars of {}",
        value.chars().count(),
        kinds.into_iter().collect::<Vec<_>>().join("/")
    )
}

/// The outline of a value: every run of letters and digits as one `x`, whatever its length and
/// its characters, the rest as it is. A request id, a UUID, a number or a date keeps its outline
/// from one answer to the next; a value with a host name or a secret appended does not.
pub fn outline(value: &str) -> String {
    let mut outlined = String::new();
    for character in value.chars() {
        if !character.is_alphanumeric() {
            outlined.push(character);
        } else if !outlined.ends_with('x') {
            outlined.push('x');
        }
    }
    outlined
}

/// About how many bits of `ids` change from one to the next: for each character position, the
/// logarithm of how many different characters the ids have there, summed. A counter or a clock
/// changes a few trailing characters (a handful of bits); 128 random bits in hex, about 4 bits
/// at each of 32 places. No position can show more than `log2(ids.len())` bits, so a few dozen
/// ids are needed to see 48 bits or more.
pub fn varying_bits(ids: &[String]) -> f64 {
    let longest = ids.iter().map(|id| id.chars().count()).max().unwrap_or(0);
    let columns: Vec<Vec<char>> = ids.iter().map(|id| id.chars().collect()).collect();
    (0..longest)
        .map(|at| {
            let seen: BTreeSet<Option<char>> =
                columns.iter().map(|chars| chars.get(at).copied()).collect();
            (seen.len() as f64).log2()
        })
        .sum()
}

/// The two of `ids` (of one length, `least_length` or more) that differ in the fewest
/// character places, and in how many: an id one step from another (a counter, a generator that
/// counts up within a millisecond) differs in one or two places, two random ones in most.
pub fn closest_pair(ids: &[String], least_length: usize) -> Option<(&str, &str, usize)> {
    let long: Vec<&str> =
        ids.iter().map(String::as_str).filter(|id| id.len() >= least_length).collect();
    let mut closest: Option<(&str, &str, usize)> = None;
    for (n, one) in long.iter().enumerate() {
        for other in long[n + 1..].iter().filter(|other| other.len() == one.len()) {
            let apart = one.bytes().zip(other.bytes()).filter(|(a, b)| a != b).count();
            if apart > 0 && closest.is_none_or(|(_, _, least)| apart < least) {
                closest = Some((one, other, apart));
            }
        }
    }
    closest
}

/// One answer to one request, with what it was asked under.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// Which X it was asked under (the dependency's address and secrets, the failure's cause).
    pub cause: usize,
    /// Which instance of the learner's service answered.
    pub instance: usize,
    pub answer: &'a Answer,
}

/// A leaf that depends on X.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// `header x-upstream`, `body /error/detail`.
    pub place: String,
    /// Its value under each cause, as seen (or its shape, for noise).
    pub values: Vec<String>,
    /// Whether it was compared by shape (it changes from ask to ask).
    pub by_shape: bool,
}

/// The leaves of the answers that change with the cause (see the module's comment). Answers of
/// other statuses than the first's are compared too: a status that depends on X is a leak.
pub fn leaks(observed: &[Observed<'_>]) -> Vec<Leak> {
    leaks_compared_by(observed, shape)
}

/// [`leaks`], with noise and per-instance values compared by their [`outline`]: for answers
/// whose ids may vary in length (a random number written in decimal, a hex number without its
/// leading zeros), which [`shape`] would tell apart by chance.
pub fn leaks_by_outline(observed: &[Observed<'_>]) -> Vec<Leak> {
    leaks_compared_by(observed, outline)
}

fn leaks_compared_by(observed: &[Observed<'_>], shape: fn(&str) -> String) -> Vec<Leak> {
    let cut: Vec<(usize, usize, BTreeMap<String, String>)> = observed
        .iter()
        .map(|seen| {
            let mut leaves = leaves(seen.answer);
            leaves.insert("status".into(), seen.answer.status.as_u16().to_string());
            (seen.cause, seen.instance, leaves)
        })
        .collect();
    let places: BTreeSet<&String> = cut.iter().flat_map(|(_, _, leaves)| leaves.keys()).collect();
    let mut found = Vec::new();
    for place in places {
        let value =
            |leaves: &BTreeMap<String, String>| leaves.get(place).cloned().unwrap_or_default();
        // Noise: the value differs between two asks of one instance under one cause.
        let noisy = cut.iter().any(|(cause, instance, leaves)| {
            cut.iter().any(|(other_cause, other_instance, other)| {
                cause == other_cause && instance == other_instance && value(leaves) != value(other)
            })
        });
        // Per instance: the value differs between instances under one cause.
        let per_instance = cut.iter().any(|(cause, instance, leaves)| {
            cut.iter().any(|(other_cause, other_instance, other)| {
                cause == other_cause && instance != other_instance && value(leaves) != value(other)
            })
        });
        let seen_as = |leaves: &BTreeMap<String, String>| {
            if noisy || per_instance { shape(&value(leaves)) } else { value(leaves) }
        };
        let mut by_cause: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for (cause, _, leaves) in &cut {
            by_cause.entry(*cause).or_default().insert(seen_as(leaves));
        }
        let distinct: BTreeSet<&BTreeSet<String>> = by_cause.values().collect();
        if distinct.len() > 1 {
            found.push(Leak {
                place: place.clone(),
                values: by_cause
                    .values()
                    .map(|values| values.iter().cloned().collect::<Vec<_>>().join(" | "))
                    .collect(),
                by_shape: noisy || per_instance,
            });
        }
    }
    found
}

/// The fewest answers each cause needs for [`leaks_in_part`] to judge a place.
const IN_PART_FEWEST: usize = 4;

/// How unlikely, in bits, the characters a leak keeps must be by chance for [`leaks_in_part`].
/// An id of each instance, random in hex, keeps a character on two instances once in 16 (4
/// bits), so a character kept by every cause costs 4 bits per instance past each cause's first:
/// 12 bits over three causes of two instances each. 24 bits is once in 16 million for one
/// stretch; a place of 32 characters has about 30.
const IN_PART_BITS: usize = 24;

/// Leaves that change from answer to answer, but keep some of their characters for a given X
/// and change those with X: a random id with the cause's hash tucked into it. Judged over
/// answers to different requests, where every cause has [`IN_PART_FEWEST`] answers or more from
/// two instances or more (so that an instance's own id is not taken for the cause), asked at the
/// moments the others were (so that a clock's digits are not), and the place's values are all
/// of one length. A character is kept where each cause's answers agree on it and the causes
/// do not all agree; a leak keeps [`IN_PART_BITS`] worth within one stretch where every cause's
/// answers agree (a fixed character, a dash, may stand between the kept ones: two hashes agree
/// on a character once in 16, and a leak must not hide behind that).
pub fn leaks_in_part(observed: &[Observed<'_>]) -> Vec<Leak> {
    let cut: Vec<(usize, BTreeMap<String, String>)> =
        observed.iter().map(|seen| (seen.cause, leaves(seen.answer))).collect();
    let places: BTreeSet<&String> = cut.iter().flat_map(|(_, leaves)| leaves.keys()).collect();
    let instances: BTreeMap<usize, BTreeSet<usize>> =
        observed.iter().fold(BTreeMap::new(), |mut instances, seen| {
            instances.entry(seen.cause).or_default().insert(seen.instance);
            instances
        });
    let bits_per_kept: usize =
        instances.values().map(|each| 4 * each.len().saturating_sub(1)).sum();
    let mut found = Vec::new();
    for place in places {
        let mut by_cause: BTreeMap<usize, Vec<Vec<char>>> = BTreeMap::new();
        for (cause, leaves) in &cut {
            let value = leaves.get(place).map_or(Vec::new(), |value| value.chars().collect());
            by_cause.entry(*cause).or_default().push(value);
        }
        let length = by_cause.values().flatten().next().map_or(0, Vec::len);
        let judged = by_cause.len() > 1
            && instances.values().all(|instances| instances.len() > 1)
            && by_cause.values().all(|values| values.len() >= IN_PART_FEWEST)
            && by_cause.values().flatten().all(|value| value.len() == length)
            && by_cause.values().any(|values| values.iter().any(|value| *value != values[0]));
        if !judged {
            continue;
        }
        // Each cause's character at each place, where all its answers agree on one.
        let agreed: Vec<Option<BTreeSet<char>>> = (0..length)
            .map(|at| {
                by_cause
                    .values()
                    .map(|values| {
                        let first = values[0][at];
                        values.iter().all(|value| value[at] == first).then_some(first)
                    })
                    .collect()
            })
            .collect();
        let kept: Vec<bool> =
            agreed.iter().map(|each| each.as_ref().is_some_and(|each| each.len() > 1)).collect();
        let most_in_a_stretch = agreed
            .split(Option::is_none)
            .scan(0, |start, stretch| {
                let kept_here =
                    kept[*start..*start + stretch.len()].iter().filter(|kept| **kept).count();
                *start += stretch.len() + 1;
                Some(kept_here)
            })
            .max()
            .unwrap_or(0);
        if most_in_a_stretch * bits_per_kept < IN_PART_BITS {
            continue;
        }
        let marked = |value: &[char]| -> String {
            let shown: String = value
                .iter()
                .zip(&kept)
                .map(|(char, kept)| if *kept { *char } else { '·' })
                .collect();
            format!("{} (kept: {shown})", value.iter().collect::<String>())
        };
        found.push(Leak {
            place: place.clone(),
            values: by_cause.values().map(|values| marked(&values[0])).collect(),
            by_shape: false,
        });
    }
    found
}

/// Text only an HTTP client's errors hold (reqwest's, hyper's, the system's), never words a
/// person writes in an error message: any of it in an answer is the client's error passed on,
/// with or without its URL.
pub const CLIENT_ERROR_TEXT: &[&str] = &[
    "error sending request",
    "error decoding response body",
    "request or response body error",
    "error reading a body from connection",
    "connection closed before message completed",
    "tcp connect error",
    "invalid HTTP version parsed",
    "os error",
    "reqwest::",
    "hyper::",
    "hyper_util",
];

/// The secrets among `secrets` that `text` holds: as they are, in either case, or encoded as
/// base64, hex, percent-encoding or JSON escapes would write them.
pub fn secrets_in<'s>(text: &str, secrets: &'s [String]) -> Vec<&'s str> {
    let lower = text.to_ascii_lowercase();
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .filter(|secret| {
            encodings(secret).iter().any(|form| lower.contains(&form.to_ascii_lowercase()))
        })
        .map(String::as_str)
        .collect()
}

/// Which kinds of secret `answers` give away (headers and body searched, raw or encoded as
/// [`secrets_in`] finds them): each kind once, with the label of the first answer that had one
/// and how many more answers did. `secrets` pairs each value with what it would give away.
pub fn given_away<'s>(
    answers: &[(String, &Answer)],
    secrets: &[(String, &'s str)],
) -> Vec<(&'s str, String, usize)> {
    let texts: Vec<String> = answers.iter().map(|(_, answer)| whole(answer)).collect();
    // Looked for in every answer at once, then, for what was found, answer by answer.
    let values: Vec<String> = secrets.iter().map(|(value, _)| value.clone()).collect();
    let leaked: Vec<String> =
        secrets_in(&texts.join("\n"), &values).into_iter().map(String::from).collect();
    let mut found: Vec<(&str, String, usize)> = Vec::new();
    for ((label, _), text) in answers.iter().zip(&texts) {
        for secret in secrets_in(text, &leaked) {
            let Some((_, kind)) = secrets.iter().find(|(value, _)| value == secret) else {
                continue;
            };
            match found.iter_mut().find(|(known, _, _)| known == kind) {
                Some((_, _, more)) => *more += 1,
                None => found.push((kind, label.clone(), 0)),
            }
        }
    }
    found
}

/// An answer's headers and body, as one text.
fn whole(answer: &Answer) -> String {
    let mut text = answer.text();
    for (name, value) in &answer.headers {
        text.push_str(&format!("\n{name}: {}", String::from_utf8_lossy(value.as_bytes())));
    }
    text
}

/// The forms a secret may take in an answer.
fn encodings(secret: &str) -> Vec<String> {
    let hex: String = secret.bytes().map(|byte| format!("{byte:02x}")).collect();
    let percent: String = secret
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    let mut forms = vec![secret.to_string(), hex, percent];
    // Base64 at each of its three alignments, minus the edge characters that depend on the
    // bytes around the secret.
    for offset in 0..3 {
        let padded: Vec<u8> = std::iter::repeat_n(b'\0', offset).chain(secret.bytes()).collect();
        for engine in
            [&base64::engine::general_purpose::STANDARD, &base64::engine::general_purpose::URL_SAFE]
        {
            let encoded = engine.encode(&padded);
            let core = encoded.trim_end_matches('=');
            let skip = (offset * 4).div_ceil(3);
            if core.len() > skip + 2 {
                forms.push(core[skip..core.len() - 2].to_string());
            }
        }
    }
    forms.retain(|form| form.len() >= 6);
    forms
}

/// `text` with the case of every ASCII letter swapped (a text without letters gets a `Q`): the
/// same name to a reader that folds case, another to one that does not. Keys and credentials are
/// compared as they are sent.
pub fn case_swapped(text: &str) -> String {
    let swapped: String =
        text.chars()
            .map(|c| {
                if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
            })
            .collect();
    if swapped == text { format!("{text}Q") } else { swapped }
}

/// The names of a JSON text's object members, in the order they are written: one failure's
/// body written by another piece of code than the next's shows in it, whatever their values.
pub fn member_order(json: &str) -> String {
    let (mut names, mut last) = (Vec::new(), None);
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut text = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => text.extend(chars.next()),
                        '"' => break,
                        c => text.push(c),
                    }
                }
                last = Some(text);
            }
            ':' => names.extend(last.take()),
            c if c.is_whitespace() => {}
            _ => last = None,
        }
    }
    names.join(",")
}

#[cfg(test)]
mod varying_tests {
    use super::*;

    #[test]
    fn random_ids_vary_in_many_bits_and_counters_and_clocks_in_few() {
        let mut rng = fastrand::Rng::with_seed(7);
        let random: Vec<String> = (0..40).map(|_| format!("{:032x}", rng.u128(..))).collect();
        assert!(varying_bits(&random) > 100.0, "{}", varying_bits(&random));
        let counted: Vec<String> = (1..=40).map(|n| format!("req-{n:08}")).collect();
        assert!(varying_bits(&counted) < 10.0, "{}", varying_bits(&counted));
        let clock: Vec<String> =
            (0..40).map(|n| (1_764_000_000_123_456_789u64 + n * 2_345_678).to_string()).collect();
        assert!(varying_bits(&clock) < 40.0, "{}", varying_bits(&clock));
        let word: Vec<String> = (0..40).map(|_| format!("{:016x}", rng.u64(..))).collect();
        assert!(varying_bits(&word) > 55.0, "{}", varying_bits(&word));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, StatusCode};

    use super::*;

    #[test]
    fn ids_one_step_apart_are_the_closest_pair_and_random_ones_are_far_apart() {
        let ids = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
        let monotonic = ids(&[
            "01JEB3K5Y7ZQ4T9V2M8N6P4AD7",
            "01JEB3K5Y8C1R5W3X0B7F2KJ9Q",
            "01JEB3K5Y7ZQ4T9V2M8N6P4AD8",
        ]);
        assert_eq!(
            closest_pair(&monotonic, 16),
            Some(("01JEB3K5Y7ZQ4T9V2M8N6P4AD7", "01JEB3K5Y7ZQ4T9V2M8N6P4AD8", 1))
        );
        let random = ids(&[
            "3f0c2a9e-6d1b-4f57-9a43-0c8d1e2b7a61",
            "b81e04d2-97c3-4a0e-8f15-6e2d93c0a7b4",
            "3f0c2a9e-6d1b-4f57-9a43-0c8d1e2b7a61",
        ]);
        let (_, _, apart) = closest_pair(&random, 16).unwrap();
        assert!(apart > 20, "{apart}: equal ids are a repeat, not a pair one step apart");
        assert_eq!(closest_pair(&ids(&["short-1", "short-2"]), 16), None);
    }

    fn answer(headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        Answer { status: StatusCode::BAD_GATEWAY, headers: map, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn noise_and_instance_ids_pass_and_what_follows_the_cause_is_a_leak() {
        let a1 = answer(
            &[("x-request-id", "3f2a9c"), ("x-instance", "i-7")],
            r#"{"error":{"id":"aa11bb22"}}"#,
        );
        let a2 = answer(
            &[("x-request-id", "91bd07"), ("x-instance", "i-7")],
            r#"{"error":{"id":"cc33dd44"}}"#,
        );
        let a3 = answer(
            &[("x-request-id", "07e611"), ("x-instance", "i-2")],
            r#"{"error":{"id":"ee55ff66"}}"#,
        );
        let b = answer(
            &[("x-request-id", "c0ffee"), ("x-instance", "i-5")],
            r#"{"error":{"id":"1234abcd"}}"#,
        );
        let observed = [
            Observed { cause: 0, instance: 0, answer: &a1 },
            Observed { cause: 0, instance: 0, answer: &a2 },
            Observed { cause: 0, instance: 1, answer: &a3 },
            Observed { cause: 1, instance: 2, answer: &b },
        ];
        assert_eq!(leaks(&observed), []);
        let leaky = answer(
            &[("x-request-id", "c0ffee"), ("x-instance", "i-5"), ("server", "pricing-b")],
            r#"{"error":{"id":"1234abcd"}}"#,
        );
        let leaked = leaks(&[
            observed[0].clone(),
            observed[1].clone(),
            observed[2].clone(),
            Observed { cause: 1, instance: 2, answer: &leaky },
        ]);
        assert_eq!(
            leaked.iter().map(|leak| leak.place.as_str()).collect::<Vec<_>>(),
            ["header server"]
        );
    }

    #[test]
    fn a_request_id_whose_shape_follows_the_cause_is_a_leak() {
        let a1 = answer(&[("x-request-id", "req-3f2a9c")], "{}");
        let a2 = answer(&[("x-request-id", "req-91bd07")], "{}");
        let b1 = answer(&[("x-request-id", "req-91bd07-pricing-b.internal")], "{}");
        let b2 = answer(&[("x-request-id", "req-3f2a9c-pricing-b.internal")], "{}");
        let leaked = leaks(&[
            Observed { cause: 0, instance: 0, answer: &a1 },
            Observed { cause: 0, instance: 0, answer: &a2 },
            Observed { cause: 1, instance: 1, answer: &b1 },
            Observed { cause: 1, instance: 1, answer: &b2 },
        ]);
        assert_eq!(leaked.len(), 1);
        assert!(leaked[0].by_shape);
    }

    #[test]
    fn ids_of_varying_length_pass_by_outline_and_what_follows_the_cause_does_not() {
        let ids = ["7", "18446744073709551615", "904", "1234567890123456789"];
        let answers: Vec<Answer> =
            ids.iter().map(|id| answer(&[("x-instance-id", id)], "{}")).collect();
        let observed = |last: &Answer| {
            let mut observed: Vec<Observed<'_>> = answers[..3]
                .iter()
                .enumerate()
                .map(|(n, answer)| Observed { cause: 0, instance: n.min(1), answer })
                .collect();
            observed.push(Observed { cause: 1, instance: 2, answer: last });
            leaks_by_outline(&observed)
        };
        assert_eq!(observed(&answers[3]), []);
        assert_eq!(
            leaks(&[
                Observed { cause: 0, instance: 0, answer: &answers[0] },
                Observed { cause: 0, instance: 1, answer: &answers[1] },
                Observed { cause: 1, instance: 2, answer: &answers[3] },
            ])
            .len(),
            1,
            "by shape, lengths tell them apart"
        );
        let appended = answer(&[("x-instance-id", "1234-127.4.0.9")], "{}");
        assert_eq!(observed(&appended).len(), 1);
        assert_eq!(outline("Tue, 03 Dec 2024 12:36:01 GMT"), "x, x x x x:x:x x");
    }

    /// Answers of three causes, two instances each, four answers a cause, whose `x-id` is
    /// made by `id(cause, instance, answer)`.
    fn ids_of(id: impl Fn(usize, usize, usize) -> String) -> Vec<(usize, usize, Answer)> {
        let mut answers = Vec::new();
        for cause in 0..3 {
            for n in 0..4 {
                let instance = 2 * cause + n % 2;
                answers.push((cause, instance, answer(&[("x-id", &id(cause, instance, n))], "{}")));
            }
        }
        answers
    }

    /// `digits` hex digits that differ from answer to answer, and from cause to cause.
    fn scrambled(cause: usize, n: usize, digits: usize) -> String {
        let mixed = ((cause * 4 + n + 1) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        format!("{mixed:016x}")[..digits].to_string()
    }

    fn in_part(answers: &[(usize, usize, Answer)]) -> Vec<String> {
        let observed: Vec<Observed<'_>> = answers
            .iter()
            .map(|(cause, instance, answer)| Observed {
                cause: *cause,
                instance: *instance,
                answer,
            })
            .collect();
        leaks_in_part(&observed).into_iter().map(|leak| leak.place).collect()
    }

    #[test]
    fn a_tag_kept_per_cause_is_a_leak_even_where_the_causes_agree_on_some_of_it() {
        // Random per answer, but for a tag per cause across a dash, on whose first and last
        // characters all three causes agree: two characters kept, not in a row.
        let tags = ["7a-9c", "7b-3c", "7e-0c"];
        let tagged = ids_of(|cause, _, n| format!("{}-{}", scrambled(cause, n, 8), tags[cause]));
        assert_eq!(in_part(&tagged), ["header x-id"]);
        // One character kept per cause is not enough to tell a tag from chance.
        let one = ids_of(|cause, _, n| format!("{}-{}", scrambled(cause, n, 8), &tags[cause][..2]));
        assert_eq!(in_part(&one), Vec::<String>::new());
    }

    #[test]
    fn an_instance_id_behind_a_fixed_prefix_is_not_a_leak_where_one_character_agrees() {
        // Each instance's id agrees with its twin's on the character after the prefix (once in
        // 16 by chance on each cause), and every cause's differs there: one character kept.
        let instance_ids = ["3f9a", "3c07", "a2e4", "ab19", "5d77", "50c2"];
        let ids = ids_of(|cause, instance, n| {
            format!("req-{}-{}", instance_ids[instance], scrambled(cause, n, 6))
        });
        assert_eq!(in_part(&ids), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_secret_given_away_is_named_once_with_its_first_answer() {
        let leaky = answer(&[("x-debug", "host=pricing-7f3a.internal")], "{}");
        let clean = answer(&[], r#"{"error":{"code":"BAD_GATEWAY"}}"#);
        let answers =
            [("first".to_string(), &clean), ("second".into(), &leaky), ("third".into(), &leaky)];
        let secrets = [("pricing-7f3a.internal".to_string(), "the upstream's host")];
        assert_eq!(
            given_away(&answers, &secrets),
            [("the upstream's host", "second".to_string(), 1)]
        );
    }

    #[test]
    fn secrets_are_found_raw_and_encoded() {
        let secrets = vec!["pricing-7f3a.internal".to_string(), "s3cr3t-token-99".to_string()];
        assert_eq!(
            secrets_in("upstream PRICING-7F3A.INTERNAL said no", &secrets),
            ["pricing-7f3a.internal"]
        );
        let hex: String = "s3cr3t-token-99".bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(secrets_in(&format!("id={hex}"), &secrets), ["s3cr3t-token-99"]);
        for prefix in ["", "x", "xy"] {
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{prefix}s3cr3t-token-99 trailing"));
            assert_eq!(secrets_in(&encoded, &secrets), ["s3cr3t-token-99"], "{prefix:?}");
        }
        assert!(secrets_in("nothing here", &secrets).is_empty());
    }

    #[test]
    fn member_order_lists_names_as_written_at_every_depth_and_skips_string_values() {
        let json = r#"{"b": 1, "a": {"d": "x:\"y", "c": [ {"e": null} ]}}"#;
        assert_eq!(member_order(json), "b,a,d,c,e");
        assert_ne!(member_order(r#"{"a":1,"b":2}"#), member_order(r#"{"b":2,"a":1}"#));
    }
}
