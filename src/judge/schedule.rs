//! Retry schedules, for every lesson whose client retries (3, 6, 7, 9): what backoff allows
//! before each retry, what a server's `Retry-After` asks for, and how a client's waits are
//! judged, one by one and together.
//!
//! The rules the course teaches: before retry `n` (1 for the first) the client waits a jittered
//! share of `d = min(base_delay × 2^(n−1), max_delay)`: full jitter anywhere in `[0, d]`, equal
//! jitter in `[d/2, d]`. A `Retry-After` is waited out instead, unless it asks for more than
//! `max_delay`, which ends the call. Jitter is required: clients that failed together must not
//! retry together.

use std::time::{Duration, Instant};

use httplings::RetryPolicy;
use httplings::adapter::{SeenError, SeenResponse};

use super::Evidence;
use super::bounds::{Bound, Timing, late, millis};
use super::http_date::system_time;
use super::upstream::{Reply, Seen};

/// The `Retry-After` the judge's server sent in answer to `seen`, if it sent one.
pub fn retry_after_sent(seen: &Seen) -> Option<&str> {
    let Reply::Respond { headers, .. } = &seen.reply else { return None };
    headers.iter().find(|(name, _)| name == "retry-after").map(|(_, value)| value.as_str())
}

/// How long the HTTP-date the judge's server sent as `Retry-After` in `seen`'s reply was ahead of
/// the moment the request arrived: the client can only hear it later, so that is the least it
/// may wait.
pub fn date_asked(seen: &Seen) -> Option<Duration> {
    let date = httpdate::parse_http_date(retry_after_sent(seen)?).ok()?;
    Some(date.duration_since(system_time(seen.at)).unwrap_or_default())
}

/// The longest wait backoff allows before retry `retry` (1 for the first): base × 2^(retry−1),
/// capped at max_delay, without overflow however late the retry.
pub fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.checked_pow(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// A wait the rules ask for before a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Backoff: anything from nothing (full jitter) up to this.
    Backoff(Duration),
    /// The server's `Retry-After`: at least this.
    Asked(Duration),
    /// A `Retry-After` (the first) shorter than the backoff's bound there (the second): at least
    /// what was asked, and no longer than the longer of the two. Waiting it out is the rule; the
    /// longer of it and a backoff never comes back sooner than asked, which is what a server's
    /// `Retry-After` is for.
    AskedUnderBackoff(Duration, Duration),
}

impl Wait {
    /// What a measured wait must fall in. Backoff's bound is proportional at the top (a wait of
    /// `d × 1.2` fails once `d` is long enough to tell); a `Retry-After` is never cut short, and
    /// may run over by no more than any wait may.
    pub fn bound(&self) -> Bound {
        match *self {
            Wait::Backoff(longest) => Bound::between(Duration::ZERO, longest),
            Wait::Asked(asked) => Bound::around(asked),
            Wait::AskedUnderBackoff(asked, longest) => Bound::between(asked, asked.max(longest)),
        }
    }

    /// The longest the rules allow.
    pub fn nominal(&self) -> Duration {
        match *self {
            Wait::Backoff(longest) | Wait::Asked(longest) | Wait::AskedUnderBackoff(_, longest) => {
                longest
            }
        }
    }
}

/// Whether a backoff wait for `d` ran past what the rules allow, once `lag` (how late the
/// machine's timers ran meanwhile) is allowed for: the rule of every check that judges backoff
/// waits one by one.
pub fn past_backoff(waited: Duration, d: Duration, lag: Duration) -> bool {
    Wait::Backoff(d).bound().later_by(lag).judge(waited) == Timing::Late
}

/// One backoff wait as measured, with the bound it had and how late the machine was measured
/// to run meanwhile. The lateness is kept beside the wait, not taken off it: a rule that asks
/// waits to reach up takes it off ([`reach`]: a wait that reached its bound only by running late
/// did not reach it), one that asks the longest to come near its bound leaves it in
/// ([`top_short`]: taken off, it would shorten a right answer's longest wait below the mark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub waited: Duration,
    pub nominal: Duration,
    pub late: Duration,
}

impl Sample {
    /// A wait where no lateness was measured.
    pub fn new(waited: Duration, nominal: Duration) -> Self {
        Self { waited, nominal, late: Duration::ZERO }
    }

    /// The wait with the machine's lateness taken off.
    fn on_time(&self) -> Duration {
        self.waited.saturating_sub(self.late)
    }

    /// The same wait, as it would have been had the machine run on time.
    pub fn without_lateness(&self) -> Self {
        Self::new(self.on_time(), self.nominal)
    }
}

/// The least share of the nominal total a client may wait. Full jitter averages 0.5; over sixty
/// waits its standard deviation is about 0.042, so 0.28 is more than five of them away. A client
/// that does not grow waits about 0.12 of it.
const LEAST_SHARE: f64 = 0.28;

/// How much longer the waits at the cap must be than the first ones: their median against the
/// first ones' lower quartile. A busy machine makes waits longer, never shorter, and hits the
/// first retries hardest (every call starts at once); the lower quartile is the least touched.
const GROWTH: f64 = 2.0;

/// Judges the waits of long outages together: jitter makes single waits anything from nothing to
/// `d`, but over many they must add up to what backoff says, and those at the cap must be well
/// above the first ones. Returns what is wrong, in a sentence.
pub fn growth(samples: &[Sample]) -> Option<String> {
    let waited: Duration = samples.iter().map(|sample| sample.waited).sum();
    let nominal: Duration = samples.iter().map(|sample| sample.nominal).sum();
    if samples.is_empty() || nominal.is_zero() {
        return None;
    }
    let share = waited.as_secs_f64() / nominal.as_secs_f64();
    let allowed: Duration = samples.iter().map(|sample| late(sample.nominal)).sum();
    if share < LEAST_SHARE {
        return Some(format!(
            "the waits do not grow, or stay low: over {} backoff waits the client waited {} ms in \
             all, {:.0} % of the {} ms backoff allows (even full jitter averages 50 %)",
            samples.len(),
            waited.as_millis(),
            share * 100.0,
            nominal.as_millis()
        ));
    }
    if waited > allowed {
        return Some(format!(
            "over {} backoff waits the client waited {} ms in all, {:.0} % of the {} ms backoff \
             allows: no wait may be longer than d (jitter goes below it, not on top)",
            samples.len(),
            waited.as_millis(),
            share * 100.0,
            nominal.as_millis()
        ));
    }
    let (first, capped) = flat(samples)?;
    Some(format!(
        "the waits do not grow: a quarter of the first retries waited {} ms or less, half of those \
         where backoff reaches max_delay {} ms or less (backoff doubles the bound each time)",
        first.as_millis(),
        capped.as_millis()
    ))
}

/// The least bound a wait must have for how far up it reaches to count: below it, what a
/// busy machine adds to a wait is a sizeable share of it.
const REACH_LEAST_BOUND: Duration = Duration::from_millis(80);

/// How far up its bound a wait goes to count as reaching.
const REACH: f64 = 0.6;

/// The least share of the waits that must reach: full jitter takes 40 % of its waits there and
/// equal jitter 80 %; of thirty full-jitter waits, fewer than three reach about once in twenty
/// thousand plays. Waits drawn below half of `d` (a share of `d/2`, half the base) never do.
const LEAST_REACHING: f64 = 0.1;

/// Judges the waits of long outages by their reach: jitter spreads a wait anywhere below `d`,
/// so over many of them some must come near it. Waits that all stay in the lower part of their
/// bound are a backoff shorter than the one asked for. Needs twenty bounds of
/// [`REACH_LEAST_BOUND`] or more, each measured with a lateness of at most
/// [`REACH_LATE_SHARE`] of it.
pub fn reach(samples: &[Sample]) -> Option<String> {
    let (near, judged) = reaching(samples);
    let longest = samples
        .iter()
        .filter(|sample| judged_for_reach(sample))
        .map(|sample| sample.on_time().as_secs_f64() / sample.nominal.as_secs_f64())
        .fold(0.0, f64::max);
    (judged >= 20 && stay_low(near, judged)).then(|| {
        format!(
            "over {judged} backoff waits of {} ms or more, {near} came within {:.0} % of their \
             bound d, and the longest reached {:.0} % of it: jitter spreads a wait over all of \
             [0, d] (or [d/2, d]), so waits that stay low are a backoff shorter than the one \
             asked for",
            REACH_LEAST_BOUND.as_millis(),
            (1.0 - REACH) * 100.0,
            longest * 100.0
        )
    })
}

/// The most lateness a wait may have been measured with, as a share of its bound, and still
/// count towards the reach. A wait counts as reaching with the lateness taken off (so that a
/// busy machine cannot lift a backoff drawn low into reach); beside two CPU hogs the lateness
/// came to 70-200 ms, which takes a right answer's waits of 250-400 ms out of reach: such a
/// wait tells nothing either way.
const REACH_LATE_SHARE: f64 = 0.2;

/// Whether a wait counts towards the reach: its bound long enough, its lateness short enough.
fn judged_for_reach(sample: &Sample) -> bool {
    sample.nominal >= REACH_LEAST_BOUND && sample.late <= sample.nominal.mul_f64(REACH_LATE_SHARE)
}

/// Of the waits whose bound is [`REACH_LEAST_BOUND`] or more, how many reach towards it, and
/// how many there are: as [`reach`] counts them, for a group too small for its verdict.
pub fn reaching(samples: &[Sample]) -> (usize, usize) {
    let judged = samples.iter().filter(|sample| judged_for_reach(sample));
    let reaching = judged
        .clone()
        .filter(|sample| sample.on_time().as_secs_f64() >= sample.nominal.as_secs_f64() * REACH)
        .count();
    (reaching, judged.count())
}

/// Whether `reaching` waits of `judged` are fewer than [`LEAST_REACHING`] of them: over twenty
/// or more, fewer than jitter draws all but once in thousands of plays; over a handful, a
/// figure to report, not a verdict.
pub fn stay_low(reaching: usize, judged: usize) -> bool {
    (reaching as f64) < judged as f64 * LEAST_REACHING
}

/// The least bound whose waits count towards how close to it the longest came: at 250 ms, what a
/// busy machine adds to a wait (tens of ms) is a tenth of it at most.
const TOP_LEAST_BOUND: Duration = Duration::from_millis(250);

