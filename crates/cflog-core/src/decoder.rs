//! From bytes to records: framing, headers and splitting, without I/O.
//!
//! For maintainers: the sync [`Reader`](crate::Reader) and every async
//! adapter drive a [`Decoder`]. Header handling and line accounting live
//! here and nowhere else, so that all inputs count lines the same way.

use std::sync::Arc;

use memchr::memchr;

use crate::error::{ErrorKind, Position, Result};
use crate::framer::{Frame, LineFramer};
use crate::json_line::JsonFields;
use crate::line::LogLine;
use crate::record::Record;
use crate::schema::{Delimiter, Schema};
use crate::split_lines::SplitLines;

/// The default maximum line length: 64 KiB. CloudFront does not log
/// requests whose URL exceeds 8 KiB or whose headers exceed 20 KiB, so a
/// real line is far shorter.
pub const DEFAULT_MAX_LINE_LEN: usize = 64 * 1024;

/// What [`Decoder::decode`] or [`Decoder::finish`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The record holds a new line.
    Record,
    /// All input was used without completing a line: push more.
    NeedInput,
    /// The input is finished (from [`Decoder::finish`] only).
    End,
}

/// Counts of what a decoder has seen. Every line is exactly one of: a
/// record, a header (`#…`) line, a blank line, or a rejected line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes consumed.
    pub bytes: u64,
    /// Lines seen, of every kind.
    pub lines: u64,
    /// Lines returned as records.
    pub records: u64,
    /// `#Version`, `#Fields` and other `#` lines.
    pub header_lines: u64,
    /// Empty lines.
    pub blank_lines: u64,
    /// Lines returned as errors (see [`Error::reason`](crate::Error::reason)
    /// for why a line is rejected).
    pub rejected: u64,
}

/// The kind of lines a [`Decoder`] reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// Decided by the first line that is not blank: JSON when it starts
    /// with `{`, W3C otherwise (a `#` header or a data line).
    #[default]
    Auto,
    /// Delimited text, shaped by `#Fields` headers or the configured schema:
    /// legacy standard logs, v2 `w3c` and `plain` output, real-time records.
    W3c,
    /// v2 `json` output: one object per line, keyed by field name
    /// (see [`JsonLineParser`](crate::JsonLineParser)).
    Json,
}

impl InputFormat {
    /// The format of a stream whose first non-blank line is `line`.
    ///
    /// ```
    /// use cflog_core::InputFormat;
    /// assert_eq!(InputFormat::detect(br#"{"date":"2024-11-15"}"#), InputFormat::Json);
    /// assert_eq!(InputFormat::detect(b"#Version: 1.0"), InputFormat::W3c);
    /// ```
    pub fn detect(line: &[u8]) -> InputFormat {
        match line.trim_ascii_start().first() {
            Some(b'{') => InputFormat::Json,
            _ => InputFormat::W3c,
        }
    }
}

impl std::str::FromStr for InputFormat {
    type Err = UnknownInputFormat;

    /// `auto`, `w3c` or `json` (any case).
    ///
    /// ```
    /// use cflog_core::InputFormat;
    /// assert_eq!("JSON".parse(), Ok(InputFormat::Json));
    /// let err = "csv".parse::<InputFormat>().unwrap_err();
    /// assert_eq!(err.name, "csv");
    /// assert_eq!(err.to_string(), r#"unknown input format "csv": expected auto, w3c or json"#);
    /// ```
    fn from_str(name: &str) -> std::result::Result<InputFormat, UnknownInputFormat> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Ok(InputFormat::Auto),
            "w3c" => Ok(InputFormat::W3c),
            "json" => Ok(InputFormat::Json),
            _ => Err(UnknownInputFormat { name: name.into() }),
        }
    }
}

/// A name that is not an [`InputFormat`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown input format {name:?}: expected auto, w3c or json")]
pub struct UnknownInputFormat {
    /// The name as given.
    pub name: String,
}

/// Configures a [`Decoder`] or [`Reader`](crate::Reader).
#[derive(Clone, Debug)]
pub struct DecoderBuilder {
    max_line_len: usize,
    delimiter: Delimiter,
    /// The initial schema with the delimiter applied, shared by every
    /// decoder built, so that work cached per schema (such as a
    /// [`JsonWriter`](crate::json::JsonWriter)'s layout) carries over.
    schema: Arc<Schema>,
    format: InputFormat,
}

