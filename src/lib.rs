//! httplings' judge: everything that decides a verdict, in the runner's process, never in the
//! learner's. [`judge`] holds the shared machinery; [`lessons`] each lesson's checks. What the
//! learner's process links lives in the kit crate (`httplings`), which knows nothing of this one.

pub mod judge;
pub mod lessons;
