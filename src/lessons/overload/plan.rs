//! What one run of the overload lesson asks, drawn from the seed: the limits of each instance,
//! what the backend does for every report, who asks for which, and when.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::judge::compare::case_swapped;
use crate::judge::seed::{self, Rng};
use crate::judge::upstream::{Reply, Seen};

/// What the backend does for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Backend {
    /// The report, after this long.
    Report { latency: Duration, title: String },
    /// A 500 of its own, carrying the run's secret.
    Fails,
    /// The connection reset without a word.
    Resets,
    /// Nothing, until the caller gives up.
    Silent,
}

/// One request for a report, and the client that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ask {
    pub(super) id: u32,
    /// The `x-api-key`, or none.
    pub(super) key: Option<String>,
}

/// Instance "burst": floods released together, and backend failures in between.
#[derive(Debug)]
pub(super) struct BurstPlan {
    pub(super) max: usize,
    /// Who floods: one client, many, or clients without a key.
    pub(super) shape: &'static str,
    /// The first flood, the calls that fail, and the flood after them.
    pub(super) first: Vec<Ask>,
    pub(super) failing: Vec<Ask>,
    /// As many calls as there are slots, which the backend never answers, whose callers hang up
    /// once the backend has them all: each slot must come back.
    pub(super) abandoned: Vec<Ask>,
    /// As many quick calls as there are slots, sent once the callers have hung up if the
    /// backend still has their calls a moment later: those calls run on, and so keep their
    /// slots, which the quick ones must not take.
    pub(super) meanwhile: Vec<Ask>,
    pub(super) last: Vec<Ask>,
    /// Health probes released with each flood.
    pub(super) health: usize,
}

/// Instance "stream": requests one after another, faster than the backend can serve them.
#[derive(Debug)]
pub(super) struct StreamPlan {
    pub(super) max: usize,
    /// Each request, with when it is sent (from the start).
    pub(super) asks: Vec<(Duration, Ask)>,
}

/// An instance whose quotas are judged.
#[derive(Debug)]
pub(super) struct QuotaPlan {
    pub(super) per_client: u32,
    pub(super) window: Duration,
    /// One client asking more than its quota at once, then coming back as told.
    pub(super) noisy: Vec<Ask>,
    pub(super) noisy_early: Ask,
    pub(super) noisy_late: Ask,
    /// Another client, within its quota, in the same instant; its key differs from the noisy
    /// one's only in case (keys are opaque: two keys, two clients).
    pub(super) quiet: Vec<Ask>,
    /// A third, within its quota, asking once the clients without a key have spent theirs,
    /// whose key is not ASCII (bytes past 0x7F, which a field value may hold): a client of its
    /// own, or refused as malformed, never one of the clients without a key.
    pub(super) opaque: Vec<Ask>,
    /// A client that asks once, then, `room` before a window has passed since, asks for more
    /// than its quota: its quota has room again `room` after the refusal, well before a whole
    /// window.
    pub(super) spread: AsksAgain,
    /// The same, with room again 1.15 to 1.4 s after the refusal: a `Retry-After` rounded to
    /// the nearest second (1) comes too soon; rounded up (2), it does not.
    pub(super) rounded: AsksAgain,
    /// Requests without a key: the anonymous clients' one shared quota.
    pub(super) anonymous: Vec<Ask>,
    /// A client that uses its whole quota twice, a window apart (none when the quota is 1).
    pub(super) cycling: Option<(Vec<Ask>, Vec<Ask>)>,
    /// A client that uses its whole quota at once, then asks for all of it again a little
    /// before a window has passed: whichever way the quota counts, not all of it is back.
    pub(super) hasty: (Vec<Ask>, Vec<Ask>),
    /// A client that first asks well into the run (0.4 of a window in), for its whole quota,
    /// then for all of it again a little past a window from the run's start: its own window
    /// (counted from its first request) is not over, whatever others' are.
    pub(super) late_comer: (Vec<Ask>, Vec<Ask>),
}

/// A client that asks once, then asks for more than its quota `room` before a window has
/// passed, and comes back as told: a moment early (`early`) and a moment late (`late`).
#[derive(Debug)]
pub(super) struct AsksAgain {
    pub(super) first: Ask,
    pub(super) again: Vec<Ask>,
    pub(super) early: Ask,
    pub(super) late: Ask,
    pub(super) room: Duration,
}

