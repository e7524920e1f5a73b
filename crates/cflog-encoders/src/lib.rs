//! Encoders of CloudFront log entries, fed by cflog-core's typed values.
//!
//! Each encoder here is a [`cflog_core::typed::Encoder`]: it receives the
//! values of an entry already parsed by the one parser of their kind, and
//! never reads the text of another output. JSON, the contract, stays in
//! cflog-core (its writer has fast paths of its own); these are the others:
//!
//! - [`delimited`]: CSV and TSV cells, the JSON contract's values as text,
//!   and rows of them through the `csv` crate's quoting;
//! - [`aggregate`]: the one tally of `cflog stats` and `cflog report`,
//!   which writes nothing, in bounded memory.
//!
//! Where the bytes go is not theirs to know: the sinks of cflog-pipeline,
//! the Lambda and the command line decide that. An encoder for another
//! format (Arrow or Parquet, say) is one more `Encoder` in a crate like
//! this one, with no change to cflog-core.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aggregate;
pub mod delimited;
