//! Reading the learner's log: whatever its process wrote, on stdout or stderr. Panic reports
//! are marked by the adapter, so a check can tell a line the learner chose to log from a panic
//! report that merely repeats an error's text.

use std::time::Duration;

use httplings::adapter::PANIC_LINE_PREFIX;
use httplings::protocol::FLUSH_LINE_PREFIX;

use super::compare::secrets_in;
use super::{Evidence, Failure, Learner, Lost};

/// How long a line may take to be written after the request it is about is answered (a logging
/// layer that writes once the response is sent, an appender with a thread of its own), unless
/// the learner's code goes quiet sooner.
const STRAGGLER: Duration = Duration::from_millis(50);

/// A failure naming the credentials among `secrets` (each a value and what it is) that the log
/// holds, raw or encoded, with the first few lines that hold one (the secret shown by its
/// name); `None` when it holds none. Flushes the log first, so that nothing written is missed.
pub async fn credentials(
    learner: &Learner,
    secrets: &[(String, &str)],
) -> Result<Option<Failure>, Lost> {
    learner.flush().await?;
    let values: Vec<String> = secrets.iter().map(|(value, _)| value.clone()).collect();
    let text = learner.log_text();
    let mut named = Vec::new();
    let mut lines = Vec::new();
    let holds_part = |line: &str| secrets.iter().any(|(secret, _)| part_of(line, secret));
    for line in
        text.lines().filter(|line| !secrets_in(line, &values).is_empty() || holds_part(line))
    {
        let mut shown = shortened(line);
        for (secret, name) in secrets {
            if !secrets_in(line, std::slice::from_ref(secret)).is_empty() {
                named.push(*name);
                shown = shown.replace(secret.as_str(), &format!("«{name}»"));
            } else if part_of(line, secret) {
                named.push(*name);
                shown = format!("{shown}   (part of {name})");
            }
        }
        lines.push(shown);
    }
    if lines.is_empty() {
        return Ok(None);
    }
    named.sort_unstable();
    named.dedup();
    lines.truncate(3);
    Ok(Some(Failure::of(format!("the server log holds {}", named.join(" and "))).with(
        Evidence::Text { title: "log lines with a credential".into(), body: lines.join("\n") },
    )))
}

/// The fewest characters of a credential, in a row, that count as a part of it given away: a
/// token's first twelve characters are a third of its secret, and eight random letters and
/// digits (2 × 10^14 ways) never meet a line by chance.
const CREDENTIAL_PART: usize = 8;

/// Whether `line` holds [`CREDENTIAL_PART`] or more of `secret`'s characters in a row, as
/// they are (a prefix "for debugging", the end of a token).
pub fn part_of(line: &str, secret: &str) -> bool {
    secret.is_ascii()
        && secret.len() > CREDENTIAL_PART
        && (0..=secret.len() - CREDENTIAL_PART)
            .any(|at| line.contains(&secret[at..at + CREDENTIAL_PART]))
}

/// Which of `wanted` the log holds no line for (their places in `wanted`): decided as soon as
/// the log is known to be complete up to now, never by waiting a fixed time for lines that will
/// not come. A line missing after a flush gets one more flush, once the learner's code has gone
/// quiet.
pub async fn unlogged(
    learner: &Learner,
    wanted: &[impl Fn(&str) -> bool],
) -> Result<Vec<usize>, Lost> {
    let since_start: Vec<_> = wanted.iter().map(|wanted| (0, wanted)).collect();
    unlogged_since(learner, &since_start).await
}

