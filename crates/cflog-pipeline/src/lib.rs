//! The streaming pipeline shared by the cflog Lambda and the `cflog`
//! command line.
//!
//! An input (an S3 object, a file, stdin) is read as a stream, gunzipped when
//! its first bytes are the gzip magic (multi-member gzip included), read as
//! Parquet by ranges when they are Parquet's (feature `parquet`), framed
//! into lines and parsed by cflog-core, and every entry goes to a [`Sink`](sink::Sink).
//! Nothing is collected: memory stays bounded by the line limit and the
//! sink's buffer, whatever the size of the input.
//!
//! Every line ends up counted in the input's [`Summary`]: as an entry, as a
//! header or blank line, or as rejected with its reason and line number.
//!
//! ```
//! use cflog_pipeline::{Options, Pipeline, sink::NdjsonSink};
//!
//! let log = b"#Fields: date time sc-status\n2019-12-04\t21:02:31\t200\nnot a log line\n";
//! let mut out = Vec::new();
//! let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
//! pipeline.push(log)?;
//! let summary = pipeline.blocking_finish()?;
//! assert_eq!((summary.entries, summary.rejected, summary.lines), (1, 1, 3));
//! assert_eq!(summary.errors[0].line, 3);
//! assert_eq!(summary.delivered.entries, 1);
//! assert_eq!(out, b"{\"timestamp\":\"2019-12-04T21:02:31Z\",\"sc_status\":200}\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod input;
pub mod object_key;
#[cfg(feature = "parquet")]
pub mod parquet;
mod pipeline;
pub mod s3;
pub mod sink;
mod source;
mod summary;

pub use pipeline::{Options, Pipeline, PipelineError, Redact};
pub use summary::{MAX_LISTED_ERRORS, RejectedLine, Summary};
