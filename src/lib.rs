//! The httplings library: what the exercises program against ([`fixtures`], [`RetryPolicy`]),
//! the [`adapter`] that runs a learner's module in a process of its own, and the [`judge`] that
//! decides every verdict from outside it, with each lesson's checks in [`lessons`].

pub mod adapter;
pub mod capture;
pub mod cpu;
pub mod fixtures;
pub mod judge;
pub mod lessons;
mod policy;
pub mod protocol;

pub use policy::{BreakerPolicy, RetryPolicy};
