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
    block: Vec<u8>,
}

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
            block: Vec::with_capacity(BLOCK_SIZE + 4096),
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
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
        self.json.write(line, &mut self.block)?;
        self.block.push(b'\n');
        if self.block.len() >= BLOCK_SIZE {
            self.out.write_all(&self.block)?;
            self.block.clear();
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.block.is_empty() {
            self.out.write_all(&self.block)?;
            self.block.clear();
        }
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
