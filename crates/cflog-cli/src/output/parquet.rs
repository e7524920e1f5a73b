//! Parquet: one file for the whole output, with the fixed columns of
//! [`ColumnSet`]. Every worker gathers its input's rows into batches of its
//! own ([`Batcher`]), in parallel; the one writer encodes the batches in
//! turn, and the footer is written when every input has been read.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_parquet::{
    Batcher, ColumnSet, EntryBatch, ParquetWriter, WriteError, WriteStats, WriterOptions,
};
use cflog_pipeline::sink::{Delivery, EntryError, Sink, SinkFactory, Source, Verdict};

use super::target::Output;

/// Parquet sinks, one per input, all adding rows to one file.
pub struct ParquetFactory {
    writer: SharedParquet,
    columns: ColumnSet,
    options: WriterOptions,
}

/// The one writer of the output file; `None` once its footer is written.
type SharedParquet = Arc<Mutex<Option<ParquetWriter<Output>>>>;

impl ParquetFactory {
    /// A file of `columns` on `output`; its header is written at once.
    ///
    /// # Errors
    ///
    /// When the output fails.
    pub fn new(output: Output, columns: ColumnSet) -> io::Result<ParquetFactory> {
        let options = WriterOptions::default();
        let writer =
            ParquetWriter::new(output, columns.clone(), options.clone()).map_err(output_error)?;
        Ok(ParquetFactory {
            writer: Arc::new(Mutex::new(Some(writer))),
            columns,
            options,
        })
    }

    /// Writes the last row group and the footer: the file is complete.
    ///
    /// # Errors
    ///
    /// When encoding or the output fails, now or before.
    pub fn finish(&self) -> io::Result<WriteStats> {
        let writer = lock(&self.writer).take();
        let writer = writer.ok_or_else(|| io::Error::other("the Parquet file is finished"))?;
        let (_, stats) = writer.finish().map_err(output_error)?;
        Ok(stats)
    }
}

impl SinkFactory for ParquetFactory {
    type Sink = ParquetSink;

    fn open(&self, _source: &Source<'_>) -> ParquetSink {
        ParquetSink {
            writer: Arc::clone(&self.writer),
            batcher: Batcher::new(self.columns.clone(), &self.options),
            entries: 0,
        }
    }
}

/// One input's rows into the shared Parquet file.
///
/// The rows are gathered into a batch of the sink's own, without a lock;
/// a full batch is encoded under the writer's lock, so the workers parse
/// in parallel and take turns only to encode (a Parquet file is encoded by
/// one writer). Each sink holds at most one batch.
pub struct ParquetSink {
    writer: SharedParquet,
    batcher: Batcher,
    entries: u64,
}

impl ParquetSink {
    fn write(&self, batch: EntryBatch) -> io::Result<()> {
        let mut writer = lock(&self.writer);
        let writer = writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the Parquet file is finished"))?;
        writer.write_batch(batch).map_err(output_error)
    }
}

impl Sink for ParquetSink {
    type Error = io::Error;

    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<io::Error>> {
        match self.batcher.push(line) {
            Ok(full) => {
                self.entries += 1;
                if let Some(batch) = full {
                    self.write(batch)?;
                }
                Ok(Verdict::Continue)
            }
            Err(WriteError::Rejected(error)) => Err(EntryError::Rejected(error)),
            Err(error) => Err(EntryError::Output(output_error(error))),
        }
    }

    /// Encodes the input's last rows. They are in the file once the
    /// factory's `finish` has written the footer; the bytes are the file's,
    /// counted there, not the input's.
    fn poll_finish(&mut self, _cx: &mut Context<'_>) -> Poll<Result<Delivery, io::Error>> {
        if let Some(rest) = self.batcher.take().map_err(output_error)? {
            self.write(rest)?;
        }
        Poll::Ready(Ok(Delivery {
            entries: self.entries,
            bytes: 0,
            ..Delivery::default()
        }))
    }
}

/// A failure of the Parquet writer, as an error of the output.
fn output_error(error: WriteError) -> io::Error {
    io::Error::other(error)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The writer is changed only by whole calls of its own, so a worker
    // that panicked leaves it as consistent as a failed write would.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
