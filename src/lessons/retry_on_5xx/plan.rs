//! Lesson 3's scenarios, drawn from the run's seed: for each check, the calls of
//! `get_with_retry` it makes at once, each with the script its server follows (statuses,
//! `Retry-After` in every form, resets, silence) and the policy the client is given.

use std::time::Duration;

use httplings::RetryPolicy;

use crate::judge::http_date::DateForm;
use crate::judge::seed::{self, Rng};

/// One reply of a script; past its end, a script repeats its last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Status(u16),
    /// A 5xx with a `Retry-After`.
    Asking(u16, Asked),
    /// The connection reset without a word.
    Reset,
    /// No answer, until the client's own timeout gives up.
    Silence,
    /// A 5xx whose body never ends: [`ENDLESS_SENT`] bytes of a promised [`ENDLESS_PROMISED`]
    /// at once, then nothing until the client hangs up. The retry is due a backoff after its
    /// head: a client that reads an error body without a limit reads on until its timeout.
    Endless(u16),
}

/// How much of a [`Step::Endless`] body comes at once: past any limit a client reads an error
/// body to (a few KiB, the lesson says; a MiB would be generous).
pub(super) const ENDLESS_SENT: usize = 4 << 20;
pub(super) const ENDLESS_PROMISED: usize = 64 << 20;

/// The timeout of the client for a call with a body that never ends: one that reads on is held
/// this long, far past the backoff, and still returns within the call's deadline.
pub(super) const ENDLESS_TIMEOUT: Duration = Duration::from_secs(1);

/// What a `Retry-After` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    Seconds(u64),
    /// Not a value a client can read: no hint at all.
    Unreadable(&'static str),
    /// Seconds past what a `u64` holds: still delay-seconds (any run of digits), and longer than
    /// any `max_delay`.
    Huge(&'static str),
    /// An HTTP-date 0.8 to 1.8 seconds ahead (the date is a whole
    /// second, chosen when the request arrives), in one of the three forms a recipient must
    /// read (RFC 9110 §5.6.7), as every date here.
    DateAhead(DateForm),
    /// An HTTP-date already past: "now", like `0`.
    DatePast(DateForm),
    /// An HTTP-date an hour ahead or more.
    DateFar(DateForm),
}

impl Asked {
    /// Asks for more than `max_delay`: the response goes back to the caller at once.
    pub(super) fn beyond(self, max_delay: Duration) -> bool {
        match self {
            Asked::Seconds(seconds) => Duration::from_secs(seconds) > max_delay,
            Asked::DateFar(_) | Asked::Huge(_) => true,
            Asked::Unreadable(_) | Asked::DateAhead(_) | Asked::DatePast(_) => false,
        }
    }
}

/// Where a call is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// A scripted server of the judge's.
    Scripted,
    /// A port where nothing listens, under a host name: each attempt starts with a lookup, of
    /// which the call's scripted server hears (its requests are the attempts, its script unused).
    Refused,
    /// A URL no client can send: it must come back at once.
    Unsendable(&'static str),
}

#[derive(Debug, Clone)]
pub(super) struct Planned {
    pub(super) target: Target,
    pub(super) script: Vec<Step>,
    pub(super) policy: RetryPolicy,
    /// How long the server holds its first answer before it sends it: a wait counts from when
    /// the answer came, not from when the request went out.
    pub(super) first_held: Duration,
}

impl Planned {
    /// The timeout of the client its call is made with: [`CLIENT_TIMEOUT`] where its server
    /// keeps silent, so that the silence ends in time; [`ENDLESS_TIMEOUT`] where a body never
    /// ends; else [`ANSWERED_TIMEOUT`].
    pub(super) fn client_timeout(&self) -> Duration {
        if self.script.contains(&Step::Silence) {
            CLIENT_TIMEOUT
        } else if self.script.iter().any(|step| matches!(step, Step::Endless(_))) {
            ENDLESS_TIMEOUT
        } else {
            ANSWERED_TIMEOUT
        }
    }
}

/// How a scenario's calls are judged together, beyond each call on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Together {
    Alone,
    /// Each wait judged on its own, and over all of them, the waits reach up near their bounds
    /// (a backoff drawn below half of each bound, or one doubling behind, never does), and so
    /// before each retry on its own (one that grows linearly falls short before the later ones).
    Reaching,
    /// Over many waits, they grow as backoff says. Their bounds are small and many, so each is
    /// left to the aggregate (a scenario of a hundred 20 ms waits meets every hiccup of a busy
    /// machine): the checks of `doubles` and `capped` bound waits one by one.
    Growth,
    /// Each wait judged on its own, and over the many at the cap, the longest comes near it:
    /// jitter draws below `max_delay` itself, not below a cap of its own.
    Capped,
    /// Past 2^32, the waits stay at the cap (judged in aggregate too, for the same reason).
    StaysAtCap,
    /// Each call's waits are drawn afresh: over a few long bounds, the share of its bound each
    /// wait takes varies, and the waits at the cap do not pile up at one length (only that is
    /// judged: the checks of `doubles` and `capped` bound waits one by one).
    Afresh,
    /// Calls that timed out together: each wait judged on its own, and over all of them, they do
    /// not come straight back (a backoff counted from sending was spent waiting for the answer).
    TimedOut,
    /// Calls that failed together do not retry together: one URL for all, told apart by a
    /// header; only the spread of their waits is judged (a busy machine widens a spread, it
    /// never narrows one, so this needs no replay).
    Spread,
    /// Only how many attempts, and what comes back: waits of a millisecond or two are the
    /// machine's to time, not the client's.
    Untimed,
}

