//! The handler: one invocation, one event, every object or record in it.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_lambda_events::event::streams::KinesisEventResponse;
use aws_lambda_events::s3_batch_job::S3BatchJobResponse;
use aws_sdk_s3::Client;
use cflog_destinations::s3::{S3Destination, S3Options};
use cflog_pipeline::Summary;
use cflog_pipeline::s3::{ObjectError, decode_event_key, process_object};
use cflog_pipeline::sink::{
    DelimitedSink, DynSink, NdjsonSink, NullSink, SharedHeader, SinkFactory, Source, Stdout, boxed,
};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, OutputFormat, SinkKind, StreamOutput};
use crate::error::{FailureKind, HandlerError};
use crate::event::{Event, parse_event};
use crate::kinesis;
use crate::metrics::MetricsWriter;
use crate::status::Status;

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
    /// `ok`, `skipped` (the object no longer exists, or is under
    /// `CFLOG_IGNORE_PREFIX`) or `failed`.
    pub status: Status,
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

/// The response to an S3 event.
#[derive(Clone, Debug, Default, Serialize)]
pub struct S3Response {
    /// One report per object, in event order.
    pub objects: Vec<ObjectReport>,
}

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
}

impl Response {
    /// The object reports (none for a Kinesis batch).
    pub fn objects(&self) -> &[ObjectReport] {
        match self {
            Response::S3(response) => &response.objects,
            Response::Kinesis(_) | Response::S3Batch(_) | Response::Sqs(_) => &[],
        }
    }
}

/// Handles S3 events with one S3 client and one configuration, both built
/// once at cold start.
pub struct Handler {
    client: Client,
    config: Config,
    sinks: Arc<dyn SinkFactory<Sink = DynSink>>,
    /// The EMF lines' target: stderr, unless `CFLOG_METRICS=off`.
    metrics: Option<MetricsWriter>,
}

