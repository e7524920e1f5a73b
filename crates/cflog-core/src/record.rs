//! An owned, reusable line record.

use std::sync::Arc;

use crate::error::{Error, FieldError, Position};
use crate::line::{FieldCountError, LogLine};
use crate::raw::split_expected;
use crate::schema::Schema;

/// One line read by a [`Reader`](crate::Reader) or
/// [`Decoder`](crate::Decoder): its bytes, field ends, schema and position.
///
/// Reuse one record for every line: after the first few lines, reading
/// allocates nothing. [`line`](Record::line) gives the borrowed view with the
/// typed accessors.
#[derive(Clone, Debug)]
pub struct Record {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    schema: Arc<Schema>,
    pos: Position,
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record {
            bytes: Vec::with_capacity(1024),
            ends: Vec::with_capacity(64),
            schema: Arc::new(Schema::standard()),
            pos: Position::default(),
        }
    }

    /// The parsed line.
    #[inline]
    pub fn line(&self) -> LogLine<'_> {
        LogLine::from_parts(&self.bytes, &self.ends[..self.schema.len()], &self.schema)
    }

    /// Where the line starts in the input.
    pub fn position(&self) -> Position {
        self.pos
    }

    /// The line's bytes (also available when it failed to split).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
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
        self.pos = pos;
        if !Arc::ptr_eq(&self.schema, schema) {
            self.schema = Arc::clone(schema);
        }
        let expected = schema.len();
        split_expected(&self.bytes, schema.delimiter(), &mut self.ends, expected).map_err(|found| {
            // Keep `line()` safe to call: it must see as many ends as columns.
            self.ends[..expected].fill(0);
            FieldCountError { expected, found }
        })
    }
}

impl Default for Record {
    fn default() -> Record {
        Record::new()
    }
}
