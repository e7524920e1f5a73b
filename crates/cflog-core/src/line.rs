//! A borrowed view of one parsed line.

use std::borrow::Cow;
use std::cell::Cell;
use std::net::IpAddr;
use std::time::Duration;

use time::OffsetDateTime;

use crate::escape::{self, QueryParams};
use crate::kind::{self, FieldError, FieldProblem};
use crate::raw::split_spans;
use crate::scan;
use crate::schema::{Family, Schema};
use crate::values::{FleStatus, ForwardedFor, HttpVersion, Protocol, ResultType, SslProtocol};
use crate::{Field, IpVersion};

/// A line that has the wrong number of fields for its schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} fields, found {found}")]
pub struct FieldCountError {
    /// The number of columns in the schema.
    pub expected: usize,
    /// The number of fields in the line.
    pub found: usize,
}

/// One log line split into fields, borrowing the line, where each field
/// starts and ends in it, and its schema. Nothing is copied or decoded until
/// asked for.
///
/// ```
/// use cflog_core::{Field, LogLine, Schema};
///
/// let schema = Schema::from_fields_header(b"#Fields: date time sc-status cs(User-Agent) sc-bytes")?;
/// let mut spans = Vec::new();
/// let line = LogLine::parse(b"2019-12-04\t21:02:31\t200\tcurl/8.0%20(x)\t-", &schema, &mut spans)?;
///
/// assert_eq!(line.status()?, Some(200));
/// assert_eq!(line.timestamp()?.unwrap().to_string(), "2019-12-04 21:02:31.0 +00:00:00");
/// assert_eq!(line.get(Field::UserAgent).unwrap().decoded().as_ref(), b"curl/8.0 (x)");
/// assert_eq!(line.sc_bytes()?, None); // `-`
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct LogLine<'a> {
    /// The bytes the fields are slices of: the line, then for a JSON line
    /// the values that had to be unescaped.
    bytes: &'a [u8],
    /// The line's own length in `bytes`.
    len: usize,
    /// The start and end of each field in `bytes`.
    spans: &'a [[u32; 2]],
    schema: &'a Schema,
    /// The request time once [`timestamp`](LogLine::timestamp) has read it:
    /// the time is parsed once per entry, however many readers ask (the S3
    /// destination's partition, then the encoder; `timestamp` and
    /// `timestamp_ms` of a v2 line).
    time: Cell<Option<Timestamp>>,
}

/// What [`LogLine::timestamp`] gives.
type Timestamp = Result<Option<OffsetDateTime>, FieldError>;

