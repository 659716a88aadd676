//! Lesson 4, 502 and 504: the judge has `app` served in front of pricing services it runs.

use std::process::ExitCode;
use std::rc::Rc;

use axum::Router;

use crate::adapter::{self, Handler};
use crate::fixtures::{Upstream, UpstreamSetup};

/// The exercise's entry point: builds the gateway around the pricing service it asks.
pub type App = fn(Upstream) -> Router;

/// The `main` of lesson 4's check targets.
pub fn main(built_from: Option<&str>, app: App) -> ExitCode {
    adapter::main(built_from, Adapter { app })
}

/// Serves `app` in front of each upstream the judge describes; replies with its base URL.
#[derive(Debug)]
pub struct Adapter {
    pub app: App,
}

impl Handler for Adapter {
    type Call = UpstreamSetup;
    type Reply = Result<String, String>;

    async fn handle(self: Rc<Self>, setup: UpstreamSetup) -> Result<String, String> {
        let upstream = Upstream::new(setup);
        adapter::serve_app(|| (self.app)(upstream)).await
    }
}
