//! Lesson 8, request_ids: TODO say what the judge has the learner's code do.

use std::process::ExitCode;
use std::rc::Rc;

use axum::Router;

use crate::adapter::{self, Handler};

/// The exercise's entry point.
pub type App = fn() -> Router;

/// The `main` of the lesson's check targets.
pub fn main(built_from: Option<&str>, app: App) -> ExitCode {
    adapter::main(built_from, Adapter { app })
}

/// Serves `app` when the judge asks.
#[derive(Debug)]
pub struct Adapter {
    pub app: App,
}

impl Handler for Adapter {
    type Call = ();
    type Reply = Result<String, String>;

    async fn handle(self: Rc<Self>, (): ()) -> Result<String, String> {
        adapter::serve_app(|| (self.app)()).await
    }
}
