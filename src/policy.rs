//! [`RetryPolicy`]: how hard a client tries before it gives up (lesson 3).

use std::time::Duration;

/// How many attempts a retrying client makes and how long it waits between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included: `1` never retries.
    pub max_attempts: u32,
    /// The wait before the first retry; each later retry waits twice as long as the one before.
    pub base_delay: Duration,
    /// No wait is ever longer than this, nor is a server's `Retry-After` that asks for more.
    pub max_delay: Duration,
}
