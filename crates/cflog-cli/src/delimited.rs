//! CSV and TSV output: the JSON contract's values, one column per key.
//!
//! The cells are `cflog_encoders::delimited`'s: each typed value as the text
//! the JSON contract writes for it, without JSON's syntax, so a timestamp, a
//! duration or a decoded path is the same text in both, and no JSON is
//! written to get it. `null` is an empty cell; `query_params` stays a JSON
//! object. Rows are quoted as the `csv` crate quotes them.
//!
//! The header row holds the JSON keys. With `--fields` they are known before
//! any input is read. Without it they are the keys of the first entry seen;
//! entries of another layout fill the columns they share, and a warning
//! names the keys that have no column.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use cflog_core::LogLine;
use cflog_core::json::Selection;
use cflog_encoders::delimited::{Cells, Columns, RowWriter};
use cflog_pipeline::sink::{BLOCK_SIZE, Sink, SinkError};

use crate::inputs::Input;
use crate::output::Output;
use crate::report::Reporter;
use crate::run::SinkFactory;

/// Sinks writing delimited rows to one [`Output`] under one header row.
pub struct DelimitedFactory {
    output: Output,
    delimiter: u8,
    selection: Selection,
    header: Arc<Header>,
    reporter: Reporter,
}

impl DelimitedFactory {
    /// Rows separated by `delimiter` (`b','` for CSV, `b'\t'` for TSV).
    pub fn new(
        output: Output,
        delimiter: u8,
        selection: Selection,
        reporter: Reporter,
    ) -> DelimitedFactory {
        let columns = selection
            .keys()
            .map(|keys| keys.into_iter().map(str::to_owned).collect());
        DelimitedFactory {
            output,
            delimiter,
            selection,
            header: Arc::new(Header {
                state: Mutex::new(HeaderState {
                    columns,
                    written: false,
                }),
            }),
            reporter,
        }
    }

    /// Writes the header row if no entry did, when the columns are known:
    /// a selection over empty input is still a valid file.
    ///
    /// # Errors
    ///
    /// When the output fails.
    pub fn finish(&self) -> io::Result<()> {
        let mut output = self.output.clone();
        self.header
            .ensure(Vec::new, &mut output, self.delimiter)
            .map(drop)
    }
}

impl SinkFactory for DelimitedFactory {
    type Sink = DelimitedSink;

    fn open(&self, input: &Input) -> DelimitedSink {
        let block = Block {
            buf: Vec::with_capacity(BLOCK_SIZE + 4096),
            out: self.output.clone(),
        };
        DelimitedSink {
            block,
            rows: RowWriter::new(self.delimiter),
            cells: Cells::new(self.selection.clone()),
            explicit: self.selection.keys().is_some(),
            header: Arc::clone(&self.header),
            columns: None,
            layout: None,
            delimiter: self.delimiter,
            input: input.to_string(),
            reporter: self.reporter.clone(),
            warned: false,
        }
    }

    fn close(&self, _sink: DelimitedSink) {}
}

fn writer<W: Write>(delimiter: u8, out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out)
}

/// The header row, decided once for every sink.
struct Header {
    state: Mutex<HeaderState>,
}

struct HeaderState {
    columns: Option<Arc<[String]>>,
    written: bool,
}

impl Header {
    /// The columns, deciding them from `first_keys` if nobody has, and
    /// writing the header row if nobody has. Done under the lock, so no row
    /// can reach the output before the header.
    fn ensure(
        &self,
        first_keys: impl FnOnce() -> Vec<String>,
        out: &mut Output,
        delimiter: u8,
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
            let mut row = writer(delimiter, Vec::new());
            row.write_record(columns.iter())?;
            out.write_all(&row.into_inner().map_err(|e| e.into_error())?)?;
            state.written = true;
        }
        Ok(columns)
    }
}

/// Rows gathered into a block, written out whole when the sink says so:
/// the block reaches the output only on [`Write::flush`], which the sink
/// calls right after a whole row.
struct Block {
    buf: Vec<u8>,
    out: Output,
}

impl Write for Block {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }
}

/// Where each column's cell is among the cells of one layout.
struct Layout {
    schema_id: u64,
    /// For each column, the index of its cell, if the layout has it.
    slots: Vec<Option<usize>>,
}

/// Writes each entry as one delimited row.
pub struct DelimitedSink {
    block: Block,
    rows: RowWriter,
    cells: Cells,
    /// Whether the keys were chosen (`--fields`): the cells then have them
    /// in column order, whatever the layout.
    explicit: bool,
    header: Arc<Header>,
    columns: Option<Arc<[String]>>,
    layout: Option<Layout>,
    delimiter: u8,
    input: String,
    reporter: Reporter,
    warned: bool,
}

impl Sink for DelimitedSink {
    fn entry(&mut self, line: &LogLine<'_>) -> Result<(), SinkError> {
        self.cells.read(line)?;
        let schema = line.schema();
        if self.columns.is_none() {
            let mut out = self.block.out.clone();
            let keys = self.cells.keys(schema);
            self.columns = self
                .header
                .ensure(|| keys.to_vec(), &mut out, self.delimiter)?;
        }
        let Some(columns) = self.columns.clone() else {
            return Ok(());
        };
        if self
            .layout
            .as_ref()
            .is_none_or(|l| l.schema_id != schema.id())
        {
            let layout = self.layout_for(line, &columns);
            self.layout = Some(layout);
        }
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        self.rows
            .write_row(&self.cells, &layout.slots, &mut self.block.buf);
        if self.block.buf.len() >= BLOCK_SIZE {
            self.block.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.block.flush()
    }
}

impl DelimitedSink {
    fn layout_for(&mut self, line: &LogLine<'_>, columns: &[String]) -> Layout {
        let schema_id = line.schema().id();
        if self.explicit {
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
            self.reporter.warn(format_args!(
                "{}: no CSV column for {} (the columns are those of the first entry read; choose them with --fields)",
                self.input,
                dropped.join(", ")
            ));
        }
        Layout { schema_id, slots }
    }
}
