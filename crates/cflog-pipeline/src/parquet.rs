//! Parquet inputs: read by ranges, one row group at a time.
//!
//! A Parquet file is read from its end (the footer names where every row
//! group lies), so it is read where it lies: a local file by seeking, an
//! S3 object by ranged GETs ([`crate::s3`]). An input that can only be
//! read from start to end (stdin, a stream) is first copied into a
//! temporary file, up to [`MAX_SPOOLED_BYTES`]; past that it is refused,
//! never buffered whole.
//!
//! What is held in memory is one row group's bytes and one batch of its
//! rows as text, whatever the size of the file.

use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;

use bytes::Bytes;
use cflog_core::SplitLines;
use cflog_parquet::read::{FOOTER_TAIL, ParquetLog, metadata_len};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::pipeline::Pipeline;
use crate::sink::{Sink, Verdict};
use crate::source::{InputError, READ_BUFFER};
use crate::summary::Summary;

pub use cflog_parquet::read::ReadError;

/// The largest Parquet input read from a stream (stdin), which is copied
/// into a temporary file first: 4 GiB. A larger file is read from its
/// path, or from S3, where it needs no copy.
pub const MAX_SPOOLED_BYTES: u64 = 4 << 30;

/// Where the bytes of a Parquet input come from.
pub(crate) trait Ranges {
    /// The bytes `range` of the input.
    fn fetch(&mut self, range: Range<u64>) -> impl Future<Output = io::Result<Bytes>>;
}

/// A local file, read by seeking.
pub(crate) struct FileRanges<'a>(pub(crate) &'a File);

impl Ranges for FileRanges<'_> {
    fn fetch(&mut self, range: Range<u64>) -> impl Future<Output = io::Result<Bytes>> {
        std::future::ready(read_range(self.0, range))
    }
}

fn read_range(mut file: &File, range: Range<u64>) -> io::Result<Bytes> {
    let len = usize::try_from(range.end - range.start).map_err(io::Error::other)?;
    let mut bytes = vec![0; len];
    file.seek(SeekFrom::Start(range.start))?;
    file.read_exact(&mut bytes)?;
    Ok(Bytes::from(bytes))
}

/// Reads the Parquet input of `len` bytes from `source` through
/// `pipeline`: the footer, then each row group, waiting for the sink
/// between batches of rows.
pub(crate) async fn drive<R: Ranges, S: Sink>(
    source: &mut R,
    len: u64,
    pipeline: &mut Pipeline<S>,
    fetched: &mut u64,
) -> Result<(), InputError<S::Error>> {
    let mut fetch = async |range: Range<u64>| {
        let want = range.end - range.start;
        let bytes = source.fetch(range).await.map_err(InputError::Source)?;
        *fetched += bytes.len() as u64;
        if bytes.len() as u64 != want {
            return Err(InputError::Source(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("asked for {want} bytes, got {}", bytes.len()),
            )));
        }
        Ok::<_, InputError<S::Error>>(bytes)
    };
    if len < (cflog_parquet::read::MAGIC.len() + FOOTER_TAIL) as u64 {
        return Err(ReadError::Truncated { len }.into());
    }
    let tail = fetch(len - FOOTER_TAIL as u64..len).await?;
    let tail: &[u8; FOOTER_TAIL] = tail[..].try_into().expect("fetched to length");
    let metadata_len = metadata_len(len, tail)?;
    let metadata_end = len - FOOTER_TAIL as u64;
    let metadata = fetch(metadata_end - metadata_len..metadata_end).await?;
    let log = ParquetLog::from_metadata(len, &metadata)?;
    drop(metadata);
    let mut lines = SplitLines::new();
    for i in 0..log.row_groups() {
        let range = log.row_group_range(i)?;
        let bytes = fetch(range.clone()).await?;
        let mut rows = log.row_group(i, range.start, bytes)?;
        loop {
            let Some(schema) = rows.next_lines(&mut lines)? else {
                break;
            };
            if pipeline.push_rows(&schema, &lines)? == Verdict::Stop {
                return Ok(());
            }
            pipeline.ready().await?;
        }
    }
    Ok(())
}

