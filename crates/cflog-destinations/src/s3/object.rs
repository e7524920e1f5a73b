//! What one object holds: entries encoded as Parquet or as gzip NDJSON,
//! into a buffer whose bytes are taken out as parts while it fills.

use std::io::Write;

use cflog_core::LogLine;
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
#[cfg(feature = "parquet")]
use cflog_parquet::{ColumnSet, ParquetWriter, WriteError};
use cflog_pipeline::sink::EntryError;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::S3Options;

/// How the objects are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObjectFormat {
    /// Typed Parquet for Athena (`cflog-parquet`, the standard logs'
    /// fixed columns), zstd-compressed: `.parquet`.
    #[default]
    Parquet,
    /// The JSON contract, one object per line, gzip-compressed:
    /// `.ndjson.gz`.
    NdjsonGz,
}

impl ObjectFormat {
    /// The objects' extension, without the leading dot.
    pub fn extension(self) -> &'static str {
        match self {
            ObjectFormat::Parquet => "parquet",
            ObjectFormat::NdjsonGz => "ndjson.gz",
        }
    }
}

impl std::str::FromStr for ObjectFormat {
    type Err = UnknownObjectFormat;

    /// `parquet` or `ndjson.gz`.
    fn from_str(text: &str) -> Result<ObjectFormat, UnknownObjectFormat> {
        match text {
            "parquet" => Ok(ObjectFormat::Parquet),
            "ndjson.gz" => Ok(ObjectFormat::NdjsonGz),
            other => Err(UnknownObjectFormat(other.to_owned())),
        }
    }
}

/// A name that is no [`ObjectFormat`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected parquet or ndjson.gz, got {0:?}")]
pub struct UnknownObjectFormat(pub String);

/// Gathered NDJSON is compressed in blocks of about this size.
const JSON_BLOCK: usize = 64 << 10;

/// The room past [`JSON_BLOCK`] in which the last entry of a block is
/// written: most entries are well under it, and a larger one goes to the
/// next block (or, larger than a block, straight to gzip).
const LINE_ROOM: usize = 64 << 10;

/// One object's encoder.
pub(crate) enum ObjectEncoder {
    #[cfg(feature = "parquet")]
    Parquet(Box<ParquetWriter<Vec<u8>>>),
    NdjsonGz(Box<GzNdjson>),
}

/// The JSON of the entries, gathered into blocks that are then gzipped.
///
/// Each entry is written straight into the block (by
/// [`JsonWriter::write_to_slice`]), so its bytes are copied once, into
/// gzip, rather than twice.
pub(crate) struct GzNdjson {
    json: JsonWriter,
    /// `JSON_BLOCK + LINE_ROOM` bytes, of which `block[..used]` are
    /// entries.
    block: Vec<u8>,
    used: usize,
    gzip: GzEncoder<Vec<u8>>,
}

impl GzNdjson {
    /// Appends the entry of `line` and its line break.
    fn write(&mut self, line: &LogLine<'_>) -> Result<(), EntryError<EncodeError>> {
        let gzip_error = |e| EntryError::Output(EncodeError::Gzip(e));
        loop {
            let room = &mut self.block[self.used..];
            match self.json.write_to_slice(line, room)? {
                Some(len) if len < room.len() => {
                    room[len] = b'\n';
                    self.used += len + 1;
                    break;
                }
                // No room: the block is compressed, and the entry written
                // again at its start.
                _ if self.used > 0 => self.flush().map_err(gzip_error)?,
                // Larger than a whole block: written apart.
                _ => {
                    let mut entry = Vec::new();
                    self.json.write(line, &mut entry)?;
                    entry.push(b'\n');
                    self.gzip.write_all(&entry).map_err(gzip_error)?;
                    break;
                }
            }
        }
        if self.used >= JSON_BLOCK {
            self.flush().map_err(gzip_error)?;
        }
        Ok(())
    }

    /// Compresses the entries of the block.
    fn flush(&mut self) -> std::io::Result<()> {
        self.gzip.write_all(&self.block[..self.used])?;
        self.used = 0;
        Ok(())
    }
}

