//! The cflog AWS Lambda function: each S3 ObjectCreated event's log objects
//! are streamed from S3, gunzipped as a stream, parsed line by line by
//! cflog-core, and every entry goes to the configured sink (NDJSON on stdout,
//! that is CloudWatch Logs, by default). Memory stays constant whatever the
//! object size.
//!
//! The binary only wires this library up; the logic lives here so that it is
//! tested without Lambda, against a real S3-compatible server.
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
//!   help.
//! - An object that fails part-way delivers the entries read before the
//!   failure, and its summary counts exactly those.
//! - S3 delivers events at least once, so an object may be processed twice.
//!   Downstream, `x_edge_request_id` identifies a request uniquely: use it as
//!   the idempotency key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod event;
pub mod handler;
pub mod kinesis;
mod status;

pub use cflog_pipeline::sink::Source;
pub use config::Config;
pub use error::{FailureKind, HandlerError};
pub use handler::{Handler, ObjectReport, Response, S3Response};
pub use status::Status;

// The README's examples are compiled and run as doctests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