#[derive(Debug, Clone)]
pub(super) struct Scenario {
    pub(super) check: &'static str,
    pub(super) calls: Vec<Planned>,
    pub(super) together: Together,
}

pub(super) const TWO_XX: &str = "two-xx";
pub(super) const THREE_XX: &str = "three-xx";
pub(super) const NEVER_4XX: &str = "never-4xx";
pub(super) const FLAKY: &str = "flaky";
pub(super) const BROKEN: &str = "broken";
pub(super) const DOUBLES: &str = "doubles";
pub(super) const CAPPED: &str = "capped";
pub(super) const ASKED: &str = "asked";
pub(super) const COUNTS: &str = "counts";
pub(super) const TOO_LONG: &str = "too-long";
pub(super) const UNREADABLE: &str = "unreadable";
pub(super) const DATE: &str = "date";
pub(super) const ZERO: &str = "zero";
pub(super) const RESET: &str = "reset";
pub(super) const TIMEOUT: &str = "timeout";
pub(super) const REFUSED: &str = "refused";
pub(super) const LONG_HAUL: &str = "long-haul";
pub(super) const ONCE: &str = "once";
pub(super) const UNSENDABLE: &str = "unsendable";
pub(super) const GROWTH: &str = "growth";
pub(super) const JITTER: &str = "jitter";
pub(super) const SLEEPS: &str = "sleeps";

/// Every check lesson 3 reports, in the order it reports them.
pub const CHECKS: &[&str] = &[
    TWO_XX, THREE_XX, NEVER_4XX, FLAKY, BROKEN, DOUBLES, CAPPED, ASKED, COUNTS, TOO_LONG,
    UNREADABLE, DATE, ZERO, RESET, TIMEOUT, REFUSED, LONG_HAUL, ONCE, UNSENDABLE, GROWTH, JITTER,
    SLEEPS,
];

/// How many calls time out together: enough that full jitter seldom draws most of their waits
/// near nothing (see `schedule::waited_after_timeouts`).
const TIMED_OUT: usize = 12;

/// How many calls of the cap's scenario fail six times (four waits at the cap each).
const CAPPED_CALLS: usize = 16;

/// The timeout of the client handed to `get_with_retry`: a silent server becomes an error then.
pub(super) const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);

/// The timeout of the client for a call whose server always answers: a machine busy enough to
/// hold the learner's thread up past [`CLIENT_TIMEOUT`] turned a 301 into a timeout there,
/// which the client rightly retried, and the judge saw a 301 retried.
const ANSWERED_TIMEOUT: Duration = Duration::from_secs(3);

