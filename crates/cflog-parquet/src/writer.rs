//! [`ParquetWriter`]: entries in, a Parquet file out, in bounded memory.

use std::io::Write;
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use cflog_core::{FieldError, LogLine};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::batcher::{Batcher, EntryBatch};
use crate::columns::{Column, ColumnSet, ColumnType};

/// The zstd level of [`WriterOptions::rolled`].
const ROLLED_ZSTD_LEVEL: i32 = 9;

/// How pages are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Zstd(i32),
    Snappy,
}

/// How a [`ParquetWriter`] sizes its row groups and compresses them.
///
/// ```
/// use cflog_parquet::WriterOptions;
///
/// let options = WriterOptions::default().row_group_rows(50_000).zstd_level(6);
/// assert_eq!(options.get_row_group_rows(), 50_000);
/// ```
#[derive(Clone, Debug)]
pub struct WriterOptions {
    row_group_rows: usize,
    row_group_bytes: usize,
    batch_rows: usize,
    batch_bytes: usize,
    codec: Codec,
    statistics: EnabledStatistics,
    arrow_schema: bool,
    delta_timestamps: bool,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            row_group_rows: 128 * 1024,
            row_group_bytes: 32 << 20,
            batch_rows: 8 * 1024,
            batch_bytes: 16 << 20,
            codec: Codec::Zstd(1),
            statistics: EnabledStatistics::Page,
            arrow_schema: true,
            delta_timestamps: false,
        }
    }
}

impl WriterOptions {
    /// The settings of the files the hourly rollup reads
    /// ([`rollup`](crate::rollup)), staged one per log file and read once:
    /// [`default`](WriterOptions::default)'s, compressed with
    /// [`snappy`](WriterOptions::snappy) instead of zstd.
    ///
    /// parquet's zstd sets up a compression and a decompression context
    /// for every column chunk it reads, and a small file is one chunk per
    /// column: rolling an hour of 1,000-row files up spent a fifth of its
    /// time there (BENCHMARKS.md, "The rollup's rate"). Snappy sets up
    /// nothing. Its files are about 30 % larger, which staging objects,
    /// read once and then expired, can afford.
    ///
    /// ```
    /// use cflog_parquet::{ColumnSet, WriterOptions};
    /// use parquet::basic::Compression;
    ///
    /// let props = WriterOptions::staged().writer_properties(&ColumnSet::standard())?;
    /// assert_eq!(props.compression(&"sc_status".into()), Compression::SNAPPY);
    /// # Ok::<(), parquet::errors::ParquetError>(())
    /// ```
    pub fn staged() -> WriterOptions {
        WriterOptions::default().snappy()
    }

    /// The settings of the hourly rollup's parts
    /// ([`rollup`](crate::rollup)): the same columns and encodings as
    /// [`default`](WriterOptions::default)'s, but files written once an
    /// hour and read whole, where bytes count more than CPU:
    ///
    /// - row groups of up to 1,048,576 rows or 128 MiB encoded (an hour
    ///   of a busy distribution in one);
    /// - zstd level 9 (the writer's 1 is for files written as logs arrive;
    ///   the rollup keeps 9 for small hours only, see
    ///   [`RollupOptions`](crate::rollup::RollupOptions));
    /// - [`EnabledStatistics::Chunk`]: the row groups' statistics, which
    ///   Athena prunes by, without the page index;
    /// - no embedded Arrow schema ([`arrow_schema`](WriterOptions::arrow_schema));
    /// - delta-encoded timestamps ([`delta_timestamps`](WriterOptions::delta_timestamps)).
    ///
    /// On a small site's day (BENCHMARKS.md, "A small site's day"), these
    /// take the rolled parts from 100.5 to 94.3 bytes per entry (0.74× to
    /// 0.70× the gzip input's bytes).
    ///
    /// ```
    /// use cflog_parquet::WriterOptions;
    ///
    /// assert_eq!(WriterOptions::rolled().get_row_group_rows(), 1 << 20);
    /// ```
    pub fn rolled() -> WriterOptions {
        WriterOptions::default()
            .row_group_rows(1 << 20)
            .row_group_bytes(128 << 20)
            .zstd_level(ROLLED_ZSTD_LEVEL)
            .statistics(EnabledStatistics::Chunk)
            .arrow_schema(false)
            .delta_timestamps(true)
    }

