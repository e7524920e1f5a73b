//! Configuration from environment variables, read and checked once at cold
//! start.

use std::fmt;

use cflog_core::contract::{Contract, Selection};
use cflog_core::typed::Layout;
use cflog_core::{DEFAULT_MAX_LINE_LEN, DecoderBuilder, Delimiter, Field, InputFormat, Schema};
use cflog_destinations::pack::Packing;
use cflog_destinations::s3::ObjectFormat;
use cflog_pipeline::{Options, Redact};

use crate::cold_start::{Fetched, KEY_SECRET_VARIABLE};
pub use crate::error::ConfigError;

/// Every variable the function reads, with its meaning, for error messages
/// and documentation.
pub const VARIABLES: [(&str, &str); 28] = [
    (
        "CFLOG_FIELDS",
        "comma-separated JSON keys to emit, in order; empty for every field",
    ),
    (
        "CFLOG_SINK",
        "`stdout` (NDJSON to CloudWatch Logs, the default), `s3` (objects in CFLOG_OUTPUT_BUCKET, Hive-partitioned by distribution and hour), `firehose`, `kinesis` or `sqs` (NDJSON records to CFLOG_FIREHOSE_STREAM, CFLOG_KINESIS_STREAM or CFLOG_SQS_QUEUE_URL), or `none` (parse and count only)",
    ),
    (
        "CFLOG_FIREHOSE_STREAM",
        "the Firehose delivery stream (name or ARN) the `firehose` sink sends to, many whole entries per record; required with it",
    ),
    (
        "CFLOG_KINESIS_STREAM",
        "the Kinesis data stream (name or ARN) the `kinesis` sink sends to; required with it, and never the stream of CFLOG_REALTIME_FIELDS' records",
    ),
    (
        "CFLOG_KINESIS_PARTITION_KEY",
        "the JSON key whose value is each Kinesis record's partition key (default `x_edge_request_id`, which spreads records evenly over the shards)",
    ),
    (
        "CFLOG_KINESIS_PACKING",
        "`entry` (one entry per Kinesis record, the default) or `packed` (as many whole entries per record as fit)",
    ),
    (
        "CFLOG_SQS_QUEUE_URL",
        "the queue the `sqs` sink sends to, many whole entries per message; required with it. A FIFO queue (`.fifo`) gets deduplication ids",
    ),
    (
        "CFLOG_OUTPUT_FORMAT",
        "how entries are written: to stdout `ndjson` (the JSON contract, the default), `csv` or `tsv` (a header row per object, then one row per entry; the columns are CFLOG_FIELDS, or today's standard log's); to S3 `parquet` (typed, for Athena, the default) or `ndjson.gz`",
    ),
    (
        "CFLOG_OUTPUT_BUCKET",
        "the bucket the `s3` sink writes to; required with it, and never the log bucket",
    ),
    (
        "CFLOG_OUTPUT_PREFIX",
        "the key prefix of the `s3` sink's objects (default none): `<prefix>/distribution=<id>/year=YYYY/month=MM/day=DD/hour=HH/<input name>.parquet`",
    ),
    (
        "CFLOG_ROLLUP",
        "`on`: the `s3` sink's Parquet objects go under `<prefix>staging/`, and the schedule's invocation (`{\"cflog\": \"rollup\"}`) rolls each changed distribution-hour into `<prefix>distribution=<id>/…/hour=HH/part-00000.parquet`; `off` (the default): the objects go under `<prefix>` itself",
    ),
    (
        "CFLOG_ROLLUP_WINDOW_HOURS",
        "with CFLOG_ROLLUP=on, the hours back from now that the schedule's invocation rolls up (default 48, 1 to 144)",
    ),
    (
        "CFLOG_MAX_LINE_BYTES",
        "longest line accepted, in bytes (default 65536); longer lines are rejected",
    ),
    (
        "CFLOG_CONCURRENCY",
        "objects of one event processed at once (default 4, at most 64)",
    ),
    (
        "CFLOG_DELIMITER",
        "field delimiter of v2 deliveries that do not use TAB, e.g. `|` (default TAB)",
    ),
    (
        "CFLOG_FIELDS_HEADER",
        "field names of lines before any #Fields header, in order (v2 `plain` output has no header)",
    ),
    (
        "CFLOG_INPUT_FORMAT",
        "`auto` (the default: JSON when an object's first line starts with `{`), `w3c` or `json`",
    ),
    (
        "CFLOG_REALTIME_FIELDS",
        "the fields of the real-time log configuration, comma- or space-separated, in any order; needed for Kinesis events",
    ),
    (
        "CFLOG_REALTIME_REJECTS",
        "what a Kinesis record with a bad line gets: `report` (counted and acknowledged, the default) or `retry` (a batch item failure)",
    ),
    (
        "CFLOG_IGNORE_PREFIX",
        "objects whose key starts with this are never read, whatever the event (the backfill prefix, where manifests and completion reports live)",
    ),
    (
        "CFLOG_ENRICH",
        "`ua`: the keys ua_name, ua_version, ua_os, ua_os_version, ua_device and is_bot from the user agent, in every output",
    ),
    (
        "CFLOG_GEOIP_DB",
        "a MaxMind DB file (a path in the package or a layer, or an `s3://bucket/key` object read at cold start, at most 256 MiB) that fills c_country, and asn when it has AS numbers, for logs that lack CloudFront's own",
    ),
    (
        "CFLOG_IP_PRIVACY",
        "`truncate` (c_ip and x_forwarded_for keep their /24 or /48) or `hmac` (a keyed pseudonym, with CFLOG_IP_HMAC_KEY_SECRET), before any output",
    ),
    (
        "CFLOG_IP_HMAC_KEY_SECRET",
        "the key of CFLOG_IP_PRIVACY=hmac: the ARN of a Secrets Manager secret, or the name or ARN of an SSM SecureString parameter, read at cold start (never the key itself)",
    ),
    (
        "CFLOG_DROP_FIELDS",
        "comma-separated keys no output writes (e.g. cs_cookie)",
    ),
    (
        "CFLOG_DROP_QUERY_PARAMS",
        "comma-separated query parameter names removed from cs_uri_query and query_params",
    ),
    (
        "CFLOG_METRICS",
        "`on` (the default): a CloudWatch embedded-metric-format line per object and per Kinesis batch on stderr; `off`: none",
    ),
    (
        "CFLOG_METRICS_NAMESPACE",
        "the CloudWatch namespace of those metrics (default `cflog`): printable ASCII, at most 255 characters, not under `AWS/`",
    ),
];

/// What becomes of a Kinesis record that has a line that is not a log
/// entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectPolicy {
    /// Count it in the batch summary, with its sequence number, and
    /// acknowledge it: a retry cannot fix the data.
    Report,
    /// Return it as a batch item failure, so that Lambda retries from it and
    /// the event source's retry limit and on-failure destination take it.
    Retry,
}

