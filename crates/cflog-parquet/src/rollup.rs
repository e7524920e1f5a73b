//! The hourly rollup: many small Parquet files of one hour, written by
//! [`ParquetWriter`](crate::ParquetWriter) one per input, merged into a few
//! large ones with the same columns and writer settings, and row groups as
//! large as the writer allows.
//!
//! The rollup is a pure function of its inputs, in the order given: the
//! same files in the same order always give byte-identical output. The
//! rows of each input follow those of the one before, in their own order;
//! nothing is sorted, parsed or converted again. So rolling an hour twice
//! writes the same bytes, and an object store can tell that nothing
//! changed.
//!
//! [`plan_parts`] assigns the inputs, by size, to the parts of an hour so
//! that appending an input (a late log file) changes only the last part,
//! or adds one; [`RollupWriter`] writes one part.
//!
//! ```
//! use cflog_core::{Reader, Record};
//! use cflog_parquet::rollup::{RollupOptions, RollupWriter};
//! use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
//!
//! // Two small files, as the S3 destination stages them, one per log file.
//! let mut files = Vec::new();
//! for status in ["200", "404"] {
//!     let log = format!("#Version: 1.0\n#Fields: date time sc-status\n2019-12-04\t21:02:31\t{status}\n");
//!     let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), WriterOptions::staged())?;
//!     let mut reader = Reader::from_reader(log.as_bytes());
//!     let mut record = Record::new();
//!     while reader.read_record(&mut record)? {
//!         writer.write(&record.line())?;
//!     }
//!     files.push(bytes::Bytes::from(writer.finish()?.0));
//! }
//! let inputs = files.iter().map(|file| file.len() as u64).sum();
//! let options = RollupOptions::default();
//! let mut rollup = RollupWriter::new(Vec::new(), ColumnSet::standard(), options.writer(inputs))?;
//! for file in files {
//!     rollup.append(file)?;
//! }
//! let (part, stats) = rollup.finish()?;
//! assert_eq!((stats.inputs, stats.rows, stats.row_groups), (2, 2, 1));
//! assert_eq!(stats.bytes, part.len() as u64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::ops::Range;

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;
use parquet::file::reader::ChunkReader;

use crate::columns::ColumnSet;
use crate::options::WriterOptions;
use crate::writer::Counted;

/// The rows of each batch read from an input.
const READ_BATCH_ROWS: usize = 8 * 1024;

/// How a rollup sizes its parts and row groups, and compresses them.
///
/// A part's writer depends on the bytes of its inputs
/// ([`writer`](RollupOptions::writer)). Parts of a small hour take
/// [`WriterOptions::rolled`]'s zstd level 9: there one footer and one set
/// of dictionaries weigh on every entry, and the level's 3 % fewer bytes
/// cost a fraction of a second at most. Larger parts take zstd level 1, twice as fast for
/// those 3 % (BENCHMARKS.md, "The rollup's rate"): an hour of a busy
/// distribution rolls up at its reading and encoding speed, not zstd's.
///
/// ```
/// use cflog_parquet::rollup::RollupOptions;
///
/// let options = RollupOptions::default();
/// assert_eq!(options.writer(1 << 20).get_row_group_rows(), 1 << 20);
/// assert_eq!(options.get_part_input_bytes(), 256 << 20);
/// assert_eq!(options.get_small_part_bytes(), 16 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct RollupOptions {
    small: WriterOptions,
    large: WriterOptions,
    small_part_bytes: u64,
    part_input_bytes: u64,
}

impl Default for RollupOptions {
    /// [`WriterOptions::rolled`]'s parts: row groups of up to 1,048,576
    /// rows or 128 MiB encoded, compressed harder, written for files read
    /// whole, at zstd level 9 up to 16 MiB of inputs (about 110,000 entries
    /// of [`WriterOptions::staged`] files) and level 1 past that; parts of
    /// about 256 MiB of inputs, which come to about half as many bytes
    /// once merged: about 1.9 million rows of staged files.
    fn default() -> RollupOptions {
        RollupOptions {
            small: WriterOptions::rolled(),
            large: WriterOptions::rolled().zstd_level(1),
            small_part_bytes: 16 << 20,
            part_input_bytes: 256 << 20,
        }
    }
}

impl RollupOptions {
    /// One writer's settings (row groups, compression) for every part,
    /// whatever its size.
    #[must_use]
    pub fn with_writer(mut self, writer: WriterOptions) -> RollupOptions {
        self.small = writer.clone();
        self.large = writer;
        self
    }

    /// The bytes of inputs up to which a part is small (default 16 MiB).
    #[must_use]
    pub fn small_part_bytes(mut self, bytes: u64) -> RollupOptions {
        self.small_part_bytes = bytes;
        self
    }