/// How far apart the first resets of the reset check's calls go out.
const RESETS_APART: Duration = Duration::from_millis(10);

/// How long the server holds one answer that asks for a second: a client that counts the
/// second from when it sent the request comes back this much too soon.
const ASKED_HELD: Duration = Duration::from_millis(150);

/// Client errors every client agrees are not worth a retry (408 and 429 are grey: many clients
/// retry them, and the lesson says so; they are never sent).
const FOUR_XX: [u16; 11] = [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 451];

const FIVE_XX: [u16; 4] = [500, 502, 503, 504];

/// Rarer 5xx, each as much a server's failure of the moment as a 503: "any 5xx" reaches them
/// too. Never 501 or 505, which the lesson says many clients rightly do not retry; 599 is sent
/// every run, beside one of the rest.
const RARE_5XX: [u16; 8] = [507, 509, 520, 521, 522, 523, 524, 598];

const UNREADABLE_VALUES: [&str; 8] = ["+1", "1.5", "soon", "-1", "1s", "1e0", " 1 1", "0x1"];

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn policy(max_attempts: u32, base: Duration, max: Duration) -> RetryPolicy {
    RetryPolicy { max_attempts, base_delay: base, max_delay: max }
}

fn scripted(script: Vec<Step>, policy: RetryPolicy) -> Planned {
    Planned { target: Target::Scripted, script, policy, first_held: Duration::ZERO }
}

fn refused(policy: RetryPolicy) -> Planned {
    Planned { target: Target::Refused, script: Vec::new(), policy, first_held: Duration::ZERO }
}

fn scenario(check: &'static str, calls: Vec<Planned>) -> Scenario {
    Scenario { check, calls, together: Together::Alone }
}

