//! A zero-copy, header-driven parser for Amazon CloudFront access logs.
//!
//! CloudFront has written its standard logs with 11 to 33 fields over the
//! years, v2 lets users pick the fields, their order and the delimiter, and
//! real-time logs order fields canonically with no header at all. cflog-core
//! reads every one of them by building a [`Schema`] from the `#Fields`
//! header (or from a configuration), never by assuming positions.
//!
//! # The pieces
//!
//! - [`Reader`] reads records from any `BufRead`; [`Decoder`] does the same
//!   for pushed chunks, for async inputs. Both reuse one [`Record`], and
//!   read delimited text or v2 JSON lines, telling them apart by the first
//!   line ([`InputFormat`]).
//! - [`JsonLineParser`] reads one v2 JSON line on its own, borrowing from it.
//!   Real-time (Kinesis) records are delimited text with a
//!   [`Schema::realtime`] built from the configured field list.
//! - [`LogLine`] is the borrowed view of a line, with typed accessors
//!   ([`status`](LogLine::status), [`timestamp`](LogLine::timestamp),
//!   [`client_ip`](LogLine::client_ip), [`time_taken`](LogLine::time_taken)…)
//!   that return a [`FieldError`] for a bad value, never a panic.
//! - [`Value`] gives a field's bytes as logged ([`raw`](Value::raw)) or with
//!   one level of CloudFront's escaping undone ([`decoded`](Value::decoded)).
//! - [`contract`] says what an entry is: its keys, their order and kinds,
//!   the derived keys computed from a line (`timestamp`, `query_params`,
//!   and any a [`contract::Derive`] adds) and the [`contract::Transform`]s
//!   that rewrite a value before any output reads it. Start there to add a
//!   column.
//! - [`json::JsonWriter`] writes the contract's entries as JSON.
//! - [`typed`] reads each column by the one parser of its kind
//!   ([`ValueKind`]) and hands the values of an entry to an
//!   [`Encoder`](typed::Encoder): the layer under every output but JSON's
//!   fast path (CSV, tallies, columnar formats), which then never reads
//!   another output's text.
//! - [`Error`] says which line (and byte) went wrong, and why.
//!
//! # Example
//!
//! ```
//! use cflog_core::{Field, Reader, Record};
//!
//! let log = b"#Version: 1.0
//! #Fields: date time c-ip sc-status cs(User-Agent) time-taken
//! 2019-12-04\t21:02:31\t192.0.2.100\t200\tcurl/7.55.1%20(x)\t0.082
//! 2019-12-04\t21:02:32\t2001:db8::1\t000\t-\t0.001
//! ";
//! let mut reader = Reader::from_reader(&log[..]);
//! let mut record = Record::new();
//! let mut rows = Vec::new();
//! while reader.read_record(&mut record)? {
//!     let line = record.line();
//!     let agent = line.get(Field::UserAgent).map(|v| v.decoded_str().into_owned());
//!     rows.push((line.client_ip()?.unwrap(), line.status()?, line.time_taken()?, agent));
//! }
//! assert_eq!(rows[0].1, Some(200));
//! assert_eq!(rows[0].2, Some(std::time::Duration::from_millis(82)));
//! assert_eq!(rows[0].3.as_deref(), Some("curl/7.55.1 (x)"));
//! assert_eq!(rows[1].1, Some(0)); // `000`: the viewer hung up
//! assert_eq!(rows[1].3, None);    // `-`
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Performance
//!
//! Splitting a line is one pass, 64 bytes at a time as the bits of a mask
//! (SSE2 compares on x86_64), that records where each field starts and
//! ends; nothing is copied, decoded or validated until asked for, and a
//! reused
//! [`Record`] makes reading allocation-free. `BENCHMARKS.md` in the
//! repository has the figures, measured against the fastest Rust peer.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod contract;
mod decoder;
mod error;
pub mod escape;
mod field;
mod framer;
pub mod json;
mod json_line;
mod kind;
mod line;
mod mask;
pub mod out;
mod raw;
mod reader;
mod record;
mod scan;
mod schema;
mod split_lines;
pub mod typed;
mod values;

pub use decoder::{
    DEFAULT_MAX_LINE_LEN, Decoded, Decoder, DecoderBuilder, InputFormat, Stats, UnknownInputFormat,
};
pub use error::{Error, ErrorKind, Position, Result};
pub use field::{Field, REALTIME_ORDER, STANDARD_FIELDS, ValueKind, json_key_for_name};
pub use framer::{Frame, LineFramer};
pub use json_line::{JsonLineError, JsonLineParser};
pub use kind::{FieldError, FieldProblem};
pub use line::{FieldCountError, LogLine, Value};
pub use reader::{Reader, Records};
pub use record::Record;
pub use schema::{
    Column, Delimiter, DelimiterError, ExtraKind, Family, MAX_COLUMNS, Schema, SchemaError,
};
pub use split_lines::{LineWriter, SplitLines};
pub use values::{
    FleStatus, ForwardedEntry, ForwardedFor, HttpVersion, IpVersion, Protocol, ResultType,
    SslProtocol,
};
