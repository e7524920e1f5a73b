//! CSV and TSV: the JSON contract's values as text, one cell per key.
//!
//! A cell is what the JSON contract writes for the value, without JSON's
//! syntax: a string without its quotes and escapes, a number as written,
//! `null` as an empty cell, and `query_params` as its JSON object. So a
//! timestamp, a duration or a decoded path is the same text in CSV as in
//! JSON, but no JSON is written to get it: [`Cells`] formats the typed
//! values straight into one reused buffer, and a [`RowWriter`] appends them
//! as a row, quoted exactly as the `csv` crate's writer quotes them (RFC
//! 4180, only where needed; the tests hold the two to the same bytes).
//! [`write_row`] hands the cells to a `csv::Writer` instead.
//!
//! ```
//! use cflog_core::contract::Selection;
//! use cflog_core::{LogLine, Schema};
//! use cflog_encoders::delimited::{Cells, Columns, RowWriter, write_row};
//!
//! let schema = Schema::from_fields_header(b"#Fields: date time sc-status cs-uri-stem time-taken")?;
//! let mut spans = Vec::new();
//! let line = LogLine::parse(b"2019-12-04\t21:02:31\t200\t/a,%20b\t0.0820", &schema, &mut spans)?;
//!
//! let mut cells = Cells::new(Selection::all());
//! let columns = Columns::new(cells.keys(&schema).to_vec());
//! let slots = columns.slots(cells.keys(&schema));
//! cells.read(&line)?;
//!
//! let mut out = b"timestamp,sc_status,cs_uri_stem,time_taken\n".to_vec();
//! RowWriter::new(b',').write_row(&cells, &slots, &mut out);
//! assert_eq!(
//!     String::from_utf8(out)?,
//!     "timestamp,sc_status,cs_uri_stem,time_taken\n2019-12-04T21:02:31Z,200,\"/a, b\",0.082\n"
//! );
//!
//! // The same row through the `csv` crate's writer.
//! let mut rows = csv::Writer::from_writer(Vec::new());
//! write_row(&mut rows, &cells, &slots)?;
//! assert_eq!(rows.into_inner()?, b"2019-12-04T21:02:31Z,200,\"/a, b\",0.082\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use cflog_core::contract::Selection;
use cflog_core::json::{EntryText, TextSpan};
use cflog_core::{FieldError, LogLine, Schema};

/// The cells of one entry, by key: the text of each value as the JSON
/// contract writes it, in one buffer reused from entry to entry.
///
/// They are written by [`EntryText`], with the JSON writer's fast paths,
/// as the row of the entry's own columns with the delimiter of the last
/// [`RowWriter`] that wrote them (each cell marked when it needs quotes
/// with it), so that such a row is nearly always one copy.
#[derive(Debug)]
pub struct Cells {
    writer: EntryText,
    /// The cells; only `buf[..len]` is written, the rest is room.
    buf: Vec<u8>,
    len: usize,
    /// Where each cell is in `buf`.
    spans: Vec<TextSpan>,
    /// The delimiter of the last row written from these cells, which the
    /// next entry's cells are laid out for. Only a hint: a row of another
    /// delimiter is written right, cell by cell.
    delimiter: AtomicU8,
    /// The separator the cells of this entry were written with.
    separator: u8,
}

impl Cells {
    /// The cells of the entries of `selection`.
    pub fn new(selection: Selection) -> Cells {
        Cells {
            writer: EntryText::new(selection),
            buf: Vec::new(),
            len: 0,
            spans: Vec::new(),
            delimiter: AtomicU8::new(b','),
            separator: b',',
        }
    }

    /// The keys of the cells of an entry of `schema`, in order.
    pub fn keys(&mut self, schema: &Schema) -> &[String] {
        self.writer.keys(schema)
    }

    /// Reads the values of `line` into cells, replacing the last entry's.
    ///
    /// # Errors
    ///
    /// When a value is not of its kind; there are then no cells.
    pub fn read(&mut self, line: &LogLine<'_>) -> Result<(), FieldError> {
        self.separator = *self.delimiter.get_mut();
        self.len = 0;
        // Room for the usual line many times over, kept from line to line
        // (so it is not cleared each time); a line that needs more is
        // written again into twice the room.
        let mut room = 64 + 64 * self.spans.len() + 8 * line.as_bytes().len();
        loop {
            if self.buf.len() < room {
                self.buf.resize(room, 0);
            }
            let written =
                self.writer
                    .write(line, self.separator, &mut self.buf, &mut self.spans)?;
            match written {
                Some(len) => {
                    self.len = len;
                    return Ok(());
                }
                None => room = 2 * self.buf.len(),
            }
        }
    }

