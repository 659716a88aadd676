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
    confirmed_quiet(|play| {
        let play = scenario(play);
        async { Some((play.await, false)) }
    })
    .await
}

/// [`confirmed`], for a scenario whose later plays ask again only what the last one found
/// wrong: the failure reported is the last play's, which repeated in every play. The first
/// play's may be one a busy moment made, beside the one that repeats.
pub async fn confirmed_narrowing<F, Play>(mut scenario: F) -> Option<Failure>
where
    F: FnMut(u32) -> Play,
    Play: Future<Output = Option<Failure>>,
{
    let last = std::cell::RefCell::new(None);
    confirmed(|play| {
        let play = scenario(play);
        let last = &last;
        async move {
            let failure = play.await;
            last.replace(failure.clone());
            failure
        }
    })
    .await?;
    let mut failure = last.into_inner()?;
    seen_in_each(&mut failure, PLAYS);
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
        seen_in_each(failure, PLAYS);
    }
    Ok(failing)
}

/// Says in `failure` that it repeated in each of `plays` plays.
pub fn seen_in_each(failure: &mut Failure, plays: u32) {
    failure.summary.push_str(&format!(" (seen in each of {plays} plays)"));
}

/// What made a scenario fail: a rule broken in a way no busy machine can cause (a panic, a call
/// still running long after its deadline), something that might be a matter of timing, or
/// waits too long on a machine so late meanwhile that they tell nothing
/// ([`crate::judge::bounds::Lateness::too_busy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Rule,
    Timing,
    Busy,
}

/// How many failures played on a machine too busy to tell a scenario may set aside before one
/// counts: the plays a right answer gets to show itself on a quieter moment.
pub const BUSY_FAILURES: u32 = 3;

/// The one loop of plays every single-check confirmation runs, for a scenario that says what
/// caused its failure: one of [`Cause::Rule`] is believed at once (playing it again would only
/// take time, however long the calls waited); one of [`Cause::Timing`] is played again until
/// seen in [`PLAYS`] plays; one of [`Cause::Busy`] is set aside and played again,
/// [`BUSY_FAILURES`] times at most, after which it counts as one of timing. A pass a busy
/// machine could have made is set aside, [`BUSY_PASSES`] times at most. `None` from a play
/// (nothing could be judged) ends it. The failure reported is the first that counted, with how
/// many plays it took.
pub async fn confirmed_by_cause<F, Play>(mut scenario: F) -> Option<Failure>
where
    F: FnMut(u32) -> Play,
    Play: Future<Output = Option<(Option<(Failure, Cause)>, bool)>>,
{
    let mut counted = None;
    let (mut failed, mut busy_passes, mut busy_failures) = (0, 0, 0);
    for play in 0..PLAYS + BUSY_FAILURES + BUSY_PASSES {
        match scenario(play).await? {
            (Some((failure, Cause::Rule)), _) => return Some(failure),
            (Some((failure, cause)), _) => {
                busy_failures += u32::from(cause == Cause::Busy);
                if cause == Cause::Busy && busy_failures <= BUSY_FAILURES {
                    continue;
                }
                counted.get_or_insert(failure);
                failed += 1;
                if failed == PLAYS {
                    break;
                }
            }
            (None, true) if busy_passes < BUSY_PASSES => busy_passes += 1,
            (None, _) => return None,
        }
    }
    let mut failure = counted?;
    let failing = failed + busy_failures.min(BUSY_FAILURES);
    let plays = failing + busy_passes;
    let seen = match (busy_passes, busy_failures) {
        (0, 0) => format!("seen in each of {plays} plays"),
        (0, busy) => {
            format!("seen in each of {plays} plays, {busy} of them on a machine too busy to tell")
        }
        (_, 0) => format!(
            "seen in {failing} of {plays} plays; the others passed on a machine too busy to tell"
        ),
        (passes, busy) => format!(
            "seen in {failing} of {plays} plays, {busy} of them on a machine too busy to tell; \
             the other {passes} passed on one"
        ),
    };
    failure.summary.push_str(&format!(" ({seen})"));
    Some(failure)
}

