//! Parquet logs read back as lines: AWS's own v2 deliveries and the files
//! cflog writes.
//!
//! Parquet keeps its layout in a footer at the end of the file, so a reader
//! needs the file's length and its last bytes before any row. This module
//! does no I/O of its own: the caller reads the ranges it names (a local
//! file with `seek`, an S3 object with ranged GETs) and hands the bytes in.
//! One row group is read at a time, so memory is bounded by one row group's
//! columns, whatever the size of the file.
//!
//! 1. [`metadata_len`]: from the last [`FOOTER_TAIL`] bytes, the length of
//!    the metadata just before them.
//! 2. [`ParquetLog::from_metadata`]: the metadata bytes decoded, and each
//!    column mapped to a CloudFront field.
//! 3. [`ParquetLog::row_group`] with the bytes of
//!    [`row_group_range`](ParquetLog::row_group_range): the rows as lines
//!    of tab-separated values, each batch with the [`Schema`] that splits
//!    them, for cflog-core's decoder ([`Decoder::set_schema`]).
//!
//! Each row becomes one line, so line numbers are row numbers, and the
//! values go through the very parsers the text goes through: every output
//! of a Parquet log is what the same entries give from text.
//!
//! Two kinds of files are read ([`Source`]):
//! - **AWS's v2 Parquet**: every column a string, named as in
//!   [`field_name_of_column`], values escaped as in the text logs, a missing
//!   value `-` or null (a column with no value at all may be typed null, as
//!   pyarrow types one). The values are the line's fields as they are.
//! - **cflog's own Parquet** ([`ColumnSet`]): typed columns, text decoded.
//!   Each value is written back as the text it was parsed from (text
//!   escaped again, the request time as `date` and `time`, or as epoch
//!   seconds with milliseconds when it has them), and `extra`'s keys
//!   become columns. A derived key's boolean or integer column (`is_bot`)
//!   is an unknown column of that [`ExtraKind`](cflog_core::ExtraKind) in
//!   the schema, so it is read back as one, not as text. A column that is null in every row of a batch is left
//!   out, as a column the source log lacked; so such columns come back
//!   null, and a `-` of the source comes back as a key left out.
//!
//! [`Decoder::set_schema`]: cflog_core::Decoder::set_schema
//! [`ColumnSet`]: crate::ColumnSet
//!
//! ```
//! use cflog_core::{Decoder, Record, SplitLines};
//! use cflog_parquet::read::{FOOTER_TAIL, ParquetLog, metadata_len};
//! use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
//!
//! let log = b"#Fields: date time sc-status cs-uri-stem\n2019-12-04\t21:02:31\t200\t/a%20b\n";
//! let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), WriterOptions::default())?;
//! let mut reader = cflog_core::Reader::from_reader(&log[..]);
//! let mut record = Record::new();
//! while reader.read_record(&mut record)? {
//!     writer.write(&record.line())?;
//! }
//! let (file, _) = writer.finish()?;
//!
//! let len = file.len() as u64;
//! let tail: &[u8; FOOTER_TAIL] = file[file.len() - FOOTER_TAIL..].try_into()?;
//! let metadata = metadata_len(len, tail)?;
//! let start = (len - FOOTER_TAIL as u64 - metadata) as usize;
//! let parquet = ParquetLog::from_metadata(len, &file[start..file.len() - FOOTER_TAIL])?;
//! let range = parquet.row_group_range(0)?;
//! let bytes = bytes::Bytes::copy_from_slice(&file[range.start as usize..range.end as usize]);
//! let mut rows = parquet.row_group(0, range.start, bytes)?;
//! let mut lines = SplitLines::new();
//! let schema = rows.next_lines(&mut lines)?.unwrap();
//! // In the file's column order, text decoded and escaped again only where
//! // a line needs it.
//! assert_eq!(lines.text(), b"2019-12-04\t21:02:31\t/a b\t200\n");
//!
//! let mut decoder = Decoder::new();
//! let (line, pos) = decoder.split_line(&lines, 0, &schema)?;
//! assert_eq!((line.status()?, pos.line()), (Some(200), 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod lines;
mod names;

use std::ops::Range;
use std::sync::Arc;

use arrow_schema::{DataType, Schema as ArrowSchema};
use bytes::Bytes;
use cflog_core::{Schema, SchemaError, SplitLines};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::{FooterTail, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};

pub use names::field_name_of_column;

use lines::{Plan, PlanError};

