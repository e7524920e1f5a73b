//! [`WriteError`]: why an entry was not taken, or a file not written.

use cflog_core::FieldError;
use parquet::errors::ParquetError;

/// Why a [`ParquetWriter`](crate::ParquetWriter) did not take an entry, or could not write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A value of the entry is not of its field's kind, or too large for
    /// its column: the line is rejected, and nothing of it is written. The
    /// writer goes on.
    #[error(transparent)]
    Rejected(#[from] FieldError),
    /// Encoding or writing the file failed (the writer's I/O error
    /// included). The file is incomplete; the writer takes nothing more.
    #[error("writing Parquet failed: {0}")]
    Parquet(#[from] ParquetError),
}

impl From<arrow_schema::ArrowError> for WriteError {
    fn from(error: arrow_schema::ArrowError) -> WriteError {
        WriteError::Parquet(error.into())
    }
}
