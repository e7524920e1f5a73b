//! [`Batcher`]: entries into Arrow record batches, apart from the writer
//! that encodes them.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use cflog_core::LogLine;

use crate::columns::ColumnSet;
use crate::error::WriteError;
use crate::options::WriterOptions;
use crate::rows::Rows;

/// Gathers entries into record batches of a [`ColumnSet`]'s schema, handing
/// out each batch as it fills.
///
/// This is the half of writing Parquet that needs no file: parsing each
/// value and filling the column buffers. A program reading many inputs at
/// once can run one `Batcher` per input, each on its own thread, and pass
/// the batches to the one [`ParquetWriter`](crate::ParquetWriter) of the
/// file ([`write_batch`](crate::ParquetWriter::write_batch)), which encodes
/// them in turn. A batch is bounded by the options'
/// [`batch_rows`](WriterOptions::batch_rows) and
/// [`batch_bytes`](WriterOptions::batch_bytes), so each `Batcher` holds at
/// most one.
///
/// ```
/// use cflog_core::{Reader, Record};
/// use cflog_parquet::{Batcher, ColumnSet, ParquetWriter, WriterOptions};
///
/// let log = b"#Version: 1.0
/// #Fields: date time sc-status
/// 2019-12-04\t21:02:31\t200
/// 2019-12-04\t21:02:32\t404
/// 2019-12-04\t21:02:33\t304
/// ";
/// let options = WriterOptions::default().batch_rows(2);
/// let mut batcher = Batcher::new(ColumnSet::standard(), &options);
/// let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), options)?;
/// let mut reader = Reader::from_reader(&log[..]);
/// let mut record = Record::new();
/// while reader.read_record(&mut record)? {
///     if let Some(batch) = batcher.push(&record.line())? {
///         assert_eq!(batch.rows(), 2);
///         writer.write_batch(batch)?;
///     }
/// }
/// if let Some(rest) = batcher.take()? {
///     writer.write_batch(rest)?;
/// }
/// let (_, stats) = writer.finish()?;
/// assert_eq!(stats.rows, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Batcher {
    set: ColumnSet,
    schema: SchemaRef,
    rows: Rows,
    batch_rows: usize,
    batch_bytes: usize,
    rows_with_extra: u64,
}

impl Batcher {
    /// A batcher of `set`'s columns, with the batch limits of `options`.
    pub fn new(set: ColumnSet, options: &WriterOptions) -> Batcher {
        Batcher {
            schema: set.arrow_schema(),
            rows: Rows::new(&set),
            set,
            batch_rows: options.get_batch_rows(),
            batch_bytes: options.get_batch_bytes(),
            rows_with_extra: 0,
        }
    }

    /// The column set.
    pub fn columns(&self) -> &ColumnSet {
        &self.set
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Adds the entry of `line` as one row, and returns the batch when this
    /// row filled it.
    ///
    /// # Errors
    ///
    /// [`WriteError::Rejected`] for a value not of its kind: nothing of the
    /// line is kept, and the batcher goes on. [`WriteError::Parquet`] when
    /// the full batch could not be built, which no valid row causes.
    pub fn push(&mut self, line: &LogLine<'_>) -> Result<Option<EntryBatch>, WriteError> {
        if self.rows.push(line, &self.set)? {
            self.rows_with_extra += 1;
        }
        // The text of every column is summed every 64 rows only: a line is
        // at most 64 KiB by default, so the batch overshoots its bound by
        // at most a few MiB.
        let rows = self.rows.len();
        if rows >= self.batch_rows
            || (rows.is_multiple_of(64) && self.rows.text_bytes() >= self.batch_bytes)
        {
            return self.take();
        }
        Ok(None)
    }

    /// The rows gathered so far as a batch, if there are any, and the
    /// batcher emptied: for the end of an input.
    ///
    /// # Errors
    ///
    /// When the batch could not be built, which no valid row causes.
    pub fn take(&mut self) -> Result<Option<EntryBatch>, WriteError> {
        let rows = self.rows.len();
        if rows == 0 {
            return Ok(None);
        }
        let columns = self.rows.take(&self.schema)?;
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        debug_assert_eq!(batch.num_rows(), rows);
        Ok(Some(EntryBatch {
            batch,
            rows_with_extra: std::mem::take(&mut self.rows_with_extra),
        }))
    }

    /// The rows gathered and not yet handed out.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// The bytes of text gathered and not yet handed out.
    pub fn text_bytes(&self) -> usize {
        self.rows.text_bytes()
    }
}

/// Rows of entries in the schema of a [`ColumnSet`], made by a [`Batcher`]
/// for a [`ParquetWriter`](crate::ParquetWriter) of the same set.
#[derive(Clone, Debug)]
pub struct EntryBatch {
    batch: RecordBatch,
    rows_with_extra: u64,
}

impl EntryBatch {
    /// The rows.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The rows with values in `extra`.
    pub fn rows_with_extra(&self) -> u64 {
        self.rows_with_extra
    }

    /// The Arrow record batch.
    pub fn record_batch(&self) -> &RecordBatch {
        &self.batch
    }
}
