//! CloudWatch metrics in the embedded metric format (EMF): one JSON line per
//! object report and per Kinesis batch report, written beside the report
//! line, from which CloudWatch Logs extracts the metrics itself. No
//! PutMetricData call, no IAM permission beyond writing the log group, and
//! alarms need no log scan.
//!
//! A line for an object that failed:
//!
//! ```json
//! {"_aws":{"Timestamp":1765433116000,"CloudWatchMetrics":[
//!   {"Namespace":"cflog","Dimensions":[["FunctionName"]],"Metrics":[
//!     {"Name":"Entries","Unit":"Count"},{"Name":"RejectedLines","Unit":"Count"},
//!     {"Name":"InputBytes","Unit":"Bytes"},{"Name":"Duration","Unit":"Milliseconds"},
//!     {"Name":"FailedObjects","Unit":"Count"},{"Name":"SkippedObjects","Unit":"Count"},
//!     {"Name":"RejectedLines.truncated","Unit":"Count"}]},
//!   {"Namespace":"cflog","Dimensions":[["FunctionName","ErrorType"]],"Metrics":[
//!     {"Name":"FailedObjects","Unit":"Count"}]}]},
//!  "FunctionName":"cflog","ErrorType":"CorruptGzip",
//!  "Entries":3,"RejectedLines":1,"InputBytes":812,"Duration":4,"FailedObjects":1,
//!  "SkippedObjects":0,"RejectedLines.truncated":1,
//!  "kind":"cflog.metrics","status":"failed","bucket":"cf-logs","key":"E1.2025-12-11-05.a1b2.gz"}
//! ```
//!
//! (one line in the log; broken here to be read). The metrics, all in
//! `CFLOG_METRICS_NAMESPACE` (`cflog` by default) with the dimension
//! `FunctionName` (from `AWS_LAMBDA_FUNCTION_NAME`; none outside Lambda):
//!
//! | metric | unit | value |
//! | --- | --- | --- |
//! | `Entries` | Count | entries read |
//! | `RejectedLines` | Count | lines rejected, of every reason |
//! | `RejectedLines.<reason>` | Count | lines rejected for that reason (`field_count`, `line_too_long`, …), only when there are some |
//! | `InputBytes` | Bytes | bytes read: an object's before decompression, a batch's record data |
//! | `Duration` | Milliseconds | wall time of the object or batch |
//! | `FailedObjects` | Count | 1 for a failed object, else 0; also per `ErrorType` when 1 |
//! | `SkippedObjects` | Count | 1 for an object that no longer exists or is under `CFLOG_IGNORE_PREFIX` |
//! | `FailedBatches` | Count | Kinesis batches only: 1 when the output failed (the batch is retried) |
//!
//! With a destination other than stdout, the line also says what reached it
//! ([`Summary::delivered`](cflog_pipeline::Summary), which after a failure
//! is what got through before it):
//!
//! | metric | unit | destination | value |
//! | --- | --- | --- | --- |
//! | `OutputBytes` | Bytes | S3, Firehose, Kinesis, SQS | bytes written: objects' sizes, records' data |
//! | `OutputObjects` | Count | S3 | objects written whole |
//! | `OutputRecords` | Count | Firehose, Kinesis, SQS | records (messages) delivered |
//! | `OutputRequests` | Count | Firehose, Kinesis, SQS | API calls made, retries included |
//! | `OutputRetriedRecords` | Count | Firehose, Kinesis, SQS | records sent again after the destination refused them (throttling) or a call failed |
//!
//! The rollup's invocations (`{"cflog": "rollup"}`) write a line of their
//! own ([`Document::rollup`]):
//!
//! | metric | unit | value |
//! | --- | --- | --- |
//! | `RollupHours` | Count | distribution-hours rolled up (written or found unchanged) |
//! | `RollupPartsWritten` | Count | parts written |
//! | `RollupHoursLeft` | Count | hours the invocation had no time for and could not hand on: the next hourly run rolls them |
//! | `FailedRollups` | Count | 1 when an hour or a listing failed, else 0; also per `ErrorType` when 1 |
//!
//! # Choices
//!
//! - **Rejected lines by reason are metrics of their own**
//!   (`RejectedLines.field_count`), not a `Reason` dimension. A dimension
//!   takes its value from a top-level member, so one line can carry one
//!   reason only: an object with two reasons would need a line per reason,
//!   and `RejectedLines` would be counted once per line. As metrics, one
//!   line carries every reason, and a reason that never occurs creates no
//!   metric (reasons are a closed set of ten, so the count stays small).
//! - **`ErrorType` is a second directive holding `FailedObjects` only**, on
//!   failed objects. The first directive puts every metric under
//!   `[FunctionName]`, so an alarm on `FailedObjects` there sees every error
//!   type; the second adds the break-down by type without multiplying
//!   `Entries`, `Duration` and the others by the error types.
//! - **No other dimension.** Every dimension value makes a new metric, each
//!   billed as a custom metric: keys, buckets and streams go into the line
//!   as plain members instead, for Logs Insights.
//! - **Delivery metrics only for their destination**
//!   ([`DeliveryMetrics`]): every name is billed, so the default
//!   destination (stdout) pays for none of them, and S3 not for the
//!   streams' records and calls.
//! - **Zeros are written**, so that the rejected share
//!   (`RejectedLines / (Entries + RejectedLines)`) has data points whenever
//!   objects are read.
//!
//! Writing a line never fails an object, as for the report line.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use cflog_pipeline::sink::Delivery;

