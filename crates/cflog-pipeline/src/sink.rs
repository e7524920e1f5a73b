//! Where entries go.
//!
//! A [`Sink`] takes parsed entries one at a time. cflog ships an NDJSON sink
//! (for stdout, which the Lambda runtime sends to CloudWatch Logs, or any
//! writer) and a [`NullSink`] that only counts. Implement [`Sink`] in your
//! own crate to send entries elsewhere.

use std::io::{self, Write};

use cflog_core::json::{JsonWriter, Selection};
use cflog_core::{FieldError, LogLine};

/// Output is written in blocks of about this size, each ending at a line
/// break, rather than with a system call per line.
pub const BLOCK_SIZE: usize = 64 * 1024;

/// Receives the entries of an input.
///
/// `entry` is called on the hot path, once per entry, with a line that
/// borrows the reader's buffer: copy what you keep. `flush` is called at the
/// end of every input, before its summary is reported.
pub trait Sink {
    /// Takes one entry.
    ///
    /// # Errors
    ///
    /// [`SinkError::Rejected`] when the entry cannot be written (a value not
    /// of its field's kind): the line is counted as rejected and the input
    /// goes on. [`SinkError::Io`] stops the input.
    fn entry(&mut self, line: &LogLine<'_>) -> Result<(), SinkError>;

    /// Writes out whatever is buffered.
    ///
    /// # Errors
    ///
    /// When the output fails.
    fn flush(&mut self) -> io::Result<()>;

    /// Told of each rejected line, after it is counted in the summary. The
    /// default does nothing.
    ///
    /// A strict mode stops at the first bad line:
    ///
    /// ```
    /// use cflog_core::LogLine;
    /// use cflog_pipeline::sink::{Sink, SinkError};
    /// use cflog_pipeline::{Options, Pipeline};
    ///
    /// struct Strict(u64);
    /// impl Sink for Strict {
    ///     fn entry(&mut self, _: &LogLine<'_>) -> Result<(), SinkError> {
    ///         self.0 += 1;
    ///         Ok(())
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> {
    ///         Ok(())
    ///     }
    ///     fn rejected(&mut self, error: &cflog_core::Error) -> std::io::Result<()> {
    ///         Err(std::io::Error::other(error.to_string()))
    ///     }
    /// }
    ///
    /// let mut pipeline = Pipeline::new(&Options::default(), Strict(0));
    /// let err = pipeline.push(b"#Fields: date sc-status\n2019-12-04\t200\nbad\n2019-12-04\t404\n").unwrap_err();
    /// assert!(err.to_string().contains("line 3"), "{err}");
    /// assert_eq!(pipeline.into_sink().0, 1); // the line after it was not read
    /// ```
    ///
    /// # Errors
    ///
    /// An error stops the input at this line, as a strict mode wants; it is
    /// returned like an output error.
    fn rejected(&mut self, error: &cflog_core::Error) -> io::Result<()> {
        let _ = error;
        Ok(())
    }
}

/// Why a sink did not take an entry.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The entry has a value that is not of its field's kind; the line is
    /// rejected and the input goes on.
    #[error(transparent)]
    Rejected(#[from] FieldError),
    /// The output failed; the input stops.
    #[error("writing entries failed: {0}")]
    Io(#[from] io::Error),
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn entry(&mut self, line: &LogLine<'_>) -> Result<(), SinkError> {
        (**self).entry(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
    fn rejected(&mut self, error: &cflog_core::Error) -> io::Result<()> {
        (**self).rejected(error)
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn entry(&mut self, line: &LogLine<'_>) -> Result<(), SinkError> {
        (**self).entry(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
    fn rejected(&mut self, error: &cflog_core::Error) -> io::Result<()> {
        (**self).rejected(error)
    }
}

/// Writes each entry as one line of JSON (the cflog-core JSON contract).
///
/// Entries are gathered into blocks of [`BLOCK_SIZE`] that end at a line
/// break, and each block is written with one `write_all`. With
/// [`NdjsonSink::stdout`], several sinks on several threads can share
/// stdout: a block is written under the stdout lock, so lines never
/// interleave.
#[derive(Debug)]
pub struct NdjsonSink<W: Write> {
    out: W,
    json: JsonWriter,
    /// Lines are written straight into this block, which is never shrunk,
    /// so that no line is copied on its way out: `block[..filled]` are
    /// whole lines, the rest is room for the next ones.
    block: Vec<u8>,
    filled: usize,
    /// A line too long for the room in a block.
    long_line: Vec<u8>,
}

/// Room left after a full block, so that a line that starts a little
/// before the end of a block still fits.
const LINE_ROOM: usize = 64 * 1024;

impl<W: Write> NdjsonSink<W> {
    /// A sink writing every field to `out`.
    pub fn new(out: W) -> NdjsonSink<W> {
        NdjsonSink::with_selection(out, Selection::all())
    }

    /// A sink writing the selected JSON keys to `out`.
    pub fn with_selection(out: W, selection: Selection) -> NdjsonSink<W> {
        NdjsonSink {
            out,
            json: JsonWriter::new(selection),
            block: vec![0; BLOCK_SIZE + LINE_ROOM],
            filled: 0,
            long_line: Vec::new(),
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_block(&mut self) -> io::Result<()> {
        if self.filled > 0 {
            self.out.write_all(&self.block[..self.filled])?;
            self.filled = 0;
        }
        Ok(())
    }
}

impl NdjsonSink<Stdout> {
    /// A sink writing to stdout, which on Lambda is CloudWatch Logs.
    pub fn stdout(selection: Selection) -> NdjsonSink<Stdout> {
        NdjsonSink::with_selection(Stdout, selection)
    }
}

impl<W: Write> Sink for NdjsonSink<W> {
    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<(), SinkError> {
        // One byte is kept for the line break.
        let room = &mut self.block[self.filled..BLOCK_SIZE + LINE_ROOM - 1];
        match self.json.write_to_slice(line, room)? {
            Some(len) => {
                self.block[self.filled + len] = b'\n';
                self.filled += len + 1;
            }
            None => {
                // Longer than the room left (more than LINE_ROOM bytes of
                // JSON): after the lines before it, through a buffer that
                // grows.
                self.write_block()?;
                self.long_line.clear();
                self.json.write(line, &mut self.long_line)?;
                self.long_line.push(b'\n');
                self.out.write_all(&self.long_line)?;
            }
        }
        if self.filled >= BLOCK_SIZE {
            self.write_block()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_block()?;
        self.out.flush()
    }
}

/// Standard output, written one whole buffer at a time under its lock.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

/// Parses and counts, writing nothing: a dry run, and the parse-only
/// figure of the benchmarks. Lines are split and counted; values are not
/// checked, which only an output that writes them does.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

impl NullSink {
    /// A sink that drops every entry.
    pub fn new() -> NullSink {
        NullSink
    }
}

impl Sink for NullSink {
    fn entry(&mut self, _line: &LogLine<'_>) -> Result<(), SinkError> {
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cflog_core::Schema;

    /// Records each write, to check where blocks end.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for &mut Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Sends `lines` through an `NdjsonSink`; the writes it made, and what
    /// `JsonWriter::write` makes of each line, with line breaks.
    fn sink_and_writer(lines: &[String]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let schema = Schema::from_fields_header(b"#Fields: sc-status cs-uri-stem").unwrap();
        let mut writes = Writes::default();
        let mut sink = NdjsonSink::new(&mut writes);
        let mut json = JsonWriter::new(Selection::all());
        let mut expected = Vec::new();
        let mut ends = Vec::new();
        for text in lines {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut ends).unwrap();
            sink.entry(&line).unwrap();
            json.write(&line, &mut expected).unwrap();
            expected.push(b'\n');
        }
        sink.flush().unwrap();
        drop(sink);
        (writes.0, expected)
    }

    #[test]
    fn blocks_are_whole_lines_in_order() {
        let lines: Vec<String> = (0..5000).map(|i| format!("200\t/path/{i}")).collect();
        let (writes, expected) = sink_and_writer(&lines);
        assert!(writes.len() > 1, "{} bytes in one write", expected.len());
        for write in &writes {
            assert_eq!(write.last(), Some(&b'\n'));
            assert!(write.len() < BLOCK_SIZE + 100);
        }
        assert_eq!(writes.concat(), expected);
    }

    #[test]
    fn a_line_longer_than_the_room_in_a_block_keeps_its_place() {
        // Each `%01` becomes `\u0001`: twice as long in JSON, and more than
        // the room after a full block.
        let long = format!("200\t/{}", "%01".repeat(LINE_ROOM / 2));
        let lines = ["200\t/before".to_string(), long, "200\t/after".to_string()];
        let (writes, expected) = sink_and_writer(&lines);
        assert!(expected.len() > LINE_ROOM);
        assert_eq!(
            writes.len(),
            3,
            "the line before, the long line, the line after"
        );
        assert_eq!(writes.concat(), expected);
    }
}
