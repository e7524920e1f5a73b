//! `--output s3://bucket/prefix/`: the Lambda's S3 destination, from a
//! laptop. Each input's entries go to objects in Hive partitions, named
//! after the input, so a backfill run twice writes the same keys.

use std::io;
use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_destinations::s3::{ObjectFormat, S3Destination, S3Options, S3Sink};
use cflog_pipeline::sink::{Delivery, EntryError, Sink, SinkFactory, Source, Verdict};

use crate::s3::S3;

/// An `s3://bucket/prefix` output: the bucket and the key prefix.
///
/// ```text
/// s3://athena/cloudfront/  ->  ("athena", "cloudfront/")
/// ```
pub fn parse_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, prefix))
}

/// The S3 destination's sinks, one per input.
pub struct S3Factory {
    destination: S3Destination,
}

impl S3Factory {
    /// Objects in `bucket` under `prefix`, written with `s3`'s client.
    pub fn new(
        s3: &S3,
        bucket: &str,
        prefix: &str,
        format: ObjectFormat,
        options: S3Options,
    ) -> S3Factory {
        let destination =
            S3Destination::on_runtime(s3.client().clone(), bucket, prefix, s3.handle().clone())
                .format(format)
                .options(options);
        S3Factory { destination }
    }

    /// The rollup's staging objects of the table at the prefix, as the
    /// function writes them ([`S3Destination::staging`]).
    pub fn staging(self) -> S3Factory {
        S3Factory {
            destination: self.destination.staging(),
        }
    }
}

impl SinkFactory for S3Factory {
    type Sink = IoSink;

    fn open(&self, source: &Source<'_>) -> IoSink {
        IoSink(self.destination.open(source))
    }
}

/// An [`S3Sink`] whose failures are the command line's output errors.
pub struct IoSink(S3Sink);

impl Sink for IoSink {
    type Error = io::Error;

    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<io::Error>> {
        self.0
            .entry(line)
            .map_err(|error| error.map_output(io::Error::other))
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        self.0.poll_ready(cx).map_err(io::Error::other)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, io::Error>> {
        self.0.poll_finish(cx).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_uri;

    #[test]
    fn bucket_and_prefix() {
        assert_eq!(
            parse_uri("s3://athena/cloudfront/"),
            Some(("athena", "cloudfront/"))
        );
        assert_eq!(parse_uri("s3://athena"), Some(("athena", "")));
        assert_eq!(parse_uri("s3:///x"), None);
        assert_eq!(parse_uri("out.parquet"), None);
    }
}