use crate::config::{DeliveryMetrics, MetricsConfig};
use crate::error::FailureKind;
use crate::report::{BatchReport, ObjectReport};
use crate::status::Status;

/// The namespace without `CFLOG_METRICS_NAMESPACE`, which the
/// configuration reads.
pub use crate::config::DEFAULT_NAMESPACE;

/// The dimension of every metric: the function's name.
pub const FUNCTION_NAME: &str = "FunctionName";

/// The dimension `FailedObjects` and `FailedBatches` also have when they
/// are 1: the [`FailureKind`]'s name, the invocation's `errorType`.
pub const ERROR_TYPE: &str = "ErrorType";

/// What the per-reason metrics' names start with: `RejectedLines.` and a
/// reason of [`Summary::rejected_by_reason`](cflog_pipeline::Summary).
pub const REJECTED_REASON_PREFIX: &str = "RejectedLines.";

/// The `kind` of a metrics line, apart from the report's `cflog.summary`,
/// so that a Logs Insights query of summaries does not count objects twice.
pub const KIND: &str = "cflog.metrics";

/// A CloudWatch unit, as EMF names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Unit {
    /// A number of things.
    Count,
    /// Bytes.
    Bytes,
    /// Milliseconds.
    Milliseconds,
}

impl Unit {
    /// The name CloudWatch reads.
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The metrics of fixed name, with their units, in the order of a line.
/// (The per-reason metrics follow them.) The SAM template's alarms name
/// some of these: `tests/template/metrics.json` holds the two together.
pub const METRICS: [(&str, Unit); 16] = [
    ("Entries", Unit::Count),
    ("RejectedLines", Unit::Count),
    ("InputBytes", Unit::Bytes),
    ("Duration", Unit::Milliseconds),
    ("FailedObjects", Unit::Count),
    ("SkippedObjects", Unit::Count),
    ("FailedBatches", Unit::Count),
    ("OutputBytes", Unit::Bytes),
    ("OutputObjects", Unit::Count),
    ("OutputRecords", Unit::Count),
    ("OutputRequests", Unit::Count),
    ("OutputRetriedRecords", Unit::Count),
    ("RollupHours", Unit::Count),
    ("RollupPartsWritten", Unit::Count),
    ("RollupHoursLeft", Unit::Count),
    ("FailedRollups", Unit::Count),
];

/// What a rollup invocation's metrics line counts ([`Document::rollup`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupCounts {
    /// Distribution-hours rolled up, written or found unchanged.
    pub hours: u64,
    /// Parts written.
    pub parts_written: u64,
    /// Hours left for the next hourly run: neither rolled nor handed on.
    pub hours_left: u64,
}