/// How Kinesis records of CloudFront real-time logs are read.
#[derive(Clone, Debug)]
pub struct Realtime {
    /// The parser's configuration, with the schema of the configured fields.
    pub options: Options,
    /// What becomes of records with bad lines.
    pub rejects: RejectPolicy,
    /// Configured names this version does not know (warned about at cold
    /// start; they are left out of the schema).
    pub unknown_fields: Vec<String>,
}

/// Where entries go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// NDJSON on stdout, which Lambda sends to CloudWatch Logs.
    Stdout,
    /// Objects in S3 ([`Config::s3`]).
    S3,
    /// NDJSON records to Firehose, Kinesis or SQS ([`Config::stream`]).
    Stream,
    /// Parse and count only.
    None,
}

/// Where a stream sink sends its records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamOutput {
    /// A Firehose delivery stream (`CFLOG_FIREHOSE_STREAM`), by name or ARN.
    Firehose {
        /// The name or ARN.
        stream: String,
    },
    /// A Kinesis data stream (`CFLOG_KINESIS_STREAM`), by name or ARN.
    Kinesis {
        /// The name or ARN.
        stream: String,
        /// The field whose value keys each record
        /// (`CFLOG_KINESIS_PARTITION_KEY`).
        partition_key: Field,
        /// One entry per record, or packed (`CFLOG_KINESIS_PACKING`).
        packing: Packing,
    },
    /// An SQS queue (`CFLOG_SQS_QUEUE_URL`).
    Sqs {
        /// The queue's URL.
        queue_url: String,
    },
}

impl StreamOutput {
    /// The `CFLOG_SINK` value that chose it.
    pub fn sink_name(&self) -> &'static str {
        match self {
            StreamOutput::Firehose { .. } => "firehose",
            StreamOutput::Kinesis { .. } => "kinesis",
            StreamOutput::Sqs { .. } => "sqs",
        }
    }
}

/// Where the `s3` sink writes, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Output {
    /// The bucket (`CFLOG_OUTPUT_BUCKET`).
    pub bucket: String,
    /// The key prefix (`CFLOG_OUTPUT_PREFIX`), possibly empty.
    pub prefix: String,
    /// Parquet or gzip NDJSON (`CFLOG_OUTPUT_FORMAT`).
    pub format: ObjectFormat,
    /// With the hourly rollup (`CFLOG_ROLLUP=on`, Parquet only): the hours
    /// the schedule's invocation rolls up, back from now
    /// (`CFLOG_ROLLUP_WINDOW_HOURS`). The sink then writes under
    /// `<prefix>staging/`.
    pub rollup_window_hours: Option<u32>,
}

/// How entries are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line: the cflog-core JSON contract.
    Ndjson,
    /// Comma-separated rows under a header row of JSON keys.
    Csv,
    /// TAB-separated rows under a header row of JSON keys.
    Tsv,
}

/// The metrics namespace without `CFLOG_METRICS_NAMESPACE`.
pub const DEFAULT_NAMESPACE: &str = "cflog";

/// The CloudWatch metrics written beside each report
/// ([`metrics`](crate::metrics)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    /// The namespace (`CFLOG_METRICS_NAMESPACE`).
    pub namespace: String,
    /// The value of the `FunctionName` dimension: `AWS_LAMBDA_FUNCTION_NAME`,
    /// which Lambda sets; without it (a local run) metrics have no dimension.
    pub function_name: Option<String>,
    /// Which delivery metrics the lines carry: those of the sink's
    /// destination.
    pub delivery: DeliveryMetrics,
}

/// The delivery metrics of a destination ([`metrics`](crate::metrics)):
/// each metric name is billed, so a line carries only those of the
/// destination the function writes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeliveryMetrics {
    /// None: stdout (CloudWatch Logs itself, whose ingestion is the
    /// log group's own metric) and the null sink.
    #[default]
    None,
    /// `OutputObjects` and `OutputBytes`: S3.
    Objects,
    /// `OutputRecords`, `OutputRequests`, `OutputRetriedRecords` and
    /// `OutputBytes`: Firehose, Kinesis and SQS.
    Records,
}

impl DeliveryMetrics {
    /// Those of `sink`'s destination.
    pub fn of(sink: SinkKind) -> DeliveryMetrics {
        match sink {
            SinkKind::S3 => DeliveryMetrics::Objects,
            SinkKind::Stream => DeliveryMetrics::Records,
            SinkKind::Stdout | SinkKind::None => DeliveryMetrics::None,
        }
    }
}

