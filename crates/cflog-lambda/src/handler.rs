//! The handler: what every event kind shares (the configuration, the sinks,
//! the metrics, and the reading of one object into its report), and the
//! S3 notification and Kinesis batch kinds. The other kinds extend it from
//! their own modules ([`batch`](crate::batch), [`sqs`](crate::sqs)), and
//! [`invocation`](crate::invocation) hands each event to its kind.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use aws_config::SdkConfig;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;
use aws_sdk_s3::Client;
use cflog_pipeline::Summary;
use cflog_pipeline::s3::{ObjectError, decode_event_key, process_object};
use cflog_pipeline::sink::{SinkFactory, Source, boxed};
use futures_util::StreamExt;
use serde::Serialize;

use crate::config::{Config, StreamOutput};
use crate::error::{FailureKind, HandlerError};
use crate::kinesis;
use crate::metrics::MetricsWriter;
use crate::report::{ObjectReport, failed, report};
use crate::sinks::{SharedSinks, SinkError, sinks};
use crate::status::Status;

/// An object named by an event, its key decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The decoded key.
    pub key: String,
}

/// The response to an S3 event.
#[derive(Clone, Debug, Default, Serialize)]
pub struct S3Response {
    /// One report per object, in event order.
    pub objects: Vec<ObjectReport>,
}

/// Handles S3 events with one S3 client and one configuration, both built
/// once at cold start.
pub struct Handler {
    client: Client,
    config: Config,
    sinks: SharedSinks,
    /// The EMF lines' target: stderr, unless `CFLOG_METRICS=off`.
    metrics: Option<MetricsWriter>,
    /// The report lines' target: stderr unless [`reports_to`](Handler::reports_to).
    reports: Mutex<Box<dyn Write + Send>>,
    /// Where a rollup near its deadline hands the rest on, if anywhere.
    #[cfg(feature = "parquet")]
    handover: Option<Arc<dyn crate::handover::Handover>>,
}

impl Handler {
    /// A handler whose sink is the configured one (`CFLOG_SINK`, in
    /// `CFLOG_OUTPUT_FORMAT`): stdout, or objects in S3 written with
    /// `client`, which also reads the log objects.
    ///
    /// # Errors
    ///
    /// With a stream sink (`CFLOG_SINK=firehose`, `kinesis` or `sqs`), whose
    /// clients come from the shared AWS configuration: build that handler
    /// with [`from_aws`](Handler::from_aws), as the binary does.
    ///
    /// # Panics
    ///
    /// With `CFLOG_SINK=s3`, outside a Tokio runtime (the uploads run on
    /// it).
    pub fn new(client: Client, config: Config) -> Result<Handler, SinkError> {
        let sinks = sinks(&config, &client, None)?;
        Ok(Handler::with_shared(client, config, sinks))
    }

    /// A handler whose sink is the configured one, whatever it is: the
    /// stream destinations' clients are made from `aws`, the shared AWS
    /// configuration, and `client` reads the log objects (and writes the
    /// `s3` sink's).
    ///
    /// # Errors
    ///
    /// With a stream sink in a build without them (cflog-lambda's feature
    /// `streams`), which the configuration already refuses.
    ///
    /// # Panics
    ///
    /// With `CFLOG_SINK=s3` or a stream sink, outside a Tokio runtime (they
    /// send on it).
    pub fn from_aws(aws: &SdkConfig, client: Client, config: Config) -> Result<Handler, SinkError> {
        let sinks = sinks(&config, &client, Some(aws))?;
        Ok(Handler::with_shared(client, config, sinks))
    }

