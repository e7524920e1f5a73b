//! `cflog report`: one self-contained HTML page of the logs, or the same
//! figures as JSON.
//!
//! The inputs are read by `cflog stats`' sink ([`crate::tally`]), each
//! into its own [`Aggregate`](cflog_encoders::aggregate::Aggregate)
//! (bounded memory whatever the input), added up when each input is done. The figures are
//! made once ([`model::Page`]); the JSON is them as they are, and the HTML
//! page ([`html`]) draws its tables and charts ([`charts`]) from them.
//!
//! This is not [`crate::report`], the summary on stderr.

mod charts;
mod filters;
mod html;
pub mod model;

pub use filters::selected;
pub use html::render;
pub use model::{Filters, Page};