#[derive(Debug)]
pub(super) struct Plan {
    pub(super) reports: HashMap<u32, Backend>,
    /// In every failure the backend sends: it must reach no client.
    pub(super) secret: String,
    /// How long the service may wait for the backend.
    pub(super) timeout: Duration,
    pub(super) burst: BurstPlan,
    pub(super) stream: StreamPlan,
    pub(super) quotas: [QuotaPlan; 2],
    pub(super) long: LongPlan,
}

/// An instance whose window is minutes long: one client asks for one more than its quota, and
/// the refusal's `Retry-After` must say when its quota has room again, however far off (the
/// 1-60 s asked of a 503 is no bound on a 429's).
#[derive(Debug)]
pub(super) struct LongPlan {
    pub(super) per_client: u32,
    pub(super) window: Duration,
    pub(super) asks: Vec<Ask>,
}

/// How long before a window has passed since its first request the spread client asks again:
/// its quota then has room again this long after its refusal (or sooner), well under the
/// window, so that a Retry-After of the whole window shows coming back early.
const SPREAD_ROOM: Duration = Duration::from_millis(700);

/// No request of the run needs more ids than this.
const IDS: usize = 400;

/// A quota the judge never reaches, for the instances whose concurrency is judged.
pub(super) const UNREACHED_QUOTA: u32 = 1_000_000;
/// A concurrency the judge never reaches, for the instances whose quotas are judged.
pub(super) const UNREACHED_CONCURRENCY: usize = 256;

/// The reports of a run, each with an id of its own.
struct Reports {
    ids: std::vec::IntoIter<u32>,
    drawn: HashMap<u32, Backend>,
}

impl Reports {
    fn add(&mut self, backend: Backend) -> u32 {
        let id = self.ids.next().expect("enough ids for a run");
        self.drawn.insert(id, backend);
        id
    }

    fn report(&mut self, rng: &mut Rng, latency: Duration) -> u32 {
        let title = format!("Quarterly report {}", seed::token(rng, 6));
        self.add(Backend::Report { latency, title })
    }
}

/// From this latency on, a report's body takes half of it: the head comes half-way, the body
/// in pieces after it, so that a slot given back once the head has come, before the body is
/// read, shows as more calls under way at the backend than the limit.
const BODY_TAKES_HALF_FROM: Duration = Duration::from_millis(100);

/// How many pieces a slow report's body comes in.
const BODY_PIECES: usize = 4;

/// A 200 carrying `report`, its last byte out `latency` after the request.
fn written_over(latency: Duration, report: &serde_json::Value) -> Reply {
    let whole = Box::new(Reply::json(200, report));
    let length = match whole.as_ref() {
        Reply::Respond { body, .. } if latency >= BODY_TAKES_HALF_FROM => body.len(),
        _ => return Reply::Delayed(latency, whole),
    };
    let chunk = length.div_ceil(BODY_PIECES);
    let pieces = length.div_ceil(chunk) as u32;
    let every = latency / 2 / pieces;
    let head = latency - every * pieces;
    Reply::Delayed(head, Box::new(Reply::TrickleBody { response: whole, chunk, every }))
}

/// What every client's key begins with, as a vendor's keys share a long prefix: a service that
/// names a client by the first 24 (or 48) bytes of its key makes them all one client.
pub(super) const KEY_PREFIX: &str = "sk_live_51NqT8vEJr2ZpWkB4nX7cY9mD3fG6hK1sA0uLzQe_";

fn key(rng: &mut Rng) -> Option<String> {
    Some(format!("{KEY_PREFIX}{}", seed::token(rng, 10)))
}

fn slow(rng: &mut Rng) -> Duration {
    Duration::from_millis(rng.u64(200..=320))
}

impl Plan {
    pub(super) fn draw(seed: u64) -> Self {
        let mut rng = seed::rng(seed);
        let ids = seed::distinct(&mut rng, 1_000..9_000_000, IDS).into_iter();
        let mut reports = Reports { ids, drawn: HashMap::new() };
        let burst = burst_plan(&mut rng, &mut reports);
        let stream = stream_plan(&mut rng, &mut reports, burst.max);
        let single = quota_plan(&mut rng, &mut reports, 1);
        let per_client = rng.u32(3..=6);
        let several = quota_plan(&mut rng, &mut reports, per_client);
        let long = long_plan(&mut rng, &mut reports);
        Plan {
            reports: reports.drawn,
            secret: seed::token(&mut rng, 16),
            timeout: Duration::from_millis(rng.u64(450..=550)),
            burst,
            stream,
            quotas: [single, several],
            long,
        }
    }

