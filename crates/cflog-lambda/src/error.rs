//! Invocation errors, mapped onto Lambda's error model.

use lambda_runtime::Diagnostic;
use serde::Serialize;

/// Why an object failed, from the most to the least worth retrying.
///
/// Its name is the Lambda `errorType` of a failed invocation, so an
/// on-failure destination or an alarm can tell the causes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum FailureKind {
    /// S3 failed or throttled the request, timed out, or the connection
    /// dropped mid-body. Lambda's retry is likely to succeed.
    S3Transient,
    /// Writing the entries failed.
    OutputFailed,
    /// The gzip data is corrupt or truncated.
    CorruptGzip,
    /// The object has lines but none is a CloudFront log entry (or the
    /// configured delimiter is wrong).
    NotACloudFrontLog,
    /// The event or its key cannot be understood.
    BadEvent,
    /// The event needs configuration the function lacks (a Kinesis event
    /// without `CFLOG_REALTIME_FIELDS`).
    NotConfigured,
}

impl FailureKind {
    /// The name, as used for `errorType`.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::S3Transient => "S3Transient",
            FailureKind::OutputFailed => "OutputFailed",
            FailureKind::CorruptGzip => "CorruptGzip",
            FailureKind::NotACloudFrontLog => "NotACloudFrontLog",
            FailureKind::BadEvent => "BadEvent",
            FailureKind::NotConfigured => "NotConfigured",
        }
    }
}

/// A failed invocation: one or more objects failed. Lambda then retries the
/// event (asynchronous invocations, twice by default) and finally sends it
/// to the on-failure destination.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    /// The most retry-worthy cause among the failures.
    pub kind: FailureKind,
    /// What failed, object by object.
    pub message: String,
}

impl HandlerError {
    /// An error for an event that cannot be understood.
    pub fn bad_event(message: impl Into<String>) -> HandlerError {
        HandlerError {
            kind: FailureKind::BadEvent,
            message: message.into(),
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: err.kind.name().to_owned(),
            error_message: err.message,
        }
    }
}
