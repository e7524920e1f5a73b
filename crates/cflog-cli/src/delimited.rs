//! CSV and TSV output: the JSON contract's values, one column per key.
//!
//! Each entry is first written as JSON by cflog-core's `JsonWriter`, then cut
//! into cells, so CSV can never drift from the contract: a timestamp, a
//! duration or a decoded path is the same text in both. A cell is the JSON
//! value with its quotes and escapes removed; `null` is an empty cell;
//! `query_params` stays a JSON object. Quoting is the `csv` crate's.
//!
//! The header row holds the JSON keys. With `--fields` they are known before
//! any input is read. Without it they are the keys of the first entry seen;
//! entries of another layout fill the columns they share, and a warning
//! names the keys that have no column.

use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use cflog_core::LogLine;
use cflog_core::json::{JsonWriter, Selection};
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
            rows: writer(self.delimiter, block),
            json: JsonWriter::new(self.selection.clone()),
            explicit: self.selection.keys().is_some(),
            object: Vec::with_capacity(4096),
            spans: Vec::new(),
            keys: Vec::new(),
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

/// Rows gathered into a block, written out whole when the sink says so.
///
/// The `csv` writer flushes its own small buffer into the block at any
/// point, even mid-row; the block reaches the output only on
/// [`Write::flush`], which the sink calls right after a whole row.
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

/// Where each column's value is in the JSON object of one layout.
struct Layout {
    schema_id: u64,
    /// For each column, the index of its value in the object, if present.
    slots: Vec<Option<usize>>,
}

/// Writes each entry as one delimited row.
pub struct DelimitedSink {
    rows: csv::Writer<Block>,
    json: JsonWriter,
    /// Whether the keys were chosen (`--fields`): the object then has them
    /// in column order, whatever the layout.
    explicit: bool,
    object: Vec<u8>,
    spans: Vec<Range<usize>>,
    keys: Vec<String>,
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
        self.object.clear();
        self.json.write(line, &mut self.object)?;
        let schema_id = line.schema().id();
        let new_layout = self
            .layout
            .as_ref()
            .is_none_or(|l| l.schema_id != schema_id);
        let want_keys = new_layout && !self.explicit;
        self.keys.clear();
        split_object(
            &self.object,
            &mut self.spans,
            want_keys.then_some(&mut self.keys),
        )
        .map_err(|e| io::Error::other(format!("cutting a JSON entry into cells: {e}")))?;
        if self.columns.is_none() {
            let mut out = self.rows.get_ref().out.clone();
            let keys = &self.keys;
            self.columns = self
                .header
                .ensure(|| keys.clone(), &mut out, self.delimiter)?;
        }
        let Some(columns) = self.columns.clone() else {
            return Ok(());
        };
        if new_layout {
            let layout = self.layout_for(schema_id, &columns);
            self.layout = Some(layout);
        }
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        for slot in &layout.slots {
            let cell = match slot {
                Some(i) => cell(&self.object[self.spans[*i].clone()])?,
                None => Cow::Borrowed(&b""[..]),
            };
            self.rows.write_field(&cell).map_err(csv_error)?;
        }
        self.rows.write_record(None::<&[u8]>).map_err(csv_error)?;
        if self.rows.get_ref().buf.len() >= BLOCK_SIZE {
            self.rows.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.rows.flush()
    }
}