    /// The number of cells read.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether no cells were read.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The text of the cell of key `index` (empty for a missing value), or
    /// `None` past the last one.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let span = self.spans.get(index)?;
        self.buf[..self.len].get(span.start..span.end)
    }
}

/// The columns of a delimited file: a header of keys, which entries of any
/// layout fill where they have those keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    names: Vec<String>,
}

impl Columns {
    /// Columns of these keys, in this order.
    pub fn new(names: Vec<String>) -> Columns {
        Columns { names }
    }

    /// The keys, for the header row.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// For each column, the index of its cell among `keys` (the keys of an
    /// entry's layout), or `None` when that layout lacks it.
    pub fn slots(&self, keys: &[String]) -> Vec<Option<usize>> {
        self.names
            .iter()
            .map(|name| keys.iter().position(|key| key == name))
            .collect()
    }

    /// The keys among `keys` that have no column.
    pub fn dropped<'k>(&self, keys: &'k [String]) -> Vec<&'k str> {
        keys.iter()
            .filter(|key| !self.names.contains(key))
            .map(String::as_str)
            .collect()
    }
}

/// Appends rows of cells as the `csv` crate's writer writes them with its
/// default settings and a delimiter of one's choice: a cell is quoted (and
/// its quotes doubled) when it holds the delimiter, a quote, a carriage
/// return or a line feed; a row of one empty cell is `""`; rows end in
/// `\n`.
///
/// It is the `csv` writer's output without its per-byte state machine.
/// [`Cells`] are read as the row of their own columns with the delimiter
/// of the last `RowWriter` that wrote them, each already checked for
/// quotes (numbers, times and addresses never need them), so such a row is
/// copied whole, but for the cells it quotes; any other row is put together
/// cell by cell.
#[derive(Clone, Debug)]
pub struct RowWriter {
    delimiter: u8,
}

/// Eight copies of `byte`, one per byte of a word.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// Whether a byte of `word` is zero (exactly: the classic test has no
/// false positives when only asked whether there is one).
const fn has_zero_byte(word: u64) -> bool {
    word.wrapping_sub(splat(1)) & !word & splat(0x80) != 0
}

impl RowWriter {
    /// Rows separated by `delimiter` (`b','` for CSV, `b'\t'` for TSV).
    pub fn new(delimiter: u8) -> RowWriter {
        RowWriter { delimiter }
    }

    /// Whether `cell` needs quotes: it holds the delimiter, a quote, a
    /// carriage return or a line feed. Eight bytes at a time: cells are
    /// short, and a `memchr` call per byte looked for costs more.
    #[inline]
    fn needs_quotes(&self, cell: &[u8]) -> bool {
        let special = |b: u8| b == self.delimiter || matches!(b, b'"' | b'\r' | b'\n');
        let (words, rest) = cell.as_chunks::<8>();
        let [delimiter, quote, cr, lf] = [self.delimiter, b'"', b'\r', b'\n'].map(splat);
        words.iter().any(|word| {
            let word = u64::from_ne_bytes(*word);
            has_zero_byte(word ^ delimiter)
                | has_zero_byte(word ^ quote)
                | has_zero_byte(word ^ cr)
                | has_zero_byte(word ^ lf)
        }) || rest.iter().any(|&b| special(b))
    }

    /// Appends one row to `out`: for each slot (from [`Columns::slots`]),
    /// its cell, or an empty one.
    pub fn write_row(&self, cells: &Cells, slots: &[Option<usize>], out: &mut Vec<u8>) {
        // The next entry's cells are laid out for this delimiter.
        if cells.delimiter.load(Ordering::Relaxed) != self.delimiter {
            cells.delimiter.store(self.delimiter, Ordering::Relaxed);
        }
        let (text, spans) = (&cells.buf[..cells.len], &cells.spans[..]);
        if cells.separator == self.delimiter
            && !text.is_empty()
            && slots.len() == spans.len()
            && slots.iter().enumerate().all(|(i, slot)| *slot == Some(i))
        {
            // The cells are the row already, but for their quotes.
            let mut copied = 0;
            for span in spans.iter().filter(|span| span.special) {
                out.extend_from_slice(&text[copied..span.start]);
                quote(&text[span.start..span.end], out);
                copied = span.end;
            }
            out.extend_from_slice(&text[copied..]);
            out.push(b'\n');
            return;
        }
        let start = out.len();
        for (i, slot) in slots.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            let Some(span) = slot.and_then(|index| spans.get(index)) else {
                continue;
            };
            let cell = &text[span.start..span.end];
            if span.text && self.needs_quotes(cell) {
                quote(cell, out);
            } else {
                out.extend_from_slice(cell);
            }
        }
        if out.len() == start {
            // One empty cell: an empty line would be no row at all.
            out.extend_from_slice(b"\"\"");
        }
        out.push(b'\n');
    }
}

