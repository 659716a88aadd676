//! A client and a gateway built from knobs: each knob one way to get lesson 7 right or wrong,
//! so that the tests can name a known-wrong answer (or a right one in another style) by the
//! knob it turns.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use httplings::RetryPolicy;
use httplings::fixtures::{GaveUp, Upstream};
use serde_json::{Value, json};

/// How long an attempt may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptTimeout {
    /// `RequestBuilder::timeout(left)`.
    Left,
    /// `tokio::time::timeout_at(deadline, send)`.
    TimeoutAt,
    /// `select!` against `sleep_until(deadline)`.
    Select,
    /// The whole budget measured when the call began, whatever is left.
    WholeBudget,
    /// What is left, stretched to this many percent of it ("a little slack").
    LeftTimes(u32),
    /// What is left, less a fixed margin of this many milliseconds.
    LeftLess(u64),
    /// The client's own timeout.
    ClientOwn,
    /// The attempt runs on a task of its own; the call stops waiting for it at the deadline.
    Spawned,
}

/// How the client weighs a wait against the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCheck {
    /// A wait that would end after the deadline is not started.
    Before,
    /// Sleeps, then returns if the deadline passed meanwhile.
    AfterSleep,
    /// Checks the deadline before sleeping, and tries again after.
    BeforeSleepOnly,
    /// Sleeps until the wait or the deadline ends, whichever comes first.
    SleepToDeadline,
    /// Never weighs it: lesson 3 as it was.
    Never,
    /// Starts a wait that ends up to 100 ms after the deadline ("close enough"), then tries again.
    Grace,
    /// Weighs the wait from when the attempt began, not from now.
    FromAttemptStart,
    /// Weighs the backoff's bound `d`, not the wait drawn below it.
    Bound,
    /// Weighs the wait drawn, keeping this many milliseconds for the attempt after it.
    Room(u64),
}

#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub sends_when_passed: bool,
    pub attempt: AttemptTimeout,
    pub wait: WaitCheck,
    pub deadline_instead_of_last: bool,
    pub never_retries: bool,
    pub equal_jitter: bool,
    /// Waits the whole backoff, without jitter.
    pub no_jitter: bool,
    /// Caps a Retry-After beyond max_delay at max_delay, and waits, instead of returning.
    pub caps_retry_after: bool,
    /// Waits a Retry-After beyond max_delay as asked, when the deadline allows it.
    pub waits_long_retry_after: bool,
    /// Returns a Retry-After of exactly max_delay at once, as if it were more.
    pub max_delay_exclusive: bool,
    /// Gives up before a wait with `DeadlineExceeded` when the attempt failed on the way.
    pub deadline_instead_of_error: bool,
    /// Waits a Retry-After and the backoff on top (equal jitter, so that it always shows: full
    /// jitter shows in three calls of four).
    pub backoff_on_retry_after: bool,
}

impl Client {
    pub const RIGHT: Client = Client {
        sends_when_passed: false,
        attempt: AttemptTimeout::Left,
        wait: WaitCheck::Before,
        deadline_instead_of_last: false,
        never_retries: false,
        equal_jitter: false,
        no_jitter: false,
        caps_retry_after: false,
        waits_long_retry_after: false,
        max_delay_exclusive: false,
        deadline_instead_of_error: false,
        backoff_on_retry_after: false,
    };