impl Handler {
    /// A handler whose sink is the configured one (`CFLOG_SINK`, in
    /// `CFLOG_OUTPUT_FORMAT`): stdout, or objects in S3 written with
    /// `client`, which also reads the log objects.
    ///
    /// The stream sinks (`CFLOG_SINK=firehose`, `kinesis` or `sqs`) need
    /// clients of their own: make them with
    /// `destination::stream_sinks` and give them to
    /// [`with_sinks`](Handler::with_sinks), as the binary does.
    ///
    /// # Panics
    ///
    /// With `CFLOG_SINK=s3`, outside a Tokio runtime (the uploads run on
    /// it); with a stream sink, always.
    pub fn new(client: Client, config: Config) -> Handler {
        if let Some(stream) = &config.stream {
            panic!(
                "CFLOG_SINK={}: make the stream sinks with destination::stream_sinks and pass them to Handler::with_sinks",
                stream.sink_name()
            );
        }
        let sinks: Arc<dyn SinkFactory<Sink = DynSink>> = match &config.s3 {
            Some(s3) => {
                let options = S3Options::default().selection(config.selection.clone());
                let destination = S3Destination::new(client.clone(), &s3.bucket, &s3.prefix)
                    .format(s3.format)
                    .options(options);
                Arc::new(move |source: &Source<'_>| boxed(destination.open(source)))
            }
            None => Arc::new(configured_sinks(&config, || Stdout)),
        };
        let metrics = config.metrics.clone().map(MetricsWriter::stderr);
        Handler {
            client,
            config,
            sinks,
            metrics,
        }
    }

    /// A handler that sends entries to sinks of your own, one per object or
    /// Kinesis batch.
    pub fn with_sinks<F>(client: Client, config: Config, sinks: F) -> Handler
    where
        F: SinkFactory + 'static,
        F::Sink: Send + 'static,
    {
        let metrics = config.metrics.clone().map(MetricsWriter::stderr);
        Handler {
            client,
            config,
            sinks: Arc::new(move |source: &Source<'_>| boxed(sinks.open(source))),
            metrics,
        }
    }

    /// The handler with its CloudWatch metrics lines
    /// ([`metrics`](crate::metrics)) going to `out` instead of stderr: to
    /// read them back in a test, or to send them elsewhere. With
    /// `CFLOG_METRICS=off` nothing is written to it.
    pub fn metrics_to(mut self, out: impl Write + Send + 'static) -> Handler {
        self.metrics = self
            .config
            .metrics
            .clone()
            .map(|config| MetricsWriter::new(config, out));
        self
    }

    /// Logs an object's report line, then its metrics line.
    pub(crate) fn log_report(&self, report: &ObjectReport) {
        log_line(report);
        if let Some(metrics) = &self.metrics {
            metrics.object(report);
        }
    }

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
        match parse_event(payload)? {
            Event::S3Test(bucket) => {
                tracing::info!(?bucket, "S3 test event acknowledged");
                Ok(Response::S3(S3Response::default()))
            }
            Event::Kinesis(event) => self.handle_kinesis(event).await.map(Response::Kinesis),
            Event::S3(event) => self.handle_s3(event).await.map(Response::S3),
            Event::S3Batch(job) => Ok(Response::S3Batch(self.handle_s3_batch(job).await)),
            Event::Sqs(event) => Ok(Response::Sqs(self.handle_sqs(event).await)),
        }
    }

    /// Handles a Kinesis batch of CloudFront real-time log records, in
    /// order, into one sink. A record with a bad line is counted and
    /// acknowledged, or returned as a batch item failure, as
    /// `CFLOG_REALTIME_REJECTS` says.
    ///
    /// # Errors
    ///
    /// When `CFLOG_REALTIME_FIELDS` is not set (`NotConfigured`), or the
    /// output failed (`OutputFailed`): Lambda then retries the whole batch.
    pub async fn handle_kinesis(
        &self,
        event: KinesisEvent,
    ) -> Result<KinesisEventResponse, HandlerError> {
        let Some(realtime) = &self.config.realtime else {
            return Err(HandlerError {
                kind: FailureKind::NotConfigured,
                message: "a Kinesis event arrived, but CFLOG_REALTIME_FIELDS is not set: set it \
                          to the fields of the real-time log configuration"
                    .into(),
            });
        };
        let started = Instant::now();
        let arn = event
            .records
            .first()
            .and_then(|r| r.event_source_arn.as_deref())
            .unwrap_or_default();
        if let Some(StreamOutput::Kinesis { stream, .. }) = &self.config.stream
            && names_stream(stream, arn)
        {
            // Each entry sent would come back as a record of the next batch.
            return Err(HandlerError {
                kind: FailureKind::NotConfigured,
                message: format!(
                    "CFLOG_KINESIS_STREAM is {stream}, the stream this batch came from: its \
                     entries would come back forever; send them to another stream"
                ),
            });
        }
        let sink = self.sinks.open(&Source::Stream(arn));
        let (result, mut report) = kinesis::process_batch(&event.records, realtime, sink).await;
        report.summary.duration_ms = started.elapsed().as_millis() as u64;
        log_line(&report);
        if let Some(metrics) = &self.metrics {
            metrics.batch(
                &report,
                result.is_err().then_some(FailureKind::OutputFailed),
            );
        }
        result.map_err(|err| HandlerError {
            kind: FailureKind::OutputFailed,
            message: err.to_string(),
        })
    }

    /// Handles an S3 event notification.
    ///
    /// # Errors
    ///
    /// As [`handle`](Handler::handle).
    pub async fn handle_s3(&self, event: S3Event) -> Result<S3Response, HandlerError> {
        let reports: Vec<ObjectReport> = futures_util::stream::iter(event.records.iter())
            .map(|record| self.process_record(record))
            .buffered(self.config.concurrency)
            .collect()
            .await;
        for report in &reports {
            self.log_report(report);
        }
        let failed: Vec<&ObjectReport> = reports
            .iter()
            .filter(|r| r.status == Status::Failed)
            .collect();
        match failed.iter().filter_map(|r| r.failure).min() {
            None => Ok(S3Response { objects: reports }),
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

    /// How many objects of one event are processed at once.
    pub(crate) fn concurrency(&self) -> usize {
        self.config.concurrency
    }

    /// Reads the object an S3 event record names, its key decoded.
    pub(crate) async fn process_record(&self, record: &S3EventRecord) -> ObjectReport {
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
        self.process_object_ref(ObjectRef { bucket, key }).await
    }

    /// Reads one object into a sink of its own, and reports what became of
    /// it: the per-object work of every event kind that names S3 objects.
    pub(crate) async fn process_object_ref(&self, object: ObjectRef) -> ObjectReport {
        if let Some(prefix) = self.config.ignored_prefix(&object.key) {
            let message = format!(
                "s3://{}/{} is under CFLOG_IGNORE_PREFIX ({prefix}): not read",
                object.bucket, object.key
            );
            let ObjectRef { bucket, key } = object;
            return report(
                Status::Skipped,
                bucket,
                key,
                None,
                Some(message),
                Summary::default(),
            );
        }
        let ObjectRef { bucket, key } = object;
        let sink = self.sinks.open(&Source::Object {
            bucket: &bucket,
            key: &key,
        });
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
            Ok(summary) => report(Status::Ok, bucket, key, None, None, summary),
            Err(err @ ObjectError::NotFound { .. }) => report(
                Status::Skipped,
                bucket,
                key,
                None,
                Some(err.to_string()),
                Summary::default(),
            ),
            Err(err) => {
                let (kind, summary) = match &err {
                    ObjectError::Request(request) => {
                        // The report has the one-line message; the SDK's
                        // whole answer is for debug level only.
                        tracing::debug!(error = %request.detail(), "S3 request failed");
                        (
                            FailureKind::of_request(request.failure()),
                            Summary::default(),
                        )
                    }
                    ObjectError::Body {
                        source, summary, ..
                    } => (FailureKind::of_input(source), (**summary).clone()),
                    _ => (FailureKind::S3Permanent, Summary::default()),
                };
                failed(bucket, key, kind, err.to_string(), summary)
            }
        }
    }
}

/// The sinks `config` asks for (`CFLOG_SINK`, `CFLOG_OUTPUT_FORMAT`),
/// writing to what `out` gives; [`Handler::new`] gives stdout. The `s3`
/// and stream sinks need AWS clients, which [`Handler::new`] and the
/// binary make; here they write their entries to `out` as NDJSON.
///
/// ```
/// use cflog_lambda::{Config, Source, handler::configured_sinks};
/// use cflog_pipeline::sink::SinkFactory;
/// use cflog_pipeline::{Options, Pipeline};
///
/// let config = Config::from_lookup(|name| (name == "CFLOG_OUTPUT_FORMAT").then(|| "csv".into()))?;
/// let sinks = configured_sinks(&config, Vec::new);
/// let mut pipeline = Pipeline::new(&Options::default(), sinks.open(&Source::Stdin));
/// pipeline.push(b"#Fields: sc-status cs-uri-stem\n200\t/a\n")?;
/// assert_eq!(pipeline.blocking_finish()?.delivered.entries, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn configured_sinks<W, F>(
    config: &Config,
    out: F,
) -> impl SinkFactory<Sink = DynSink> + use<W, F>
where
    W: Write + Send + 'static,
    F: Fn() -> W + Send + Sync + 'static,
{
    let selection = config.selection.clone();
    let (kind, format) = (config.sink, config.format);
    move |source: &Source<'_>| -> DynSink {
        match (kind, format) {
            (SinkKind::None, _) => boxed(NullSink::new()),
            (SinkKind::Stdout, OutputFormat::Ndjson) | (SinkKind::S3 | SinkKind::Stream, _) => {
                boxed(NdjsonSink::with_selection(out(), selection.clone()))
            }
            (SinkKind::Stdout, OutputFormat::Csv | OutputFormat::Tsv) => {
                let delimiter = if format == OutputFormat::Csv {
                    b','
                } else {
                    b'\t'
                };
                // Each object's rows follow their own header row.
                let header = SharedHeader::new(delimiter, &selection).on_dropped_keys(Arc::new(
                    |source: &str, keys: &[&str]| {
                        tracing::warn!(%source, ?keys, "keys with no column were left out");
                    },
                ));
                boxed(DelimitedSink::new(
                    out(),
                    Arc::new(header),
                    selection.clone(),
                    source,
                ))
            }
        }
    }
}

