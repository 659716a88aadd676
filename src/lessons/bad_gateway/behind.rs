//! Verdicts on what stays behind the gateway: nothing of the pricing services reaches a client
//! (their secrets in any encoding, their addresses, the HTTP client's error text, anything that
//! changes with which service stood behind), each request reaches a service once (every request
//! and every connection counted), and each failure leaves a log line that says what went wrong.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::asking::{Asked, Record};
use super::plan::{Behaviour, Plan, moved_symbol, priced_symbol};
use super::{B, BEHIND, Behind};
use crate::judge::answer::Shown;
use crate::judge::bounds::{EARLY_HANG_UP, millis};
use crate::judge::compare::{CLIENT_ERROR_TEXT, Leak, Observed, leaks_by_outline, secrets_in};
use crate::judge::exchange::{self, Client};
use crate::judge::log::{is_panic_report, names, tail, unlogged};
use crate::judge::upstream::{self, Reply, Seen, Upstream};
use crate::judge::{Evidence, Failure, Learner, Lost, Row};

pub(super) async fn leaks(record: &Record<'_>, addresses: &[SocketAddr]) -> Option<Failure> {
    let plan = record.plan;
    let mut secrets: Vec<(String, String)> = Vec::new();
    for s in &plan.secrets {
        secrets.push((s.node.clone(), "the name of a pricing service's node".into()));
        secrets.push((s.cookie.clone(), "a pricing service's cookie".into()));
        secrets.push((s.trace.clone(), "a pricing service's trace id".into()));
        secrets.push((s.etag.clone(), "a pricing service's ETag".into()));
    }
    secrets.push((plan.header.clone(), "a header name of the pricing services'".into()));
    secrets.push((plan.field.clone(), "a field name of the pricing services'".into()));
    for address in addresses {
        secrets.push((address.to_string(), format!("a pricing service's address ({address})")));
        if address.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST) {
            secrets.push((
                address.ip().to_string(),
                format!("a pricing service's host ({})", address.ip()),
            ));
        }
    }
    for text in CLIENT_ERROR_TEXT {
        secrets.push((text.to_string(), format!("the HTTP client's error text ({text}…)")));
    }
    let strings: Vec<String> = secrets.iter().map(|(secret, _)| secret.clone()).collect();
    for asked in record.asked().iter() {
        let Some(answer) = asked.exchange.answer() else { continue };
        let headers = answer.headers.iter().map(|(name, value)| {
            format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes()))
        });
        let found = secrets_in(&headers.chain([answer.text()]).collect::<String>(), &strings);
        if let Some(secret) = found.first() {
            let meaning = &secrets.iter().find(|(known, _)| known == secret)?.1;
            let names: Vec<&str> = answer.headers.keys().map(|name| name.as_str()).collect();
            return Some(
                Failure::of(format!("GET /quotes/{}: the answer carries {meaning}", asked.symbol))
                    .with(Evidence::Text {
                        title: "the answer".into(),
                        body: Shown::of(answer, &names).render(),
                    }),
            );
        }
    }
    for case in &plan.cases {
        if changes_with_the_service(&record.asked(), &case.symbol).is_none() {
            continue;
        }
        record.again(&case.symbol).await;
        let Some(leak) = changes_with_the_service(&record.asked(), &case.symbol) else { continue };
        let rows = ["A", "B"]
            .iter()
            .zip(&leak.values)
            .map(|(service, value)| Row {
                cells: vec![service.to_string(), value.clone()],
                ok: false,
            })
            .collect();
        let compared = if leak.by_shape {
            " (it changes from one request to the next too: compared by its outline)"
        } else {
            ""
        };
        return Some(Failure::of(format!("GET /quotes/{}: the pricing service {}, and the answer's {} changes with which of two services stood behind the gateway, services that differ only in their address and secrets{compared}", case.symbol, case.rounds[0].did(), leak.place))
            .with(Evidence::Table { columns: vec!["pricing service".into(), leak.place.clone()], rows }));
    }
    None
}

