//! `cflog stats`: the figures people otherwise open GoAccess for, counted
//! exactly in one pass.
//!
//! Every input gets its own [`StatsSink`]; its [`Tally`] is added to the
//! run's when the input is done, so workers never share a counter on the
//! hot path. Entries are read through the typed layer by
//! `cflog_encoders::tally`, with the same keys and checks as the JSON
//! output, so `cflog stats` and `cflog` reject exactly the same lines and
//! `requests` equals the number of entries `cflog` would write; nothing is
//! written to count them.

mod render;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_encoders::tally::Tallier;
pub use cflog_encoders::tally::Tally;
use cflog_pipeline::sink::{Delivery, EntryError, Sink, SinkFactory, Source, Verdict};

pub use render::{Report, table};

/// Counts the entries of one input, and adds its tally to the run's when
/// it is finished.
#[derive(Debug)]
pub struct StatsSink {
    tallier: Tallier,
    tally: Tally,
    entries: u64,
    total: Arc<Mutex<Tally>>,
}

impl Sink for StatsSink {
    // It never fails; io::Error as every sink of the command line has.
    type Error = io::Error;

    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<io::Error>> {
        self.tallier.add(line, &mut self.tally)?;
        self.entries += 1;
        Ok(Verdict::Continue)
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<io::Result<Delivery>> {
        self.total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge(std::mem::take(&mut self.tally));
        Poll::Ready(Ok(Delivery {
            entries: self.entries,
            bytes: 0,
            ..Delivery::default()
        }))
    }
}

/// Gives each input a [`StatsSink`] and adds up their tallies.
#[derive(Debug, Default)]
pub struct StatsFactory {
    total: Arc<Mutex<Tally>>,
}

impl StatsFactory {
    /// The tally of every input done.
    pub fn into_tally(self) -> Tally {
        std::mem::take(&mut *self.total.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SinkFactory for StatsFactory {
    type Sink = StatsSink;

    fn open(&self, _source: &Source<'_>) -> StatsSink {
        StatsSink {
            tallier: Tallier::new(),
            tally: Tally::default(),
            entries: 0,
            total: Arc::clone(&self.total),
        }
    }
}