    pub async fn get_before(
        self,
        client: &reqwest::Client,
        url: &str,
        deadline: Instant,
        policy: RetryPolicy,
    ) -> Result<reqwest::Response, GaveUp> {
        let mut attempt = 1;
        let budget = deadline.saturating_duration_since(Instant::now());
        loop {
            let began = Instant::now();
            let left = deadline.saturating_duration_since(began);
            let looks =
                attempt == 1 || !matches!(self.wait, WaitCheck::BeforeSleepOnly | WaitCheck::Grace);
            if left.is_zero() && looks && !(self.sends_when_passed && attempt == 1) {
                return Err(GaveUp::DeadlineExceeded);
            }
            let left = match self.attempt {
                AttemptTimeout::WholeBudget => budget,
                AttemptTimeout::LeftTimes(percent) => left * percent / 100,
                AttemptTimeout::LeftLess(margin) => {
                    left.saturating_sub(Duration::from_millis(margin))
                }
                _ => left,
            };
            let outcome =
                self.attempt(client, url, deadline, left.max(Duration::from_millis(1))).await;
            let outcome = match outcome {
                Some(outcome) => outcome,
                None => return Err(GaveUp::DeadlineExceeded),
            };
            let give_up = |outcome: Result<reqwest::Response, reqwest::Error>| match outcome {
                Ok(_) if self.deadline_instead_of_last => Err(GaveUp::DeadlineExceeded),
                Err(_) if self.deadline_instead_of_error => Err(GaveUp::DeadlineExceeded),
                outcome => outcome.map_err(GaveUp::Transport),
            };
            if attempt >= policy.max_attempts || !worth_retrying(&outcome) || self.never_retries {
                return outcome.map_err(GaveUp::Transport);
            }
            let asked = outcome.as_ref().ok().and_then(retry_after);
            let wait = match asked {
                Some(asked) if self.caps_retry_after && asked > policy.max_delay => {
                    policy.max_delay
                }
                Some(asked) if asked > policy.max_delay && self.waits_long_retry_after => asked,
                Some(asked)
                    if asked > policy.max_delay
                        || (self.max_delay_exclusive && asked == policy.max_delay) =>
                {
                    return outcome.map_err(GaveUp::Transport);
                }
                Some(asked) if self.backoff_on_retry_after => {
                    let backoff = backoff(&policy, attempt);
                    asked + backoff / 2 + self.jitter(backoff / 2)
                }
                Some(asked) => asked,
                None => self.jitter(backoff(&policy, attempt)),
            };
            let bound = if asked.is_some() { wait } else { backoff(&policy, attempt) };
            match self.wait {
                WaitCheck::Before if Instant::now() + wait >= deadline => return give_up(outcome),
                WaitCheck::Bound if Instant::now() + bound >= deadline => return give_up(outcome),
                WaitCheck::Room(room)
                    if Instant::now() + wait + Duration::from_millis(room) >= deadline =>
                {
                    return give_up(outcome);
                }
                WaitCheck::BeforeSleepOnly if Instant::now() >= deadline => {
                    return give_up(outcome);
                }
                WaitCheck::Grace
                    if Instant::now() + wait >= deadline + Duration::from_millis(100) =>
                {
                    return give_up(outcome);
                }
                WaitCheck::FromAttemptStart if began + wait >= deadline => return give_up(outcome),
                _ => {}
            }
            let ends = Instant::now() + wait;
            if self.wait == WaitCheck::SleepToDeadline {
                tokio::time::sleep_until(ends.min(deadline).into()).await;
            } else {
                tokio::time::sleep_until(ends.into()).await;
            }
            if matches!(self.wait, WaitCheck::AfterSleep | WaitCheck::SleepToDeadline)
                && Instant::now() >= deadline
            {
                return give_up(outcome);
            }
            drop(outcome);
            attempt += 1;
        }
    }

    /// One attempt; `None` when the deadline cut it short.
    async fn attempt(
        self,
        client: &reqwest::Client,
        url: &str,
        deadline: Instant,
        left: Duration,
    ) -> Option<Result<reqwest::Response, reqwest::Error>> {
        match self.attempt {
            AttemptTimeout::Left | AttemptTimeout::LeftLess(_) => {
                Some(client.get(url).timeout(left).send().await)
            }
            AttemptTimeout::TimeoutAt => {
                tokio::time::timeout_at(deadline.into(), client.get(url).send()).await.ok()
            }
            AttemptTimeout::Select => tokio::select! {
                outcome = client.get(url).send() => Some(outcome),
                () = tokio::time::sleep_until(deadline.into()) => None,
            },
            AttemptTimeout::WholeBudget | AttemptTimeout::LeftTimes(_) => {
                Some(client.get(url).timeout(left).send().await)
            }
            AttemptTimeout::ClientOwn => Some(client.get(url).send().await),
            AttemptTimeout::Spawned => {
                let request = client.get(url).send();
                let task = tokio::spawn(request);
                tokio::time::timeout_at(deadline.into(), task).await.ok().and_then(Result::ok)
            }
        }
    }

    fn jitter(self, longest: Duration) -> Duration {
        if self.no_jitter {
            return longest;
        }
        let random = RandomState::new().hash_one(Instant::now()) as f64 / u64::MAX as f64;
        if self.equal_jitter {
            longest / 2 + longest.mul_f64(random / 2.0)
        } else {
            longest.mul_f64(random)
        }
    }
}

fn worth_retrying(outcome: &Result<reqwest::Response, reqwest::Error>) -> bool {
    match outcome {
        Ok(response) => response.status().is_server_error(),
        Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
    }
}

fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    policy.base_delay.saturating_mul(2u32.saturating_pow(retry - 1)).min(policy.max_delay)
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get("retry-after")?.to_str().ok()?.trim();
    seconds
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| seconds.parse().ok())
        .flatten()
        .map(Duration::from_secs)
}