/// How many such waits it takes before the longest must come within [`TOP_SHARE`] of its
/// bound: full jitter draws a wait there once in ten, and none of 128 about once in 700,000
/// plays (equal jitter, once in ten to the twelfth).
pub const TOP_FEWEST: usize = 128;

/// The same, for a scenario that is played again before its failure counts: none of 64 about
/// once in 800 plays, three plays in a row once in 500 million.
pub const TOP_FEWEST_REPLAYED: usize = 64;

/// How close to its bound the longest of many waits comes.
const TOP_SHARE: f64 = 0.9;

/// Over many waits of long bounds, the longest comes within a tenth of its bound: jitter draws
/// from all of `[0, d]` (or `[d/2, d]`), so waits that never come near were drawn from below it
/// (a share of `d` a fifth short, a cap below `max_delay`, a bound that grows by less than
/// double). The share the longest came to, and how many were judged, when none came near; a
/// busy machine only lengthens waits, so it never fails a client that waited.
pub fn top_short(samples: &[Sample], fewest: usize) -> Option<(f64, usize)> {
    let shares: Vec<f64> = samples
        .iter()
        .filter(|sample| sample.nominal >= TOP_LEAST_BOUND)
        .map(|sample| sample.waited.as_secs_f64() / sample.nominal.as_secs_f64())
        .collect();
    let longest = shares.iter().copied().fold(0.0, f64::max);
    (shares.len() >= fewest && longest < TOP_SHARE).then_some((longest, shares.len()))
}

/// [`top_short`], said of backoff waits. The waits as measured, the machine's lateness left in:
/// taken off, it would shorten the longest of a right answer's waits below the mark.
pub fn top_reach(samples: &[Sample]) -> Option<String> {
    let (longest, judged) = top_short(samples, TOP_FEWEST)?;
    Some(format!(
        "over {judged} backoff waits of {} ms or more, the longest came to {:.0} % of its bound \
         d: jitter draws from all of [0, d] (or [d/2, d]), and one wait in ten comes within \
         {:.0} % of d; waits that never do are drawn from below it (a share of d too small, or \
         a bound that grows by less than double)",
        TOP_LEAST_BOUND.as_millis(),
        longest * 100.0,
        (1.0 - TOP_SHARE) * 100.0
    ))
}

/// The least bound a wait must have to count towards the reach before its retry alone. The
/// first retries of a check all come at once, in its busiest moment, and what the machine's
/// lateness takes off a wait of 80 ms leaves few of sixty-four reaching (CI's test load: two);
/// the later retries' bounds, of hundreds of milliseconds, are where slow growth shows anyway.
const EACH_RETRY_LEAST_BOUND: Duration = Duration::from_millis(250);

/// Judges reach over all the waits, then before each retry on its own (`retry` 1 for the
/// first): a backoff that grows slower than doubling (linear, or one doubling behind) reaches
/// the first retries' bounds and never the later ones, which pooled waits hide.
pub fn reach_each_retry(samples: impl IntoIterator<Item = (usize, Sample)>) -> Option<String> {
    let mut by_retry: Vec<Vec<Sample>> = Vec::new();
    for (retry, sample) in samples {
        by_retry.resize_with(by_retry.len().max(retry), Vec::new);
        by_retry[retry - 1].push(sample);
    }
    reach(&by_retry.concat()).or_else(|| {
        by_retry.iter().enumerate().find_map(|(index, samples)| {
            let long: Vec<Sample> = samples
                .iter()
                .filter(|sample| sample.nominal >= EACH_RETRY_LEAST_BOUND)
                .copied()
                .collect();
            Some(format!("before retry {}, {}", index + 1, reach(&long)?))
        })
    })
}

/// Every rule on how far backoff waits reach: over all of them and before each retry
/// ([`reach_each_retry`]), then the longest of the long ones ([`top_reach`]).
pub fn reach_all(samples: &[(usize, Sample)]) -> Option<String> {
    let pooled: Vec<Sample> = samples.iter().map(|(_, sample)| *sample).collect();
    reach_each_retry(samples.iter().copied()).or_else(|| top_reach(&pooled))
}

/// How many waits the longest bound judged needs: the median of one or two jittered waits may
/// have drawn next to nothing, and would pass for a backoff that does not grow.
const FLAT_LEAST_CAPPED: usize = 3;

/// The first waits' lower quartile and the capped waits' median, when the capped ones are not
/// [`GROWTH`] times longer. The capped ones are those of the longest bound that has
/// [`FLAT_LEAST_CAPPED`] waits or more.
fn flat(samples: &[Sample]) -> Option<(Duration, Duration)> {
    let least = samples.iter().map(|sample| sample.nominal).min()?;
    let count = |nominal: Duration| samples.iter().filter(|s| s.nominal == nominal).count();
    let most = samples
        .iter()
        .map(|sample| sample.nominal)
        .filter(|nominal| count(*nominal) >= FLAT_LEAST_CAPPED)
        .max()?;
    let quantile = |keep: &dyn Fn(Duration) -> bool, share: f64| {
        let mut kept: Vec<Duration> =
            samples.iter().filter(|sample| keep(sample.nominal)).map(|s| s.waited).collect();
        kept.sort();
        kept.get((kept.len() as f64 * share) as usize).copied()
    };
    let first = quantile(&|nominal| nominal <= least * 2, 0.25)?;
    let capped = quantile(&|nominal| nominal == most, 0.5)?;
    (most >= least * 4 && capped.as_secs_f64() < first.as_secs_f64() * GROWTH)
        .then_some((first, capped))
}

/// The least spread (max − min, as a share of `d`) among parallel calls' waits for the same
/// `d` that still counts as jitter. Full jitter over six calls spreads about 0.7 of `d`, equal
/// jitter about 0.35; waits without jitter differ by what the scheduler adds, a few ms.
const LEAST_SPREAD: f64 = 0.12;

/// Judges waits for one and the same `d`, made by calls that failed at the same moment: with
/// jitter they differ; without it (or with a generator every call seeds alike) they are the same.
/// `d` must be long enough for the spread to show (a hundred milliseconds or more).
pub fn jittered(d: Duration, waits: &[Duration]) -> Option<String> {
    let (Some(least), Some(most)) = (waits.iter().min(), waits.iter().max()) else { return None };
    let spread = *most - *least;
    (waits.len() >= 3 && spread.as_secs_f64() < d.as_secs_f64() * LEAST_SPREAD).then(|| {
        format!(
            "{} calls that failed together waited {}–{} ms before their retry (d = {} ms): \
             without jitter, clients that failed together retry together",
            waits.len(),
            least.as_millis(),
            most.as_millis(),
            d.as_millis()
        )
    })
}

/// Below this share of `d`, a herd's wait is a client coming straight back (20-30 ms for the
/// herds' `d` of 400-600 ms): full jitter draws one that short once in twenty, equal jitter never.
const STRAIGHT_BACK: f64 = 0.05;

/// The share of a herd's waits that, each shorter than [`STRAIGHT_BACK`], tell a client that
/// did not wait. Seven of ten from full jitter: once in ten million herds. It holds where the
/// spread alone does not: on a busy machine, one retry held up by the scheduler widens the spread
/// of clients that never waited past any bound, and it takes four of ten held up to hide them
/// here.
const STRAIGHT_BACK_SHARE: f64 = 0.7;

/// The same, for a machine that held every retry up a little (tens of milliseconds, as tests
/// running beside a check do): nine of ten within twice [`STRAIGHT_BACK`]. Full jitter draws
/// that about once in a hundred million herds.
const STRAIGHT_BACK_HELD: (f64, f64) = (STRAIGHT_BACK * 2.0, 0.9);

/// The same, for a machine that held every retry up by more (CI's slow tier, two judges at a
/// time: ten refused clients came back 23–45 ms after their failure, with `d` 439 ms): nine of
/// ten within three times [`STRAIGHT_BACK`]. Full jitter draws that about once in three million
/// herds.
const STRAIGHT_BACK_HELD_LONGER: (f64, f64) = (STRAIGHT_BACK * 3.0, 0.9);

/// Judges the first waits of six or more calls that failed together, each with the bound `d`:
/// most of them came back at once, as if no backoff were asked for. A busy machine only lengthens
/// waits, so this never fails a client that waited.
pub fn came_straight_back(d: Duration, waits: &[Duration]) -> Option<String> {
    if waits.len() < 6 {
        return None;
    }
    let quick = |within: f64| {
        waits.iter().filter(|waited| waited.as_secs_f64() < d.as_secs_f64() * within).count()
    };
    let tiers =
        [(STRAIGHT_BACK, STRAIGHT_BACK_SHARE), STRAIGHT_BACK_HELD, STRAIGHT_BACK_HELD_LONGER];
    let (within, count) = tiers
        .into_iter()
        .map(|(within, share)| (within, quick(within), share))
        .find(|(_, count, share)| *count as f64 >= waits.len() as f64 * share)
        .map(|(within, count, _)| (within, count))?;
    Some(format!(
        "{count} of {} calls that failed together came back within {} ms of their failure \
         (d = {} ms): they did not wait, and clients that fail together and come straight back \
         meet the server together, still down",
        waits.len(),
        d.mul_f64(within).as_millis(),
        d.as_millis()
    ))
}

/// Whether a herd that passed [`came_straight_back`] and [`jittered`] could have passed only
/// because the machine ran late: each wait may be longer than the client drew by its `late`,
/// so the spread it drew may be as narrow as the longest wait less its lateness, less the
/// shortest wait, and its waits as short as each less its lateness. A right herd's spread is
/// hundreds of milliseconds; one held up alike by a busy moment is a few, and a pass then is
/// played again (waits without jitter were spread by a busy CI into a pass).
pub fn herd_spread_by_lateness(d: Duration, samples: &[Sample]) -> bool {
    let on_time: Vec<Duration> = samples.iter().map(Sample::on_time).collect();
    let (Some(latest), Some(least)) =
        (on_time.iter().max(), samples.iter().map(|sample| sample.waited).min())
    else {
        return false;
    };
    let narrowest = latest.saturating_sub(least);
    came_straight_back(d, &on_time).is_some()
        || (samples.len() >= 3 && narrowest.as_secs_f64() < d.as_secs_f64() * LEAST_SPREAD)
}

