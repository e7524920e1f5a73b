//! The SQS-buffered trigger: the bucket notifies a queue, and Lambda polls
//! it and invokes the function with batches of messages, each body an S3
//! event notification (or S3's `s3:TestEvent`, acknowledged).
//!
//! The function answers with the messages to return to the queue
//! (`batchItemFailures`, read with `ReportBatchItemFailures`), so one bad
//! message never replays the batch. A returned message comes back after the
//! queue's visibility timeout; after `maxReceiveCount` receives the queue's
//! redrive policy moves it to the dead letter queue, where it stays visible
//! and can be moved back once the cause is fixed. So a message is returned
//! when a retry, or a redrive after a fix, can succeed, and whenever the
//! message itself would otherwise be lost:
//!
//! | a message whose … | is | why |
//! | --- | --- | --- |
//! | objects were all read (bad lines are counted, not failures) | acknowledged | |
//! | object no longer exists | acknowledged | nothing can read it again |
//! | object failed transiently: `S3Transient`, `OutputFailed` | returned | a retry is likely to succeed |
//! | object was refused: `S3AccessDenied`, `S3ObjectArchived`, `S3Permanent` | returned | a redrive succeeds once the policy is fixed or the object restored |
//! | body is not an S3 notification, or names no readable key (`BadEvent`) | returned | no retry helps, but the dead letter queue keeps it where it can be seen |
//! | object is corrupt or not a log: `CorruptGzip`, `CorruptParquet`, `UnsupportedCompression`, `NotACloudFrontLog` | acknowledged | the object will never read otherwise, and each retry would deliver its partial entries again; the failure is in its summary line, the object stays in the bucket |
//!
//! A message with several records is returned when any of them is, and its
//! other objects are then read again: SQS delivers at least once, and
//! `x_edge_request_id` is the idempotency key downstream.

use aws_lambda_events::event::s3::S3EventRecord;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use cflog_pipeline::MAX_LISTED_ERRORS;
use futures_util::StreamExt;
use serde::Serialize;

use crate::error::{FailureKind, HandlerError};
use crate::event::{Notification, parse_notification};
use crate::handler::Handler;
use crate::report::ObjectReport;
use crate::status::Status;

/// What became of one SQS batch, logged as one JSON line on stderr (each
/// object also has its own summary line).
#[derive(Clone, Debug, Serialize)]
pub struct SqsReport {
    /// Always `cflog.summary`, as for objects.
    pub kind: &'static str,
    /// Always `sqs`.
    pub source: &'static str,
    /// `ok`, or `retry` when messages were returned to the queue.
    pub status: Status,
    /// The queue's ARN, from the first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Messages in the batch.
    pub messages: u64,
    /// Objects the messages named.
    pub objects: u64,
    /// `s3:TestEvent` messages acknowledged.
    pub test_events: u64,
    /// Messages whose body is not an S3 event notification.
    pub malformed: u64,
    /// The ids of the messages returned to the queue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<String>,
    /// Why messages were malformed, each with its id (the first
    /// [`MAX_LISTED_ERRORS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Whether a message whose object failed this way goes back to the queue
/// (see the module's table).
pub fn returned_to_queue(kind: FailureKind) -> bool {
    !matches!(
        kind,
        FailureKind::CorruptGzip
            | FailureKind::CorruptParquet
            | FailureKind::UnsupportedCompression
            | FailureKind::NotACloudFrontLog
    )
}

impl Handler {
    /// Handles an SQS batch of S3 event notifications: every object of
    /// every message, with bounded concurrency, then the messages to return
    /// to the queue. Never an error: a failed message is an item of the
    /// response.
    pub async fn handle_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut report = SqsReport {
            kind: "cflog.summary",
            source: "sqs",
            status: Status::Ok,
            queue: event
                .records
                .first()
                .and_then(|m| m.event_source_arn.clone()),
            messages: event.records.len() as u64,
            objects: 0,
            test_events: 0,
            malformed: 0,
            retried: Vec::new(),
            errors: Vec::new(),
        };
        let mut returned = vec![false; event.records.len()];
        let mut objects: Vec<(usize, S3EventRecord)> = Vec::new();
        for (i, message) in event.records.iter().enumerate() {
            let body = message
                .body
                .as_deref()
                .ok_or_else(|| HandlerError::bad_event("the message has no body"));
            match body.and_then(parse_notification) {
                Ok(Notification::S3(notification)) => {
                    objects.extend(notification.records.into_iter().map(|r| (i, r)));
                }
                Ok(Notification::S3Test(bucket)) => {
                    tracing::info!(?bucket, "S3 test event acknowledged");
                    report.test_events += 1;
                }
                Err(err) => {
                    returned[i] = true;
                    report.malformed += 1;
                    if report.errors.len() < MAX_LISTED_ERRORS {
                        let id = message.message_id.as_deref().unwrap_or("(no id)");
                        report.errors.push(format!("message {id}: {err}"));
                    }
                }
            }
        }
        report.objects = objects.len() as u64;
        let reports: Vec<(usize, ObjectReport)> = futures_util::stream::iter(objects.iter())
            .map(|(i, record)| async move { (*i, self.process_record(record).await) })
            .buffered(self.concurrency())
            .collect()
            .await;
        for (i, object) in &reports {
            self.log_report(object);
            if object.status == Status::Failed && object.failure.is_none_or(returned_to_queue) {
                returned[*i] = true;
            }
        }
        let mut response = SqsBatchResponse::default();
        for (message, _) in event.records.iter().zip(&returned).filter(|(_, r)| **r) {
            match message.message_id.as_deref().filter(|id| !id.is_empty()) {
                Some(id) => {
                    response.add_failure(id);
                    report.retried.push(id.to_owned());
                    report.status = Status::Retry;
                }
                // Lambda would take an empty id as the whole batch failing:
                // such a message (SQS always gives one) is acknowledged.
                None => tracing::warn!("a message to return to the queue has no messageId"),
            }
        }
        self.log_line(&report);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_that_will_never_read_otherwise_are_acknowledged() {
        let acknowledged: Vec<FailureKind> = [
            FailureKind::S3Transient,
            FailureKind::OutputFailed,
            FailureKind::CorruptGzip,
            FailureKind::UnsupportedCompression,
            FailureKind::NotACloudFrontLog,
            FailureKind::S3AccessDenied,
            FailureKind::S3ObjectArchived,
            FailureKind::S3Permanent,
            FailureKind::BadEvent,
            FailureKind::NotConfigured,
        ]
        .into_iter()
        .filter(|kind| !returned_to_queue(*kind))
        .collect();
        assert_eq!(
            acknowledged,
            [
                FailureKind::CorruptGzip,
                FailureKind::UnsupportedCompression,
                FailureKind::NotACloudFrontLog
            ]
        );
    }
}