impl Default for DecoderBuilder {
    fn default() -> DecoderBuilder {
        DecoderBuilder {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            delimiter: Delimiter::tab(),
            schema: Arc::new(Schema::standard()),
            format: InputFormat::Auto,
        }
    }
}

impl DecoderBuilder {
    /// The default configuration.
    pub fn new() -> DecoderBuilder {
        DecoderBuilder::default()
    }

    /// Lines longer than this are reported as
    /// [`ErrorKind::LineTooLong`] and skipped without being buffered, which
    /// bounds memory on hostile or corrupt input. Default: 64 KiB.
    pub fn max_line_len(&mut self, max: usize) -> &mut DecoderBuilder {
        self.max_line_len = max.clamp(1, u32::MAX as usize);
        self
    }

    /// The delimiter of the data lines, for v2 deliveries configured with a
    /// `fieldDelimiter` other than TAB. It applies to the initial schema and
    /// to every `#Fields` header.
    pub fn delimiter(&mut self, delimiter: Delimiter) -> &mut DecoderBuilder {
        self.schema = Arc::new((*self.schema).clone().with_delimiter(delimiter.clone()));
        self.delimiter = delimiter;
        self
    }

    /// The schema of the lines before the first `#Fields` header, for input
    /// whose header was stripped. Default: [`Schema::standard`].
    pub fn schema(&mut self, schema: Schema) -> &mut DecoderBuilder {
        self.schema = Arc::new(schema.with_delimiter(self.delimiter.clone()));
        self
    }

    /// The input format. Default: [`InputFormat::Auto`], which tells JSON
    /// from W3C by the first line; set it where that cannot tell, such as a
    /// headerless file whose first line starts with `{`.
    pub fn format(&mut self, format: InputFormat) -> &mut DecoderBuilder {
        self.format = format;
        self
    }

    /// Builds the decoder.
    pub fn build(&self) -> Decoder {
        Decoder {
            framer: LineFramer::new(self.max_line_len),
            lines: Lines {
                schema: Arc::clone(&self.schema),
                delimiter: self.delimiter.clone(),
                format: self.format,
                json: JsonFields::new(Arc::clone(&self.schema)),
                stats: Stats::default(),
            },
        }
    }
}

/// Turns chunks of a log into [`Record`]s: frames lines, follows `#Fields`
/// headers, skips other `#` and blank lines, and splits the rest, as
/// delimited text or as JSON objects ([`InputFormat`]).
///
/// It does no I/O, so the same code serves sync and async inputs. Push each
/// chunk with [`decode`](Decoder::decode) until it asks for more input, then
/// call [`finish`](Decoder::finish) at the end. An error concerns one line
/// only; call again to go on with the next.
///
/// ```
/// use cflog_core::{Decoded, Decoder, Field, Record};
///
/// let chunks = [&b"#Version: 1.0\n#Fields: date sc-status\n2019-12-04\t2"[..], b"00\n"];
/// let mut decoder = Decoder::new();
/// let mut record = Record::new();
/// let mut statuses = Vec::new();
/// for chunk in chunks {
///     let mut input = chunk;
///     loop {
///         let (result, used) = decoder.decode(input, &mut record);
///         input = &input[used..];
///         match result? {
///             Decoded::Record => statuses.push(record.line().status()?),
///             Decoded::NeedInput | Decoded::End => break,
///         }
///     }
/// }
/// assert_eq!(decoder.finish(&mut record)?, Decoded::End);
/// assert_eq!(statuses, [Some(200)]);
/// assert_eq!(decoder.stats().header_lines, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    framer: LineFramer,
    lines: Lines,
}

/// What turns a framed line into a record, apart from the framer so that
/// both can be borrowed at once.
#[derive(Debug)]
struct Lines {
    schema: Arc<Schema>,
    delimiter: Delimiter,
    /// `Auto` until the first non-blank line.
    format: InputFormat,
    json: JsonFields,
    stats: Stats,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with the default configuration.
    pub fn new() -> Decoder {
        DecoderBuilder::new().build()
    }

    /// Configures a decoder.
    pub fn builder() -> DecoderBuilder {
        DecoderBuilder::new()
    }

