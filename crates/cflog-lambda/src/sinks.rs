//! The sinks the configuration asks for, built here and nowhere else: stdout
//! (or nothing) in the configured format, objects in S3, or records to
//! Firehose, Kinesis or SQS. The handler takes what [`sinks`] returns.
//!
//! A stream destination needs clients of its own, made from the shared AWS
//! configuration; without one, building its sinks is a [`SinkError`], never
//! a panic.

use std::io::Write;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
#[cfg(feature = "streams")]
use cflog_core::contract::Selection;
use cflog_destinations::s3::{S3Destination, S3Options};
#[cfg(feature = "streams")]
use cflog_destinations::stream::{Firehose, Kinesis, Sqs, StreamDestination, StreamOptions};
use cflog_pipeline::sink::{
    DelimitedSink, DynSink, NdjsonSink, NullSink, SharedHeader, SinkFactory, Source, Stdout, boxed,
};

use crate::config::{Config, OutputFormat, SinkKind, StreamOutput};

/// The sinks of a handler: one opened per object or Kinesis batch.
pub type SharedSinks = Arc<dyn SinkFactory<Sink = DynSink>>;

/// Why the configured sinks cannot be built.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// A stream sink, with no AWS configuration to make its client from.
    #[error(
        "CFLOG_SINK={sink}: the stream sinks need the shared AWS configuration to make their \
         clients: build the handler with Handler::from_aws"
    )]
    NoAwsConfig {
        /// The `CFLOG_SINK` value.
        sink: &'static str,
    },
    /// A stream sink, in a build without them (cflog-lambda's feature
    /// `streams`); the configuration refuses one there already.
    #[error("CFLOG_SINK={sink}: this build has no stream destinations")]
    NotBuilt {
        /// The `CFLOG_SINK` value.
        sink: &'static str,
    },
}

/// The sinks `config` asks for. `s3` writes the `s3` sink's objects; `aws`,
/// the shared AWS configuration, makes the stream destinations' clients.
///
/// # Errors
///
/// With a stream sink and no `aws`.
///
/// # Panics
///
/// With `CFLOG_SINK=s3` or a stream sink, outside a Tokio runtime (they send
/// on it).
pub fn sinks(
    config: &Config,
    s3: &Client,
    aws: Option<&SdkConfig>,
) -> Result<SharedSinks, SinkError> {
    if let Some(stream) = &config.stream {
        return stream_shared(config, stream, aws);
    }
    Ok(match &config.s3 {
        Some(output) => {
            let destination = S3Destination::new(s3.clone(), &output.bucket, &output.prefix)
                .format(output.format)
                .options(S3Options::default().selection(config.selection.clone()));
            // With the rollup, the objects per input are staged apart from
            // the table, which holds only the rolled-up parts.
            #[cfg(feature = "parquet")]
            let destination = match output.rollup_window_hours {
                Some(_) => destination.staging(),
                None => destination,
            };
            Arc::new(move |source: &Source<'_>| boxed(destination.open(source)))
        }
        None => Arc::new(configured_sinks(config, || Stdout)),
    })
}

#[cfg(feature = "streams")]
fn stream_shared(
    config: &Config,
    stream: &StreamOutput,
    aws: Option<&SdkConfig>,
) -> Result<SharedSinks, SinkError> {
    let aws = aws.ok_or(SinkError::NoAwsConfig {
        sink: stream.sink_name(),
    })?;
    Ok(Arc::new(stream_sinks(
        aws,
        stream,
        config.selection.clone(),
    )))
}

#[cfg(not(feature = "streams"))]
fn stream_shared(
    _: &Config,
    stream: &StreamOutput,
    _: Option<&SdkConfig>,
) -> Result<SharedSinks, SinkError> {
    Err(SinkError::NotBuilt {
        sink: stream.sink_name(),
    })
}

/// The sinks `config` asks for (`CFLOG_SINK`, `CFLOG_OUTPUT_FORMAT`),
/// writing to what `out` gives; [`Handler::new`](crate::Handler::new)
/// gives stdout. The `s3` and stream sinks need AWS clients, which
/// [`sinks`] makes; here they write their entries to `out` as NDJSON.
///
/// ```
/// use cflog_lambda::{Config, Source, sinks::configured_sinks};
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

/// The sinks of `output`, each input's own, writing `selection`'s keys and
/// sending on the current Tokio runtime, with clients made from `sdk`.
#[cfg(feature = "streams")]
fn stream_sinks(
    sdk: &SdkConfig,
    output: &StreamOutput,
    selection: Selection,
) -> impl SinkFactory<Sink = DynSink> + 'static {
    let options = StreamOptions::default().selection(selection);
    let destination = match output {
        StreamOutput::Firehose { stream } => Destination::Firehose(StreamDestination::new(
            Firehose::new(aws_sdk_firehose::Client::new(sdk), stream),
            options,
        )),
        StreamOutput::Kinesis {
            stream,
            partition_key,
            packing,
        } => Destination::Kinesis(StreamDestination::new(
            Kinesis::new(aws_sdk_kinesis::Client::new(sdk), stream).packing(*packing),
            options.key_field(*partition_key),
        )),
        StreamOutput::Sqs { queue_url } => Destination::Sqs(StreamDestination::new(
            Sqs::new(aws_sdk_sqs::Client::new(sdk), queue_url),
            options,
        )),
    };
    move |source: &Source<'_>| -> DynSink {
        match &destination {
            Destination::Firehose(d) => boxed(d.open(source)),
            Destination::Kinesis(d) => boxed(d.open(source)),
            Destination::Sqs(d) => boxed(d.open(source)),
        }
    }
}

#[cfg(feature = "streams")]
enum Destination {
    Firehose(StreamDestination<Firehose>),
    Kinesis(StreamDestination<Kinesis>),
    Sqs(StreamDestination<Sqs>),
}
