//! What lesson 3's rules demand of one call: how many attempts, what it returns, and the wait
//! before each retry (the backoff's bound, or what the server's `Retry-After` asked).

use std::time::Duration;

use httplings::RetryPolicy;

use super::plan::{Asked, Planned, Step, Target};
use crate::judge::schedule::{Wait, backoff, date_asked};
use crate::judge::upstream::Seen;

/// What a call must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Expected {
    /// Requests (or, for a refused target, connection attempts) in all.
    pub(super) attempts: usize,
    pub(super) returns: Returns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Returns {
    /// The last response, as it came.
    Response,
    /// The last error (or, with no request at all, the error that kept one from being sent).
    Error,
}

/// The step a script gives attempt `attempt` (1 for the first).
pub(super) fn step(planned: &Planned, attempt: usize) -> Option<Step> {
    let last = planned.script.len().checked_sub(1)?;
    Some(planned.script[(attempt - 1).min(last)])
}

pub(super) fn expected(planned: &Planned) -> Expected {
    let most = planned.policy.max_attempts.max(1) as usize;
    match planned.target {
        Target::Unsendable(_) => return Expected { attempts: 0, returns: Returns::Error },
        Target::Refused => return Expected { attempts: most, returns: Returns::Error },
        Target::Scripted => {}
    }
    for attempt in 1..=most {
        let last = attempt == most;
        let returns = match step(planned, attempt).expect("a scripted call has a script") {
            Step::Status(status) if status < 500 || last => Some(Returns::Response),
            Step::Endless(_) if last => Some(Returns::Response),
            Step::Asking(_, asked) if last || asked.beyond(planned.policy.max_delay) => {
                Some(Returns::Response)
            }
            Step::Reset | Step::Silence if last => Some(Returns::Error),
            _ => None,
        };
        if let Some(returns) = returns {
            return Expected { attempts: attempt, returns };
        }
    }
    unreachable!("the last attempt always returns")
}

/// The wait before retry `retry` (1 for the first), after the attempt before it got `step`,
/// as the judge's server saw it (`seen`: a date is chosen when the request arrives, so the wait
/// it asks for is known only once it did).
pub(super) fn wait_before(
    retry: usize,
    step: Step,
    seen: Option<&Seen>,
    policy: &RetryPolicy,
) -> Option<Wait> {
    Some(match step {
        // No retry is due: whatever came next is judged as one request too many.
        Step::Asking(_, asked) if asked.beyond(policy.max_delay) => return None,
        Step::Asking(_, Asked::Seconds(seconds)) if seconds > 0 => {
            let (asked, longest) = (Duration::from_secs(seconds), backoff(policy, retry as u32));
            if asked < longest {
                Wait::AskedUnderBackoff(asked, longest)
            } else {
                Wait::Asked(asked)
            }
        }
        Step::Asking(_, Asked::DateAhead(_)) => Wait::Asked(date_asked(seen?)?),
        // 0, a date past, a value nobody can read, or no Retry-After at all: the usual backoff.
        _ => Wait::Backoff(backoff(policy, retry as u32)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(script: Vec<Step>, max_attempts: u32, max_delay: u64) -> Planned {
        Planned {
            target: Target::Scripted,
            script,
            policy: RetryPolicy {
                max_attempts,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(max_delay),
            },
            first_held: Duration::ZERO,
        }
    }

    #[test]
    fn a_5xx_is_retried_until_attempts_run_out_and_a_long_retry_after_ends_the_call() {
        let broken = expected(&planned(vec![Step::Status(500)], 3, 1_000));
        assert_eq!(broken, Expected { attempts: 3, returns: Returns::Response });
        let far = Asked::DateFar(crate::judge::http_date::DateForm::Rfc850);
        let far = planned(vec![Step::Asking(503, far), Step::Status(200)], 4, 2_000);
        assert_eq!(expected(&far).attempts, 1);
        let reset = expected(&planned(vec![Step::Reset], 2, 1_000));
        assert_eq!(reset, Expected { attempts: 2, returns: Returns::Error });
        let answered = expected(&planned(vec![Step::Asking(503, Asked::Seconds(1))], 2, 1_000));
        assert_eq!(answered, Expected { attempts: 2, returns: Returns::Response });
    }
}
