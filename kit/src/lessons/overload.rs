//! Lesson "overload": the judge has `app` served in front of slow backends it runs, with limits
//! it draws (how many backend calls at once, how many requests per client per window).

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::Limits;
use crate::adapter::{self, Handler};
use crate::fixtures::{Upstream, UpstreamSetup};

/// The exercise's entry point: the service in front of its backend, with its limits.
pub type App = fn(Upstream, Limits) -> Router;

/// The `main` of the lesson's check targets.
pub fn main(built_from: Option<&str>, app: App) -> ExitCode {
    adapter::main(built_from, Adapter { app })
}

/// Serve `app` over this backend with these limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serve {
    pub backend: UpstreamSetup,
    pub max_in_flight: usize,
    pub per_client: u32,
    pub window: Duration,
}

/// Serves `app` once per call; replies with its base URL.
#[derive(Debug)]
pub struct Adapter {
    pub app: App,
}

impl Handler for Adapter {
    type Call = Serve;
    type Reply = Result<String, String>;

    async fn handle(self: Rc<Self>, call: Serve) -> Result<String, String> {
        let limits = Limits {
            max_in_flight: call.max_in_flight,
            per_client: call.per_client,
            window: call.window,
        };
        let backend = Upstream::new(call.backend);
        adapter::serve_app(|| (self.app)(backend, limits)).await
    }
}
