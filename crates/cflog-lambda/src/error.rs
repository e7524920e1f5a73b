//! The function's errors: a variable with a bad value, which fails the cold
//! start, and an invocation's, mapped onto Lambda's error model.

use cflog_pipeline::input::InputError;
use cflog_pipeline::s3::RequestFailure;
use lambda_runtime::Diagnostic;
use serde::Serialize;

/// A variable with a bad value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

/// Why an object failed, from the most to the least worth retrying.
///
/// Its name is the Lambda `errorType` of a failed invocation, so an
/// on-failure destination or an alarm can tell the causes apart: "S3 had a
/// hiccup" (`S3Transient`) from "fix your IAM" (`S3AccessDenied`). Only
/// `S3Transient` and `OutputFailed` are worth a retry; the others are
/// [permanent](FailureKind::is_permanent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum FailureKind {
    /// S3 failed or throttled the request, timed out, or the connection
    /// dropped mid-body. Lambda's retry is likely to succeed.
    S3Transient,
    /// Writing the entries failed.
    OutputFailed,
    /// The gzip data is corrupt or truncated.
    CorruptGzip,
    /// The object is Parquet, and corrupt or truncated (a footer that does
    /// not decode, a page that does not), or this build reads no Parquet.
    CorruptParquet,
    /// The object is compressed with something other than gzip (zlib,
    /// bzip2, xz, zstd), which CloudFront never writes.
    UnsupportedCompression,
    /// The object has lines but none is a CloudFront log entry (or the
    /// configured delimiter is wrong).
    NotACloudFrontLog,
    /// S3 denied access, or refused the credentials: the function's role,
    /// the bucket policy or the KMS key policy needs fixing.
    S3AccessDenied,
    /// The object is in an archive storage class (Glacier Flexible
    /// Retrieval, Deep Archive, an Intelligent-Tiering archive tier) and
    /// must be restored first.
    S3ObjectArchived,
    /// S3 refused the request for another reason that a retry cannot fix,
    /// such as a bucket that does not exist.
    S3Permanent,
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
            FailureKind::CorruptParquet => "CorruptParquet",
            FailureKind::UnsupportedCompression => "UnsupportedCompression",
            FailureKind::NotACloudFrontLog => "NotACloudFrontLog",
            FailureKind::S3AccessDenied => "S3AccessDenied",
            FailureKind::S3ObjectArchived => "S3ObjectArchived",
            FailureKind::S3Permanent => "S3Permanent",
            FailureKind::BadEvent => "BadEvent",
            FailureKind::NotConfigured => "NotConfigured",
        }
    }
}

impl FailureKind {
    /// Whether a retry cannot help: anything but a transient S3 failure or
    /// a failure of the output. S3 Batch Operations reports these as
    /// `PermanentFailure`, the others as `TemporaryFailure`.
    pub fn is_permanent(self) -> bool {
        !matches!(self, FailureKind::S3Transient | FailureKind::OutputFailed)
    }

    /// The kind for a failed S3 request.
    pub fn of_request(failure: RequestFailure) -> FailureKind {
        match failure {
            RequestFailure::Transient => FailureKind::S3Transient,
            RequestFailure::AccessDenied => FailureKind::S3AccessDenied,
            RequestFailure::Archived => FailureKind::S3ObjectArchived,
            _ => FailureKind::S3Permanent,
        }
    }

    /// The kind for an object whose body could not be read to its end.
    pub fn of_input<E>(err: &InputError<E>) -> FailureKind {
        match err {
            InputError::Source(_) => FailureKind::S3Transient,
            InputError::Decompress(_) => FailureKind::CorruptGzip,
            InputError::Unsupported(_) => FailureKind::UnsupportedCompression,
            #[cfg(feature = "parquet")]
            InputError::Parquet(e) => {
                use cflog_pipeline::parquet::ReadError;
                match e.as_ref() {
                    ReadError::NoCloudFrontColumn { .. }
                    | ReadError::ColumnType { .. }
                    | ReadError::Schema(_) => FailureKind::NotACloudFrontLog,
                    _ => FailureKind::CorruptParquet,
                }
            }
            InputError::ParquetNotBuilt => FailureKind::CorruptParquet,
            // Only streams are copied; S3 objects are read by ranges.
            InputError::Spool(_) => FailureKind::S3Transient,
            _ => FailureKind::OutputFailed,
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
