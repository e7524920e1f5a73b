//! The one sink of `cflog stats` and `cflog report`: every input is
//! counted into its own [`Aggregate`], added to the run's when the input is
//! done, so workers never share a counter on the hot path. Both commands
//! read their figures from the same aggregate, so they never disagree.
//!
//! Entries are read through the typed layer, with the same keys and checks
//! as the JSON output, so these commands and `cflog` reject exactly the
//! same lines, and `requests` equals the number of entries `cflog` would
//! write; nothing is written to count them.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_core::contract::Selection;
use cflog_encoders::aggregate::{Aggregate, Aggregator, Scope, Window};
use cflog_pipeline::sink::{Delivery, EntryError, Sink, SinkFactory, Source, Verdict};

/// Counts the entries of one input, and adds its aggregate to the run's
/// when it is finished.
#[derive(Debug)]
pub struct TallySink {
    aggregator: Aggregator,
    aggregate: Aggregate,
    entries: u64,
    total: Arc<Mutex<Aggregate>>,
}

impl Sink for TallySink {
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

/// Gives each input a [`TallySink`] and adds up their aggregates.
#[derive(Debug)]
pub struct TallyFactory {
    selection: Selection,
    window: Window,
    scope: Scope,
    total: Arc<Mutex<Aggregate>>,
}

impl TallyFactory {
    /// A factory whose sinks count the entries of `selection` (its
    /// contract's enrichments included) in `window`, as far as `scope`
    /// says (`cflog stats` needs less than the report's page).
    pub fn new(selection: Selection, window: Window, scope: Scope) -> TallyFactory {
        TallyFactory {
            selection,
            window,
            scope,
            total: Arc::default(),
        }
    }

    /// The aggregate of every input done.
    pub fn into_aggregate(self) -> Aggregate {
        std::mem::take(&mut *self.total.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SinkFactory for TallyFactory {
    type Sink = TallySink;

    fn open(&self, _source: &Source<'_>) -> TallySink {
        TallySink {
            aggregator: Aggregator::for_selection(self.selection.clone())
                .with_window(self.window)
                .with_scope(self.scope),
            aggregate: Aggregate::default(),
            entries: 0,
            total: Arc::clone(&self.total),
        }
    }
}
