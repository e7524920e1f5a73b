//! Telling the events apart: what [`Handler::handle`](crate::Handler::handle)
//! reads from an invocation's payload before it touches S3 or a sink.
//!
//! A pure function, so that the parsing is tested (and fuzzed) on its own.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::s3::S3Event;
use serde_json::Value;

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
}

/// Reads an event payload: an S3 notification, S3's `s3:TestEvent`, or a
/// Kinesis batch (its first record's `eventSource` is `aws:kinesis`).
///
/// ```
/// use cflog_lambda::event::{Event, parse_event};
/// let test = serde_json::json!({"Service": "Amazon S3", "Event": "s3:TestEvent"});
/// assert!(matches!(parse_event(test), Ok(Event::S3Test(None))));
/// assert!(parse_event(serde_json::json!({"Records": 1})).is_err());
/// ```
///
/// # Errors
///
/// `BadEvent`, when the payload has no `Records` array and is not a test
/// event, or its records do not have the shape of their source.
pub fn parse_event(payload: Value) -> Result<Event, HandlerError> {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        if payload.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return Ok(Event::S3Test(payload.get("Bucket").cloned()));
        }
        return Err(HandlerError::bad_event(
            "the event has no Records and is not an s3:TestEvent",
        ));
    };
    let from_kinesis = records
        .first()
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:kinesis");
    if from_kinesis {
        return serde_json::from_value(payload)
            .map(Event::Kinesis)
            .map_err(|e| HandlerError::bad_event(format!("not a Kinesis event: {e}")));
    }
    serde_json::from_value(payload)
        .map(Event::S3)
        .map_err(|e| HandlerError::bad_event(format!("not an S3 event notification: {e}")))
}
