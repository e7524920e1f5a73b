//! The handler: one invocation, one event, every object in it.

use std::io::Write;
use std::sync::Arc;

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use aws_sdk_s3::Client;
use cflog_pipeline::Summary;
use cflog_pipeline::input::InputError;
use cflog_pipeline::s3::{ObjectError, decode_event_key, process_object};
use cflog_pipeline::sink::{NdjsonSink, NullSink, Sink};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, SinkKind};
use crate::error::{FailureKind, HandlerError};

/// Makes the sink for each object.
pub type SinkFactory = dyn Fn(&ObjectRef) -> Box<dyn Sink + Send> + Send + Sync;

/// An object named by an event, its key decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The decoded key.
    pub key: String,
}

/// What became of one object. One is logged per object, as a JSON line on
/// stderr, and all are returned as the invocation's response.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectReport {
    /// Always `cflog.summary`, to find these lines among the entries.
    pub kind: &'static str,
    /// `ok`, `skipped` (the object no longer exists) or `failed`.
    pub status: &'static str,
    /// The bucket.
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// The error message, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The counts (for a failed object, what was read before the failure).
    #[serde(flatten)]
    pub summary: Summary,
}

/// The invocation's response.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Response {
    /// One report per object, in event order.
    pub objects: Vec<ObjectReport>,
}

/// Handles S3 events with one S3 client and one configuration, both built
/// once at cold start.
pub struct Handler {
    client: Client,
    config: Config,
    sinks: Arc<SinkFactory>,
}

impl Handler {
    /// A handler whose sink is the configured one.
    pub fn new(client: Client, config: Config) -> Handler {
        let selection = config.selection.clone();
        let kind = config.sink;
        let sinks: Arc<SinkFactory> = Arc::new(move |_: &ObjectRef| -> Box<dyn Sink + Send> {
            match kind {
                SinkKind::Stdout => Box::new(NdjsonSink::stdout(selection.clone())),
                SinkKind::None => Box::new(NullSink::new()),
            }
        });
        Handler {
            client,
            config,
            sinks,
        }
    }

    /// A handler that sends entries to sinks of your own, one per object.
    pub fn with_sinks(
        client: Client,
        config: Config,
        sinks: impl Fn(&ObjectRef) -> Box<dyn Sink + Send> + Send + Sync + 'static,
    ) -> Handler {
        Handler {
            client,
            config,
            sinks: Arc::new(sinks),
        }
    }

    /// Handles one event payload: an S3 notification (every record, with
    /// bounded concurrency) or S3's `s3:TestEvent`, which is acknowledged.
    ///
    /// # Errors
    ///
    /// When the event cannot be understood, or when an object failed in a
    /// way that a retry or the on-failure destination should see. A missing
    /// object is logged and skipped; a bad line never fails an object.
    pub async fn handle(&self, payload: Value) -> Result<Response, HandlerError> {
        if payload.get("Records").is_none() {
            if payload.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
                tracing::info!(bucket = ?payload.get("Bucket"), "S3 test event acknowledged");
                return Ok(Response::default());
            }
            return Err(HandlerError::bad_event(
                "the event has no Records and is not an s3:TestEvent",
            ));
        }
        let event: S3Event = serde_json::from_value(payload)
            .map_err(|e| HandlerError::bad_event(format!("not an S3 event notification: {e}")))?;
        self.handle_s3(event).await
    }

    /// Handles an S3 event notification.
    ///
    /// # Errors
    ///
    /// As [`handle`](Handler::handle).
    pub async fn handle_s3(&self, event: S3Event) -> Result<Response, HandlerError> {
        let reports: Vec<ObjectReport> = futures_util::stream::iter(event.records.iter())
            .map(|record| self.process_record(record))
            .buffered(self.config.concurrency)
            .collect()
            .await;
        for report in &reports {
            log_report(report);
        }
        let failed: Vec<&ObjectReport> = reports.iter().filter(|r| r.status == "failed").collect();
        match failed.iter().filter_map(|r| r.failure).min() {
            None => Ok(Response { objects: reports }),
            Some(kind) => {
                let message = failed
                    .iter()
                    .map(|r| r.error.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("; ");
                Err(HandlerError {
                    kind,
                    message: format!(
                        "{} of {} objects failed: {message}",
                        failed.len(),
                        reports.len()
                    ),
                })
            }
        }
    }

    async fn process_record(&self, record: &S3EventRecord) -> ObjectReport {
        let bucket = record.s3.bucket.name.clone().unwrap_or_default();
        let raw_key = record.s3.object.key.clone().unwrap_or_default();
        let key = match decode_event_key(&raw_key) {
            Ok(key) if !bucket.is_empty() && !key.is_empty() => key,
            Ok(_) => {
                return failed(
                    bucket,
                    raw_key,
                    FailureKind::BadEvent,
                    "the record names no bucket or key".into(),
                    Summary::default(),
                );
            }
            Err(e) => {
                return failed(
                    bucket,
                    raw_key,
                    FailureKind::BadEvent,
                    e.to_string(),
                    Summary::default(),
                );
            }
        };
        let object = ObjectRef { bucket, key };
        let sink = (self.sinks)(&object);
        let ObjectRef { bucket, key } = object;
        match process_object(&self.client, &bucket, &key, &self.config.options, sink).await {
            Ok(summary) if summary.entries == 0 && summary.rejected > 0 => {
                let message = format!(
                    "s3://{bucket}/{key}: no line is a CloudFront log entry ({} rejected)",
                    summary.rejected
                );
                failed(
                    bucket,
                    key,
                    FailureKind::NotACloudFrontLog,
                    message,
                    summary,
                )
            }
            Ok(summary) => report("ok", bucket, key, None, None, summary),
            Err(err @ ObjectError::NotFound { .. }) => report(
                "skipped",
                bucket,
                key,
                None,
                Some(err.to_string()),
                Summary::default(),
            ),
            Err(err) => {
                let (kind, summary) = match &err {
                    ObjectError::Request { .. } => (FailureKind::S3Transient, Summary::default()),
                    ObjectError::Body {
                        source, summary, ..
                    } => (body_failure(source), (**summary).clone()),
                    _ => (FailureKind::S3Transient, Summary::default()),
                };
                failed(bucket, key, kind, err.to_string(), summary)
            }
        }
    }
}

fn body_failure(err: &InputError) -> FailureKind {
    match err {
        InputError::Source(_) => FailureKind::S3Transient,
        InputError::Decompress(_) => FailureKind::CorruptGzip,
        _ => FailureKind::OutputFailed,
    }
}

fn failed(
    bucket: String,
    key: String,
    kind: FailureKind,
    message: String,
    summary: Summary,
) -> ObjectReport {
    report("failed", bucket, key, Some(kind), Some(message), summary)
}

fn report(
    status: &'static str,
    bucket: String,
    key: String,
    failure: Option<FailureKind>,
    error: Option<String>,
    summary: Summary,
) -> ObjectReport {
    ObjectReport {
        kind: "cflog.summary",
        status,
        bucket,
        key,
        failure,
        error,
        summary,
    }
}

/// Writes the report as one JSON line on stderr, which Lambda also sends to
/// CloudWatch Logs, apart from the entries on stdout.
fn log_report(report: &ObjectReport) {
    let mut line = serde_json::to_vec(report).unwrap_or_default();
    line.push(b'\n');
    // Losing a log line must not fail the object; there is nowhere else to report it.
    let _ = std::io::stderr().lock().write_all(&line);
}
