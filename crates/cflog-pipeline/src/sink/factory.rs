//! One sink per input: what it is made for, and who makes it.

use std::fmt;
use std::path::Path;

use super::Sink;

/// What a sink is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source<'a> {
    /// An S3 object of standard logs.
    Object {
        /// The bucket.
        bucket: &'a str,
        /// The (decoded) key.
        key: &'a str,
    },
    /// A local file.
    File(&'a Path),
    /// Standard input.
    Stdin,
    /// A Kinesis batch of real-time logs, from the stream with this ARN
    /// (empty when the event did not say).
    Stream(&'a str),
}

impl fmt::Display for Source<'_> {
    /// As a user reads it: `s3://bucket/key`, the path, `<stdin>`, or
    /// the stream's ARN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Object { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Stdin => f.write_str("<stdin>"),
            Source::Stream(arn) => f.write_str(arn),
        }
    }
}

/// Makes the sink of each input. The Lambda and the command line both take
/// one, so a destination written once serves both.
///
/// Any `Fn(&Source) -> S` is a factory:
///
/// ```
/// use cflog_pipeline::sink::{NdjsonSink, SinkFactory, Source, Stdout};
/// use cflog_core::contract::Selection;
///
/// let factory = |_: &Source<'_>| NdjsonSink::stdout(Selection::all());
/// let sink: NdjsonSink<Stdout> = factory.open(&Source::Stdin);
/// # drop(sink);
/// ```
pub trait SinkFactory: Send + Sync {
    /// The sink of one input.
    type Sink: Sink;

    /// A sink for `source`. It is finished (`Sink::poll_finish`) when the
    /// input is done, and dropped after.
    fn open(&self, source: &Source<'_>) -> Self::Sink;
}

impl<F, S> SinkFactory for F
where
    F: Fn(&Source<'_>) -> S + Send + Sync,
    S: Sink,
{
    type Sink = S;

    fn open(&self, source: &Source<'_>) -> S {
        self(source)
    }
}
