//! Telling the events apart: what [`Handler::handle`](crate::Handler::handle)
//! reads from an invocation's payload before it touches S3 or a sink.
//!
//! Pure functions, so that the parsing is tested (and fuzzed) on its own.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use cflog_destinations::s3::{HourKey, Partition};
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
    /// The rollup schedule's invocation, `{"cflog": "rollup"}`, or the rest
    /// of one handed on by a run that neared its deadline.
    Rollup(RollupEvent),
}

/// A rollup invocation: the schedule's, `{"cflog": "rollup"}`, which rolls
/// the last `CFLOG_ROLLUP_WINDOW_HOURS`; or one a run near its deadline
/// hands on to the function, with the run's window, the hour to resume at
/// and how many hand-overs came before:
///
/// ```json
/// {"cflog": "rollup",
///  "since": "year=2019/month=12/day=03/hour=12", "until": "year=2019/month=12/day=05/hour=12",
///  "resume": "distribution=E2EXAMPLE/year=2019/month=12/day=04/hour=21", "handover": 1}
/// ```
///
/// ```
/// use cflog_lambda::event::{Event, RollupEvent, parse_event};
///
/// let scheduled = parse_event(serde_json::json!({"cflog": "rollup"})).unwrap();
/// assert!(matches!(scheduled, Event::Rollup(e) if e == RollupEvent::default()));
/// let handed_on = serde_json::json!({
///     "cflog": "rollup",
///     "since": "year=2019/month=12/day=03/hour=12",
///     "until": "year=2019/month=12/day=05/hour=12",
///     "resume": "distribution=E2EXAMPLE/year=2019/month=12/day=04/hour=21",
///     "handover": 1,
/// });
/// let Ok(Event::Rollup(event)) = parse_event(handed_on.clone()) else { panic!() };
/// assert_eq!(event.handover, 1);
/// assert_eq!(event.payload(), handed_on);
/// assert!(parse_event(serde_json::json!({"cflog": "rollup", "resume": "hour=21"})).is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollupEvent {
    /// The first hour and the hour after the last of the run handing on;
    /// none for the schedule's, whose window ends at the current hour.
    pub window: Option<(HourKey, HourKey)>,
    /// The distribution-hour to start at: the first the run handing on
    /// left.
    pub resume: Option<Partition>,
    /// The hand-overs before this invocation: 0 for the schedule's.
    pub handover: u32,
}

impl RollupEvent {
    /// Reads the fields of a `{"cflog": "rollup"}` payload.
    ///
    /// # Errors
    ///
    /// `BadEvent`, when a field is there but not what it should be, or the
    /// window is half there.
    fn from_payload(payload: &Value) -> Result<RollupEvent, HandlerError> {
        let text = |name: &str| -> Result<Option<&str>, HandlerError> {
            match payload.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text)),
                Some(_) => Err(HandlerError::bad_event(format!(
                    "the rollup event's {name} is not a string"
                ))),
            }
        };
        let hour = |name: &str| -> Result<Option<HourKey>, HandlerError> {
            text(name)?
                .map(|path| {
                    HourKey::parse(path).ok_or_else(|| {
                        HandlerError::bad_event(format!(
                            "the rollup event's {name} is not year=YYYY/month=MM/day=DD/hour=HH: {path:?}"
                        ))
                    })
                })
                .transpose()
        };
        let window = match (hour("since")?, hour("until")?) {
            (Some(since), Some(until)) => Some((since, until)),
            (None, None) => None,
            _ => {
                return Err(HandlerError::bad_event(
                    "the rollup event has one of since and until without the other",
                ));
            }
        };
        let resume = text("resume")?
            .map(|path| {
                Partition::parse(path).ok_or_else(|| {
                    HandlerError::bad_event(format!(
                        "the rollup event's resume is not distribution=<id>/year=YYYY/month=MM/day=DD/hour=HH: {path:?}"
                    ))
                })
            })
            .transpose()?;
        let handover = match payload.get("handover") {
            None | Some(Value::Null) => 0,
            Some(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    HandlerError::bad_event("the rollup event's handover is not a count")
                })?,
        };
        Ok(RollupEvent {
            window,
            resume,
            handover,
        })
    }

    /// The payload that [`parse_event`] reads back into this event.
    pub fn payload(&self) -> Value {
        let mut payload = serde_json::json!({"cflog": "rollup"});
        if let Some((since, until)) = self.window {
            payload["since"] = since.to_string().into();
            payload["until"] = until.to_string().into();
        }
        if let Some(resume) = &self.resume {
            payload["resume"] = resume.path().into();
        }
        if self.handover > 0 {
            payload["handover"] = self.handover.into();
        }
        payload
    }
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
        return RollupEvent::from_payload(&payload).map(Event::Rollup);
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
        Event::Kinesis(_) | Event::Sqs(_) | Event::S3Batch(_) | Event::Rollup(_) => Err(
            HandlerError::bad_event("the message body is not an S3 event notification"),
        ),
    }
}