/// One EMF document: a line of the function's log from which CloudWatch
/// extracts the metrics.
///
/// ```
/// use cflog_lambda::config::MetricsConfig;
/// use cflog_lambda::metrics::Document;
/// use cflog_lambda::{ObjectReport, Status};
///
/// let config = MetricsConfig {
///     namespace: "cflog".into(),
///     function_name: Some("cflog".into()),
///     delivery: Default::default(),
/// };
/// let mut report = ObjectReport {
///     kind: "cflog.summary",
///     status: Status::Ok,
///     bucket: "cf-logs".into(),
///     key: "E1.2025-12-11-05.a1b2.gz".into(),
///     failure: None,
///     error: None,
///     summary: Default::default(),
/// };
/// report.summary.entries = 6;
/// let line: serde_json::Value = serde_json::from_slice(&Document::object(&config, &report, 1765433116000).to_line())?;
/// assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["FunctionName"]]));
/// assert_eq!(line["FunctionName"], "cflog");
/// assert_eq!(line["Entries"], 6);
/// assert_eq!(line["FailedObjects"], 0);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct Document {
    #[serde(rename = "_aws")]
    aws: Metadata,
    /// Dimension values: strings, as the specification requires.
    #[serde(flatten)]
    dimensions: Members<&'static str, String>,
    /// Metric values, by name, in the order of the first directive.
    #[serde(flatten)]
    values: Members<String, u64>,
    /// What the line is about, for Logs Insights; no metric reads these.
    #[serde(flatten)]
    properties: Properties,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    /// Milliseconds since the Unix epoch.
    timestamp: u64,
    #[serde(rename = "CloudWatchMetrics")]
    directives: Vec<Directive>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive {
    namespace: String,
    dimensions: Vec<Vec<&'static str>>,
    metrics: Vec<Definition>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    name: String,
    unit: Unit,
}

#[derive(Clone, Debug, Serialize)]
struct Properties {
    kind: &'static str,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<String>,
}

