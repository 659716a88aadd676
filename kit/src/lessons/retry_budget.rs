//! Lesson 9, retry budgets: the judge has the learner's `BudgetedClient` made (as many as it
//! wants, each with its own policy and budget) and has each called from many tasks at once.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::wire::Policy;
use crate::adapter::{self, Handler, SeenError, SeenResponse};
use crate::{RetryBudget, RetryPolicy};

/// How the exercise makes a client: `BudgetedClient::new`.
pub type New<C> = fn(reqwest::Client, RetryPolicy, RetryBudget) -> C;

/// How the exercise makes a call: `BudgetedClient::get`, as any async function of its shape.
pub trait Get<C>: AsyncFn(&C, &str) -> Result<reqwest::Response, reqwest::Error> + 'static {}

impl<C, F> Get<C> for F where
    F: AsyncFn(&C, &str) -> Result<reqwest::Response, reqwest::Error> + 'static
{
}

/// The `main` of lesson 9's check targets. The client must be `Send + Sync`, as a client that
/// many tasks share on a multi-threaded runtime is: the adapter itself runs every call on one
/// thread, and would not notice a budget in a `RefCell` or an `Rc`.
pub fn main<C: Send + Sync + 'static>(
    built_from: Option<&str>,
    new: New<C>,
    get: impl Get<C>,
) -> ExitCode {
    adapter::main(built_from, Adapter { new, get })
}

/// A [`RetryBudget`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub ratio: f64,
    pub min_per_second: u32,
    pub window: Duration,
}

impl From<Budget> for RetryBudget {
    fn from(budget: Budget) -> Self {
        Self { ratio: budget.ratio, min_per_second: budget.min_per_second, window: budget.window }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Call {
    /// Make client `id`, handing it a `reqwest::Client` that gives up on an attempt after
    /// `timeout`.
    New { id: u32, policy: Policy, budget: Budget, timeout: Duration },
    /// `get(url)` on client `id`.
    Get { id: u32, url: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// The client was made, or `new` panicked.
    Made(Result<(), String>),
    Got(Result<SeenResponse, SeenError>),
}

thread_local! {
    /// The clients made so far: every call runs on the adapter's one thread.
    static CLIENTS: RefCell<HashMap<u32, Rc<dyn Any>>> = RefCell::new(HashMap::new());
}

#[derive(Debug)]
pub struct Adapter<C, G> {
    pub new: New<C>,
    pub get: G,
}

impl<C: 'static, G: Get<C>> Handler for Adapter<C, G> {
    type Call = Call;
    type Reply = Reply;

    async fn handle(self: Rc<Self>, call: Call) -> Reply {
        adapter::ensure_log();
        match call {
            Call::New { id, policy, budget, timeout } => {
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("a client without TLS always builds");
                let made = adapter::catch(|| (self.new)(client, policy.into(), budget.into()));
                Reply::Made(made.map(|client| {
                    CLIENTS.with(|clients| clients.borrow_mut().insert(id, Rc::new(client)));
                }))
            }
            Call::Get { id, url } => {
                let client = CLIENTS.with(|clients| clients.borrow().get(&id).cloned());
                let Some(client) = client.and_then(|client| client.downcast::<C>().ok()) else {
                    return Reply::Made(Err(format!("no client {id}")));
                };
                Reply::Got(adapter::seen((self.get)(&client, &url).await).await)
            }
        }
    }
}