/// Draws every scenario but the herd's (see [`herd`]).
pub(super) fn draw(rng: &mut Rng) -> Vec<Scenario> {
    let five_xx = |rng: &mut Rng| *seed::pick(rng, &FIVE_XX);
    let failures = |rng: &mut Rng, count: usize| -> Vec<Step> {
        (0..count).map(|_| Step::Status(five_xx(rng))).collect()
    };
    let then_ok = |mut steps: Vec<Step>| {
        steps.push(Step::Status(200));
        steps
    };
    // A long base, so that a wait before the first attempt (a loop that sleeps at its top)
    // shows on calls that make one: jittered below base_delay, it runs past the bound on about
    // six calls in seven.
    let usual = policy(4, seed::duration_spread(rng, ms(400), ms(500)), ms(1_000));
    let each = |statuses: Vec<u16>| -> Vec<Planned> {
        statuses.into_iter().map(|status| scripted(vec![Step::Status(status)], usual)).collect()
    };
    let pick_distinct = |rng: &mut Rng, from: &[u16], count: usize| -> Vec<u16> {
        let mut statuses = from.to_vec();
        rng.shuffle(&mut statuses);
        statuses.truncate(count);
        statuses
    };
    let mut scenarios = vec![
        scenario(TWO_XX, each(pick_distinct(rng, &[200, 201, 202, 203, 204, 206], 2))),
        scenario(THREE_XX, each(pick_distinct(rng, &[301, 302, 303, 304, 307, 308], 2))),
        scenario(NEVER_4XX, each(pick_distinct(rng, &FOUR_XX, 5))),
    ];
    // 5xx and resets mixed, a reset in every run.
    let flaky = (0..3)
        .map(|call| {
            let count = rng.usize(1..=3);
            let steps = (0..count)
                .map(|at| {
                    let reset = (call, at) == (0, 0) || seed::chance(rng, 0.3);
                    if reset { Step::Reset } else { Step::Status(five_xx(rng)) }
                })
                .collect();
            scripted(then_ok(steps), policy(5, ms(30), ms(1_000)))
        })
        .collect::<Vec<_>>();
    // And a 5xx whose body never ends, every run: read without a limit, it holds the retry up
    // until the client's timeout (a second here, against a backoff of 30 ms).
    let mut flaky = flaky;
    flaky.push(scripted(then_ok(vec![Step::Endless(five_xx(rng))]), policy(5, ms(30), ms(1_000))));
    // And the rarer 5xx, every run: a client that retries only the usual four (or stops at
    // 598) returns one of them.
    let rare = *seed::pick(rng, &RARE_5XX);
    let mut rarer = vec![Step::Status(599), Step::Status(rare)];
    rng.shuffle(&mut rarer);
    flaky.push(scripted(then_ok(rarer), policy(5, ms(30), ms(1_000))));
    scenarios.push(scenario(FLAKY, flaky));
    let mut broken: Vec<Planned> = (0..2)
        .map(|_| {
            let attempts = rng.u32(3..=5);
            scripted(failures(rng, attempts as usize + 1), policy(attempts, ms(30), ms(200)))
        })
        .collect();
    // The backoff a retry after the last attempt would have is 600 ms to 800 ms here: a client
    // that sleeps it before returning is seen lingering (with full jitter, past the 150 ms
    // allowed four times in five per call).
    let long = seed::duration_spread(rng, ms(300), ms(400));
    broken.extend((0..3).map(|_| scripted(failures(rng, 3), policy(2, long, ms(2_000)))));
    scenarios.push(scenario(BROKEN, broken));
    // Waits of hundreds of milliseconds, so that a bound 20 % too high shows. Full jitter
    // stretched 1.2× breaks late(d) on about 8 % of the last waits (d of 600 to 800 ms) and 4 %
    // of the third ones: over sixty-four calls at once, about eight waits; none at all, about
    // once in 3,000 plays (equal jitter stretched alike breaks it twice as often). Four retries,
    // so that the last bound is eight times the first: a backoff that grows linearly reaches
    // half of it at most, and none of the sixty-four waits before that retry reach its bound.
    let base = seed::duration_spread(rng, ms(75), ms(100));
    let doubles =
        (0..64).map(|_| scripted(then_ok(failures(rng, 4)), policy(5, base, ms(2_000)))).collect();
    scenarios.push(Scenario { check: DOUBLES, calls: doubles, together: Together::Reaching });
    // Sixteen calls wait four times each at the cap: a wait 20 % past it breaks late(cap) on
    // one in twenty-four at a cap of 300 ms (full jitter stretched 1.2x: none of 64, one play
    // in fifteen), and waits drawn below a cap of their own never come within a tenth of it.
    let cap = seed::duration_spread(rng, ms(250), ms(350));
    let capped = (0..CAPPED_CALLS)
        .map(|_| scripted(then_ok(failures(rng, 6)), policy(7, cap.mul_f64(0.4), cap)))
        .collect();
    scenarios.push(Scenario { check: CAPPED, calls: capped, together: Together::Capped });
    let too_long_cap = ms(1_000) * rng.u32(1..=2);
    // A date among them, every run: a client that reads only seconds must not pass by luck.
    let mut too_long_values = [
        Asked::DateFar(date_form(rng)),
        *seed::pick(rng, &[Asked::Seconds(3), Asked::Seconds(7)]),
        Asked::Seconds(3_600),
        Asked::Seconds(u64::MAX),
        Asked::Huge("18446744073709551616"),
    ];
    rng.shuffle(&mut too_long_values);
    let too_long = FIVE_XX
        .iter()
        .cycle()
        .zip(too_long_values)
        .map(|(status, asked)| {
            scripted(then_ok(vec![Step::Asking(*status, asked)]), policy(4, ms(20), too_long_cap))
        })
        .collect();
    scenarios.push(scenario(TOO_LONG, too_long));
    let unreadable = UNREADABLE_VALUES
        .iter()
        .map(|value| {
            let step = Step::Asking(five_xx(rng), Asked::Unreadable(value));
            scripted(then_ok(vec![step]), usual)
        })
        .collect();
    scenarios.push(scenario(UNREADABLE, unreadable));
    // Both forms of "now" every run, each judged as a herd of its own: a client that waits its
    // backoff after one form but comes straight back after the other must not hide in the mix.
    let past = Asked::DatePast(date_form(rng));
    let d = spread_d(rng);
    let mut zero = herd_of(d, Step::Asking(503, Asked::Seconds(0)));
    zero.extend(herd_of(d, Step::Asking(503, past)));
    scenarios.push(spread(ZERO, zero));
    scenarios.push(scenario(
        RESET,
        (0..2).map(|_| scripted(vec![Step::Reset, Step::Status(200)], usual)).collect(),
    ));
    // Resets three in a row, waits of hundreds of milliseconds: the backoff is the same after a
    // transport failure as after a 5xx (a client that comes straight back after a reset
    // reaches none of its 72 bounds; full jitter reaches at least eight, all but once in a
    // million plays). Twenty-four calls, so that the reach before each retry is judged on its
    // own too: a backoff that does not grow after a reset reaches the first bound only. The
    // calls' first resets go out 10 ms apart: clients that come straight back at once would
    // crowd a busy machine until some of their retries seemed waited for.
    let base = seed::duration_spread(rng, ms(150), ms(200));
    let resets = (0..24)
        .map(|call| {
            let steps = vec![Step::Reset, Step::Reset, Step::Reset, Step::Status(200)];
            let first_held = RESETS_APART * call;
            Planned { first_held, ..scripted(steps, policy(4, base, ms(2_000))) }
        })
        .collect();
    scenarios.push(Scenario { check: RESET, calls: resets, together: Together::Reaching });
    // Every kind of network failure as a herd of its own: a server that restarts resets, times
    // out or refuses every client at once, and the backoff after it is jittered like any other
    // (a client that jitters after a 5xx only, or comes straight back after a refusal, is seen).
    scenarios.push(spread(RESET, herd_of(spread_d(rng), Step::Reset)));
    // Timeouts together, on a bound long enough that coming back at once shows, and shorter than
    // the client's timeout: a client that counts its backoff from sending has spent all of it
    // waiting for the answer, and retries at once.
    let d = seed::duration_spread(rng, ms(200), ms(280));
    let timed_out = (0..TIMED_OUT)
        .map(|_| scripted(vec![Step::Silence, Step::Status(200)], policy(3, d, d)))
        .collect();
    scenarios.push(Scenario { check: TIMEOUT, calls: timed_out, together: Together::TimedOut });
    scenarios.push(scenario(
        TIMEOUT,
        vec![scripted(vec![Step::Silence, Step::Status(200)], policy(4, ms(100), ms(1_000)))],
    ));
    scenarios.push(spread(TIMEOUT, herd_of(spread_d(rng), Step::Silence)));
    scenarios.push(scenario(REFUSED, vec![refused(policy(3, ms(100), ms(1_000)))]));
    let d = spread_d(rng);
    scenarios.push(spread(REFUSED, (0..HERD).map(|_| refused(policy(2, d, ms(2_000)))).collect()));
    // Two transport failures of different kinds, attempts run out: the error returned is the
    // last one (a timeout after a reset, a reset after a timeout), not the first.
    // Their next wait would be 0.6-0.8 s: a client that waits once more (jittered) after its last
    // attempt, an error, returns later than at once on about four calls in five, and on none of
    // three about once in 100 plays.
    let base = seed::duration_spread(rng, ms(300), ms(400));
    let mixed = |script: Vec<Step>| vec![scripted(script, policy(2, base, ms(1_000))); 3];
    scenarios.push(scenario(TIMEOUT, mixed(vec![Step::Reset, Step::Silence])));
    scenarios.push(scenario(RESET, mixed(vec![Step::Silence, Step::Reset])));
    // Past retry 32, 2^(n−1) no longer fits in a u32, and past 64 in a u64: the waits must stay
    // at the cap. One call goes past 64 by fifteen retries: full jitter's mean over fifteen
    // falls below a fifth of the cap, as `schedule::stays_at_cap` asks with the waits before
    // near half of it, about once in 30 000 plays.
    let long_haul = [35, 35, 79]
        .into_iter()
        .map(|retries| {
            scripted(then_ok(failures(rng, retries)), policy(retries as u32 + 1, ms(1), ms(24)))
        })
        .collect();
    scenarios.push(Scenario { check: LONG_HAUL, calls: long_haul, together: Together::StaysAtCap });
    // Hundreds of attempts, on bounds under a millisecond and a cap of one or two: a counter
    // of u8 wraps past 255, 2^(n−1) in a u128 of nanoseconds overflows past retry 128, and a
    // wait drawn modulo the bound in whole milliseconds divides by zero. Only the count and
    // what comes back are judged: the waits are too short for a busy machine to time.
    let many = rng.u32(260..=300);
    let base = Duration::from_micros(rng.u64(100..=900));
    let cap = Duration::from_micros(rng.u64(1_000..=2_000));
    let hundreds = scripted(failures(rng, many as usize), policy(many, base, cap));
    scenarios.push(Scenario {
        check: LONG_HAUL,
        calls: vec![hundreds],
        together: Together::Untimed,
    });
    // A base_delay above max_delay: every bound is max_delay, the first too (a client that
    // caps only after doubling waits up to base_delay first).
    let cap = seed::duration_spread(rng, ms(40), ms(60));
    let above = (0..4)
        .map(|_| {
            let base = cap.mul_f64(5.0 + 3.0 * rng.f64());
            scripted(then_ok(failures(rng, 2)), policy(3, base, cap))
        })
        .collect();
    scenarios.push(scenario(CAPPED, above));
    scenarios.push(scenario(ONCE, vec![scripted(failures(rng, 1), policy(1, ms(50), ms(1_000)))]));
    let unsendable = ["http://[::1", "ftp://127.0.0.1/file"]
        .into_iter()
        .map(|url| Planned {
            target: Target::Unsendable(url),
            script: Vec::new(),
            policy: policy(5, ms(300), ms(2_000)),
            first_held: Duration::ZERO,
        })
        .collect();
    scenarios.push(scenario(UNSENDABLE, unsendable));
    // A Retry-After shorter than the backoff's bound there: waited out, not swapped for a
    // backoff drawn below that bound. The bound is a little longer than what is asked (1.2 to
    // 1.5 s against 1 s), so that such a client comes back too soon on two calls in three at
    // least, and on none of twelve about once in 60,000 plays, a busy machine's lateness
    // included. (On a bound of 2-2.5 s, eight calls let it through one run in twenty of CI's:
    // a failure must hold in every play.)
    let long = seed::duration_spread(rng, ms(1_200), ms(1_500));
    let under = FIVE_XX
        .iter()
        .cycle()
        .take(12)
        .map(|status| {
            let steps = vec![Step::Asking(*status, Asked::Seconds(1)), Step::Status(200)];
            scripted(steps, policy(4, long, ms(3_000)))
        })
        .collect();
    scenarios.push(scenario(ASKED, under));
    // Waits from tens to hundreds of milliseconds: well above what a busy machine adds to every
    // one of them, so that a client that never grows cannot hide in that noise. The first ones
    // take the most (every call of the check starts at once): with bounds of 20 and 40 ms, two CPU
    // hogs made them 44 ms at the lower quartile, and a right client's capped waits (160 ms) did
    // not look twice as long.
    let growth =
        (0..6).map(|_| scripted(then_ok(failures(rng, 7)), policy(8, ms(40), ms(320)))).collect();
    scenarios.push(Scenario { check: GROWTH, calls: growth, together: Together::Growth });
    // Bounds of 120 to 300 ms: each wait's share of its bound shows above scheduling noise, so
    // that a share drawn once per call and reused for every wait of it is seen. The last three
    // retries are at the cap (their bounds uncapped: 2, 4 and 8 times base), so that a wait
    // drawn and then capped, or one left unjittered after the first retry, piles up there.
    let base = seed::duration_spread(rng, ms(120), ms(150));
    let afresh =
        (0..16).map(|_| scripted(then_ok(failures(rng, 4)), policy(5, base, base * 2))).collect();
    scenarios.push(Scenario { check: JITTER, calls: afresh, together: Together::Afresh });
    scenarios
}

