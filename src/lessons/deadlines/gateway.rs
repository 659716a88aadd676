//! The gateway half: requests to the learner's `GET /quotes/{symbol}` carrying budgets in every
//! form `grpc-timeout` allows (and every malformed form, each read leniently as a short
//! budget), none at all, in front of an upstream that answers, never does, or stops half-way
//! through a body; spent ones (zero, and under a millisecond) on an instance of their own whose
//! upstream must see no connection; a caller that hangs up. Each request asks for a symbol of
//! its own, so what the upstream saw for it is known.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use httplings::fixtures::UpstreamSetup;
use httplings::lessons::deadlines::{Call, Reply as Served};

use super::budget::{self, Form, HEADER};
use crate::judge::bounds::{AT_ONCE, Bound, CLOCK_GRAIN, DEADLINE_HEADROOM, late, millis};
use crate::judge::exchange::{Client, Exchange, Request};
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{Reply, Seen, Upstream};
use crate::judge::{self, Evidence, Failure, Learner, Lost, Returned, Row};

/// What one request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// The upstream answers; the caller's budget, if any, is ample or is read in some unit.
    Healthy { budget: Option<Form> },
    /// The upstream never answers.
    Silent { budget: Option<Form> },
    /// The upstream sends its head after half the budget and part of the body, then nothing:
    /// the budget covers reading the body too.
    Stalled { budget: Form },
    /// Nothing worth trying is left.
    Spent { budget: Form },
    /// The caller hangs up after this long (the upstream never answers).
    HangUp { after: Duration },
    /// A value `grpc-timeout` does not allow (the upstream answers).
    Garbage { value: String },
    /// A small budget still worth a call (20-30 ms, or 30-45 ms; the upstream answers at once),
    /// sent alone after the others, so that the time it spends on its way is a millisecond or
    /// two: tried, not refused as spent, and passed on less no more than a tenth.
    Tight { budget: Form },
    /// The upstream resets the connection: lesson 4's 502 (or 503), not a 504.
    Reset,
    /// To a gateway whose own timeout is 100 s or more (the upstream answers): what it passes
    /// on must still be a budget the format can write.
    Patient { budget: Option<Form> },
}

impl Ask {
    /// The well-formed budget the caller sends, if any.
    fn form(&self) -> Option<&Form> {
        match self {
            Ask::Healthy { budget } | Ask::Silent { budget } | Ask::Patient { budget } => {
                budget.as_ref()
            }
            Ask::Stalled { budget } | Ask::Spent { budget } | Ask::Tight { budget } => Some(budget),
            Ask::HangUp { .. } | Ask::Garbage { .. } | Ask::Reset => None,
        }
    }

    /// What the caller sends in `grpc-timeout`, well-formed or not, if anything.
    fn header(&self) -> Option<&str> {
        match self {
            Ask::Garbage { value } => Some(value),
            ask => ask.form().map(|form| form.text.as_str()),
        }
    }