    /// The bytes of inputs past which a part takes no more (default 256
    /// MiB); a single input larger than this is a part of its own.
    #[must_use]
    pub fn part_input_bytes(mut self, bytes: u64) -> RollupOptions {
        self.part_input_bytes = bytes.max(1);
        self
    }

    /// The writer's settings for a part of `input_bytes` of inputs.
    pub fn writer(&self, input_bytes: u64) -> &WriterOptions {
        match input_bytes <= self.small_part_bytes {
            true => &self.small,
            false => &self.large,
        }
    }

    /// The bytes of inputs up to which a part is small.
    pub fn get_small_part_bytes(&self) -> u64 {
        self.small_part_bytes
    }

    /// The bytes of inputs past which a part takes no more.
    pub fn get_part_input_bytes(&self) -> u64 {
        self.part_input_bytes
    }
}

/// Assigns inputs of the given sizes, in their order, to parts: each part
/// takes the next inputs while their sizes sum to at most `part_bytes`,
/// and at least one.
///
/// Each part depends only on the inputs before its end, so inputs added
/// at the end (late files) change only the last part, or start new ones.
///
/// ```
/// use cflog_parquet::rollup::plan_parts;
///
/// assert_eq!(plan_parts(&[40, 50, 30, 90], 100), vec![0..2, 2..3, 3..4]);
/// // A late input joins the last part, or starts one of its own.
/// assert_eq!(plan_parts(&[40, 50, 30, 90, 10], 100), vec![0..2, 2..3, 3..5]);
/// assert_eq!(plan_parts(&[40, 50, 30, 90, 10, 5], 100), vec![0..2, 2..3, 3..5, 5..6]);
/// assert_eq!(plan_parts(&[500, 1], 100), vec![0..1, 1..2]);
/// assert!(plan_parts(&[], 100).is_empty());
/// ```
pub fn plan_parts(sizes: &[u64], part_bytes: u64) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && bytes.saturating_add(size) > part_bytes {
            parts.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes = bytes.saturating_add(size);
    }
    if start < sizes.len() {
        parts.push(start..sizes.len());
    }
    parts
}

/// The columns of `input`, a Parquet file written by
/// [`ParquetWriter`](crate::ParquetWriter): those a part rolled from it
/// takes ([`RollupWriter::with_schema`]). Only the footer is read.
///
/// # Errors
///
/// When `input` is not Parquet, or its footer is not readable.
pub fn input_schema<R: ChunkReader>(input: &R) -> Result<SchemaRef, ParquetError> {
    let metadata = ArrowReaderMetadata::load(input, ArrowReaderOptions::default())?;
    Ok(metadata.schema().clone())
}

/// Why a rollup could not read an input or write its part.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RollupError {
    /// The input is not a Parquet file that could be read to its end.
    #[error("input {input} is not readable Parquet: {error}")]
    Input {
        /// The input's position among those appended, from 0.
        input: usize,
        /// What the reader said.
        #[source]
        error: ParquetError,
    },
    /// The input is Parquet, but not of the part's columns: not one of
    /// cflog's files of this family, of another version of them, or
    /// written with other enrichments than the part's first input.
    #[error("input {input} has other columns than the part's {family:?} columns: {found}")]
    Columns {
        /// The input's position among those appended, from 0.
        input: usize,
        /// The family of the part's columns.
        family: cflog_core::Family,
        /// The input's columns, as Arrow prints them.
        found: String,
    },
    /// Encoding or writing the part failed (its output's I/O error
    /// included). The part is incomplete; the writer takes nothing more.
    #[error("writing the rolled-up Parquet failed: {0}")]
    Output(#[source] ParquetError),
}

/// What a [`RollupWriter`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RollupStats {
    /// The inputs appended.
    pub inputs: usize,
    /// The rows, those of every input.
    pub rows: u64,
    /// The row groups of the part.
    pub row_groups: usize,
    /// The bytes of the part, footer included.
    pub bytes: u64,
}

/// Writes one part of a rollup: the rows of each input appended, in turn,
/// to `W`, with [`RollupOptions`]' row groups and the writer's settings.
///
/// Memory holds one batch of an input's rows and the row group being
/// encoded; each full row group is written to `W` at once, so a caller
/// that streams the part on takes the bytes out of
/// [`output_mut`](RollupWriter::output_mut) as they come.
pub struct RollupWriter<W: Write + Send> {
    writer: ArrowWriter<Counted<W>>,
    set: ColumnSet,
    schema: SchemaRef,
    inputs: usize,
    rows: u64,
    failed: bool,
}

