//! httplings' kit: what an exercise binary links, and nothing of the judge's.
//!
//! - [`fixtures`] and the policies ([`RetryPolicy`], [`BreakerPolicy`]): what exercises program
//!   against;
//! - [`adapter`]: runs the learner's module in a sandboxed process of its own and answers the
//!   judge's calls with what that code returned; it decides nothing;
//! - [`protocol`]: what crosses between that process and the judge;
//! - [`lessons`]: each lesson's half on this side: the functions its exercise exports and how
//!   the adapter calls them.

pub mod adapter;
pub mod capture;
pub mod cpu;
pub mod fixtures;
pub mod lessons;
mod policy;
pub mod protocol;

pub use policy::{BreakerPolicy, Limits, RetryBudget, RetryPolicy};
