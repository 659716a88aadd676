//! The pretend dependencies that exercises program against. The judge decides their state (a
//! healthy, failing or down [`Database`] with this run's ids and secrets; an [`Upstream`] it
//! runs and scripts; a [`Lifecycle`] it flips; a [`Payment`] to make) and the adapter builds
//! them in the learner's process from that description.

mod database;
mod gave_up;
mod lifecycle;
mod payment;
mod upstream;

#[doc(hidden)]
pub use self::database::{DB_USER, DatabaseSetup, QueryFailure};
pub use self::database::{Database, DbError, DbErrorKind, Order};
pub use self::gave_up::GaveUp;
pub use self::lifecycle::Lifecycle;
pub use self::payment::Payment;
pub use self::upstream::Upstream;
#[doc(hidden)]
pub use self::upstream::UpstreamSetup;
