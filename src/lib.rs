//! The httplings harness: what the exercise builds link against.
//!
//! Exercises program against [`fixtures::Database`] and [`RetryPolicy`]. Each exercise (and
//! each solution) builds as a small check target whose `main` hands the learner's module to
//! its lesson's checks in [`lessons`]; the check process reports [`protocol::Message`]s that
//! the `httplings` runner turns into a report.

pub mod fixtures;
mod harness;
pub mod lessons;
mod policy;
pub mod protocol;

pub use harness::Recorder;
pub use policy::RetryPolicy;
