//! An input's bytes as they come, before any of them is decoded: the size
//! they are read in, what their first bytes say (gzip, another
//! compression, Parquet), and why an input could not be read to its end.
//! Below both the text inputs ([`crate::input`]) and the Parquet ones
//! (`crate::parquet`, with the `parquet` feature), which [`crate::input`]
//! hands a Parquet input to.

use std::io::{self, Read};

use crate::pipeline::PipelineError;

/// Buffer size for reading inputs.
pub const READ_BUFFER: usize = 64 * 1024;

/// Buffer size for gunzipped text. Inflate copies up to 32 KiB of what each
/// call writes into its window, so larger calls copy a smaller share
/// (measured against `READ_BUFFER` in BENCHMARKS.md, "Figures that were in
/// code comments").
pub const GUNZIP_BUFFER: usize = 256 * 1024;

/// Why an input could not be read to its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError<E> {
    /// Reading the input itself failed, e.g. the connection was reset.
    /// Retrying may help.
    #[error("reading the input failed: {0}")]
    Source(#[source] io::Error),
    /// The gzip data is corrupt or truncated. Retrying cannot help.
    #[error("the gzip data is corrupt or truncated: {0}")]
    Decompress(#[source] io::Error),
    /// The input is compressed in a format other than gzip, which
    /// CloudFront never writes. Retrying cannot help.
    #[error("the input is {0}-compressed; cflog reads gzip or plain text (decompress it first)")]
    Unsupported(Compression),
    /// The input is Parquet, and it is not a log cflog can read: cut
    /// short, a corrupt footer, no CloudFront column, a column of another
    /// type. Retrying cannot help.
    #[cfg(feature = "parquet")]
    #[error("{0}")]
    Parquet(Box<cflog_parquet::read::ReadError>),
    /// A Parquet input read from a stream could not be copied into a
    /// temporary file to be read by ranges, or is larger than
    /// the limit of such copies (`parquet::MAX_SPOOLED_BYTES`).
    #[error("{0}")]
    Spool(String),
    /// The input is Parquet, and this build reads none.
    #[error(
        "the input is a Parquet file, which this build does not read (built without the `parquet` feature)"
    )]
    ParquetNotBuilt,
    /// The sink's output failed.
    #[error(transparent)]
    Sink(#[from] PipelineError<E>),
}

#[cfg(feature = "parquet")]
impl<E> From<cflog_parquet::read::ReadError> for InputError<E> {
    fn from(error: cflog_parquet::read::ReadError) -> InputError<E> {
        // Boxed: the error of every object's result stays small.
        InputError::Parquet(Box::new(error))
    }
}

/// A compression recognised by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No known magic: plain text.
    None,
    /// gzip, one or more members: read.
    Gzip,
    /// zlib (RFC 1950), as a raw deflate stream with a zlib header.
    Zlib,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The most bytes [`sniff`](Compression::sniff) looks at.
    pub const MAGIC_LEN: usize = 6;

    /// The compression of an input that starts with `head` (its first
    /// [`MAGIC_LEN`](Compression::MAGIC_LEN) bytes, or all of a shorter
    /// input).
    ///
    /// ```
    /// use cflog_pipeline::input::Compression;
    /// assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
    /// assert_eq!(Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0]), Compression::Zstd);
    /// assert_eq!(Compression::sniff(b"#Version: 1.0"), Compression::None);
    /// ```
    pub fn sniff(head: &[u8]) -> Compression {
        match head {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Compression::Xz,
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Compression::Bzip2,
            // A zlib header: deflate with a 32 KiB window at most, and a
            // check value that makes the two bytes a multiple of 31. A text
            // line never starts with such a pair unless its second byte is
            // printable.
            [cmf @ 0x08..=0x78, flg, ..]
                if cmf & 0x0f == 8
                    && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
                    && !(flg.is_ascii_graphic() || *flg == b' ') =>
            {
                Compression::Zlib
            }
            _ => Compression::None,
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "not",
            Compression::Gzip => "gzip",
            Compression::Zlib => "zlib",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        })
    }
}

/// Whether `head`, an input's first bytes, are Parquet's magic (`PAR1`).
/// The magic at the file's end is checked when it is read: a file cut
/// short is reported as such, not read as text.
///
/// ```
/// assert!(cflog_pipeline::input::is_parquet(b"PAR1\x15\x04"));
/// assert!(!cflog_pipeline::input::is_parquet(b"#Version: 1.0"));
/// ```
pub fn is_parquet(head: &[u8]) -> bool {
    head.starts_with(b"PAR1")
}

/// Whether the local `file` starts with Parquet's magic. The file's
/// position is left at its start.
///
/// # Errors
///
/// When reading or seeking fails.
pub fn is_parquet_file(mut file: &std::fs::File) -> io::Result<bool> {
    use std::io::Seek as _;
    let mut head = [0u8; 4];
    file.seek(io::SeekFrom::Start(0))?;
    let n = read_head(&mut file, &mut head)?;
    file.seek(io::SeekFrom::Start(0))?;
    Ok(is_parquet(&head[..n]))
}

/// Fills `head` from `reader`, or as much of it as the input holds: the
/// bytes read, fewer than `head.len()` only at its end. Interrupted reads
/// are retried.
///
/// # Errors
///
/// The reader's.
pub(crate) fn read_head(reader: &mut impl Read, head: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
