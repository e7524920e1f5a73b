//! An owned, reusable line record.

use std::sync::Arc;

use crate::error::{Error, Position};
use crate::json_line::{JsonFields, JsonLineError};
use crate::kind::FieldError;
use crate::line::{FieldCountError, LogLine};
use crate::raw::split_spans;
use crate::schema::Schema;

/// Bytes kept after a line in its record.
const SLACK: usize = 16;

/// One line read by a [`Reader`](crate::Reader) or
/// [`Decoder`](crate::Decoder): its bytes, field spans, schema and position.
///
/// Reuse one record for every line: after the first few lines, reading
/// allocates nothing. [`line`](Record::line) gives the borrowed view with the
/// typed accessors.
#[derive(Clone, Debug)]
pub struct Record {
    /// The line, then for a JSON line the values that had to be unescaped.
    bytes: Vec<u8>,
    /// The line's own length in `bytes`.
    len: usize,
    /// Where each field starts and ends in `bytes`, two per column.
    spans: Vec<u32>,
    schema: Arc<Schema>,
    pos: Position,
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record {
            bytes: Vec::with_capacity(1024),
            len: 0,
            // A span per column of the initial schema, so that `line()` is
            // safe to call before anything is read.
            spans: vec![0; 2 * crate::STANDARD_FIELDS.len()],
            schema: Arc::new(Schema::standard()),
            pos: Position::default(),
        }
    }

    /// The parsed line.
    #[inline]
    pub fn line(&self) -> LogLine<'_> {
        let spans = &self.spans[..2 * self.schema.len()];
        LogLine::from_parts(&self.bytes, self.len, spans, &self.schema)
    }

    /// Where the line starts in the input.
    pub fn position(&self) -> Position {
        self.pos
    }

    /// The line's bytes (also available when it failed to split).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The schema the line was split by.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The [`Error`] for a typed accessor's failure on this record: the
    /// field error with the record's position and the field's raw value.
    ///
    /// ```
    /// use cflog_core::{Reader, Record};
    ///
    /// let mut reader = Reader::from_reader(&b"#Fields: sc-status\n2x0\n"[..]);
    /// let mut record = Record::new();
    /// assert!(reader.read_record(&mut record)?);
    /// let err = record.line().status().map_err(|e| record.field_error(e)).unwrap_err();
    /// assert_eq!(err.to_string(), r#"line 2 (byte 19): field sc-status: expected a three-digit status: "2x0""#);
    /// # Ok::<(), cflog_core::Error>(())
    /// ```
    pub fn field_error(&self, error: FieldError) -> Error {
        let raw = self.line().raw(error.field()).unwrap_or_default();
        Error::field(self.pos, error, raw)
    }

    /// Copies `line` in and splits it by `schema`.
    pub(crate) fn fill(
        &mut self,
        line: &[u8],
        pos: Position,
        schema: &Arc<Schema>,
    ) -> Result<(), FieldCountError> {
        self.bytes.clear();
        self.bytes.extend_from_slice(line);
        // Slack past the line, so that its last values too can be copied a
        // whole chunk at a time (see `LogLine::buffer`).
        self.bytes.extend_from_slice(&[0; SLACK]);
        self.len = line.len();
        self.pos = pos;
        if !Arc::ptr_eq(&self.schema, schema) {
            self.schema = Arc::clone(schema);
        }
        let expected = schema.len();
        split_spans(line, schema.delimiter(), &mut self.spans, expected).map_err(|found| {
            // Keep `line()` safe to call: it must see a span per column.
            self.spans[..2 * expected].fill(0);
            FieldCountError { expected, found }
        })
    }
}

impl Record {
    /// Copies a JSON `line` in and splits it by its keys.
    pub(crate) fn fill_json(
        &mut self,
        line: &[u8],
        pos: Position,
        json: &mut JsonFields,
    ) -> Result<(), JsonLineError> {
        self.bytes.clear();
        self.bytes.extend_from_slice(line);
        self.len = line.len();
        self.pos = pos;
        // Unescaped values land after the line in `bytes`, where the spans
        // expect them.
        if let Err(e) = json.split(line, &mut self.bytes) {
            let columns = 2 * self.schema.len();
            self.spans.resize(self.spans.len().max(columns), 0);
            self.spans[..columns].fill(0);
            return Err(e);
        }
        if !Arc::ptr_eq(&self.schema, json.schema()) {
            self.schema = Arc::clone(json.schema());
        }
        self.spans.clear();
        self.spans.extend_from_slice(json.spans());
        Ok(())
    }
}

impl Default for Record {
    fn default() -> Record {
        Record::new()
    }
}