/// The first leaf of the answers for `symbol` that changes with the service behind the gateway
/// (in round one: A asked twice, for noise, and through another instance, for per-instance
/// values, and B).
fn changes_with_the_service(asked: &[Asked], symbol: &str) -> Option<Leak> {
    let observed: Vec<Observed<'_>> = asked
        .iter()
        .filter(|asked| asked.round == 0 && asked.symbol == symbol && asked.gateway <= B)
        .filter_map(|asked| {
            Some(Observed {
                cause: usize::from(asked.gateway == B),
                instance: asked.gateway,
                answer: asked.exchange.answer()?,
            })
        })
        .collect();
    leaks_by_outline(&observed).into_iter().next()
}

/// Each request reached the service behind its gateway once, and nothing else reached it; no
/// more connections were opened than requests were sent, and some were used again (the services
/// keep a connection open after a complete answer, for the gateway's pool).
pub(super) fn once(asked: &[Asked], services: &[Upstream]) -> Option<Failure> {
    for (service, upstream) in services.iter().enumerate().take(4) {
        // Per symbol: asked of the gateway and answered, asked and given up on by the judge (which
        // the gateway may have dropped before or after it asked on), asked of the service.
        let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut given_up: BTreeMap<String, usize> = BTreeMap::new();
        for asked in asked.iter().filter(|asked| BEHIND[asked.gateway] == Behind::Service(service))
        {
            if asked.exchange.answer.is_ok() {
                counts.entry(asked.symbol.clone()).or_default().0 += 1;
            } else {
                counts.entry(asked.symbol.clone()).or_default();
                *given_up.entry(asked.symbol.clone()).or_default() += 1;
            }
        }
        let all = upstream.seen();
        // A redirect followed asks once more, at the path it was sent to, on the connection it
        // was sent on: those requests are neither counted nor taken for a connection reused.
        let seen: Vec<&Seen> = all.iter().filter(|seen| moved_symbol(seen).is_none()).collect();
        for seen in &seen {
            let symbol = priced_symbol(seen).filter(|symbol| counts.contains_key(symbol));
            counts.entry(symbol.unwrap_or_else(|| seen.target.clone())).or_default().1 += 1;
        }
        let rows: Vec<Row> = counts
            .iter()
            .filter(|(symbol, (asked, seen))| {
                seen < asked || *seen > asked + given_up.get(*symbol).copied().unwrap_or(0)
            })
            .map(|(symbol, (asked, seen))| Row {
                cells: vec![
                    symbol.clone(),
                    (asked + given_up.get(symbol).copied().unwrap_or(0)).to_string(),
                    seen.to_string(),
                ],
                ok: false,
            })
            .collect();
        let columns = vec![
            "symbol".into(),
            "asked of the gateway".into(),
            "asked of the pricing service".into(),
        ];
        if let Some(row) = rows.first() {
            let summary = format!(
                "{} was asked of the gateway {} time(s), and of the pricing service {}",
                row.cells[0], row.cells[1], row.cells[2]
            );
            return Some(Failure::of(summary).with(Evidence::Table { columns, rows }));
        }
        if upstream.connections() > all.len() {
            return Some(Failure::of(format!(
                "the gateway opened {} connections to the pricing service for {} requests",
                upstream.connections(),
                all.len()
            )));
        }
        let reused = seen
            .iter()
            .enumerate()
            .any(|(at, one)| seen[..at].iter().any(|before| before.connection == one.connection));
        // The first short 200 (which every gateway reads to its end), and the requests that
        // came a while after it: each could have come on its connection, idle in a pool.
        let kept = seen.iter().filter(|one| short_200(one)).filter_map(|one| one.ended).min();
        let after = kept.map_or(0, |kept| seen.iter().filter(|one| one.at > kept + IDLE).count());
        if !reused && after > 0 {
            return Some(Failure::of(format!(
                "each of the {} requests to a pricing service came on a connection of its own, \
                 though it kept one open after a complete 200 and {after} came later: a client \
                 built per request throws its pool away; build it once, in app",
                seen.len()
            )));
        }
    }
    None
}

