//! The reports: what became of one object, or of one Kinesis batch. The
//! handler makes them, logs each as one JSON line on stderr (or where
//! `Handler::reports_to` says), and
//! [`metrics`](crate::metrics) turns them into CloudWatch metrics; they
//! depend on neither.

use cflog_pipeline::Summary;
use serde::Serialize;

use crate::error::FailureKind;
use crate::status::Status;

/// What became of one object. One is logged per object, as a JSON line on
/// stderr, and all are returned as the invocation's response.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectReport {
    /// Always `cflog.summary`, to find these lines among the entries.
    pub kind: &'static str,
    /// `ok`, `skipped` (the object no longer exists, or is under
    /// `CFLOG_IGNORE_PREFIX`) or `failed`.
    pub status: Status,
    /// The bucket.
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// The error message, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The counts (for a failed object, what was read before the failure).
    #[serde(flatten)]
    pub summary: Summary,
}

/// What became of one Kinesis batch, logged as one JSON line on stderr.
#[derive(Clone, Debug, Serialize)]
pub struct BatchReport {
    /// Always `cflog.summary`, as for objects.
    pub kind: &'static str,
    /// Always `kinesis`.
    pub source: &'static str,
    /// `ok`, `retry` (records were returned as batch item failures) or
    /// `failed` (the output failed; the whole batch is retried).
    pub status: Status,
    /// The stream's ARN, from the first record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Records in the batch.
    pub records: u64,
    /// Records that had at least one rejected line.
    pub records_with_rejects: u64,
    /// The sequence numbers returned as batch item failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<String>,
    /// The error, when the batch failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The totals over the records processed. Listed errors name their
    /// record's sequence number; their line numbers count within it.
    #[serde(flatten)]
    pub summary: Summary,
}

/// The report of an object that failed.
pub(crate) fn failed(
    bucket: String,
    key: String,
    kind: FailureKind,
    message: String,
    summary: Summary,
) -> ObjectReport {
    report(
        Status::Failed,
        bucket,
        key,
        Some(kind),
        Some(message),
        summary,
    )
}

/// The report of an object.
pub(crate) fn report(
    status: Status,
    bucket: String,
    key: String,
    failure: Option<FailureKind>,
    error: Option<String>,
    summary: Summary,
) -> ObjectReport {
    ObjectReport {
        kind: "cflog.summary",
        status,
        bucket,
        key,
        failure,
        error,
        summary,
    }
}