    /// The schema in force: the initial one, the last `#Fields` header's,
    /// or the last JSON line's.
    pub fn schema(&self) -> &Arc<Schema> {
        match self.lines.format {
            InputFormat::Json => self.lines.json.schema(),
            _ => &self.lines.schema,
        }
    }

    /// The input format: as configured, or as detected once a line was
    /// read ([`InputFormat::Auto`] before that).
    pub fn format(&self) -> InputFormat {
        self.lines.format
    }

    /// Splits the lines after this call by `schema`, as a `#Fields` header
    /// would, but without a line of its own: for inputs whose schema is not
    /// in the text, such as the columns of a Parquet file turned into
    /// lines, so that line numbers stay row numbers. The lines are read as
    /// delimited text from then on. Call it between whole lines.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use cflog_core::{Decoded, Decoder, Record, Schema};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.set_schema(Arc::new(Schema::from_names(["sc-status", "cs-uri-stem"])?));
    /// let mut record = Record::new();
    /// let (result, _) = decoder.decode(b"304\t/a.css\n", &mut record);
    /// assert_eq!(result?, Decoded::Record);
    /// assert_eq!(record.line().status()?, Some(304));
    /// assert_eq!((decoder.stats().lines, decoder.stats().header_lines), (1, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_schema(&mut self, schema: Arc<Schema>) {
        self.lines.schema = schema;
        self.lines.format = InputFormat::W3c;
    }

    /// Reads line `i` of `lines`, which their writer split (see
    /// [`SplitLines`]) by `schema`: it is numbered, checked and counted as
    /// a framed line of text is, but not framed or split again. Call it
    /// between whole lines of any other input.
    ///
    /// # Errors
    ///
    /// For the line only, as [`decode`](Decoder::decode) gives them: it is
    /// longer than the maximum, it has another number of values than
    /// `schema` has columns, or it has no value at all.
    ///
    /// # Panics
    ///
    /// When `lines` has no line `i`.
    pub fn split_line<'a>(
        &mut self,
        lines: &'a SplitLines,
        i: usize,
        schema: &'a Schema,
    ) -> Result<(LogLine<'a>, Position)> {
        let (bytes, len, spans) = lines.line(i);
        let pos = self.framer.count_line(len);
        let stats = &mut self.lines.stats;
        stats.lines += 1;
        let checked = if len > self.framer.max_line_len() {
            Err(ErrorKind::LineTooLong {
                pos,
                limit: self.framer.max_line_len(),
            })
        } else if spans.len() != 2 * schema.len() {
            Err(ErrorKind::FieldCount {
                pos,
                expected: schema.len(),
                found: spans.len() / 2,
            })
        } else {
            let line = LogLine::from_parts(bytes, len, spans, schema);
            match has_a_value(&line) {
                true => Ok(line),
                false => Err(ErrorKind::NoValues { pos }),
            }
        };
        match checked {
            Ok(line) => {
                stats.records += 1;
                Ok((line, pos))
            }
            Err(e) => {
                stats.rejected += 1;
                Err(e.into())
            }
        }
    }

    /// What the decoder has seen so far.
    pub fn stats(&self) -> Stats {
        Stats {
            bytes: self.framer.bytes_consumed(),
            ..self.lines.stats
        }
    }

    /// Pushes `input`, returning the outcome and the number of bytes used.
    /// On [`Decoded::Record`] or an error, call again with the unused rest.
    pub fn decode(&mut self, input: &[u8], record: &mut Record) -> (Result<Decoded>, usize) {
        let mut used = 0;
        let max_line_len = self.framer.max_line_len();
        loop {
            let (frame, n) = self.framer.next_frame(&input[used..]);
            used += n;
            let outcome = match frame {
                Frame::NeedInput => return (Ok(Decoded::NeedInput), used),
                frame => self.lines.handle(frame, max_line_len, record),
            };
            match outcome {
                Some(result) => return (result, used),
                None => continue,
            }
        }
    }

    /// Ends the input: decodes a last line that had no line break, or
    /// returns [`Decoded::End`].
    pub fn finish(&mut self, record: &mut Record) -> Result<Decoded> {
        let max = self.framer.max_line_len();
        let frame = self.framer.finish();
        if frame == Frame::NeedInput {
            return Ok(Decoded::End);
        }
        let outcome = self.lines.handle(frame, max, record);
        outcome.unwrap_or(Ok(Decoded::End))
    }

    /// Ends an input whose reading failed part-way (a truncated gzip, a
    /// dropped connection): a line cut short by the failure is not decoded,
    /// but counted as rejected and returned as [`ErrorKind::Truncated`], so
    /// that the account of lines stays whole. `None` when the input failed
    /// between two lines.
    ///
    /// ```
    /// use cflog_core::{Decoded, Decoder, ErrorKind, Record};
    ///
    /// let mut decoder = Decoder::new();
    /// let mut record = Record::new();
    /// let input = b"#Fields: date sc-status\n2019-12-04\t200\n2019-12-04\t2";
    /// let (result, used) = decoder.decode(input, &mut record);
    /// assert_eq!(result?, Decoded::Record);
    /// let (result, _) = decoder.decode(&input[used..], &mut record);
    /// assert_eq!(result?, Decoded::NeedInput);
    /// // Reading the rest failed:
    /// let cut = decoder.abandon().unwrap();
    /// assert!(matches!(cut.kind(), ErrorKind::Truncated { .. }));
    /// assert_eq!(cut.position().unwrap().line(), 3);
    /// assert_eq!(decoder.stats().rejected, 1);
    /// # Ok::<(), cflog_core::Error>(())
    /// ```
    pub fn abandon(&mut self) -> Option<crate::Error> {
        let pos = self.framer.abandon()?;
        self.lines.stats.lines += 1;
        self.lines.stats.rejected += 1;
        Some(ErrorKind::Truncated { pos }.into())
    }
}

