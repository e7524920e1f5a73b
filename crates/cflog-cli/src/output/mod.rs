//! Where entries go: stdout or a file, shared by every worker, and the
//! factories of the sinks that write to it.
//!
//! Sinks gather entries into blocks that end at a line break (see
//! `cflog_pipeline::sink::BLOCK_SIZE`) and hand each block to
//! [`Output::write_all`] at once, under one lock. So the workers' outputs
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

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use cflog_core::contract::Selection;
use cflog_pipeline::sink::{DelimitedSink, NdjsonSink, SharedHeader, SinkFactory, Source};

use crate::report::Reporter;

#[cfg(feature = "parquet")]
mod parquet;
#[cfg(feature = "parquet")]
pub use parquet::ParquetFactory;
#[cfg(feature = "parquet")]
pub mod s3;

/// The destination of the entries, cheap to clone and shared by workers.
#[derive(Clone)]
pub struct Output {
    inner: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Output {
        Output::new(Box::new(io::stdout()))
    }

    /// A new file at `path` (an existing one is truncated).
    ///
    /// # Errors
    ///
    /// When the file cannot be created.
    pub fn create(path: &Path) -> io::Result<Output> {
        Ok(Output::new(Box::new(File::create(path)?)))
    }

    fn new(out: Box<dyn Write + Send>) -> Output {
        Output {
            inner: Arc::new(Mutex::new(out)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Write + Send>> {
        // A worker that panicked mid-write cannot leave a half block: the
        // block is written by one `write_all` call or not at all, so the
        // writer is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Write for Output {
    /// Writes all of `buf` under the lock: callers pass whole blocks.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.lock().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock().flush()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Read;

    #[test]
    fn every_clone_writes_to_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let output = Output::create(&path).unwrap();
        let mut a = output.clone();
        let mut b = output.clone();
        a.write_all(b"{\"a\":1}\n").unwrap();
        b.write_all(b"{\"b\":2}\n").unwrap();
        let mut o = output;
        o.flush().unwrap();
        let mut text = String::new();
        File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":2}\n");
    }
}