impl DelimitedSink {
    fn layout_for(&mut self, schema_id: u64, columns: &[String]) -> Layout {
        if self.explicit {
            return Layout {
                schema_id,
                slots: (0..columns.len()).map(Some).collect(),
            };
        }
        let slots = columns
            .iter()
            .map(|column| self.keys.iter().position(|key| key == column))
            .collect();
        let dropped: Vec<&str> = self
            .keys
            .iter()
            .filter(|key| !columns.contains(key))
            .map(String::as_str)
            .collect();
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

fn csv_error(err: csv::Error) -> SinkError {
    SinkError::Io(err.into())
}

/// The bytes of one cell from a JSON value: strings without their quotes
/// and escapes, `null` empty, numbers and objects as written. The JSON
/// writer made valid UTF-8, so bytes are cut without checking it again.
fn cell(value: &[u8]) -> io::Result<Cow<'_, [u8]>> {
    Ok(match value {
        [b'"', text @ .., b'"'] if !text.contains(&b'\\') => Cow::Borrowed(text),
        [b'"', ..] => Cow::Owned(
            serde_json::from_slice::<String>(value)
                .map_err(io::Error::other)?
                .into_bytes(),
        ),
        b"null" => Cow::Borrowed(b""),
        _ => Cow::Borrowed(value),
    })
}

/// `JsonWriter` output that does not have the expected shape (a bug, never
/// bad input: the writer is ours).
#[derive(Debug, thiserror::Error)]
#[error("the JSON writer's output is not a flat object at byte {0}")]
struct MalformedJson(usize);

/// Records where each value of `object` is, and its keys when asked.
///
/// `object` comes from `JsonWriter`: one compact object of strings,
/// numbers, `null` and, for `query_params`, an object of strings and
/// arrays. This scans that grammar without validating again what the
/// writer guarantees; the values are left as written. It is about twice as
/// fast as serde_json's `RawValue`, which the tests use as the reference.
/// Anything unexpected is an error, never a panic.
fn split_object(
    object: &[u8],
    spans: &mut Vec<Range<usize>>,
    mut keys: Option<&mut Vec<String>>,
) -> Result<(), MalformedJson> {
    spans.clear();
    let mut at = expect(object, 0, b'{')?;
    if object.get(at) == Some(&b'}') {
        return end(object, at);
    }
    loop {
        let key_end = string_end(object, at)?;
        if let Some(keys) = keys.as_deref_mut() {
            keys.push(serde_json::from_slice(&object[at..key_end]).map_err(|_| MalformedJson(at))?);
        }
        at = expect(object, key_end, b':')?;
        let value_end = value_end(object, at)?;
        spans.push(at..value_end);
        match object.get(value_end) {
            Some(b',') => at = value_end + 1,
            Some(b'}') => return end(object, value_end),
            _ => return Err(MalformedJson(value_end)),
        }
    }
}

fn expect(json: &[u8], at: usize, byte: u8) -> Result<usize, MalformedJson> {
    match json.get(at) {
        Some(b) if *b == byte => Ok(at + 1),
        _ => Err(MalformedJson(at)),
    }
}

/// `at` is the closing brace, which must end the text.
fn end(json: &[u8], at: usize) -> Result<(), MalformedJson> {
    if at + 1 == json.len() {
        Ok(())
    } else {
        Err(MalformedJson(at))
    }
}

/// The index after the string that starts at `at`.
fn string_end(json: &[u8], at: usize) -> Result<usize, MalformedJson> {
    let mut i = expect(json, at, b'"')?;
    while let Some(found) = memchr::memchr2(b'"', b'\\', &json[i.min(json.len())..]) {
        i += found;
        if json[i] == b'"' {
            return Ok(i + 1);
        }
        // An escape: skip the backslash and the byte it escapes (`\u`'s
        // hex digits need no care: they are never `"` or `\`).
        i += 2;
    }
    Err(MalformedJson(at))
}

/// The index after the value that starts at `at`.
fn value_end(json: &[u8], at: usize) -> Result<usize, MalformedJson> {
    match json.get(at) {
        Some(b'"') => string_end(json, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(byte) = json.get(i) {
                match byte {
                    b'"' => {
                        i = string_end(json, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err(MalformedJson(at))
        }
        // A number, `null`, `true` or `false`: up to the next separator.
        Some(_) => match json[at..].iter().position(|b| matches!(b, b',' | b'}')) {
            Some(len) if len > 0 => Ok(at + len),
            _ => Err(MalformedJson(at)),
        },
        None => Err(MalformedJson(at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use cflog_core::{DecoderBuilder, Reader, Record};
    use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
    use serde_json::value::RawValue;

    /// The reference: serde_json's own reading of the object, with each
    /// value's span taken from its `RawValue`.
    fn serde_spans(object: &[u8]) -> Option<(Vec<Range<usize>>, Vec<String>)> {
        struct Spans<'a> {
            base: usize,
            spans: &'a mut Vec<Range<usize>>,
            keys: &'a mut Vec<String>,
        }
        impl<'de> DeserializeSeed<'de> for Spans<'_> {
            type Value = ();
            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_map(self)
            }
        }
        impl<'de> Visitor<'de> for Spans<'_> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(key) = map.next_key::<String>()? {
                    self.keys.push(key);
                    let value: &'de RawValue = map.next_value()?;
                    let start = value.get().as_ptr() as usize - self.base;
                    self.spans.push(start..start + value.get().len());
                }
                Ok(())
            }
        }
        let (mut spans, mut keys) = (Vec::new(), Vec::new());
        let mut deserializer = serde_json::Deserializer::from_slice(object);
        Spans {
            base: object.as_ptr() as usize,
            spans: &mut spans,
            keys: &mut keys,
        }
        .deserialize(&mut deserializer)
        .ok()?;
        deserializer.end().ok()?;
        Some((spans, keys))
    }

    fn fast_spans(object: &[u8]) -> Option<(Vec<Range<usize>>, Vec<String>)> {
        let (mut spans, mut keys) = (Vec::new(), Vec::new());
        split_object(object, &mut spans, Some(&mut keys)).ok()?;
        Some((spans, keys))
    }

    /// JSON objects as the writer makes them, from every sample log.
    fn written_objects() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let mut objects = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read(&path).unwrap();
            let mut builder = DecoderBuilder::new();
            if path.to_string_lossy().contains("pipe") {
                builder.delimiter(cflog_core::Delimiter::new(b"|").unwrap());
            }
            let mut reader = Reader::from_builder(&builder, &text[..]);
            let mut record = Record::new();
            let mut json = JsonWriter::new(Selection::all());
            loop {
                match reader.read_record(&mut record) {
                    Ok(true) => {
                        let mut out = Vec::new();
                        if json.write(&record.line(), &mut out).is_ok() {
                            objects.push(out);
                        }
                    }
                    Ok(false) => break,
                    Err(_) => {}
                }
            }
        }
        assert!(objects.len() > 20, "{}", objects.len());
        objects
    }