/// Reads a local Parquet file through `pipeline`.
pub(crate) fn run_file<S: Sink>(
    file: &File,
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>> {
    let len = file.metadata().map_err(InputError::Source)?.len();
    let mut fetched = 0;
    futures_executor::block_on(async {
        let result = drive(&mut FileRanges(file), len, pipeline, &mut fetched).await;
        end(pipeline, result, fetched).await
    })
}

/// Ends a Parquet input as [`crate::input`] ends a text one.
pub(crate) async fn end<S: Sink>(
    pipeline: &mut Pipeline<S>,
    result: Result<(), InputError<S::Error>>,
    fetched: u64,
) -> Result<Summary, InputError<S::Error>> {
    pipeline.set_input(false, fetched);
    pipeline.set_parquet();
    match result {
        Ok(()) => Ok(pipeline.finish().await?),
        Err(InputError::Sink(e)) => Err(InputError::Sink(e)),
        Err(e) => {
            pipeline.abandon().await?;
            Err(e)
        }
    }
}

/// A temporary copy of a streamed input, made to read it by ranges.
fn spool_file<E>() -> Result<File, InputError<E>> {
    tempfile::tempfile().map_err(|e| InputError::Spool(e.to_string()))
}

fn too_large<E>() -> InputError<E> {
    InputError::Spool(format!(
        "the Parquet input is larger than the {} GiB a stream is copied up to before reading; give it as a file or an s3:// URI instead",
        MAX_SPOOLED_BYTES >> 30
    ))
}

/// Copies `head` and the rest of `input` into a temporary file, then reads
/// it as Parquet.
pub(crate) fn run_spooled_sync<R: Read, S: Sink>(
    head: &[u8],
    mut input: R,
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>> {
    let copy: Result<File, InputError<S::Error>> = (|| {
        let mut file = spool_file()?;
        file.write_all(head)
            .map_err(|e| InputError::Spool(e.to_string()))?;
        let mut limited = (&mut input).take(MAX_SPOOLED_BYTES + 1 - head.len() as u64);
        let copied = io::copy(&mut limited, &mut file).map_err(InputError::Source)?;
        if head.len() as u64 + copied > MAX_SPOOLED_BYTES {
            return Err(too_large());
        }
        Ok(file)
    })();
    match copy {
        Ok(file) => run_file(&file, pipeline),
        Err(e) => futures_executor::block_on(end(pipeline, Err(e), 0)),
    }
}

/// [`run_spooled_sync`] for async streams.
pub(crate) async fn run_spooled_async<R: AsyncRead + Unpin, S: Sink>(
    head: &[u8],
    mut input: R,
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>> {
    let copy = async {
        let mut file = spool_file()?;
        file.write_all(head)
            .map_err(|e| InputError::Spool(e.to_string()))?;
        let mut copied = head.len() as u64;
        let mut buf = vec![0; READ_BUFFER];
        loop {
            let n = input.read(&mut buf).await.map_err(InputError::Source)?;
            if n == 0 {
                break;
            }
            copied += n as u64;
            if copied > MAX_SPOOLED_BYTES {
                return Err(too_large());
            }
            file.write_all(&buf[..n])
                .map_err(|e| InputError::Spool(e.to_string()))?;
        }
        Ok(file)
    };
    match copy.await {
        Ok(file) => {
            let len = file.metadata().map_err(InputError::Source)?.len();
            let mut fetched = 0;
            let result = drive(&mut FileRanges(&file), len, pipeline, &mut fetched).await;
            end(pipeline, result, fetched).await
        }
        Err(e) => end(pipeline, Err(e), 0).await,
    }
}
