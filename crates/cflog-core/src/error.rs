//! Errors, with the position of the line they come from.

use std::{fmt, io};

use crate::json_line::JsonLineError;
use crate::kind::FieldError;
use crate::schema::SchemaError;

/// Where a line starts in its input.
///
/// `line` counts from 1 and includes header and blank lines, so it matches
/// what an editor shows for the decompressed file. `byte` is the offset of
/// the line's first byte, counting from 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    line: u64,
    byte: u64,
}

impl Position {
    /// A position at `line` (from 1) and `byte` (from 0).
    pub const fn new(line: u64, byte: u64) -> Position {
        Position { line, byte }
    }

    /// The line number, counting from 1.
    pub const fn line(&self) -> u64 {
        self.line
    }

    /// The byte offset of the start of the line, counting from 0.
    pub const fn byte(&self) -> u64 {
        self.byte
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} (byte {})", self.line, self.byte)
    }
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error while reading a log: the line it happened on, and why.
///
/// It is one pointer wide, so `Result<T, Error>` stays small on the hot path.
/// Every error but [`ErrorKind::Io`] concerns one line only: the reader that
/// returned it carries on with the next line.
///
/// ```
/// use cflog_core::{ErrorKind, Reader};
///
/// let log = "#Fields: date time sc-status\n2019-12-04\t21:02:31\n";
/// let mut reader = Reader::from_reader(log.as_bytes());
/// let mut record = cflog_core::Record::new();
/// let err = reader.read_record(&mut record).unwrap_err();
/// assert_eq!(err.to_string(), "line 2 (byte 29): expected 3 fields, found 2");
/// assert!(matches!(err.kind(), ErrorKind::FieldCount { expected: 3, found: 2, .. }));
/// assert_eq!(err.position().unwrap().line(), 2);
/// ```
pub struct Error(Box<ErrorKind>);

/// The kinds of [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading the input failed. The reader cannot go on.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A line was longer than the configured limit. It was skipped without
    /// being buffered.
    #[error("{pos}: line is longer than the limit of {limit} bytes")]
    LineTooLong {
        /// Where the line starts.
        pos: Position,
        /// The limit it broke.
        limit: usize,
    },
    /// A line did not have as many fields as the schema.
    #[error("{pos}: expected {expected} fields, found {found}")]
    FieldCount {
        /// Where the line starts.
        pos: Position,
        /// The number of columns in the schema.
        expected: usize,
        /// The number of fields in the line.
        found: usize,
    },
    /// A field's value could not be read as its kind.
    #[error("{pos}: {error}: {value:?}")]
    Field {
        /// Where the line starts.
        pos: Position,
        /// Which field, and what was wrong.
        error: FieldError,
        /// The raw value, cut to 64 bytes.
        value: String,
    },
    /// A line of a JSON log was not an object of CloudFront field values.
    #[error("{pos}: not a JSON log entry: {error}")]
    Json {
        /// Where the line starts.
        pos: Position,
        /// What is wrong with it.
        error: JsonLineError,
    },
    /// A `#Fields` header could not be used. The previous schema stays.
    #[error("{pos}: bad #Fields header: {error}")]
    Header {
        /// Where the header line starts.
        pos: Position,
        /// What is wrong with it.
        error: SchemaError,
    },
    /// No field of the line has a value: every cell is empty or `-`, as in
    /// a line of delimiters only. CloudFront never writes one.
    #[error("{pos}: no field has a value (every cell is empty or \"-\")")]
    NoValues {
        /// Where the line starts.
        pos: Position,
    },
    /// The line holds a carriage return that does not end it: the input's
    /// lines end in CR alone, which CloudFront never writes. Its lines would
    /// run together, so they are not read.
    #[error(
        "{pos}: a carriage return (CR) without a line feed: lines that end in CR alone are not \
         supported (CloudFront ends lines in LF); convert them, e.g. with tr '\\r' '\\n'"
    )]
    BareCarriageReturn {
        /// Where the line starts.
        pos: Position,
    },
    /// The line parsed, but its entry is larger than the destination takes
    /// in one record (such as an SQS message), even alone. It was not sent,
    /// and is not cut.
    #[error(
        "{pos}: the entry is {bytes} bytes, over the destination's limit of {limit} bytes a record"
    )]
    EntryTooLarge {
        /// Where the line starts.
        pos: Position,
        /// The entry's encoded size, with what the destination counts beside it (a partition key).
        bytes: usize,
        /// The destination's limit.
        limit: usize,
    },
    /// The input ended inside this line because reading it failed (such as
    /// a truncated gzip stream): the part read is not used.
    #[error("{pos}: the input failed inside this line, which is cut short")]
    Truncated {
        /// Where the line starts.
        pos: Position,
    },
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Unwraps the kind.
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    /// The position of the line the error concerns, if any.
    pub fn position(&self) -> Option<Position> {
        match *self.0 {
            ErrorKind::Io(_) => None,
            ErrorKind::LineTooLong { pos, .. }
            | ErrorKind::FieldCount { pos, .. }
            | ErrorKind::Field { pos, .. }
            | ErrorKind::Json { pos, .. }
            | ErrorKind::Header { pos, .. }
            | ErrorKind::NoValues { pos }
            | ErrorKind::BareCarriageReturn { pos }
            | ErrorKind::EntryTooLarge { pos, .. }
            | ErrorKind::Truncated { pos } => Some(pos),
        }
    }

    /// Whether this is an I/O error, after which reading cannot go on.
    pub fn is_io_error(&self) -> bool {
        matches!(*self.0, ErrorKind::Io(_))
    }

    /// A short, stable name for the kind of error, for counting rejected
    /// lines by reason: `io`, `line_too_long`, `field_count`, `field_value`,
    /// `json`, `header`, `no_values`, `bare_cr`, `entry_too_large` or
    /// `truncated`.
    pub fn reason(&self) -> &'static str {
        match *self.0 {
            ErrorKind::Io(_) => "io",
            ErrorKind::LineTooLong { .. } => "line_too_long",
            ErrorKind::FieldCount { .. } => "field_count",
            ErrorKind::Field { .. } => "field_value",
            ErrorKind::Json { .. } => "json",
            ErrorKind::Header { .. } => "header",
            ErrorKind::NoValues { .. } => "no_values",
            ErrorKind::BareCarriageReturn { .. } => "bare_cr",
            ErrorKind::EntryTooLarge { .. } => "entry_too_large",
            ErrorKind::Truncated { .. } => "truncated",
        }
    }

    /// An error for a field of the line at `pos` whose raw value is `raw`.
    pub fn field(pos: Position, error: FieldError, raw: &[u8]) -> Error {
        let cut = &raw[..raw.len().min(64)];
        let value = String::from_utf8_lossy(cut).into_owned();
        ErrorKind::Field { pos, error, value }.into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        ErrorKind::Io(err).into()
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        match *err.0 {
            ErrorKind::Io(err) => err,
            kind => io::Error::new(io::ErrorKind::InvalidData, Error::from(kind)),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            ErrorKind::Io(err) => Some(err),
            ErrorKind::Field { error, .. } => Some(error),
            ErrorKind::Json { error, .. } => Some(error),
            ErrorKind::Header { error, .. } => Some(error),
            _ => None,
        }
    }
}