/// `cell` in quotes, its quotes doubled.
fn quote(cell: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = cell;
    while let Some(at) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=at]);
        out.push(b'"');
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Writes one row through a `csv` writer: for each slot (from
/// [`Columns::slots`]), its cell, or an empty one.
///
/// # Errors
///
/// The `csv` writer's.
pub fn write_row<W: Write>(
    rows: &mut csv::Writer<W>,
    cells: &Cells,
    slots: &[Option<usize>],
) -> csv::Result<()> {
    for slot in slots {
        let cell = slot.and_then(|i| cells.get(i)).unwrap_or_default();
        rows.write_field(cell)?;
    }
    rows.write_record(None::<&[u8]>)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::IpAddr;
    use std::time::Duration;

    use cflog_core::Value;
    use cflog_core::contract::TypedValue;
    use cflog_core::escape::QueryParams;
    use cflog_core::json::ValueText;
    use cflog_core::typed::{Encoder, Key, Layout, OffsetDateTime};

    /// The cells of an entry through the typed layer: each value parsed by
    /// the parser of its kind, then written as text. What [`Cells`] were
    /// before they had the JSON writer's fast paths, and what they must
    /// still be.
    #[derive(Default)]
    struct TypedCells {
        text: Vec<u8>,
        cells: Vec<std::ops::Range<usize>>,
        value: ValueText,
    }

    impl TypedCells {
        fn read(line: &LogLine<'_>) -> Result<Vec<Vec<u8>>, FieldError> {
            let mut cells = TypedCells::default();
            Layout::new(Selection::all()).encode(line, &mut cells)?;
            Ok(cells
                .cells
                .iter()
                .map(|range| cells.text[range.clone()].to_vec())
                .collect())
        }

        /// A cell of the contract's text of `value`.
        fn value(&mut self, value: &TypedValue<'_>) -> Result<(), FieldError> {
            let start = self.text.len();
            self.value.append(value, &mut self.text);
            self.cells.push(start..self.text.len());
            Ok(())
        }

        fn cell(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), FieldError> {
            let start = self.text.len();
            write(&mut self.text);
            self.cells.push(start..self.text.len());
            Ok(())
        }
    }

    impl Encoder for TypedCells {
        type Error = FieldError;

        fn null(&mut self, _key: Key<'_>) -> Result<(), FieldError> {
            self.cell(|_| {})
        }

        fn text(&mut self, _key: Key<'_>, value: Value<'_>) -> Result<(), FieldError> {
            let text = value.decoded_str();
            self.cell(|out| out.extend_from_slice(text.as_bytes()))
        }

        fn word(&mut self, _key: Key<'_>, word: &str) -> Result<(), FieldError> {
            self.cell(|out| out.extend_from_slice(word.as_bytes()))
        }

        fn boolean(&mut self, _key: Key<'_>, value: bool) -> Result<(), FieldError> {
            self.cell(|out| out.extend_from_slice(if value { b"true" } else { b"false" }))
        }

        fn unsigned(&mut self, _key: Key<'_>, n: u64) -> Result<(), FieldError> {
            self.cell(|out| out.extend_from_slice(n.to_string().as_bytes()))
        }

        fn signed(&mut self, _key: Key<'_>, n: i64) -> Result<(), FieldError> {
            self.cell(|out| out.extend_from_slice(n.to_string().as_bytes()))
        }

        fn seconds(&mut self, _key: Key<'_>, duration: Duration) -> Result<(), FieldError> {
            self.value(&TypedValue::Seconds(duration))
        }

        fn timestamp(
            &mut self,
            _key: Key<'_>,
            time: OffsetDateTime,
            millis: bool,
        ) -> Result<(), FieldError> {
            self.value(&TypedValue::Timestamp(time, millis))
        }

        fn ip(&mut self, _key: Key<'_>, ip: IpAddr) -> Result<(), FieldError> {
            self.cell(|out| out.extend_from_slice(ip.to_string().as_bytes()))
        }

        fn query_params(
            &mut self,
            _key: Key<'_>,
            params: &QueryParams<'_>,
        ) -> Result<(), FieldError> {
            self.value(&TypedValue::QueryParams(params.clone()))
        }
    }

    use cflog_core::json::JsonWriter;
    use cflog_core::{DecoderBuilder, Reader, Record};

    /// A cell from the JSON writer's value: what CSV was before it had
    /// typed values (the JSON object, cut into cells).
    fn json_cell(value: &serde_json::Value) -> Vec<u8> {
        match value {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::String(text) => text.as_bytes().to_vec(),
            other => other.to_string().into_bytes(),
        }
    }

    /// The cells (or the error) of `line` are those of the typed layer.
    fn assert_cells_are_typed(cells: &Cells, line: &LogLine<'_>) {
        match TypedCells::read(line) {
            Ok(typed) => {
                let mine: Vec<&[u8]> = (0..cells.len()).map(|i| cells.get(i).unwrap()).collect();
                let typed: Vec<&[u8]> = typed.iter().map(Vec::as_slice).collect();
                assert_eq!(
                    mine,
                    typed,
                    "{:?}",
                    String::from_utf8_lossy(line.as_bytes())
                );
            }
            Err(error) => {
                let mut again = Cells::new(Selection::all());
                assert_eq!(again.read(line), Err(error));
            }
        }
    }

    /// Values of each kind, good and bad, and text with escapes of every
    /// sort, for the lines of the property test.
    fn value(column: usize) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = proptest::collection::vec(
            prop::sample::select(vec![
                "a",
                "/",
                ",",
                "%2C",
                "%22",
                "\"",
                "%0A",
                "%0D",
                "%09",
                "%FF",
                "%C3%A9",
                "%",
                "%2",
                "%25",
                "%5C",
                "\\",
                "%7C",
                "|",
                "%20",
                "+",
                "=",
                "&",
                "-",
                "%E2%82%AC",
                "%80",
                "0123456789abcdef",
                "\u{e9}",
            ]),
            0..8,
        )
        .prop_map(|pieces| pieces.concat());
        let pick = |values: &[&str]| {
            prop::sample::select(values.iter().map(|v| v.to_string()).collect::<Vec<_>>()).boxed()
        };
        match COLUMNS[column] {
            "date" => pick(&["2019-12-04", "2024-02-29", "2023-02-29", "2019-1-04", "-"]),
            "time" => pick(&["21:02:31", "00:00:00", "24:00:00", "1:02:03", "-"]),
            "c-ip" => pick(&[
                "192.0.2.1",
                "0.0.0.0",
                "01.2.3.4",
                "2001:db8::1",
                "2001:0DB8::1",
                "::ffff:1.2.3.4",
                "::",
                "1::",
                "fe80::1:0:0:1",
                "x",
                "-",
            ]),
            "sc-status" => pick(&["200", "000", "20", "2000", "abc", "-"]),
            "sc-bytes" => pick(&[
                "0",
                "0042",
                "18446744073709551615",
                "18446744073709551616",
                "1x",
                "-",
            ]),
            "time-taken" => pick(&[
                "0.082",
                "0.0820",
                "012",
                "1.",
                "0.0000000001",
                "12345678901234567.5",
                "-",
            ]),
            "sc-range-start" => pick(&["-5", "-05", "-0", "42", "9223372036854775808", "-"]),
            "x-edge-result-type" => pick(&["Hit", "Miss", "Brand,New", "Q\"", "-"]),
            _ => text.boxed(),
        }
    }

    const COLUMNS: [&str; 11] = [
        "date",
        "time",
        "c-ip",
        "sc-status",
        "sc-bytes",
        "cs-uri-stem",
        "cs(User-Agent)",
        "cs-uri-query",
        "time-taken",
        "sc-range-start",
        "x-edge-result-type",
    ];

    proptest::proptest! {
        /// Lines of awkward values: the cells are those of the typed layer,
        /// and so are the errors.
        #[test]
        fn cells_are_the_typed_layers(values in (0..COLUMNS.len()).map(value).collect::<Vec<_>>()) {
            let schema = Schema::from_names(COLUMNS).unwrap();
            let values: Vec<String> = values
                .into_iter()
                .map(|v| if v.is_empty() { "-".to_owned() } else { v })
                .collect();
            let text = values.join("\t");
            let mut spans = Vec::new();
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            let mut cells = Cells::new(Selection::all());
            // Twice each: the second row has its cells laid out for its
            // delimiter by the first.
            for delimiter in [b',', b',', b'\t', b'\t', b','] {
                if cells.read(&line).is_err() {
                    assert_cells_are_typed(&cells, &line);
                    continue;
                }
                assert_cells_are_typed(&cells, &line);
                let slots: Vec<Option<usize>> = (0..cells.len()).map(Some).collect();
                let mut mine = Vec::new();
                RowWriter::new(delimiter).write_row(&cells, &slots, &mut mine);
                let mut theirs = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
                write_row(&mut theirs, &cells, &slots).unwrap();
                proptest::prop_assert_eq!(mine, theirs.into_inner().unwrap());
            }
        }
    }

    /// Every cell of every entry of every sample log, against the JSON
    /// writer's value of the same key.
    #[test]
    fn cells_are_the_json_writers_values_without_their_syntax() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        paths.sort();
        let mut compared = 0;
        for path in paths {
            let text = std::fs::read(&path).unwrap();
            let mut builder = DecoderBuilder::new();
            let name = path.to_string_lossy();
            if name.contains("pipe") {
                builder.delimiter(cflog_core::Delimiter::new(b"|").unwrap());
            }
            let mut reader = Reader::from_builder(&builder, &text[..]);
            let mut record = Record::new();
            let mut json = JsonWriter::new(Selection::all());
            let mut cells = Cells::new(Selection::all());
            loop {
                match reader.read_record(&mut record) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(_) => continue,
                }
                let line = record.line();
                let mut out = Vec::new();
                let written = json.write(&line, &mut out);
                assert_eq!(cells.read(&line), written, "{name}");
                assert_cells_are_typed(&cells, &line);
                if written.is_err() {
                    continue;
                }
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&out).unwrap();
                let keys = cells.keys(line.schema()).to_vec();
                assert_eq!(cells.len(), object.len(), "{name}");
                assert_eq!(keys.len(), object.len(), "{name}");
                for (i, key) in keys.iter().enumerate() {
                    assert_eq!(
                        cells.get(i).unwrap(),
                        json_cell(&object[key]),
                        "{name}: {key}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 500, "{compared}");
    }

    /// Rows of awkward cells, through a `RowWriter` and through the `csv`
    /// crate's writer with the same delimiter.
    #[test]
    fn rows_are_quoted_as_the_csv_writer_quotes_them() {
        let pieces = [
            "", "a", ",", "\t", "\"", "\r", "\n", "\"\"", "é", " ", "%22", "|",
        ];
        let schema = Schema::from_names(["cs(User-Agent)", "cs(Referer)", "sc-status"]).unwrap();
        for delimiter in [b',', b'\t', b'|'] {
            for a in pieces {
                for b in pieces {
                    // Cells as the escaped text decodes to them.
                    let escape = |text: &str| -> String {
                        text.bytes().map(|byte| format!("%{byte:02X}")).collect()
                    };
                    let raw = format!("{}\t{}{}\t200", escape(a), escape(b), escape(a));
                    let raw = raw.replace("\t\t", "\t-\t");
                    let mut spans = Vec::new();
                    let line = LogLine::parse(raw.as_bytes(), &schema, &mut spans).unwrap();
                    let mut cells = Cells::new(Selection::all());
                    cells.read(&line).unwrap();
                    for slots in [
                        vec![Some(0), Some(1), Some(2)],
                        vec![Some(1)],
                        vec![None],
                        vec![Some(0), None],
                    ] {
                        let mut mine = Vec::new();
                        RowWriter::new(delimiter).write_row(&cells, &slots, &mut mine);
                        let mut theirs = csv::WriterBuilder::new()
                            .delimiter(delimiter)
                            .from_writer(Vec::new());
                        write_row(&mut theirs, &cells, &slots).unwrap();
                        let theirs = theirs.into_inner().unwrap();
                        assert_eq!(
                            String::from_utf8_lossy(&mine),
                            String::from_utf8_lossy(&theirs),
                            "{raw:?} {slots:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn columns_map_keys_and_name_the_dropped_ones() {
        let columns = Columns::new(vec!["a".into(), "b".into(), "c".into()]);
        let keys = ["c".to_owned(), "x".to_owned(), "a".to_owned()];
        assert_eq!(columns.slots(&keys), [Some(2), None, Some(0)]);
        assert_eq!(columns.dropped(&keys), ["x"]);
    }
}
