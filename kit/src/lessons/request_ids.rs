//! Lesson "request ids": the judge has `app` served over orders databases it describes and a
//! shipping service it runs, in one process or two.

use std::process::ExitCode;
use std::rc::Rc;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::adapter::{self, Handler};
use crate::fixtures::{Database, DatabaseSetup, Upstream, UpstreamSetup};

/// The exercise's entry point: the service over its database, in front of the shipping service.
pub type App = fn(Database, Upstream) -> Router;

/// The `main` of the lesson's check targets.
pub fn main(built_from: Option<&str>, app: App) -> ExitCode {
    adapter::main(built_from, Adapter { app })
}

/// Serve `app` over this database, in front of this upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serve {
    pub database: DatabaseSetup,
    pub upstream: UpstreamSetup,
}

/// Serves `app` once per call; replies with its base URL.
#[derive(Debug)]
pub struct Adapter {
    pub app: App,
}

impl Handler for Adapter {
    type Call = Serve;
    type Reply = Result<String, String>;

    /// Production logs at `info` or above: a request span below it is disabled there, and the
    /// ERROR lines in it come out without its id.
    const SPANS: tracing::level_filters::LevelFilter = tracing::level_filters::LevelFilter::INFO;

    async fn handle(self: Rc<Self>, call: Serve) -> Result<String, String> {
        let db = Database::new(call.database);
        let upstream = Upstream::new(call.upstream);
        adapter::serve_app(|| (self.app)(db, upstream)).await
    }
}