/// The function's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Which JSON keys to emit.
    pub selection: Selection,
    /// Where entries go.
    pub sink: SinkKind,
    /// How entries are written to stdout.
    pub format: OutputFormat,
    /// Where and how the `s3` sink writes; set when `sink` is
    /// [`SinkKind::S3`].
    pub s3: Option<S3Output>,
    /// Where a stream sink sends; set when `sink` is [`SinkKind::Stream`].
    pub stream: Option<StreamOutput>,
    /// How objects are parsed.
    pub options: Options,
    /// How many objects of one event are processed at once.
    pub concurrency: usize,
    /// How Kinesis records are read; `None` when `CFLOG_REALTIME_FIELDS` is
    /// not set.
    pub realtime: Option<Realtime>,
    /// Keys under this prefix are never read (`CFLOG_IGNORE_PREFIX`).
    pub ignore_prefix: Option<String>,
    /// The CloudWatch metrics; `None` with `CFLOG_METRICS=off`.
    pub metrics: Option<MetricsConfig>,
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    ///
    /// For the first variable with a bad value, naming it.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in
    /// tests). Unset and empty variables take their defaults.
    ///
    /// ```
    /// use cflog_lambda::config::{Config, SinkKind};
    ///
    /// let config = Config::from_lookup(|name| match name {
    ///     "CFLOG_SINK" => Some("none".into()),
    ///     "CFLOG_FIELDS" => Some("timestamp, sc_status".into()),
    ///     _ => None,
    /// })?;
    /// assert_eq!(config.sink, SinkKind::None);
    /// assert_eq!(config.concurrency, 4);
    ///
    /// let err = Config::from_lookup(|name| (name == "CFLOG_CONCURRENCY").then(|| "lots".into())).unwrap_err();
    /// assert_eq!(err.to_string(), "CFLOG_CONCURRENCY: expected a whole number from 1 to 64, got \"lots\"");
    /// # Ok::<(), cflog_lambda::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// For the first variable with a bad value, naming it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::from_lookup_fetched(lookup, Fetched::default())
    }

    /// [`from_lookup`](Config::from_lookup), with what the variables name
    /// outside the package ([`cold_start::fetch`](crate::cold_start::fetch)):
    /// the HMAC key of `CFLOG_IP_PRIVACY=hmac` and an `s3://`
    /// `CFLOG_GEOIP_DB`. Without them, those variables fail.
    ///
    /// # Errors
    ///
    /// For the first variable with a bad value, naming it.
    pub fn from_lookup_fetched(
        lookup: impl Fn(&str) -> Option<String>,
        mut fetched: Fetched,
    ) -> Result<Config, ConfigError> {
        let vars = Vars(lookup);
        // In this order, so that the first bad variable is the one named.
        let destination = destination(&vars, &mut fetched)?;
        let reading = reading(&vars)?;
        let mut realtime = realtime(&vars, destination.sink, &reading.decoder)?;
        if let Some(realtime) = &mut realtime {
            realtime.options.redact = destination.redact.clone();
        }
        let metrics = metrics(&vars, destination.sink)?;
        Ok(Config {
            selection: destination.selection,
            sink: destination.sink,
            format: destination.format,
            s3: destination.s3,
            stream: destination.stream,
            options: Options {
                decoder: reading.decoder,
                redact: destination.redact,
            },
            concurrency: reading.concurrency,
            realtime,
            ignore_prefix: vars.get("CFLOG_IGNORE_PREFIX"),
            metrics,
        })
    }

    /// The ignored prefix, when `key` is under it.
    ///
    /// ```
    /// use cflog_lambda::Config;
    /// let config = Config::from_lookup(|name| (name == "CFLOG_IGNORE_PREFIX").then(|| "cflog-backfill/".into()))?;
    /// assert_eq!(config.ignored_prefix("cflog-backfill/reports/job-1/results/a.csv"), Some("cflog-backfill/"));
    /// assert_eq!(config.ignored_prefix("cloudfront/E1.2025-01-01-00.a.gz"), None);
    /// # Ok::<(), cflog_lambda::config::ConfigError>(())
    /// ```
    pub fn ignored_prefix(&self, key: &str) -> Option<&str> {
        self.ignore_prefix
            .as_deref()
            .filter(|prefix| key.starts_with(prefix))
    }
}

/// The variables, read through a lookup (the environment, or a map in
/// tests).
struct Vars<L>(L);

impl<L: Fn(&str) -> Option<String>> Vars<L> {
    /// A variable's value, trimmed; `None` when unset or empty.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A variable's value as it is (its spaces may matter); `None` when
    /// unset or empty.
    fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }
}

fn fail(variable: &'static str, message: String) -> ConfigError {
    ConfigError { variable, message }
}

/// Where entries go, and in what shape: `CFLOG_FIELDS`, `CFLOG_SINK` and
/// the sink's own variables, `CFLOG_OUTPUT_FORMAT`.
struct Destination {
    selection: Selection,
    sink: SinkKind,
    format: OutputFormat,
    s3: Option<S3Output>,
    stream: Option<StreamOutput>,
    /// The messages of rejected lines with their addresses rewritten, when
    /// `CFLOG_IP_PRIVACY` is set.
    redact: Redact,
}

fn destination<L: Fn(&str) -> Option<String>>(
    vars: &Vars<L>,
    fetched: &mut Fetched,
) -> Result<Destination, ConfigError> {
    let (contract, redact) = enriched_contract(vars, fetched)?;
    let selection = match vars.get("CFLOG_FIELDS") {
        None => contract.select_all(),
        Some(list) => contract
            .select(&list)
            .map_err(|e| fail("CFLOG_FIELDS", e.to_string()))?,
    };
    let sink_name = vars.get("CFLOG_SINK");
    let sink = match sink_name.as_deref() {
        None | Some("stdout") => SinkKind::Stdout,
        Some("s3") => SinkKind::S3,
        Some("firehose" | "kinesis" | "sqs") => SinkKind::Stream,
        Some("none") => SinkKind::None,
        Some(other) => {
            return Err(fail(
                "CFLOG_SINK",
                format!("expected stdout, s3, firehose, kinesis, sqs or none, got {other:?}"),
            ));
        }
    };
    let stream = match sink_name.as_deref() {
        Some(name @ ("firehose" | "kinesis" | "sqs")) => {
            Some(stream_output(name, |variable| vars.get(variable))?)
        }
        _ => None,
    };
    let (format, s3) = match sink {
        SinkKind::S3 => (OutputFormat::Ndjson, Some(s3_output(vars)?)),
        SinkKind::Stream => match vars.get("CFLOG_OUTPUT_FORMAT").as_deref() {
            None | Some("ndjson") => (OutputFormat::Ndjson, None),
            Some(other) => {
                return Err(fail(
                    "CFLOG_OUTPUT_FORMAT",
                    format!(
                        "the {} sink sends NDJSON records: expected ndjson, got {other:?}",
                        sink_name.as_deref().unwrap_or_default()
                    ),
                ));
            }
        },
        SinkKind::Stdout | SinkKind::None => (local_format(vars)?, None),
    };
    // Rows of several objects may alternate in the log, so every
    // object's rows must have the same columns: without CFLOG_FIELDS,
    // those of today's standard log.
    let selection = match (format, selection.keys()) {
        (OutputFormat::Csv | OutputFormat::Tsv, None) => standard_columns(&contract),
        _ => selection,
    };
    Ok(Destination {
        selection,
        sink,
        format,
        s3,
        stream,
        redact,
    })
}