/// Whether `stream`, a Kinesis stream's name or ARN, is the stream of ARN
/// `arn`.
fn names_stream(stream: &str, arn: &str) -> bool {
    !arn.is_empty()
        && (stream == arn
            || arn
                .rsplit_once(":stream/")
                .is_some_and(|(_, name)| name == stream))
}

pub(crate) fn failed(
    bucket: String,
    key: String,
    kind: FailureKind,
    message: String,
    summary: Summary,
) -> ObjectReport {
    report(
        Status::Failed,
        bucket,
        key,
        Some(kind),
        Some(message),
        summary,
    )
}

fn report(
    status: Status,
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

/// Writes a report as one JSON line on stderr, which Lambda also sends to
/// CloudWatch Logs, apart from the entries on stdout.
pub(crate) fn log_line(report: &impl Serialize) {
    let mut line = serde_json::to_vec(report).unwrap_or_default();
    line.push(b'\n');
    // Losing a log line must not fail the object; there is nowhere else to report it.
    let _ = std::io::stderr().lock().write_all(&line);
}

#[cfg(test)]
mod tests {
    use super::names_stream;

    #[test]
    fn a_stream_is_named_by_its_arn_or_its_name() {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/cloudfront-realtime";
        assert!(names_stream(arn, arn));
        assert!(names_stream("cloudfront-realtime", arn));
        assert!(!names_stream("cflog-entries", arn));
        assert!(!names_stream("realtime", arn));
        assert!(!names_stream("cloudfront-realtime", ""));
    }
}