/// How long after a connection was left open a request may come and find it idle in the
/// gateway's pool: the gateway has read the answer and answered its own client by then.
const IDLE: Duration = Duration::from_millis(100);

/// Whether `seen` was answered with a whole 200 of a few bytes, which leaves its connection
/// open for the next request.
fn short_200(seen: &Seen) -> bool {
    matches!(&seen.reply, Reply::Respond { status: 200, body, .. } if body.len() < 4_096)
}

/// A failure a log line must tell of: a request, and what the pricing service did.
struct Failed {
    symbol: String,
    did: String,
    /// Words that say what went wrong (one of them, or `status` by number, must be on the line).
    words: &'static [&'static str],
    status: Option<u16>,
}

impl Failed {
    fn told_by(&self, line: &str) -> bool {
        !is_panic_report(line) && names(line, &self.symbol) && says(line, self.words, self.status)
    }
}

/// The failed requests, each symbol once for each thing the pricing service did.
fn failures(plan: &Plan, asked: &[Asked]) -> Vec<Failed> {
    let mut failed: Vec<Failed> = Vec::new();
    for asked in asked {
        let behaviour = plan.behaviour(&asked.symbol, asked.round);
        // A price labelled as the service's own JSON, or moved, may be read or refused: neither
        // is told.
        let not_a_failure = |behaviour: &Behaviour| {
            behaviour.gives_price() || matches!(behaviour, Behaviour::Status(404 | 410, _))
        };
        if behaviour.is_some_and(not_a_failure) {
            continue;
        }
        let did = asked.did(plan);
        let status = match behaviour {
            Some(Behaviour::Status(status, _)) => Some(*status),
            _ => None,
        };
        if !failed.iter().any(|known| known.symbol == asked.symbol && known.did == did) {
            failed.push(Failed {
                symbol: asked.symbol.clone(),
                did,
                words: words(behaviour),
                status,
            });
        }
    }
    failed
}

/// Every failed request has a log line that names it and says what went wrong: not only what
/// the gateway answered, as an access log does.
pub(super) async fn logged(
    learner: &Learner,
    record: &Record<'_>,
) -> Result<Option<Failure>, Lost> {
    let failed = failures(record.plan, &record.asked());
    let wanted: Vec<_> = failed.iter().map(|failed| |line: &str| failed.told_by(line)).collect();
    let missing = unlogged(learner, &wanted).await?;
    let Some(&first) = missing.first() else { return Ok(None) };
    let log = learner.log_text();
    // The first dozen: the rest are more of the same.
    let rows = missing.iter().take(12).map(|&index| {
        let Failed { symbol, did, .. } = &failed[index];
        let named = log.lines().any(|line| !is_panic_report(line) && names(line, symbol));
        let verdict = if named { "named, but not what went wrong" } else { "named by no line" };
        Row { cells: vec![format!("GET /quotes/{symbol}"), did.clone(), verdict.into()], ok: false }
    });
    let Failed { symbol, did, .. } = &failed[first];
    let more = match missing.len() {
        1 => String::new(),
        more => format!(" (and for {} more failed requests)", more - 1),
    };
    let summary = format!(
        "no log line says what went wrong for GET /quotes/{symbol}, when the pricing service {did}{more}"
    );
    let columns = ["request", "the pricing service", "the log"].map(String::from).to_vec();
    Ok(Some(
        Failure::of(summary)
            .with(Evidence::Table { columns, rows: rows.collect() })
            .with(Evidence::Text { title: "server log, last lines".into(), body: tail(&log, 12) }),
    ))
}

