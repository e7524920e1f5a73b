//! Where entries go: stdout or a file, shared by every worker, and the
//! factories of the sinks that write to it.
//!
//! Sinks gather entries into blocks that end at a line break (see
//! `cflog_pipeline::sink::BLOCK_SIZE`) and hand each block to
//! the [`Output`]'s `write_all` at once, under one lock. So the workers' outputs
//! may alternate block by block, but a line is never cut, and each input's
//! lines keep their order.
//!
//! CSV and TSV have one header row for the whole output: the columns are
//! the `--fields` keys, or those of the first entry read; entries of another
//! layout fill the columns they share, and a warning names the keys that
//! have no column.
//!
//! Parquet is one file for the whole output (the `parquet` module).
//!
//! An `s3://` output is the Lambda's S3 destination (the `s3` module).

use std::io;
use std::sync::Arc;

use cflog_core::contract::Selection;
use cflog_pipeline::sink::{DelimitedSink, NdjsonSink, SharedHeader, SinkFactory, Source};

use crate::report::Reporter;

mod target;
pub use target::Output;

#[cfg(feature = "parquet")]
mod parquet;
#[cfg(feature = "parquet")]
pub use parquet::ParquetFactory;
#[cfg(feature = "parquet")]
pub mod s3;

/// NDJSON sinks, one per input, all writing to one [`Output`]: the
/// cflog-core JSON contract, byte for byte what the Lambda writes.
pub struct NdjsonFactory {
    /// Where the entries go.
    pub output: Output,
    /// Which keys each object has.
    pub selection: Selection,
}

impl SinkFactory for NdjsonFactory {
    type Sink = NdjsonSink<Output>;

    fn open(&self, _source: &Source<'_>) -> Self::Sink {
        NdjsonSink::with_selection(self.output.clone(), self.selection.clone())
    }
}

/// CSV or TSV sinks, one per input, all writing to one [`Output`] under one
/// header row.
pub struct DelimitedFactory {
    output: Output,
    selection: Selection,
    header: Arc<SharedHeader>,
}

impl DelimitedFactory {
    /// Rows separated by `delimiter` (`b','` for CSV, `b'\t'` for TSV); the
    /// keys that have no column are warned of through `reporter`.
    pub fn new(
        output: Output,
        delimiter: u8,
        selection: Selection,
        reporter: Reporter,
    ) -> DelimitedFactory {
        let header = SharedHeader::new(delimiter, &selection).on_dropped_keys(Arc::new(
            move |source: &str, keys: &[&str]| {
                reporter.warn(format_args!(
                    "{source}: no CSV column for {} (the columns are those of the first entry read; choose them with --fields)",
                    keys.join(", ")
                ));
            },
        ));
        DelimitedFactory {
            output,
            selection,
            header: Arc::new(header),
        }
    }

    /// Writes the header row if no entry did, when the columns are known:
    /// a selection over empty input is still a valid file.
    ///
    /// # Errors
    ///
    /// When the output fails.
    pub fn finish(&self) -> io::Result<()> {
        self.header.finish(&mut self.output.clone())
    }
}

impl SinkFactory for DelimitedFactory {
    type Sink = DelimitedSink<Output>;

    fn open(&self, source: &Source<'_>) -> Self::Sink {
        DelimitedSink::new(
            self.output.clone(),
            Arc::clone(&self.header),
            self.selection.clone(),
            source,
        )
    }
}
