//! Each lesson's checks, one module per lesson: what it serves, what it sends, and how it
//! judges the answers. Each module's `main` is what its check targets call.

pub mod generic_500;
pub mod retry_after;
pub mod retry_on_5xx;
