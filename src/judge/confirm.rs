//! Confirm before failing: a timing verdict that fails is played again, from scratch, before it
//! is reported. Learners' machines are busy (an IDE, rust-analyzer, a browser): one wait
//! stretched by a load spike must not become a ✗. A failure that repeats is a real one, and is
//! reported with how often it was seen.

use std::collections::BTreeMap;
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

/// The same for a scenario that decides several checks at once (a flood whose answers judge a
/// limit, its refusals and its latency): it returns the failures it saw, by check, and is played
/// again while any remains, up to [`PLAYS`] times. A check fails only when it failed in every
/// play, with its first play's failure; `Err` (a learner gone) ends the plays.
pub async fn confirmed_each<F, Play, E>(
    mut scenario: F,
) -> Result<BTreeMap<&'static str, Failure>, E>
where
    F: FnMut(u32) -> Play,
    Play: Future<Output = Result<BTreeMap<&'static str, Failure>, E>>,
{
    let mut failing = scenario(0).await?;
    for play in 1..PLAYS {
        if failing.is_empty() {
            break;
        }
        let again = scenario(play).await?;
        failing.retain(|check, _| again.contains_key(check));
    }
    for failure in failing.values_mut() {
        failure.summary.push_str(&format!(" (seen in each of {PLAYS} plays)"));
    }
    Ok(failing)
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

    #[tokio::test]
    async fn of_several_checks_only_those_failing_in_every_play_are_reported() {
        let plays = std::cell::Cell::new(0);
        let failing = confirmed_each(|play| {
            plays.set(plays.get() + 1);
            async move {
                let mut failures = BTreeMap::new();
                failures.insert("always", Failure::of("wrong"));
                if play == 0 {
                    failures.insert("once", Failure::of("late"));
                }
                Ok::<_, ()>(failures)
            }
        })
        .await
        .unwrap();
        assert_eq!(failing.keys().copied().collect::<Vec<_>>(), ["always"]);
        assert_eq!(failing["always"].summary, "wrong (seen in each of 3 plays)");
        assert_eq!(plays.get(), 3);
        let passing = confirmed_each(|_| async { Ok::<_, ()>(BTreeMap::new()) }).await.unwrap();
        assert!(passing.is_empty());
    }
}
