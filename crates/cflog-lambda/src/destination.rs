//! The stream destinations the configuration asks for (`CFLOG_SINK=firehose`,
//! `kinesis` or `sqs`), with their clients made from the shared AWS
//! configuration.

use aws_config::SdkConfig;
use cflog_core::contract::Selection;
use cflog_destinations::stream::{Firehose, Kinesis, Sqs, StreamDestination, StreamOptions};
use cflog_pipeline::sink::{DynSink, SinkFactory, Source, boxed};

use crate::config::StreamOutput;

/// The sinks of `output`, each input's own, writing `selection`'s keys and
/// sending on the current Tokio runtime. Give them to
/// [`Handler::with_sinks`](crate::Handler::with_sinks).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cflog_lambda::config::StreamOutput;
/// use cflog_lambda::destination::stream_sinks;
///
/// let sdk = aws_config::SdkConfig::builder()
///     .behavior_version(aws_config::BehaviorVersion::latest())
///     .region(aws_config::Region::new("us-east-1"))
///     .build();
/// let output = StreamOutput::Sqs { queue_url: "https://sqs.us-east-1.amazonaws.com/123456789012/cflog".into() };
/// let sinks = stream_sinks(&sdk, &output, cflog_core::contract::Selection::all());
/// # drop(sinks);
/// # }
/// ```
///
/// # Panics
///
/// Outside a Tokio runtime.
pub fn stream_sinks(
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

enum Destination {
    Firehose(StreamDestination<Firehose>),
    Kinesis(StreamDestination<Kinesis>),
    Sqs(StreamDestination<Sqs>),
}