/// Whether calls that timed out together and passed [`waited_after_timeouts`] (their first
/// waits, each with the lateness measured around it) could have passed only because the machine
/// ran late: with that lateness taken off, they came back at once.
pub fn timeouts_waited_by_lateness(d: Duration, firsts: &[Sample]) -> bool {
    let on_time: Vec<Duration> = firsts.iter().map(Sample::on_time).collect();
    waited_after_timeouts(d, &on_time).is_some()
}

/// Below what share of `d` a wait after a timeout counts as none: full jitter draws one there
/// with a chance of 15 %, nine of twelve about once in 180,000 plays (six of eight, once in
/// 4,000: often enough for one play of a catalogue's wrong answer to be reported by this rule
/// rather than its own).
const NO_WAIT_SHARE: f64 = 0.15;

/// The share of calls that timed out together which, each waiting less than [`NO_WAIT_SHARE`]
/// of `d`, tell a client that took the wait for the answer as its backoff.
const NO_WAIT_CALLS: f64 = 0.75;

/// Judges the first waits of a dozen calls that timed out together, each on the bound `d`
/// (shorter than the client's timeout): most of them came back at once, as a client does whose
/// backoff counts from sending (the time spent waiting for the answer has used it up). A busy
/// machine only lengthens waits, so this never fails a client that waited.
pub fn waited_after_timeouts(d: Duration, firsts: &[Duration]) -> Option<String> {
    let none = d.mul_f64(NO_WAIT_SHARE);
    let at_once = firsts.iter().filter(|waited| **waited < none).count();
    (firsts.len() >= 6 && at_once as f64 >= firsts.len() as f64 * NO_WAIT_CALLS).then(|| {
        let shown: Vec<String> = firsts.iter().map(|waited| millis(*waited)).collect();
        format!(
            "after a timeout, {at_once} of {} calls retried less than {} after giving up (waits: \
             {}; backoff allows 0–{}): back off after a timeout as after any other failure; the \
             time spent waiting for an answer is no backoff",
            firsts.len(),
            millis(none),
            shown.join(", "),
            millis(d)
        )
    })
}

/// The least bound a wait must have to tell what share of it the client took: below it, what
/// scheduling adds (a few ms, tens on a busy machine) is a sizeable share.
const AFRESH_LEAST_BOUND: Duration = Duration::from_millis(200);

/// How alike a call's waits must be, and in how many calls, for the judge to conclude that the
/// jitter's random share was drawn once per call and reused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SameShare {
    /// Within how wide a band (as a share of each bound) a call's waits all lie.
    pub band: f64,
    /// How many waits a call needs (on bounds of [`AFRESH_LEAST_BOUND`] or more) to be judged.
    pub waits: usize,
    /// The share of judged calls whose waits must all lie within the band.
    pub of_calls: f64,
    /// How many calls must be judged at all: fewer tell nothing, by chance alone.
    pub least_calls: usize,
}

/// Calls that each wait three times or more (lessons 3 and 6). Equal jitter draws three shares
/// within a tenth of each other for one call in ten, full jitter for one in thirty-five; a share
/// drawn once and reused lands within it, give or take a few ms. Three calls in four doing so by
/// chance happens about once in a hundred million runs of sixteen calls.
pub const THREE_WAITS: SameShare =
    SameShare { band: 0.1, waits: 3, of_calls: 0.75, least_calls: 4 };

/// Twenty calls that each wait twice (lesson 9's twin). Two draws land within a twentieth of each
/// other for one call in ten (full jitter) or one in five (equal jitter); eighteen calls of
/// twenty doing so by chance happens about once in 10^11 plays (equal jitter).
pub const TWO_WAITS: SameShare = SameShare { band: 0.05, waits: 2, of_calls: 0.9, least_calls: 18 };

/// Judges the backoff waits of calls that each retried several times: jitter drawn afresh for
/// every wait takes a different share of each bound; a share drawn once per call (or per client)
/// and reused makes every wait of that call the same share of its bound. `calls` holds each
/// call's samples; only bounds of [`AFRESH_LEAST_BOUND`] or more count, and only calls with
/// `rule.waits` of them.
pub fn drawn_afresh(calls: &[Vec<Sample>], rule: SameShare) -> Option<String> {
    // Each call's shares, and the band a busy moment could spread a reused share over: the
    // rule's, and as much again as the machine ran late around its waits (a share of its bound),
    // up to twice the rule's. Three equal-jitter shares fall within a band of 0.2 for one call
    // in three (full jitter: one in ten), and twelve calls of sixteen doing so by chance about
    // once in 700 plays, each of which a failure must repeat in.
    let shares: Vec<(Vec<f64>, f64)> = calls
        .iter()
        .map(|samples| {
            let judged = samples.iter().filter(|sample| sample.nominal >= AFRESH_LEAST_BOUND);
            let late = judged
                .clone()
                .map(|sample| sample.late.as_secs_f64() / sample.nominal.as_secs_f64())
                .fold(0.0, f64::max);
            let shares = judged
                .map(|sample| sample.waited.as_secs_f64() / sample.nominal.as_secs_f64())
                .collect::<Vec<f64>>();
            (shares, (rule.band + late).min(rule.band * 2.0))
        })
        .filter(|(shares, _)| shares.len() >= rule.waits)
        .collect();
    let band = |shares: &Vec<f64>| {
        let most = shares.iter().copied().fold(f64::MIN, f64::max);
        let least = shares.iter().copied().fold(f64::MAX, f64::min);
        most - least
    };
    let alike = |(shares, within): &&(Vec<f64>, f64)| band(shares) < *within;
    let same = shares.iter().filter(alike).count();
    (shares.len() >= rule.least_calls && same as f64 >= shares.len() as f64 * rule.of_calls).then(
        || {
            let example = shares
                .iter()
                .find(alike)
                .map(|(shares, _)| shares)
                .map(|shares| {
                    shares.iter().map(|share| format!("{:.0} %", share * 100.0)).collect::<Vec<_>>()
                })
                .unwrap_or_default();
            format!(
                "in {same} of {} calls every wait took the same share of its backoff bound (one \
             call: {}): the random share is drawn once per call and reused. Draw it afresh for \
             every wait, or each client keeps its place in the herd from one retry to the next",
                shares.len(),
                example.join(", ")
            )
        },
    )
}

/// The retries from which 2^(n−1) no longer fits in a u32, then in a u64.
const OVERFLOWS: [usize; 2] = [33, 65];

/// Past each of [`OVERFLOWS`], the waits must stay near the cap: a mean below this share of the
/// cap, and below [`PAST_OVERFLOW_RATIO`] of the mean at the cap before the overflow, is a
/// backoff that started again. Full jitter makes both half the cap, equal jitter three
/// quarters; a client that falls back to base_delay (or to nothing) waits a twentieth of the cap
/// or less, plus what a loopback round trip adds to every wait (2-3 ms on a quiet machine,
/// more when a check's calls crowd it: two rules, so that neither needs to be tight). Full
/// jitter's mean over seven waits falls below 0.3 of the cap about once in thirty plays, and
/// then, with the mean before it near half the cap, not below 0.4 of that.
const PAST_OVERFLOW_SHARE: f64 = 0.3;
const PAST_OVERFLOW_RATIO: f64 = 0.4;

/// The retries whose waits stand for the cap before the overflow: by retry 17 any base_delay
/// above a 65,536th of the cap has reached it.
const AT_CAP_FROM: usize = 17;

/// Judges the waits (each call's, in order) of calls that retried past [`OVERFLOWS`], their
/// bound at `cap` long before: once 2^(n−1) overflows, the wait must stay at the cap, not start
/// again from base_delay (or fall to nothing). Measured against the cap and against the waits
/// at the cap just before, so that what a busy machine adds to every wait hides nothing.
pub fn stays_at_cap(cap: Duration, calls: &[Vec<Duration>]) -> Option<String> {
    let mut before = Vec::new();
    let mut after = [Vec::new(), Vec::new()];
    for waits in calls {
        for (index, waited) in waits.iter().enumerate() {
            let retry = index + 1;
            match OVERFLOWS.iter().rposition(|&from| retry >= from) {
                Some(past) => after[past].push(*waited),
                None if retry >= AT_CAP_FROM => before.push(*waited),
                None => {}
            }
        }
    }
    let mean = |waits: &[Duration]| waits.iter().sum::<Duration>() / waits.len().max(1) as u32;
    let at_cap = mean(&before);
    let fell = OVERFLOWS.iter().zip(&after).find_map(|(from, after)| {
        let after_mean = mean(after).as_secs_f64();
        let fell = after_mean < cap.as_secs_f64() * PAST_OVERFLOW_SHARE
            && after_mean < at_cap.as_secs_f64() * PAST_OVERFLOW_RATIO;
        (!after.is_empty() && fell).then(|| {
            format!(
                "past retry {} the waits fell to {} on average, from {} before it, with \
                 max_delay {}: 2^(n−1) overflowed a u{}, and the wait must stay at max_delay, \
                 not start again",
                from - 1,
                millis(mean(after)),
                millis(at_cap),
                millis(cap),
                from - 1,
            )
        })
    });
    // Spread is compared within each call long enough to tell: a share drawn once per call
    // and reused spreads nowhere within one, before the overflow or after it.
    // Each overflow on its own: jitter that stops at the u64's leaves the u32's band spread.
    fell.or_else(|| {
        calls.iter().filter(|waits| waits.len() >= OVERFLOWS[0]).find_map(|waits| {
            // `waits[i]` is the wait before retry i + 1.
            let at_cap = &waits[AT_CAP_FROM - 1..OVERFLOWS[0] - 1];
            let past_u32 = &waits[OVERFLOWS[0] - 1..waits.len().min(OVERFLOWS[1] - 1)];
            let past_u64 = waits.get(OVERFLOWS[1] - 1..).unwrap_or_default();
            // Past the u64's, fifteen waits: against all 48 before them, at the cap and past
            // the u32's (jittered, or the first comparison has told already).
            let before_u64 = &waits[AT_CAP_FROM - 1..waits.len().min(OVERFLOWS[1] - 1)];
            unjittered_past_overflow(cap, at_cap, past_u32, OVERFLOWS[0])
                .or_else(|| unjittered_past_overflow(cap, before_u64, past_u64, OVERFLOWS[1]))
        })
    })
}