    /// Sent alone, once every other request is over.
    fn alone(&self) -> bool {
        matches!(self, Ask::Tight { .. })
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The gateway's own timeout.
    pub own: Duration,
    /// The own timeout of a second gateway, for [`Ask::Patient`]: 100 s to 2 h, longer than
    /// eight digits of microseconds can write.
    pub patient: Duration,
    /// Each request: its symbol, and what it is for.
    pub asks: Vec<(String, Ask)>,
    /// The price of each symbol the upstream knows.
    pub prices: HashMap<String, String>,
}

impl Plan {
    pub fn draw(rng: &mut Rng) -> Self {
        // Long enough that every wrong deadline (the gateway's own where the caller's is shorter,
        // a call left running after a hang-up) shows past the lag a busy machine is allowed.
        let own =
            seed::duration_spread(rng, Duration::from_millis(400), Duration::from_millis(700));
        let below = |rng: &mut Rng, low: u64| {
            seed::duration_spread(rng, Duration::from_millis(low), own.mul_f64(0.4))
        };
        let short = below(rng, 80);
        let long = own + below(rng, 60);
        let stalled = below(rng, 80);
        let mut asks = vec![
            Ask::Healthy { budget: None },
            Ask::Healthy { budget: Some(budget::written(rng, own * 4, 'm')) },
            Ask::Silent { budget: Some(budget::written(rng, short, 'm')) },
            Ask::Silent { budget: Some(budget::written(rng, long, 'u')) },
            Ask::Silent { budget: None },
            Ask::Stalled { budget: budget::written(rng, stalled, 'u') },
            Ask::HangUp { after: seed::duration_spread(rng, Duration::from_millis(60), own / 3) },
        ];
        // Every unit, each for a budget it can write in eight digits.
        // Few hours and minutes: read as milliseconds (`M` taken for `m`), they would be spent.
        let hours = Duration::from_secs(u64::from(rng.u32(1..=3)) * 3600);
        asks.push(Ask::Healthy { budget: Some(budget::written(rng, hours, 'H')) });
        let minutes = Duration::from_secs(u64::from(rng.u32(1..=9)) * 60);
        asks.push(Ask::Healthy { budget: Some(budget::written(rng, minutes, 'M')) });
        // And eight digits of hours and of minutes, the most the format writes: a parser that
        // multiplies them out in nanoseconds, or in a u32, overflows.
        for (unit, length) in [('H', 3600), ('M', 60)] {
            let most = Duration::from_secs(rng.u64(10_000_000..=99_999_999) * length);
            asks.push(Ask::Healthy { budget: Some(budget::written(rng, most, unit)) });
        }
        // 2²⁵ hours are 2³² × 28125 ms: multiplied out in a u32 of milliseconds, nothing is left.
        let wraps = Duration::from_secs((1 << 25) * 3600);
        asks.push(Ask::Healthy { budget: Some(budget::written(rng, wraps, 'H')) });
        let seconds = Duration::from_secs(u64::from(rng.u32(1..=3)));
        asks.push(Ask::Healthy { budget: Some(budget::written(rng, seconds, 'S')) });
        for unit in ['m', 'u'] {
            let meant = below(rng, 60);
            asks.push(Ask::Healthy { budget: Some(budget::written(rng, meant, unit)) });
        }
        let nanos =
            seed::duration_spread(rng, Duration::from_millis(40), Duration::from_millis(99));
        asks.push(Ask::Healthy { budget: Some(budget::written(rng, nanos, 'n')) });
        for budget in budget::all_spent(rng) {
            asks.push(Ask::Spent { budget });
        }
        // The lesson's floor is a millisecond or two: a budget of 12-20 ms is worth a call.
        for (low, high) in [(20, 30), (30, 45)] {
            let unit = *seed::pick(rng, &['m', 'u', 'n']);
            let tight =
                seed::duration_spread(rng, Duration::from_millis(low), Duration::from_millis(high));
            asks.push(Ask::Tight { budget: budget::written(rng, tight, unit) });
        }
        asks.push(Ask::Reset);
        let patient = Duration::from_secs(rng.u64(100..=7200));
        let hours = Duration::from_secs(u64::from(rng.u32(3..=9)) * 3600);
        asks.push(Ask::Patient { budget: None });
        asks.push(Ask::Patient { budget: Some(budget::written(rng, hours, 'H')) });
        // Every malformed form, each run: a parser lenient on one of them reads it as `near`,
        // well under half the gateway's own timeout, and passes that on instead of its own.
        let near = seed::duration_spread(rng, own / 10, own * 3 / 10);
        let malformed = budget::lenient(near).into_iter().chain(budget::garbage(rng, 3));
        for value in malformed {
            asks.push(Ask::Garbage { value });
        }
        let asks: Vec<(String, Ask)> =
            asks.into_iter().map(|ask| (seed::token(rng, 8).to_uppercase(), ask)).collect();
        let prices = asks
            .iter()
            .map(|(symbol, _)| {
                (symbol.clone(), format!("{}.{:02}", rng.u32(1..5000), rng.u32(0..100)))
            })
            .collect();
        Self { own, patient, asks, prices }
    }

