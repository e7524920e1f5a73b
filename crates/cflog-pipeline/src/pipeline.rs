//! Parsing one input into a sink, with its account.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use cflog_core::{
    Decoded, Decoder, DecoderBuilder, Error, ErrorKind, LogLine, Position, Record, Schema,
    SplitLines,
};

use crate::sink::{Delivery, EntryError, Sink, Verdict};
use crate::summary::{MAX_LISTED_ERRORS, RejectedLine, Summary};

/// How inputs are parsed.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The parser's configuration: maximum line length, delimiter and the
    /// schema of lines before any `#Fields` header.
    pub decoder: DecoderBuilder,
    /// What a rejected line's message becomes before the [`Summary`] keeps
    /// it (the messages quote the line's values).
    pub redact: Redact,
}

/// Rewrites the message of a rejected line before a [`Summary`] keeps it:
/// with IP privacy on, the addresses it quotes, which no output may hold.
/// The default keeps messages as they are.
///
/// ```
/// use cflog_pipeline::Redact;
/// let redact = Redact::new(|text: &str| text.contains("secret").then(|| text.replace("secret", "…")));
/// assert_eq!(redact.apply("a secret".into()), "a …");
/// assert_eq!(Redact::default().apply("a secret".into()), "a secret");
/// ```
#[derive(Clone, Default)]
pub struct Redact(Option<Arc<RedactFn>>);

type RedactFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Redact {
    /// Messages rewritten by `redact`, which returns `None` for a message
    /// it keeps.
    pub fn new(redact: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Redact {
        Redact(Some(Arc::new(redact)))
    }

    /// `message`, rewritten.
    pub fn apply(&self, message: String) -> String {
        match &self.0 {
            Some(redact) => redact(&message).unwrap_or(message),
            None => message,
        }
    }
}

impl std::fmt::Debug for Redact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Redact(on)"
        } else {
            "Redact(off)"
        })
    }
}

