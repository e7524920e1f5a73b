//! One invocation: its payload told apart ([`event`](crate::event)) and
//! handed to the handler of its kind, whose answer becomes the response.
//!
//! It sits above every kind's handler: [`handler`](crate::handler) for S3
//! notifications and Kinesis batches, [`batch`](crate::batch) for S3 Batch
//! Operations and [`sqs`](crate::sqs) for SQS batches.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_lambda_events::event::streams::KinesisEventResponse;
use aws_lambda_events::s3_batch_job::S3BatchJobResponse;
use serde::Serialize;
use serde_json::Value;

use crate::error::HandlerError;
use crate::event::{Event, parse_event};
use crate::handler::{Handler, S3Response};
use crate::report::ObjectReport;

/// The invocation's response.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// For an S3 event (or S3's test event): a report per object.
    S3(S3Response),
    /// For a Kinesis batch: the records Lambda should retry, in the shape
    /// its `ReportBatchItemFailures` setting expects.
    Kinesis(KinesisEventResponse),
    /// For an S3 Batch Operations invocation: a result code per task.
    S3Batch(S3BatchJobResponse),
    /// For an SQS batch: the messages Lambda should return to the queue.
    Sqs(SqsBatchResponse),
    /// For the rollup schedule's invocation: what it rolled up.
    #[cfg(feature = "parquet")]
    Rollup(crate::rollup::RollupResponse),
}

impl Response {
    /// The object reports (none for a Kinesis batch).
    pub fn objects(&self) -> &[ObjectReport] {
        match self {
            Response::S3(response) => &response.objects,
            Response::Kinesis(_) | Response::S3Batch(_) | Response::Sqs(_) => &[],
            #[cfg(feature = "parquet")]
            Response::Rollup(_) => &[],
        }
    }
}

impl Handler {
    /// Handles one event payload: an S3 notification (every record, with
    /// bounded concurrency), S3's `s3:TestEvent`, which is acknowledged, a
    /// Kinesis batch of real-time log records, an S3 Batch Operations
    /// invocation ([`handle_s3_batch`](Handler::handle_s3_batch)) or an SQS
    /// batch of S3 notifications ([`handle_sqs`](Handler::handle_sqs)).
    ///
    /// # Errors
    ///
    /// When the event cannot be understood, or when an object of an S3
    /// notification failed in a way that a retry or the on-failure
    /// destination should see. A missing object is logged and skipped; a bad
    /// line never fails an object. Batch Operations and SQS invocations
    /// answer object failures in their response instead.
    pub async fn handle(&self, payload: Value) -> Result<Response, HandlerError> {
        self.handle_until(payload, None).await
    }

    /// As [`handle`](Handler::handle), with the invocation's deadline: the
    /// rollup's invocation starts no hour it leaves too little time for, and
    /// hands those on ([`rollup`](crate::rollup)).
    ///
    /// # Errors
    ///
    /// As [`handle`](Handler::handle); for the rollup, when an hour failed.
    pub async fn handle_until(
        &self,
        payload: Value,
        deadline: Option<std::time::Instant>,
    ) -> Result<Response, HandlerError> {
        match parse_event(payload)? {
            Event::S3Test(bucket) => {
                tracing::info!(?bucket, "S3 test event acknowledged");
                Ok(Response::S3(S3Response::default()))
            }
            Event::Kinesis(event) => self.handle_kinesis(event).await.map(Response::Kinesis),
            Event::S3(event) => self.handle_s3(event).await.map(Response::S3),
            Event::S3Batch(job) => Ok(Response::S3Batch(self.handle_s3_batch(job).await)),
            Event::Sqs(event) => Ok(Response::Sqs(self.handle_sqs(event).await)),
            #[cfg(feature = "parquet")]
            // Boxed: the rollup's future is deep, and the binary's would
            // pass the compiler's layout depth with it inline.
            Event::Rollup(event) => Box::pin(self.handle_rollup(&event, deadline))
                .await
                .map(Response::Rollup),
            #[cfg(not(feature = "parquet"))]
            Event::Rollup(_) => {
                let _ = deadline;
                Err(HandlerError {
                    kind: crate::error::FailureKind::NotConfigured,
                    message: "this build has no rollup (cflog-lambda's feature `parquet`)".into(),
                })
            }
        }
    }
}
