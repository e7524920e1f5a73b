//! Where cflog's entries go beyond stdout: sinks that talk to AWS services.
//!
//! Each destination is a [`cflog_pipeline::sink::SinkFactory`], so the
//! Lambda and the command line use it alike, and each sink says what it
//! delivered in its [`cflog_pipeline::sink::Delivery`]. Parsing is not
//! their business: entries arrive parsed, and each sink picks its
//! encoder.
//!
//! - [`s3`]: objects in S3 in Hive partitions, typed Parquet for Athena
//!   (`cflog-parquet`) or gzip NDJSON, idempotent by name.
//! - [`pack`]: entries packed into records and records into calls within a
//!   stream service's limits (Firehose, Kinesis Data Streams, SQS), for the
//!   stream destinations; [`retry`], sending again only what a service
//!   refused, with backoff and jitter, within a budget.
//! - `stream` (feature `streams`, on by default): NDJSON to Amazon Data
//!   Firehose, Kinesis Data Streams and SQS, packed, retried and bounded.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod pack;
pub mod retry;
pub mod s3;
#[cfg(feature = "streams")]
pub mod stream;
