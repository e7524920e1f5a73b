//! CSV and TSV: the JSON contract's values, one column per key.
//!
//! The cells are `cflog_encoders::delimited`'s: each typed value as the text
//! the JSON contract writes for it, without JSON's syntax, so a timestamp, a
//! duration or a decoded path is the same text in both, and no JSON is
//! written to get it. `null` is an empty cell; `query_params` stays a JSON
//! object. Rows are quoted as the `csv` crate quotes them.
//!
//! The header row holds the JSON keys. With a selection of keys they are
//! known before any input is read. Without one they are the keys of the
//! first entry seen; entries of another layout fill the columns they share,
//! and the keys that have no column are reported once per sink.

use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_core::contract::Selection;
use cflog_encoders::delimited::{Cells, Columns, RowWriter};

use super::{BLOCK_SIZE, Delivery, EntryError, Sink, Verdict};

/// Told of keys that have no column: the sink's source and the keys.
pub type DroppedKeys = Arc<dyn Fn(&str, &[&str]) + Send + Sync>;

/// The header row of every sink writing to one output: its columns are
/// decided once, and it is written once, before any row.
///
/// Give each output its own: the command line shares one among the sinks of
/// every input written to one file; the Lambda makes one per object, so
/// each object's rows follow their own header.
pub struct SharedHeader {
    state: Mutex<HeaderState>,
    delimiter: u8,
    explicit: bool,
    dropped: Option<DroppedKeys>,
}

struct HeaderState {
    columns: Option<Arc<[String]>>,
    written: bool,
}

impl fmt::Debug for SharedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedHeader")
            .field("delimiter", &self.delimiter)
            .field("explicit", &self.explicit)
            .finish_non_exhaustive()
    }
}

impl SharedHeader {
    /// The header of rows separated by `delimiter` (`b','` for CSV, `b'\t'`
    /// for TSV), with the selection's keys as columns when it names them.
    pub fn new(delimiter: u8, selection: &Selection) -> SharedHeader {
        let columns = selection
            .keys()
            .map(|keys| keys.into_iter().map(str::to_owned).collect());
        SharedHeader {
            explicit: columns.is_some(),
            state: Mutex::new(HeaderState {
                columns,
                written: false,
            }),
            delimiter,
            dropped: None,
        }
    }

    /// Calls `report` once per sink whose entries have keys with no column.
    pub fn on_dropped_keys(mut self, report: DroppedKeys) -> SharedHeader {
        self.dropped = Some(report);
        self
    }

    /// Writes the header row to `out` if no sink did, when the columns are
    /// known: a selection over empty input is still a valid file.
    ///
    /// # Errors
    ///
    /// When the output fails.
    pub fn finish(&self, out: &mut impl Write) -> io::Result<()> {
        self.ensure(Vec::new, out).map(drop)
    }

    /// The columns, deciding them from `first_keys` if nobody has, and
    /// writing the header row if nobody has. Done under the lock, so no row
    /// can reach the output before the header.
    fn ensure(
        &self,
        first_keys: impl FnOnce() -> Vec<String>,
        out: &mut impl Write,
    ) -> io::Result<Option<Arc<[String]>>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.columns.is_none() {
            let keys = first_keys();
            if keys.is_empty() {
                return Ok(None);
            }
            state.columns = Some(keys.into());
        }
        let columns = state.columns.clone();
        if !state.written
            && let Some(columns) = &columns
        {
            let mut row = csv::WriterBuilder::new()
                .delimiter(self.delimiter)
                .from_writer(Vec::new());
            row.write_record(columns.iter())?;
            out.write_all(&row.into_inner().map_err(|e| e.into_error())?)?;
            state.written = true;
        }
        Ok(columns)
    }
}

/// Where each column's cell is among the cells of one layout.
struct Layout {
    schema_id: u64,
    /// For each column, the index of its cell, if the layout has it.
    slots: Vec<Option<usize>>,
}