/// The `s3` sink's bucket, prefix and object format.
fn s3_output<L: Fn(&str) -> Option<String>>(vars: &Vars<L>) -> Result<S3Output, ConfigError> {
    let format = match vars.get("CFLOG_OUTPUT_FORMAT") {
        None => ObjectFormat::Parquet,
        Some(format) => {
            format
                .parse()
                .map_err(|e: cflog_destinations::s3::UnknownObjectFormat| {
                    fail("CFLOG_OUTPUT_FORMAT", format!("with CFLOG_SINK=s3, {e}"))
                })?
        }
    };
    #[cfg(not(feature = "parquet"))]
    if format == ObjectFormat::Parquet {
        return Err(fail(
            "CFLOG_OUTPUT_FORMAT",
            "this build writes no Parquet (cflog-lambda's feature `parquet`): set ndjson.gz".into(),
        ));
    }
    // The Glue table's columns are fixed; a selection set for Parquet
    // would be ignored without a word.
    if format == ObjectFormat::Parquet && vars.get("CFLOG_FIELDS").is_some() {
        return Err(fail(
            "CFLOG_FIELDS",
            "Parquet objects have the fixed columns of the Glue table: leave it \
             empty, or set CFLOG_OUTPUT_FORMAT=ndjson.gz"
                .into(),
        ));
    }
    let bucket = vars.get("CFLOG_OUTPUT_BUCKET").ok_or_else(|| {
        fail(
            "CFLOG_OUTPUT_BUCKET",
            "CFLOG_SINK=s3 needs the bucket to write to".into(),
        )
    })?;
    let rollup = match vars.get("CFLOG_ROLLUP").as_deref() {
        None | Some("off") => false,
        // A rolled part takes the columns of its staging objects, so the
        // enrichment's columns, or fewer with CFLOG_DROP_FIELDS, roll up too.
        Some("on") if format == ObjectFormat::Parquet => true,
        Some("on") => {
            return Err(fail(
                "CFLOG_ROLLUP",
                "the rollup merges Parquet objects: set CFLOG_OUTPUT_FORMAT=parquet, or CFLOG_ROLLUP=off".into(),
            ));
        }
        Some(other) => {
            return Err(fail(
                "CFLOG_ROLLUP",
                format!("expected on or off, not {other:?}"),
            ));
        }
    };
    let window = match vars.get("CFLOG_ROLLUP_WINDOW_HOURS") {
        None => 48,
        Some(hours) => hours
            .parse::<u32>()
            .ok()
            .filter(|h| (1..=144).contains(h))
            .ok_or_else(|| {
                fail(
                    "CFLOG_ROLLUP_WINDOW_HOURS",
                    format!("expected 1 to 144 hours, not {hours:?}"),
                )
            })?,
    };
    Ok(S3Output {
        bucket,
        prefix: vars.get("CFLOG_OUTPUT_PREFIX").unwrap_or_default(),
        format,
        rollup_window_hours: rollup.then_some(window),
    })
}

/// The format of stdout (and of the null sink, which writes nothing).
fn local_format<L: Fn(&str) -> Option<String>>(
    vars: &Vars<L>,
) -> Result<OutputFormat, ConfigError> {
    match vars.get("CFLOG_OUTPUT_FORMAT").as_deref() {
        None | Some("ndjson") => Ok(OutputFormat::Ndjson),
        Some("csv") => Ok(OutputFormat::Csv),
        Some("tsv") => Ok(OutputFormat::Tsv),
        Some(other) => Err(fail(
            "CFLOG_OUTPUT_FORMAT",
            format!(
                "expected ndjson, csv or tsv, got {other:?} (parquet and ndjson.gz are formats of CFLOG_SINK=s3)"
            ),
        )),
    }
}

/// How objects are read: the decoder's settings and how many at once.
struct Reading {
    decoder: DecoderBuilder,
    concurrency: usize,
}

fn reading<L: Fn(&str) -> Option<String>>(vars: &Vars<L>) -> Result<Reading, ConfigError> {
    let max_line_len = number(
        vars.get("CFLOG_MAX_LINE_BYTES"),
        DEFAULT_MAX_LINE_LEN,
        64..=16 << 20,
    )
    .map_err(|m| fail("CFLOG_MAX_LINE_BYTES", m))?;
    let concurrency = number(vars.get("CFLOG_CONCURRENCY"), 4, 1..=64)
        .map_err(|m| fail("CFLOG_CONCURRENCY", m))?;
    let mut decoder = DecoderBuilder::new();
    decoder.max_line_len(max_line_len);
    if let Some(delimiter) = vars.raw("CFLOG_DELIMITER") {
        let delimiter = unescape(&delimiter);
        decoder.delimiter(
            Delimiter::new(delimiter.as_bytes())
                .map_err(|e| fail("CFLOG_DELIMITER", e.to_string()))?,
        );
    }
    if let Some(header) = vars.get("CFLOG_FIELDS_HEADER") {
        let names = header
            .trim_start_matches("#Fields:")
            .split([',', ' ', '\t']);
        let schema = Schema::from_names(names.filter(|n| !n.is_empty()))
            .map_err(|m| fail("CFLOG_FIELDS_HEADER", m.to_string()))?;
        decoder.schema(schema);
    }
    if let Some(format) = vars.get("CFLOG_INPUT_FORMAT") {
        decoder.format(
            format
                .parse()
                .map_err(|e: cflog_core::UnknownInputFormat| {
                    fail("CFLOG_INPUT_FORMAT", e.to_string())
                })?,
        );
    }
    Ok(Reading {
        decoder,
        concurrency,
    })
}

/// How Kinesis records of real-time logs are read, when
/// `CFLOG_REALTIME_FIELDS` is set: `decoder`'s settings with the record's
/// own delimiter, schema and format.
fn realtime<L: Fn(&str) -> Option<String>>(
    vars: &Vars<L>,
    sink: SinkKind,
    decoder: &DecoderBuilder,
) -> Result<Option<Realtime>, ConfigError> {
    let rejects = match vars.get("CFLOG_REALTIME_REJECTS").as_deref() {
        None | Some("report") => RejectPolicy::Report,
        Some("retry") => RejectPolicy::Retry,
        Some(other) => {
            return Err(fail(
                "CFLOG_REALTIME_REJECTS",
                format!("expected report or retry, got {other:?}"),
            ));
        }
    };
    let Some(list) = vars.get("CFLOG_REALTIME_FIELDS") else {
        return Ok(None);
    };
    // Objects are named after their input, and a Kinesis batch has no name
    // that a retry would give again.
    if sink == SinkKind::S3 {
        return Err(fail(
            "CFLOG_REALTIME_FIELDS",
            "real-time logs from Kinesis go to CFLOG_SINK=stdout, firehose, kinesis or sqs; the s3 sink writes standard logs only".into(),
        ));
    }
    let names = list.split([',', ' ', '\t', '\n']).filter(|n| !n.is_empty());
    let (schema, unknown_fields) =
        Schema::realtime(names).map_err(|m| fail("CFLOG_REALTIME_FIELDS", m.to_string()))?;
    // Real-time records are TAB-separated text with no header.
    let mut realtime = decoder.clone();
    realtime
        .delimiter(Delimiter::tab())
        .schema(schema)
        .format(InputFormat::W3c);
    Ok(Some(Realtime {
        options: Options {
            decoder: realtime,
            ..Options::default()
        },
        rejects,
        unknown_fields,
    }))
}

/// The CloudWatch metrics, unless `CFLOG_METRICS=off`.
fn metrics<L: Fn(&str) -> Option<String>>(
    vars: &Vars<L>,
    sink: SinkKind,
) -> Result<Option<MetricsConfig>, ConfigError> {
    let metrics_on = match vars.get("CFLOG_METRICS").as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(fail(
                "CFLOG_METRICS",
                format!("expected on or off, got {other:?}"),
            ));
        }
    };
    // Checked even with the metrics off: a bad value is a mistake either
    // way, and would surface only when they are turned on.
    let namespace = match vars.get("CFLOG_METRICS_NAMESPACE") {
        None => DEFAULT_NAMESPACE.to_owned(),
        Some(namespace) => {
            check_namespace(&namespace).map_err(|m| fail("CFLOG_METRICS_NAMESPACE", m))?;
            namespace
        }
    };
    Ok(metrics_on.then(|| MetricsConfig {
        namespace,
        function_name: vars.get("AWS_LAMBDA_FUNCTION_NAME"),
        delivery: DeliveryMetrics::of(sink),
    }))
}