    /// The most rows of a row group (default 131,072). A row group is
    /// written out, and its memory freed, when it has this many.
    #[must_use]
    pub fn row_group_rows(mut self, rows: usize) -> WriterOptions {
        self.row_group_rows = rows.max(1);
        self
    }

    /// The most bytes a row group may take encoded before it is written
    /// out (default 32 MiB), whatever its rows.
    #[must_use]
    pub fn row_group_bytes(mut self, bytes: usize) -> WriterOptions {
        self.row_group_bytes = bytes.max(1);
        self
    }

    /// The most rows gathered in the column buffers before they are encoded
    /// into the row group (default 8,192).
    #[must_use]
    pub fn batch_rows(mut self, rows: usize) -> WriterOptions {
        self.batch_rows = rows.max(1);
        self
    }

    /// The most bytes of text gathered before they are encoded (default 16
    /// MiB; at most 1 GiB, which keeps Arrow's 32-bit offsets safe).
    #[must_use]
    pub fn batch_bytes(mut self, bytes: usize) -> WriterOptions {
        self.batch_bytes = bytes.clamp(1, 1 << 30);
        self
    }

    /// Compresses with zstd at `level` (the default, at 1: on the
    /// generated corpus, 3 gave no smaller file and 6 one 1 % smaller,
    /// each slower; up to 22).
    #[must_use]
    pub fn zstd_level(mut self, level: i32) -> WriterOptions {
        self.codec = Codec::Zstd(level);
        self
    }

    /// Compresses with snappy instead of zstd: larger files, cheaper to
    /// write and to read ([`staged`](WriterOptions::staged)).
    #[must_use]
    pub fn snappy(mut self) -> WriterOptions {
        self.codec = Codec::Snappy;
        self
    }

    /// The statistics written (default [`EnabledStatistics::Page`]: each
    /// column chunk's and each page's, with the page index that lets a
    /// reader skip pages). [`EnabledStatistics::Chunk`] keeps the row
    /// groups' statistics, which Athena prunes by, and drops the page
    /// index: a smaller footer, for files read whole.
    #[must_use]
    pub fn statistics(mut self, statistics: EnabledStatistics) -> WriterOptions {
        self.statistics = statistics;
        self
    }

    /// Whether the file's metadata carries the Arrow schema (default yes),
    /// a few KB that Arrow readers use to restore the exact Arrow types
    /// (the dictionary columns, the map's field names). Without it, the
    /// Parquet schema alone says the same columns and logical types, which
    /// is all Athena, DuckDB and cflog's own reader look at.
    #[must_use]
    pub fn arrow_schema(mut self, embed: bool) -> WriterOptions {
        self.arrow_schema = embed;
        self
    }

    /// Whether the `timestamp` column is delta-encoded
    /// (`DELTA_BINARY_PACKED`) rather than dictionary-encoded (default
    /// no). A dictionary wins where seconds repeat (a busy hour: thousands
    /// of entries a second); deltas win where they do not (a small site's
    /// hour: a few thousand entries in 3,600 seconds, their dictionary as
    /// large as the values), since a log's lines are nearly in time order.
    #[must_use]
    pub fn delta_timestamps(mut self, delta: bool) -> WriterOptions {
        self.delta_timestamps = delta;
        self
    }

    /// The most rows of a row group.
    pub fn get_row_group_rows(&self) -> usize {
        self.row_group_rows
    }

    /// The most rows of a batch.
    pub fn get_batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// The most bytes of text of a batch.
    pub fn get_batch_bytes(&self) -> usize {
        self.batch_bytes
    }