/// What both processes play first, at once, beside the herd (whose failures are held back a
/// moment): the long waits a server asks for, one second and a date a second or so ahead, which
/// set how long the whole check takes. A client draws nothing for them, or draws alike in both
/// processes, before the herd draws.
pub(super) fn opening(rng: &mut Rng) -> Vec<Scenario> {
    // The backoff is as long as max_delay allows, so that one added on top of the wait asked
    // for shows, even where the machine runs late: full jitter runs past a bound 280 ms late on
    // about seven calls in ten, and on none of the four about once in 150 plays (once in 25,000
    // on an idle machine, whose bound is 80 ms late).
    let base = seed::duration_spread(rng, ms(800), ms(1_000));
    let asked = FIVE_XX
        .iter()
        .map(|status| {
            let steps = vec![Step::Asking(*status, Asked::Seconds(1)), Step::Status(200)];
            // max_delay is exactly the wait asked for: "longer than max_delay" it is not.
            scripted(steps, policy(4, base, ms(1_000)))
        })
        .collect::<Vec<_>>();
    // One of them is answered 150 ms after its request came: the second counts from then.
    let mut asked = asked;
    let held = rng.usize(0..asked.len());
    asked[held].first_held = ASKED_HELD;
    // Each answer's own Retry-After decides the wait after it: one asked for by the second
    // answer is waited out too, and a 5xx without one, after one that asked, is backed off as
    // usual (a base of 20 ms, so that a second taken for a backoff, or one remembered, shows).
    let (before, after) = (*seed::pick(rng, &FIVE_XX), *seed::pick(rng, &FIVE_XX));
    let ask = Step::Asking(503, Asked::Seconds(1));
    asked.extend([
        scripted(vec![Step::Status(before), ask, Step::Status(200)], policy(4, ms(20), ms(1_000))),
        scripted(vec![ask, Step::Status(after), Step::Status(200)], policy(4, ms(20), ms(1_000))),
    ]);
    // Two dates in each form a recipient must read, every run: IMF-fixdate, and the obsolete
    // RFC 850 and asctime forms. Each on three statuses of four, so that a client reading
    // Retry-After on one status only is seen. The backoff is long, and shorter than any date
    // asks for: one added on top of a date stays within its bound on all six calls about once
    // in 60,000 plays (full jitter, on an idle machine).
    let base = seed::duration_spread(rng, ms(550), ms(650));
    let date = DateForm::ALL
        .into_iter()
        .chain(DateForm::ALL)
        .zip({
            let (mut one, mut two) = (FIVE_XX, FIVE_XX);
            rng.shuffle(&mut one);
            rng.shuffle(&mut two);
            one.into_iter().take(3).chain(two)
        })
        .map(|(form, status)| {
            let step = Step::Asking(status, Asked::DateAhead(form));
            scripted(vec![step, Step::Status(200)], policy(4, base, ms(2_000)))
        })
        .collect();
    // Retry-After: 1 every time: still max_attempts requests.
    let counted =
        vec![scripted(vec![Step::Asking(503, Asked::Seconds(1))], policy(2, ms(20), ms(1_000)))];
    vec![scenario(ASKED, asked), scenario(DATE, date), scenario(COUNTS, counted), resumed(rng)]
}