    /// A handler that sends entries to sinks of your own, one per object or
    /// Kinesis batch.
    pub fn with_sinks<F>(client: Client, config: Config, sinks: F) -> Handler
    where
        F: SinkFactory + 'static,
        F::Sink: Send + 'static,
    {
        let sinks: SharedSinks = Arc::new(move |source: &Source<'_>| boxed(sinks.open(source)));
        Handler::with_shared(client, config, sinks)
    }

    fn with_shared(client: Client, config: Config, sinks: SharedSinks) -> Handler {
        let metrics = config.metrics.clone().map(MetricsWriter::stderr);
        Handler {
            client,
            config,
            sinks,
            metrics,
            reports: Mutex::new(Box::new(std::io::stderr())),
            #[cfg(feature = "parquet")]
            handover: None,
        }
    }

    /// The handler with a rollup near its deadline handing the hours left
    /// on to `handover`: the function itself, invoked asynchronously
    /// ([`LambdaHandover`](crate::rollup::LambdaHandover)), as the binary
    /// does. Without it, they wait for the next hourly run.
    #[cfg(feature = "parquet")]
    pub fn hands_over_to(mut self, handover: impl crate::handover::Handover + 'static) -> Handler {
        self.handover = Some(Arc::new(handover));
        self
    }

    #[cfg(feature = "parquet")]
    pub(crate) fn handover(&self) -> Option<&dyn crate::handover::Handover> {
        self.handover.as_deref()
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

    /// The handler with its report lines (each object's and each batch's
    /// `cflog.summary`) going to `out` instead of stderr: to label them, as
    /// the local example does, or to keep them out of a test's output.
    pub fn reports_to(mut self, out: impl Write + Send + 'static) -> Handler {
        self.reports = Mutex::new(Box::new(out));
        self
    }

    /// Writes a report as one JSON line on stderr (or where
    /// [`reports_to`](Handler::reports_to) said), which Lambda also sends to
    /// CloudWatch Logs, apart from the entries on stdout.
    pub(crate) fn log_line(&self, report: &impl Serialize) {
        let mut line = serde_json::to_vec(report).unwrap_or_default();
        line.push(b'\n');
        // A writer that panicked left nothing half-done that matters here.
        let mut out = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        // Losing a log line must not fail the object; there is nowhere else to report it.
        let _ = out.write_all(&line).and_then(|()| out.flush());
    }

    /// The metrics lines' writer, unless `CFLOG_METRICS=off`.
    #[cfg(feature = "parquet")]
    pub(crate) fn metrics(&self) -> Option<&MetricsWriter> {
        self.metrics.as_ref()
    }

    /// Logs an object's report line, then its metrics line.
    pub(crate) fn log_report(&self, report: &ObjectReport) {
        self.log_line(report);
        if let Some(metrics) = &self.metrics {
            metrics.object(report);
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
        self.log_line(&report);
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

    /// The S3 client.
    // The rollup's (feature `parquet`).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn s3_client(&self) -> &Client {
        &self.client
    }

    /// The configuration.
    // The rollup's (feature `parquet`).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn config(&self) -> &Config {
        &self.config
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
            Ok(summary) if summary.is_not_a_log() => {
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

/// Whether `stream`, a Kinesis stream's name or ARN, is the stream of ARN
/// `arn`.
fn names_stream(stream: &str, arn: &str) -> bool {
    !arn.is_empty()
        && (stream == arn
            || arn
                .rsplit_once(":stream/")
                .is_some_and(|(_, name)| name == stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration of each stream sink.
    const STREAM_SINKS: [[(&str, &str); 2]; 3] = [
        [
            ("CFLOG_SINK", "firehose"),
            ("CFLOG_FIREHOSE_STREAM", "cflog"),
        ],
        [("CFLOG_SINK", "kinesis"), ("CFLOG_KINESIS_STREAM", "cflog")],
        [
            ("CFLOG_SINK", "sqs"),
            (
                "CFLOG_SQS_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/cflog",
            ),
        ],
    ];

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
        })
        .unwrap()
    }

    fn aws() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build()
    }

    #[test]
    fn a_stream_sink_without_the_aws_configuration_is_an_error_not_a_panic() {
        for vars in STREAM_SINKS {
            let client = Client::new(&aws());
            let Err(err) = Handler::new(client, config(&vars)) else {
                panic!("{vars:?} made a handler with no client for its stream");
            };
            let sink = vars[0].1;
            assert_eq!(err, SinkError::NoAwsConfig { sink }, "{vars:?}");
            assert!(err.to_string().contains("Handler::from_aws"), "{err}");
        }
    }

    #[cfg(feature = "streams")]
    #[tokio::test]
    async fn every_sink_is_built_from_the_aws_configuration() {
        let local = [[("CFLOG_SINK", "stdout"), ("CFLOG_OUTPUT_FORMAT", "csv")]];
        let s3 = [[("CFLOG_SINK", "s3"), ("CFLOG_OUTPUT_BUCKET", "out")]];
        for vars in STREAM_SINKS.iter().chain(&local).chain(&s3) {
            let client = Client::new(&aws());
            let built = Handler::from_aws(&aws(), client, config(vars));
            assert!(built.is_ok(), "{vars:?}: {:?}", built.err());
        }
    }

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
