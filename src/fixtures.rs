//! The pretend dependencies that exercises program against. The judge decides their state (a
//! healthy, failing or down [`Database`] with this run's ids and secrets; an [`Upstream`] it
//! runs and scripts) and the adapter builds them in the learner's process from that
//! description.

mod database;
mod lifecycle;
mod upstream;

pub use self::database::{Database, DbError, Order};
pub(crate) use self::database::{DatabaseFailure, DatabaseSetup};
pub use self::lifecycle::Lifecycle;
pub use self::upstream::Upstream;
pub(crate) use self::upstream::UpstreamSetup;
