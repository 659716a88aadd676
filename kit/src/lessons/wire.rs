//! What more than one lesson sends over the control channel.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::RetryPolicy;

/// A [`RetryPolicy`] on the wire (lessons 6, 7 and 9 hand one to the learner's client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl From<RetryPolicy> for Policy {
    fn from(policy: RetryPolicy) -> Self {
        Self {
            max_attempts: policy.max_attempts,
            base_delay: policy.base_delay,
            max_delay: policy.max_delay,
        }
    }
}

impl From<Policy> for RetryPolicy {
    fn from(policy: Policy) -> Self {
        Self {
            max_attempts: policy.max_attempts,
            base_delay: policy.base_delay,
            max_delay: policy.max_delay,
        }
    }
}
