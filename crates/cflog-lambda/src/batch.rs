//! S3 Batch Operations: a job that invokes the function for every object of
//! a manifest, the engine for logs already in S3.
//!
//! Each task's object goes the way an S3 event's object goes (the same
//! pipeline, the same sink), and its outcome becomes the task's result
//! code, which Batch Operations acts on and writes into the job's
//! completion report:
//!
//! | outcome | `resultCode` | `resultString` |
//! | --- | --- | --- |
//! | read to its end | `Succeeded` | `6 entries, 1 rejected (field_count: 1)` |
//! | S3 throttled or failed, a timeout, a failed output | `TemporaryFailure` (Batch Operations retries it) | `S3Transient: …` |
//! | corrupt gzip, not a log, access denied, archived, a bad task | `PermanentFailure` | `CorruptGzip: …` |
//! | the object does not exist, or is under `CFLOG_IGNORE_PREFIX` | `PermanentFailure` | `Skipped: …` |
//!
//! A failed task never fails the tasks beside it, and the invocation itself
//! always succeeds, with a result per task.
//!
//! # Keys: schema 1.0 and 2.0
//!
//! Schema 1.0 (the default) names the bucket by ARN (`s3BucketArn`) and
//! sends the key URL-encoded, as the manifest has it (`+` or `%20` for a
//! space), so it is decoded as an S3 event's key is. Schema 2.0 (needed for
//! `userArguments`, which are logged and otherwise ignored) names the bucket
//! (`s3Bucket`) and sends the key as it is. AWS's pages do not say so in
//! words for 2.0, so a 2.0 key that is not found is tried once more decoded
//! when decoding changes it: either reading of the key then reaches the
//! object.
//!
//! `s3VersionId` is not used: the object's current version is read (the
//! log bucket is not versioned, and CloudFront writes each key once).

use aws_lambda_events::s3_batch_job::{S3BatchJobResponse, S3BatchJobResult};
use cflog_pipeline::Summary;
use cflog_pipeline::s3::decode_event_key;
use futures_util::StreamExt;

pub use crate::batch_job::{BatchJob, BatchTask, Schema};
use crate::error::FailureKind;
use crate::handler::{Handler, ObjectRef};
use crate::report::{ObjectReport, failed};
use crate::status::Status;

/// The longest `resultString`, in bytes: one cell of the completion report's
/// CSV, which should stay readable.
pub const MAX_RESULT_STRING: usize = 1024;

/// A task's result code, as Batch Operations reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultCode {
    /// Done; the result string goes into the completion report.
    Succeeded,
    /// Batch Operations retries the task before the job completes.
    TemporaryFailure,
    /// The task is marked failed in the report, with the result string.
    PermanentFailure,
}

impl ResultCode {
    /// The name Batch Operations reads.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResultCode::Succeeded => "Succeeded",
            ResultCode::TemporaryFailure => "TemporaryFailure",
            ResultCode::PermanentFailure => "PermanentFailure",
        }
    }
}

/// The result code and string of an object's report.
///
/// ```
/// use cflog_lambda::batch::{ResultCode, result_of};
/// use cflog_lambda::{FailureKind, ObjectReport, Status};
///
/// let mut report = ObjectReport {
///     kind: "cflog.summary",
///     status: Status::Ok,
///     bucket: "logs".into(),
///     key: "E1.gz".into(),
///     failure: None,
///     error: None,
///     summary: Default::default(),
/// };
/// report.summary.entries = 6;
/// assert_eq!(result_of(&report), (ResultCode::Succeeded, "6 entries, 0 rejected".into()));
///
/// report.status = Status::Failed;
/// report.failure = Some(FailureKind::S3Transient);
/// report.error = Some("GetObject s3://logs/E1.gz failed: SlowDown".into());
/// let (code, text) = result_of(&report);
/// assert_eq!(code, ResultCode::TemporaryFailure);
/// assert_eq!(text, "S3Transient: GetObject s3://logs/E1.gz failed: SlowDown");
/// ```
pub fn result_of(report: &ObjectReport) -> (ResultCode, String) {
    let error = report.error.as_deref().unwrap_or_default();
    let (code, text) = match (report.status, report.failure) {
        (Status::Ok, _) => (ResultCode::Succeeded, counts(&report.summary)),
        (Status::Failed, Some(kind)) if !kind.is_permanent() => (
            ResultCode::TemporaryFailure,
            format!("{}: {error}", kind.name()),
        ),
        (_, Some(kind)) => (
            ResultCode::PermanentFailure,
            format!("{}: {error}", kind.name()),
        ),
        (_, None) => (ResultCode::PermanentFailure, format!("Skipped: {error}")),
    };
    (code, bounded(text))
}

