//! [`ParquetWriter`]: entries in, a Parquet file out, in bounded memory.

use std::io::Write;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use cflog_core::LogLine;
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;

use crate::batcher::{Batcher, EntryBatch};
use crate::columns::ColumnSet;
use crate::error::WriteError;
use crate::options::WriterOptions;

/// What a [`ParquetWriter`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteStats {
    /// The rows: one per entry written.
    pub rows: u64,
    /// The row groups.
    pub row_groups: usize,
    /// The bytes of the file, footer included.
    pub bytes: u64,
    /// The rows with values in `extra` (columns the set has no column for).
    pub rows_with_extra: u64,
}

/// Writes CloudFront log entries to `W` as a Parquet file of fixed, typed
/// columns ([`ColumnSet`]).
///
/// Each entry's values come from cflog-core's typed-value layer
/// ([`cflog_core::typed`]), each parsed once by the parser of its kind.
/// They are gathered into column buffers; every
/// [`batch_rows`](WriterOptions::batch_rows) rows the buffers are encoded
/// into the current row group, which is written out when it reaches
/// [`row_group_rows`](WriterOptions::row_group_rows) rows or
/// [`row_group_bytes`](WriterOptions::row_group_bytes) bytes. So memory is
/// bounded whatever the input's size. [`finish`](ParquetWriter::finish)
/// writes the footer.
///
/// The file is zstd-compressed, with page statistics, and dictionaries for
/// the columns whose values repeat: what Athena reads and prunes by.
///
/// ```
/// use cflog_core::{Reader, Record};
/// use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
///
/// let log = b"#Version: 1.0
/// #Fields: date time c-ip sc-status cs-uri-query time-taken
/// 2019-12-04\t21:02:31\t192.0.2.100\t200\tpage=2\t0.082
/// 2019-12-04\t21:02:32\t192.0.2.100\tOK\t-\t0.001
/// ";
/// let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), WriterOptions::default())?;
/// let mut reader = Reader::from_reader(&log[..]);
/// let mut record = Record::new();
/// let mut rejected = 0;
/// while reader.read_record(&mut record)? {
///     if writer.write(&record.line()).is_err() {
///         rejected += 1; // `OK` is no status: the line is left out whole
///     }
/// }
/// let (file, stats) = writer.finish()?;
/// assert_eq!((stats.rows, stats.row_groups, rejected), (1, 1, 1));
/// assert_eq!(&file[..4], b"PAR1");
/// assert_eq!(stats.bytes, file.len() as u64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParquetWriter<W: Write + Send> {
    writer: ArrowWriter<Counted<W>>,
    batcher: Batcher,
    options: WriterOptions,
    written: u64,
    rows_with_extra: u64,
    /// Set by an output error: the file is broken, and stays so.
    failed: bool,
}

