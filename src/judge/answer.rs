//! [`Answer`]: what a server sent back, kept for judging; [`Shown`]: an answer as a diff shows it;
//! [`client`]: the judge's own HTTP client.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

use super::Evidence;
use super::http_date::is_imf_fixdate;

/// Bodies longer than this are cut in diffs: enough to see what went wrong.
const SHOWN_BODY_LIMIT: usize = 2_000;

/// A complete HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// How long the judge waits for one answer from a learner's server.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// The client the judge asks learners' servers with: no proxy, no redirects, and a deadline on
/// every answer.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_TIMEOUT)
        .build()
        .expect("a client without TLS always builds")
}

impl Answer {
    /// GETs `url`. When no answer comes, says what the client saw instead.
    pub async fn get(client: &reqwest::Client, url: &str) -> Result<Answer, String> {
        Self::send(client.get(url)).await
    }

    /// Sends `request`. When no answer comes, says what the client saw instead.
    pub async fn send(request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let response = request.send().await.map_err(|error| describe(&error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|error| describe(&error))?.to_vec();
        Ok(Answer { status, headers, body })
    }

    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers.get(name)
    }

    /// The media type of `Content-Type`, lower-cased, without parameters such as `charset`.
    pub fn media_type(&self) -> Option<String> {
        Some(media_type_of(self.header("content-type")?.to_str().ok()?))
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The wait the answer's one `Retry-After` asks for, in whole seconds: its delay-seconds, or
    /// its HTTP-date counted from the answer's own `Date` (from now, without one). `None` unless
    /// exactly one value is sent, in either form.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        let mut values = self.headers.get_all("retry-after").iter();
        let value = values.next().filter(|_| values.next().is_none())?.to_str().ok()?.trim();
        if value.bytes().all(|byte| byte.is_ascii_digit()) {
            return value.parse().ok();
        }
        let at = httpdate::parse_http_date(value).ok()?;
        let date = self
            .header("date")
            .and_then(|date| httpdate::parse_http_date(date.to_str().ok()?).ok());
        let from = date.unwrap_or_else(std::time::SystemTime::now);
        Some(at.duration_since(from).map_or(0, |wait| wait.as_secs()))
    }
}

/// An answer in a few words, for a timeline: its status, its `Retry-After` if any, and the start
/// of a 200's body (`503 Retry-After: 1`, `200 {"id":7}`); or what the client saw instead.
pub fn brief(answer: &Result<Answer, String>) -> String {
    let answer = match answer {
        Ok(answer) => answer,
        Err(what_happened) => return what_happened.clone(),
    };
    let mut brief = answer.status.as_u16().to_string();
    if let Some(value) = answer.header("retry-after") {
        let _ = write!(brief, " Retry-After: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    if answer.status == StatusCode::OK {
        let text = answer.text();
        let start: String = text.chars().take(BRIEF_BODY_LIMIT).collect();
        let cut = if start.len() < text.len() { "…" } else { "" };
        let _ = write!(brief, " {start}{cut}");
    }
    brief
}

/// How much of a 200's body [`brief`] shows.
const BRIEF_BODY_LIMIT: usize = 48;

/// What keeps `answer` from being an error of `status` with a JSON body that says `code`: the
/// course's `{"error":{"code":…,"message":…}}` (more fields welcome), or RFC 9457 problem
/// details (`application/problem+json`) with that `"status"`. `None` when it is one.
pub fn error_problem(
    answer: &Result<Answer, String>,
    status: StatusCode,
    code: &str,
) -> Option<String> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(what_happened) => return Some(what_happened.clone()),
    };
    if answer.status != status {
        return Some(format!("the status is {}, not {}", answer.status.as_u16(), status.as_u16()));
    }
    // A field defined as one value (RFC 9110 §8.3): sent twice, each recipient picks its own.
    let types = answer.headers.get_all("content-type").iter().count();
    if types > 1 {
        return Some(format!("the answer has {types} Content-Type headers: one says what it is"));
    }
    let body = answer.json().unwrap_or(Value::Null);
    match answer.media_type().as_deref() {
        Some("application/json") => {
            let error = &body["error"];
            (error["code"] != code || !error["message"].is_string()).then(|| {
                format!("the body is not {{\"error\":{{\"code\":\"{code}\",\"message\":…}}}}")
            })
        }
        Some("application/problem+json") => (body["status"] != status.as_u16())
            .then(|| format!("the problem details lack \"status\": {}", status.as_u16())),
        _ => Some("the Content-Type is not application/json (nor application/problem+json)".into()),
    }
}

/// The course's error body for `status` and `code`, with `answer`'s own message when it has one,
/// as a diff shows it.
pub fn expected_error(answer: &Result<Answer, String>, status: StatusCode, code: &str) -> Shown {
    let message = answer
        .as_ref()
        .ok()
        .and_then(Answer::json)
        .and_then(|body| body["error"]["message"].as_str().map(String::from));
    let body = serde_json::json!({"error": {"code": code, "message": message.as_deref().unwrap_or("<any text>")}});
    Shown::status(status).header("content-type", "application/json").json(&body)
}

