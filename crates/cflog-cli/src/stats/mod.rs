//! `cflog stats`: the figures people otherwise open GoAccess for, counted
//! in one pass by the tally `cflog report` reads too ([`crate::tally`]).
//! Totals are exact; lists and distinct counts are exact up to a bound of
//! memory, and say so past it.

mod render;

pub use render::{Report, table};
