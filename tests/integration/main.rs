//! httplings' integration tests, in one crate: every lesson's judge proven in process against
//! its reference solution, its starter, good answers in other styles and known-wrong answers;
//! and the real runner binary driven in scratch copies of the course ([`support`]).

mod support;

mod bad_gateway;
mod circuit_breaker;
mod class;
mod cli;
mod deadlines;
mod dev;
mod forging;
mod generic_500;
mod hostile;
mod idempotency_key;
mod learner_loop;
mod overload;
mod request_ids;
mod retry_after;
mod retry_budget;
mod retry_on_5xx;
#[cfg(target_os = "linux")]
mod sandbox;