    /// What the backend does for `seen`.
    pub(super) fn reply(&self, seen: &Seen) -> Reply {
        let id = seen.path().strip_prefix("/reports/").and_then(|id| id.parse::<u32>().ok());
        let Some(backend) = id.and_then(|id| self.reports.get(&id)) else {
            return Reply::json(404, &json!({"error": "no such report"}));
        };
        match backend {
            Backend::Report { latency, title } => {
                written_over(*latency, &json!({"id": id, "title": title}))
            }
            Backend::Fails => Reply::json(
                500,
                &json!({"error": format!("renderer crashed on reports-7.internal, trace {}", self.secret)}),
            )
            .with_header("x-backend-trace", &self.secret),
            Backend::Resets => Reply::Reset,
            Backend::Silent => Reply::Silence,
        }
    }

    /// How long the backend takes to answer report `id`, when it answers with a report.
    pub(super) fn latency(&self, id: u32) -> Option<Duration> {
        match self.reports.get(&id) {
            Some(Backend::Report { latency, .. }) => Some(*latency),
            _ => None,
        }
    }

    pub(super) fn title(&self, id: u32) -> Option<&str> {
        match self.reports.get(&id) {
            Some(Backend::Report { title, .. }) => Some(title),
            _ => None,
        }
    }
}

/// The burst instance: slow reports, floods several times the limit.
fn burst_plan(rng: &mut Rng, reports: &mut Reports) -> BurstPlan {
    // Three slots at least, so that every way a backend fails fits in one release (the stream
    // instance judges a limit of two).
    let max = rng.usize(3..=5);
    // The first flood from clients of one kind; the last from all three kinds at once, so that
    // a limit that depends on the key (one semaphore per client, keyless requests let past)
    // shows every run, not in the runs that drew the kind it misjudges.
    let shape = *seed::pick(rng, &["one client", "many clients", "no key"]);
    let one = key(rng);
    let flood = |rng: &mut Rng, reports: &mut Reports, mixed: bool| -> Vec<Ask> {
        let count = max * rng.usize(3..=5);
        (0..count)
            .map(|n| {
                let latency = slow(rng);
                let kind =
                    if mixed { ["one client", "many clients", "no key"][n % 3] } else { shape };
                let key = match kind {
                    "one client" => one.clone(),
                    "many clients" => key(rng),
                    _ => None,
                };
                Ask { id: reports.report(rng, latency), key }
            })
            .collect()
    };
    let first = flood(rng, reports, false);
    let last = flood(rng, reports, true);
    // As many calls as there are slots, failing in each of the three ways there are: a service
    // that gets one of them wrong is caught every run, not in the runs that drew it.
    let mut kinds = vec![Backend::Fails, Backend::Resets, Backend::Silent];
    let mut failing = Vec::new();
    while failing.len() < max {
        let id = match kinds.pop() {
            Some(kind) => reports.add(kind),
            None => {
                let latency = slow(rng);
                reports.report(rng, latency)
            }
        };
        failing.push(Ask { id, key: key(rng) });
    }
    rng.shuffle(&mut failing);
    let abandoned =
        (0..max).map(|_| Ask { id: reports.add(Backend::Silent), key: key(rng) }).collect();
    let mut meanwhile = Vec::new();
    for _ in 0..max {
        let latency = Duration::from_millis(rng.u64(30..=60));
        meanwhile.push(Ask { id: reports.report(rng, latency), key: key(rng) });
    }
    BurstPlan { max, shape, first, failing, abandoned, meanwhile, last, health: 2 }
}