impl<'a> LogLine<'a> {
    /// Splits `line` by `schema`, storing where each field starts and ends
    /// in `spans` (which is grown once and then reused: keep it between
    /// calls and parsing allocates nothing).
    ///
    /// A trailing empty field beyond the schema's columns is tolerated: some
    /// AWS examples end a line with a stray TAB.
    ///
    /// # Errors
    ///
    /// When the line has another number of fields than the schema.
    #[inline]
    pub fn parse(
        line: &'a [u8],
        schema: &'a Schema,
        spans: &'a mut Vec<u32>,
    ) -> Result<LogLine<'a>, FieldCountError> {
        let expected = schema.len();
        split_spans(line, schema.delimiter(), spans, expected)
            .map_err(|found| FieldCountError { expected, found })?;
        Ok(LogLine::from_parts(
            line,
            line.len(),
            &spans[..2 * expected],
            schema,
        ))
    }

    /// Builds a view from spans already computed: `bytes[..len]` is the
    /// line, and every span lies within `bytes`.
    pub(crate) fn from_parts(
        bytes: &'a [u8],
        len: usize,
        spans: &'a [u32],
        schema: &'a Schema,
    ) -> LogLine<'a> {
        debug_assert_eq!(spans.len(), 2 * schema.len());
        let (spans, _) = spans.as_chunks();
        LogLine {
            bytes,
            len,
            spans,
            schema,
            time: Cell::new(None),
        }
    }

    /// The line with the values of some of `columns` replaced, in `bytes`
    /// and `spans` (reused from line to line): `rewrite(i, raw, out)`
    /// appends the new value of column `i` to `out` and returns `true`, or
    /// returns `false` to keep it. Columns not in `columns` are kept
    /// without asking. The line's own text ([`as_bytes`](Self::as_bytes))
    /// stays as read.
    pub(crate) fn rewritten<'s>(
        &self,
        bytes: &'s mut Vec<u8>,
        spans: &'s mut Vec<u32>,
        columns: &[usize],
        mut rewrite: impl FnMut(usize, &[u8], &mut Vec<u8>) -> bool,
    ) -> LogLine<'s>
    where
        'a: 's,
    {
        bytes.clear();
        bytes.extend_from_slice(self.bytes);
        spans.clear();
        spans.extend_from_slice(self.spans.as_flattened());
        for &i in columns {
            let Some(&[start, end]) = self.spans.get(i) else {
                continue;
            };
            let start_new = bytes.len();
            let raw = &self.bytes[start as usize..end as usize];
            if rewrite(i, raw, bytes) {
                // Spans are `u32`, as the reader's: a value that would
                // pass 4 GiB keeps the logged one.
                match (u32::try_from(start_new), u32::try_from(bytes.len())) {
                    (Ok(s), Ok(e)) => {
                        spans[2 * i] = s;
                        spans[2 * i + 1] = e;
                    }
                    _ => bytes.truncate(start_new),
                }
            } else {
                bytes.truncate(start_new);
            }
        }
        let line = LogLine::from_parts(bytes, self.len, spans, self.schema);
        // A transform that left the time's columns as they were leaves the
        // time as read.
        let time_columns = [
            Field::TimestampMs,
            Field::Timestamp,
            Field::Date,
            Field::Time,
        ];
        if time_columns
            .iter()
            .filter_map(|&field| self.schema.position(field))
            .all(|i| self.spans[i] == line.spans[i] || self.raw_at(i) == line.raw_at(i))
        {
            line.time.set(self.time.get());
        }
        line
    }

    /// The raw bytes of column `i`.
    fn raw_at(&self, i: usize) -> &[u8] {
        let [start, end] = self.spans[i];
        &self.bytes[start as usize..end as usize]
    }

    /// The whole line, as read (without its line break).
    pub fn as_bytes(&self) -> &'a [u8] {
        &self.bytes[..self.len]
    }

    /// The buffer the line lies in, which may go on past it (a record keeps
    /// some slack after its line; a JSON line's unescaped values follow
    /// it): copies may read whole chunks there and keep only a value.
    pub(crate) fn buffer(&self) -> &'a [u8] {
        self.bytes
    }

    /// The schema the line was split by.
    pub fn schema(&self) -> &'a Schema {
        self.schema
    }

    /// The number of fields (the schema's number of columns).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the line has no fields (never true of a parsed line).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The raw bytes of column `i`, exactly as logged (`-` included).
    #[inline]
    pub fn column(&self, i: usize) -> Option<&'a [u8]> {
        let [start, end] = *self.spans.get(i)?;
        self.bytes.get(start as usize..end as usize)
    }

    /// The raw bytes of `field`, exactly as logged (`-` included), or `None`
    /// when the schema has no such column.
    #[inline]
    pub fn raw(&self, field: Field) -> Option<&'a [u8]> {
        self.column(self.schema.position(field)?)
    }

    /// The value of `field`, or `None` when the schema has no such column or
    /// the value is `-` (or empty), CloudFront's mark for "no value".
    #[inline]
    pub fn get(&self, field: Field) -> Option<Value<'a>> {
        Value::new(self.raw(field)?)
    }

    /// Every column with its raw value, in line order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a crate::Column, &'a [u8])> + '_ {
        let columns = self.schema.columns().iter();
        columns
            .enumerate()
            .map(|(i, c)| (c, self.column(i).unwrap_or_default()))
    }

    /// Whether the line is plain ASCII, as CloudFront's escaping promises.
    pub fn is_ascii(&self) -> bool {
        self.as_bytes().is_ascii()
    }

    /// Parses `field` with `parse`, mapping `-` and a missing column to
    /// `None`.
    #[inline]
    fn typed<T>(
        &self,
        field: Field,
        parse: impl FnOnce(&'a [u8]) -> Result<T, FieldProblem>,
    ) -> Result<Option<T>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => parse(value.raw())
                .map(Some)
                .map_err(|p| FieldError::new(field, p)),
        }
    }

    /// An unsigned integer field, such as `sc-bytes`.
    pub fn u64(&self, field: Field) -> Result<Option<u64>, FieldError> {
        self.typed(field, kind::unsigned)
    }

    /// A signed integer field, such as `sc-range-start`.
    pub fn i64(&self, field: Field) -> Result<Option<i64>, FieldError> {
        self.typed(field, kind::signed)
    }

    /// A duration in decimal seconds, such as `time-taken`, read exactly
    /// (`0.082` is 82 ms, with no floating-point round trip).
    pub fn seconds(&self, field: Field) -> Result<Option<Duration>, FieldError> {
        self.typed(field, kind::seconds)
    }

    /// An IP address field, such as `c-ip`.
    pub fn ip(&self, field: Field) -> Result<Option<IpAddr>, FieldError> {
        self.typed(field, kind::ip)
    }

    /// When the request finished, in UTC.
    ///
    /// Taken from the most precise source the schema has: `timestamp(ms)`
    /// (v2), then `timestamp` (epoch seconds; real-time logs add
    /// milliseconds), then `date` and `time` (1 s resolution).
    pub fn timestamp(&self) -> Result<Option<OffsetDateTime>, FieldError> {
        if let Some(time) = self.time.get() {
            return time;
        }
        let time = self.read_timestamp();
        self.time.set(Some(time));
        time
    }

    /// Whether [`timestamp`](LogLine::timestamp) has read the time, and
    /// found its values valid (or missing).
    #[inline]
    pub(crate) fn timestamp_was_read(&self) -> bool {
        matches!(self.time.get(), Some(Ok(_)))
    }

    /// `field`'s milliseconds as [`timestamp`](LogLine::timestamp) read
    /// them, when `field` is `timestamp(ms)` and it has.
    #[inline]
    pub(crate) fn millis_read(&self, field: Field) -> Option<u64> {
        match self.time.get() {
            Some(Ok(Some(time))) if field == Field::TimestampMs => {
                // Read from the count of milliseconds itself (the timestamp
                // prefers it), so the count is whole and not negative.
                u64::try_from(time.unix_timestamp() * 1000 + i64::from(time.millisecond())).ok()
            }
            _ => None,
        }
    }

    /// The request time, read from the line.
    fn read_timestamp(&self) -> Result<Option<OffsetDateTime>, FieldError> {
        if self.schema.contains(Field::TimestampMs) {
            return self.typed(Field::TimestampMs, |raw| {
                kind::epoch_millis(raw).and_then(kind::epoch_millis_time)
            });
        }
        if self.schema.contains(Field::Timestamp) {
            return self.typed(Field::Timestamp, kind::epoch_seconds);
        }
        let date = self.typed(Field::Date, kind::date)?;
        let time = self.typed(Field::Time, kind::time)?;
        Ok(date
            .zip(time)
            .map(|(date, time)| scan::date_time(date, time)))
    }

    /// Whether [`timestamp`](LogLine::timestamp) has millisecond precision.
    pub fn timestamp_has_millis(&self) -> bool {
        self.schema.contains(Field::TimestampMs)
            || self
                .raw(Field::Timestamp)
                .is_some_and(|raw| raw.contains(&b'.'))
    }

    /// `sc-status`; `0` for `000`, the viewer hanging up before the response.
    pub fn status(&self) -> Result<Option<u16>, FieldError> {
        self.typed(Field::Status, kind::status)
    }

    /// `sc-bytes`: bytes sent to the viewer.
    pub fn sc_bytes(&self) -> Result<Option<u64>, FieldError> {
        self.u64(Field::ScBytes)
    }

    /// `cs-bytes`: bytes received from the viewer.
    pub fn cs_bytes(&self) -> Result<Option<u64>, FieldError> {
        self.u64(Field::CsBytes)
    }

    /// `sc-content-len`: the response `Content-Length`.
    pub fn content_len(&self) -> Result<Option<u64>, FieldError> {
        self.u64(Field::ContentLen)
    }

    /// `sc-range-start`; it can be negative.
    pub fn range_start(&self) -> Result<Option<i64>, FieldError> {
        self.i64(Field::RangeStart)
    }

    /// `sc-range-end`; it can be negative.
    pub fn range_end(&self) -> Result<Option<i64>, FieldError> {
        self.i64(Field::RangeEnd)
    }

    /// `c-port`: the viewer's source port.
    pub fn client_port(&self) -> Result<Option<u16>, FieldError> {
        self.typed(Field::ClientPort, kind::port)
    }

    /// `asn`: the viewer's autonomous system number.
    pub fn asn(&self) -> Result<Option<u32>, FieldError> {
        self.typed(Field::Asn, kind::asn)
    }

    /// `c-ip`: the viewer's address.
    pub fn client_ip(&self) -> Result<Option<IpAddr>, FieldError> {
        self.ip(Field::ClientIp)
    }

    /// `time-taken`.
    pub fn time_taken(&self) -> Result<Option<Duration>, FieldError> {
        self.seconds(Field::TimeTaken)
    }

    /// `time-to-first-byte`.
    pub fn time_to_first_byte(&self) -> Result<Option<Duration>, FieldError> {
        self.seconds(Field::TimeToFirstByte)
    }

    /// `origin-fbl`: first-byte latency to the origin.
    pub fn origin_fbl(&self) -> Result<Option<Duration>, FieldError> {
        self.seconds(Field::OriginFbl)
    }

    /// `origin-lbl`: last-byte latency to the origin.
    pub fn origin_lbl(&self) -> Result<Option<Duration>, FieldError> {
        self.seconds(Field::OriginLbl)
    }

    /// A result-type field: `x-edge-result-type`,
    /// `x-edge-response-result-type` or `x-edge-detailed-result-type`.
    pub fn result_type(&self, field: Field) -> Result<Option<ResultType<'a>>, FieldError> {
        self.typed(field, ResultType::parse_bytes)
    }

    /// `x-edge-result-type`.
    pub fn edge_result_type(&self) -> Result<Option<ResultType<'a>>, FieldError> {
        self.result_type(Field::EdgeResultType)
    }

    /// `x-edge-response-result-type`.
    pub fn edge_response_result_type(&self) -> Result<Option<ResultType<'a>>, FieldError> {
        self.result_type(Field::EdgeResponseResultType)
    }

    /// `x-edge-detailed-result-type`.
    pub fn edge_detailed_result_type(&self) -> Result<Option<ResultType<'a>>, FieldError> {
        self.result_type(Field::EdgeDetailedResultType)
    }

    /// `cs-protocol`.
    pub fn protocol(&self) -> Result<Option<Protocol<'a>>, FieldError> {
        self.typed(Field::Protocol, Protocol::parse_bytes)
    }

    /// `cs-protocol-version`.
    pub fn http_version(&self) -> Result<Option<HttpVersion<'a>>, FieldError> {
        self.typed(Field::ProtocolVersion, HttpVersion::parse_bytes)
    }

    /// `ssl-protocol`.
    pub fn ssl_protocol(&self) -> Result<Option<SslProtocol<'a>>, FieldError> {
        self.typed(Field::SslProtocol, SslProtocol::parse_bytes)
    }

    /// `fle-status`.
    pub fn fle_status(&self) -> Result<Option<FleStatus<'a>>, FieldError> {
        self.typed(Field::FleStatus, FleStatus::parse_bytes)
    }

    /// `c-ip-version` (real-time logs).
    pub fn ip_version(&self) -> Result<Option<IpVersion<'a>>, FieldError> {
        self.typed(Field::IpVersion, IpVersion::parse_bytes)
    }

    /// The entries of `x-forwarded-for`.
    pub fn forwarded_for(&self) -> Option<ForwardedFor<'a>> {
        Some(ForwardedFor::new(self.get(Field::ForwardedFor)?.raw()))
    }

    /// The raw, escaped path. In real-time logs `cs-uri-stem` includes the
    /// query string; this strips it, so that both families agree.
    pub fn uri_stem(&self) -> Option<Value<'a>> {
        let stem = self.get(Field::UriStem)?;
        if self.schema.family() == Family::Realtime
            && let Some(q) = memchr::memchr(b'?', stem.raw())
        {
            return Value::new(&stem.raw()[..q]);
        }
        Some(stem)
    }

    /// The raw, escaped query string, without `?`: `cs-uri-query`, or in
    /// real-time logs without that column, the part of `cs-uri-stem` after
    /// `?`.
    pub fn uri_query(&self) -> Option<Value<'a>> {
        if let Some(query) = self.raw(Field::UriQuery) {
            return Value::new(query);
        }
        if self.schema.family() == Family::Realtime {
            let stem = self.get(Field::UriStem)?.raw();
            let q = memchr::memchr(b'?', stem)?;
            return Value::new(&stem[q + 1..]);
        }
        None
    }

    /// The query parameters, fully decoded (see [`QueryParams`]).
    pub fn query_params(&self) -> Option<QueryParams<'a>> {
        Some(QueryParams::new(self.uri_query()?.raw()))
    }
}