impl<W: Write + Send> std::fmt::Debug for ParquetWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("family", &self.batcher.columns().family())
            .field("options", &self.options)
            .field("rows", &self.rows())
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A writer of `set`'s columns to `out`. The file's header is written
    /// at once.
    ///
    /// # Errors
    ///
    /// When `out` fails, or the zstd level is out of range.
    pub fn new(
        out: W,
        set: ColumnSet,
        options: WriterOptions,
    ) -> Result<ParquetWriter<W>, WriteError> {
        let batcher = Batcher::new(set, &options);
        let out = Counted { out, bytes: 0 };
        let schema = Arc::clone(batcher.schema());
        let writer = options.arrow_writer(out, batcher.columns(), schema)?;
        Ok(ParquetWriter {
            writer,
            batcher,
            options,
            written: 0,
            rows_with_extra: 0,
            failed: false,
        })
    }

    /// The Arrow schema of the file.
    pub fn schema(&self) -> &SchemaRef {
        self.batcher.schema()
    }

    /// The columns of the file.
    pub fn columns(&self) -> &ColumnSet {
        self.batcher.columns()
    }

    /// Writes the entry of `line` as one row.
    ///
    /// # Errors
    ///
    /// [`WriteError::Rejected`] for a value not of its kind (nothing of the
    /// line is kept, and the writer goes on); [`WriteError::Parquet`] when
    /// encoding or the output fails.
    pub fn write(&mut self, line: &LogLine<'_>) -> Result<(), WriteError> {
        self.check()?;
        let full = self.batcher.push(line);
        self.encode_handed_out(full)
    }

    /// Writes the rows of `batch`, after any rows [`write`](ParquetWriter::write)
    /// gathered: for batches made on other threads by a [`Batcher`].
    ///
    /// # Errors
    ///
    /// When the batch is not of this file's columns (nothing is written,
    /// and the writer goes on), or encoding or the output fails.
    pub fn write_batch(&mut self, batch: EntryBatch) -> Result<(), WriteError> {
        self.check()?;
        if batch.record_batch().schema_ref() != self.schema() {
            return Err(ParquetError::General(format!(
                "a batch of other columns than the file's ({:?})",
                self.columns().family()
            ))
            .into());
        }
        self.encode_gathered()?;
        self.encode(&batch)
    }

    /// The output, holding what the writer has written to it so far.
    ///
    /// Row groups are written to it whole as they fill, and the footer by
    /// [`finish`](ParquetWriter::finish). A caller that streams the file on,
    /// such as a multipart upload, may take the bytes out as they come (the
    /// writer keeps its own count of the file's offsets); it must not write
    /// to it.
    pub fn output_mut(&mut self) -> &mut W {
        &mut self.writer.inner_mut().out
    }

    /// The output, holding what the writer has written to it so far.
    pub fn output(&self) -> &W {
        &self.writer.inner().out
    }

    /// The rows written so far.
    pub fn rows(&self) -> u64 {
        self.written + self.batcher.rows() as u64
    }

    /// The bytes in memory: the column buffers' text and the row group's
    /// encoded pages (an estimate, as Arrow's writer gives it).
    pub fn memory_size(&self) -> usize {
        self.batcher.text_bytes() + self.writer.memory_size()
    }

    /// Writes out what is buffered as a row group of its own, even if
    /// smaller than the limits: for a caller that must bound latency.
    ///
    /// # Errors
    ///
    /// When encoding or the output fails.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.check()?;
        self.encode_gathered()?;
        let flushed = self.writer.flush();
        self.guard(flushed)
    }

    /// Writes what is buffered and the footer, and returns the output and
    /// what was written.
    ///
    /// # Errors
    ///
    /// When encoding or the output fails, or failed before.
    pub fn finish(mut self) -> Result<(W, WriteStats), WriteError> {
        self.check()?;
        self.encode_gathered()?;
        self.writer.flush()?;
        let row_groups = self.writer.flushed_row_groups().len();
        // Writes the footer.
        let out = self.writer.into_inner()?;
        let stats = WriteStats {
            rows: self.written,
            row_groups,
            bytes: out.bytes,
            rows_with_extra: self.rows_with_extra,
        };
        Ok((out.out, stats))
    }

    fn check(&self) -> Result<(), WriteError> {
        if self.failed {
            return Err(
                ParquetError::General("an earlier write of this file failed".into()).into(),
            );
        }
        Ok(())
    }

    fn guard<T>(&mut self, result: Result<T, ParquetError>) -> Result<T, WriteError> {
        result.map_err(|error| {
            self.failed = true;
            error.into()
        })
    }

    /// Encodes the rows gathered by [`write`](ParquetWriter::write) into
    /// the row group.
    fn encode_gathered(&mut self) -> Result<(), WriteError> {
        let rest = self.batcher.take();
        self.encode_handed_out(rest)
    }

    /// Encodes the batch the batcher handed out, if it did. A rejected line
    /// leaves the writer as it was; any other failure breaks the file.
    fn encode_handed_out(
        &mut self,
        batch: Result<Option<EntryBatch>, WriteError>,
    ) -> Result<(), WriteError> {
        match batch {
            Ok(Some(batch)) => self.encode(&batch),
            Ok(None) => Ok(()),
            Err(error @ WriteError::Rejected(_)) => Err(error),
            Err(error) => {
                self.failed = true;
                Err(error)
            }
        }
    }

    /// Encodes `batch` into the row group.
    fn encode(&mut self, batch: &EntryBatch) -> Result<(), WriteError> {
        let written = self.writer.write(batch.record_batch());
        self.guard(written)?;
        self.written += batch.rows() as u64;
        self.rows_with_extra += batch.rows_with_extra();
        Ok(())
    }
}

/// The output, and the bytes written to it (the rollup's too).
pub(crate) struct Counted<W> {
    pub(crate) out: W,
    pub(crate) bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