/// How little the waits past the first overflow may spread (their middle half) against those
/// at the cap before it, and against the cap, before the jitter counts as stopped there. Drawn
/// alike all along, they spread alike: a half of the cap (full jitter) or a quarter (equal
/// jitter) on both sides. Over fifteen waits (past the u64's overflow) they spread less than a
/// quarter of that by chance in about one play in 900, and in each of three plays about once
/// in 10^9; over 32 (past the u32's), never in 10^5 draws. A wait left at the cap
/// spreads by what the timers and the loopback add, a millisecond or two. A busy moment mostly
/// adds spread (one before the overflow is why the cap bounds the rule too), but one that holds
/// every timer up and wakes them together bunches waits: the failure is then played again.
const PAST_OVERFLOW_SPREAD: f64 = 0.25;
const UNJITTERED_SPREAD: f64 = 0.15;

/// The fewest waits on each side of an overflow whose spread is compared (a call of 79
/// retries has 16 at the cap before the first, 32 past it, and 15 past the second).
const SPREAD_SAMPLES: usize = 12;

/// Waits that spread at the cap before the overflow and stop spreading past it: a client whose
/// jitter stops where 2^(n−1) overflows (waiting the cap itself there) brings every client
/// still failing back in step, in the longest outages, where herds matter most.
fn unjittered_past_overflow(
    cap: Duration,
    before: &[Duration],
    after: &[Duration],
    from: usize,
) -> Option<String> {
    if before.len() < SPREAD_SAMPLES || after.len() < SPREAD_SAMPLES {
        return None;
    }
    let middle_half = |waits: &[Duration]| {
        let mut sorted = waits.to_vec();
        sorted.sort();
        let at = |share: f64| sorted[((sorted.len() - 1) as f64 * share).round() as usize];
        at(0.75) - at(0.25)
    };
    let (spread_before, spread_after) = (middle_half(before), middle_half(after));
    let narrow = spread_after.as_secs_f64()
        < (spread_before.as_secs_f64() * PAST_OVERFLOW_SPREAD)
            .min(cap.as_secs_f64() * UNJITTERED_SPREAD);
    narrow.then(|| {
        format!(
            "past retry {} the middle half of the waits spread over {}, against {} at max_delay \
             ({}) before it: the jitter stopped where 2^(n−1) overflowed a u{}. Draw every \
             wait below the cap, however late the retry, or every client still failing comes \
             back in step",
            from - 1,
            millis(spread_after),
            millis(spread_before),
            millis(cap),
            from - 1,
        )
    })
}

/// The least bound whose waits are looked at for a pile-up: below it, what scheduling adds to a
/// wait is a sizeable share of it.
const PILE_LEAST_BOUND: Duration = Duration::from_millis(200);

/// How close waits for one bound must be to count as one value drawn again: 1.5 % of the bound,
/// and never less than what a timer and a loopback round trip add to a wait, a few ms.
const PILE_WIDTH_SHARE: f64 = 0.015;
const PILE_WIDTH_LEAST: Duration = Duration::from_millis(3);

/// How many of the waits for one bound may take the same time before they count as one value:
/// a quarter of them, and eight at least. Equal jitter puts about 3 % of its waits in any such
/// band; a dozen of forty-eight in one happens about once in a million runs.
const PILE_SHARE: f64 = 0.25;
const PILE_LEAST: usize = 8;

/// How many of the calls that waited for one bound a pile must hold waits of: half. A value
/// drawn and capped, or not drawn at all, piles every call's waits together; a share drawn once
/// per call and reused piles each call's waits on their own, a mistake [`drawn_afresh`] names,
/// and a few such calls can land together by chance.
const PILE_CALLS_SHARE: f64 = 0.5;

/// The waits of many calls (each call's samples) for each bound of [`PILE_LEAST_BOUND`] or
/// more, shortest bound first: each wait with the call that made it.
fn by_long_bound(calls: &[Vec<Sample>]) -> Vec<(Duration, Vec<(Duration, usize)>)> {
    let mut bounds: Vec<Duration> = calls.iter().flatten().map(|sample| sample.nominal).collect();
    bounds.sort();
    bounds.dedup();
    bounds
        .into_iter()
        .filter(|d| *d >= PILE_LEAST_BOUND)
        .map(|d| {
            let waits = calls.iter().enumerate().flat_map(|(call, samples)| {
                let at_d = samples.iter().filter(move |sample| sample.nominal == d);
                at_d.map(move |sample| (sample.waited, call))
            });
            (d, waits.collect())
        })
        .collect()
}

/// Judges backoff waits of many calls (each call's samples), grouped by their bound `d`:
/// jittered waits take every length below `d`; a pile of them taking one and the same time, in
/// many calls, is a wait that was not jittered (capped after the jitter was drawn, so that every
/// draw above the cap is the cap; or jitter on the first retry only), and every client that
/// reaches it retries in step. Only bounds of [`PILE_LEAST_BOUND`] or more are judged.
pub fn piled_up(calls: &[Vec<Sample>]) -> Option<String> {
    by_long_bound(calls).into_iter().find_map(|(d, mut waits)| {
        waits.sort();
        let width = d.mul_f64(PILE_WIDTH_SHARE).max(PILE_WIDTH_LEAST);
        let enough = (waits.len() as f64 * PILE_SHARE).ceil().max(PILE_LEAST as f64) as usize;
        let enough_calls = (distinct_calls(&waits) as f64 * PILE_CALLS_SHARE).ceil() as usize;
        let mut start = 0;
        let mut pile: Option<&[(Duration, usize)]> = None;
        for end in 0..waits.len() {
            while waits[end].0 - waits[start].0 > width {
                start += 1;
            }
            let here = &waits[start..=end];
            if here.len() >= enough
                && distinct_calls(here) >= enough_calls
                && pile.is_none_or(|pile| here.len() > pile.len())
            {
                pile = Some(here);
            }
        }
        let pile = pile?;
        let (first, last) = (pile.first()?.0, pile.last()?.0);
        Some(format!(
            "{} of {} waits where backoff allows up to {}, in {} calls, took the same time, \
             {}–{} ms: those waits are not jittered (drawn, then capped at max_delay, so that \
             every draw above it is max_delay; or jitter on the first retry only), and clients \
             that reach that retry together retry in step",
            pile.len(),
            waits.len(),
            millis(d),
            distinct_calls(pile),
            first.as_millis(),
            last.as_millis()
        ))
    })
}

/// How far below its bound a wait must come to count as drawn below it: 3 %, twice a pile's
/// width. A busy machine makes a wait longer, never shorter.
const BELOW_BY: f64 = 0.03;

/// How many of the waits for one bound must come below it: a quarter. Equal jitter puts 94 %
/// of its waits there, full jitter 97 %; eight waits with fewer than two there happen about
/// once in fifty million runs of equal jitter.
const BELOW_LEAST_SHARE: f64 = 0.25;

/// How many times its bound a wait may take and still be judged by [`never_below`], and how
/// many of the waits must be within it: waits mostly longer than that are a schedule too long,
/// which another verdict says.
const NEAR_BOUND: f64 = 1.25;
const NEAR_BOUND_SHARE: f64 = 0.75;

/// The fewest calls whose waits for one bound [`never_below`] judges together: a share drawn
/// once per call and reused puts one call's waits anywhere, its own mistake.
const BELOW_LEAST_CALLS: usize = 3;

/// Judges backoff waits of many calls grouped by their bound `d`, as [`piled_up`] does, from
/// the other side: jittered waits come below `d`, and however busy the machine, it only makes
/// them longer. Waits that nearly all take `d` or a little more were not jittered there
/// (drawn, then capped at max_delay; jitter on the first retry only), even where a busy
/// machine held each up by a different few milliseconds and smeared the pile.
pub fn never_below(calls: &[Vec<Sample>]) -> Option<String> {
    by_long_bound(calls).into_iter().find_map(|(d, waits)| {
        let near = waits.iter().filter(|(waited, _)| *waited <= d.mul_f64(NEAR_BOUND)).count();
        let below = waits.iter().filter(|(waited, _)| *waited < d.mul_f64(1.0 - BELOW_BY)).count();
        let judged = waits.len() >= PILE_LEAST
            && distinct_calls(&waits) >= BELOW_LEAST_CALLS
            && near as f64 >= waits.len() as f64 * NEAR_BOUND_SHARE;
        (judged && (below as f64) < waits.len() as f64 * BELOW_LEAST_SHARE).then(|| {
            format!(
                "{} of {} waits where backoff allows up to {}, in {} calls, took {} or longer: \
                 jitter draws below the bound (a busy machine only makes waits longer), so \
                 those waits are not jittered (drawn, then capped at max_delay, so that every \
                 draw above it is max_delay; or jitter on the first retry only), and clients \
                 that reach that retry together retry in step",
                waits.len() - below,
                waits.len(),
                millis(d),
                distinct_calls(&waits),
                millis(d.mul_f64(1.0 - BELOW_BY))
            )
        })
    })
}

/// Whether waits that passed [`piled_up`] could have been a pile smeared by the machine's
/// lateness: each wait may be longer than drawn by its `late`, so it could have been any length
/// from that much less to what was measured; if one length lies within [`PILE_WIDTH_SHARE`] of
/// that range for as many waits, from as many calls, as make a pile, the pass is played again
/// (waits capped after their jitter passed on a busy CI, each held up by another few ms).
pub fn pile_smeared_by_lateness(calls: &[Vec<Sample>]) -> bool {
    let mut bounds: Vec<Duration> = calls.iter().flatten().map(|sample| sample.nominal).collect();
    bounds.sort();
    bounds.dedup();
    bounds.into_iter().filter(|d| *d >= PILE_LEAST_BOUND).any(|d| {
        let width = d.mul_f64(PILE_WIDTH_SHARE).max(PILE_WIDTH_LEAST);
        // Each wait as the range of lengths it could have been drawn at, widened by a pile's
        // width: a point inside as many ranges as make a pile is a pile the lateness hid.
        let ranges: Vec<(Duration, Duration, usize)> = calls
            .iter()
            .enumerate()
            .flat_map(|(call, samples)| {
                samples.iter().filter(move |sample| sample.nominal == d).map(move |sample| {
                    (sample.on_time().saturating_sub(width), sample.waited, call)
                })
            })
            .collect();
        let calls_at_d = {
            let mut seen: Vec<usize> = ranges.iter().map(|(_, _, call)| *call).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len()
        };
        let enough = (ranges.len() as f64 * PILE_SHARE).ceil().max(PILE_LEAST as f64) as usize;
        let enough_calls = (calls_at_d as f64 * PILE_CALLS_SHARE).ceil() as usize;
        // The most ranges overlap at some range's start.
        ranges.iter().any(|(point, _, _)| {
            let covering: Vec<(Duration, usize)> = ranges
                .iter()
                .filter(|(from, to, _)| from <= point && point <= to)
                .map(|(_, waited, call)| (*waited, *call))
                .collect();
            covering.len() >= enough && distinct_calls(&covering) >= enough_calls
        })
    })
}

