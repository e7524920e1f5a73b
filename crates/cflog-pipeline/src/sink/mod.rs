//! Where entries go.
//!
//! A [`Sink`] takes parsed entries one at a time. cflog ships sinks for
//! NDJSON ([`NdjsonSink`]: stdout, which the Lambda runtime sends to
//! CloudWatch Logs, or any writer), CSV and TSV ([`DelimitedSink`]), and a
//! [`NullSink`] that only counts. Implement [`Sink`] in your own crate to send
//! entries elsewhere, and a [`SinkFactory`] to give each input its own sink.
//!
//! The trait is shaped like ripgrep's `grep_searcher::Sink` and the futures
//! `Sink`: an associated error type, a [`Verdict`] by which a sink stops an
//! input without failing it, and `poll_ready`/`poll_finish`, so that a sink
//! that talks to a network service can make the input wait for room
//! (backpressure) and report only what its destination acknowledged.

mod delimited;
mod factory;
mod ndjson;
mod null;

use std::error::Error as StdError;
use std::fmt;
use std::task::{Context, Poll};

use cflog_core::{FieldError, LogLine};
use serde::Serialize;

pub use delimited::{DelimitedSink, SharedHeader};
pub use factory::{SinkFactory, Source};
pub use ndjson::{BLOCK_SIZE, NdjsonSink, Stdout};
pub use null::NullSink;

/// Receives the entries of an input.
///
/// The pipeline calls [`entry`](Sink::entry) once per entry, on the hot path,
/// with a line that borrows the reader's buffer (copy what you keep), and
/// [`rejected`](Sink::rejected) for each bad line. Between chunks of input
/// it waits for [`poll_ready`](Sink::poll_ready); at the end it waits for
/// [`poll_finish`](Sink::poll_finish), which delivers what is left and says
/// what was delivered.
///
/// A strict mode stops at the first bad line, and the input ends there
/// without failing:
///
/// ```
/// use std::convert::Infallible;
/// use std::task::{Context, Poll};
///
/// use cflog_core::LogLine;
/// use cflog_pipeline::sink::{Delivery, EntryError, Sink, Verdict};
/// use cflog_pipeline::{Options, Pipeline};
///
/// #[derive(Default)]
/// struct Strict {
///     delivery: Delivery,
///     stopped_at: Option<u64>,
/// }
///
/// impl Sink for Strict {
///     type Error = Infallible;
///
///     fn entry(&mut self, _: &LogLine<'_>) -> Result<Verdict, EntryError<Infallible>> {
///         self.delivery.entries += 1;
///         Ok(Verdict::Continue)
///     }
///
///     fn rejected(&mut self, error: &cflog_core::Error) -> Result<Verdict, Infallible> {
///         self.stopped_at = error.position().map(|p| p.line());
///         Ok(Verdict::Stop)
///     }
///
///     fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<Result<Delivery, Infallible>> {
///         Poll::Ready(Ok(self.delivery.clone()))
///     }
/// }
///
/// let mut pipeline = Pipeline::new(&Options::default(), Strict::default());
/// let log = b"#Fields: date sc-status\n2019-12-04\t200\nbad\n2019-12-04\t404\n";
/// pipeline.push(log)?;
/// let summary = pipeline.blocking_finish()?;
/// assert_eq!((summary.entries, summary.rejected), (1, 1)); // the line after it was not read
/// assert_eq!(pipeline.into_sink().stopped_at, Some(3));
/// # Ok::<(), cflog_pipeline::PipelineError<Infallible>>(())
/// ```
pub trait Sink {
    /// Why the output failed. It stops the input, and the caller sees it
    /// as it is: nothing is downcast.
    type Error: StdError + Send + Sync + 'static;

    /// Takes one entry.
    ///
    /// # Errors
    ///
    /// [`EntryError::Rejected`] when the entry cannot be written (a value not
    /// of its field's kind), and [`EntryError::TooLarge`] when it is larger
    /// than the destination takes: the line is counted as rejected and the
    /// input goes on. [`EntryError::Output`] stops the input.
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<Self::Error>>;

    /// Told of each rejected line, after it is counted in the summary. The
    /// default goes on.
    ///
    /// # Errors
    ///
    /// When the output fails.
    fn rejected(&mut self, error: &cflog_core::Error) -> Result<Verdict, Self::Error> {
        let _ = error;
        Ok(Verdict::Continue)
    }

    /// Ready when the sink has room for the entries of another chunk of
    /// input. A sink that hands entries to an async task returns `Pending`
    /// while that task is behind, and the input waits: this is where
    /// backpressure reaches the reader. The default is always ready.
    ///
    /// # Errors
    ///
    /// When the output failed.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let _ = cx;
        Poll::Ready(Ok(()))
    }

    /// Delivers whatever is buffered, and is ready once the destination has
    /// everything the sink took: only then may the input be reported done.
    /// Called once, at the end; the sink takes no entry after it.
    ///
    /// # Errors
    ///
    /// When the output fails.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, Self::Error>>;

    /// What the destination has acknowledged so far: after an output
    /// failure, what got through before it, so that the input's summary
    /// says so. The default, for sinks that deliver only when finished,
    /// is nothing.
    fn delivered(&self) -> Delivery {
        Delivery::default()
    }
}

/// What a sink decides after an entry or a rejected line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// Go on reading the input.
    Continue,
    /// Stop reading the input, without failing it: its summary counts the
    /// lines read so far, and the sink is finished as usual.
    Stop,
}

