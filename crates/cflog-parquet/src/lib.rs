//! CloudFront log entries as typed Parquet, for Athena.
//!
//! [`ParquetWriter`] is an encoder of cflog-core's typed-value layer
//! ([`cflog_core::typed`]): each value of an entry arrives parsed by the one
//! parser of its kind and goes into a typed column, with no JSON or text in
//! between. The columns are fixed per log family ([`ColumnSet`]), named by
//! the JSON contract's keys, and typed for Athena: a UTC `timestamp` with
//! milliseconds, `bigint` integers, `double` seconds, dictionary-encoded
//! text, and `query_params` as `map<string,array<string>>`. The file is
//! zstd-compressed, with statistics.
//!
//! [`ColumnSet::arrow_schema`] and [`ColumnSet::glue_columns`] come from
//! the same table, so a Glue table declared from the one matches the files
//! of the other.
//!
//! [`Batcher`] is the half of the writer that needs no file: entries into
//! Arrow record batches. A program reading many inputs at once runs one per
//! input, on its own thread, and hands the batches to the file's one
//! writer ([`ParquetWriter::write_batch`]), as `cflog --format parquet`
//! does.
//!
//! [`read`] reads Parquet logs back: AWS's own v2 Parquet deliveries, all
//! strings, and the files this crate writes, as lines for cflog-core's
//! parsers.
//! [`rollup`] merges an hour's small files into a few large ones, byte for
//! byte the same for the same files: the S3 destination's hourly rollup.
//!
//! Where the file goes is not this crate's business: any `Write + Send`
//! (a file, a buffer, a multipart upload). It depends on cflog-core and the
//! Arrow and Parquet crates, and on nothing of AWS.
//!
//! ```
//! use cflog_core::{Reader, Record};
//! use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
//!
//! let log = b"#Version: 1.0
//! #Fields: date time c-ip sc-status cs-uri-stem cs-uri-query x-future-field
//! 2019-12-04\t21:02:31\t192.0.2.100\t200\t/index.html\tpage=2&tag=a&tag=b\tnew
//! ";
//! let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), WriterOptions::default())?;
//! let mut reader = Reader::from_reader(&log[..]);
//! let mut record = Record::new();
//! while reader.read_record(&mut record)? {
//!     writer.write(&record.line())?;
//! }
//! let (file, stats) = writer.finish()?;
//! assert_eq!(stats.rows, 1);
//! assert_eq!(stats.rows_with_extra, 1); // x_future_field, in `extra`
//! assert!(file.starts_with(b"PAR1") && file.ends_with(b"PAR1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod batcher;
mod buffers;
pub mod columns;
mod error;
mod options;
pub mod read;
pub mod rollup;
mod rows;
mod writer;

pub use batcher::{Batcher, EntryBatch};
pub use columns::{Column, ColumnSet, ColumnType, EXTRA_KEY, GlueColumn};
pub use error::WriteError;
pub use options::WriterOptions;
pub use writer::{ParquetWriter, WriteStats};
