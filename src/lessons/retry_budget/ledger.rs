//! The budget's rules, written once as a [`Model`]: over any stretch of time, retries may add
//! `ratio` of the first attempts made, plus `min_per_second` for every second and one window
//! more (a budget that counts over a sliding window may spend its floor for a whole window at
//! once). A history of every request one client sent, in order, is checked against it.

use std::fmt;
use std::time::Duration;

use httplings::lessons::retry_budget::Budget;

use super::round::Made;
use crate::judge::bounds::millis;
use crate::judge::model::{Model, first_divergence};
use crate::judge::{Evidence, Failure};

/// Retries allowed past the arithmetic: a budget that rounds up, or one that counts a request
/// as first or retry a moment apart from when the judge's server sees it.
const SPARE: f64 = 2.0;

/// How much longer than its window a budget that counts in slots may remember (tower's counts
/// ten of them).
const SLOTS: f64 = 1.1;

/// A request one client sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Duration,
    pub call: usize,
    pub retry: bool,
}

impl fmt::Display for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.retry { "a retry" } else { "a first attempt" };
        write!(f, "+{}: {kind} of call {}", millis(self.at), self.call)
    }
}

/// The counts once a request is sent: first attempts and retries so far.
#[derive(Debug, Clone)]
pub struct Counted {
    pub first: usize,
    pub retries: usize,
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} first attempts, {} retries", self.first, self.retries)
    }
}

#[derive(Debug, Clone)]
pub struct Ledger {
    budget: Budget,
    first: u32,
    retries: u32,
}

impl Ledger {
    pub fn new(budget: Budget) -> Self {
        Self { budget, first: 0, retries: 0 }
    }

    fn allowed(&self, at: Duration) -> f64 {
        let seconds = at.as_secs_f64() + self.budget.window.as_secs_f64() * SLOTS;
        self.budget.ratio * f64::from(self.first)
            + f64::from(self.budget.min_per_second) * seconds
            + SPARE
    }
}

impl Model for Ledger {
    type Step = Sent;
    type Observed = Counted;

    fn check(&self, sent: &Sent, _: &Counted) -> Result<(), String> {
        let allowed = self.allowed(sent.at);
        if sent.retry && f64::from(self.retries + 1) > allowed {
            return Err(format!(
                "retry {} at +{}, after {} first attempts: the budget allows at most {:.0} by then \
                 ({:.2} × {} first attempts + {}/s × {:.1} s, + {SPARE} spare)",
                self.retries + 1,
                millis(sent.at),
                self.first,
                allowed.floor(),
                self.budget.ratio,
                self.first,
                self.budget.min_per_second,
                sent.at.as_secs_f64() + self.budget.window.as_secs_f64() * SLOTS,
            ));
        }
        Ok(())
    }

    fn advance(&mut self, sent: &Sent, _: &Counted) {
        if sent.retry {
            self.retries += 1;
        } else {
            self.first += 1;
        }
    }

    fn at_rest(&self) -> bool {
        self.first == 0 && self.retries == 0
    }

    fn describe(&self) -> String {
        format!("{} first attempts and {} retries so far", self.first, self.retries)
    }
}

/// Every request of a client's calls, in the order the server saw them.
pub fn history(calls: &[Made]) -> Vec<(Sent, Counted)> {
    let mut sent: Vec<Sent> = calls
        .iter()
        .enumerate()
        .flat_map(|(call, made)| {
            made.attempts.iter().enumerate().map(move |(n, attempt)| Sent {
                at: attempt.at,
                call,
                retry: n > 0,
            })
        })
        .collect();
    sent.sort_by_key(|sent| sent.at);
    let (mut first, mut retries) = (0, 0);
    sent.into_iter()
        .map(|sent| {
            if sent.retry {
                retries += 1;
            } else {
                first += 1;
            }
            (sent, Counted { first, retries })
        })
        .collect()
}

/// The first retry the budget did not allow, as a failure.
pub fn judge(how: &str, budget: Budget, calls: &[Made]) -> Option<Failure> {
    let history = history(calls);
    let divergence = first_divergence(Ledger::new(budget), &history)?;
    let first = history.iter().filter(|(sent, _)| !sent.retry).count();
    let retries = history.len() - first;
    let shown: Vec<&str> =
        divergence.history.iter().rev().take(10).rev().map(String::as_str).collect();
    Some(
        Failure::of(format!(
            "{} calls {how}: the server saw {first} first attempts and {retries} retries; {}",
            calls.len(),
            divergence.why
        ))
        .with(Evidence::Text {
            title: format!("the last requests before it ({})", divergence.state),
            body: shown.join("\n"),
        }),
    )
}

/// For a budget with no floor, all calls together: retries may add `ratio` of the first
/// attempts, rounded down, and not one more. Judged on the totals, so that no request's moment
/// matters (a call deposits before the server sees its first attempt), and with no spare: a
/// sliding window only ever forgets, so however the calls spread over it, the retries stay
/// within `ratio` of the first attempts. A budget that rounds up, or allows one retry past its
/// share, overshoots here.
pub fn totals(how: &str, budget: Budget, calls: &[Made]) -> Option<Failure> {
    if budget.min_per_second != 0 {
        return None;
    }
    let first = calls.iter().filter(|made| !made.attempts.is_empty()).count();
    let retries: usize = calls.iter().map(|made| made.attempts.len().saturating_sub(1)).sum();
    // The product of a ratio and a count can land a hair below a whole number it equals.
    let allowed = (budget.ratio * first as f64 + 1e-9).floor() as usize;
    (retries > allowed).then(|| {
        Failure::of(format!(
            "{} calls {how}, with no floor: the server saw {first} first attempts and {retries} \
             retries in all, where the budget allows {allowed} ({:.2} × {first}, rounded down: a \
             retry is a whole one or none)",
            calls.len(),
            budget.ratio
        ))
    })
}