/// Why a sink did not take an entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryError<E> {
    /// The entry has a value that is not of its field's kind; the line is
    /// rejected and the input goes on.
    #[error(transparent)]
    Rejected(#[from] FieldError),
    /// The entry is larger than the destination takes in one record (an
    /// SQS message, a Kinesis record), even alone; the line is rejected
    /// (`entry_too_large`) and the input goes on.
    #[error("the entry is {bytes} bytes, over the destination's limit of {limit} bytes a record")]
    TooLarge {
        /// The entry's size, with what the destination counts beside it.
        bytes: usize,
        /// The destination's limit.
        limit: usize,
    },
    /// The output failed; the input stops.
    #[error(transparent)]
    Output(E),
}

impl<E> EntryError<E> {
    /// The same error, with an output error made by `f` of the sink's own:
    /// for a sink that wraps another.
    ///
    /// ```
    /// use cflog_pipeline::sink::EntryError;
    ///
    /// let error: EntryError<u8> = EntryError::Output(7);
    /// assert!(matches!(error.map_output(u32::from), EntryError::Output(7u32)));
    /// ```
    pub fn map_output<F>(self, f: impl FnOnce(E) -> F) -> EntryError<F> {
        match self {
            EntryError::Rejected(error) => EntryError::Rejected(error),
            EntryError::TooLarge { bytes, limit } => EntryError::TooLarge { bytes, limit },
            EntryError::Output(error) => EntryError::Output(f(error)),
        }
    }
}

impl From<std::io::Error> for EntryError<std::io::Error> {
    fn from(err: std::io::Error) -> Self {
        EntryError::Output(err)
    }
}

/// What a sink delivered, as its destination acknowledged it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Entries delivered.
    pub entries: u64,
    /// Bytes written to the destination.
    pub bytes: u64,
    /// The objects written, for a destination that writes objects (such as
    /// S3); empty, and left out of the JSON, for the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<DeliveredObject>,
    /// Records (messages) delivered, for a destination that sends entries
    /// in records (Firehose, Kinesis, SQS): each holds one entry or several
    /// whole ones. 0, and left out of the JSON, for the others.
    #[serde(skip_serializing_if = "is_zero")]
    pub records: u64,
    /// Calls made to the destination's API, retries included.
    #[serde(skip_serializing_if = "is_zero")]
    pub requests: u64,
    /// Records sent again, after the destination refused them or a call
    /// failed.
    #[serde(skip_serializing_if = "is_zero")]
    pub retried_records: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One object a sink wrote, whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeliveredObject {
    /// Where it is, such as `s3://bucket/key`.
    pub uri: String,
    /// The entries in it.
    pub entries: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

impl<S: Sink + ?Sized> Sink for &mut S {
    type Error = S::Error;

    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<S::Error>> {
        (**self).entry(line)
    }

    fn rejected(&mut self, error: &cflog_core::Error) -> Result<Verdict, S::Error> {
        (**self).rejected(error)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        (**self).poll_ready(cx)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, S::Error>> {
        (**self).poll_finish(cx)
    }

    fn delivered(&self) -> Delivery {
        (**self).delivered()
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    type Error = S::Error;

    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<S::Error>> {
        (**self).entry(line)
    }

    fn rejected(&mut self, error: &cflog_core::Error) -> Result<Verdict, S::Error> {
        (**self).rejected(error)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        (**self).poll_ready(cx)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, S::Error>> {
        (**self).poll_finish(cx)
    }

    fn delivered(&self) -> Delivery {
        (**self).delivered()
    }
}

/// Any sink's error, for sinks chosen at run time: it shows as the error
/// it holds.
#[derive(Debug)]
pub struct BoxError(Box<dyn StdError + Send + Sync>);

impl BoxError {
    /// Boxes `error`.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> BoxError {
        BoxError(Box::new(error))
    }

    /// The error it holds.
    pub fn get_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Display for BoxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for BoxError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// A sink chosen at run time (by configuration), whatever its error type.
pub type DynSink = Box<dyn Sink<Error = BoxError> + Send>;

/// Makes a [`DynSink`] of any sink: its errors are boxed.
///
/// ```
/// use cflog_pipeline::sink::{DynSink, NdjsonSink, NullSink, boxed};
///
/// let csv = false;
/// let sink: DynSink = if csv { boxed(NullSink::new()) } else { boxed(NdjsonSink::new(Vec::new())) };
/// # drop(sink);
/// ```
pub fn boxed<S>(sink: S) -> DynSink
where
    S: Sink + Send + 'static,
{
    Box::new(Boxed(sink))
}

/// A sink whose errors are boxed; see [`boxed`].
struct Boxed<S>(S);

impl<S: Sink> Sink for Boxed<S> {
    type Error = BoxError;

    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<BoxError>> {
        self.0.entry(line).map_err(|e| e.map_output(BoxError::new))
    }

    fn rejected(&mut self, error: &cflog_core::Error) -> Result<Verdict, BoxError> {
        self.0.rejected(error).map_err(BoxError::new)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(BoxError::new)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, BoxError>> {
        self.0.poll_finish(cx).map_err(BoxError::new)
    }

    fn delivered(&self) -> Delivery {
        self.0.delivered()
    }
}

impl<S> fmt::Debug for Boxed<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Boxed")
    }
}
