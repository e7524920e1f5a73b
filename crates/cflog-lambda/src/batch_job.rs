//! An S3 Batch Operations invocation, read from its payload: the job and
//! its tasks, under invocation schema 1.0 or 2.0. What becomes of each task
//! is [`batch`](crate::batch)'s; this module only reads, so that
//! [`event`](crate::event) tells the events apart without reaching into the
//! handler.

use std::collections::BTreeMap;

use aws_lambda_events::s3_batch_job::S3BatchJobEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::error::HandlerError;

/// An S3 Batch Operations invocation, read from the `aws_lambda_events`
/// `S3BatchJobEvent` (which models schema 1.0) and the two fields schema
/// 2.0 adds (`s3Bucket` per task, `userArguments`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchJob {
    /// `invocationSchemaVersion`, as given: the response repeats it.
    pub schema_version: String,
    /// `invocationId`: the response repeats it.
    pub invocation_id: String,
    /// The job's id.
    pub job_id: Option<String>,
    /// Schema 2.0's `userArguments` (empty for 1.0).
    pub user_arguments: BTreeMap<String, String>,
    /// The tasks: one per invocation, as Batch Operations sends them.
    pub tasks: Vec<BatchTask>,
}

/// One task: an object to process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchTask {
    /// `taskId`: the result repeats it.
    pub task_id: String,
    /// The bucket's name, from `s3Bucket` (2.0) or `s3BucketArn` (1.0).
    pub bucket: Option<String>,
    /// `s3Key`, as given (URL-encoded under schema 1.0).
    pub key: String,
    /// `s3VersionId` (not used: the current version is read).
    pub version_id: Option<String>,
}

/// What schema 2.0 adds to the shape `S3BatchJobEvent` knows.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaTwo {
    #[serde(default)]
    job: JobTwo,
    #[serde(default)]
    tasks: Vec<TaskTwo>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobTwo {
    #[serde(default)]
    user_arguments: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskTwo {
    #[serde(default)]
    s3_bucket: Option<String>,
}

/// The invocation schemas this function reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// 1.0, the default: bucket ARN, URL-encoded key.
    One,
    /// 2.0: bucket name, user arguments, the key as it is.
    Two,
}

impl BatchJob {
    /// Reads an invocation payload.
    ///
    /// ```
    /// use cflog_lambda::batch::{BatchJob, Schema};
    /// let payload = serde_json::json!({
    ///     "invocationSchemaVersion": "2.0", "invocationId": "i",
    ///     "job": {"id": "j", "userArguments": {"run": "backfill"}},
    ///     "tasks": [{"taskId": "t", "s3Key": "cf logs/E1.gz", "s3VersionId": null, "s3Bucket": "logs"}],
    /// });
    /// let job = BatchJob::from_payload(&payload)?;
    /// assert_eq!(job.schema(), Some(Schema::Two));
    /// assert_eq!(job.tasks[0].bucket.as_deref(), Some("logs"));
    /// assert_eq!(job.user_arguments["run"], "backfill");
    /// # Ok::<(), cflog_lambda::HandlerError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `BadEvent`, when the payload does not have the shape of a Batch
    /// Operations invocation.
    pub fn from_payload(payload: &Value) -> Result<BatchJob, HandlerError> {
        let bad = |e: serde_json::Error| {
            HandlerError::bad_event(format!("not an S3 Batch Operations invocation: {e}"))
        };
        let event = S3BatchJobEvent::deserialize(payload).map_err(bad)?;
        let two = SchemaTwo::deserialize(payload).map_err(bad)?;
        let tasks = event
            .tasks
            .into_iter()
            .enumerate()
            .map(|(i, task)| {
                let named = two.tasks.get(i).and_then(|t| t.s3_bucket.clone());
                let from_arn = task.s3_bucket_arn.as_deref().map(bucket_of_arn);
                BatchTask {
                    task_id: task.task_id.unwrap_or_default(),
                    bucket: named.or(from_arn).filter(|b| !b.is_empty()),
                    key: task.s3_key.unwrap_or_default(),
                    version_id: task.s3_version_id,
                }
            })
            .collect();
        Ok(BatchJob {
            schema_version: event.invocation_schema_version.unwrap_or_default(),
            invocation_id: event.invocation_id.unwrap_or_default(),
            job_id: event.job.id,
            user_arguments: two.job.user_arguments.unwrap_or_default(),
            tasks,
        })
    }

    /// The invocation schema, when it is one this function reads.
    pub fn schema(&self) -> Option<Schema> {
        match self.schema_version.as_str() {
            "1.0" => Some(Schema::One),
            "2.0" => Some(Schema::Two),
            _ => None,
        }
    }
}

/// `arn:aws:s3:::bucket` is `bucket` (bucket names have no `:`).
fn bucket_of_arn(arn: &str) -> String {
    arn.rsplit(':').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureKind;

    #[test]
    fn the_bucket_is_read_from_either_arn_form() {
        assert_eq!(bucket_of_arn("arn:aws:s3:::cf-logs"), "cf-logs");
        // The form of an older AWS example.
        assert_eq!(
            bucket_of_arn("arn:aws:s3:us-east-1:0123456788:awsexamplebucket1"),
            "awsexamplebucket1"
        );
    }

    #[test]
    fn an_unknown_schema_is_kept_to_be_refused_per_task() {
        let payload = serde_json::json!({
            "invocationSchemaVersion": "3.0", "invocationId": "i", "job": {"id": "j"},
            "tasks": [{"taskId": "t", "s3Key": "k", "s3BucketArn": "arn:aws:s3:::b"}],
        });
        let job = BatchJob::from_payload(&payload).unwrap();
        assert_eq!(job.schema(), None);
        assert_eq!(job.tasks[0].bucket.as_deref(), Some("b"));
    }

    #[test]
    fn a_payload_of_another_shape_is_a_bad_event() {
        let payload = serde_json::json!({"invocationSchemaVersion": "1.0", "tasks": "none"});
        let err = BatchJob::from_payload(&payload).unwrap_err();
        assert_eq!(err.kind, FailureKind::BadEvent);
    }
}