/// The magic bytes at both ends of a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// The bytes at the end of a file after its metadata: the metadata's
/// length, then [`MAGIC`].
pub const FOOTER_TAIL: usize = 8;

/// The largest metadata (footer) read: a CloudFront log's is a few
/// kilobytes per row group.
pub const MAX_METADATA_BYTES: u64 = 64 << 20;

/// The largest row group read, compressed: it is held in memory while its
/// rows are read.
pub const MAX_ROW_GROUP_BYTES: u64 = 512 << 20;

/// Rows per batch of lines.
const BATCH_ROWS: usize = 1024;

/// Which kind of Parquet log a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// AWS's v2 delivery: every column a string, as logged.
    CloudFront,
    /// A file cflog wrote: typed columns ([`ColumnSet`](crate::ColumnSet)).
    Cflog,
}

/// Why a Parquet file cannot be read as a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file is too short, or does not end with [`MAGIC`]: it was cut
    /// short.
    #[error(
        "the Parquet file is truncated: its {len} bytes do not end with the footer's PAR1 magic"
    )]
    Truncated {
        /// The file's length.
        len: u64,
    },
    /// The footer says its metadata is longer than the file, or longer than
    /// [`MAX_METADATA_BYTES`].
    #[error(
        "the Parquet footer claims {claimed} bytes of metadata, but the file has {available} bytes before it (and at most 64 MiB are read)"
    )]
    FooterLength {
        /// The length the footer gives.
        claimed: u64,
        /// The bytes between the leading magic and the footer.
        available: u64,
    },
    /// The metadata does not decode.
    #[error("the Parquet metadata is corrupt: {0}")]
    Metadata(#[source] ParquetError),
    /// The file is encrypted.
    #[error("the Parquet file is encrypted; cflog reads plain Parquet")]
    Encrypted,
    /// A column chunk lies outside the file.
    #[error(
        "row group {row_group} claims bytes {start}..{end}, outside the file's {len} bytes: the metadata is corrupt"
    )]
    OutsideFile {
        /// The row group, from 0.
        row_group: usize,
        /// Where it starts.
        start: u64,
        /// Where it ends.
        end: u64,
        /// The file's length.
        len: u64,
    },
    /// A row group is larger than [`MAX_ROW_GROUP_BYTES`].
    #[error(
        "row group {row_group} has {bytes} bytes, more than the {limit} bytes read at once; rewrite the file with smaller row groups"
    )]
    RowGroupTooLarge {
        /// The row group, from 0.
        row_group: usize,
        /// Its compressed size.
        bytes: u64,
        /// [`MAX_ROW_GROUP_BYTES`].
        limit: u64,
    },
    /// No column is a CloudFront field: not a CloudFront log.
    #[error(
        "no column of the Parquet file is a CloudFront log field (its columns: {}); AWS's v2 Parquet names them x_edge_location, cs_host, sc_status…",
        list(columns)
    )]
    NoCloudFrontColumn {
        /// The first few column names.
        columns: Vec<String>,
    },
    /// A column's type is neither a string, as in AWS's files, nor the
    /// type cflog writes it with.
    #[error(
        "column {column} is {found}, where a CloudFront log has text{}",
        or_cflogs(expected)
    )]
    ColumnType {
        /// The column.
        column: String,
        /// Its Arrow type.
        found: String,
        /// The type cflog writes for it, if it is one of cflog's columns.
        expected: Option<String>,
    },
    /// The columns do not make a schema (two columns of one field).
    #[error("the Parquet columns do not make a log schema: {0}")]
    Schema(#[source] SchemaError),
    /// A row group's data does not decode.
    #[error("row group {row_group} does not decode: {source}")]
    Data {
        /// The row group, from 0.
        row_group: usize,
        /// Why.
        #[source]
        source: ParquetError,
    },
}

impl From<PlanError> for ReadError {
    fn from(error: PlanError) -> ReadError {
        match error {
            PlanError::NoCloudFrontColumn(columns) => ReadError::NoCloudFrontColumn { columns },
            PlanError::ColumnType {
                column,
                found,
                expected,
            } => ReadError::ColumnType {
                column,
                found,
                expected,
            },
            PlanError::Schema(e) => ReadError::Schema(e),
        }
    }
}