/// How many calls [`resumed`] makes at once.
const RESUMED_CALLS: usize = 32;

/// Calls whose first 5xx asks for a second and whose second asks for nothing: the retry after
/// it is the call's second, due a backoff of `base_delay × 2` (the retry the server timed
/// counts), and over all of them the waits must reach as far as that. Bounds of 360 to 440 ms,
/// so that reaching 0.6 of them shows above a busy machine's lateness (a right client's waits
/// do on about a third of the calls beside two CPU hogs, and must on a tenth); a backoff one
/// doubling behind (its exponent not counting the retry the server timed) draws below half of
/// each bound and never reaches. They end within 1.5 s, before the dates.
fn resumed(rng: &mut Rng) -> Scenario {
    let base = seed::duration_spread(rng, ms(180), ms(220));
    let calls = (0..RESUMED_CALLS)
        .map(|_| {
            let (asking, after) = (*seed::pick(rng, &FIVE_XX), *seed::pick(rng, &FIVE_XX));
            let steps = vec![
                Step::Asking(asking, Asked::Seconds(1)),
                Step::Status(after),
                Step::Status(200),
            ];
            scripted(steps, policy(3, base, ms(2_000)))
        })
        .collect();
    Scenario { check: ASKED, calls, together: Together::Reaching }
}