    #[test]
    fn the_scanner_agrees_with_serde_json_on_written_objects() {
        let mut objects = written_objects();
        // Escapes, nesting and separators inside strings.
        for tricky in [
            &br#"{}"#[..],
            br#"{"a":"x,y}","b":null,"c":0.082,"d":"say \"hi\"\u00e9\\","e":{"q":["1","2,]"],"r":"}"},"f":""}"#,
            br#"{"k\"ey":-5,"l":[],"m":{},"n":true}"#,
        ] {
            objects.push(tricky.to_vec());
        }
        for object in &objects {
            let text = String::from_utf8_lossy(object);
            assert_eq!(fast_spans(object), serde_spans(object), "{text}");
            assert!(fast_spans(object).is_some(), "{text}");
        }
    }

    #[test]
    fn a_cut_or_broken_object_is_an_error_not_a_panic() {
        let object = br#"{"a":"x\"y","b":{"q":["1"]},"c":12}"#;
        for end in 0..object.len() {
            assert!(fast_spans(&object[..end]).is_none(), "{end}");
        }
        for broken in [
            &br#"{"a"}"#[..],
            br#"{"a":}"#,
            br#"{"a":1,}"#,
            br#"{"a":1}x"#,
            br#"["a"]"#,
            b"{\"a\":\"\\",
        ] {
            assert!(
                fast_spans(broken).is_none(),
                "{}",
                String::from_utf8_lossy(broken)
            );
        }
    }

    #[test]
    fn cells_are_json_values_without_their_syntax() {
        let object =
            br#"{"a":"x,y","b":null,"c":0.082,"d":"say \"hi\"\u00e9","e":{"q":["1","2"]},"f":""}"#;
        let (spans, keys) = fast_spans(object).unwrap();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
        let cells: Vec<String> = spans
            .iter()
            .map(|span| {
                String::from_utf8(cell(&object[span.clone()]).unwrap().into_owned()).unwrap()
            })
            .collect();
        assert_eq!(
            cells,
            ["x,y", "", "0.082", "say \"hi\"é", r#"{"q":["1","2"]}"#, ""]
        );
    }

    #[test]
    fn keys_are_only_read_when_asked() {
        let mut spans = Vec::new();
        split_object(br#"{"a":1,"b":"2"}"#, &mut spans, None).unwrap();
        assert_eq!(spans, [5..6, 11..14]);
    }
}