/// [`confirmed`] for a scenario that decides several checks at once: it is played again while
/// any of them fails, up to [`PLAYS`] times, and a check is reported failed only if it failed
/// in every play (with its first play's failure); one that passed once passes. A check a replay
/// leaves out (one that is not about timing, and that a replay could not judge the same way)
/// keeps its first verdict.
pub async fn confirmed_checks<F, Play>(mut scenario: F) -> Vec<(&'static str, Option<Failure>)>
where
    F: FnMut(u32) -> Play,
    Play: Future<Output = Vec<(&'static str, Option<Failure>)>>,
{
    let scenario = |play| {
        let play = scenario(play);
        async { (play.await, Vec::new()) }
    };
    confirmed_checks_quiet(scenario).await
}

/// [`confirmed_checks`], for a scenario whose plays also say which checks' passes a busy
/// machine could have made (as [`confirmed_quiet`] does for one check): such a pass is set
/// aside and the scenario played again, [`BUSY_PASSES`] times at most for each check.
pub async fn confirmed_checks_quiet<F, Play>(
    mut scenario: F,
) -> Vec<(&'static str, Option<Failure>)>
where
    F: FnMut(u32) -> Play,
    Play: Future<Output = (Vec<(&'static str, Option<Failure>)>, Vec<&'static str>)>,
{
    let (decided, busy) = scenario(0).await;
    let mut tallies: Vec<Tally> =
        decided.iter().map(|(check, _)| Tally { check, ..Tally::default() }).collect();
    for tally in &mut tallies {
        tally.count(&decided, &busy);
    }
    let mut plays = 1;
    while plays < PLAYS + BUSY_PASSES && tallies.iter().any(|tally| !tally.settled) {
        let (decided, busy) = scenario(plays).await;
        for tally in tallies.iter_mut().filter(|tally| !tally.settled) {
            tally.count(&decided, &busy);
        }
        plays += 1;
    }
    tallies.into_iter().map(|tally| (tally.check, tally.verdict())).collect()
}

/// One check's plays so far, for [`confirmed_checks_quiet`].
#[derive(Default)]
struct Tally {
    check: &'static str,
    first: Option<Failure>,
    failed: u32,
    busy_passes: u32,
    /// Whether its verdict is known: a quiet pass, one busy pass too many, [`PLAYS`] failures,
    /// or a play that left it out.
    settled: bool,
    passed: bool,
}

impl Tally {
    fn count(&mut self, decided: &[(&'static str, Option<Failure>)], busy: &[&'static str]) {
        let Some((_, failure)) = decided.iter().find(|(check, _)| *check == self.check) else {
            self.settled = true;
            return;
        };
        match failure {
            Some(failure) => {
                self.first.get_or_insert_with(|| failure.clone());
                self.failed += 1;
                self.settled = self.failed == PLAYS;
            }
            None if busy.contains(&self.check) && self.busy_passes < BUSY_PASSES => {
                self.busy_passes += 1;
            }
            None => (self.settled, self.passed) = (true, true),
        }
    }

    fn verdict(self) -> Option<Failure> {
        let mut failure = self.first.filter(|_| !self.passed)?;
        match (self.failed, self.busy_passes) {
            (1, _) => {}
            (failed, 0) => seen_in_each(&mut failure, failed),
            (failed, busy) => failure.summary.push_str(&format!(
                " (seen in {failed} of {} plays; the others passed on a machine too busy to tell)",
                failed + busy
            )),
        }
        Some(failure)
    }
}

/// How many passes played on a busy machine a scenario may set aside before one is believed:
/// the plays a wrong answer gets to show itself on a quieter moment.
pub const BUSY_PASSES: u32 = 2;

/// [`confirmed`], for a scenario that a busy moment can make pass as well as fail (a wait too
/// long hides in the lateness a busy moment is allowed). Each play gives its verdict and whether
/// the machine was too busy meanwhile for a pass to tell. A pass on a quiet play is believed at
/// once; one on a busy play is set aside and the scenario played again, [`BUSY_PASSES`] times
/// at most, after which a pass is believed however busy. A failure is reported once it was seen
/// in [`PLAYS`] plays, the busy passes between not counted against it, with how many plays it
/// took. `None` from a play (nothing could be judged) ends it.
pub async fn confirmed_quiet<F, Play>(mut scenario: F) -> Option<Failure>
where
    F: FnMut(u32) -> Play,
    Play: Future<Output = Option<(Option<Failure>, bool)>>,
{
    confirmed_by_cause(|play| {
        let play = scenario(play);
        async {
            let (failure, busy) = play.await?;
            Some((failure.map(|failure| (failure, Cause::Timing)), busy))
        }
    })
    .await
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
    async fn a_narrowing_scenario_reports_what_repeated_and_not_what_came_first() {
        let said = |play: u32| if play == 0 { "a late" } else { "b wrong" };
        let first = confirmed(|play| async move { Some(Failure::of(said(play))) }).await;
        assert_eq!(first.unwrap().summary, "a late (seen in each of 3 plays)");
        let last = confirmed_narrowing(|play| async move { Some(Failure::of(said(play))) }).await;
        assert_eq!(last.unwrap().summary, "b wrong (seen in each of 3 plays)");
        let once = confirmed_narrowing(|play| async move { (play < 2).then(|| Failure::of("x")) });
        assert_eq!(once.await, None);
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

    #[tokio::test]
    async fn a_broken_rule_is_believed_at_once_and_a_timing_only_when_it_repeats() {
        let mut plays = 0;
        let rule = confirmed_by_cause(|_| {
            plays += 1;
            async { Some((Some((Failure::of("panicked"), Cause::Rule)), false)) }
        })
        .await;
        assert_eq!((rule.unwrap().summary.as_str(), plays), ("panicked", 1));
        let timing = confirmed_by_cause(|play| async move {
            Some(((play == 0).then(|| (Failure::of("late"), Cause::Timing)), false))
        })
        .await;
        assert_eq!(timing, None);
        // A play after a failure that passes only because the machine was busy is set aside.
        let hidden = confirmed_by_cause(|play| async move {
            Some(match play {
                1 => (None, true),
                _ => (Some((Failure::of("short"), Cause::Timing)), false),
            })
        })
        .await;
        assert_eq!(
            hidden.unwrap().summary,
            "short (seen in 3 of 4 plays; the others passed on a machine too busy to tell)"
        );
    }

    #[tokio::test]
    async fn a_failure_on_a_machine_too_busy_to_tell_is_set_aside_a_few_times() {
        let busy = || Some((Some((Failure::of("late, busy"), Cause::Busy)), false));
        // A right answer held up by a busy machine, then judged on a quieter moment.
        let right = confirmed_by_cause(|play| async move {
            if play < BUSY_FAILURES { busy() } else { Some((None, false)) }
        })
        .await;
        assert_eq!(right, None);
        // A wrong answer: busy failures, then quiet ones, and the quiet one is reported.
        let wrong = confirmed_by_cause(|play| async move {
            match play {
                0 | 2 => busy(),
                _ => Some((Some((Failure::of("late, quiet"), Cause::Timing)), false)),
            }
        })
        .await;
        assert_eq!(
            wrong.unwrap().summary,
            "late, quiet (seen in each of 5 plays, 2 of them on a machine too busy to tell)"
        );
        // A machine busy all along: past the plays set aside, busy failures count.
        let mut plays = 0;
        let always = confirmed_by_cause(|_| {
            plays += 1;
            async move { busy() }
        })
        .await;
        assert_eq!(plays, BUSY_FAILURES + PLAYS);
        assert_eq!(
            always.unwrap().summary,
            "late, busy (seen in each of 6 plays, 6 of them on a machine too busy to tell)"
        );
    }

    #[tokio::test]
    async fn a_pass_on_a_busy_machine_is_played_again_and_a_quiet_one_is_believed() {
        let late = || Some(Failure::of("late"));
        // Busy passes, then failures: the failure shows on the quieter plays.
        let hidden = confirmed_quiet(|play| async move {
            Some(if play < 2 { (None, true) } else { (late(), false) })
        })
        .await;
        assert_eq!(
            hidden.unwrap().summary,
            "late (seen in 3 of 5 plays; the others passed on a machine too busy to tell)"
        );
        let always = confirmed_quiet(|_| async move { Some((late(), true)) }).await;
        assert_eq!(always.unwrap().summary, "late (seen in each of 3 plays)");
        // A quiet pass is believed, and so is the third busy one.
        let mut plays = 0;
        let quiet = confirmed_quiet(|play| {
            plays += 1;
            async move { Some(if play == 0 { (late(), false) } else { (None, false) }) }
        })
        .await;
        assert_eq!((quiet, plays), (None, 2));
        let mut plays = 0;
        let busy = confirmed_quiet(|_| {
            plays += 1;
            async { Some((None, true)) }
        })
        .await;
        assert_eq!((busy, plays), (None, 3));
    }

    #[tokio::test]
    async fn each_check_of_a_scenario_fails_only_if_it_failed_in_every_play() {
        let decided = confirmed_checks(|play| async move {
            let mut decided = vec![
                ("steady", Some(Failure::of("wrong"))),
                ("flaky", (play == 0).then(|| Failure::of("late"))),
                ("fine", None),
            ];
            if play == 0 {
                decided.push(("once", Some(Failure::of("judged once"))));
            }
            decided
        })
        .await;
        assert_eq!(decided[0].1.as_ref().unwrap().summary, "wrong (seen in each of 3 plays)");
        assert_eq!((decided[1].1.as_ref(), decided[2].1.as_ref()), (None, None));
        assert!(decided[3].1.is_some());
    }

    #[tokio::test]
    async fn of_several_checks_a_busy_pass_is_played_again_and_the_others_keep_their_verdict() {
        let late = || Some(Failure::of("late"));
        let mut plays = 0;
        let decided = confirmed_checks_quiet(|play| {
            plays += 1;
            async move {
                // "gateway" passes on two busy plays, then fails; "quick" passes at once;
                // "fresh" fails in the first play and is left out of the others.
                let gateway = if play < 2 { None } else { late() };
                let mut decided = vec![("gateway", gateway), ("quick", None)];
                if play == 0 {
                    decided.push(("fresh", Some(Failure::of("in step"))));
                }
                (decided, if play < 2 { vec!["gateway"] } else { Vec::new() })
            }
        })
        .await;
        let summaries: Vec<(&str, Option<String>)> = decided
            .into_iter()
            .map(|(check, failure)| (check, failure.map(|failure| failure.summary)))
            .collect();
        assert_eq!(
            summaries,
            [
                (
                    "gateway",
                    Some(
                        "late (seen in 3 of 5 plays; the others passed on a machine too busy to \
                         tell)"
                            .to_string()
                    )
                ),
                ("quick", None),
                ("fresh", Some("in step".to_string())),
            ]
        );
        assert_eq!(plays, 5);
        // Busy passes alone are believed once they are one too many; a quiet pass at once.
        let mut plays = 0;
        let busy = confirmed_checks_quiet(|_| {
            plays += 1;
            async { (vec![("gateway", None)], vec!["gateway"]) }
        })
        .await;
        assert_eq!((busy, plays), (vec![("gateway", None)], BUSY_PASSES + 1));
        let failing_then_quiet = confirmed_checks_quiet(|play| async move {
            (vec![("gateway", if play == 0 { late() } else { None })], Vec::new())
        })
        .await;
        assert_eq!(failing_then_quiet, vec![("gateway", None)]);
    }
}
