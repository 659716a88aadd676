//! Lesson 1, the generic 500: the judge has `app` served over databases it describes.

use std::process::ExitCode;
use std::rc::Rc;

use axum::Router;

use crate::adapter::{self, Handler};
use crate::fixtures::{Database, DatabaseSetup};

/// The exercise's entry point: builds the server around a database.
pub type App = fn(Database) -> Router;

/// The `main` of lesson 1's check targets.
pub fn main(built_from: Option<&str>, app: App) -> ExitCode {
    adapter::main(built_from, Adapter { app })
}

/// Serves `app` over each database the judge describes; replies with its base URL.
#[derive(Debug)]
pub struct Adapter {
    pub app: App,
}

impl Handler for Adapter {
    type Call = DatabaseSetup;
    type Reply = Result<String, String>;

    async fn handle(self: Rc<Self>, setup: DatabaseSetup) -> Result<String, String> {
        let db = Database::new(setup);
        adapter::serve_app(|| (self.app)(db)).await
    }
}
