//! Opening inputs: gzip is recognised by its magic bytes, not by a name,
//! and decoded as a stream, multi-member included. So is Parquet (`PAR1`),
//! which is read by ranges (the `parquet` module, behind the feature of
//! that name): a stream of it is copied into a bounded temporary file
//! first.
//!
//! Errors from the input itself (a dropped connection, a failing disk) are
//! kept apart from errors in the data (a corrupt or truncated gzip), because
//! the first are worth a retry and the second are not.

use std::io::{self, BufRead, BufReader, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use async_compression::tokio::bufread::GzipDecoder;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, ReadBuf};

use crate::pipeline::Pipeline;
use crate::sink::{Sink, Verdict};
use crate::source::read_head;
pub use crate::source::{
    Compression, GUNZIP_BUFFER, InputError, READ_BUFFER, is_parquet, is_parquet_file,
};
use crate::summary::Summary;

/// What the input itself did, seen from below the decoder: the bytes it
/// gave, and whether it failed. An error that comes out of the decoder is
/// the input's when the input failed, and the decoder's own otherwise.
#[derive(Debug, Default)]
struct SourceState {
    bytes: AtomicU64,
    failed: AtomicBool,
}

impl SourceState {
    fn classify<E>(&self, err: io::Error) -> InputError<E> {
        if self.failed.load(Ordering::Relaxed) {
            InputError::Source(err)
        } else {
            InputError::Decompress(err)
        }
    }

    fn record(&self, result: &io::Result<usize>) {
        match result {
            Ok(n) => {
                self.bytes.fetch_add(*n as u64, Ordering::Relaxed);
            }
            // Interrupted reads are retried; they are not failures.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.failed.store(true, Ordering::Relaxed),
        }
    }
}

/// The input, watched by its [`SourceState`].
#[derive(Debug)]
struct Counted<R> {
    inner: R,
    state: Arc<SourceState>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        self.state.record(&result);
        result
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(result) = &poll {
            let result = match result {
                Ok(()) => Ok(buf.filled().len() - before),
                Err(e) => Err(io::Error::from(e.kind())),
            };
            self.state.record(&result);
        }
        poll
    }
}