/// Top-level members in the order given (a map would sort them, and the
/// line reads better with the dimensions first and the metrics in the
/// directive's order).
#[derive(Clone, Debug)]
struct Members<K, V>(Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for Members<K, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// The metrics of one line, before they are laid out.
struct Values {
    fixed: Vec<(&'static str, u64)>,
    by_reason: Vec<(String, u64)>,
    /// The metric broken down by `ErrorType`, and the type, on failure.
    failed: Option<(&'static str, FailureKind)>,
}

impl Document {
    /// The document of an object's report, stamped `timestamp_ms`
    /// (milliseconds since the Unix epoch).
    pub fn object(config: &MetricsConfig, report: &ObjectReport, timestamp_ms: u64) -> Document {
        let summary = &report.summary;
        let failed = report.status == Status::Failed;
        let mut fixed = vec![
            ("Entries", summary.entries),
            ("RejectedLines", summary.rejected),
            ("InputBytes", summary.compressed_bytes),
            ("Duration", summary.duration_ms),
            ("FailedObjects", u64::from(failed)),
            (
                "SkippedObjects",
                u64::from(report.status == Status::Skipped),
            ),
        ];
        fixed.extend(delivery(config.delivery, &summary.delivered));
        let values = Values {
            fixed,
            by_reason: by_reason(&summary.rejected_by_reason),
            failed: report
                .failure
                .filter(|_| failed)
                .map(|kind| ("FailedObjects", kind)),
        };
        let properties = Properties {
            kind: KIND,
            status: report.status,
            source: None,
            bucket: Some(report.bucket.clone()),
            key: Some(report.key.clone()),
            stream: None,
        };
        Document::new(config, values, properties, timestamp_ms)
    }

    /// The document of a Kinesis batch's report; `failure` is why the batch
    /// failed, when it did.
    pub fn batch(
        config: &MetricsConfig,
        report: &BatchReport,
        failure: Option<FailureKind>,
        timestamp_ms: u64,
    ) -> Document {
        let summary = &report.summary;
        let mut fixed = vec![
            ("Entries", summary.entries),
            ("RejectedLines", summary.rejected),
            // Records are plain text: the same as `bytes`.
            ("InputBytes", summary.compressed_bytes),
            ("Duration", summary.duration_ms),
            ("FailedBatches", u64::from(failure.is_some())),
        ];
        fixed.extend(delivery(config.delivery, &summary.delivered));
        let values = Values {
            fixed,
            by_reason: by_reason(&summary.rejected_by_reason),
            failed: failure.map(|kind| ("FailedBatches", kind)),
        };
        let properties = Properties {
            kind: KIND,
            status: report.status,
            source: Some(report.source),
            bucket: None,
            key: None,
            stream: report.stream.clone(),
        };
        Document::new(config, values, properties, timestamp_ms)
    }

    /// The document of a rollup invocation; `failure` is the kind of its
    /// first failed hour or listing, when one failed.
    pub fn rollup(
        config: &MetricsConfig,
        counts: &RollupCounts,
        failure: Option<FailureKind>,
        timestamp_ms: u64,
    ) -> Document {
        let values = Values {
            fixed: vec![
                ("RollupHours", counts.hours),
                ("RollupPartsWritten", counts.parts_written),
                ("RollupHoursLeft", counts.hours_left),
                ("FailedRollups", u64::from(failure.is_some())),
            ],
            by_reason: Vec::new(),
            failed: failure.map(|kind| ("FailedRollups", kind)),
        };
        let properties = Properties {
            kind: KIND,
            status: match failure {
                Some(_) => Status::Failed,
                None => Status::Ok,
            },
            source: Some("rollup"),
            bucket: None,
            key: None,
            stream: None,
        };
        Document::new(config, values, properties, timestamp_ms)
    }

    fn new(
        config: &MetricsConfig,
        values: Values,
        properties: Properties,
        timestamp_ms: u64,
    ) -> Document {
        let mut dimensions = Vec::new();
        let mut base = Vec::new();
        if let Some(name) = &config.function_name {
            dimensions.push((FUNCTION_NAME, name.clone()));
            base.push(FUNCTION_NAME);
        }
        let unit = |name: &str| {
            METRICS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Unit::Count, |(_, unit)| *unit)
        };
        let mut all: Vec<Definition> = values
            .fixed
            .iter()
            .map(|(name, _)| Definition {
                name: (*name).to_owned(),
                unit: unit(name),
            })
            .collect();
        all.extend(values.by_reason.iter().map(|(name, _)| Definition {
            name: name.clone(),
            unit: Unit::Count,
        }));
        let mut directives = vec![Directive {
            namespace: config.namespace.clone(),
            dimensions: vec![base.clone()],
            metrics: all,
        }];
        if let Some((metric, kind)) = values.failed {
            dimensions.push((ERROR_TYPE, kind.name().to_owned()));
            let mut by_type = base;
            by_type.push(ERROR_TYPE);
            directives.push(Directive {
                namespace: config.namespace.clone(),
                dimensions: vec![by_type],
                metrics: vec![Definition {
                    name: metric.to_owned(),
                    unit: Unit::Count,
                }],
            });
        }
        let values = values
            .fixed
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .chain(values.by_reason)
            .collect();
        Document {
            aws: Metadata {
                timestamp: timestamp_ms,
                directives,
            },
            dimensions: Members(dimensions),
            values: Members(values),
            properties,
        }
    }

    /// The document as one JSON line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        // Only strings, numbers and maps with string keys: this cannot fail.
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// The delivery metrics of a destination of kind `kind`.
fn delivery(kind: DeliveryMetrics, delivered: &Delivery) -> Vec<(&'static str, u64)> {
    match kind {
        DeliveryMetrics::None => Vec::new(),
        DeliveryMetrics::Objects => vec![
            ("OutputBytes", delivered.bytes),
            ("OutputObjects", delivered.objects.len() as u64),
        ],
        DeliveryMetrics::Records => vec![
            ("OutputBytes", delivered.bytes),
            ("OutputRecords", delivered.records),
            ("OutputRequests", delivered.requests),
            ("OutputRetriedRecords", delivered.retried_records),
        ],
    }
}

fn by_reason(reasons: &BTreeMap<&'static str, u64>) -> Vec<(String, u64)> {
    reasons
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| (format!("{REJECTED_REASON_PREFIX}{reason}"), *n))
        .collect()
}

/// Where metrics lines go: stderr in Lambda (beside the report lines,
/// where CloudWatch Logs reads them), or a writer of your own.
pub struct MetricsWriter {
    config: MetricsConfig,
    out: Mutex<Box<dyn Write + Send>>,
}

impl MetricsWriter {
    /// Lines to stderr.
    pub fn stderr(config: MetricsConfig) -> MetricsWriter {
        MetricsWriter::new(config, std::io::stderr())
    }

    /// Lines to `out`, one `write_all` each.
    pub fn new(config: MetricsConfig, out: impl Write + Send + 'static) -> MetricsWriter {
        MetricsWriter {
            config,
            out: Mutex::new(Box::new(out)),
        }
    }

    /// The configuration the lines follow.
    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    /// Writes the line of an object's report.
    pub fn object(&self, report: &ObjectReport) {
        self.write(&Document::object(&self.config, report, now_ms()));
    }

    /// Writes the line of a Kinesis batch's report.
    pub fn batch(&self, report: &BatchReport, failure: Option<FailureKind>) {
        self.write(&Document::batch(&self.config, report, failure, now_ms()));
    }

    /// Writes the line of a rollup invocation.
    pub fn rollup(&self, counts: &RollupCounts, failure: Option<FailureKind>) {
        self.write(&Document::rollup(&self.config, counts, failure, now_ms()));
    }

    fn write(&self, document: &Document) {
        let line = document.to_line();
        // A writer that panicked left nothing half-done that matters here.
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // Losing a metrics line must not fail the object; there is nowhere
        // else to report it.
        let _ = out.write_all(&line).and_then(|()| out.flush());
    }
}

impl std::fmt::Debug for MetricsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsWriter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use cflog_pipeline::Summary;
    use cflog_testkit::check_emf_document;
    use serde_json::{Value, json};

    use super::*;

    fn config(function_name: Option<&str>) -> MetricsConfig {
        MetricsConfig {
            namespace: "cflog".into(),
            function_name: function_name.map(str::to_owned),
            delivery: DeliveryMetrics::None,
        }
    }

    fn delivering(delivery: DeliveryMetrics) -> MetricsConfig {
        MetricsConfig {
            delivery,
            ..config(Some("cflog"))
        }
    }

    /// The metric names of a document's first directive.
    fn names(doc: &Value) -> Vec<&str> {
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect()
    }

    fn report(status: Status, failure: Option<FailureKind>) -> ObjectReport {
        let mut summary = Summary {
            compressed_bytes: 812,
            bytes: 4096,
            gzip: true,
            lines: 11,
            entries: 7,
            header_lines: 2,
            rejected: 2,
            duration_ms: 4,
            ..Summary::default()
        };
        summary.rejected_by_reason.insert("field_count", 1);
        summary.rejected_by_reason.insert("line_too_long", 1);
        ObjectReport {
            kind: "cflog.summary",
            status,
            bucket: "cf-logs".into(),
            key: "cf logs/E1.2025-12-11-05.a1b2.gz".into(),
            failure,
            error: failure.map(|_| "it failed".into()),
            summary,
        }
    }

    fn json(document: &Document) -> Value {
        let line = document.to_line();
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(line.ends_with(b"\n"));
        serde_json::from_slice(&line).unwrap()
    }

    #[test]
    fn an_object_that_was_read() {
        let doc = json(&Document::object(
            &config(Some("cflog")),
            &report(Status::Ok, None),
            1765433116000,
        ));
        check_emf_document(&doc);
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1765433116000_u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "cflog",
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [
                            {"Name": "Entries", "Unit": "Count"},
                            {"Name": "RejectedLines", "Unit": "Count"},
                            {"Name": "InputBytes", "Unit": "Bytes"},
                            {"Name": "Duration", "Unit": "Milliseconds"},
                            {"Name": "FailedObjects", "Unit": "Count"},
                            {"Name": "SkippedObjects", "Unit": "Count"},
                            {"Name": "RejectedLines.field_count", "Unit": "Count"},
                            {"Name": "RejectedLines.line_too_long", "Unit": "Count"},
                        ],
                    }],
                },
                "FunctionName": "cflog",
                "Entries": 7,
                "RejectedLines": 2,
                "InputBytes": 812,
                "Duration": 4,
                "FailedObjects": 0,
                "SkippedObjects": 0,
                "RejectedLines.field_count": 1,
                "RejectedLines.line_too_long": 1,
                "kind": "cflog.metrics",
                "status": "ok",
                "bucket": "cf-logs",
                "key": "cf logs/E1.2025-12-11-05.a1b2.gz",
            })
        );
    }

    #[test]
    fn an_s3_destination_adds_its_objects_and_bytes() {
        let mut report = report(Status::Ok, None);
        report.summary.delivered = Delivery {
            entries: 7,
            bytes: 3000,
            objects: vec![
                cflog_pipeline::sink::DeliveredObject {
                    uri: "s3://out/a.parquet".into(),
                    entries: 4,
                    bytes: 1800,
                },
                cflog_pipeline::sink::DeliveredObject {
                    uri: "s3://out/b.parquet".into(),
                    entries: 3,
                    bytes: 1200,
                },
            ],
            ..Delivery::default()
        };
        let doc = json(&Document::object(
            &delivering(DeliveryMetrics::Objects),
            &report,
            1,
        ));
        check_emf_document(&doc);
        assert_eq!(
            names(&doc)[6..],
            [
                "OutputBytes",
                "OutputObjects",
                "RejectedLines.field_count",
                "RejectedLines.line_too_long"
            ]
        );
        assert_eq!(
            (&doc["OutputBytes"], &doc["OutputObjects"]),
            (&json!(3000), &json!(2))
        );
        assert_eq!(doc.get("OutputRecords"), None);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][6]["Unit"],
            "Bytes"
        );
    }

    #[test]
    fn a_stream_destination_adds_its_records_calls_and_retries() {
        let mut failed = report(Status::Failed, Some(FailureKind::OutputFailed));
        failed.summary.delivered = Delivery {
            entries: 5,
            bytes: 2500,
            records: 3,
            requests: 4,
            retried_records: 2,
            ..Delivery::default()
        };
        let doc = json(&Document::object(
            &delivering(DeliveryMetrics::Records),
            &failed,
            1,
        ));
        check_emf_document(&doc);
        assert_eq!(
            names(&doc)[6..10],
            [
                "OutputBytes",
                "OutputRecords",
                "OutputRequests",
                "OutputRetriedRecords"
            ]
        );
        assert_eq!(doc["OutputBytes"], 2500);
        assert_eq!(doc["OutputRecords"], 3);
        assert_eq!(doc["OutputRequests"], 4);
        assert_eq!(doc["OutputRetriedRecords"], 2);
        assert_eq!(doc.get("OutputObjects"), None);
        // Only FailedObjects by type, still.
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][1]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        // Zeros, when nothing got through: the ratios have data points.
        let nothing = json(&Document::object(
            &delivering(DeliveryMetrics::Records),
            &report(Status::Ok, None),
            1,
        ));
        assert_eq!(nothing["OutputRecords"], 0);
        assert_eq!(nothing["OutputRetriedRecords"], 0);
        // And none of them on stdout, the default.
        let stdout = json(&Document::object(&config(Some("cflog")), &failed, 1));
        assert!(!names(&stdout).iter().any(|n| n.starts_with("Output")));
    }

    #[test]
    fn a_failed_object_is_also_counted_by_error_type() {
        let doc = json(&Document::object(
            &config(Some("cflog")),
            &report(Status::Failed, Some(FailureKind::CorruptGzip)),
            1,
        ));
        check_emf_document(&doc);
        let directives = &doc["_aws"]["CloudWatchMetrics"];
        assert_eq!(directives.as_array().unwrap().len(), 2);
        // Every metric under the function alone, so that one alarm sees
        // every error type ...
        assert_eq!(directives[0]["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(directives[0]["Metrics"].as_array().unwrap().len(), 8);
        // ... and only FailedObjects by type.
        assert_eq!(
            directives[1],
            json!({
                "Namespace": "cflog",
                "Dimensions": [["FunctionName", "ErrorType"]],
                "Metrics": [{"Name": "FailedObjects", "Unit": "Count"}],
            })
        );
        assert_eq!(doc["ErrorType"], "CorruptGzip");
        assert_eq!(doc["FailedObjects"], 1);
        assert_eq!(doc["SkippedObjects"], 0);
        assert_eq!(doc["status"], "failed");
    }

    #[test]
    fn a_skipped_object() {
        let mut skipped = report(Status::Skipped, None);
        skipped.summary = Summary::default();
        let doc = json(&Document::object(&config(Some("f")), &skipped, 1));
        check_emf_document(&doc);
        assert_eq!(doc["SkippedObjects"], 1);
        assert_eq!(doc["FailedObjects"], 0);
        assert_eq!(doc["Entries"], 0);
        assert_eq!(doc.get("ErrorType"), None);
        // No reason, no per-reason metric.
        let metrics = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(metrics.len(), 6);
    }

    #[test]
    fn outside_lambda_the_dimension_set_is_empty() {
        let doc = json(&Document::object(
            &config(None),
            &report(Status::Failed, Some(FailureKind::S3Transient)),
            1,
        ));
        check_emf_document(&doc);
        let directives = &doc["_aws"]["CloudWatchMetrics"];
        assert_eq!(directives[0]["Dimensions"], json!([[]]));
        assert_eq!(directives[1]["Dimensions"], json!([["ErrorType"]]));
        assert_eq!(doc.get("FunctionName"), None);
    }

    #[test]
    fn a_kinesis_batch() {
        let mut summary = Summary {
            compressed_bytes: 300,
            bytes: 300,
            lines: 3,
            entries: 2,
            rejected: 1,
            duration_ms: 9,
            ..Summary::default()
        };
        summary.rejected_by_reason.insert("field_count", 1);
        let report = BatchReport {
            kind: "cflog.summary",
            source: "kinesis",
            status: Status::Failed,
            stream: Some("arn:aws:kinesis:us-east-1:123456789012:stream/s".into()),
            records: 3,
            records_with_rejects: 1,
            retried: Vec::new(),
            error: Some("write failed".into()),
            summary,
        };
        let namespace = MetricsConfig {
            namespace: "cflog/prod".into(),
            function_name: Some("cflog".into()),
            delivery: DeliveryMetrics::None,
        };
        let doc = json(&Document::batch(
            &namespace,
            &report,
            Some(FailureKind::OutputFailed),
            1,
        ));
        check_emf_document(&doc);
        let names: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Entries",
                "RejectedLines",
                "InputBytes",
                "Duration",
                "FailedBatches",
                "RejectedLines.field_count"
            ]
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][1]["Namespace"],
            "cflog/prod"
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][1]["Metrics"],
            json!([{"Name": "FailedBatches", "Unit": "Count"}])
        );
        assert_eq!(
            (
                &doc["Entries"],
                &doc["RejectedLines"],
                &doc["InputBytes"],
                &doc["Duration"]
            ),
            (&json!(2), &json!(1), &json!(300), &json!(9))
        );
        assert_eq!(doc["FailedBatches"], 1);
        assert_eq!(doc["ErrorType"], "OutputFailed");
        assert_eq!(doc["source"], "kinesis");
        assert_eq!(doc["stream"], report.stream.as_deref().unwrap());
        assert_eq!(doc.get("FailedObjects"), None);
    }

    #[test]
    fn the_catalog_is_what_the_documents_emit() {
        // The template's alarms are checked against METRICS (through
        // tests/template/metrics.json): it must be exactly what is written.
        let object = json(&Document::object(
            &config(Some("f")),
            &report(Status::Ok, None),
            1,
        ));
        let batch = BatchReport {
            kind: "cflog.summary",
            source: "kinesis",
            status: Status::Ok,
            stream: None,
            records: 0,
            records_with_rejects: 0,
            retried: Vec::new(),
            error: None,
            summary: Summary::default(),
        };
        let batch_doc = json(&Document::batch(&config(Some("f")), &batch, None, 1));
        // The destinations' own, last: S3's, and the streams' (from a
        // Kinesis batch, whose output can be a stream).
        let to_s3 = json(&Document::object(
            &delivering(DeliveryMetrics::Objects),
            &report(Status::Ok, None),
            1,
        ));
        let to_stream = json(&Document::batch(
            &delivering(DeliveryMetrics::Records),
            &batch,
            None,
            1,
        ));
        let rollup = json(&Document::rollup(
            &config(Some("f")),
            &RollupCounts::default(),
            None,
            1,
        ));
        let mut emitted: Vec<(String, String)> = Vec::new();
        for doc in [&object, &batch_doc, &to_s3, &to_stream, &rollup] {
            for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
            {
                let name = metric["Name"].as_str().unwrap().to_owned();
                let unit = metric["Unit"].as_str().unwrap().to_owned();
                if !name.starts_with(REJECTED_REASON_PREFIX)
                    && !emitted.contains(&(name.clone(), unit.clone()))
                {
                    emitted.push((name, unit));
                }
            }
        }
        let catalog: Vec<(String, String)> = METRICS
            .iter()
            .map(|(name, unit)| ((*name).to_owned(), unit.as_str().to_owned()))
            .collect();
        assert_eq!(emitted, catalog);
    }

    #[test]
    fn a_failed_rollup_counts_its_hours_and_its_error_type() {
        let counts = RollupCounts {
            hours: 3,
            parts_written: 2,
            hours_left: 5,
        };
        let doc = json(&Document::rollup(
            &config(Some("f")),
            &counts,
            Some(FailureKind::S3Transient),
            1,
        ));
        check_emf_document(&doc);
        assert_eq!(
            (
                &doc["RollupHours"],
                &doc["RollupPartsWritten"],
                &doc["RollupHoursLeft"],
                &doc["FailedRollups"]
            ),
            (&json!(3), &json!(2), &json!(5), &json!(1))
        );
        assert_eq!(doc["ErrorType"], "S3Transient");
        assert_eq!(doc["source"], "rollup");
        assert_eq!(doc["status"], "failed");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][1]["Metrics"],
            json!([{"Name": "FailedRollups", "Unit": "Count"}])
        );
        assert_eq!(doc.get("Entries"), None);
        let ok = json(&Document::rollup(&config(Some("f")), &counts, None, 1));
        assert_eq!(
            (&ok["FailedRollups"], &ok["status"]),
            (&json!(0), &json!("ok"))
        );
        assert_eq!(ok.get("ErrorType"), None);
    }

    #[test]
    fn every_reason_fits_in_one_directive() {
        let mut many = report(Status::Ok, None);
        for reason in [
            "io",
            "line_too_long",
            "field_count",
            "field_value",
            "json",
            "header",
            "no_values",
            "bare_cr",
            "entry_too_large",
            "truncated",
        ] {
            many.summary.rejected_by_reason.insert(reason, 1);
        }
        let doc = json(&Document::object(&config(Some("f")), &many, 1));
        check_emf_document(&doc);
        let metrics = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(metrics.len(), 6 + 10);
    }

    #[test]
    fn member_names_never_collide() {
        // A property or dimension named like a metric would be read as it.
        let doc = json(&Document::object(
            &config(Some("f")),
            &report(Status::Failed, Some(FailureKind::BadEvent)),
            1,
        ));
        let members = doc.as_object().unwrap().len();
        // _aws, 2 dimensions, 8 metrics, 4 properties.
        assert_eq!(members, 1 + 2 + 8 + 4);
    }

    #[test]
    fn the_writer_writes_one_line_per_report_and_survives_a_failing_output() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("closed"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        MetricsWriter::new(config(None), Broken).object(&report(Status::Ok, None));

        let out = cflog_testkit::SharedOutput::default();
        let writer = MetricsWriter::new(config(Some("f")), out.clone());
        writer.object(&report(Status::Ok, None));
        writer.object(&report(Status::Skipped, None));
        let lines = out.entries();
        assert_eq!(lines.len(), 2);
        for line in &lines {
            check_emf_document(line);
            let stamp = line["_aws"]["Timestamp"].as_u64().unwrap();
            assert!(stamp > 1_700_000_000_000, "{stamp} is not milliseconds");
        }
        assert_eq!(lines[1]["SkippedObjects"], 1);
    }
}