/// Like [`unlogged`], for lines that must come after a mark each ([`Learner::log_mark`], taken
/// before the request the line is about): a line written earlier does not count, nor one written
/// below INFO ([`below_info`]), nor one that another wanted line already took: two failures alike
/// need two lines, so a log that says a repeated failure once is missing one. Once a flood has
/// made the log lose what came after a mark, all that is kept is searched
/// ([`Learner::log_text_since`]).
pub async fn unlogged_since(
    learner: &Learner,
    wanted: &[(u64, impl Fn(&str) -> bool)],
) -> Result<Vec<usize>, Lost> {
    let missing = || -> Vec<usize> {
        // Each line known by its place counted from the end, the same in every text since a
        // mark (they are all ends of one log).
        let eligible: Vec<Vec<usize>> = wanted
            .iter()
            .map(|(mark, wanted)| {
                let since = learner.log_text_since(*mark);
                let lines: Vec<&str> = since.lines().collect();
                let count = lines.len();
                lines
                    .into_iter()
                    .enumerate()
                    .filter(|(_, line)| !below_info(line) && wanted(line))
                    .map(|(index, _)| count - 1 - index)
                    .collect()
            })
            .collect();
        unmatched(&eligible)
    };
    if missing().is_empty() {
        return Ok(Vec::new());
    }
    learner.flush().await?;
    if missing().is_empty() {
        return Ok(Vec::new());
    }
    learner.quiet(STRAGGLER).await;
    learner.flush().await?;
    Ok(missing())
}

/// A failure the learner's log must tell of: in a line of its own written after `mark`, naming
/// the query and the database's reason.
#[derive(Debug)]
pub struct Owed<'a> {
    pub mark: u64,
    /// The request that failed, as its request line.
    pub request: String,
    /// What became of it, shown beside the request ("database down", the route's name).
    pub what: &'a str,
    pub query: &'a str,
    pub reason: &'a str,
}

/// The failures among `owed` no line of the learner's own tells of, one line each (a panic
/// report does not count; a reason may be escaped as `Debug` writes it, `column \"total\"`), as
/// one failure that lists them beside the log's last lines. `failures` names them in the summary.
pub async fn untold(
    learner: &Learner,
    failures: &str,
    owed: &[Owed<'_>],
) -> Result<Option<Failure>, Lost> {
    let wanted: Vec<_> = owed
        .iter()
        .map(|owed| {
            let escaped = format!("{:?}", owed.reason).trim_matches('"').to_string();
            let line = move |line: &str| {
                !is_panic_report(line)
                    && line.contains(owed.query)
                    && (line.contains(owed.reason) || line.contains(&escaped))
            };
            (owed.mark, line)
        })
        .collect();
    let missing = unlogged_since(learner, &wanted).await?;
    let Some(first) = missing.first().map(|index| &owed[*index]) else { return Ok(None) };
    let shown: Vec<String> = missing
        .iter()
        .map(|index| &owed[*index])
        .map(|owed| {
            format!("{} ({}): query {}, \"{}\"", owed.request, owed.what, owed.query, owed.reason)
        })
        .collect();
    let failure = Failure::of(format!(
        "{} of {} {failures} left no line of their own in the log: each needs a line written \
         after its request, naming its query and the database's reason, and none is left for {} \
         (query {}) once every other one has its own",
        missing.len(),
        owed.len(),
        first.request,
        first.query,
    ))
    .with(Evidence::Text { title: "failures without a log line".into(), body: shown.join("\n") });
    Ok(Some(with_tail(learner, failure)))
}

/// Adds the end of the log to `failure`, and says so when only part of a flood of output was
/// searched.
pub fn with_tail(learner: &Learner, mut failure: Failure) -> Failure {
    let captured = learner.log();
    if captured.truncated() {
        failure.summary.push_str(&format!(
            " (your code wrote {} bytes: only the first and last MiB were searched)",
            captured.total()
        ));
    }
    failure.with(Evidence::Text {
        title: "server log, last lines".into(),
        body: tail(&captured.text(), 12),
    })
}

/// The wanted lines left without one of their own when each takes one of the lines `eligible`
/// for it, as many taken as can be (a maximum matching, by augmenting paths).
fn unmatched(eligible: &[Vec<usize>]) -> Vec<usize> {
    fn take(
        wanted: usize,
        eligible: &[Vec<usize>],
        taken_by: &mut std::collections::HashMap<usize, usize>,
        tried: &mut std::collections::HashSet<usize>,
    ) -> bool {
        for line in &eligible[wanted] {
            if !tried.insert(*line) {
                continue;
            }
            let free = match taken_by.get(line) {
                None => true,
                Some(other) => take(*other, eligible, taken_by, tried),
            };
            if free {
                taken_by.insert(*line, wanted);
                return true;
            }
        }
        false
    }
    let mut taken_by = std::collections::HashMap::new();
    (0..eligible.len())
        .filter(|wanted| {
            !take(*wanted, eligible, &mut taken_by, &mut std::collections::HashSet::new())
        })
        .collect()
}

/// A line the course's subscriber wrote at DEBUG or TRACE: searched for credentials like any
/// other, but no proof that something was logged, since a service's log keeps INFO and above.
pub fn below_info(line: &str) -> bool {
    matches!(line.split_whitespace().nth(1), Some("DEBUG" | "TRACE"))
}

/// `text` without the adapter's flush lines.
pub fn without_flushes(text: &str) -> String {
    if !text.contains(FLUSH_LINE_PREFIX) {
        return text.to_string();
    }
    let mut kept = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if !line.starts_with(FLUSH_LINE_PREFIX) {
            kept.push_str(line);
        }
    }
    kept
}

