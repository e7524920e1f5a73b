//! Telling the events apart: what [`Handler::handle`](crate::Handler::handle)
//! reads from an invocation's payload before it touches S3 or a sink.
//!
//! Pure functions, so that the parsing is tested (and fuzzed) on its own.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;

use crate::batch_job::BatchJob;
use crate::error::HandlerError;

/// An invocation's payload, understood.
#[derive(Clone, Debug)]
pub enum Event {
    /// An S3 event notification: the objects to process.
    S3(S3Event),
    /// S3's `s3:TestEvent`, sent when a notification is configured; its
    /// `Bucket`, when it names one.
    S3Test(Option<Value>),
    /// A Kinesis batch of CloudFront real-time log records.
    Kinesis(KinesisEvent),
    /// An S3 Batch Operations invocation: the tasks of a job, invocation
    /// schema 1.0 or 2.0.
    S3Batch(BatchJob),
    /// An SQS batch, each message's body an S3 event notification (read
    /// with [`parse_notification`]).
    Sqs(SqsEvent),
    /// The rollup schedule's invocation, `{"cflog": "rollup"}`.
    Rollup,
}

/// What an SQS message's body says: S3 wrote it, as it would have
/// invoked the function directly.
#[derive(Clone, Debug)]
pub enum Notification {
    /// An S3 event notification.
    S3(S3Event),
    /// S3's `s3:TestEvent`, sent when the bucket's notification to the queue
    /// is configured; its `Bucket`, when it names one.
    S3Test(Option<Value>),
}

/// Reads an event payload: an S3 notification, S3's `s3:TestEvent`, a
/// Kinesis batch (its first record's `eventSource` is `aws:kinesis`), an SQS
/// batch (`aws:sqs`), or an S3 Batch Operations invocation (it has
/// `invocationSchemaVersion` and `tasks`).
///
/// ```
/// use cflog_lambda::event::{Event, parse_event};
/// let test = serde_json::json!({"Service": "Amazon S3", "Event": "s3:TestEvent"});
/// assert!(matches!(parse_event(test), Ok(Event::S3Test(None))));
/// let task = serde_json::json!({
///     "invocationSchemaVersion": "1.0", "invocationId": "i", "job": {"id": "j"},
///     "tasks": [{"taskId": "t", "s3Key": "E1.gz", "s3BucketArn": "arn:aws:s3:::logs"}],
/// });
/// assert!(matches!(parse_event(task), Ok(Event::S3Batch(_))));
/// assert!(parse_event(serde_json::json!({"Records": 1})).is_err());
/// ```
///
/// # Errors
///
/// `BadEvent`, when the payload is none of these, or its records do not
/// have the shape of their source.
pub fn parse_event(payload: Value) -> Result<Event, HandlerError> {
    if payload.get("cflog").and_then(Value::as_str) == Some("rollup") {
        return Ok(Event::Rollup);
    }
    if payload.get("invocationSchemaVersion").is_some() && payload.get("tasks").is_some() {
        return BatchJob::from_payload(&payload).map(Event::S3Batch);
    }
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        if payload.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return Ok(Event::S3Test(payload.get("Bucket").cloned()));
        }
        return Err(HandlerError::bad_event(
            "the event has no Records and is not an s3:TestEvent or an S3 Batch Operations task",
        ));
    };
    let source = records
        .first()
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str);
    match source {
        Some("aws:kinesis") => serde_json::from_value(payload)
            .map(Event::Kinesis)
            .map_err(|e| HandlerError::bad_event(format!("not a Kinesis event: {e}"))),
        Some("aws:sqs") => serde_json::from_value(payload)
            .map(Event::Sqs)
            .map_err(|e| HandlerError::bad_event(format!("not an SQS event: {e}"))),
        _ => serde_json::from_value(payload)
            .map(Event::S3)
            .map_err(|e| HandlerError::bad_event(format!("not an S3 event notification: {e}"))),
    }
}

/// Reads an SQS message's body: an S3 event notification or S3's
/// `s3:TestEvent`, and nothing else (an SNS envelope, a Kinesis or SQS
/// event inside a message, or a body that is not JSON, is refused).
///
/// ```
/// use cflog_lambda::event::{Notification, parse_notification};
/// let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}"#;
/// assert!(matches!(parse_notification(test), Ok(Notification::S3Test(Some(_)))));
/// assert!(parse_notification("{\"Records\": [").is_err());
/// assert!(parse_notification(r#"{"Records": [{"eventSource": "aws:kinesis"}]}"#).is_err());
/// let sns = r#"{"Type": "Notification", "Message": "{\"Records\": []}"}"#;
/// assert!(parse_notification(sns).unwrap_err().message.contains("raw message delivery"));
/// ```
///
/// # Errors
///
/// `BadEvent`, naming what the body is instead.
pub fn parse_notification(body: &str) -> Result<Notification, HandlerError> {
    let payload: Value = serde_json::from_str(body)
        .map_err(|e| HandlerError::bad_event(format!("the message body is not JSON: {e}")))?;
    if payload.get("Type").and_then(Value::as_str) == Some("Notification") {
        // S3 -> SNS -> SQS wraps the notification in an SNS envelope.
        return Err(HandlerError::bad_event(
            "the message body is an SNS notification: turn on raw message delivery on the \
             SNS subscription, so that the queue gets S3's notification itself",
        ));
    }
    match parse_event(payload)? {
        Event::S3(event) => Ok(Notification::S3(event)),
        Event::S3Test(bucket) => Ok(Notification::S3Test(bucket)),
        Event::Kinesis(_) | Event::Sqs(_) | Event::S3Batch(_) | Event::Rollup => Err(
            HandlerError::bad_event("the message body is not an S3 event notification"),
        ),
    }
}