/// How many calls the waits (each with its call's number) come from.
fn distinct_calls(waits: &[(Duration, usize)]) -> usize {
    let mut calls: Vec<usize> = waits.iter().map(|(_, call)| *call).collect();
    calls.sort_unstable();
    calls.dedup();
    calls.len()
}

/// Judges two processes' waits for the same scenarios: a generator seeded with a constant makes
/// every process wait the same, to the millisecond, however random each wait looks.
pub fn differ_between_processes(first: &[Duration], second: &[Duration]) -> Option<String> {
    let (mut first, mut second) = (first.to_vec(), second.to_vec());
    first.sort();
    second.sort();
    let alike = first.len() >= 4
        && first.len() == second.len()
        && first.iter().zip(&second).all(|(a, b)| a.abs_diff(*b) <= Duration::from_millis(2));
    alike.then(|| {
        format!(
            "two processes running your code waited the same {} times to the millisecond: the \
             random numbers come from a generator seeded with a constant, so every instance of \
             the client retries in step with every other",
            first.len()
        )
    })
}

/// How close two processes' waits for the same call may be, as a share of `d`, and still count
/// as drawn alike: what scheduling adds to a measured wait (a few ms, tens on a busy machine)
/// differs between processes, so waits drawn alike are not measured alike to the millisecond.
const ALIKE_SHARE: f64 = 0.04;

/// How close two processes' waits of bound `d` may be and still count as drawn alike.
pub fn alike_within(d: Duration) -> Duration {
    d.mul_f64(ALIKE_SHARE).max(Duration::from_millis(2))
}

/// The share of calls whose waits must be alike for two processes to be in step: a call or two
/// may hear its failure out of turn on a busy machine.
const IN_STEP_SHARE: f64 = 0.8;

/// How closely two processes' waits for the same calls may follow each other (their Pearson
/// correlation) before they count as drawn alike, whatever each measurement added. Ten honest
/// pairs correlate this well about twice in 100 000 runs (full or equal jitter alike); ten pairs
/// drawn alike do, when scheduling adds up to a tenth of `d` to each wait, 998 times in 1 000
/// with full jitter (simulated).
const IN_STEP_CORRELATION: f64 = 0.95;

/// How rarely honest draws may rank two processes' waits as alike as they came before the two
/// count as in step by rank: a busy machine stretches waits by up to a quarter of `d` (beside
/// two CPU hogs, one process's waits 1-130 ms longer at d = 471 ms: correlation 0.94), which
/// moves values but seldom swaps their order.
const IN_STEP_RANK_CHANCE: f64 = 3e-6;

/// The chance that two independent draws of `n` values put at most `swapped` pairs in opposite
/// order: permutations of `n` with at most that many inversions (the Mahonian numbers), over n!.
fn chance_of_at_most_swapped(n: usize, swapped: usize) -> f64 {
    // ways[k]: the share of permutations of the first m values with k inversions.
    let mut ways = vec![1.0];
    for m in 2..=n {
        let mut next = vec![0.0; ways.len() + m - 1];
        for (k, share) in ways.iter().enumerate() {
            for added in 0..m {
                next[k + added] += share / m as f64;
            }
        }
        ways = next;
    }
    ways.iter().take(swapped + 1).sum()
}

/// How many pairs of calls the two processes' waits put in opposite order.
fn swapped_pairs(first: &[Duration], second: &[Duration]) -> usize {
    let pairs = first.iter().zip(second).enumerate();
    pairs
        .clone()
        .flat_map(|(i, one)| pairs.clone().skip(i + 1).map(move |(_, other)| (one, other)))
        .filter(|((a, b), (c, d))| (a < c) != (b < d))
        .count()
}

/// Judges two processes' waits (of one bound `d`) for the same calls, whose failures came one
/// after the other in the same order in both, so that each process drew its waits in that
/// order: with a generator seeded with a constant (or with anything every instance shares), the
/// same call waits the same in both. Honest draws agree within 4 % of `d` for one call in eight
/// or fewer (equal jitter), and for eight calls in ten about once in a hundred thousand runs.
/// Waits drawn alike but measured apart (a machine busy with other work held some of one
/// process's retries up by tens of milliseconds) still follow each other, and keep their order:
/// either counts too.
pub fn differ_between_processes_in_order(
    d: Duration,
    first: &[Duration],
    second: &[Duration],
) -> Option<String> {
    let tolerance = alike_within(d);
    let alike = first.iter().zip(second).filter(|(a, b)| a.abs_diff(**b) <= tolerance).count();
    let in_step = first.len() >= 4
        && first.len() == second.len()
        && (alike as f64 >= first.len() as f64 * IN_STEP_SHARE
            || (first.len() >= 8 && correlation(first, second) >= IN_STEP_CORRELATION)
            || chance_of_at_most_swapped(first.len(), swapped_pairs(first, second))
                <= IN_STEP_RANK_CHANCE);
    in_step.then(|| {
        let shown = |waits: &[Duration]| {
            waits.iter().map(|wait| wait.as_millis().to_string()).collect::<Vec<_>>().join(", ")
        };
        format!(
            "two processes running your code drew the same waits, call for call (d = {} ms): \
             {} ms in one, {} ms in the other. The random numbers come from a generator seeded \
             with a constant (or with something every instance shares, such as the process id, \
             1 in every container), so every instance of the client retries in step with every \
             other",
            d.as_millis(),
            shown(first),
            shown(second)
        )
    })
}

/// The Pearson correlation of paired durations (0 when either side does not vary).
fn correlation(first: &[Duration], second: &[Duration]) -> f64 {
    let seconds =
        |waits: &[Duration]| -> Vec<f64> { waits.iter().map(Duration::as_secs_f64).collect() };
    let (x, y) = (seconds(first), seconds(second));
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let (mx, my) = (mean(&x), mean(&y));
    let covariance: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let spread = |values: &[f64], m: f64| values.iter().map(|v| (v - m).powi(2)).sum::<f64>();
    let scale = (spread(&x, mx) * spread(&y, my)).sqrt();
    if scale > 0.0 { covariance / scale } else { 0.0 }
}

/// The waits of one client's attempts, as the upstream saw them (in order): before each retry,
/// from the moment the client could know the attempt before had failed to the retry's arrival.
/// A reply sent at once (a response, a reset, bytes that are not HTTP) counts from the request's
/// arrival: the client hears it after that, never before, so a wait is never measured shorter
/// than it was. So does a 5xx head sent at once over a body that stalls: the status says the
/// attempt failed, and what the body would add is no reason to wait for it. Any other reply
/// that came late or never (silence, a stall, a delay, a trickle) counts from the end of its
/// exchange: the client hanging up, or the reply's last byte.
pub fn waits(seen: &[Seen]) -> Vec<Duration> {
    seen.windows(2).map(|pair| pair[1].at.saturating_duration_since(failed_at(&pair[0]))).collect()
}

/// When the client could know that `seen` had failed.
fn failed_at(seen: &Seen) -> Instant {
    let stalled_5xx = |reply: &Reply| matches!(reply, Reply::Stalled { status, .. } if (500..600).contains(status));
    match &seen.reply {
        Reply::Respond { .. } | Reply::Raw(_) | Reply::Reset | Reply::CutOff { .. } => seen.at,
        reply if stalled_5xx(reply) => seen.at,
        // Its head goes out once the delay is over, and says the attempt failed.
        Reply::Delayed(delay, later) if stalled_5xx(later) => seen.at + *delay,
        Reply::Stalled { .. }
        | Reply::Trickle { .. }
        | Reply::TrickleBody { .. }
        | Reply::Paced { .. }
        | Reply::Silence
        | Reply::Delayed(..)
        | Reply::Held { .. } => seen.ended.unwrap_or(seen.at),
    }
}

/// What is wrong with `response`, which a client function returned as the answer the upstream
/// sent to `last`: `None` when it is that answer as it came (its status, every header the
/// upstream sent, with its value, and its body to the byte), else what differs, as "returned
/// …". An id the upstream put in a header or the body tells the last answer from the ones before.
pub fn returned_as_sent(response: &SeenResponse, last: &Seen) -> Option<String> {
    let mut sent = &last.reply;
    while let Reply::Delayed(_, inner)
    | Reply::Held { then: inner, .. }
    | Reply::Trickle { response: inner, .. }
    | Reply::TrickleBody { response: inner, .. }
    | Reply::Paced { response: inner, .. } = sent
    {
        sent = inner;
    }
    let Reply::Respond { status, headers, body } = sent else {
        return Some(format!(
            "returned a {}, but the last attempt got no response",
            response.status
        ));
    };
    if response.status != *status {
        return Some(format!("returned a {} instead of the {status}", response.status));
    }
    let got = |name: &str| {
        response.headers.iter().find(|(known, _)| known == name).map(|(_, value)| value.as_str())
    };
    if let Some((name, value)) =
        headers.iter().find(|(name, value)| got(&name.to_ascii_lowercase()) != Some(value.as_str()))
    {
        return Some(format!(
            "returned a {status}, but not the last response the server sent (its {name} is {}, the last one's {value})",
            got(&name.to_ascii_lowercase()).unwrap_or("missing")
        ));
    }
    match &response.body {
        Ok(text) if text.as_bytes() == body.as_slice() => None,
        Ok(_) => Some(format!(
            "returned the last {status}, but with another body: return the response as it came"
        )),
        Err(problem) => {
            Some(format!("returned the last {status}, but its body could not be read ({problem})"))
        }
    }
}