impl ObjectEncoder {
    pub(crate) fn new(
        format: ObjectFormat,
        options: &S3Options,
    ) -> Result<ObjectEncoder, EncodeError> {
        let selection: &Selection = &options.selection;
        Ok(match format {
            #[cfg(feature = "parquet")]
            ObjectFormat::Parquet => ObjectEncoder::Parquet(Box::new(
                // The columns of the selection's contract: its derived
                // keys, less the keys it drops.
                ParquetWriter::new(
                    Vec::new(),
                    ColumnSet::for_contract(cflog_core::Family::Standard, selection.contract()),
                    options.parquet.clone(),
                )
                .map_err(EncodeError::Parquet)?,
            )),
            #[cfg(not(feature = "parquet"))]
            ObjectFormat::Parquet => return Err(EncodeError::NoParquet),
            ObjectFormat::NdjsonGz => ObjectEncoder::NdjsonGz(Box::new(GzNdjson {
                json: JsonWriter::new(selection.clone()),
                block: vec![0; JSON_BLOCK + LINE_ROOM],
                used: 0,
                gzip: GzEncoder::new(Vec::new(), Compression::default()),
            })),
        })
    }

    /// Encodes one entry.
    pub(crate) fn write(&mut self, line: &LogLine<'_>) -> Result<(), EntryError<EncodeError>> {
        match self {
            #[cfg(feature = "parquet")]
            ObjectEncoder::Parquet(writer) => writer.write(line).map_err(|error| match error {
                WriteError::Rejected(error) => EntryError::Rejected(error),
                error => EntryError::Output(EncodeError::Parquet(error)),
            }),
            ObjectEncoder::NdjsonGz(ndjson) => ndjson.write(line),
        }
    }

    /// The encoded bytes not yet taken.
    pub(crate) fn encoded(&mut self) -> &mut Vec<u8> {
        match self {
            #[cfg(feature = "parquet")]
            ObjectEncoder::Parquet(writer) => writer.output_mut(),
            ObjectEncoder::NdjsonGz(ndjson) => ndjson.gzip.get_mut(),
        }
    }

    /// The bytes held in memory: the encoder's own estimate of what it
    /// buffers, and the encoded bytes not yet taken.
    pub(crate) fn memory_size(&self) -> usize {
        match self {
            #[cfg(feature = "parquet")]
            ObjectEncoder::Parquet(writer) => writer.memory_size() + writer_output_len(writer),
            ObjectEncoder::NdjsonGz(ndjson) => ndjson.used + ndjson.gzip.get_ref().len(),
        }
    }

    /// Encodes what is left, and the footer or the gzip trailer: the rest of
    /// the object's bytes.
    pub(crate) fn finish(self) -> Result<Vec<u8>, EncodeError> {
        match self {
            #[cfg(feature = "parquet")]
            ObjectEncoder::Parquet(writer) => Ok(writer.finish().map_err(EncodeError::Parquet)?.0),
            ObjectEncoder::NdjsonGz(ndjson) => {
                let mut ndjson = *ndjson;
                ndjson.flush().map_err(EncodeError::Gzip)?;
                ndjson.gzip.finish().map_err(EncodeError::Gzip)
            }
        }
    }
}

#[cfg(feature = "parquet")]
fn writer_output_len(writer: &ParquetWriter<Vec<u8>>) -> usize {
    writer.output().len()
}

/// Encoding an object failed: it is not uploaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The Parquet writer failed.
    #[cfg(feature = "parquet")]
    #[error(transparent)]
    Parquet(WriteError),
    /// Parquet was asked for, and this build has none (cflog-destinations'
    /// feature `parquet`).
    #[cfg(not(feature = "parquet"))]
    #[error("this build writes no Parquet (cflog-destinations' feature `parquet` is off)")]
    NoParquet,
    /// Compressing the NDJSON failed.
    #[error("compressing NDJSON failed: {0}")]
    Gzip(std::io::Error),
}
