//! httplings' integration tests, in one crate: the real runner binary driven in scratch copies
//! of the course ([`support`]), and every lesson's checks proven against its reference
//! solution and against known-wrong implementations written to be caught.

mod support;

mod cli;
mod generic_500;
mod hostile;
mod learner_loop;
mod retry_after;
mod retry_on_5xx;