/// Columns in a timeline.
const TIMELINE_WIDTH: usize = 48;

/// A client's requests on a time axis (`yours`, from its first), beside the schedule the rules
/// describe with every wait at its longest (`nominal`): "retried at once" and "never retried"
/// show at a glance.
pub fn timeline(yours: &[Duration], nominal: &[Duration]) -> Evidence {
    let span = yours
        .iter()
        .chain(nominal)
        .max()
        .copied()
        .unwrap_or_default()
        .max(Duration::from_millis(1));
    let axis = format!("0 ms{:>width$}", millis(span), width = TIMELINE_WIDTH - 4);
    let body = format!(
        "           {axis}\nyours      {}\nnominal    {}\n(nominal: every wait at its longest, \
         d = base_delay × 2^(n−1) capped, or as asked)\n● a request · 2–9 that many in one column · + ten or more",
        track(yours, span),
        track(nominal, span)
    );
    Evidence::Text { title: "timeline".into(), body }
}

/// One row of dots; a digit where several requests fall in one column.
fn track(moments: &[Duration], span: Duration) -> String {
    let mut counts = [0usize; TIMELINE_WIDTH];
    for moment in moments {
        let column = (moment.as_secs_f64() / span.as_secs_f64() * (TIMELINE_WIDTH - 1) as f64)
            .round() as usize;
        counts[column.min(TIMELINE_WIDTH - 1)] += 1;
    }
    let row: String = counts
        .iter()
        .map(|count| match count {
            0 => '·',
            1 => '●',
            2..=9 => char::from_digit(*count as u32, 10).unwrap_or('+'),
            _ => '+',
        })
        .collect();
    row.trim_end_matches('·').to_string()
}

