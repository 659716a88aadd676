//! [`RetryPolicy`]: how hard a client tries before it gives up (lesson 3); [`BreakerPolicy`]:
//! when a circuit breaker opens, and for how long (lesson 5); [`Limits`]: how much work a
//! service takes on at once and per client (lesson 8); [`RetryBudget`]: how many retries a
//! client may add on top of its first attempts (lesson 9).

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

/// How much a service takes on before it refuses work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How many calls to the backend may run at once, all clients together.
    pub max_in_flight: usize,
    /// How many requests one client may make per `window`.
    pub per_client: u32,
    /// The window a client's quota counts over.
    pub window: Duration,
}

/// How many retries a client may send on top of its first attempts, across all its calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    /// Retries allowed per first attempt: 0.1 lets retries add at most 10 % to the load.
    pub ratio: f64,
    /// Retries allowed per second whatever the ratio says, so that a client that makes few
    /// calls can still retry some.
    pub min_per_second: u32,
    /// How far back first attempts and retries count.
    pub window: Duration,
}
