//! What a 503 says inside. Neither refusal says why: not the number of calls under way, which
//! at a refusal is the limit itself. Judged differentially: the two concurrency instances have
//! limits that differ, and a 503 whose words are the same in both but for a number that is each
//! instance's own limit says it, in its body or in a header of its own.

use crate::judge::answer::Answer;
use crate::judge::exchange::Exchange;
use crate::judge::{Evidence, Failure};

/// Written in a 503's body where the instance's limit stood.
const NAMED: &str = "{max_in_flight}";

/// The least share of an instance's 503s that must say the same, naming its limit: a number
/// drawn at random (a jittered `Retry-After` quoted in the message) matches the limit in a
/// few of them, never in most.
const MOST: f64 = 0.8;

/// The fewest 503s an instance must have refused with to be judged.
const FEWEST: usize = 3;

/// What most of an instance's 503s said, with its limit written as [`NAMED`].
#[derive(Debug)]
pub(super) struct Said {
    template: String,
    example: String,
    max: usize,
}

/// What most of `exchanges`' 503s said, when that names `max` as a number of its own.
pub(super) fn limit_said(exchanges: &[Exchange], max: usize) -> Option<Said> {
    let texts: Vec<String> = exchanges
        .iter()
        .filter(|exchange| exchange.status() == Some(503))
        .filter_map(|exchange| Some(said(exchange.answer()?)))
        .collect();
    let named: Vec<(String, &String)> =
        texts.iter().filter_map(|text| Some((with_limit_named(text, max)?, text))).collect();
    let (template, example) = named.first()?;
    let alike = named.iter().filter(|(other, _)| other == template).count();
    (texts.len() >= FEWEST && alike as f64 >= texts.len() as f64 * MOST).then(|| Said {
        template: template.clone(),
        example: (*example).clone(),
        max,
    })
}

/// The failure, when the two instances' 503s say the same but for their limits.
pub(super) fn judge(burst: Option<&Said>, stream: Option<&Said>) -> Option<Failure> {
    let (burst, stream) = (burst?, stream?);
    (burst.template == stream.template && burst.max != stream.max).then(|| {
        Failure::new(
            format!(
                "the 503s say how many calls are under way (max_in_flight {} on one instance, \
                 {} on another, and their bodies differ by just that number)",
                burst.max, stream.max
            ),
            "Neither refusal says why inside: \"at capacity, retry shortly\" is all a client \
             can act on, and the number of calls under way tells an outsider how much load \
             takes the service down.",
        )
        .with(Evidence::Text {
            title: "a 503 of each".into(),
            body: format!(
                "max_in_flight {}: {}\nmax_in_flight {}: {}",
                burst.max, burst.example, stream.max, stream.example
            ),
        })
    })
}

/// Headers that differ from answer to answer by themselves: the time, the length (a longer
/// number lengthens it), and how the connection is kept, which is the server's business.
const UNSAID: [&str; 5] =
    ["date", "content-length", "connection", "keep-alive", "transfer-encoding"];

/// A 503's body and its headers, but for the [`UNSAID`].
fn said(answer: &Answer) -> String {
    let mut text = answer.text();
    for (name, value) in &answer.headers {
        if !UNSAID.contains(&name.as_str()) {
            text.push_str(&format!("\n{name}: {}", String::from_utf8_lossy(value.as_bytes())));
        }
    }
    text
}

/// `text` with every number in it that is `max` written as [`NAMED`], when there is one.
fn with_limit_named(text: &str, max: usize) -> Option<String> {
    let max = max.to_string();
    let mut out = String::with_capacity(text.len());
    let mut named = false;
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..start]);
        let digits = &rest[start..];
        let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
        if digits[..end] == max {
            out.push_str(NAMED);
            named = true;
        } else {
            out.push_str(&digits[..end]);
        }
        rest = &digits[end..];
    }
    out.push_str(rest);
    named.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbers_of_their_own_that_are_the_limit_are_named() {
        let named = with_limit_named(r#"{"message":"3 of 3 calls under way, retry in 13 s"}"#, 3);
        assert_eq!(
            named.as_deref(),
            Some(
                r#"{"message":"{max_in_flight} of {max_in_flight} calls under way, retry in 13 s"}"#
            )
        );
        assert_eq!(with_limit_named("status 503, retry in 2 s", 3), None);
    }

    #[test]
    fn a_header_that_names_the_limit_says_it_and_the_date_does_not() {
        let refusal = |max: usize| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("date", "Sat, 05 Dec 2026 23:03:07 GMT".parse().unwrap());
            headers.insert("x-calls-under-way", max.into());
            if max == 3 {
                headers.insert("connection", "close".parse().unwrap());
            }
            let answer = Answer {
                status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
                headers,
                body: br#"{"error":{"code":"SERVICE_UNAVAILABLE","message":"busy"}}"#.to_vec(),
            };
            let now = std::time::Instant::now();
            let request = crate::judge::exchange::Request::get("/reports/1");
            Exchange { request, sent: now, received: now, answer: Ok(answer) }
        };
        let (three, five) = (vec![refusal(3); 4], vec![refusal(5); 4]);
        let failure = judge(limit_said(&three, 3).as_ref(), limit_said(&five, 5).as_ref());
        assert!(failure.is_some());
        assert!(limit_said(&three, 7).is_none(), "a date's 07 is not a limit of 7");
    }
}