/// What a retrying client's function returned, in a few words for a request log: `Ok(503)`,
/// `Err(timed out)`.
pub fn returned(returned: &Result<SeenResponse, SeenError>) -> String {
    match returned {
        Ok(response) => format!("Ok({})", response.status),
        Err(error) if error.status.is_some() => {
            format!("Err(an error made from the {} response)", error.status.unwrap_or_default())
        }
        Err(error) if error.builder => "Err(the request could not be built)".into(),
        Err(error) if error.connect => "Err(could not connect)".into(),
        Err(error) if error.timeout => "Err(timed out)".into(),
        Err(_) => "Err(the connection failed)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base: u64, max: u64) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 40,
            base_delay: Duration::from_millis(base),
            max_delay: Duration::from_millis(max),
        }
    }

    #[test]
    fn backoff_doubles_stops_at_the_cap_and_never_overflows() {
        let waits: Vec<_> =
            (1..=5).map(|retry| backoff(&policy(10, 40), retry).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 40, 40]);
        assert_eq!(backoff(&policy(10, 40), 200), Duration::from_millis(40));
    }

    /// The long outages: base 10 ms, cap 120 ms, ten retries, twelve calls.
    fn samples(wait: impl Fn(Duration, usize, u32) -> Duration) -> Vec<Sample> {
        (0..12)
            .flat_map(|call| {
                (0..10).map(move |index| {
                    (call, index, Duration::from_millis((10u64 << index).min(120)))
                })
            })
            .map(|(call, index, nominal)| Sample::new(wait(nominal, index, call), nominal))
            .collect()
    }

    #[test]
    fn growth_accepts_any_jitter_on_a_busy_machine_and_catches_flat_or_padded_waits() {
        for share in [0.5, 0.75, 1.0] {
            let busy = samples(|nominal, _, _| nominal.mul_f64(share) + Duration::from_millis(20));
            assert_eq!(growth(&busy), None, "share {share}");
        }
        for millis in [10, 40, 60, 100] {
            let flat = growth(&samples(|_, _, _| Duration::from_millis(millis)));
            assert!(flat.is_some_and(|problem| problem.contains("do not grow")), "{millis} ms");
        }
        let padded = growth(&samples(|nominal, _, _| nominal.mul_f64(1.5)));
        assert!(padded.is_some_and(|problem| problem.contains("on top")));
    }

    /// Sixty-four calls that retry four times from a base of 80 ms, each wait `share` of what
    /// `bound` allows before its retry (the shares spread evenly over [0, 1)), against the
    /// doubling bound.
    fn four_retries(bound: impl Fn(u32) -> u64) -> Vec<(usize, Sample)> {
        (0..64)
            .flat_map(|call| (1..=4).map(move |retry| (call, retry)))
            .map(|(call, retry)| {
                let nominal = Duration::from_millis(80 << (retry - 1));
                let share = f64::from(call) / 64.0;
                let waited = Duration::from_millis(bound(retry)).mul_f64(share);
                (retry as usize, Sample::new(waited, nominal))
            })
            .collect()
    }

    #[test]
    fn a_backoff_that_grows_slower_than_doubling_falls_short_before_a_later_retry() {
        assert_eq!(reach_each_retry(four_retries(|retry| 80 << (retry - 1))), None);
        for (name, bound) in [
            ("linear", &(|retry| 80 * u64::from(retry)) as &dyn Fn(u32) -> u64),
            ("one doubling behind", &|retry| 80 << retry.saturating_sub(2)),
            ("× 1.5", &|retry| (80.0 * 1.5f64.powi(retry as i32 - 1)) as u64),
        ] {
            let problem = reach_each_retry(four_retries(bound));
            assert!(problem.is_some_and(|problem| problem.contains("stay low")), "{name}");
        }
    }

    #[test]
    fn reach_takes_the_lateness_off_and_the_longest_wait_keeps_it() {
        // 128 waits of a 300 ms bound drawn from its lower half, each `late` ms late: with the
        // lateness left in, more seem to reach; taken off, they stay low.
        let d = Duration::from_millis(300);
        let lower_half = |late: u64| -> Vec<(usize, Sample)> {
            (0..128)
                .map(|at| {
                    let late = Duration::from_millis(late);
                    let waited = d.mul_f64(0.5 * f64::from(at) / 127.0) + late;
                    (1, Sample { waited, nominal: d, late })
                })
                .collect()
        };
        let late = lower_half(50);
        assert!(reach_all(&late).is_some_and(|problem| problem.contains("0 came within")));
        // So late that a right answer's waits, the lateness taken off, would stay low too
        // (beside two CPU hogs): the reach is not judged, and the longest is.
        let late = lower_half(150);
        assert!(reach(&late.iter().map(|(_, sample)| *sample).collect::<Vec<_>>()).is_none());
        let pooled: Vec<Sample> = late.iter().map(|(_, sample)| *sample).collect();
        assert_eq!(top_short(&pooled, TOP_FEWEST), None, "the longest, lateness left in");
        let on_time: Vec<Sample> = pooled.iter().map(Sample::without_lateness).collect();
        assert!(top_short(&on_time, TOP_FEWEST).is_some(), "the longest, lateness taken off");
    }

    #[test]
    fn the_longest_of_many_long_waits_comes_near_its_bound() {
        let spread = |top: f64| -> Vec<Sample> {
            (0..128)
                .map(|at| {
                    let d = Duration::from_millis(300);
                    Sample::new(d.mul_f64(top * f64::from(at) / 127.0), d)
                })
                .collect()
        };
        assert_eq!(top_short(&spread(1.0), TOP_FEWEST), None);
        assert_eq!(top_short(&spread(0.92), TOP_FEWEST), None);
        let (longest, judged) = top_short(&spread(0.8), TOP_FEWEST).unwrap();
        assert_eq!(judged, 128);
        assert!((longest - 0.8).abs() < 1e-9);
        assert_eq!(top_short(&spread(0.8)[..127], TOP_FEWEST), None, "too few to tell");
        let short_bounds: Vec<Sample> = spread(0.5)
            .iter()
            .map(|sample| Sample { nominal: Duration::from_millis(200), ..*sample })
            .collect();
        assert_eq!(top_short(&short_bounds, TOP_FEWEST), None, "bounds too short to tell");
    }

    #[test]
    fn calls_back_at_once_after_a_timeout_are_caught_and_jittered_ones_pass() {
        let d = Duration::from_millis(240);
        let at_once: Vec<Duration> = (0..12).map(|call| Duration::from_millis(2 + call)).collect();
        let said = waited_after_timeouts(d, &at_once);
        assert!(said.is_some_and(|problem| problem.contains("12 of 12 calls")));
        let spread: Vec<Duration> = (0..12).map(|call| d.mul_f64(f64::from(call) / 12.0)).collect();
        assert_eq!(waited_after_timeouts(d, &spread), None);
    }

    #[test]
    fn parallel_waits_without_jitter_are_caught_and_jittered_ones_pass() {
        let d = Duration::from_millis(200);
        let same: Vec<_> = [201, 203, 200, 207, 202].map(Duration::from_millis).to_vec();
        assert!(jittered(d, &same).is_some());
        let full: Vec<_> = [15, 160, 90, 47, 133].map(Duration::from_millis).to_vec();
        assert_eq!(jittered(d, &full), None);
        let equal: Vec<_> = [110, 190, 150, 130].map(Duration::from_millis).to_vec();
        assert_eq!(jittered(d, &equal), None);
    }

    #[test]
    fn a_herd_spread_only_by_lateness_is_told_from_one_that_drew_its_spread() {
        let d = Duration::from_millis(500);
        let herd = |waits: [(u64, u64); 10]| -> Vec<Sample> {
            waits
                .map(|(waited, late)| Sample {
                    waited: Duration::from_millis(waited),
                    nominal: d,
                    late: Duration::from_millis(late),
                })
                .to_vec()
        };
        // No jitter, two waits held up 70 and 90 ms on a busy moment that the probes saw.
        let unjittered = herd([
            (502, 10),
            (572, 80),
            (503, 10),
            (592, 100),
            (501, 10),
            (504, 10),
            (502, 10),
            (506, 10),
            (503, 10),
            (501, 10),
        ]);
        let waits: Vec<Duration> = unjittered.iter().map(|sample| sample.waited).collect();
        assert_eq!(jittered(d, &waits), None, "the spread alone passes it");
        assert!(herd_spread_by_lateness(d, &unjittered));
        // Straight back, every retry held up 60-110 ms and measured so.
        let back = herd([60, 95, 70, 110, 64, 88, 102, 73, 66, 90].map(|waited| (waited, 120)));
        assert!(herd_spread_by_lateness(d, &back));
        // Equal jitter on the same busy machine: its spread is drawn, not lent.
        let equal = herd([
            (262, 40),
            (478, 40),
            (391, 40),
            (305, 40),
            (447, 40),
            (256, 40),
            (333, 40),
            (420, 40),
            (499, 40),
            (368, 40),
        ]);
        assert!(!herd_spread_by_lateness(d, &equal));
        let full = herd([203, 19, 388, 167, 4, 231, 12, 214, 341, 336].map(|waited| (waited, 40)));
        assert!(!herd_spread_by_lateness(d, &full));
    }

    #[test]
    fn a_pile_smeared_by_lateness_is_told_from_waits_drawn_apart() {
        let d = Duration::from_millis(400);
        let sample = |waited: f64, late: u64| Sample {
            waited: Duration::from_secs_f64(waited / 1_000.0),
            nominal: d,
            late: Duration::from_millis(late),
        };
        // Sixteen calls, three waits at d each: drawn, then capped at d, each held up 0-60 ms.
        let mut rng = fastrand::Rng::with_seed(3);
        let smeared: Vec<Vec<Sample>> = (0..16)
            .map(|_| (0..3).map(|_| sample(400.0 + rng.f64() * 60.0, 60)).collect())
            .collect();
        assert_eq!(piled_up(&smeared), None, "the pile alone passes it");
        assert!(pile_smeared_by_lateness(&smeared));
        assert!(never_below(&smeared).is_some());
        // Equal jitter held up 0-10 ms: no length could be a quarter of the waits'. (Held up
        // by more, lengths overlap enough that a right answer's pass is played again.)
        let equal: Vec<Vec<Sample>> = (0..16)
            .map(|_| (0..3).map(|_| sample(200.0 + rng.f64() * 200.0 + 8.0, 10)).collect())
            .collect();
        assert!(!pile_smeared_by_lateness(&equal));
        assert_eq!(never_below(&equal), None);
    }

    #[test]
    fn waits_that_never_come_below_their_bound_are_not_jittered() {
        let d = Duration::from_millis(300);
        let at = |waits: &[f64]| -> Vec<Sample> {
            waits.iter().map(|waited| Sample::new(d.mul_f64(*waited), d)).collect()
        };
        let mut rng = fastrand::Rng::with_seed(11);
        // Capped after the jitter was drawn, beside CPU hogs: each wait 0-25 % past the cap.
        let capped: Vec<Vec<Sample>> =
            (0..12).map(|_| at(&[1.0 + rng.f64() * 0.25, 1.0 + rng.f64() * 0.1])).collect();
        assert!(never_below(&capped).is_some_and(|problem| problem.contains("24 of 24")));
        // Equal jitter, then a few held up; full jitter; a tenth of jitter, all three pass.
        let equal: Vec<Vec<Sample>> = (0..12)
            .map(|call| at(&[0.5 + rng.f64() * 0.5, 0.5 + f64::from(call % 3) * 0.3]))
            .collect();
        assert_eq!(never_below(&equal), None);
        let full: Vec<Vec<Sample>> = (0..12).map(|_| at(&[rng.f64(), rng.f64()])).collect();
        assert_eq!(never_below(&full), None);
        let tenth: Vec<Vec<Sample>> = (0..12).map(|_| at(&[0.9 + rng.f64() * 0.1; 2])).collect();
        assert_eq!(never_below(&tenth), None);
        // Too long (a backoff one doubling ahead), too few calls, too few waits: not judged here.
        let ahead: Vec<Vec<Sample>> = (0..12).map(|_| at(&[1.0 + rng.f64(); 2])).collect();
        assert_eq!(never_below(&ahead), None);
        assert_eq!(never_below(&capped[..2]), None);
        let few: Vec<Vec<Sample>> = capped.iter().take(7).map(|call| call[..1].to_vec()).collect();
        assert_eq!(never_below(&few), None);
    }

    #[test]
    fn a_herd_that_came_straight_back_is_caught_through_a_few_late_retries() {
        let d = Duration::from_millis(400);
        let ms = |waits: [u64; 10]| waits.map(Duration::from_millis).to_vec();
        // Three of ten held up by a busy machine: the spread says jitter, this does not.
        let straight_back = ms([2, 1, 64, 3, 5, 90, 2, 4, 71, 3]);
        assert_eq!(jittered(d, &straight_back), None);
        assert!(came_straight_back(d, &straight_back).is_some_and(|p| p.contains("7 of 10")));
        let full = ms([203, 19, 388, 167, 4, 231, 12, 214, 341, 336]);
        assert_eq!(came_straight_back(d, &full), None);
        assert_eq!(came_straight_back(d, &ms([1; 10])[..5]), None, "too few to tell");
        // Every retry held up 20-35 ms, one of them far more: nine of ten within 10 % of d.
        let held = ms([22, 31, 25, 140, 35, 24, 29, 33, 21, 27]);
        assert!(came_straight_back(d, &held).is_some_and(|p| p.contains("9 of 10")));
        assert_eq!(came_straight_back(d, &ms([22, 31, 25, 140, 35, 24, 29, 33, 61, 27])), None);
        // Every retry held up 23-45 ms, past a tenth of d (CI's slow tier): within 15 % of it.
        let held_longer = ms([23, 45, 31, 44, 28, 39, 41, 26, 35, 43]);
        assert!(came_straight_back(d, &held_longer).is_some_and(|p| p.contains("10 of 10")));
        assert_eq!(came_straight_back(d, &ms([23, 45, 31, 44, 28, 39, 41, 26, 75, 90])), None);
    }

    #[test]
    fn two_processes_in_step_call_for_call_are_caught_through_scheduling_noise() {
        let d = Duration::from_millis(400);
        let ms = |waits: [u64; 10]| waits.map(Duration::from_millis).to_vec();
        let first = ms([203, 19, 388, 167, 114, 231, 305, 214, 341, 336]);
        // Noise of a busy machine, and two calls that heard their failure out of turn.
        let second = ms([196, 20, 380, 165, 110, 231, 306, 336, 342, 214]);
        assert!(differ_between_processes_in_order(d, &first, &second).is_some());
        let honest = ms([7, 390, 98, 160, 222, 260, 31, 347, 171, 395]);
        assert_eq!(differ_between_processes_in_order(d, &first, &honest), None);
        // Seen beside other tests (d = 553 ms): six of ten held up by some 30 ms in one process,
        // so four alike within 4 % of d; still drawn alike, call for call.
        let d = Duration::from_millis(553);
        let one = ms([462, 307, 454, 24, 356, 291, 496, 249, 403, 171]);
        let two = ms([440, 278, 447, 26, 305, 255, 498, 218, 402, 141]);
        assert!(differ_between_processes_in_order(d, &one, &two).is_some());
        assert_eq!(differ_between_processes_in_order(d, &one, &honest), None);
    }

    #[test]
    fn waits_drawn_alike_keep_their_order_however_late_one_process_runs() {
        assert_eq!(chance_of_at_most_swapped(10, 45), 1.0);
        assert!((chance_of_at_most_swapped(10, 1) - 10.0 / 3_628_800.0).abs() < 1e-12);
        let ms = |waits: [u64; 12]| waits.map(Duration::from_millis).to_vec();
        // Beside two CPU hogs (d = 471 ms, the first ten seen): one process 1-140 ms later,
        // pair by pair, which swaps a few pairs of calls whose waits were close.
        let d = Duration::from_millis(471);
        let one = ms([329, 418, 21, 309, 303, 448, 268, 375, 241, 230, 150, 440]);
        let two = ms([235, 386, 22, 261, 219, 429, 186, 344, 123, 103, 40, 300]);
        assert!(correlation(&one, &two) < IN_STEP_CORRELATION);
        assert_eq!(swapped_pairs(&one, &two), 3);
        assert!(differ_between_processes_in_order(d, &one, &two).is_some());
        let honest = ms([7, 390, 98, 160, 222, 260, 31, 347, 171, 395, 12, 300]);
        assert_eq!(differ_between_processes_in_order(d, &one, &honest), None);
    }

    #[test]
    fn two_processes_in_step_are_caught() {
        let first: Vec<_> = [12, 80, 33, 140].map(Duration::from_millis).to_vec();
        let second: Vec<_> = [81, 13, 141, 32].map(Duration::from_millis).to_vec();
        assert!(differ_between_processes(&first, &second).is_some());
        let other: Vec<_> = [50, 9, 120, 71].map(Duration::from_millis).to_vec();
        assert_eq!(differ_between_processes(&first, &other), None);
    }

    fn seen(at: Instant, reply: Reply, ended: Instant) -> Seen {
        Seen {
            method: "GET".into(),
            target: "/".into(),
            headers: Vec::new(),
            body: Vec::new(),
            at,
            connection: 0,
            reply,
            ended: Some(ended),
            abandoned: false,
        }
    }

    #[test]
    fn waits_count_from_the_arrival_or_from_the_hang_up() {
        let start = Instant::now();
        let ms = |millis| start + Duration::from_millis(millis);
        let stalled = |status| Reply::Stalled { status, promised: 64, sent: vec![b' '; 8] };
        let seen = [
            seen(ms(0), Reply::status(503), ms(9)),
            seen(ms(100), Reply::Silence, ms(400)),
            seen(ms(450), stalled(502), ms(1_400)),
            seen(ms(1_500), stalled(200), ms(2_000)),
            seen(
                ms(2_050),
                Reply::Delayed(Duration::from_millis(30), stalled(500).into()),
                ms(3_000),
            ),
            seen(ms(3_100), Reply::status(200), ms(3_101)),
        ];
        let waits: Vec<u64> = waits(&seen).iter().map(|wait| wait.as_millis() as u64).collect();
        // A stalled 5xx failed at its head, a delayed one once its delay was over; a stalled 200
        // only when the client hung up.
        assert_eq!(waits, [100, 50, 1_050, 50, 1_020]);
    }

    #[test]
    fn a_returned_response_must_be_the_last_one_sent_headers_and_body_included() {
        let now = Instant::now();
        let sent =
            Reply::json(503, &serde_json::json!({"n": 2})).with_header("x-response-id", "r-2");
        let last = seen(now, sent, now);
        let response = |status, id: &str, body: &str| SeenResponse {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-response-id".into(), id.into()),
            ],
            body: Ok(body.into()),
        };
        assert_eq!(returned_as_sent(&response(503, "r-2", r#"{"n":2}"#), &last), None);
        assert!(
            returned_as_sent(&response(503, "r-1", r#"{"n":2}"#), &last)
                .unwrap()
                .contains("x-response-id is r-1")
        );
        assert!(
            returned_as_sent(&response(503, "r-2", "{}"), &last).unwrap().contains("another body")
        );
        assert!(
            returned_as_sent(&response(500, "r-2", r#"{"n":2}"#), &last)
                .unwrap()
                .contains("instead of the 503")
        );
    }

    #[test]
    fn a_track_counts_requests_that_share_a_column() {
        let span = Duration::from_millis(470);
        let moments = [0, 1, 2, 470].map(Duration::from_millis);
        assert_eq!(track(&moments, span), format!("3{}●", "·".repeat(TIMELINE_WIDTH - 2)));
    }

    #[test]
    fn waits_that_start_again_past_the_overflow_are_told_from_waits_at_the_cap() {
        let cap = Duration::from_millis(24);
        // Full jitter's mean, half the cap, all the way; then base_delay again past retry 32.
        let at_cap = vec![vec![cap / 2; 40]; 2];
        assert_eq!(stays_at_cap(cap, &at_cap), None);
        let again: Vec<Vec<Duration>> = at_cap
            .iter()
            .map(|waits| {
                let (before, after) = waits.split_at(32);
                before
                    .iter()
                    .copied()
                    .chain(after.iter().map(|_| Duration::from_millis(1)))
                    .collect()
            })
            .collect();
        assert!(stays_at_cap(cap, &again).is_some_and(|problem| problem.contains("past retry 32")));
        // Past 64 only (a u64's overflow): the first band holds, the second does not.
        let mut late = vec![cap / 2; 64];
        late.extend([Duration::ZERO; 15]);
        assert!(stays_at_cap(cap, &[late]).is_some_and(|problem| problem.contains("u64")));
        // A crowded machine adds 5 ms to every wait: a fifth of the cap, which a mean of 1 ms
        // waits then passes, does not hide them; the waits before still tell them apart.
        let crowded = |waits: &Vec<Duration>| -> Vec<Duration> {
            waits.iter().map(|waited| *waited + Duration::from_millis(5)).collect()
        };
        let again_crowded: Vec<Vec<Duration>> = again.iter().map(crowded).collect();
        assert!(stays_at_cap(cap, &again_crowded).is_some());
        // A right client's waits past the overflow drawn low (a fifth of the cap), after a busy
        // start: not below 0.3 of the cap, so not a backoff that started again.
        let low_after: Vec<Vec<Duration>> = at_cap
            .iter()
            .map(|waits| {
                let (before, after) = waits.split_at(32);
                let busy = before.iter().map(|_| Duration::from_millis(30));
                busy.chain(after.iter().map(|_| Duration::from_millis(8))).collect()
            })
            .collect();
        assert_eq!(stays_at_cap(cap, &low_after), None);
    }

    #[test]
    fn waits_that_stop_spreading_past_the_overflow_are_told_from_jitter_all_along() {
        let cap = Duration::from_millis(24);
        let mut rng = fastrand::Rng::with_seed(7);
        let ms = |millis: f64| Duration::from_secs_f64(millis / 1000.0);
        // Three calls of 35, 35 and 79 retries, as the long haul plays them, each wait drawn
        // by `draw` (given its retry) and 1 ms late.
        let mut play = |draw: &dyn Fn(&mut fastrand::Rng, usize) -> f64| -> Vec<Vec<Duration>> {
            [35, 35, 79]
                .map(|retries| (1..=retries).map(|retry| ms(draw(&mut rng, retry) + 1.0)).collect())
                .to_vec()
        };
        let full = play(&|rng, _| rng.f64() * 24.0);
        let equal = play(&|rng, _| 12.0 + rng.f64() * 12.0);
        let stops = play(&|rng, retry| if retry > 32 { 24.0 } else { rng.f64() * 24.0 });
        let stops_equal =
            play(&|rng, retry| if retry > 32 { 24.0 + rng.f64() } else { 12.0 + rng.f64() * 12.0 });
        let stops_at_u64 = play(&|rng, retry| if retry > 64 { 24.0 } else { rng.f64() * 24.0 });
        assert!(stays_at_cap(cap, &stops_at_u64).is_some_and(|problem| problem.contains("u64")));
        assert_eq!(stays_at_cap(cap, &full), None);
        assert_eq!(stays_at_cap(cap, &equal), None);
        assert!(stays_at_cap(cap, &stops).is_some_and(|problem| problem.contains("stopped")));
        assert!(stays_at_cap(cap, &stops_equal).is_some_and(|problem| problem.contains("stopped")));
        // One share per call, reused for every wait: wrong, and told by the check of its own,
        // not as jitter that stopped at the overflow.
        let shares = [0.12, 0.41, 0.77];
        let per_call: Vec<Vec<Duration>> = [35, 35, 79]
            .iter()
            .zip(shares)
            .map(|(retries, share)| vec![ms(24.0 * share + 1.0); *retries])
            .collect();
        assert_eq!(stays_at_cap(cap, &per_call), None);
        // A busy machine: 0 to 4 ms added to every wait, which spreads waits left at the cap
        // too, but not as far as jitter does.
        let busy = play(&|rng, retry| {
            let late = rng.f64() * 4.0;
            late + if retry > 32 { 24.0 } else { rng.f64() * 24.0 }
        });
        assert!(stays_at_cap(cap, &busy).is_some());
        // Right answers, over 2,000 seeds each: a play that fails by chance is played again,
        // and the rule's odds (about one play in 900) stay far below a failure in three plays.
        let mut told = 0;
        for seed in 0..2_000 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut draw = |low: f64| -> Vec<Vec<Duration>> {
                [35, 35, 79]
                    .map(|n| (0..n).map(|_| ms(low + rng.f64() * (24.0 - low))).collect())
                    .to_vec()
            };
            // (The rule for waits that fall past the overflow has its own odds, above.)
            let stopped = |waits: &[Vec<Duration>]| {
                stays_at_cap(cap, waits).is_some_and(|problem| problem.contains("stopped"))
            };
            told += usize::from(stopped(&draw(0.0))) + usize::from(stopped(&draw(12.0)));
        }
        assert!(told <= 12, "{told} of 4,000 right plays told the jitter stopped");
    }

    #[test]
    fn a_share_drawn_once_per_call_is_told_from_shares_drawn_afresh() {
        let call = |shares: &[f64]| -> Vec<Sample> {
            shares
                .iter()
                .enumerate()
                .map(|(at, share)| {
                    let nominal = Duration::from_millis(200 << at);
                    Sample::new(nominal.mul_f64(*share), nominal)
                })
                .collect()
        };
        let once: Vec<Vec<Sample>> =
            [0.62, 0.81, 0.55, 0.93, 0.7].iter().map(|share| call(&[*share; 3])).collect();
        assert!(
            drawn_afresh(&once, THREE_WAITS)
                .is_some_and(|problem| problem.contains("5 of 5 calls"))
        );
        let afresh: Vec<Vec<Sample>> = [[0.6, 0.9, 0.7], [0.55, 0.58, 0.99], [0.8, 0.5, 0.62]]
            .iter()
            .chain(&[[0.71, 0.74, 0.76], [0.9, 0.52, 0.66]])
            .map(|shares| call(shares))
            .collect();
        assert_eq!(drawn_afresh(&afresh, THREE_WAITS), None);
        // Bounds too short to measure a share by are left out: then nothing is judged.
        let short: Vec<Vec<Sample>> = (0..5)
            .map(|_| vec![Sample::new(Duration::from_millis(40), Duration::from_millis(50)); 3])
            .collect();
        assert_eq!(drawn_afresh(&short, THREE_WAITS), None);
        // The twin's rule judges eighteen calls or more, however alike fewer are: four equal
        // jitter calls are alike about once in 770 plays.
        let reused = |calls: usize| -> Vec<Vec<Sample>> {
            (0..calls).map(|n| call(&[0.5 + n as f64 / 40.0; 2])).collect()
        };
        assert_eq!(drawn_afresh(&reused(TWO_WAITS.least_calls - 1), TWO_WAITS), None);
        assert!(
            drawn_afresh(&reused(TWO_WAITS.least_calls), TWO_WAITS)
                .is_some_and(|problem| problem.contains("18 of 18 calls"))
        );
    }

    #[test]
    fn waits_piled_up_at_one_length_are_told_from_jittered_ones() {
        let d = Duration::from_millis(300);
        let sample = |millis: u64| Sample::new(Duration::from_millis(millis), d);
        // Sixteen calls of three waits spread over [d/2, d]; then a dozen calls with one wait
        // at d, give or take.
        let spread: Vec<Vec<Sample>> = (0..16)
            .map(|call| (0..3).map(|wait| sample(150 + (call * 3 + wait) * 3)).collect())
            .collect();
        assert_eq!(piled_up(&spread), None);
        let mut capped = spread.clone();
        for (call, waits) in capped.iter_mut().take(12).enumerate() {
            waits[0].waited = Duration::from_millis(300 + call as u64 % 3);
        }
        assert!(piled_up(&capped).is_some_and(|problem| problem.starts_with("12 of 48 waits")));
        // A share reused by four calls that drew alike: each call's own pile, not one value.
        let mut reused = spread.clone();
        for (call, waits) in reused.iter_mut().take(4).enumerate() {
            for wait in waits {
                wait.waited = Duration::from_millis(240 + call as u64);
            }
        }
        assert_eq!(piled_up(&reused), None);
        // Bounds too short to tell a pile-up from scheduling are left alone.
        let short =
            vec![vec![Sample::new(Duration::from_millis(90), Duration::from_millis(100)); 20]];
        assert_eq!(piled_up(&short), None);
    }
}