impl Lines {
    /// Handles one frame; `None` for lines that produce nothing (headers,
    /// blanks).
    fn handle(
        &mut self,
        frame: Frame<'_>,
        max_line_len: usize,
        record: &mut Record,
    ) -> Option<Result<Decoded>> {
        let stats = &mut self.stats;
        stats.lines += 1;
        let (bytes, pos) = match frame {
            Frame::Line { bytes, pos } => (bytes, pos),
            Frame::TooLong { pos } => {
                stats.rejected += 1;
                return Some(Err(ErrorKind::LineTooLong {
                    pos,
                    limit: max_line_len,
                }
                .into()));
            }
            Frame::NeedInput => unreachable!("the caller handles NeedInput"),
        };
        if bytes.is_empty() {
            stats.blank_lines += 1;
            return None;
        }
        if self.format == InputFormat::Auto {
            self.format = InputFormat::detect(bytes);
        }
        if bytes[0] == b'#' {
            // A header line with a CR inside is a file whose lines end in CR
            // alone: all of it would be read as this one header line.
            if memchr(b'\r', bytes).is_some() {
                stats.rejected += 1;
                return Some(Err(ErrorKind::BareCarriageReturn { pos }.into()));
            }
            if bytes.starts_with(b"#Fields:") {
                match Schema::from_fields_header(bytes) {
                    Ok(new) => self.schema = Arc::new(new.with_delimiter(self.delimiter.clone())),
                    Err(error) => {
                        stats.rejected += 1;
                        return Some(Err(ErrorKind::Header { pos, error }.into()));
                    }
                }
            }
            stats.header_lines += 1;
            return None;
        }
        let filled = match self.format {
            InputFormat::Json => record
                .fill_json(bytes, pos, &mut self.json)
                .map_err(|error| ErrorKind::Json { pos, error }),
            _ => record
                .fill(bytes, pos, &self.schema)
                .map_err(|e| ErrorKind::FieldCount {
                    pos,
                    expected: e.expected,
                    found: e.found,
                }),
        };
        let filled = match filled {
            // Rare, so the check for a CR that explains the error costs the
            // lines that parse nothing.
            Err(_) if memchr(b'\r', bytes).is_some() => Err(ErrorKind::BareCarriageReturn { pos }),
            Ok(()) if !has_a_value(&record.line()) => Err(ErrorKind::NoValues { pos }),
            filled => filled,
        };
        Some(match filled {
            Ok(()) => {
                stats.records += 1;
                Ok(Decoded::Record)
            }
            Err(e) => {
                stats.rejected += 1;
                Err(e.into())
            }
        })
    }
}

/// Whether any field of `line` has a value. A line's first field nearly
/// always has one, which ends the search.
#[inline]
fn has_a_value(line: &LogLine<'_>) -> bool {
    (0..line.len()).any(|i| !matches!(line.column(i), None | Some(b"" | b"-")))
}