impl<W: Write + Send> std::fmt::Debug for RollupWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollupWriter")
            .field("family", &self.set.family())
            .field("inputs", &self.inputs)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> RollupWriter<W> {
    /// A part of `set`'s columns, written to `out` with `options`: those
    /// [`RollupOptions::writer`] gives for the part's inputs.
    ///
    /// # Errors
    ///
    /// When `out` fails, or the options' zstd level is out of range.
    pub fn new(
        out: W,
        set: ColumnSet,
        options: &WriterOptions,
    ) -> Result<RollupWriter<W>, RollupError> {
        let schema = set.arrow_schema();
        RollupWriter::with_schema(out, set, schema, options)
    }

    /// A part of the columns of `schema`, written to `out`: the columns of
    /// its inputs ([`input_schema`]), when they are more than `set`'s
    /// (enrichments add some) or fewer. The columns of `set` keep the
    /// writer's settings for them; any other is dictionary-encoded.
    ///
    /// # Errors
    ///
    /// When `out` fails, or the options' zstd level is out of range.
    pub fn with_schema(
        out: W,
        set: ColumnSet,
        schema: SchemaRef,
        options: &WriterOptions,
    ) -> Result<RollupWriter<W>, RollupError> {
        let out = Counted { out, bytes: 0 };
        let writer = options
            .arrow_writer(out, &set, schema.clone())
            .map_err(RollupError::Output)?;
        Ok(RollupWriter {
            writer,
            set,
            schema,
            inputs: 0,
            rows: 0,
            failed: false,
        })
    }

    /// Appends every row of `input`, a Parquet file of the part's columns,
    /// and gives how many it had.
    ///
    /// An input that cannot be read, or is of other columns, is refused
    /// whole: its rows read so far may be in the row group, so the part is
    /// then broken, as after an output error, and takes nothing more. (A
    /// caller rolls the part again once the input is mended, or left out.)
    ///
    /// # Errors
    ///
    /// [`RollupError::Input`] and [`RollupError::Columns`] for the input;
    /// [`RollupError::Output`] when encoding or the output fails.
    pub fn append<R: ChunkReader + 'static>(&mut self, input: R) -> Result<u64, RollupError> {
        if self.failed {
            return Err(RollupError::Output(ParquetError::General(
                "an earlier input of this part failed".into(),
            )));
        }
        let result = self.try_append(input);
        self.failed = result.is_err();
        let rows = result?;
        self.inputs += 1;
        self.rows += rows;
        Ok(rows)
    }

    fn try_append<R: ChunkReader + 'static>(&mut self, input: R) -> Result<u64, RollupError> {
        let index = self.inputs;
        let input_error = |error| RollupError::Input {
            input: index,
            error,
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(input)
            .map_err(input_error)?
            .with_batch_size(READ_BATCH_ROWS);
        if reader.schema().fields() != self.schema.fields() {
            return Err(RollupError::Columns {
                input: index,
                family: self.set.family(),
                found: format!("{:?}", reader.schema().fields()),
            });
        }
        let mut rows = 0;
        for batch in reader.build().map_err(input_error)? {
            let batch = batch.map_err(|error| input_error(error.into()))?;
            // The reader's batches carry its schema's metadata; the rows
            // are what matter, under the part's own schema.
            let batch = batch
                .with_schema(self.schema.clone())
                .map_err(|error| RollupError::Output(error.into()))?;
            self.writer.write(&batch).map_err(RollupError::Output)?;
            rows += batch.num_rows() as u64;
        }
        Ok(rows)
    }

    /// The rows appended so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The bytes in memory: the row group being encoded, as parquet's
    /// writer estimates it.
    pub fn memory_size(&self) -> usize {
        self.writer.memory_size()
    }

    /// The output, holding what has been written to it so far: whole row
    /// groups. A caller streaming the part on may take the bytes out as
    /// they come (the writer keeps its own count of the file's offsets); it
    /// must not write to it.
    pub fn output_mut(&mut self) -> &mut W {
        &mut self.writer.inner_mut().out
    }

    /// Writes the last row group and the footer, and returns the output
    /// and what was written.
    ///
    /// # Errors
    ///
    /// When encoding or the output fails, or an input failed before.
    pub fn finish(mut self) -> Result<(W, RollupStats), RollupError> {
        if self.failed {
            return Err(RollupError::Output(ParquetError::General(
                "an earlier input of this part failed".into(),
            )));
        }
        self.writer.flush().map_err(RollupError::Output)?;
        let row_groups = self.writer.flushed_row_groups().len();
        let out = self.writer.into_inner().map_err(RollupError::Output)?;
        let stats = RollupStats {
            inputs: self.inputs,
            rows: self.rows,
            row_groups,
            bytes: out.bytes,
        };
        Ok((out.out, stats))
    }
}