/// What the gateway tells the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// What is left, in microseconds while eight digits hold it, else in milliseconds.
    Left,
    /// What is left, in microseconds however many digits that takes.
    Micros,
    /// What is left, less a fixed margin of this many milliseconds.
    LeftLess(u64),
    /// What is left, in whole milliseconds.
    LeftMillis,
    /// The caller's value, as it came.
    Unchanged,
    /// What is left, rounded up to whole seconds.
    CeilSeconds,
    /// Nothing.
    Nothing,
}

/// What a malformed budget gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    BadRequest,
    Ignored,
    GatewayTimeout,
}

#[derive(Debug, Clone, Copy)]
pub struct Gateway {
    pub forward: Forward,
    pub reads_budget: bool,
    /// Reads the digits as milliseconds, whatever the unit.
    pub millis_only: bool,
    /// Reads the unit without its case: `M` (minutes) as `m` (milliseconds).
    pub case_blind: bool,
    pub zero_is_absent: bool,
    pub malformed: Malformed,
    /// The upstream call runs on a task of its own.
    pub spawned: bool,
    /// `tokio::time::timeout_at` around the call instead of a per-request timeout.
    pub timeout_at: bool,
    /// Calls for any budget above zero, however small.
    pub no_floor: bool,
    /// Reads any number of digits (nine is malformed).
    pub digits_unlimited: bool,
    /// Reads a fraction (`0.2S`).
    pub decimals: bool,
    /// Reads a unit without digits (`S`) as no time left.
    pub unit_alone_is_zero: bool,
    /// Reads `s` and `h` as `S` and `H`.
    pub lower_units: bool,
    /// Multiplies hours out in a u32 of milliseconds, which wraps.
    pub hours_in_u32_millis: bool,
    /// Refuses any budget under 50 ms as spent.
    pub floor_of_50_ms: bool,
    /// Answers 504 for every failure of the call, a reset too.
    pub every_failure_504: bool,
    /// How long the body may take once the head has come.
    pub body: Body,
}

/// How long a gateway gives the body once the head has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// What is left of the deadline.
    Left,
    /// No limit at all.
    Unbounded,
    /// The whole time allowed, afresh.
    Afresh,
}

impl Gateway {
    pub const RIGHT: Gateway = Gateway {
        forward: Forward::Left,
        reads_budget: true,
        millis_only: false,
        case_blind: false,
        zero_is_absent: false,
        malformed: Malformed::BadRequest,
        spawned: false,
        timeout_at: false,
        no_floor: false,
        digits_unlimited: false,
        decimals: false,
        unit_alone_is_zero: false,
        lower_units: false,
        hours_in_u32_millis: false,
        floor_of_50_ms: false,
        every_failure_504: false,
        body: Body::Left,
    };

    pub fn app(self, upstream: Upstream) -> Router {
        Router::new()
            .route(
                "/quotes/{symbol}",
                get(
                    move |State(upstream): State<Upstream>,
                          Path(symbol): Path<String>,
                          headers: HeaderMap| {
                        self.quote(upstream, symbol, headers)
                    },
                ),
            )
            .with_state(upstream)
    }