/// The value of one field: its raw bytes, never `-`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a [u8],
}

impl<'a> Value<'a> {
    /// `None` for CloudFront's empty marks, `-` and the empty string.
    #[inline]
    pub fn new(raw: &'a [u8]) -> Option<Value<'a>> {
        match raw {
            b"-" | b"" => None,
            raw => Some(Value { raw }),
        }
    }

    /// The bytes exactly as logged, still escaped.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The value as an address, read as every output reads a
    /// [`ValueKind::Ip`](crate::ValueKind::Ip) field (the kind's one
    /// parser); `None` when it is not one.
    ///
    /// ```
    /// use cflog_core::Value;
    /// let ip = |raw: &[u8]| Value::new(raw)?.ip();
    /// assert_eq!(ip(b"192.0.2.1"), Some("192.0.2.1".parse()?));
    /// assert_eq!(ip(b"2001:db8::7"), Some("2001:db8::7".parse()?));
    /// assert_eq!(ip(b"192.0.2.1:443"), None);
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    #[inline]
    pub fn ip(&self) -> Option<IpAddr> {
        kind::ip(self.raw).ok()
    }

    /// The raw value as text, when it is UTF-8 (logged values are ASCII).
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.raw).ok()
    }

    /// The value with one level of CloudFront's `%XX` escaping undone;
    /// borrows when there is no `%`. See [`escape::decode`].
    pub fn decoded(&self) -> Cow<'a, [u8]> {
        escape::decode(self.raw)
    }

    /// [`decoded`](Value::decoded) as text, with invalid UTF-8 replaced by
    /// U+FFFD.
    pub fn decoded_str(&self) -> Cow<'a, str> {
        // One UTF-8 check on the common (valid) path; lossy only on failure.
        match self.decoded() {
            Cow::Borrowed(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            },
            Cow::Owned(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Cow::Owned(text),
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_is_read_once_and_kept_by_a_rewrite_that_leaves_it() {
        let schema = Schema::from_names(["date", "time", "c-ip", "timestamp(ms)"]).unwrap();
        let mut spans = Vec::new();
        let line = LogLine::parse(
            b"2019-12-04\t21:02:31\t192.0.2.1\t1575493351541",
            &schema,
            &mut spans,
        )
        .unwrap();
        assert!(!line.timestamp_was_read());
        let time = line.timestamp().unwrap().unwrap();
        assert!(line.timestamp_was_read());
        // `timestamp(ms)` wins over date and time; its count comes back whole.
        assert_eq!(time.unix_timestamp_nanos(), 1_575_493_351_541_000_000);
        assert_eq!(
            line.millis_read(Field::TimestampMs),
            Some(1_575_493_351_541)
        );
        assert_eq!(line.millis_read(Field::ScBytes), None);

        let (mut bytes, mut new_spans) = (Vec::new(), Vec::new());
        let ip = schema.position(Field::ClientIp).unwrap();
        let every: Vec<usize> = (0..schema.len()).collect();
        let kept = line.rewritten(&mut bytes, &mut new_spans, &every, |i, _, out| {
            out.extend_from_slice(b"192.0.2.0");
            i == ip
        });
        assert!(kept.timestamp_was_read());
        assert_eq!(kept.timestamp().unwrap(), Some(time));

        let (mut bytes, mut new_spans) = (Vec::new(), Vec::new());
        let ms = schema.position(Field::TimestampMs).unwrap();
        let moved = line.rewritten(&mut bytes, &mut new_spans, &every, |i, _, out| {
            out.extend_from_slice(b"1575493351000");
            i == ms
        });
        assert!(!moved.timestamp_was_read());
        assert_eq!(moved.timestamp().unwrap().unwrap().millisecond(), 0);
    }

    #[test]
    fn field_count_is_checked_and_a_trailing_empty_cell_tolerated() {
        let schema = Schema::from_names(["sc-status", "b", "c"]).unwrap();
        let mut spans = Vec::new();
        assert!(LogLine::parse(b"1\t2\t3", &schema, &mut spans).is_ok());
        let line = LogLine::parse(b"1\t2\t3\t", &schema, &mut spans).unwrap();
        assert_eq!(line.column(2), Some(&b"3"[..]));
        assert_eq!(line.column(3), None);
        assert_eq!(
            LogLine::parse(b"1\t2", &schema, &mut spans).unwrap_err(),
            FieldCountError {
                expected: 3,
                found: 2
            }
        );
        assert_eq!(
            LogLine::parse(b"1\t2\t3\t4", &schema, &mut spans).unwrap_err(),
            FieldCountError {
                expected: 3,
                found: 4
            }
        );
        assert_eq!(
            LogLine::parse(b"1\t2\t3\t\t", &schema, &mut spans).unwrap_err(),
            FieldCountError {
                expected: 3,
                found: 5
            }
        );
    }

    #[test]
    fn dash_and_missing_columns_are_none() {
        let schema = Schema::from_names(["sc-status", "sc-bytes", "c-ip"]).unwrap();
        let mut spans = Vec::new();
        let line = LogLine::parse(
            b"000\t-\t2001:0db8:85a3::8a2e:0370:7334",
            &schema,
            &mut spans,
        )
        .unwrap();
        assert_eq!(line.status(), Ok(Some(0)));
        assert_eq!(line.sc_bytes(), Ok(None));
        assert_eq!(line.raw(Field::ScBytes), Some(&b"-"[..]));
        assert_eq!(line.cs_bytes(), Ok(None));
        assert_eq!(line.raw(Field::CsBytes), None);
        assert_eq!(
            line.client_ip(),
            Ok(Some("2001:db8:85a3::8a2e:370:7334".parse().unwrap()))
        );
    }

    #[test]
    fn bad_values_are_field_errors() {
        let schema = Schema::from_names([
            "sc-status",
            "sc-bytes",
            "c-ip",
            "time-taken",
            "date",
            "time",
        ])
        .unwrap();
        let mut spans = Vec::new();
        let line = LogLine::parse(
            b"2x0\t12a\t1.2.3\t0,5\t2019-13-01\t25:00:00",
            &schema,
            &mut spans,
        )
        .unwrap();
        assert_eq!(line.status().unwrap_err().field(), Field::Status);
        assert_eq!(line.sc_bytes().unwrap_err().field(), Field::ScBytes);
        assert_eq!(line.client_ip().unwrap_err().problem(), FieldProblem::Ip);
        assert_eq!(
            line.time_taken().unwrap_err().problem(),
            FieldProblem::Seconds
        );
        assert_eq!(line.timestamp().unwrap_err().problem(), FieldProblem::Date);
        assert_eq!(
            line.status().unwrap_err().to_string(),
            "field sc-status: expected a three-digit status"
        );
    }

    #[test]
    fn realtime_stem_and_query_are_split() {
        let (schema, _) = Schema::realtime(["cs-uri-stem", "sc-status"]).unwrap();
        let mut spans = Vec::new();
        let line = LogLine::parse(b"200\t/i?e=pp&url=http%253A", &schema, &mut spans);
        // Canonical order puts sc-status (5) before cs-uri-stem (10).
        let line = line.unwrap();
        assert_eq!(line.uri_stem().unwrap().raw(), b"/i");
        assert_eq!(line.uri_query().unwrap().raw(), b"e=pp&url=http%253A");
        assert_eq!(
            line.query_params().unwrap().get("url").as_deref(),
            Some("http:")
        );
    }

    #[test]
    fn multi_byte_delimiters() {
        let schema = Schema::from_names(["sc-status", "cs-uri-stem"])
            .unwrap()
            .with_delimiter(crate::Delimiter::new(b"||").unwrap());
        let mut spans = Vec::new();
        let line = LogLine::parse(b"404||/a%7Cb", &schema, &mut spans).unwrap();
        assert_eq!(line.status(), Ok(Some(404)));
        assert_eq!(
            line.get(Field::UriStem).unwrap().decoded().as_ref(),
            b"/a|b"
        );
    }
}