/// Reads `input` to its end through `pipeline`, gunzipping it if it starts
/// with the gzip magic, and returns the summary.
///
/// Between chunks it waits for the sink to be ready, so a slow destination
/// slows the reading; when the sink stops the input, reading stops.
///
/// When reading fails part-way, every entry read before the failure has
/// been delivered to the sink (it is finished), the line cut short is
/// counted as rejected (`truncated`), and [`Pipeline::summary`] counts
/// exactly that.
///
/// # Errors
///
/// See [`InputError`]. Bad lines are not errors; they are in the summary.
pub async fn run_async<R, S>(
    input: R,
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>>
where
    R: AsyncRead + Unpin,
    S: Sink,
{
    let state = Arc::new(SourceState::default());
    let mut source = Counted {
        inner: input,
        state: Arc::clone(&state),
    };
    let mut magic = [0u8; Compression::MAGIC_LEN];
    let mut n = 0;
    while n < magic.len() {
        match source
            .read(&mut magic[n..])
            .await
            .map_err(|e| state.classify(e))?
        {
            0 => break,
            k => n += k,
        }
    }
    if is_parquet(&magic[..n]) {
        #[cfg(feature = "parquet")]
        return crate::parquet::run_spooled_async(&magic[..n], source, pipeline).await;
        #[cfg(not(feature = "parquet"))]
        return parquet_not_built(pipeline).await;
    }
    let compression = Compression::sniff(&magic[..n]);
    let head = AsyncReadExt::take(io::Cursor::new(magic), n as u64);
    let rest = tokio::io::BufReader::with_capacity(READ_BUFFER, AsyncReadExt::chain(head, source));
    let result = match compression {
        Compression::Gzip => {
            let mut decoder = GzipDecoder::new(rest);
            decoder.multiple_members(true);
            let gunzipped = tokio::io::BufReader::with_capacity(GUNZIP_BUFFER, decoder);
            drive_async(gunzipped, pipeline, &state).await
        }
        Compression::None => drive_async(rest, pipeline, &state).await,
        other => Err(InputError::Unsupported(other)),
    };
    end(pipeline, result, compression, &state).await
}

async fn drive_async<R, S>(
    mut reader: R,
    pipeline: &mut Pipeline<S>,
    state: &SourceState,
) -> Result<(), InputError<S::Error>>
where
    R: AsyncBufRead + Unpin,
    S: Sink,
{
    loop {
        let chunk = reader.fill_buf().await.map_err(|e| state.classify(e))?;
        if chunk.is_empty() {
            return Ok(());
        }
        let n = chunk.len();
        if pipeline.push(chunk)? == Verdict::Stop {
            return Ok(());
        }
        reader.consume(n);
        pipeline.ready().await?;
    }
}

/// The sync counterpart of [`run_async`], for files and stdin. It blocks
/// the thread while the sink is not ready, so call it outside any async
/// runtime.
///
/// # Errors
///
/// See [`InputError`].
pub fn run_sync<R: Read, S: Sink>(
    input: R,
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>> {
    let state = Arc::new(SourceState::default());
    let mut source = Counted {
        inner: input,
        state: Arc::clone(&state),
    };
    let mut magic = [0u8; Compression::MAGIC_LEN];
    let n = read_head(&mut source, &mut magic).map_err(|e| state.classify(e))?;
    if is_parquet(&magic[..n]) {
        #[cfg(feature = "parquet")]
        return crate::parquet::run_spooled_sync(&magic[..n], source, pipeline);
        #[cfg(not(feature = "parquet"))]
        return futures_executor::block_on(parquet_not_built(pipeline));
    }
    let compression = Compression::sniff(&magic[..n]);
    let head = Read::take(io::Cursor::new(magic), n as u64);
    let rest = BufReader::with_capacity(READ_BUFFER, Read::chain(head, source));
    let result = match compression {
        Compression::Gzip => {
            let decoder = flate2::bufread::MultiGzDecoder::new(rest);
            drive_sync(
                BufReader::with_capacity(GUNZIP_BUFFER, decoder),
                pipeline,
                &state,
            )
        }
        Compression::None => drive_sync(rest, pipeline, &state),
        other => Err(InputError::Unsupported(other)),
    };
    futures_executor::block_on(end(pipeline, result, compression, &state))
}

fn drive_sync<R: BufRead, S: Sink>(
    mut reader: R,
    pipeline: &mut Pipeline<S>,
    state: &SourceState,
) -> Result<(), InputError<S::Error>> {
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(state.classify(e)),
        };
        if chunk.is_empty() {
            return Ok(());
        }
        let n = chunk.len();
        if pipeline.push(chunk)? == Verdict::Stop {
            return Ok(());
        }
        reader.consume(n);
        pipeline.blocking_ready()?;
    }
}

/// Reads the local Parquet `file` through `pipeline`, by seeking: the
/// footer, then one row group at a time. Every row is a line of the
/// summary; see [`Pipeline::push_rows`].
///
/// # Errors
///
/// See [`InputError`]: [`InputError::Parquet`] when the file is not a
/// Parquet log cflog reads; nothing of it went to the sink then.
#[cfg(feature = "parquet")]
pub fn run_parquet_file<S: Sink>(
    file: &std::fs::File,
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>> {
    crate::parquet::run_file(file, pipeline)
}

#[cfg(not(feature = "parquet"))]
async fn parquet_not_built<S: Sink>(
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>> {
    pipeline.abandon().await?;
    Err(InputError::ParquetNotBuilt)
}

/// Ends the input of both drivers: the summary at the end, or after a
/// failure of the input, what was delivered before it.
async fn end<S: Sink>(
    pipeline: &mut Pipeline<S>,
    result: Result<(), InputError<S::Error>>,
    compression: Compression,
    state: &SourceState,
) -> Result<Summary, InputError<S::Error>> {
    pipeline.set_input(
        compression == Compression::Gzip,
        state.bytes.load(Ordering::Relaxed),
    );
    match result {
        Ok(()) => Ok(pipeline.finish().await?),
        Err(InputError::Sink(e)) => Err(InputError::Sink(e)),
        Err(e) => {
            pipeline.abandon().await?;
            Err(e)
        }
    }
}
