//! Each lesson's half in the learner's process: the functions its exercise exports, the calls
//! the judge makes of them, and the [`Handler`](crate::adapter::Handler) that makes those calls.
//! The check targets in `src/bin/` hand the learner's functions to a lesson's `main`.

pub mod bad_gateway;
pub mod circuit_breaker;
pub mod deadlines;
pub mod generic_500;
pub mod idempotency_key;
pub mod overload;
pub mod request_ids;
pub mod retry_after;
pub mod retry_budget;
pub mod retry_on_5xx;
mod wire;
