//! Lesson 7's judge, proven in process: the solution passes, the starter fails, each
//! known-wrong answer is caught by the check written for it, and right answers in other styles
//! pass.

mod knobs;
mod timeout_at;

use httplings::fixtures::Upstream;
use httplings_judge::lessons::deadlines::{self, CHECKS};

use self::knobs::{AttemptTimeout, Body, Client, Forward, Gateway, Malformed, WaitCheck};
use crate::support::{assert_failed, report, seed};

#[path = "../../solutions/07_deadlines.rs"]
mod solution;

#[path = "../../exercises/.starters/07_deadlines.rs"]
mod starter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes() {
    let seed = seed();
    let judged = deadlines::judge_in_process(solution::app, solution::get_before, seed).await;
    assert_failed(&judged, seed, CHECKS, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails() {
    let seed = seed();
    let judged = deadlines::judge_in_process(starter::app, starter::get_before, seed).await;
    let expected = ["past", "in-time", "no-late-attempt", "at-once", "passed-on", "budget-read"];
    let failed = judged.failed();
    assert!(expected.iter().all(|check| failed.contains(check)), "{}", report(&judged, seed));
}

/// Judges a client and a gateway built from knobs; the failed checks.
async fn judged(client: Client, app: fn(Upstream) -> axum::Router) -> (Vec<String>, String) {
    let seed = seed();
    let get_before = async move |http: &reqwest::Client,
                                 url: &str,
                                 deadline: std::time::Instant,
                                 policy: httplings::RetryPolicy| {
        client.get_before(http, url, deadline, policy).await
    };
    let judged = deadlines::judge_in_process(app, get_before, seed).await;
    let failed = judged.failed().into_iter().map(String::from).collect();
    (failed, report(&judged, seed))
}

macro_rules! gateways {
    ($($name:ident: $knobs:expr,)*) => {
        $(fn $name(upstream: Upstream) -> axum::Router { $knobs.app(upstream) })*
    };
}

gateways! {
    right: Gateway::RIGHT,
    forwards_unchanged: Gateway { forward: Forward::Unchanged, ..Gateway::RIGHT },
    forwards_nothing: Gateway { forward: Forward::Nothing, ..Gateway::RIGHT },
    rounds_up: Gateway { forward: Forward::CeilSeconds, ..Gateway::RIGHT },
    ignores_budget: Gateway { reads_budget: false, ..Gateway::RIGHT },
    millis_only: Gateway { millis_only: true, ..Gateway::RIGHT },
    case_blind: Gateway { case_blind: true, ..Gateway::RIGHT },
    zero_is_absent: Gateway { zero_is_absent: true, ..Gateway::RIGHT },
    malformed_is_504: Gateway { malformed: Malformed::GatewayTimeout, ..Gateway::RIGHT },
    spawned: Gateway { spawned: true, ..Gateway::RIGHT },
    calls_for_any_budget_above_zero: Gateway { no_floor: true, ..Gateway::RIGHT },
    reads_nine_digits: Gateway { digits_unlimited: true, ..Gateway::RIGHT },
    reads_fractions: Gateway { decimals: true, ..Gateway::RIGHT },
    reads_a_unit_alone_as_zero: Gateway { unit_alone_is_zero: true, ..Gateway::RIGHT },
    reads_lower_case_units: Gateway { lower_units: true, ..Gateway::RIGHT },
    multiplies_hours_out_in_a_u32: Gateway { hours_in_u32_millis: true, ..Gateway::RIGHT },
    reads_the_body_past_the_deadline: Gateway { body: Body::Unbounded, ..Gateway::RIGHT },
    gives_the_body_a_budget_afresh: Gateway { body: Body::Afresh, ..Gateway::RIGHT },
    forwards_micros_past_eight_digits: Gateway { forward: Forward::Micros, ..Gateway::RIGHT },
    forwards_25_ms_less: Gateway { forward: Forward::LeftLess(25), ..Gateway::RIGHT },
    refuses_budgets_under_50_ms: Gateway { floor_of_50_ms: true, ..Gateway::RIGHT },
    answers_504_for_a_reset: Gateway { every_failure_504: true, ..Gateway::RIGHT },
    ignores_malformed_in_millis_with_timeout_at: Gateway {
        malformed: Malformed::Ignored,
        forward: Forward::LeftMillis,
        timeout_at: true,
        ..Gateway::RIGHT
    },
}

/// Wrong answers, each caught by the check written for it (others may fail too).
macro_rules! wrong {
    ($($name:ident: $client:expr, $app:expr => $check:literal,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
        async fn $name() {
            let (failed, report) = judged($client, $app).await;
            assert!(failed.iter().any(|check| check == $check), "{} should fail {}\n{report}", stringify!($name), $check);
        }
    )*};
}

wrong! {
    a_client_that_sends_when_the_deadline_has_passed:
        Client { sends_when_passed: true, ..Client::RIGHT }, right => "past",
    a_client_that_ignores_the_deadline:
        Client { attempt: AttemptTimeout::ClientOwn, wait: WaitCheck::Never, ..Client::RIGHT }, right => "in-time",
    a_client_whose_attempts_get_the_whole_budget:
        Client { attempt: AttemptTimeout::WholeBudget, ..Client::RIGHT }, right => "in-time",
    a_client_whose_attempts_get_a_fifth_more_than_is_left:
        Client { attempt: AttemptTimeout::LeftTimes(120), ..Client::RIGHT }, right => "in-time",
    a_client_whose_attempts_get_a_fifth_less_than_is_left:
        Client { attempt: AttemptTimeout::LeftTimes(80), ..Client::RIGHT }, right => "in-time",
    a_client_that_leaves_its_attempt_running:
        Client { attempt: AttemptTimeout::Spawned, ..Client::RIGHT }, right => "in-time",
    a_client_that_sleeps_past_the_deadline:
        Client { wait: WaitCheck::AfterSleep, ..Client::RIGHT }, right => "at-once",
    a_client_that_sleeps_until_the_deadline:
        Client { wait: WaitCheck::SleepToDeadline, ..Client::RIGHT }, right => "at-once",
    a_client_that_tries_once_more_after_the_deadline:
        Client { wait: WaitCheck::BeforeSleepOnly, attempt: AttemptTimeout::ClientOwn, ..Client::RIGHT }, right => "no-late-attempt",
    a_client_that_drops_the_last_response:
        Client { deadline_instead_of_last: true, ..Client::RIGHT }, right => "at-once",
    a_client_that_never_retries:
        Client { never_retries: true, ..Client::RIGHT }, right => "retries",
    a_client_that_polls_an_attempt_once_when_the_deadline_has_passed:
        Client { sends_when_passed: true, attempt: AttemptTimeout::TimeoutAt, ..Client::RIGHT }, right => "past",
    a_client_that_weighs_the_wait_from_the_attempts_start:
        Client { wait: WaitCheck::FromAttemptStart, ..Client::RIGHT }, right => "at-once",
    a_client_that_caps_a_long_retry_after_and_waits:
        Client { caps_retry_after: true, ..Client::RIGHT }, right => "retries",
    a_client_that_waits_a_retry_after_beyond_max_delay:
        Client { waits_long_retry_after: true, ..Client::RIGHT }, right => "retries",
    a_client_that_returns_a_retry_after_of_exactly_max_delay:
        Client { max_delay_exclusive: true, ..Client::RIGHT }, right => "retries",
    a_client_that_drops_the_error_it_got:
        Client { deadline_instead_of_error: true, ..Client::RIGHT }, right => "at-once",
    a_client_without_jitter:
        Client { no_jitter: true, ..Client::RIGHT }, right => "retries",
    // The sixth attack round: a fixed margin on every attempt, more than a tenth of a short
    // deadline; the backoff waited on top of a Retry-After.
    a_client_whose_attempts_keep_a_fixed_55_ms:
        Client { attempt: AttemptTimeout::LeftLess(55), ..Client::RIGHT }, right => "in-time",
    a_client_that_adds_the_backoff_to_a_retry_after:
        Client { backoff_on_retry_after: true, ..Client::RIGHT }, right => "retries",
    // The tenth attack round: the bound d weighed against the time left, not the wait drawn.
    a_client_that_weighs_the_bound_not_the_wait_it_drew:
        Client { wait: WaitCheck::Bound, ..Client::RIGHT }, right => "retries",
    // The eleventh: a fixed 20 ms kept on every attempt; 200 ms wanted for the attempt after a
    // wait; and at the gateway, a fixed 25 ms kept from what is passed on, a floor of 50 ms,
    // microseconds past eight digits, a reset answered as a timeout.
    a_client_whose_attempts_keep_a_fixed_20_ms:
        Client { attempt: AttemptTimeout::LeftLess(20), ..Client::RIGHT }, right => "in-time",
    a_client_that_wants_200_ms_for_the_attempt_after_a_wait:
        Client { wait: WaitCheck::Room(200), ..Client::RIGHT }, right => "retries",
    a_gateway_that_passes_on_25_ms_less: Client::RIGHT, forwards_25_ms_less => "passed-on",
    a_gateway_that_writes_microseconds_past_eight_digits: Client::RIGHT, forwards_micros_past_eight_digits => "passed-on",
    a_gateway_that_refuses_budgets_under_50_ms: Client::RIGHT, refuses_budgets_under_50_ms => "spent",
    a_gateway_that_answers_a_reset_with_504: Client::RIGHT, answers_504_for_a_reset => "quotes",
    a_gateway_that_forwards_the_budget_unchanged: Client::RIGHT, forwards_unchanged => "passed-on",
    a_gateway_that_forwards_no_budget: Client::RIGHT, forwards_nothing => "passed-on",
    a_gateway_that_rounds_the_budget_up: Client::RIGHT, rounds_up => "passed-on",
    a_gateway_that_ignores_its_callers_budget: Client::RIGHT, ignores_budget => "shortest",
    a_gateway_that_reads_every_unit_as_milliseconds: Client::RIGHT, millis_only => "budget-read",
    a_gateway_that_reads_minutes_as_milliseconds: Client::RIGHT, case_blind => "budget-read",
    a_gateway_that_calls_with_a_spent_budget: Client::RIGHT, zero_is_absent => "spent",
    a_gateway_that_answers_a_malformed_budget_with_504: Client::RIGHT, malformed_is_504 => "budget-read",
    a_gateway_that_keeps_calling_after_its_caller_left: Client::RIGHT, spawned => "hang-up",
    a_gateway_that_calls_for_a_budget_under_a_millisecond: Client::RIGHT, calls_for_any_budget_above_zero => "spent",
    a_gateway_that_reads_nine_digits: Client::RIGHT, reads_nine_digits => "budget-read",
    a_gateway_that_reads_a_unit_alone_as_zero: Client::RIGHT, reads_a_unit_alone_as_zero => "budget-read",
    a_gateway_that_reads_lower_case_units: Client::RIGHT, reads_lower_case_units => "budget-read",
    a_gateway_that_reads_fractions: Client::RIGHT, reads_fractions => "budget-read",
    // The ninth attack round: 2²⁵ hours wrapped to nothing; the body of an answer that stalls
    // half-way read with no deadline.
    a_gateway_that_multiplies_hours_out_in_a_u32: Client::RIGHT, multiplies_hours_out_in_a_u32 => "budget-read",
    a_gateway_that_reads_the_body_past_the_deadline: Client::RIGHT, reads_the_body_past_the_deadline => "shortest",
    a_gateway_that_gives_the_body_a_budget_afresh: Client::RIGHT, gives_the_body_a_budget_afresh => "shortest",
}

/// A wait that ends a little past the deadline, started all the same: the attempt after it is
/// late (when its request goes out on the connection kept from the first) or the call returns
/// late (when the attempt, polled once past the deadline, only connects). Either check may be
/// the one to see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: the full catalogue of wrong answers, which .ci/run runs"]
async fn a_client_that_allows_itself_a_grace_of_100_ms() {
    let client =
        Client { wait: WaitCheck::Grace, attempt: AttemptTimeout::TimeoutAt, ..Client::RIGHT };
    let (failed, report) = judged(client, right).await;
    assert!(
        failed.iter().any(|check| check == "no-late-attempt" || check == "at-once"),
        "a grace of 100 ms should fail no-late-attempt or at-once\n{report}"
    );
}

/// Right answers in other styles pass every check.
macro_rules! right {
    ($($name:ident: $client:expr, $app:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (failed, report) = judged($client, $app).await;
            assert!(failed.is_empty(), "{} should pass\n{report}", stringify!($name));
        }
    )*};
}

right! {
    knobs_set_right_pass: Client::RIGHT, right,
    a_client_with_timeout_at_and_equal_jitter:
        Client { attempt: AttemptTimeout::TimeoutAt, equal_jitter: true, ..Client::RIGHT }, right,
    // Equal jitter, the narrowest lesson 3 allows, and 40 ms kept for the retry: it still
    // retries where the deadline cuts the bound d but not the wait it drew, and where a few
    // tens of milliseconds are left after the longest wait.
    a_client_with_equal_jitter_that_keeps_room_for_the_retry:
        Client { wait: WaitCheck::Room(40), equal_jitter: true, ..Client::RIGHT }, right,
    a_client_with_select_and_a_gateway_that_ignores_malformed_budgets:
        Client { attempt: AttemptTimeout::Select, ..Client::RIGHT }, ignores_malformed_in_millis_with_timeout_at,
}

/// A right answer in another style, written without the knobs: `timeout_at` around each
/// attempt, the last outcome held over the wait, a malformed budget ignored, the rest passed on
/// in milliseconds, one `timeout` around the whole upstream exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_answer_with_timeout_at_and_budgets_in_milliseconds_passes() {
    let seed = seed();
    let judged = deadlines::judge_in_process(timeout_at::app, timeout_at::get_before, seed).await;
    assert_failed(&judged, seed, CHECKS, &[]);
}