/// Words that say what went wrong when no status came: whichever way it went wrong, a line
/// with none of them says only that something did.
const CAUSES: &[&str] = &[
    "timedout",
    "timeout",
    "deadline",
    "elapsed",
    "intime",
    "within",
    "toolong",
    "slow",
    "noanswer",
    "noresponse",
    "noreply",
    "unanswered",
    "gaveup",
    "waited",
    "silen",
    "unusable",
    "broken",
    "refused",
    "connect",
    "reset",
    "closed",
    "incomplete",
    "eof",
    "hungup",
    "abort",
    "cancel",
    "body",
    "decod",
    "pars",
    "json",
    "serde",
    "invalid",
    "expected",
    "missing",
    "malformed",
    "protocol",
    "garbage",
    "version",
    "nothttp",
    "price",
    "number",
    "null",
    "field",
    "truncat",
    "stall",
    // A body past the gateway's limit, however the line puts it.
    "kib",
    "mib",
    "byte",
    "limit",
    "exceed",
    "large",
    "size",
    "overflow",
];

/// Words that say what went wrong: for a status, its reason (its number will do too).
fn words(behaviour: Option<&Behaviour>) -> &'static [&'static str] {
    match behaviour {
        Some(Behaviour::Status(400, _)) => &["badrequest"],
        Some(Behaviour::Status(401, _)) => &["unauthori", "credential"],
        Some(Behaviour::Status(403, _)) => &["forbidden", "denied"],
        Some(Behaviour::Status(409, _)) => &["conflict"],
        Some(Behaviour::Status(429, _)) => &["toomany", "limit"],
        Some(Behaviour::Status(503, _)) => &["unavailable", "retryafter"],
        Some(Behaviour::Status(..)) => &[],
        _ => CAUSES,
    }
}

/// Whether `line` says what went wrong: one of `words`, or the upstream's `status` by number,
/// once URLs are taken out (a path names the symbol, not the cause), so are the names of fields
/// (`elapsed=12ms` says how long, not what went wrong; a field's value may say it), and so are
/// the phrases of the gateway's own statuses (an access log says what was answered: `504
/// Gateway Timeout`).
fn says(line: &str, words: &[&str], status: Option<u16>) -> bool {
    let line: String = line
        .split_whitespace()
        .filter(|word| !word.contains("://"))
        .map(field_value)
        .collect::<Vec<_>>()
        .join(" ");
    let mut numbers = line.split(|c: char| !c.is_ascii_digit());
    if status.is_some_and(|status| numbers.any(|number| number == status.to_string())) {
        return true;
    }
    let mut flat: String =
        line.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
    for answered in ["badgateway", "gatewaytimeout", "serviceunavailable"] {
        flat = flat.replace(answered, "");
    }
    words.iter().any(|word| flat.contains(word))
}

/// A word of a log line without its field name, if it is a field: `elapsed=12ms` is `12ms`.
fn field_value(word: &str) -> &str {
    match word.split_once('=') {
        Some((name, value))
            if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.".contains(c)) =>
        {
            value
        }
        _ => word,
    }
}

