//! The rules as a model: where behaviour is a state machine (a circuit breaker, an idempotency
//! key's life, a retry budget), the lesson writes the rules once, as a small machine that says,
//! for each step of a scenario, whether what the learner's code did is acceptable now, and what
//! state that leads to. The judge drives the learner's code through generated scenarios,
//! records what happened, and checks the history against the model (as Jepsen's checkers do):
//! the first step the model does not accept is the failure, shown with the steps that led to it
//! since the model was last at rest, and no further back.

use std::fmt::Display;

/// The rules of a state machine.
pub trait Model: Clone {
    /// What the judge did at a step (a request, with what the dependency was told to do).
    type Step: Display;
    /// What came back, as the judge saw it (a status, a time, whether the dependency was asked).
    type Observed: Display;

    /// Whether `observed` is acceptable for `step` in this state: `Err` says why not.
    fn check(&self, step: &Self::Step, observed: &Self::Observed) -> Result<(), String>;

    /// The state after `step`, answered with the acceptable `observed`.
    fn advance(&mut self, step: &Self::Step, observed: &Self::Observed);

    /// Whether the machine is at rest (a closed breaker with no failure counted): a history is
    /// shown from the last step at rest before a divergence.
    fn at_rest(&self) -> bool;

    /// The state, in words, for a report.
    fn describe(&self) -> String;
}

/// The first step of a history that the model does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Its place in the history (from 0).
    pub at: usize,
    /// Why the model refuses it.
    pub why: String,
    /// The model's state just before it, in words.
    pub state: String,
    /// The steps from the last one at rest up to it, as `step → observed`, numbered.
    pub history: Vec<String>,
}

/// Checks `history` against `model`, from its initial state.
pub fn first_divergence<M: Model>(
    model: M,
    history: &[(M::Step, M::Observed)],
) -> Option<Divergence> {
    replay(model, history).divergence
}

/// A history checked against a model: the first divergence, and the model as it stood then.
#[derive(Debug, Clone)]
pub struct Replayed<M> {
    /// The model's state just before the first divergence, or after the whole history: a
    /// lesson asks it more (which rule was broken, which rules were seen to hold).
    pub model: M,
    pub divergence: Option<Divergence>,
}

/// Checks `history` against `model`, from its initial state, up to the first divergence.
pub fn replay<M: Model>(mut model: M, history: &[(M::Step, M::Observed)]) -> Replayed<M> {
    let mut rested_at = 0;
    for (at, (step, observed)) in history.iter().enumerate() {
        if model.at_rest() {
            rested_at = at;
        }
        if let Err(why) = model.check(step, observed) {
            let shown = history[rested_at..=at]
                .iter()
                .enumerate()
                .map(|(offset, (step, observed))| {
                    format!("{:>3}. {step} → {observed}", rested_at + offset + 1)
                })
                .collect();
            let state = model.describe();
            return Replayed {
                model,
                divergence: Some(Divergence { at, why, state, history: shown }),
            };
        }
        model.advance(step, observed);
    }
    Replayed { model, divergence: None }
}

/// The first divergence of each kind in `history` (`kind_of` gives a step's kind: the check it
/// belongs to, say), checked from the model's initial state. A step the model does not accept is
/// noted, and the model goes on from what was observed: one broken rule does not hide another.
pub fn divergences_by<M: Model, K: PartialEq>(
    mut model: M,
    history: &[(M::Step, M::Observed)],
    kind_of: impl Fn(usize) -> K,
) -> Vec<(K, Divergence)> {
    let mut found: Vec<(K, Divergence)> = Vec::new();
    let mut rested_at = 0;
    for (at, (step, observed)) in history.iter().enumerate() {
        if model.at_rest() {
            rested_at = at;
        }
        if let Err(why) = model.check(step, observed) {
            let kind = kind_of(at);
            if !found.iter().any(|(known, _)| *known == kind) {
                let shown = history[rested_at..=at]
                    .iter()
                    .enumerate()
                    .map(|(offset, (step, observed))| {
                        format!("{:>3}. {step} → {observed}", rested_at + offset + 1)
                    })
                    .collect();
                found.push((kind, Divergence { at, why, state: model.describe(), history: shown }));
            }
        }
        model.advance(step, observed);
    }
    found
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    /// A toy rule: after two failures in a row, answers are refused until a success is allowed.
    #[derive(Clone, Default)]
    struct TwoStrikes {
        failures: u32,
    }

    struct Asked(bool);
    struct Answered(&'static str);

    impl fmt::Display for Asked {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(if self.0 { "a failing request" } else { "a good request" })
        }
    }

    impl fmt::Display for Answered {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Model for TwoStrikes {
        type Step = Asked;
        type Observed = Answered;

        fn check(&self, _: &Asked, observed: &Answered) -> Result<(), String> {
            match (self.failures >= 2, observed.0) {
                (true, "refused") | (false, "ok" | "failed") => Ok(()),
                (true, _) => Err("after two failures every request is refused".into()),
                (false, _) => Err("nothing is refused before two failures".into()),
            }
        }

        fn advance(&mut self, step: &Asked, _: &Answered) {
            self.failures = if step.0 { self.failures + 1 } else { 0 };
        }

        fn at_rest(&self) -> bool {
            self.failures == 0
        }

        fn describe(&self) -> String {
            format!("{} failures in a row", self.failures)
        }
    }

    #[test]
    fn the_first_divergence_is_shown_from_the_last_rest() {
        let history = vec![
            (Asked(true), Answered("failed")),
            (Asked(false), Answered("ok")),
            (Asked(true), Answered("failed")),
            (Asked(true), Answered("failed")),
            (Asked(false), Answered("ok")),
        ];
        let divergence = first_divergence(TwoStrikes::default(), &history).unwrap();
        assert_eq!(divergence.at, 4);
        assert_eq!(divergence.state, "2 failures in a row");
        assert_eq!(
            divergence.history,
            [
                "  3. a failing request → failed",
                "  4. a failing request → failed",
                "  5. a good request → ok"
            ]
        );
        assert_eq!(first_divergence(TwoStrikes::default(), &history[..4]), None);
    }

    #[test]
    fn a_replay_keeps_the_model_as_it_stood_at_the_divergence() {
        let history = vec![
            (Asked(true), Answered("failed")),
            (Asked(true), Answered("failed")),
            (Asked(true), Answered("ok")),
        ];
        let replayed = replay(TwoStrikes::default(), &history);
        assert_eq!(replayed.divergence.map(|divergence| divergence.at), Some(2));
        assert_eq!(replayed.model.failures, 2);
        let whole = replay(TwoStrikes::default(), &history[..2]);
        assert_eq!((whole.divergence, whole.model.failures), (None, 2));
    }

    #[test]
    fn each_kind_of_divergence_is_found_past_the_first() {
        let history = vec![
            (Asked(true), Answered("failed")),
            (Asked(true), Answered("ok")),
            (Asked(true), Answered("failed")),
            (Asked(false), Answered("failed")),
            (Asked(false), Answered("ok")),
        ];
        // Steps 1 and 2 (from 0) are of kind "second", the rest of kind "first".
        let found = divergences_by(TwoStrikes::default(), &history, |at| {
            if (1..=2).contains(&at) { "second" } else { "first" }
        });
        let kinds: Vec<(&str, usize)> =
            found.iter().map(|(kind, divergence)| (*kind, divergence.at)).collect();
        assert_eq!(kinds, [("second", 2), ("first", 3)]);
    }
}
