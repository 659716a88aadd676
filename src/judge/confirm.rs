//! Confirm before failing: a timing verdict that fails is played again, from scratch, before it
//! is reported. Learners' machines are busy (an IDE, rust-analyzer, a browser): one wait
//! stretched by a load spike must not become a ✗. A failure that repeats is a real one, and is
//! reported with how often it was seen.

use std::future::Future;

use super::Failure;

/// How many times a failing scenario is played in all before its failure is believed.
pub const PLAYS: u32 = 3;

/// Plays `scenario` (given the play's number, from 0), and again while it fails, up to [`PLAYS`]
/// times. `None` as soon as one play passes: a rule that held once under the judge's eyes holds
/// (a wrong answer fails every time, by construction of the scenarios); otherwise the first
/// play's failure, saying it repeated.
pub async fn confirmed<F, Play>(mut scenario: F) -> Option<Failure>
where
    F: FnMut(u32) -> Play,
    Play: Future<Output = Option<Failure>>,
{
    let first = scenario(0).await?;
    for play in 1..PLAYS {
        scenario(play).await?;
    }
    let mut failure = first;
    failure.summary.push_str(&format!(" (seen in each of {PLAYS} plays)"));
    Some(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_seen_once_is_not_reported_and_one_that_repeats_is() {
        let once = confirmed(|play| async move { (play == 0).then(|| Failure::of("late")) }).await;
        assert_eq!(once, None);
        let always = confirmed(|_| async { Some(Failure::of("late")) }).await;
        assert_eq!(always.unwrap().summary, "late (seen in each of 3 plays)");
    }
}