/// The stream sink `name` (`firehose`, `kinesis` or `sqs`) asks for, from
/// its variables.
fn stream_output(
    name: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<StreamOutput, ConfigError> {
    let required = |variable: &'static str, what: &str| {
        get(variable).ok_or_else(|| ConfigError {
            variable,
            message: format!("CFLOG_SINK={name} needs {what}"),
        })
    };
    if cfg!(not(feature = "streams")) {
        return Err(ConfigError {
            variable: "CFLOG_SINK",
            message: format!(
                "this build has no stream destinations (cflog-lambda's feature `streams`): {name} is not available"
            ),
        });
    }
    Ok(match name {
        "firehose" => StreamOutput::Firehose {
            stream: required("CFLOG_FIREHOSE_STREAM", "the delivery stream's name or ARN")?,
        },
        "kinesis" => {
            let partition_key = match get("CFLOG_KINESIS_PARTITION_KEY") {
                None => Field::EdgeRequestId,
                Some(key) => Field::from_json_key(&key).ok_or_else(|| ConfigError {
                    variable: "CFLOG_KINESIS_PARTITION_KEY",
                    message: format!(
                        "{key:?} is not a JSON key of a log field, such as x_edge_request_id"
                    ),
                })?,
            };
            let packing = match get("CFLOG_KINESIS_PACKING").as_deref() {
                None | Some("entry") => Packing::PerEntry,
                Some("packed") => Packing::Packed,
                Some(other) => {
                    return Err(ConfigError {
                        variable: "CFLOG_KINESIS_PACKING",
                        message: format!("expected entry or packed, got {other:?}"),
                    });
                }
            };
            StreamOutput::Kinesis {
                stream: required("CFLOG_KINESIS_STREAM", "the stream's name or ARN")?,
                partition_key,
                packing,
            }
        }
        _ => StreamOutput::Sqs {
            queue_url: required("CFLOG_SQS_QUEUE_URL", "the queue's URL")?,
        },
    })
}

/// The JSON keys of today's standard log (33 fields, `date` and `time` as
/// `timestamp`), in its order.
fn standard_columns(contract: &Contract) -> Selection {
    let mut layout = Layout::new(contract.select_all());
    let keys = layout.keys(&Schema::standard());
    contract
        .select_keys(keys)
        .unwrap_or_else(|_| contract.select_all())
}

/// The contract of `CFLOG_ENRICH` (`ua`), `CFLOG_GEOIP_DB` (a file in the
/// package or a layer, or an `s3://` object `fetched`), `CFLOG_IP_PRIVACY`
/// (`truncate`, or `hmac` with the key `fetched` from
/// `CFLOG_IP_HMAC_KEY_SECRET`), `CFLOG_DROP_QUERY_PARAMS` and
/// `CFLOG_DROP_FIELDS`, as the command line's options of the same names
/// build it. A database or key that cannot be used fails the cold start,
/// naming its source. With privacy on, rejected lines' messages get their
/// addresses rewritten too: they quote the line.
fn enriched_contract<L: Fn(&str) -> Option<String>>(
    vars: &Vars<L>,
    fetched: &mut Fetched,
) -> Result<(Contract, Redact), ConfigError> {
    use cflog_enrich::geoip::GeoIp;
    use cflog_enrich::keys::{DropQueryParams, GeoKeys, IpPrivacyTransform, UserAgentKeys};
    use cflog_enrich::privacy::{IpPrivacy, Pseudonymizer};
    use cflog_enrich::ua::{AgentCache, DEFAULT_CAPACITY_BYTES};

    let list = |text: &str| -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(String::from)
            .collect()
    };
    let mut contract = Contract::standard();
    for item in vars
        .get("CFLOG_ENRICH")
        .as_deref()
        .map(list)
        .unwrap_or_default()
    {
        if item != "ua" {
            return Err(fail("CFLOG_ENRICH", format!("expected ua, got {item:?}")));
        }
        let cache = std::sync::Arc::new(AgentCache::new(DEFAULT_CAPACITY_BYTES));
        contract = contract
            .derive(UserAgentKeys::new(cache))
            .map_err(|e| fail("CFLOG_ENRICH", e.to_string()))?;
    }
    if let Some(path) = vars.get("CFLOG_GEOIP_DB") {
        let db = if path.starts_with("s3://") {
            // Taken, not copied: the database may be large.
            match fetched.geoip_db.take() {
                Some((uri, bytes)) if uri == path => GeoIp::from_bytes(uri, bytes),
                _ => {
                    return Err(fail(
                        "CFLOG_GEOIP_DB",
                        format!("{path} was not read at cold start (cold_start::fetch)"),
                    ));
                }
            }
        } else {
            GeoIp::open(&path)
        };
        let db = db.map_err(|e| fail("CFLOG_GEOIP_DB", e.to_string()))?;
        contract = contract
            .derive(GeoKeys::new(db))
            .map_err(|e| fail("CFLOG_GEOIP_DB", e.to_string()))?;
    }
    let key_secret = vars.get(KEY_SECRET_VARIABLE);
    let privacy = match vars.get("CFLOG_IP_PRIVACY").as_deref() {
        None if key_secret.is_some() => {
            return Err(fail(
                KEY_SECRET_VARIABLE,
                "goes with CFLOG_IP_PRIVACY=hmac, which is not set".into(),
            ));
        }
        None => None,
        Some("truncate") if key_secret.is_some() => {
            return Err(fail(
                KEY_SECRET_VARIABLE,
                "goes with CFLOG_IP_PRIVACY=hmac, not truncate".into(),
            ));
        }
        Some("truncate") => Some(IpPrivacy::Truncate),
        Some("hmac") => {
            let Some(secret) = key_secret else {
                return Err(fail(
                    "CFLOG_IP_PRIVACY",
                    format!(
                        "hmac needs {KEY_SECRET_VARIABLE}: the ARN of a Secrets Manager secret, \
                         or the name or ARN of an SSM SecureString parameter, holding the key"
                    ),
                ));
            };
            let Some((source, key)) = &fetched.hmac_key else {
                return Err(fail(
                    KEY_SECRET_VARIABLE,
                    format!("{secret} was not read at cold start (cold_start::fetch)"),
                ));
            };
            let key = Pseudonymizer::from_key(key)
                .map_err(|e| fail(KEY_SECRET_VARIABLE, format!("{source}: {e}")))?;
            Some(IpPrivacy::Hmac(key))
        }
        Some(other) => {
            return Err(fail(
                "CFLOG_IP_PRIVACY",
                format!("expected truncate or hmac, got {other:?}"),
            ));
        }
    };
    let mut redact = Redact::default();
    if let Some(privacy) = privacy {
        contract = contract.transform(IpPrivacyTransform::new(privacy.clone()));
        redact = Redact::new(move |text: &str| privacy.scrub(text));
    }
    if let Some(names) = vars.get("CFLOG_DROP_QUERY_PARAMS") {
        contract = contract.transform(DropQueryParams::new(list(&names)));
    }
    if let Some(keys) = vars.get("CFLOG_DROP_FIELDS") {
        contract = contract
            .without(list(&keys))
            .map_err(|e| fail("CFLOG_DROP_FIELDS", e.to_string()))?;
    }
    Ok((contract, redact))
}

