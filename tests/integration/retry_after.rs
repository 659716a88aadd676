//! Lesson 2's checks against its solution and known-wrong answers.
