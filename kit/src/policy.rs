//! [`RetryPolicy`]: how hard a client tries before it gives up (lesson 3); [`BreakerPolicy`]:
//! when a circuit breaker opens, and for how long (lesson 5).

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

/// When a circuit breaker stops calling a failing dependency, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before it lets one trial request through.
    pub cooldown: Duration,
}