/// What the second process plays once the herd has drawn: `Retry-After: 0` and dates past
/// every time, which send a client to its backoff (and its generator).
pub(super) fn draw_second(rng: &mut Rng) -> Vec<Scenario> {
    let now =
        if seed::chance(rng, 0.5) { Asked::Seconds(0) } else { Asked::DatePast(date_form(rng)) };
    let counts = vec![scripted(
        vec![
            Step::Asking(503, now),
            Step::Asking(500, Asked::Seconds(0)),
            Step::Asking(502, Asked::DatePast(date_form(rng))),
        ],
        policy(rng.u32(3..=4), ms(30), ms(1_000)),
    )];
    vec![scenario(COUNTS, counts)]
}

/// The herd of the jitter check, played in both processes at once before anything else, so
/// that a generator seeded with a constant draws the same numbers in both.
pub(super) fn herd(rng: &mut Rng) -> Scenario {
    let five_xx = *seed::pick(rng, &FIVE_XX);
    Scenario {
        check: JITTER,
        calls: spread_calls(rng, |_| Step::Status(five_xx)),
        together: Together::Spread,
    }
}

/// Calls that fail together, judged on the spread of their waits.
fn spread(check: &'static str, calls: Vec<Planned>) -> Scenario {
    Scenario { check, calls, together: Together::Spread }
}

