//! Lesson 3, retry on 5xx, never on 4xx.
//!
//! Read the lesson with `cargo run -- lesson 3`; check your work with `cargo run -- check 3`.
//! Keep the signature of `get_with_retry`: the checks call it.

use httplings::RetryPolicy;
use reqwest::{Client, Error, Response};

pub async fn get_with_retry(
    client: &Client,
    url: &str,
    policy: &RetryPolicy,
) -> Result<Response, Error> {
    // TODO: this sends one request and gives up whatever happens. Retry what may pass (a 5xx,
    //       a transport error that may heal) up to `policy.max_attempts` attempts in all, never
    //       a 4xx, and wait before each retry as the lesson describes: exponential backoff with
    //       jitter, capped at `policy.max_delay`, or the server's Retry-After when it sends one.
    let _ = policy;
    client.get(url).send().await
}
