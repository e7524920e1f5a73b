//! What went wrong with a call, and with an input's delivery.

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes the three services answer when a caller goes too fast, or
/// when they are briefly unable to take a record: worth another attempt.
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "KMSThrottlingException",
    "RequestThrottled",
    "LimitExceededException",
];

/// Whether a service's error `code` is worth another attempt.
pub(crate) fn retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// A call that failed as a whole: no record of it was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    /// The service's error code, such as `ResourceNotFoundException`; `None`
    /// when no answer came (a timeout, a reset connection).
    pub code: Option<String>,
    /// What failed, as the SDK tells it.
    pub message: String,
    /// Whether another attempt may succeed: throttling, a server error, no
    /// answer. A missing stream or a denied permission is not.
    pub retryable: bool,
}

impl CallError {
    /// A failure that no attempt mends and that has no service code: a
    /// request that could not be built, an answer that makes no sense.
    pub fn permanent(message: impl fmt::Display) -> CallError {
        CallError {
            code: None,
            message: message.to_string(),
            retryable: false,
        }
    }

    /// Classifies an SDK call's failure.
    pub fn from_sdk<E>(error: &SdkError<E, HttpResponse>) -> CallError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        match error {
            SdkError::ServiceError(service) => {
                let meta = service.err().meta();
                let code = meta.code().map(str::to_owned);
                let status = service.raw().status().as_u16();
                let retryable =
                    status >= 500 || status == 429 || code.as_deref().is_some_and(retryable_code);
                // The service's own words, and what finds the call in its logs.
                let mut message = meta.message().unwrap_or("no message").to_owned();
                message.push_str(&format!(" (HTTP {status}"));
                if let Some(id) = meta.extra("aws_request_id") {
                    message.push_str(&format!(", request id {id}"));
                }
                message.push(')');
                CallError {
                    code,
                    message,
                    retryable,
                }
            }
            // No answer, or one that could not be read: the call may or may
            // not have been taken, so it is sent again (at least once).
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => CallError {
                code: None,
                message: DisplayErrorContext(error).to_string(),
                retryable: true,
            },
            _ => CallError::permanent(DisplayErrorContext(error)),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl StdError for CallError {}

/// Why the service did not take one record of a call that succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The service's error code, such as
    /// `ProvisionedThroughputExceededException`.
    pub code: String,
    /// The service's message.
    pub message: String,
    /// Whether sending the record again may succeed (throttling does; a
    /// message SQS finds malformed does not).
    pub retryable: bool,
}

impl Refusal {
    /// A refusal whose retryability follows from its code.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Refusal {
        let code = code.into();
        Refusal {
            retryable: retryable_code(&code),
            code,
            message: message.into(),
        }
    }
}

/// Why some entries of an input were not delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The service kept refusing some records of a call until the attempts
    /// ran out, or refused them for good.
    #[error(
        "{} ({}) refused after {}, last with {}: {}",
        Count(*records as u64, "record", "records"),
        Count(*entries, "entry", "entries"),
        Count(u64::from(*attempts), "attempt", "attempts"),
        last.code,
        last.message
    )]
    Refused {
        /// The records still refused.
        records: usize,
        /// The entries in them.
        entries: u64,
        /// Attempts made, the first included.
        attempts: u32,
        /// The last refusal.
        last: Refusal,
    },
    /// Calls failed as a whole until the attempts ran out, or with an
    /// error no attempt mends.
    #[error(
        "a call of {} ({}) failed after {}: {error}",
        Count(*records as u64, "record", "records"),
        Count(*entries, "entry", "entries"),
        Count(u64::from(*attempts), "attempt", "attempts")
    )]
    Call {
        /// The records of the call that were not delivered.
        records: usize,
        /// The entries in them.
        entries: u64,
        /// Attempts made, the first included.
        attempts: u32,
        /// The last failure.
        error: CallError,
    },
    /// The task sending a call panicked or was cancelled.
    #[error("the task sending a call ended without an answer: {0}")]
    Task(String),
}

/// A number and its noun: `1 record`, `2 records`.
struct Count(u64, &'static str, &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0 == 1 { self.1 } else { self.2 };
        write!(f, "{} {noun}", self.0)
    }
}

/// An input whose entries were not all delivered. Some may have been: a
/// retry of the input sends those again (delivery is at least once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSinkError {
    /// The service, such as `kinesis`.
    pub service: &'static str,
    /// The stream or queue.
    pub target: String,
    /// The input, as in its report.
    pub input: String,
    /// The first failure.
    pub failure: Failure,
    /// Entries of the input the service had taken when the sink stopped.
    pub delivered: u64,
    /// Entries of the input the sink had taken.
    pub taken: u64,
}

impl StreamSinkError {
    /// Whether part of the input reached the destination before the
    /// failure.
    pub fn partly_delivered(&self) -> bool {
        self.delivered > 0
    }
}

impl fmt::Display for StreamSinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The input is left out: whoever reports the error names it.
        write!(
            f,
            "{} {}: {}; {} of the {} entries taken were delivered before the failure",
            self.service, self.target, self.failure, self.delivered, self.taken
        )
    }
}

impl StdError for StreamSinkError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retried_and_a_missing_stream_is_not() {
        assert!(Refusal::new("ProvisionedThroughputExceededException", "slow down").retryable);
        assert!(Refusal::new("ServiceUnavailableException", "busy").retryable);
        assert!(!Refusal::new("InvalidParameterValue", "bad body").retryable);
        assert!(!retryable_code("ResourceNotFoundException"));
        assert!(!retryable_code("AccessDeniedException"));
    }

    #[test]
    fn the_error_says_what_was_delivered() {
        let error = StreamSinkError {
            service: "kinesis",
            target: "cflog-out".into(),
            input: "s3://logs/E1.2019-12-04-21.a.gz".into(),
            failure: Failure::Refused {
                records: 2,
                entries: 2,
                attempts: 8,
                last: Refusal::new("ProvisionedThroughputExceededException", "Rate exceeded"),
            },
            delivered: 98,
            taken: 100,
        };
        assert!(error.partly_delivered());
        assert_eq!(
            error.to_string(),
            "kinesis cflog-out: 2 records (2 entries) refused after 8 \
             attempts, last with ProvisionedThroughputExceededException: Rate exceeded; 98 of the 100 \
             entries taken were delivered before the failure"
        );
    }

    #[test]
    fn one_is_singular() {
        let failure = Failure::Call {
            records: 1,
            entries: 1,
            attempts: 1,
            error: CallError::permanent("no such queue"),
        };
        assert_eq!(
            failure.to_string(),
            "a call of 1 record (1 entry) failed after 1 attempt: no such queue"
        );
    }
}