/// The sink's output failed; the input cannot go on. It holds the sink's
/// own error.
#[derive(Debug, thiserror::Error)]
#[error("writing entries failed: {0}")]
pub struct PipelineError<E>(#[source] pub E);

/// Parses one input pushed in chunks and hands every entry to a sink,
/// keeping the input's [`Summary`].
///
/// It does no I/O of its own, so the same pipeline serves the async S3
/// stream and sync files: push each chunk as it arrives, wait until the
/// sink is [`ready`](Pipeline::ready) for the next, then
/// [`finish`](Pipeline::finish). Sync callers use the `blocking_` forms,
/// which must not be called from within an async runtime.
#[derive(Debug)]
pub struct Pipeline<S> {
    builder: DecoderBuilder,
    decoder: Decoder,
    record: Record,
    sink: S,
    redact: Redact,
    summary: Summary,
    started: Instant,
    /// The sink said [`Verdict::Stop`]: the rest of the input is not read.
    stopped: bool,
}

impl<S: Sink> Pipeline<S> {
    /// A pipeline into `sink`.
    pub fn new(options: &Options, sink: S) -> Pipeline<S> {
        Pipeline {
            builder: options.decoder.clone(),
            decoder: options.decoder.build(),
            record: Record::new(),
            sink,
            redact: options.redact.clone(),
            summary: Summary::default(),
            started: Instant::now(),
            stopped: false,
        }
    }

    /// Parses all of `chunk`, unless the sink stops the input first: then
    /// the rest is not read, and every later push is ignored.
    ///
    /// # Errors
    ///
    /// Only when the sink's output fails. Bad lines are counted, not errors.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Verdict, PipelineError<S::Error>> {
        let mut input = chunk;
        while !self.stopped {
            let (result, used) = self.decoder.decode(input, &mut self.record);
            input = &input[used..];
            let verdict = match result {
                Ok(Decoded::Record) => self.entry()?,
                Ok(Decoded::NeedInput | Decoded::End) => return Ok(Verdict::Continue),
                Err(e) => self.reject(&e)?,
            };
            self.stopped = verdict == Verdict::Stop;
        }
        Ok(Verdict::Stop)
    }

    /// Reads `lines`, rows of a Parquet input written as lines by the
    /// Parquet reader, which split them by `schema` as it wrote them: see
    /// [`cflog_parquet::read`](https://docs.rs/cflog-parquet) and
    /// [`SplitLines`]. The input's lines are its rows from then on: a
    /// rejected row is listed by its row number, from 1, and the summary
    /// says [`parquet`](Summary::parquet). Once the sink stops the input,
    /// the rest is not read.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use cflog_core::{Schema, SplitLines};
    /// use cflog_pipeline::{Options, Pipeline, sink::NdjsonSink};
    ///
    /// let schema = Arc::new(Schema::from_names(["sc-status", "cs-uri-stem"])?);
    /// let values = [("200", "/a"), ("2x0", "/b")];
    /// let mut rows = SplitLines::new();
    /// rows.write_lines(values.len(), |i, row| {
    ///     let (status, path) = values[i];
    ///     row.value(|out| out.extend_from_slice(status.as_bytes()));
    ///     row.value(|out| out.extend_from_slice(path.as_bytes()));
    /// });
    /// let mut out = Vec::new();
    /// let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
    /// pipeline.push_rows(&schema, &rows)?;
    /// let summary = pipeline.blocking_finish()?;
    /// assert_eq!((summary.lines, summary.entries, summary.rejected), (2, 1, 1));
    /// assert!(summary.parquet);
    /// assert_eq!(summary.errors[0].message, r#"row 2: field sc-status: expected a three-digit status: "2x0""#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Only when the sink's output fails.
    pub fn push_rows(
        &mut self,
        schema: &Arc<Schema>,
        lines: &SplitLines,
    ) -> Result<Verdict, PipelineError<S::Error>> {
        self.summary.parquet = true;
        if !Arc::ptr_eq(self.decoder.schema(), schema) {
            self.decoder.set_schema(Arc::clone(schema));
        }
        for i in 0..lines.len() {
            if self.stopped {
                break;
            }
            let verdict = match self.decoder.split_line(lines, i, schema) {
                Ok((line, pos)) => match self.sink.entry(&line) {
                    Ok(verdict) => {
                        self.summary.entries += 1;
                        verdict
                    }
                    Err(refused) => {
                        let error = refusal(refused, &line, pos)?;
                        self.reject(&error)?
                    }
                },
                Err(e) => self.reject(&e)?,
            };
            self.stopped = verdict == Verdict::Stop;
        }
        Ok(match self.stopped {
            true => Verdict::Stop,
            false => Verdict::Continue,
        })
    }

    /// Polls the sink for room for another chunk.
    ///
    /// # Errors
    ///
    /// When the sink's output failed.
    pub fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), PipelineError<S::Error>>> {
        self.sink.poll_ready(cx).map_err(PipelineError)
    }

    /// Waits until the sink has room for another chunk: call it between
    /// pushes, so a slow destination slows the reader.
    ///
    /// # Errors
    ///
    /// When the sink's output failed.
    pub async fn ready(&mut self) -> Result<(), PipelineError<S::Error>> {
        poll_fn(|cx| self.poll_ready(cx)).await
    }

    /// [`ready`](Pipeline::ready) for sync callers: blocks the thread.
    ///
    /// # Errors
    ///
    /// When the sink's output failed.
    pub fn blocking_ready(&mut self) -> Result<(), PipelineError<S::Error>> {
        futures_executor::block_on(self.ready())
    }

    /// Ends the input: parses a last line without a line break, finishes
    /// the sink (everything it took is delivered) and returns the summary,
    /// with the sink's [`Delivery`](crate::sink::Delivery).
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub async fn finish(&mut self) -> Result<Summary, PipelineError<S::Error>> {
        self.end_of_input()?;
        self.finish_sink().await
    }

    /// [`finish`](Pipeline::finish) for sync callers: blocks the thread.
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub fn blocking_finish(&mut self) -> Result<Summary, PipelineError<S::Error>> {
        futures_executor::block_on(self.finish())
    }

    async fn finish_sink(&mut self) -> Result<Summary, PipelineError<S::Error>> {
        let delivery = poll_fn(|cx| self.sink.poll_finish(cx))
            .await
            .map_err(PipelineError)?;
        self.summary.delivered = delivery;
        let summary = self.summary();
        debug_assert!(summary.reconciles(), "{summary:?}");
        Ok(summary)
    }

    /// Ends the current input without finishing the sink, returns its
    /// summary, and starts the next input: for many small inputs into one
    /// output, such as the records of a Kinesis batch. Call
    /// [`finish`](Pipeline::finish) after the last one; the summaries
    /// before it have no delivery yet.
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
    /// assert_eq!(pipeline.blocking_finish()?.delivered.entries, 2);
    /// # Ok::<(), cflog_pipeline::PipelineError<std::convert::Infallible>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub fn next_input(&mut self) -> Result<Summary, PipelineError<S::Error>> {
        self.end_of_input()?;
        let summary = self.summary();
        debug_assert!(summary.reconciles(), "{summary:?}");
        self.decoder = self.builder.build();
        self.summary = Summary::default();
        self.started = Instant::now();
        self.stopped = false;
        Ok(summary)
    }

    /// Ends an input whose reading failed part-way: a line cut short by the
    /// failure is counted as rejected (`truncated`), and the sink is
    /// finished, so that every entry read before the failure is delivered
    /// and the summary counts exactly those.
    ///
    /// ```
    /// use cflog_pipeline::{Options, Pipeline, sink::NdjsonSink};
    ///
    /// let mut out = Vec::new();
    /// let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
    /// pipeline.push(b"#Fields: sc-status\n200\n30")?; // then the input failed
    /// let summary = pipeline.blocking_abandon()?;
    /// assert_eq!((summary.entries, summary.rejected, summary.lines), (1, 1, 3));
    /// assert_eq!(summary.errors[0].reason, "truncated");
    /// drop(pipeline);
    /// assert_eq!(out, b"{\"sc_status\":200}\n");
    /// # Ok::<(), cflog_pipeline::PipelineError<std::io::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub async fn abandon(&mut self) -> Result<Summary, PipelineError<S::Error>> {
        if let Some(cut) = self.decoder.abandon() {
            // Counted whatever the sink says: the input ends here anyway.
            let _ = self.reject(&cut)?;
        }
        self.finish_sink().await
    }

    /// [`abandon`](Pipeline::abandon) for sync callers: blocks the thread.
    ///
    /// # Errors
    ///
    /// When the sink's output fails.
    pub fn blocking_abandon(&mut self) -> Result<Summary, PipelineError<S::Error>> {
        futures_executor::block_on(self.abandon())
    }

    /// Whether the sink stopped the input ([`Verdict::Stop`]).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    fn end_of_input(&mut self) -> Result<(), PipelineError<S::Error>> {
        while !self.stopped {
            let verdict = match self.decoder.finish(&mut self.record) {
                Ok(Decoded::Record) => self.entry()?,
                Ok(Decoded::NeedInput | Decoded::End) => return Ok(()),
                Err(e) => self.reject(&e)?,
            };
            self.stopped = verdict == Verdict::Stop;
        }
        Ok(())
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
            // Until the sink is finished, what it says got through so far.
            delivered: match self.summary.delivered == Delivery::default() {
                true => self.sink.delivered(),
                false => self.summary.delivered.clone(),
            },
            ..self.summary.clone()
        }
    }

    /// Records what the input layer knows: whether the input was gzip and
    /// how many bytes it read before decompression.
    pub fn set_input(&mut self, gzip: bool, compressed_bytes: u64) {
        self.summary.gzip = gzip;
        self.summary.compressed_bytes = compressed_bytes;
    }

    /// Marks the input as Parquet, before its first row.
    #[cfg(feature = "parquet")]
    pub(crate) fn set_parquet(&mut self) {
        self.summary.parquet = true;
    }

    /// The sink.
    pub fn into_sink(self) -> S {
        self.sink
    }

    #[inline]
    fn entry(&mut self) -> Result<Verdict, PipelineError<S::Error>> {
        let line = self.record.line();
        match self.sink.entry(&line) {
            Ok(verdict) => {
                self.summary.entries += 1;
                Ok(verdict)
            }
            Err(refused) => {
                let error = refusal(refused, &line, self.record.position())?;
                self.reject(&error)
            }
        }
    }

    #[cold]
    fn reject(&mut self, err: &Error) -> Result<Verdict, PipelineError<S::Error>> {
        let summary = &mut self.summary;
        summary.rejected += 1;
        *summary.rejected_by_reason.entry(err.reason()).or_default() += 1;
        if summary.errors.len() < MAX_LISTED_ERRORS {
            let pos = err.position().unwrap_or_default();
            let mut message = err.to_string();
            let mut byte = pos.byte();
            if summary.parquet {
                // A row has a number, and no offset in any text.
                byte = 0;
                if let Some(rest) = message.strip_prefix(&format!("{pos}: ")) {
                    message = format!("row {}: {rest}", pos.line());
                }
            }
            summary.errors.push(RejectedLine {
                line: pos.line(),
                byte,
                reason: err.reason(),
                message: self.redact.apply(message),
            });
        }
        self.sink.rejected(err).map_err(PipelineError)
    }
}

/// The error for the entry `line` at `pos` that the sink refused, or the
/// sink's own failure.
fn refusal<E>(
    refused: EntryError<E>,
    line: &LogLine<'_>,
    pos: Position,
) -> Result<Error, PipelineError<E>> {
    Ok(match refused {
        EntryError::Rejected(e) => Error::field(pos, e, line.raw(e.field()).unwrap_or_default()),
        EntryError::TooLarge { bytes, limit } => {
            ErrorKind::EntryTooLarge { pos, bytes, limit }.into()
        }
        EntryError::Output(e) => return Err(PipelineError(e)),
    })
}
