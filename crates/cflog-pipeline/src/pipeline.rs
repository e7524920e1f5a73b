//! Parsing one input into a sink, with its account.

use std::time::Instant;

use cflog_core::{Decoded, Decoder, DecoderBuilder, Error, Record};

use crate::sink::{Sink, SinkError};
use crate::summary::{MAX_LISTED_ERRORS, RejectedLine, Summary};

/// How inputs are parsed.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The parser's configuration: maximum line length, delimiter and the
    /// schema of lines before any `#Fields` header.
    pub decoder: DecoderBuilder,
}

/// The sink failed; the input cannot go on.
#[derive(Debug, thiserror::Error)]
#[error("writing entries failed: {0}")]
pub struct PipelineError(#[from] pub std::io::Error);

/// Parses one input pushed in chunks and hands every entry to a sink,
/// keeping the input's [`Summary`].
///
/// It does no I/O of its own, so the same pipeline serves the async S3
/// stream and sync files: push each chunk as it arrives, then call
/// [`finish`](Pipeline::finish).
#[derive(Debug)]
pub struct Pipeline<S> {
    builder: DecoderBuilder,
    decoder: Decoder,
    record: Record,
    sink: S,
    summary: Summary,
    started: Instant,
}

impl<S: Sink> Pipeline<S> {
    /// A pipeline into `sink`.
    pub fn new(options: &Options, sink: S) -> Pipeline<S> {
        Pipeline {
            builder: options.decoder.clone(),
            decoder: options.decoder.build(),
            record: Record::new(),
            sink,
            summary: Summary::default(),
            started: Instant::now(),
        }
    }

    /// Parses all of `chunk`.
    ///
    /// # Errors
    ///
    /// Only when the sink's output fails. Bad lines are counted, not errors.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), PipelineError> {
        let mut input = chunk;
        loop {
            let (result, used) = self.decoder.decode(input, &mut self.record);
            input = &input[used..];
            match result {
                Ok(Decoded::Record) => self.entry()?,
                Ok(Decoded::NeedInput | Decoded::End) => return Ok(()),
                Err(e) => self.reject(&e)?,
            }
        }
    }

    /// Ends the input: parses a last line without a line break, flushes the
    /// sink and returns the summary.
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub fn finish(&mut self) -> Result<Summary, PipelineError> {
        self.end_of_input()?;
        self.sink.flush()?;
        let summary = self.summary();
        debug_assert!(summary.reconciles(), "{summary:?}");
        Ok(summary)
    }

    /// Ends the current input without flushing the sink, returns its
    /// summary, and starts the next input: for many small inputs into one
    /// output, such as the records of a Kinesis batch. Call
    /// [`finish`](Pipeline::finish) after the last one.
    ///
    /// ```
    /// use cflog_pipeline::{Options, Pipeline, sink::NullSink};
    ///
    /// let mut pipeline = Pipeline::new(&Options::default(), NullSink::new());
    /// pipeline.push(b"#Fields: sc-status\n200\n")?;
    /// assert_eq!(pipeline.next_input()?.entries, 1);
    /// pipeline.push(b"#Fields: sc-status\n304\nbad\tline")?;
    /// let second = pipeline.next_input()?;
    /// assert_eq!((second.entries, second.rejected), (1, 1));
    /// # Ok::<(), cflog_pipeline::PipelineError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub fn next_input(&mut self) -> Result<Summary, PipelineError> {
        self.end_of_input()?;
        let summary = self.summary();
        debug_assert!(summary.reconciles(), "{summary:?}");
        self.decoder = self.builder.build();
        self.summary = Summary::default();
        self.started = Instant::now();
        Ok(summary)
    }

    /// Ends an input whose reading failed part-way: a line cut short by the
    /// failure is counted as rejected (`truncated`), and the sink is flushed,
    /// so that every entry read before the failure is delivered and the
    /// summary counts exactly those.
    ///
    /// ```
    /// use cflog_pipeline::{Options, Pipeline, sink::NdjsonSink};
    ///
    /// let mut out = Vec::new();
    /// let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
    /// pipeline.push(b"#Fields: sc-status\n200\n30")?; // then the input failed
    /// let summary = pipeline.abandon()?;
    /// assert_eq!((summary.entries, summary.rejected, summary.lines), (1, 1, 3));
    /// assert_eq!(summary.errors[0].reason, "truncated");
    /// drop(pipeline);
    /// assert_eq!(out, b"{\"sc_status\":200}\n");
    /// # Ok::<(), cflog_pipeline::PipelineError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub fn abandon(&mut self) -> Result<Summary, PipelineError> {
        if let Some(cut) = self.decoder.abandon() {
            self.reject(&cut)?;
        }
        self.sink.flush()?;
        let summary = self.summary();
        debug_assert!(summary.reconciles(), "{summary:?}");
        Ok(summary)
    }

    fn end_of_input(&mut self) -> Result<(), PipelineError> {
        loop {
            match self.decoder.finish(&mut self.record) {
                Ok(Decoded::Record) => self.entry()?,
                Ok(Decoded::NeedInput | Decoded::End) => return Ok(()),
                Err(e) => self.reject(&e)?,
            }
        }
    }

    /// The summary so far. Before [`finish`](Pipeline::finish), a last line
    /// without a line break is not counted yet.
    pub fn summary(&self) -> Summary {
        let stats = self.decoder.stats();
        Summary {
            bytes: stats.bytes,
            lines: stats.lines,
            header_lines: stats.header_lines,
            blank_lines: stats.blank_lines,
            duration_ms: self.started.elapsed().as_millis() as u64,
            ..self.summary.clone()
        }
    }

    /// Records what the input layer knows: whether the input was gzip and
    /// how many bytes it read before decompression.
    pub fn set_input(&mut self, gzip: bool, compressed_bytes: u64) {
        self.summary.gzip = gzip;
        self.summary.compressed_bytes = compressed_bytes;
    }

    /// The sink.
    pub fn into_sink(self) -> S {
        self.sink
    }

    #[inline]
    fn entry(&mut self) -> Result<(), PipelineError> {
        match self.sink.entry(&self.record.line()) {
            Ok(()) => {
                self.summary.entries += 1;
                Ok(())
            }
            Err(SinkError::Rejected(e)) => {
                let err = self.record.field_error(e);
                self.reject(&err)
            }
            Err(SinkError::Io(e)) => Err(PipelineError(e)),
        }
    }

    #[cold]
    fn reject(&mut self, err: &Error) -> Result<(), PipelineError> {
        let summary = &mut self.summary;
        summary.rejected += 1;
        *summary.rejected_by_reason.entry(err.reason()).or_default() += 1;
        if summary.errors.len() < MAX_LISTED_ERRORS {
            let pos = err.position().unwrap_or_default();
            summary.errors.push(RejectedLine {
                line: pos.line(),
                byte: pos.byte(),
                reason: err.reason(),
                message: err.to_string(),
            });
        }
        self.sink.rejected(err).map_err(PipelineError)
    }
}