/// The first pricing service whose requests that wait on the timeout (silence, a stall, a
/// trickle) the gateways hung up on early, in the median of those it saw since `since` (its
/// count of requests then): more than [`EARLY_HANG_UP`] and `lag` (how late the machine's
/// timers ran meanwhile) before `upstream.timeout()`, from the request read to the hang-up. The
/// judge's own clock starts before the gateway's handler does, and a busy gateway starts late:
/// the services see what the gateway's own timer did.
pub(super) fn hung_up_early(
    plan: &Plan,
    services: &[Upstream],
    since: &[usize],
    lag: Duration,
) -> Option<Failure> {
    let timing: Vec<&str> = plan
        .cases
        .iter()
        .filter(|case| case.rounds[0].is_timing())
        .map(|case| case.symbol.as_str())
        .collect();
    for (service, upstream) in services.iter().enumerate() {
        let Some(gateway) = BEHIND.iter().position(|behind| *behind == Behind::Service(service))
        else {
            continue;
        };
        let timeout = plan.timeouts[gateway];
        let seen = upstream.seen();
        let mut held: Vec<Duration> = seen[since[service].min(seen.len())..]
            .iter()
            .filter(|seen| priced_symbol(seen).is_some_and(|symbol| timing.contains(&&*symbol)))
            .filter_map(|seen| Some(seen.ended?.saturating_duration_since(seen.at)))
            .collect();
        if held.len() < 4 {
            continue;
        }
        held.sort();
        let median = held[held.len() / 2];
        if median + EARLY_HANG_UP + lag < timeout {
            return Some(Failure::of(format!(
                "the gateway hung up on a pricing service that had not finished answering {} \
                 after reading the request, in the median of {} such requests, though \
                 upstream.timeout() is {}: it gives up before its timeout is up",
                millis(median),
                held.len(),
                millis(timeout)
            )));
        }
    }
    None
}

/// How long past its timeout a gateway has to let go of a request to a pricing service that
/// never answers: dropping the call closes its connection at once, and a busy machine adds tens
/// of milliseconds, not half a second.
const LET_GO_WITHIN: Duration = Duration::from_millis(500);

/// The first pricing service that never answers and whose requests the gateway kept open past
/// its timeout (most of them, two at least): the gateway answered 504 and left its call running
/// (a detached task, a timeout on the handler alone), which holds a connection, a task and its
/// memory for every request until the service gives up, if it ever does. Waits, at most until
/// [`LET_GO_WITHIN`] past the last one's timeout, for them all to be let go.
pub(super) async fn left_open(plan: &Plan, services: &[Upstream]) -> Option<Failure> {
    for (service, upstream) in services.iter().enumerate() {
        let Some(gateway) = BEHIND.iter().position(|behind| *behind == Behind::Service(service))
        else {
            continue;
        };
        let timeout = plan.timeouts[gateway];
        let silent: Vec<(usize, Instant)> = upstream
            .seen()
            .iter()
            .enumerate()
            .filter(|(_, seen)| {
                priced_symbol(seen)
                    .is_some_and(|symbol| plan.behaviour(&symbol, 0) == Some(&Behaviour::Silent))
            })
            .map(|(index, seen)| (index, seen.at))
            .collect();
        let Some(last) = silent.iter().map(|(_, at)| *at).max() else { continue };
        if silent.len() < 2 {
            continue;
        }
        let limit = (last + timeout + LET_GO_WITHIN).saturating_duration_since(Instant::now());
        let all_ended =
            |seen: &[Seen]| silent.iter().all(|(index, _)| seen[*index].ended.is_some());
        if upstream.wait_until(limit, all_ended).await {
            continue;
        }
        let seen = upstream.seen();
        let open = silent.iter().filter(|(index, _)| seen[*index].ended.is_none()).count();
        if open * 2 > silent.len() {
            return Some(Failure::of(format!(
                "the pricing service never answered {} requests of the gateway's, and {open} of \
                 them were still open {} after upstream.timeout() ({}) was up: the gateway \
                 answered, and left its call running. Drop the upstream call when you give up (a \
                 deadline on the call itself, not on the handler alone): each one left running \
                 holds a connection, a task and its memory",
                silent.len(),
                millis(LET_GO_WITHIN),
                millis(timeout)
            )));
        }
    }
    None
}

/// How many requests the gateway over a refusing service is asked in a batch, one after
/// another, while the machine's failed connection attempts are counted.
const REFUSALS_ASKED: u64 = 32;

/// How many batches a play asks, each between two quiet windows.
const BATCHES: usize = 4;