/// Writes each entry as one delimited row, in blocks of about
/// [`BLOCK_SIZE`] that end at a row's end, each with one `write_all`.
///
/// ```
/// use std::sync::Arc;
/// use cflog_core::contract::Selection;
/// use cflog_pipeline::sink::{DelimitedSink, SharedHeader, Source};
/// use cflog_pipeline::{Options, Pipeline};
///
/// let header = Arc::new(SharedHeader::new(b',', &Selection::all()));
/// let mut out = Vec::new();
/// let sink = DelimitedSink::new(&mut out, header, Selection::all(), &Source::Stdin);
/// let mut pipeline = Pipeline::new(&Options::default(), sink);
/// pipeline.push(b"#Fields: sc-status cs-uri-stem\n200\t/a,b\n")?;
/// pipeline.blocking_finish()?;
/// drop(pipeline);
/// assert_eq!(out, b"sc_status,cs_uri_stem\n200,\"/a,b\"\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DelimitedSink<W: Write> {
    out: W,
    block: Vec<u8>,
    rows: RowWriter,
    cells: Cells,
    header: Arc<SharedHeader>,
    columns: Option<Arc<[String]>>,
    layout: Option<Layout>,
    source: String,
    warned: bool,
    delivery: Delivery,
}

impl<W: Write> fmt::Debug for DelimitedSink<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelimitedSink")
            .field("source", &self.source)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

impl<W: Write> DelimitedSink<W> {
    /// A sink writing the `selection`'s keys of each entry of `source` to
    /// `out`, under `header`. Every sink sharing a header must write to the
    /// same output, and have the same selection.
    pub fn new(
        out: W,
        header: Arc<SharedHeader>,
        selection: Selection,
        source: &super::Source<'_>,
    ) -> DelimitedSink<W> {
        DelimitedSink {
            out,
            block: Vec::with_capacity(BLOCK_SIZE + 4096),
            rows: RowWriter::new(header.delimiter),
            cells: Cells::new(selection),
            header,
            columns: None,
            layout: None,
            source: source.to_string(),
            warned: false,
            delivery: Delivery::default(),
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_block(&mut self) -> io::Result<()> {
        if !self.block.is_empty() {
            self.out.write_all(&self.block)?;
            self.delivery.bytes += self.block.len() as u64;
            self.block.clear();
        }
        Ok(())
    }

    fn layout_for(&mut self, line: &LogLine<'_>, columns: &[String]) -> Layout {
        let schema_id = line.schema().id();
        if self.header.explicit {
            // The cells then have the chosen keys in column order, whatever
            // the layout.
            return Layout {
                schema_id,
                slots: (0..columns.len()).map(Some).collect(),
            };
        }
        let columns = Columns::new(columns.to_vec());
        let keys = self.cells.keys(line.schema());
        let slots = columns.slots(keys);
        let dropped = columns.dropped(keys);
        if !dropped.is_empty() && !self.warned {
            self.warned = true;
            if let Some(report) = &self.header.dropped {
                report(&self.source, &dropped);
            }
        }
        Layout { schema_id, slots }
    }
}

impl<W: Write> Sink for DelimitedSink<W> {
    type Error = io::Error;

    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<io::Error>> {
        self.cells.read(line)?;
        let schema = line.schema();
        if self.columns.is_none() {
            // The header row goes straight to the output, before any block.
            let keys = self.cells.keys(schema).to_vec();
            let header = Arc::clone(&self.header);
            self.columns = header.ensure(|| keys, &mut self.out)?;
        }
        let Some(columns) = self.columns.clone() else {
            // No key at all: nothing to write.
            self.delivery.entries += 1;
            return Ok(Verdict::Continue);
        };
        if self
            .layout
            .as_ref()
            .is_none_or(|l| l.schema_id != schema.id())
        {
            let layout = self.layout_for(line, &columns);
            self.layout = Some(layout);
        }
        if let Some(layout) = &self.layout {
            self.rows
                .write_row(&self.cells, &layout.slots, &mut self.block);
        }
        self.delivery.entries += 1;
        if self.block.len() >= BLOCK_SIZE {
            self.write_block()?;
        }
        Ok(Verdict::Continue)
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<io::Result<Delivery>> {
        let result = self.write_block().and_then(|()| self.out.flush());
        Poll::Ready(result.map(|()| self.delivery.clone()))
    }
}