/// CloudWatch's rules for a namespace: ASCII without control characters,
/// at most 255 of them, and not `AWS/`, which AWS services keep for
/// themselves. CloudWatch Logs drops an EMF line with a bad namespace
/// silently, so it is refused at cold start instead.
fn check_namespace(namespace: &str) -> Result<(), String> {
    if namespace.len() > 255 {
        return Err(format!(
            "at most 255 characters, got {}",
            namespace.chars().count()
        ));
    }
    if let Some(c) = namespace.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!("printable ASCII only, got {c:?} in {namespace:?}"));
    }
    if namespace.starts_with("AWS/") {
        return Err(format!(
            "namespaces under AWS/ are AWS's own, got {namespace:?}"
        ));
    }
    Ok(())
}

/// `\t` in a variable means TAB, which is awkward to type in a template.
fn unescape(text: &str) -> String {
    text.replace("\\t", "\t")
}

fn number(
    value: Option<String>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, String> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from {} to {}, got {value:?}",
            range.start(),
            range.end()
        )),
    }
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SinkKind::Stdout => "stdout",
            SinkKind::S3 => "s3",
            SinkKind::Stream => "stream",
            SinkKind::None => "none",
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn enrichment_variables_make_the_contract_and_bad_ones_fail_the_cold_start() {
        let config = Config::from_lookup(|name| match name {
            "CFLOG_ENRICH" => Some("ua".into()),
            "CFLOG_IP_PRIVACY" => Some("truncate".into()),
            "CFLOG_DROP_FIELDS" => Some("cs_cookie".into()),
            _ => None,
        })
        .unwrap();
        let contract = config.selection.contract();
        let keys: Vec<_> = contract.extra_derived_keys().map(|k| k.name).collect();
        assert_eq!(
            keys,
            [
                "ua_name",
                "ua_version",
                "ua_os",
                "ua_os_version",
                "ua_device",
                "is_bot"
            ]
        );
        assert!(contract.dropped("cs_cookie"));

        for (variable, value, says) in [
            ("CFLOG_ENRICH", "geo", "expected ua"),
            ("CFLOG_IP_PRIVACY", "hmac", "needs CFLOG_IP_HMAC_KEY_SECRET"),
            ("CFLOG_IP_PRIVACY", "sha256", "expected truncate or hmac"),
            (
                "CFLOG_IP_HMAC_KEY_SECRET",
                "/cflog/ip-key",
                "goes with CFLOG_IP_PRIVACY=hmac",
            ),
            (
                "CFLOG_GEOIP_DB",
                "s3://geo/db.mmdb",
                "not read at cold start",
            ),
            ("CFLOG_GEOIP_DB", "/no/such/db.mmdb", "/no/such/db.mmdb"),
            ("CFLOG_DROP_FIELDS", "no_such_key", "no_such_key"),
        ] {
            let error =
                Config::from_lookup(|name| (name == variable).then(|| value.into())).unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(
                error.message.contains(says),
                "{variable}: {}",
                error.message
            );
        }
        // A rolled part takes its staging objects' columns, so the rollup
        // goes with the enrichment's added columns and with dropped ones.
        for (variable, value) in [("CFLOG_ENRICH", "ua"), ("CFLOG_DROP_FIELDS", "cs_cookie")] {
            let config = Config::from_lookup(cflog_testkit::env(&[
                ("CFLOG_SINK", "s3"),
                ("CFLOG_OUTPUT_BUCKET", "cflog-out"),
                ("CFLOG_ROLLUP", "on"),
                (variable, value),
            ]));
            assert!(config.is_ok(), "{variable}: {:?}", config.err());
        }
    }

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(cflog_testkit::env(vars))
    }

    #[test]
    fn defaults() {
        let config = config(&[]).unwrap();
        assert_eq!(config.sink, SinkKind::Stdout);
        assert_eq!(config.concurrency, 4);
        assert_eq!(config.selection, Selection::all());
    }

    #[test]
    fn csv_columns_are_the_chosen_keys_or_those_of_todays_standard_log() {
        let csv = config(&[("CFLOG_OUTPUT_FORMAT", "csv")]).unwrap();
        assert_eq!(csv.format, OutputFormat::Csv);
        let keys = csv.selection.keys().unwrap();
        // The keys of the JSON object of a line of today's layout.
        let schema = Schema::standard();
        let line = vec!["-"; schema.len()].join("\t");
        let mut spans = Vec::new();
        let line = cflog_core::LogLine::parse(line.as_bytes(), &schema, &mut spans).unwrap();
        let mut json = Vec::new();
        cflog_core::json::JsonWriter::new(Selection::all())
            .write(&line, &mut json)
            .unwrap();
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&json).unwrap();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            object.keys().map(String::as_str).collect::<Vec<_>>()
        );
        // In the JSON object's order.
        let text = String::from_utf8(json).unwrap();
        let at: Vec<usize> = keys
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).unwrap())
            .collect();
        assert!(at.is_sorted(), "{keys:?}");
        assert_eq!(keys[0], "timestamp");
        let chosen = config(&[
            ("CFLOG_OUTPUT_FORMAT", "tsv"),
            ("CFLOG_FIELDS", "sc_status"),
        ]);
        assert_eq!(chosen.unwrap().selection.keys().unwrap(), ["sc_status"]);
        let ndjson = config(&[]).unwrap();
        assert_eq!(
            (ndjson.format, ndjson.selection),
            (OutputFormat::Ndjson, Selection::all())
        );
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        for (var, value) in [
            ("CFLOG_FIELDS", "timestamp,nope"),
            ("CFLOG_SINK", "kafka"),
            ("CFLOG_OUTPUT_FORMAT", "xml"),
            ("CFLOG_MAX_LINE_BYTES", "12"),
            ("CFLOG_MAX_LINE_BYTES", "-1"),
            ("CFLOG_CONCURRENCY", "0"),
            ("CFLOG_CONCURRENCY", "65"),
            ("CFLOG_DELIMITER", "123456789"),
            ("CFLOG_INPUT_FORMAT", "parquet"),
            ("CFLOG_FIELDS_HEADER", ",,"),
            ("CFLOG_REALTIME_FIELDS", "x-nothing, y-nothing"),
            ("CFLOG_REALTIME_REJECTS", "drop"),
            ("CFLOG_OUTPUT_FORMAT", "parquet"),
            ("CFLOG_METRICS", "yes"),
            ("CFLOG_METRICS_NAMESPACE", "AWS/Lambda"),
            ("CFLOG_METRICS_NAMESPACE", "cflog\u{7f}"),
            ("CFLOG_METRICS_NAMESPACE", "journaux/été"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            assert!(err.to_string().starts_with(&format!("{var}: ")), "{err}");
        }
    }

    #[test]
    fn the_stream_sinks_need_their_target_and_send_ndjson() {
        let firehose = config(&[
            ("CFLOG_SINK", "firehose"),
            ("CFLOG_FIREHOSE_STREAM", "cflog-requests"),
        ])
        .unwrap();
        assert_eq!(firehose.sink, SinkKind::Stream);
        assert_eq!(
            firehose.stream,
            Some(StreamOutput::Firehose {
                stream: "cflog-requests".into()
            })
        );
        assert_eq!(firehose.s3, None);
        let kinesis = config(&[
            ("CFLOG_SINK", "kinesis"),
            (
                "CFLOG_KINESIS_STREAM",
                "arn:aws:kinesis:us-east-1:1:stream/out",
            ),
            ("CFLOG_KINESIS_PARTITION_KEY", "c_ip"),
            ("CFLOG_KINESIS_PACKING", "packed"),
        ])
        .unwrap();
        assert_eq!(
            kinesis.stream,
            Some(StreamOutput::Kinesis {
                stream: "arn:aws:kinesis:us-east-1:1:stream/out".into(),
                partition_key: Field::ClientIp,
                packing: Packing::Packed,
            })
        );
        let kinesis =
            config(&[("CFLOG_SINK", "kinesis"), ("CFLOG_KINESIS_STREAM", "out")]).unwrap();
        assert!(matches!(
            kinesis.stream,
            Some(StreamOutput::Kinesis {
                partition_key: Field::EdgeRequestId,
                packing: Packing::PerEntry,
                ..
            })
        ));
        let sqs = config(&[
            ("CFLOG_SINK", "sqs"),
            (
                "CFLOG_SQS_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/1/q.fifo",
            ),
            ("CFLOG_OUTPUT_FORMAT", "ndjson"),
        ])
        .unwrap();
        assert_eq!(
            sqs.stream.as_ref().map(StreamOutput::sink_name),
            Some("sqs")
        );
        // Real-time logs may go to a stream destination (not so to s3).
        let realtime = config(&[
            ("CFLOG_SINK", "kinesis"),
            ("CFLOG_KINESIS_STREAM", "out"),
            ("CFLOG_REALTIME_FIELDS", "timestamp c-ip"),
        ]);
        assert!(realtime.unwrap().realtime.is_some());

        for (vars, variable) in [
            (&[("CFLOG_SINK", "firehose")][..], "CFLOG_FIREHOSE_STREAM"),
            (&[("CFLOG_SINK", "kinesis")][..], "CFLOG_KINESIS_STREAM"),
            (&[("CFLOG_SINK", "sqs")][..], "CFLOG_SQS_QUEUE_URL"),
            (
                &[
                    ("CFLOG_SINK", "sqs"),
                    ("CFLOG_SQS_QUEUE_URL", "https://q"),
                    ("CFLOG_OUTPUT_FORMAT", "csv"),
                ][..],
                "CFLOG_OUTPUT_FORMAT",
            ),
            (
                &[
                    ("CFLOG_SINK", "kinesis"),
                    ("CFLOG_KINESIS_STREAM", "out"),
                    ("CFLOG_KINESIS_PARTITION_KEY", "x-edge-request-id"),
                ][..],
                "CFLOG_KINESIS_PARTITION_KEY",
            ),
            (
                &[
                    ("CFLOG_SINK", "kinesis"),
                    ("CFLOG_KINESIS_STREAM", "out"),
                    ("CFLOG_KINESIS_PACKING", "zip"),
                ][..],
                "CFLOG_KINESIS_PACKING",
            ),
        ] {
            let error = config(vars).unwrap_err();
            assert_eq!(error.variable, variable, "{error}");
        }
    }

    #[test]
    fn the_rollup_is_on_or_off_with_a_window_and_for_parquet_only() {
        let s3 = |vars: &[(&str, &str)]| {
            let mut all = vec![("CFLOG_SINK", "s3"), ("CFLOG_OUTPUT_BUCKET", "athena")];
            all.extend_from_slice(vars);
            config(&all).map(|c| c.s3.unwrap().rollup_window_hours)
        };
        assert_eq!(s3(&[]).unwrap(), None);
        assert_eq!(s3(&[("CFLOG_ROLLUP", "off")]).unwrap(), None);
        assert_eq!(s3(&[("CFLOG_ROLLUP", "on")]).unwrap(), Some(48));
        assert_eq!(
            s3(&[("CFLOG_ROLLUP", "on"), ("CFLOG_ROLLUP_WINDOW_HOURS", "72")]).unwrap(),
            Some(72)
        );
        for bad in [
            &[("CFLOG_ROLLUP", "yes")][..],
            &[("CFLOG_ROLLUP", "on"), ("CFLOG_ROLLUP_WINDOW_HOURS", "0")],
            &[("CFLOG_ROLLUP", "on"), ("CFLOG_ROLLUP_WINDOW_HOURS", "145")],
            &[("CFLOG_ROLLUP", "on"), ("CFLOG_OUTPUT_FORMAT", "ndjson.gz")],
        ] {
            let error = s3(bad).unwrap_err().to_string();
            assert!(error.contains("CFLOG_ROLLUP"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn the_s3_sink_needs_a_bucket_and_takes_its_own_formats() {
        let s3 = config(&[("CFLOG_SINK", "s3"), ("CFLOG_OUTPUT_BUCKET", "athena")]).unwrap();
        assert_eq!(s3.sink, SinkKind::S3);
        assert_eq!(
            s3.s3,
            Some(S3Output {
                bucket: "athena".into(),
                prefix: String::new(),
                format: ObjectFormat::Parquet,
                rollup_window_hours: None,
            })
        );
        let ndjson = config(&[
            ("CFLOG_SINK", "s3"),
            ("CFLOG_OUTPUT_BUCKET", "athena"),
            ("CFLOG_OUTPUT_PREFIX", "cloudfront/"),
            ("CFLOG_OUTPUT_FORMAT", "ndjson.gz"),
        ])
        .unwrap()
        .s3
        .unwrap();
        assert_eq!(
            (ndjson.prefix.as_str(), ndjson.format),
            ("cloudfront/", ObjectFormat::NdjsonGz)
        );
        for (vars, variable) in [
            (&[("CFLOG_SINK", "s3")][..], "CFLOG_OUTPUT_BUCKET"),
            (
                &[
                    ("CFLOG_SINK", "s3"),
                    ("CFLOG_OUTPUT_BUCKET", "b"),
                    ("CFLOG_OUTPUT_FORMAT", "csv"),
                ],
                "CFLOG_OUTPUT_FORMAT",
            ),
            (
                &[
                    ("CFLOG_SINK", "s3"),
                    ("CFLOG_OUTPUT_BUCKET", "b"),
                    ("CFLOG_REALTIME_FIELDS", "timestamp"),
                ],
                "CFLOG_REALTIME_FIELDS",
            ),
        ] {
            assert_eq!(config(vars).unwrap_err().variable, variable, "{vars:?}");
        }
        assert_eq!(config(&[]).unwrap().s3, None);
    }

    #[test]
    fn realtime_fields_in_any_order_and_separator() {
        let config = config(&[(
            "CFLOG_REALTIME_FIELDS",
            "sc-status, timestamp cs-host,x-new-field",
        )])
        .unwrap();
        let realtime = config.realtime.unwrap();
        assert_eq!(realtime.rejects, RejectPolicy::Report);
        assert_eq!(realtime.unknown_fields, ["x-new-field"]);
        let decoder = realtime.options.decoder.build();
        let names: Vec<&str> = decoder
            .schema()
            .columns()
            .iter()
            .map(|c| c.name())
            .collect();
        // Canonical order; real-time `cs-host` is the viewer's Host header.
        assert_eq!(names, ["timestamp", "sc-status", "x-host-header"]);
        assert_eq!(decoder.format(), InputFormat::W3c);
        assert!(config_without_realtime().realtime.is_none());
    }

    #[test]
    fn a_fields_header_for_headerless_plain_output() {
        for given in [
            "sc-status c-ip",
            "#Fields: sc-status c-ip",
            "sc-status,c-ip",
        ] {
            let config = config(&[("CFLOG_FIELDS_HEADER", given), ("CFLOG_DELIMITER", "|")]);
            let decoder = config.unwrap().options.decoder.build();
            let schema = decoder.schema();
            let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
            assert_eq!(names, ["sc-status", "c-ip"], "{given}");
            assert_eq!(schema.delimiter().as_bytes(), b"|");
        }
    }

    fn config_without_realtime() -> Config {
        config(&[("CFLOG_REALTIME_REJECTS", "retry")]).unwrap()
    }

    #[test]
    fn metrics_are_on_by_default_in_the_namespace_cflog() {
        let on = config(&[("AWS_LAMBDA_FUNCTION_NAME", "cflog-prod")]).unwrap();
        assert_eq!(
            on.metrics,
            Some(MetricsConfig {
                namespace: "cflog".into(),
                function_name: Some("cflog-prod".into()),
                delivery: DeliveryMetrics::None,
            })
        );
        let local = config(&[("CFLOG_METRICS", "on")]).unwrap().metrics.unwrap();
        assert_eq!(local.function_name, None);
        let named = config(&[("CFLOG_METRICS_NAMESPACE", "Company/CDN logs #2")]).unwrap();
        assert_eq!(named.metrics.unwrap().namespace, "Company/CDN logs #2");
        assert_eq!(config(&[("CFLOG_METRICS", "off")]).unwrap().metrics, None);
        let long = "n".repeat(256);
        let err = config(&[("CFLOG_METRICS_NAMESPACE", &long)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CFLOG_METRICS_NAMESPACE: at most 255 characters, got 256"
        );
        assert!(config(&[("CFLOG_METRICS_NAMESPACE", &long[1..])]).is_ok());
    }

    #[test]
    fn fields_apply_to_ndjson_objects_and_are_refused_for_parquet() {
        let s3 = [("CFLOG_SINK", "s3"), ("CFLOG_OUTPUT_BUCKET", "out")];
        let with = |more: &[(&'static str, &'static str)]| {
            config(&[&s3[..], more, &[("CFLOG_FIELDS", "timestamp,sc_status")]].concat())
        };
        let err = with(&[]).unwrap_err();
        assert_eq!(err.variable, "CFLOG_FIELDS");
        assert!(err.message.contains("ndjson.gz"), "{err}");
        assert_eq!(
            with(&[("CFLOG_OUTPUT_FORMAT", "parquet")])
                .unwrap_err()
                .variable,
            "CFLOG_FIELDS"
        );
        let ndjson = with(&[("CFLOG_OUTPUT_FORMAT", "ndjson.gz")]).unwrap();
        assert_eq!(
            ndjson.selection,
            Selection::parse("timestamp,sc_status").unwrap()
        );
        assert!(config(&s3).is_ok());
    }

    #[test]
    fn the_delivery_metrics_are_the_destination_s() {
        let delivery = |vars: &[(&str, &str)]| config(vars).unwrap().metrics.unwrap().delivery;
        assert_eq!(delivery(&[]), DeliveryMetrics::None);
        assert_eq!(delivery(&[("CFLOG_SINK", "none")]), DeliveryMetrics::None);
        assert_eq!(
            delivery(&[("CFLOG_SINK", "s3"), ("CFLOG_OUTPUT_BUCKET", "out")]),
            DeliveryMetrics::Objects
        );
        for (sink, variable, value) in [
            ("firehose", "CFLOG_FIREHOSE_STREAM", "cflog-requests"),
            ("kinesis", "CFLOG_KINESIS_STREAM", "out"),
            (
                "sqs",
                "CFLOG_SQS_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            ),
        ] {
            assert_eq!(
                delivery(&[("CFLOG_SINK", sink), (variable, value)]),
                DeliveryMetrics::Records,
                "{sink}"
            );
        }
    }

    #[test]
    fn a_tab_delimiter_can_be_written_as_backslash_t() {
        assert!(config(&[("CFLOG_DELIMITER", "\\t")]).is_ok());
        assert!(config(&[("CFLOG_DELIMITER", "|")]).is_ok());
    }

    #[test]
    fn every_variable_is_documented_in_the_readme() {
        let readme = include_str!("../../../README.md");
        for (name, _) in VARIABLES {
            assert!(readme.contains(name), "{name} is missing from the README");
        }
    }
}
