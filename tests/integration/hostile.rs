//! Hostile and broken learner code: the runner survives it and says what happened.
