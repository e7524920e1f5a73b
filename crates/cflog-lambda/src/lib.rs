//! The cflog AWS Lambda function: each S3 ObjectCreated event's log objects
//! are streamed from S3, gunzipped as a stream, parsed line by line by
//! cflog-core, and every entry goes to the configured sink (NDJSON on stdout,
//! that is CloudWatch Logs, by default). Memory stays constant whatever the
//! object size.
//!
//! The objects come from one of four event kinds, told apart by
//! [`event::parse_event`]: an S3 notification invoking the function
//! directly; an SQS batch whose messages carry S3 notifications (the
//! buffered trigger, [`sqs`]); an S3 Batch Operations task, for logs
//! already in S3 ([`batch`]); and, apart from objects, a Kinesis batch of
//! real-time log records ([`kinesis`]). Every object goes through the same
//! function, pipeline and sink, whatever brought it.
//!
//! Beside each report line on stderr goes a CloudWatch embedded-metric-format
//! line ([`metrics`]), from which CloudWatch Logs extracts the metrics that
//! the SAM template's alarms watch.
//!
//! The binary only wires this library up; the logic lives here so that it is
//! tested without Lambda, against a real S3-compatible server.
//!
//! # Modules
//!
//! Each module imports only modules below it in this list:
//!
//! - [`invocation`]: one payload, told apart and handed to its kind;
//! - [`batch`] and [`sqs`]: the S3 Batch Operations and SQS kinds;
//! - [`handler`]: what every kind shares, the S3 notification and Kinesis
//!   kinds;
//! - [`sinks`] (where entries go), [`kinesis`] (a batch of real-time
//!   records) and [`metrics`] (the reports as CloudWatch metrics);
//! - [`report`]: what became of an object or a batch;
//! - [`event`]: what a payload is;
//! - [`config`], [`error`] and [`Status`]: the leaves.
//!
//! # Failure policy
//!
//! - A bad line never fails an object: it is counted as rejected, by reason
//!   and with its line number, in the object's summary.
//! - A failed object fails the invocation, with an `errorType` per cause
//!   ([`FailureKind`]): a transient S3 failure (5xx, throttling, a timeout, a
//!   connection reset mid-body) is `S3Transient`, which a retry may fix;
//!   access denied, an archived object and other S3 refusals, a corrupt
//!   gzip, another compression, or an object with lines of which none is a
//!   log entry are permanent. After Lambda's retries the event lands in the
//!   on-failure destination.
//! - An object that no longer exists is logged and skipped: a retry cannot
//!   help. So is an object under `CFLOG_IGNORE_PREFIX`, which is never read.
//! - Batch Operations and SQS invocations never fail for an object: a
//!   Batch Operations task gets `TemporaryFailure` when a retry may help and
//!   `PermanentFailure` otherwise ([`batch`]); an SQS message is returned to
//!   the queue, or acknowledged, as [`sqs`] tabulates.
//! - An object that fails part-way delivers the entries read before the
//!   failure, and its summary counts exactly those.
//! - S3 delivers events at least once, so an object may be processed twice.
//!   Downstream, `x_edge_request_id` identifies a request uniquely: use it as
//!   the idempotency key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod batch;
mod batch_job;
pub mod cold_start;
pub mod config;
pub mod error;
pub mod event;
pub mod handler;
#[cfg(feature = "parquet")]
mod handover;
pub mod invocation;
pub mod kinesis;
pub mod metrics;
pub mod report;
#[cfg(feature = "parquet")]
pub mod rollup;
pub mod sinks;
pub mod sqs;
mod status;

pub use cflog_pipeline::sink::Source;
pub use config::Config;
pub use error::{FailureKind, HandlerError};
pub use handler::{Handler, S3Response};
pub use invocation::Response;
pub use report::ObjectReport;
pub use status::Status;

// The README's examples are compiled and run as doctests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