    /// The own timeout of the gateway `ask` is sent to.
    fn own_for(&self, ask: &Ask) -> Duration {
        match ask {
            Ask::Patient { .. } => self.patient,
            _ => self.own,
        }
    }

    /// What the upstream does for `symbol`.
    fn reply(&self, symbol: &str) -> Reply {
        let ask = self.asks.iter().find(|(known, _)| known == symbol).map(|(_, ask)| ask);
        match (ask, self.prices.get(symbol)) {
            (
                Some(Ask::Healthy { .. } | Ask::Garbage { .. } | Ask::Patient { .. }),
                Some(price),
            ) => Reply::Delayed(
                Duration::from_millis(5),
                Box::new(Reply::json(200, &serde_json::json!({"symbol": symbol, "price": price}))),
            ),
            (Some(Ask::Tight { .. }), Some(price)) => {
                Reply::json(200, &serde_json::json!({"symbol": symbol, "price": price}))
            }
            (Some(Ask::Reset), _) => Reply::Reset,
            // The head after half the budget: a gateway that gives the body a whole budget of
            // its own, after the head's, answers half a budget late.
            (Some(Ask::Stalled { budget }), Some(price)) => {
                let body = serde_json::json!({"symbol": symbol, "price": price}).to_string();
                let sent = body.as_bytes()[..body.len() / 2].to_vec();
                let stalled = Reply::Stalled { status: 200, promised: body.len(), sent };
                Reply::Delayed(budget.meant / 2, Box::new(stalled))
            }
            (Some(_), _) => Reply::Silence,
            (None, _) => Reply::status(404),
        }
    }
}

/// One request as played: what came back, and what the upstream saw for its symbol.
#[derive(Debug, Clone)]
pub struct Asked {
    pub symbol: String,
    pub ask: Ask,
    pub exchange: Exchange,
    pub seen: Vec<Seen>,
    /// For a spent budget: how many connections the upstream of the spent budgets saw (a
    /// gateway of its own, so that a call started and dropped at once still shows).
    pub connections: usize,
}

/// Has the learner's gateway served in front of `upstream`; its base URL, or why not.
async fn serve(
    learner: &Learner,
    own: Duration,
    upstream: &Upstream,
) -> Result<Result<String, Failure>, Lost> {
    let call =
        Call::Serve { upstream: UpstreamSetup { base: upstream.base.clone(), timeout: own } };
    Ok(match learner.call("app()", &call, judge::APP_DEADLINE).await? {
        Returned::Value(Served::Served(Ok(base))) => Ok(base),
        Returned::Value(Served::Served(Err(problem))) | Returned::Panicked(problem) => {
            Err(app_failed(&problem))
        }
        Returned::Value(Served::Got(_)) => Err(app_failed("an unexpected reply")),
        Returned::TimedOut(limit) => {
            Err(app_failed(&format!("app() did not return within {} s", limit.as_secs())))
        }
    })
}

/// Serves the learner's gateway in front of a fresh upstream and sends every request at once;
/// the spent budgets go to a second instance, whose upstream must see no connection at all.
/// `Err` when the app did not serve (every check is then failed).
pub async fn play(
    learner: &Learner,
    plan: &Arc<Plan>,
) -> Result<Result<Vec<Asked>, Failure>, Lost> {
    let script = Arc::clone(plan);
    let upstream = Upstream::start(move |seen| {
        let symbol = seen.path().strip_prefix("/prices/").unwrap_or_default();
        script.reply(symbol)
    })
    .await;
    let for_spent = Upstream::start(|_| Reply::Silence).await;
    let mut clients = Vec::new();
    for (own, upstream) in
        [(plan.own, &upstream), (plan.own, &for_spent), (plan.patient, &upstream)]
    {
        match serve(learner, own, upstream).await? {
            Ok(base) => clients.push(Client::new(base)),
            Err(failure) => return Ok(Err(failure)),
        }
    }
    let client_for = |ask: &Ask| match ask {
        Ask::Spent { .. } => clients[1].clone(),
        Ask::Patient { .. } => clients[2].clone(),
        _ => clients[0].clone(),
    };
    let send =
        |(symbol, ask): &(String, Ask)| ask_once(client_for(ask), symbol.clone(), ask.clone());
    let mut together =
        join_all(plan.asks.iter().filter(|(_, ask)| !ask.alone()).map(send)).await.into_iter();
    let mut alone = Vec::new();
    for symbol_ask in plan.asks.iter().filter(|(_, ask)| ask.alone()) {
        alone.push(send(symbol_ask).await);
    }
    let mut alone = alone.into_iter();
    let exchanges = plan.asks.iter().map(|(_, ask)| {
        let exchange = if ask.alone() { alone.next() } else { together.next() };
        exchange.expect("one exchange per ask")
    });
    // A call the gateway left running is given the usual slack to be dropped.
    let settle = late(plan.own) + Duration::from_millis(100);
    upstream.wait_until(settle, |seen| seen.iter().all(|seen| seen.ended.is_some())).await;
    let seen: Vec<Seen> = upstream.seen().into_iter().chain(for_spent.seen()).collect();
    let spent_connections = for_spent.connections();
    Ok(Ok(plan
        .asks
        .iter()
        .zip(exchanges)
        .map(|((symbol, ask), exchange)| Asked {
            symbol: symbol.clone(),
            ask: ask.clone(),
            exchange,
            seen: seen
                .iter()
                .filter(|seen| seen.path() == format!("/prices/{symbol}"))
                .cloned()
                .collect(),
            connections: match ask {
                Ask::Spent { .. } => spent_connections,
                _ => 0,
            },
        })
        .collect()))
}

/// Sends `ask`'s request for `symbol` to the gateway `client` speaks to.
async fn ask_once(client: Client, symbol: String, ask: Ask) -> Exchange {
    let mut request = Request::get(format!("/quotes/{symbol}"));
    if let Some(value) = ask.header() {
        request = request.header(HEADER, value.to_string());
    }
    match ask {
        Ask::HangUp { after } => client.hang_up_after(request, after).await,
        _ => client.send(request).await,
    }
}

fn app_failed(problem: &str) -> Failure {
    Failure::new(
        problem.to_string(),
        "No request can be answered until the router builds. In axum 0.8, path parameters are \
         written /quotes/{symbol}.",
    )
}

/// What the caller sent, as a report shows it.
fn sent(ask: &Ask) -> String {
    ask.header().map_or_else(|| "(no budget)".into(), |value| format!("{HEADER}: {value}"))
}

fn answered(exchange: &Exchange) -> String {
    match exchange.status() {
        Some(status) => format!("{status} after {}", millis(exchange.took())),
        None => format!("no answer after {}", millis(exchange.took())),
    }
}

/// The budget the gateway passed on, read strictly.
fn passed_on(seen: &Seen) -> Result<Duration, String> {
    let value = seen.header(HEADER).ok_or_else(|| format!("no {HEADER}"))?;
    budget::parse(value).ok_or_else(|| format!("{HEADER}: {value} (not a budget)"))
}

fn table(columns: &[&str], rows: Vec<Row>) -> Evidence {
    Evidence::Table { columns: columns.iter().map(|column| column.to_string()).collect(), rows }
}

/// How many rows a table shows: the wrong ones first.
const SHOWN: usize = 10;

/// A failure from the rows that are wrong, or `None` when every row is right.
fn failed(summary: String, columns: &[&str], mut rows: Vec<Row>) -> Option<Failure> {
    rows.sort_by_key(|row| row.ok);
    rows.truncate(SHOWN);
    rows.iter().any(|row| !row.ok).then(|| Failure::of(summary).with(table(columns, rows)))
}

/// `quotes`: with an answering upstream, the price comes back, asked for once; with one that
/// resets, lesson 4's 502 (or 503) comes back at once.
pub fn quotes(plan: &Plan, asked: &[Asked], lag: Duration) -> Option<Failure> {
    let mut wrong = 0;
    let rows = asked
        .iter()
        .filter(|asked| matches!(asked.ask, Ask::Healthy { .. } | Ask::Patient { .. } | Ask::Reset))
        .map(|asked| {
            if asked.ask == Ask::Reset {
                let ok = asked.exchange.status().is_some_and(|status| [502, 503].contains(&status))
                    && asked.exchange.took() <= AT_ONCE + lag;
                wrong += usize::from(!ok);
                return Row {
                    cells: vec![
                        format!("GET /quotes/{}", asked.symbol),
                        "(no budget); the upstream resets".into(),
                        format!("502 (or 503) within {}", millis(AT_ONCE + lag)),
                        answered(&asked.exchange),
                    ],
                    ok,
                };
            }
            let price = &plan.prices[&asked.symbol];
            let body = asked.exchange.answer().and_then(|answer| answer.json());
            let ok = asked.exchange.status() == Some(200)
                && body.as_ref().is_some_and(|body| body["price"] == price.as_str())
                && asked.seen.len() == 1;
            wrong += usize::from(!ok);
            Row {
                cells: vec![
                    format!("GET /quotes/{}", asked.symbol),
                    sent(&asked.ask),
                    format!("200 with price {price}, 1 call"),
                    format!(
                        "{} {}, {} call(s)",
                        answered(&asked.exchange),
                        body.map(|body| body["price"].to_string()).unwrap_or_default(),
                        asked.seen.len()
                    ),
                ],
                ok,
            }
        })
        .collect();
    failed(
        format!("{wrong} request(s) did not get the price, or lesson 4's answer to a reset"),
        &["request", "caller sent", "expected", "got"],
        rows,
    )
}

/// `passed-on`: every call to the upstream carries what is left: never the caller's budget as
/// it came, never more than the gateway's own timeout.
pub fn passes_on(plan: &Plan, asked: &[Asked], _: Duration) -> Option<Failure> {
    let rows: Vec<Row> = asked
        .iter()
        .filter(|asked| !matches!(asked.ask, Ask::Spent { .. }))
        .flat_map(|asked| asked.seen.iter().map(move |seen| (asked, seen)))
        .map(|(asked, seen)| {
            let received = asked.ask.form().map(|form| form.meant);
            let own = plan.own_for(&asked.ask);
            let forwarded = passed_on(seen);
            let allowed = received.map_or(own, |received| received.min(own));
            let most = allowed + CLOCK_GRAIN;
            // What the gateway had left when it called is at least what was allowed less the
            // time from the request's sending to the call's arrival; a tenth of it may be kept
            // for the way back (a value the gateway read leniently is `budget-read`'s matter).
            let spent = seen.at.saturating_duration_since(asked.exchange.sent);
            let least = match asked.ask {
                Ask::Garbage { .. } => Duration::ZERO,
                _ => allowed
                    .saturating_sub(spent)
                    .mul_f64(1.0 - DEADLINE_HEADROOM)
                    .saturating_sub(CLOCK_GRAIN),
            };
            let ok = forwarded.as_ref().is_ok_and(|forwarded| {
                *forwarded <= most
                    && *forwarded >= least
                    && received.is_none_or(|received| *forwarded < received)
            });
            let expected = match received {
                Some(received) if received <= most => {
                    format!("at least {}, under {}", millis(least), millis(received))
                }
                Some(_) | None => format!("{}–{} (own timeout)", millis(least), millis(most)),
            };
            let got = match forwarded {
                Ok(forwarded) => {
                    format!("{} ({})", seen.header(HEADER).unwrap_or_default(), millis(forwarded))
                }
                Err(problem) => problem,
            };
            Row {
                cells: vec![
                    format!("GET /quotes/{}", asked.symbol),
                    sent(&asked.ask),
                    expected,
                    got,
                ],
                ok,
            }
        })
        .collect();
    failed(
        "the upstream was not told the budget that was left".into(),
        &["request", "caller sent", "the upstream should get", "it got"],
        rows,
    )
}

/// `budget-read`: each unit read as meant (the budget passed on reflects it), and values that
/// are not budgets refused (400, no call) or ignored (the gateway's own timeout).
pub fn reads(plan: &Plan, asked: &[Asked], lag: Duration) -> Option<Failure> {
    let rows = asked
        .iter()
        .filter_map(|asked| match &asked.ask {
            Ask::Healthy { budget: Some(form) } => {
                let left = form.meant.min(plan.own);
                let forwarded = asked.seen.first().map(passed_on);
                let ok = matches!(forwarded, Some(Ok(forwarded)) if forwarded >= left / 2 && forwarded <= left + CLOCK_GRAIN);
                Some(Row {
                    cells: vec![
                        sent(&asked.ask),
                        format!("{}–{} passed on", millis(left / 2), millis(left)),
                        match forwarded {
                            Some(Ok(forwarded)) => format!("{} passed on", millis(forwarded)),
                            Some(Err(problem)) => problem,
                            None => format!("no call; {}", answered(&asked.exchange)),
                        },
                    ],
                    ok,
                })
            }
            Ask::Garbage { .. } => {
                let refused = asked.exchange.status() == Some(400) && asked.seen.is_empty() && asked.exchange.took() <= AT_ONCE + lag;
                let ignored = asked.exchange.status() == Some(200)
                    && asked.seen.len() == 1
                    && passed_on(&asked.seen[0]).is_ok_and(|forwarded| forwarded <= plan.own + CLOCK_GRAIN && forwarded >= plan.own / 2);
                Some(Row {
                    cells: vec![
                        sent(&asked.ask),
                        "400, no call; or 200 as if absent".into(),
                        format!("{}, {} call(s){}", answered(&asked.exchange), asked.seen.len(),
                            asked.seen.first().map(|seen| format!(", {}", passed_on(seen).map_or_else(|problem| problem, millis))).unwrap_or_default()),
                    ],
                    ok: refused || ignored,
                })
            }
            _ => None,
        })
        .collect();
    failed(
        format!("the budget in {HEADER} was not read as its format says"),
        &["caller sent", "expected", "got"],
        rows,
    )
}

/// `shortest`: an upstream that never answers, or never finishes its answer, gets the smaller of
/// the two deadlines, and the 504 comes then, not after (or a 502 for an answer begun and never
/// finished, as lesson 4 allows).
pub fn shortest(plan: &Plan, asked: &[Asked], lag: Duration) -> Option<Failure> {
    let rows = asked
        .iter()
        .filter_map(|asked| {
            let (budget, statuses) = match &asked.ask {
                Ask::Silent { budget } => (budget.as_ref(), &[504][..]),
                Ask::Stalled { budget } => (Some(budget), &[504, 502][..]),
                _ => return None,
            };
            let deadline = budget.map_or(plan.own, |form| form.meant.min(plan.own));
            let bound = Bound::by_deadline(deadline).later_by(lag);
            let hung_up = asked
                .seen
                .first()
                .and_then(|seen| seen.ended)
                .map(|ended| ended.saturating_duration_since(asked.exchange.sent));
            let ok = asked.exchange.status().is_some_and(|status| statuses.contains(&status))
                && bound.holds(asked.exchange.took())
                && hung_up.is_some_and(|hung_up| hung_up <= late(deadline) + lag);
            Some(Row {
                cells: vec![
                    match &asked.ask {
                        Ask::Stalled { .. } => format!("{}; half a body", sent(&asked.ask)),
                        _ => sent(&asked.ask),
                    },
                    match statuses {
                        [only] => format!("{only} in {bound}, call closed"),
                        _ => format!("504 (or 502) in {bound}, call closed"),
                    },
                    format!(
                        "{}, {}",
                        answered(&asked.exchange),
                        match hung_up {
                            Some(at) => format!("call closed at {}", millis(at)),
                            None if asked.seen.is_empty() => "never called".into(),
                            None => "call still open".into(),
                        }
                    ),
                ],
                ok,
            })
        })
        .collect();
    failed(
        format!(
            "an upstream that never answers was not given the smaller of the caller's budget and the \
         gateway's own {}",
            millis(plan.own)
        ),
        &["caller sent", "expected", "got"],
        rows,
    )
}

/// `spent`: nothing worth trying left: a 504 at once, and no call; a small budget still worth
/// one is tried.
pub fn spent(_: &Plan, asked: &[Asked], lag: Duration) -> Option<Failure> {
    let tight =
        asked.iter().filter(|asked| matches!(asked.ask, Ask::Tight { .. })).map(|asked| Row {
            cells: vec![
                sent(&asked.ask),
                "one call (then 200, or 504 if the answer came too late)".into(),
                format!("{}, {} call(s)", answered(&asked.exchange), asked.seen.len()),
            ],
            ok: asked.seen.len() == 1
                && asked.exchange.status().is_some_and(|status| [200, 504].contains(&status)),
        });
    let rows = asked
        .iter()
        .filter(|asked| matches!(asked.ask, Ask::Spent { .. }))
        .map(|asked| Row {
            cells: vec![
                sent(&asked.ask),
                format!("504 within {}, no call, no connection", millis(AT_ONCE + lag)),
                format!(
                    "{}, {} call(s){}",
                    answered(&asked.exchange),
                    asked.seen.len(),
                    match asked.connections {
                        0 => String::new(),
                        opened => format!(
                            "; the upstream of the spent budgets saw {opened} connection(s)"
                        ),
                    }
                ),
            ],
            ok: asked.exchange.status() == Some(504)
                && asked.seen.is_empty()
                && asked.connections == 0
                && asked.exchange.took() <= AT_ONCE + lag,
        })
        .chain(tight)
        .collect();
    failed(
        "a budget already spent was spent on the upstream, or one still worth a call was not"
            .into(),
        &["caller sent", "expected", "got"],
        rows,
    )
}

/// `hang-up`: when the caller hangs up, the upstream call ends with it.
pub fn hang_up(_: &Plan, asked: &[Asked], lag: Duration) -> Option<Failure> {
    let rows = asked
        .iter()
        .filter_map(|asked| {
            let Ask::HangUp { after } = &asked.ask else { return None };
            let closed = asked
                .seen
                .first()
                .and_then(|seen| seen.ended)
                .map(|ended| ended.saturating_duration_since(asked.exchange.sent));
            let ok = closed.is_some_and(|closed| closed <= late(*after) + lag);
            Some(Row {
                cells: vec![
                    format!("the caller hung up after {}", millis(*after)),
                    format!("the upstream call closed by {}", millis(late(*after) + lag)),
                    match closed {
                        Some(closed) => format!("closed after {}", millis(closed)),
                        None if asked.seen.is_empty() => "the upstream was never called".into(),
                        None => "still open when the judge stopped looking".into(),
                    },
                ],
                ok,
            })
        })
        .collect();
    failed(
        "the upstream call went on after the caller had left".into(),
        &["what happened", "expected", "got"],
        rows,
    )
}
