//! Reading the inputs into one [`Aggregate`]: each input gets its own
//! [`ReportSink`], added to the run's aggregate when the input is done, so
//! workers never share a counter on the hot path (as `cflog stats` does).

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_encoders::aggregate::{Aggregate, Aggregator, Window};
use cflog_pipeline::sink::{Delivery, EntryError, Sink, SinkFactory, Source, Verdict};

use crate::backfill::key_time::read_key;
use crate::cli::ReportArgs;
use crate::inputs::Input;

/// Counts the entries of one input.
#[derive(Debug)]
pub struct ReportSink {
    aggregator: Aggregator,
    aggregate: Aggregate,
    entries: u64,
    total: Arc<Mutex<Aggregate>>,
}

impl Sink for ReportSink {
    // It never fails; io::Error as every sink of the command line has.
    type Error = io::Error;

    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<io::Error>> {
        self.aggregator.add(line, &mut self.aggregate)?;
        self.entries += 1;
        Ok(Verdict::Continue)
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<io::Result<Delivery>> {
        self.total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge(std::mem::take(&mut self.aggregate));
        Poll::Ready(Ok(Delivery {
            entries: self.entries,
            bytes: 0,
            ..Delivery::default()
        }))
    }
}

/// Gives each input a [`ReportSink`] and adds up their aggregates.
#[derive(Debug, Default)]
pub struct ReportFactory {
    window: Window,
    total: Arc<Mutex<Aggregate>>,
}

impl ReportFactory {
    /// A factory whose sinks count the entries of `window` only.
    pub fn new(window: Window) -> ReportFactory {
        ReportFactory {
            window,
            total: Arc::default(),
        }
    }

    /// The aggregate of every input done.
    pub fn into_aggregate(self) -> Aggregate {
        std::mem::take(&mut *self.total.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SinkFactory for ReportFactory {
    type Sink = ReportSink;

    fn open(&self, _source: &Source<'_>) -> ReportSink {
        ReportSink {
            aggregator: Aggregator::with_window(self.window),
            aggregate: Aggregate::default(),
            entries: 0,
            total: Arc::clone(&self.total),
        }
    }
}

/// Whether `input` may hold entries that `args`' filters keep: its key or
/// path names a period overlapping `[since, until)` (or none), and one of
/// the distributions asked for (when any are). Stdin is always read.
pub fn selected(input: &Input, args: &ReportArgs) -> bool {
    let key = match input {
        Input::Stdin => return true,
        Input::File(path) => path.to_string_lossy(),
        Input::S3Object { key, .. } => key.into(),
    };
    let info = read_key(&key);
    let in_time = info
        .period
        .is_none_or(|period| period.overlaps(args.since, args.until));
    let of_distribution =
        args.distribution.is_empty() || args.distribution.iter().any(|id| info.is_of(&key, id));
    in_time && of_distribution
}
