//! [`WriterOptions`]: how the writer sizes its row groups and batches and
//! compresses them, apart from the [`Batcher`](crate::Batcher) and the
//! [`ParquetWriter`](crate::ParquetWriter) that both follow them.

use std::io::Write;

use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::columns::{Column, ColumnSet, ColumnType};

/// The zstd level of [`WriterOptions::rolled`].
const ROLLED_ZSTD_LEVEL: i32 = 9;

/// How pages are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Zstd(i32),
    Snappy,
}

/// How a [`ParquetWriter`](crate::ParquetWriter) sizes its row groups and compresses them.
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

    /// The properties [`ParquetWriter`](crate::ParquetWriter) gives parquet's writer for `set`'s
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
    /// [`ParquetWriter`](crate::ParquetWriter) and the rollup's writer get their settings from.
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