    /// The properties [`ParquetWriter`] gives parquet's writer for `set`'s
    /// columns: for writing the same files by other means, or measuring
    /// parquet's own share of the work.
    ///
    /// ```
    /// use cflog_parquet::{ColumnSet, WriterOptions};
    ///
    /// let props = WriterOptions::default().writer_properties(&ColumnSet::standard())?;
    /// assert_eq!(props.max_row_group_row_count(), Some(131_072));
    /// # Ok::<(), parquet::errors::ParquetError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the zstd level is out of range.
    pub fn writer_properties(&self, set: &ColumnSet) -> Result<WriterProperties, ParquetError> {
        self.properties(set, &set.arrow_schema())
    }

    /// A writer of `schema`'s columns to `out` with these settings: those
    /// of `set`'s columns for the columns of the same name, parquet's
    /// defaults (a dictionary) for any other. The one place both
    /// [`ParquetWriter`] and the rollup's writer get their settings from.
    pub(crate) fn arrow_writer<W: Write + Send>(
        &self,
        out: W,
        set: &ColumnSet,
        schema: SchemaRef,
    ) -> Result<ArrowWriter<W>, ParquetError> {
        let options = ArrowWriterOptions::new()
            .with_properties(self.properties(set, &schema)?)
            .with_skip_arrow_metadata(!self.arrow_schema);
        ArrowWriter::try_new_with_options(out, schema, options)
    }

    fn properties(
        &self,
        set: &ColumnSet,
        schema: &Schema,
    ) -> Result<WriterProperties, ParquetError> {
        let mut props = WriterProperties::builder()
            .set_compression(match self.codec {
                Codec::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level)?),
                Codec::Snappy => Compression::SNAPPY,
            })
            .set_statistics_enabled(self.statistics)
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_max_row_group_bytes(Some(self.row_group_bytes))
            // Without page statistics there is no page index to find
            // pages by; the offset index alone is bytes for nothing.
            .set_offset_index_disabled(self.statistics != EnabledStatistics::Page)
            .set_created_by(concat!("cflog-parquet ", env!("CARGO_PKG_VERSION")).to_owned());
        for field in schema.fields() {
            let column = set.columns().iter().find(|c| c.name == field.name());
            let path = || ColumnPath::from(field.name().as_str());
            let delta = self.delta_timestamps
                && column.is_some_and(|c| c.column_type == ColumnType::Timestamp);
            if delta {
                props = props
                    .set_column_dictionary_enabled(path(), false)
                    .set_column_encoding(path(), Encoding::DELTA_BINARY_PACKED);
            } else if column.is_some_and(|column| !dictionary(column)) {
                props = props.set_column_dictionary_enabled(path(), false);
            }
        }
        Ok(props.build())
    }
}

/// Whether `column` is dictionary-encoded (the writer's default).
///
/// Not for values that are mostly distinct from row to row: there a
/// dictionary is as large as the values, and its indices come on top.
/// Plain values, zstd-compressed, were smaller on the generated corpus's
/// hour objects (BENCHMARKS.md, "Parquet encodings per column"): byte
/// counts and client ports by 0.7 to 1.3 bytes per entry each, the request
/// id (random base64) a little. Low-cardinality integers (statuses, the
/// request's bytes) and the time (one value per second in legacy logs)
/// stay dictionary-encoded, which is smaller for them; a column whose
/// dictionary outgrows its page falls back to plain values by itself.
fn dictionary(column: &Column) -> bool {
    use cflog_core::Field;
    !matches!(
        column.field,
        Some(Field::EdgeRequestId | Field::ScBytes | Field::ContentLen | Field::ClientPort)
    )
}

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

/// Why a [`ParquetWriter`] did not take an entry, or could not write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A value of the entry is not of its field's kind, or too large for
    /// its column: the line is rejected, and nothing of it is written. The
    /// writer goes on.
    #[error(transparent)]
    Rejected(#[from] FieldError),
    /// Encoding or writing the file failed (the writer's I/O error
    /// included). The file is incomplete; the writer takes nothing more.
    #[error("writing Parquet failed: {0}")]
    Parquet(#[from] ParquetError),
}

impl From<arrow_schema::ArrowError> for WriteError {
    fn from(error: arrow_schema::ArrowError) -> WriteError {
        WriteError::Parquet(error.into())
    }
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