/// The stream instance: quick reports, then slow ones, so that no limit on the rate of requests
/// passes for a limit on calls at once. Whatever its rate, a rate limit either refuses quick
/// reports with slots free, or lets slow ones pile up past the limit.
fn stream_plan(rng: &mut Rng, reports: &mut Reports, burst_max: usize) -> StreamPlan {
    // Never the burst instance's limit: a 503 that says how many calls are under way then says
    // two numbers, where one that does not says the same in both.
    let limits: Vec<usize> = (2..=4).filter(|max| *max != burst_max).collect();
    let max = *seed::pick(rng, &limits);
    // Three times what the backend can serve, on average, for a second.
    let every = Duration::from_secs_f64(0.2 / (3.0 * max as f64));
    let count = (1.0 / every.as_secs_f64()) as u32;
    // Each phase lasts longer than any latency of the run, so that either shows in full.
    let quick = count * 2 / 5;
    let asks = (0..count)
        .map(|n| {
            let latency = if n < quick { 10..=30 } else { 250..=350 };
            let latency = Duration::from_millis(rng.u64(latency));
            (every * n, Ask { id: reports.report(rng, latency), key: key(rng) })
        })
        .collect();
    StreamPlan { max, asks }
}

fn long_plan(rng: &mut Rng, reports: &mut Reports) -> LongPlan {
    let per_client = rng.u32(1..=3);
    // Over 62 s for each request of the quota: a bucket's next token, too, is past a minute.
    let window = Duration::from_secs(rng.u64(200..=900));
    let who = key(rng);
    let asks = (0..=per_client)
        .map(|_| {
            let latency = Duration::from_millis(rng.u64(10..=40));
            Ask { id: reports.report(rng, latency), key: who.clone() }
        })
        .collect();
    LongPlan { per_client, window, asks }
}

/// An instance whose quotas are judged, with quick reports.
fn quota_plan(rng: &mut Rng, reports: &mut Reports, per_client: u32) -> QuotaPlan {
    // Over 1.4 s: a Retry-After a second short is then 0.4 s early at least, which a busy
    // machine does not blur.
    let window = Duration::from_millis(rng.u64(1_400..=1_800));
    let mut asks = |count: u32, who: &Option<String>, rng: &mut Rng| -> Vec<Ask> {
        (0..count)
            .map(|_| {
                let latency = Duration::from_millis(rng.u64(10..=40));
                Ask { id: reports.report(rng, latency), key: who.clone() }
            })
            .collect()
    };
    let noisy_key = key(rng);
    let extra = rng.u32(2..=4);
    let noisy = asks(per_client + extra, &noisy_key, rng);
    let noisy_early = asks(1, &noisy_key, rng).remove(0);
    let noisy_late = asks(1, &noisy_key, rng).remove(0);
    let quiet_key = noisy_key.as_deref().map(case_swapped);
    let quiet = asks(per_client, &quiet_key, rng);
    let opaque_key =
        Some(format!("{}-{}", seed::pick(rng, &["clé", "schlüssel", "ключ"]), seed::token(rng, 8)));
    let opaque = asks(per_client, &opaque_key, rng);
    let mut asks_again = |room: Duration, rng: &mut Rng| {
        let who = key(rng);
        AsksAgain {
            first: asks(1, &who, rng).remove(0),
            again: asks(per_client + 1, &who, rng),
            early: asks(1, &who, rng).remove(0),
            late: asks(1, &who, rng).remove(0),
            room,
        }
    };
    let spread = asks_again(SPREAD_ROOM, rng);
    // Soon after the first request (the client comes back 2 s after its refusal), and with a
    // fraction of a second under a half, so that rounding to the nearest second rounds down.
    let rounded_room = (window - Duration::from_millis(100)).min(Duration::from_millis(1_400))
        - Duration::from_millis(rng.u64(0..=150));
    let rounded = asks_again(rounded_room, rng);
    let anonymous = asks(per_client + 2, &None, rng);
    let cycling = (per_client > 1).then(|| {
        let who = key(rng);
        (asks(per_client + 1, &who, rng), asks(per_client + 1, &who, rng))
    });
    let hasty_key = key(rng);
    let hasty = (asks(per_client, &hasty_key, rng), asks(per_client, &hasty_key, rng));
    let late_key = key(rng);
    let late_comer = (asks(per_client, &late_key, rng), asks(per_client, &late_key, rng));
    QuotaPlan {
        per_client,
        window,
        noisy,
        noisy_early,
        noisy_late,
        quiet,
        opaque,
        spread,
        rounded,
        anonymous,
        cycling,
        hasty,
        late_comer,
    }
}