/// `6 entries, 2 rejected (field_count: 1, line_too_long: 1)`.
fn counts(summary: &Summary) -> String {
    let entries = match summary.entries {
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    };
    let mut text = format!("{entries}, {} rejected", summary.rejected);
    if !summary.rejected_by_reason.is_empty() {
        let reasons: Vec<String> = summary
            .rejected_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        text = format!("{text} ({})", reasons.join(", "));
    }
    text
}

/// Cut to [`MAX_RESULT_STRING`] bytes, on a character boundary.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_RESULT_STRING {
        let mut end = MAX_RESULT_STRING - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

impl Handler {
    /// Handles an S3 Batch Operations invocation: every task's object, with
    /// bounded concurrency, each answered with its own result code. Never
    /// an error: a failed task is a result, and fails nothing beside it.
    pub async fn handle_s3_batch(&self, job: BatchJob) -> S3BatchJobResponse {
        if !job.user_arguments.is_empty() {
            tracing::info!(job = ?job.job_id, user_arguments = ?job.user_arguments, "S3 Batch Operations user arguments (not used)");
        }
        let schema = job.schema();
        let reports: Vec<ObjectReport> = futures_util::stream::iter(job.tasks.iter())
            .map(|task| self.process_task(schema, &job.schema_version, task))
            .buffered(self.concurrency())
            .collect()
            .await;
        let mut response = S3BatchJobResponse::default();
        response.invocation_schema_version = Some(job.schema_version.clone());
        response.invocation_id = Some(job.invocation_id.clone());
        // Tasks the response leaves out (there are none) would not be retried.
        response.treat_missing_keys_as = Some(ResultCode::PermanentFailure.as_str().into());
        for (task, report) in job.tasks.iter().zip(&reports) {
            self.log_report(report);
            let (code, text) = result_of(report);
            let mut result = S3BatchJobResult::default();
            result.task_id = Some(task.task_id.clone());
            result.result_code = Some(code.as_str().into());
            result.result_string = Some(text);
            response.results.push(result);
        }
        response
    }

    async fn process_task(
        &self,
        schema: Option<Schema>,
        version: &str,
        task: &BatchTask,
    ) -> ObjectReport {
        let bucket = task.bucket.clone().unwrap_or_default();
        let Some(schema) = schema else {
            let message = format!("invocation schema version {version:?} is not 1.0 or 2.0");
            return bad_task(bucket, task.key.clone(), message);
        };
        if bucket.is_empty() || task.key.is_empty() {
            let message = "the task names no bucket or key".to_owned();
            return bad_task(bucket, task.key.clone(), message);
        }
        if let Some(version) = &task.version_id {
            tracing::debug!(
                version,
                key = task.key,
                "s3VersionId is not used; reading the current version"
            );
        }
        let decoded = decode_event_key(&task.key);
        match schema {
            Schema::One => match decoded {
                Ok(key) => self.process_object_ref(ObjectRef { bucket, key }).await,
                Err(e) => bad_task(bucket, task.key.clone(), e.to_string()),
            },
            Schema::Two => {
                let object = ObjectRef {
                    bucket: bucket.clone(),
                    key: task.key.clone(),
                };
                let report = self.process_object_ref(object).await;
                match decoded {
                    Ok(key) if report.status == Status::Skipped && key != task.key => {
                        tracing::info!(
                            key = task.key,
                            decoded = key,
                            "not found as given; trying the key URL-decoded"
                        );
                        self.process_object_ref(ObjectRef { bucket, key }).await
                    }
                    _ => report,
                }
            }
        }
    }
}

fn bad_task(bucket: String, key: String, message: String) -> ObjectReport {
    failed(
        bucket,
        key,
        FailureKind::BadEvent,
        message,
        Summary::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_result_string_is_cut_on_a_character_boundary() {
        let text = bounded("é".repeat(MAX_RESULT_STRING));
        assert!(text.len() <= MAX_RESULT_STRING, "{}", text.len());
        assert!(text.ends_with('…'));
        assert_eq!(bounded("short".into()), "short");
    }
}