/// The length of the metadata before the last [`FOOTER_TAIL`] bytes of a
/// file of `file_len` bytes.
///
/// ```
/// use cflog_parquet::read::{ReadError, metadata_len};
/// assert_eq!(metadata_len(1000, &[100, 0, 0, 0, b'P', b'A', b'R', b'1'])?, 100);
/// assert!(matches!(metadata_len(1000, b"\0\0\0\0oops"), Err(ReadError::Truncated { .. })));
/// assert!(matches!(
///     metadata_len(100, &[200, 0, 0, 0, b'P', b'A', b'R', b'1']),
///     Err(ReadError::FooterLength { claimed: 200, available: 88 }),
/// ));
/// # Ok::<(), ReadError>(())
/// ```
///
/// # Errors
///
/// [`ReadError::Truncated`], [`ReadError::Encrypted`] or
/// [`ReadError::FooterLength`].
pub fn metadata_len(file_len: u64, tail: &[u8; FOOTER_TAIL]) -> Result<u64, ReadError> {
    let overhead = (MAGIC.len() + FOOTER_TAIL) as u64;
    if file_len < overhead {
        return Err(ReadError::Truncated { len: file_len });
    }
    if &tail[4..] == b"PARE" {
        return Err(ReadError::Encrypted);
    }
    let footer = FooterTail::try_new(tail).map_err(|_| ReadError::Truncated { len: file_len })?;
    let claimed = footer.metadata_length() as u64;
    let available = file_len - overhead;
    if claimed > available || claimed > MAX_METADATA_BYTES {
        return Err(ReadError::FooterLength { claimed, available });
    }
    Ok(claimed)
}

/// A Parquet log whose metadata was read: its columns mapped to fields,
/// ready to read its row groups.
#[derive(Debug)]
pub struct ParquetLog {
    metadata: ArrowReaderMetadata,
    plan: Arc<Plan>,
    file_len: u64,
}

impl ParquetLog {
    /// Decodes the `metadata` (the [`metadata_len`] bytes before the
    /// footer's tail) of a file of `file_len` bytes, and maps its columns.
    ///
    /// # Errors
    ///
    /// When the metadata is corrupt, or the columns are not a CloudFront
    /// log's ([`ReadError::NoCloudFrontColumn`], [`ReadError::ColumnType`]).
    pub fn from_metadata(file_len: u64, metadata: &[u8]) -> Result<ParquetLog, ReadError> {
        let decoded =
            ParquetMetaDataReader::decode_metadata(metadata).map_err(ReadError::Metadata)?;
        ParquetLog::new(file_len, Arc::new(decoded))
    }

    fn new(file_len: u64, metadata: Arc<ParquetMetaData>) -> Result<ParquetLog, ReadError> {
        // The types as Parquet has them: what another writer's Arrow schema
        // says (dictionaries, views) does not matter here.
        let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let inferred = ArrowReaderMetadata::try_new(Arc::clone(&metadata), options.clone())
            .map_err(ReadError::Metadata)?;
        let plan = Plan::new(inferred.schema())?;
        // Strings read as views: a dictionary page's values are then
        // pointed at, not copied into every row's slot.
        let options = options.with_schema(Arc::new(as_views(inferred.schema())));
        let metadata =
            ArrowReaderMetadata::try_new(metadata, options).map_err(ReadError::Metadata)?;
        let log = ParquetLog {
            metadata,
            plan: Arc::new(plan),
            file_len,
        };
        for i in 0..log.row_groups() {
            log.row_group_range(i)?;
        }
        Ok(log)
    }

    /// Which kind of Parquet log it is.
    pub fn source(&self) -> Source {
        self.plan.source()
    }