/// Whether `line` names `word` as a word of its own, not inside a longer one: `ACME` is named
/// by `uri=/quotes/ACME}` and `ACME failed`, not by `ACMEX`.
pub fn names(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `line` without its terminal colour codes (`ESC [ … letter`), which a formatter of the learner's
/// own may put around a level's name.
pub fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip `[`, the parameters, and the final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// Whether `line` is a panic report rather than something the learner logged.
pub fn is_panic_report(line: &str) -> bool {
    line.starts_with(PANIC_LINE_PREFIX)
}

/// The last `count` non-blank lines of `text`, each cut to a readable length.
pub fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with(FLUSH_LINE_PREFIX))
        .collect();
    let shown: Vec<String> =
        lines[lines.len().saturating_sub(count)..].iter().map(|line| shortened(line)).collect();
    if shown.is_empty() { "(nothing was written)".into() } else { shown.join("\n") }
}

/// The lines of `text` that contain `needle`, each cut to a readable length.
pub fn lines_with(text: &str, needle: &str, count: usize) -> String {
    let lines: Vec<String> =
        text.lines().filter(|line| line.contains(needle)).take(count).map(shortened).collect();
    lines.join("\n")
}

/// Lines longer than this are cut when shown: one line can be megabytes.
const SHOWN_LINE: usize = 200;

pub fn shortened(line: &str) -> String {
    match line.char_indices().nth(SHOWN_LINE) {
        Some((cut, _)) => format!("{}… ({} more bytes)", &line[..cut], line.len() - cut),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{names, without_colours};

    #[test]
    fn a_line_without_colours_keeps_everything_else() {
        let coloured = "\x1b[0m\x1b[1m\x1b[38;5;9merror\x1b[0m: x [y]";
        assert_eq!(without_colours(coloured), "error: x [y]");
    }

    #[test]
    fn a_word_is_named_alone_not_inside_another() {
        assert!(names("INFO request{uri=/quotes/BRK.B}: failed", "BRK.B"));
        assert!(names("BRK.B: timed out.", "BRK.B"));
        assert!(!names("ACMEX failed", "ACME"));
        assert!(!names("XACME failed", "ACME"));
        assert!(!names("ERROR failed", "ERR"));
    }

    use std::rc::Rc;

    use httplings::adapter::{self, Handler};

    use super::*;
    use crate::judge::Returned;

    /// Logs each line it is handed.
    struct Logs;

    impl Handler for Logs {
        type Call = String;
        type Reply = ();

        async fn handle(self: Rc<Self>, line: String) {
            tracing::info!("{line}");
        }
    }

    #[tokio::test]
    async fn a_line_written_before_its_mark_does_not_count() {
        let adapter = adapter::in_process(Logs);
        let learner = Learner::connect(adapter.stream, adapter.log.clone(), adapter.cpu, 1);
        let log = |line: &'static str| {
            let learner = &learner;
            async move {
                let done = learner.call::<_, ()>("log", &line, Duration::from_secs(2)).await;
                assert_eq!(done, Ok(Returned::Value(())));
            }
        };
        log("query q-1 failed").await;
        let mark = learner.log_mark();
        log("query q-2 failed").await;
        let wanted = [
            (mark, Box::new(|line: &str| line.contains("q-1")) as Box<dyn Fn(&str) -> bool>),
            (0, Box::new(|line: &str| line.contains("q-1"))),
            (mark, Box::new(|line: &str| line.contains("q-2"))),
        ];
        assert_eq!(unlogged_since(&learner, &wanted).await, Ok(vec![0]));
    }
}
