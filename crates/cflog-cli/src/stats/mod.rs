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
use std::sync::{Mutex, PoisonError};

use cflog_core::LogLine;
use cflog_encoders::tally::Tallier;
pub use cflog_encoders::tally::Tally;
use cflog_pipeline::sink::{Sink, SinkError};

use crate::inputs::Input;
use crate::run::SinkFactory;

pub use render::{Report, table};

/// Counts the entries of one input.
#[derive(Debug)]
pub struct StatsSink {
    tallier: Tallier,
    tally: Tally,
}

impl Sink for StatsSink {
    fn entry(&mut self, line: &LogLine<'_>) -> Result<(), SinkError> {
        Ok(self.tallier.add(line, &mut self.tally)?)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Gives each input a [`StatsSink`] and adds up their tallies.
#[derive(Debug, Default)]
pub struct StatsFactory {
    total: Mutex<Tally>,
}

impl StatsFactory {
    /// The tally of every input done.
    pub fn into_tally(self) -> Tally {
        self.total
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl SinkFactory for StatsFactory {
    type Sink = StatsSink;

    fn open(&self, _input: &Input) -> StatsSink {
        StatsSink {
            tallier: Tallier::new(),
            tally: Tally::default(),
        }
    }

    fn close(&self, sink: StatsSink) {
        self.total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge(sink.tally);
    }
}