    /// The number of row groups.
    pub fn row_groups(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    /// The number of rows.
    pub fn rows(&self) -> u64 {
        let rows = self.metadata.metadata().file_metadata().num_rows();
        u64::try_from(rows).unwrap_or(0)
    }

    /// The bytes of row group `i`: every column chunk of it.
    ///
    /// # Errors
    ///
    /// When they lie outside the file, or are more than
    /// [`MAX_ROW_GROUP_BYTES`].
    pub fn row_group_range(&self, i: usize) -> Result<Range<u64>, ReadError> {
        let group = self.metadata.metadata().row_group(i);
        let mut range: Option<Range<u64>> = None;
        for column in group.columns() {
            let (start, len) = column.byte_range();
            let end = start.saturating_add(len);
            range = Some(match range {
                Some(r) => r.start.min(start)..r.end.max(end),
                None => start..end,
            });
        }
        let range = range.unwrap_or(0..0);
        let data_end = self.file_len.saturating_sub(FOOTER_TAIL as u64);
        if !range.is_empty() && (range.start < MAGIC.len() as u64 || range.end > data_end) {
            return Err(ReadError::OutsideFile {
                row_group: i,
                start: range.start,
                end: range.end,
                len: self.file_len,
            });
        }
        let bytes = range.end - range.start;
        if bytes > MAX_ROW_GROUP_BYTES {
            return Err(ReadError::RowGroupTooLarge {
                row_group: i,
                bytes,
                limit: MAX_ROW_GROUP_BYTES,
            });
        }
        Ok(range)
    }

    /// Reads row group `i` from `bytes`, the bytes of its
    /// [`row_group_range`](ParquetLog::row_group_range), which starts at
    /// `start`.
    ///
    /// # Errors
    ///
    /// [`ReadError::Data`] when the reader cannot be set up.
    pub fn row_group(
        &self,
        i: usize,
        start: u64,
        bytes: Bytes,
    ) -> Result<RowGroupLines, ReadError> {
        let fetched = Fetched {
            start,
            bytes,
            file_len: self.file_len,
        };
        let data = |source| ReadError::Data {
            row_group: i,
            source,
        };
        let projection = ProjectionMask::roots(
            self.metadata.metadata().file_metadata().schema_descr(),
            self.plan.read_columns(),
        );
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(fetched, self.metadata.clone())
                .with_row_groups(vec![i])
                .with_projection(projection)
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(data)?;
        Ok(RowGroupLines {
            reader,
            plan: Arc::clone(&self.plan),
            schemas: lines::Schemas::default(),
            row_group: i,
        })
    }
}

/// The rows of one row group, as lines, a batch at a time.
pub struct RowGroupLines {
    reader: ParquetRecordBatchReader,
    plan: Arc<Plan>,
    schemas: lines::Schemas,
    row_group: usize,
}

impl RowGroupLines {
    /// Writes the next batch of rows into `out` (cleared first), one line
    /// each, with the spans of their values, and returns the schema of
    /// those values; `None` after the last batch. The schema is the same
    /// `Arc` as long as the columns are.
    ///
    /// # Errors
    ///
    /// [`ReadError::Data`] when a page does not decode.
    pub fn next_lines(&mut self, out: &mut SplitLines) -> Result<Option<Arc<Schema>>, ReadError> {
        let Some(batch) = self.reader.next() else {
            return Ok(None);
        };
        let batch = batch.map_err(|e| ReadError::Data {
            row_group: self.row_group,
            source: ParquetError::ArrowError(e.to_string()),
        })?;
        let schema = self.plan.write_lines(&batch, &mut self.schemas, out)?;
        Ok(Some(schema))
    }
}

impl std::fmt::Debug for RowGroupLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowGroupLines")
            .field("row_group", &self.row_group)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// The bytes of one row group, where the reader looks for them by their
/// offsets in the file.
struct Fetched {
    start: u64,
    bytes: Bytes,
    file_len: u64,
}

impl Fetched {
    fn slice(&self, start: u64, len: u64) -> parquet::errors::Result<Bytes> {
        let end = self.start + self.bytes.len() as u64;
        match start.checked_add(len) {
            Some(stop) if start >= self.start && stop <= end => {
                let at = (start - self.start) as usize;
                Ok(self.bytes.slice(at..at + len as usize))
            }
            _ => Err(ParquetError::EOF(format!(
                "bytes {start}..{} are outside the row group's {}..{end}",
                start.saturating_add(len),
                self.start
            ))),
        }
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl ChunkReader for Fetched {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let end = self.start + self.bytes.len() as u64;
        use bytes::Buf as _;
        Ok(self.slice(start, end.saturating_sub(start))?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, length as u64)
    }
}

fn list(names: &[String]) -> String {
    names.join(", ")
}

fn or_cflogs(expected: &Option<String>) -> String {
    match expected {
        Some(t) => format!(" (or {t}, in a file cflog wrote)"),
        None => String::new(),
    }
}

/// `schema` with its string and binary columns as views.
fn as_views(schema: &ArrowSchema) -> ArrowSchema {
    let fields: Vec<arrow_schema::FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View)),
            DataType::Binary => Arc::new(f.as_ref().clone().with_data_type(DataType::BinaryView)),
            _ => Arc::clone(f),
        })
        .collect();
    ArrowSchema::new_with_metadata(fields, schema.metadata().clone())
}

/// A column's Arrow type as an error message names it.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Map(_, _) => "a map".into(),
        DataType::List(_) | DataType::LargeList(_) => "a list".into(),
        DataType::Struct(_) => "a struct".into(),
        other => other.to_string(),
    }
}