/// How `answer` differs from one of `status` with `body` as its JSON (judged by status alone,
/// when `body` is `None`): the diff that shows it, or `None` when it does not differ.
pub fn mismatch(
    answer: &Result<Answer, String>,
    status: StatusCode,
    body: Option<&Value>,
) -> Option<Evidence> {
    let (expected, actual) = match body {
        Some(body) => (
            Shown::status(status).header("content-type", "application/json").json(body),
            Shown::of_result(answer, &["content-type"]).media_type_shown_as("application/json"),
        ),
        None => (Shown::status(status), Shown::of_result(answer, &[]).without_body()),
    };
    (expected != actual).then(|| Shown::diff(&expected, &actual))
}

/// What keeps `answer` from being an error of `status` that says `code` ([`error_problem`]),
/// and the diff that shows it: the course's error body against the answer, with its
/// `Content-Type` and the headers named in `shown`.
pub fn error_mismatch(
    answer: &Result<Answer, String>,
    status: StatusCode,
    code: &str,
    shown: &[&str],
) -> Option<(String, Evidence)> {
    let problem = error_problem(answer, status, code)?;
    let expected = expected_error(answer, status, code);
    let headers: Vec<&str> = ["content-type"].iter().chain(shown).copied().collect();
    let actual = Shown::of_result(answer, &headers).media_type_shown_as("application/json");
    Some((problem, Shown::diff(&expected, &actual)))
}

/// What is wrong with the `Retry-After` values an answer sent at `sent_at` carried, as a sender
/// must write them (RFC 9110 §10.2.3, §5.6.7): exactly one, delay-seconds of at least 1 (a 0
/// calls every client back at once), or an IMF-fixdate still to come. `None` when it is right.
pub fn sent_retry_after_problem(values: &[String], sent_at: SystemTime) -> Option<String> {
    let [value] = values else {
        return Some(match values.len() {
            0 => "no Retry-After".into(),
            count => format!("{count} Retry-After headers: one, or none, is all HTTP allows"),
        });
    };
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return match value.parse::<u64>() {
            Ok(0) => Some("Retry-After: 0 asks every client to come back at once".into()),
            Ok(_) => None,
            Err(_) => Some(format!("Retry-After: {value} is more seconds than any clock holds")),
        };
    }
    if is_imf_fixdate(value) {
        let at = httpdate::parse_http_date(value).ok()?;
        let sent_second = sent_at.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
        return (at < UNIX_EPOCH + Duration::from_secs(sent_second + 1))
            .then(|| format!("Retry-After: {value} is not in the future"));
    }
    if httpdate::parse_http_date(value).is_ok() {
        return Some(format!(
            "Retry-After: {value} is an obsolete date form: a sender must write an IMF-fixdate"
        ));
    }
    Some(format!("Retry-After: {value} is neither delay-seconds nor an HTTP-date"))
}

/// Says what a client saw when no answer came, in the words a learner would use.
pub fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer: the request timed out".into();
    }
    if error.is_connect() {
        return "no answer: could not connect".into();
    }
    let mut root: &dyn std::error::Error = error;
    while let Some(source) = root.source() {
        root = source;
    }
    format!("no answer: the connection closed before a response ({root})")
}

/// An HTTP answer as a diff shows it: the status line, the headers that matter, the body
/// (JSON pretty-printed so that it diffs line by line).
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    status_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Shown {
    pub fn status(status: StatusCode) -> Self {
        Self { status_line: status_line(status), headers: Vec::new(), body: String::new() }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = pretty(body);
        self
    }

    /// Shows `answer` with the named headers as sent (or as missing) and its body.
    pub fn of(answer: &Answer, header_names: &[&str]) -> Self {
        let mut shown = Self::status(answer.status);
        for name in header_names {
            let values: Vec<_> = answer.headers.get_all(*name).iter().map(shown_value).collect();
            if values.is_empty() {
                shown = shown.header(name, "(not sent)");
            }
            for value in values {
                shown = shown.header(name, value);
            }
        }
        shown.body = match answer.json() {
            Some(json) => pretty(&json),
            None => shown_text(&answer.text()),
        };
        shown
    }

    /// Shows an answer that never came.
    pub fn missing(what_happened: &str) -> Self {
        Self { status_line: format!("({what_happened})"), headers: Vec::new(), body: String::new() }
    }

    pub fn of_result(answer: &Result<Answer, String>, header_names: &[&str]) -> Self {
        match answer {
            Ok(answer) => Self::of(answer, header_names),
            Err(what_happened) => Self::missing(what_happened),
        }
    }

    /// Shows a Content-Type whose media type is `media_type` as exactly that, hiding
    /// parameters such as `charset` that the checks accept.
    pub fn media_type_shown_as(mut self, media_type: &str) -> Self {
        for (name, value) in &mut self.headers {
            if name == "content-type" && media_type_of(value) == media_type {
                *value = media_type.to_string();
            }
        }
        self
    }

    /// Only the status line and headers, for checks that do not judge the body.
    pub fn without_body(mut self) -> Self {
        self.body.clear();
        self
    }

    /// Two answers, as a diff between them shows.
    pub fn diff(expected: &Shown, actual: &Shown) -> Evidence {
        Evidence::Diff { expected: expected.render(), actual: actual.render() }
    }

    pub fn render(&self) -> String {
        let mut text = self.status_line.clone();
        text.push('\n');
        for (name, value) in &self.headers {
            let _ = writeln!(text, "{name}: {value}");
        }
        if !self.body.is_empty() {
            text.push('\n');
            text.push_str(&self.body);
            text.push('\n');
        }
        text
    }
}