/// The most connection attempts a batch may count: two per request (one, and one more at once,
/// as the lesson allows), and half as many again for what else on the machine fails to connect
/// meanwhile beyond what the quiet windows around it foretold (sixteen, as when a batch was
/// sixteen requests allowed three each). A gateway that tries three times makes 96.
const MOST_ATTEMPTS: u64 = REFUSALS_ASKED * 2 + REFUSALS_ASKED / 2;

/// Whether the gateway over a service that refuses connections tried again and again: the
/// machine's TCP stack counts every connection attempt that fails, and a refused one fails in
/// well under a millisecond, too fast to show in the time the answer takes.
///
/// The count is the machine's, so what else fails to connect meanwhile (another judge, a tool
/// polling a port) is counted too. The gateway is asked in [`BATCHES`] batches, each between
/// two quiet windows in which the judge asks nothing: what the windows either side of a batch
/// counted, at their rate, is taken off it, and the play goes by the median batch, so that a
/// burst of others' refusals in one window or one batch moves nothing. `quiet` is the shortest
/// window (each is as long as the batch before it at least). `None` where there is no such
/// count (not Linux).
pub(super) async fn refused_in_a_loop(
    gateway: &Client,
    symbol: &str,
    quiet: Duration,
) -> Option<Failure> {
    let counts = refusals_counted(gateway, symbol, quiet).await?;
    let mut tries: Vec<u64> = (0..BATCHES).map(|batch| counts.tries(batch)).collect();
    tries.sort_unstable();
    let median = (tries[BATCHES / 2 - 1] + tries[BATCHES / 2]) / 2;
    (median > MOST_ATTEMPTS).then(|| {
        Failure::of(format!(
            "asked {REFUSALS_ASKED} times, one after another, over a pricing service that \
             refuses connections, the gateway tried to connect {median} times (counted by the \
             machine's TCP stack, the median of {BATCHES} batches, after taking off what else on \
             the machine failed to connect meanwhile): try a refused connection once more at \
             most, never in a loop"
        ))
    })
}

/// One play of the refused check: the machine's failed connection attempts in each quiet
/// window and each batch, with how long each lasted. Windows and batches alternate, a window
/// first and last.
struct Refusals {
    windows: Vec<(u64, Duration)>,
    batches: Vec<(u64, Duration)>,
}

impl Refusals {
    /// The attempts in batch `batch` that were not others', at the rate of the windows either
    /// side of it (pooled), rounded up.
    fn tries(&self, batch: usize) -> u64 {
        let (before, after) = (self.windows[batch], self.windows[batch + 1]);
        let quiet = (before.1 + after.1).as_secs_f64().max(1e-3);
        let rate = (before.0 + after.0) as f64 / quiet;
        let (attempts, span) = self.batches[batch];
        attempts.saturating_sub((rate * span.as_secs_f64()).ceil() as u64)
    }
}

/// The machine's failed connection attempts while `during` runs, and how long it took.
async fn counted<F: Future<Output = ()>>(during: F) -> Option<(u64, Duration)> {
    let (before, started) = (upstream::failed_connection_attempts()?, Instant::now());
    during.await;
    Some((upstream::failed_connection_attempts()?.saturating_sub(before), started.elapsed()))
}

async fn refusals_counted(gateway: &Client, symbol: &str, quiet: Duration) -> Option<Refusals> {
    let mut windows = vec![counted(tokio::time::sleep(quiet)).await?];
    let mut batches = Vec::new();
    for _ in 0..BATCHES {
        let batch = counted(async {
            for _ in 0..REFUSALS_ASKED {
                gateway.get(&format!("/quotes/{}", exchange::segment(symbol))).await;
            }
        })
        .await?;
        batches.push(batch);
        // At least as long as the batch: a gateway that backs off between its tries takes
        // long, and what others do over that span is then measured over as long a one.
        windows.push(counted(tokio::time::sleep(quiet.max(batch.1))).await?);
    }
    Some(Refusals { windows, batches })
}