    async fn quote(self, upstream: Upstream, symbol: String, headers: HeaderMap) -> Response {
        let started = Instant::now();
        let value = headers.get("grpc-timeout").filter(|_| self.reads_budget);
        let budget = match value.map(|value| self.parse(value.as_bytes())) {
            None => None,
            Some(Some(budget)) if budget.is_zero() && self.zero_is_absent => None,
            Some(Some(budget)) => Some(budget),
            Some(None) => match self.malformed {
                Malformed::BadRequest => {
                    return (StatusCode::BAD_REQUEST, "bad grpc-timeout").into_response();
                }
                Malformed::GatewayTimeout => {
                    return (StatusCode::GATEWAY_TIMEOUT, "bad grpc-timeout").into_response();
                }
                Malformed::Ignored => None,
            },
        };
        let allowed = budget.map_or(upstream.timeout(), |budget| budget.min(upstream.timeout()));
        let floor = match (self.no_floor, self.floor_of_50_ms) {
            (true, _) => Duration::from_nanos(1),
            (_, true) => Duration::from_millis(50),
            _ => Duration::from_millis(1),
        };
        if budget.is_some() && allowed < floor {
            return (StatusCode::GATEWAY_TIMEOUT, "no time left").into_response();
        }
        let deadline = started + allowed;
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_micros(1));
        let mut request = reqwest::Client::new().get(upstream.url(&format!("/prices/{symbol}")));
        if !self.timeout_at && self.body == Body::Left {
            request = request.timeout(left);
        }
        let forwarded = match self.forward {
            Forward::Left if left.as_micros() <= 99_999_999 => {
                Some(format!("{}u", left.as_micros()))
            }
            Forward::Left => Some(format!("{}m", left.as_millis())),
            Forward::Micros => Some(format!("{}u", left.as_micros())),
            Forward::LeftLess(margin) => {
                Some(format!("{}u", left.saturating_sub(Duration::from_millis(margin)).as_micros()))
            }
            Forward::LeftMillis => Some(format!("{}m", left.as_millis())),
            Forward::Unchanged => value.and_then(|value| value.to_str().ok()).map(String::from),
            Forward::CeilSeconds => Some(format!("{}S", left.as_secs() + 1)),
            Forward::Nothing => None,
        };
        if let Some(forwarded) = forwarded {
            request = request.header("grpc-timeout", forwarded);
        }
        let got = if self.body != Body::Left {
            let body_within = (self.body == Body::Afresh).then_some(allowed);
            head_then_body(request, deadline, body_within).await
        } else if self.spawned {
            match tokio::time::timeout_at(deadline.into(), tokio::spawn(price(request))).await {
                Ok(Ok(got)) => got.map_err(|error| error.is_timeout()),
                _ => Err(true),
            }
        } else if self.timeout_at {
            match tokio::time::timeout_at(deadline.into(), price(request)).await {
                Ok(got) => got.map_err(|error| error.is_timeout()),
                Err(_) => Err(true),
            }
        } else {
            price(request).await.map_err(|error| error.is_timeout())
        };
        match got {
            Ok(Some(price)) => {
                Json(json!({"symbol": symbol, "price": price["price"]})).into_response()
            }
            Ok(None) | Err(false) if !self.every_failure_504 => {
                StatusCode::BAD_GATEWAY.into_response()
            }
            Ok(None) | Err(false) => StatusCode::GATEWAY_TIMEOUT.into_response(),
            Err(true) => StatusCode::GATEWAY_TIMEOUT.into_response(),
        }
    }

    fn parse(self, value: &[u8]) -> Option<Duration> {
        let (&unit, digits) = value.split_last()?;
        let most = if self.digits_unlimited { 20 } else { 8 };
        if self.decimals
            && let Ok(amount) = std::str::from_utf8(digits).ok()?.parse::<f64>()
            && amount.fract() != 0.0
            && amount > 0.0
        {
            let scale = match unit {
                b'S' => 1.0,
                b'm' => 1e-3,
                _ => return None,
            };
            return Some(Duration::from_secs_f64(amount * scale));
        }
        if digits.is_empty() && self.unit_alone_is_zero {
            return Some(Duration::ZERO);
        }
        if digits.is_empty() || digits.len() > most || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        if self.millis_only {
            return Some(Duration::from_millis(amount));
        }
        if self.hours_in_u32_millis && unit == b'H' {
            let millis = (amount as u32).wrapping_mul(3_600_000);
            return Some(Duration::from_millis(u64::from(millis)));
        }
        let unit = if self.case_blind { unit.to_ascii_lowercase() } else { unit };
        let unit = match unit {
            b's' | b'h' if self.lower_units => unit.to_ascii_uppercase(),
            unit => unit,
        };
        Some(match unit {
            b'H' => Duration::from_secs(amount * 3600),
            b'M' => Duration::from_secs(amount * 60),
            b'S' => Duration::from_secs(amount),
            b'm' => Duration::from_millis(amount),
            b'u' => Duration::from_micros(amount),
            b'n' => Duration::from_nanos(amount),
            _ => return None,
        })
    }
}

/// The price, read whole; `None` for any status but 200.
async fn price(request: reqwest::RequestBuilder) -> reqwest::Result<Option<Value>> {
    let response = request.send().await?;
    if response.status() != StatusCode::OK {
        return Ok(None);
    }
    response.json::<Value>().await.map(Some)
}

/// The head awaited by the deadline, the body after it within `body_within` afresh (no limit at
/// all when `None`); `Err(true)` when out of time.
async fn head_then_body(
    request: reqwest::RequestBuilder,
    deadline: Instant,
    body_within: Option<Duration>,
) -> Result<Option<Value>, bool> {
    match tokio::time::timeout_at(deadline.into(), request.send()).await {
        Err(_) => Err(true),
        Ok(Err(error)) => Err(error.is_timeout()),
        Ok(Ok(response)) if response.status() != StatusCode::OK => Ok(None),
        Ok(Ok(response)) => {
            let body = response.json::<Value>();
            let body = match body_within {
                Some(within) => tokio::time::timeout(within, body).await.map_err(|_| true)?,
                None => body.await,
            };
            body.map(Some).map_err(|error| error.is_timeout())
        }
    }
}