/// A herd's backoff bound: long enough for a spread to show above what scheduling adds.
fn spread_d(rng: &mut Rng) -> Duration {
    seed::duration_spread(rng, ms(400), ms(600))
}

/// The form of an HTTP-date a server sends: any of the three a recipient must read.
fn date_form(rng: &mut Rng) -> DateForm {
    *seed::pick(rng, &DateForm::ALL)
}

/// [`HERD`] calls that fail together with `failure`, then succeed, with one backoff bound `d`.
fn herd_of(d: Duration, failure: Step) -> Vec<Planned> {
    (0..HERD).map(|_| scripted(vec![failure, Step::Status(200)], policy(3, d, ms(2_000)))).collect()
}

/// How many calls fail together in a herd: enough that equal jitter never draws all their
/// waits in a narrow band by chance (ten in [d/2, d] within 0.12 d: about once in 40 000).
const HERD: usize = 10;

/// How many calls the jitter herd has: a herd's ten, and two more, so that two honest
/// processes rank their waits alike, a swap or three apart, less than once in 300 000 plays
/// (`schedule::differ_between_processes_in_order`).
const TWIN_HERD: usize = 12;

/// [`TWIN_HERD`] calls that fail together, then succeed, with one backoff bound of about half a
/// second: long enough for a spread to show above what scheduling adds, and enough calls that
/// equal jitter never draws all their waits in a narrow band by chance.
fn spread_calls(rng: &mut Rng, failure: impl Fn(&mut Rng) -> Step) -> Vec<Planned> {
    let d = spread_d(rng);
    (0..TWIN_HERD)
        .map(|_| scripted(vec![failure(rng), Step::Status(200)], policy(3, d, ms(2_000))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_but_sleeps_has_a_scenario_and_each_draw_differs() {
        let mut rng = seed::rng(7);
        let mut checks: Vec<&str> = draw(&mut rng).iter().map(|scenario| scenario.check).collect();
        checks.extend(opening(&mut rng).iter().map(|scenario| scenario.check));
        checks.extend(draw_second(&mut rng).iter().map(|scenario| scenario.check));
        checks.push(herd(&mut rng).check);
        checks.push(SLEEPS);
        checks.sort_unstable();
        checks.dedup();
        let mut all = CHECKS.to_vec();
        all.sort_unstable();
        assert_eq!(checks, all);
        let far = Asked::DateFar(DateForm::Asctime);
        assert!(far.beyond(ms(2_000)) && !Asked::Seconds(1).beyond(ms(1_000)));
    }
}
