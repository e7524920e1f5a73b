//! Each [`ValueKind`]: what a value of it must be, and its one parser.
//!
//! These functions are the only readers of each kind: the [`LogLine`]
//! accessors, the contract's values, the JSON writer and every encoder
//! call them, and the errors they give ([`FieldError`], [`FieldProblem`])
//! name what was expected in one place. They sit under everything that
//! reads a value, and read raw bytes only.
//!
//! [`LogLine`]: crate::LogLine

use std::net::IpAddr;
use std::time::Duration;

use time::{Date, OffsetDateTime, Time};

use crate::field::{Field, ValueKind};
use crate::scan;

/// What a value of `kind` must be: the one table of the expectations that
/// errors name, for the accessors and every writer.
pub(crate) const fn problem(kind: ValueKind) -> FieldProblem {
    match kind {
        ValueKind::Integer => FieldProblem::Number("an unsigned integer"),
        ValueKind::SignedInteger => FieldProblem::Number("an integer"),
        ValueKind::Status => FieldProblem::Number("a three-digit status"),
        ValueKind::Port => FieldProblem::Number("a port"),
        ValueKind::Asn => FieldProblem::Number("an AS number"),
        ValueKind::EpochSeconds | ValueKind::EpochMillis => FieldProblem::Timestamp,
        ValueKind::Date => FieldProblem::Date,
        ValueKind::Time => FieldProblem::Time,
        ValueKind::Seconds => FieldProblem::Seconds,
        ValueKind::Ip => FieldProblem::Ip,
        ValueKind::Text
        | ValueKind::ResultType
        | ValueKind::Protocol
        | ValueKind::HttpVersion
        | ValueKind::SslProtocol
        | ValueKind::FleStatus
        | ValueKind::IpVersion => FieldProblem::Utf8,
    }
}

/// The parser of [`ValueKind::Integer`].
#[inline]
pub(crate) fn unsigned(raw: &[u8]) -> Result<u64, FieldProblem> {
    scan::parse_u64(raw).ok_or(problem(ValueKind::Integer))
}

/// The parser of [`ValueKind::SignedInteger`].
#[inline]
pub(crate) fn signed(raw: &[u8]) -> Result<i64, FieldProblem> {
    scan::parse_i64(raw).ok_or(problem(ValueKind::SignedInteger))
}

/// The parser of [`ValueKind::Status`]: three digits, `000` included.
#[inline]
pub(crate) fn status(raw: &[u8]) -> Result<u16, FieldProblem> {
    match scan::parse_u64(raw) {
        Some(n) if raw.len() == 3 => Ok(n as u16),
        _ => Err(problem(ValueKind::Status)),
    }
}

/// The parser of [`ValueKind::Port`].
#[inline]
pub(crate) fn port(raw: &[u8]) -> Result<u16, FieldProblem> {
    scan::parse_u64(raw)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(problem(ValueKind::Port))
}

/// The parser of [`ValueKind::Asn`].
#[inline]
pub(crate) fn asn(raw: &[u8]) -> Result<u32, FieldProblem> {
    scan::parse_u64(raw)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(problem(ValueKind::Asn))
}

/// The last millisecond a count of epoch milliseconds may name,
/// 9999-12-31T23:59:59.999Z: the end of the times [`epoch_millis_time`]
/// makes (and Athena reads), so a count is accepted or refused alike
/// whether or not the entry's `timestamp` is derived from it.
pub(crate) const LAST_EPOCH_MILLI: u64 = 253_402_300_799_999;

/// The parser of [`ValueKind::EpochMillis`]: the count of milliseconds, which
/// the JSON contract writes as a number (see [`epoch_millis_time`]), up to
/// [`LAST_EPOCH_MILLI`].
#[inline]
pub(crate) fn epoch_millis(raw: &[u8]) -> Result<u64, FieldProblem> {
    scan::parse_u64(raw)
        .filter(|&ms| ms <= LAST_EPOCH_MILLI)
        .ok_or(problem(ValueKind::EpochMillis))
}

/// The moment of a count of epoch milliseconds.
pub(crate) fn epoch_millis_time(ms: u64) -> Result<OffsetDateTime, FieldProblem> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| problem(ValueKind::EpochMillis))
}

/// The parser of [`ValueKind::EpochSeconds`] (`1607374321.541`).
pub(crate) fn epoch_seconds(raw: &[u8]) -> Result<OffsetDateTime, FieldProblem> {
    scan::parse_epoch_seconds(raw).ok_or(problem(ValueKind::EpochSeconds))
}

/// The parser of [`ValueKind::Date`].
#[inline]
pub(crate) fn date(raw: &[u8]) -> Result<Date, FieldProblem> {
    scan::parse_date(raw).ok_or(problem(ValueKind::Date))
}

/// The parser of [`ValueKind::Time`].
#[inline]
pub(crate) fn time(raw: &[u8]) -> Result<Time, FieldProblem> {
    scan::parse_time(raw).ok_or(problem(ValueKind::Time))
}

/// The parser of [`ValueKind::Seconds`]: exact, never through a float.
#[inline]
pub(crate) fn seconds(raw: &[u8]) -> Result<Duration, FieldProblem> {
    scan::parse_seconds(raw).ok_or(problem(ValueKind::Seconds))
}

/// The parser of [`ValueKind::Ip`].
#[inline]
pub(crate) fn ip(raw: &[u8]) -> Result<IpAddr, FieldProblem> {
    scan::parse_ip(raw).ok_or(problem(ValueKind::Ip))
}

/// The parser of the enum kinds ([`ValueKind::ResultType`] and the like),
/// as the words they are logged as: any UTF-8 (the sets are open).
#[inline]
pub(crate) fn word(raw: &[u8]) -> Result<&str, FieldProblem> {
    std::str::from_utf8(raw).map_err(|_| problem(ValueKind::ResultType))
}

/// Whether `kind` is one of the enum kinds, which [`word`] reads.
#[inline]
pub(crate) const fn is_word(kind: ValueKind) -> bool {
    matches!(
        kind,
        ValueKind::ResultType
            | ValueKind::Protocol
            | ValueKind::HttpVersion
            | ValueKind::SslProtocol
            | ValueKind::FleStatus
            | ValueKind::IpVersion
    )
}

/// A field whose value is not of its kind, from a typed accessor.
///
/// Small and `Copy`; the reader adds the position (see [`Error::field`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field {field}: {problem}")]
pub struct FieldError {
    field: Field,
    problem: FieldProblem,
}

impl FieldError {
    /// An error for `field`.
    pub const fn new(field: Field, problem: FieldProblem) -> FieldError {
        FieldError { field, problem }
    }

    /// The field whose value is wrong.
    pub const fn field(&self) -> Field {
        self.field
    }

    /// What is wrong with it.
    pub const fn problem(&self) -> FieldProblem {
        self.problem
    }
}

/// What is wrong with a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldProblem {
    /// Not a number of the expected kind, or out of its range.
    #[error("expected {0}")]
    Number(&'static str),
    /// Not a `YYYY-MM-DD` date.
    #[error("expected a YYYY-MM-DD date")]
    Date,
    /// Not an `HH:MM:SS` time.
    #[error("expected an HH:MM:SS time")]
    Time,
    /// Not an epoch timestamp.
    #[error("expected a Unix timestamp")]
    Timestamp,
    /// Not decimal seconds.
    #[error("expected decimal seconds")]
    Seconds,
    /// Not an IPv4 or IPv6 address.
    #[error("expected an IP address")]
    Ip,
    /// Not valid UTF-8 where text is required.
    #[error("invalid UTF-8")]
    Utf8,
}
