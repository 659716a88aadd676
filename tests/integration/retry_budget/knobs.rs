//! A budgeted client built from knobs.
#[derive(Debug, Clone, Copy)]
pub enum Kind {}
#[derive(Debug, Clone, Copy)]
pub struct Knobs;