fn media_type_of(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn status_line(status: StatusCode) -> String {
    format!("HTTP/1.1 {} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
}

fn pretty(json: &Value) -> String {
    serde_json::to_string_pretty(json).expect("a JSON value always serialises")
}

fn shown_value(value: &HeaderValue) -> String {
    match value.to_str() {
        Ok(text) => text.to_string(),
        Err(_) => format!("{:?} (not visible ASCII)", value.as_bytes()),
    }
}

fn shown_text(text: &str) -> String {
    if text.is_empty() {
        return "(empty body)".into();
    }
    match text.char_indices().nth(SHOWN_BODY_LIMIT) {
        Some((cut, _)) => format!("{}… ({} more bytes)", &text[..cut], text.len() - cut),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_status_headers_and_pretty_json() {
        let shown = Shown::status(StatusCode::INTERNAL_SERVER_ERROR)
            .header("content-type", "application/json")
            .json(&serde_json::json!({"error": {"code": "X"}}));
        assert_eq!(
            shown.render(),
            "HTTP/1.1 500 Internal Server Error\ncontent-type: application/json\n\n\
             {\n  \"error\": {\n    \"code\": \"X\"\n  }\n}\n"
        );
    }

    #[test]
    fn retry_after_is_read_in_either_form_and_only_alone() {
        let answer = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            headers.insert("date", HeaderValue::from_static("Tue, 03 Dec 2024 12:00:00 GMT"));
            for value in values {
                headers.append("retry-after", HeaderValue::from_str(value).unwrap());
            }
            Answer { status: StatusCode::SERVICE_UNAVAILABLE, headers, body: Vec::new() }
        };
        assert_eq!(answer(&["120"]).retry_after_seconds(), Some(120));
        assert_eq!(answer(&["Tue, 03 Dec 2024 12:02:00 GMT"]).retry_after_seconds(), Some(120));
        assert_eq!(answer(&["120", "120"]).retry_after_seconds(), None);
        assert_eq!(answer(&["soon"]).retry_after_seconds(), None);
    }

    #[test]
    fn a_brief_answer_names_its_status_retry_after_and_the_start_of_a_200() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        let refused =
            Answer { status: StatusCode::SERVICE_UNAVAILABLE, headers, body: b"{}".to_vec() };
        assert_eq!(brief(&Ok(refused)), "503 Retry-After: 2");
        let long =
            Answer { status: StatusCode::OK, headers: HeaderMap::new(), body: vec![b'x'; 60] };
        assert_eq!(brief(&Ok(long)), format!("200 {}…", "x".repeat(48)));
        assert_eq!(brief(&Err("no answer".into())), "no answer");
    }

    #[test]
    fn a_mismatch_shows_what_differs_and_nothing_when_alike() {
        let answer = Ok(Answer {
            status: StatusCode::NOT_FOUND,
            headers: HeaderMap::new(),
            body: b"gone".to_vec(),
        });
        assert_eq!(mismatch(&answer, StatusCode::NOT_FOUND, None), None);
        let Some(Evidence::Diff { expected, actual }) = mismatch(&answer, StatusCode::OK, None)
        else {
            panic!("a 404 is not a 200")
        };
        assert_eq!(
            (expected.as_str(), actual.as_str()),
            ("HTTP/1.1 200 OK\n", "HTTP/1.1 404 Not Found\n")
        );
        let (problem, _) =
            error_mismatch(&answer, StatusCode::NOT_FOUND, "NOT_FOUND", &[]).unwrap();
        assert!(problem.contains("Content-Type"), "{problem}");
    }

    #[test]
    fn a_sent_retry_after_is_one_value_of_whole_seconds_or_a_date_to_come() {
        let now = SystemTime::now();
        let problem = |values: &[&str]| {
            let values: Vec<String> = values.iter().map(ToString::to_string).collect();
            sent_retry_after_problem(&values, now)
        };
        let later = httpdate::fmt_http_date(now + Duration::from_secs(60));
        assert_eq!(problem(&["30"]), None);
        assert_eq!(problem(&[later.as_str()]), None);
        for wrong in [&[][..], &["0"], &["30s"], &["30", "60"], &["Sunday, 06-Nov-94 08:49:37 GMT"]]
        {
            assert!(problem(wrong).is_some(), "{wrong:?}");
        }
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(SHOWN_BODY_LIMIT + 5);
        let shown = shown_text(&body);
        assert!(shown.ends_with("… (10 more bytes)"), "{shown}");
    }
}
