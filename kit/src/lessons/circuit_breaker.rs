//! Lesson 5, circuit breakers and readiness: the judge has `app` served over inventories it
//! runs, with policies it draws, and flips instances to draining.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::BreakerPolicy;
use crate::adapter::{self, Handler};
use crate::fixtures::{Lifecycle, Upstream, UpstreamSetup};

/// The exercise's entry point.
pub type App = fn(Upstream, BreakerPolicy, Lifecycle) -> Router;

/// The `main` of lesson 5's check targets.
pub fn main(built_from: Option<&str>, app: App) -> ExitCode {
    adapter::main(built_from, Adapter::new(app))
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Call {
    Serve {
        inventory: UpstreamSetup,
        failure_threshold: u32,
        cooldown: Duration,
    },
    /// Starts draining the instance served at `base` (what `Serve` replied).
    Drain {
        base: String,
    },
}

/// Serves `app` once per `Serve`, and drains instances on request.
#[derive(Debug)]
pub struct Adapter {
    app: App,
    /// Each instance's base URL, and its lifecycle.
    lifecycles: RefCell<Vec<(String, Lifecycle)>>,
}

impl Adapter {
    pub fn new(app: App) -> Self {
        Self { app, lifecycles: RefCell::default() }
    }
}

impl Handler for Adapter {
    type Call = Call;
    type Reply = Result<String, String>;

    async fn handle(self: Rc<Self>, call: Call) -> Result<String, String> {
        match call {
            Call::Serve { inventory, failure_threshold, cooldown } => {
                let lifecycle = Lifecycle::default();
                let policy = BreakerPolicy { failure_threshold, cooldown };
                let served = Upstream::new(inventory);
                let base =
                    adapter::serve_app(|| (self.app)(served, policy, lifecycle.clone())).await?;
                self.lifecycles.borrow_mut().push((base.clone(), lifecycle));
                Ok(base)
            }
            Call::Drain { base } => {
                let lifecycles = self.lifecycles.borrow();
                let (_, lifecycle) = lifecycles
                    .iter()
                    .find(|(known, _)| *known == base)
                    .ok_or("no such instance")?;
                lifecycle.set_draining(true);
                Ok("draining".into())
            }
        }
    }
}
