//! The JSON contract: one object per log entry.
//!
//! This shape is shared by every cflog output (the Lambda's NDJSON, the
//! CLI's default format), so downstream queries work on all of them:
//!
//! - Keys are CloudFront's field names in snake_case, as its Parquet output
//!   names them: `cs(User-Agent)` → `cs_user_agent`, `timestamp(ms)` →
//!   `timestamp_ms` (see [`Field::json_key`]). Unknown columns get a key by
//!   the same rule ([`json_key_for_name`](crate::json_key_for_name)).
//! - `date` and `time` (or `timestamp`) become one `timestamp`, an RFC 3339
//!   UTC string, with milliseconds when the source has them.
//! - Numbers are JSON numbers; durations are seconds (`0.082`); `-` is `null`.
//! - Text is decoded one level ([`Value::decoded`](crate::Value::decoded));
//!   bytes that are not UTF-8 become U+FFFD.
//! - `query_params` follows `cs_uri_query`: an object of the fully decoded
//!   parameters, where a repeated key holds an array.
//! - Real-time logs use the same keys by meaning; their `cs_uri_stem` is the
//!   path only, and `cs_uri_query` is taken from it.

use std::fmt;
use std::io::Write;
use std::net::IpAddr;

use serde::ser::{Serialize, SerializeMap, Serializer};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::contract::{
    Applied, DerivedValues, Item, Selection, TypedValue, derived_value, item_key, item_value,
    no_values, plan,
};
use crate::field::{Field, ValueKind};
use crate::kind;
use crate::kind::FieldError;
use crate::line::{LogLine, Value};
use crate::schema::{ExtraKind, Family, Schema};

mod entry_text;
mod ip;
mod number;
mod query;
mod text;
use crate::out::Out;
use ip::{write_ip, write_ipv6};
use number::{
    write_seconds, write_seconds_checked, write_signed, write_status_checked, write_unsigned,
    write_unsigned_checked,
};
use query::{QueryScratch, write_query_params};
use text::{copy_if_plain, decode_if_plain, write_string, write_text};

pub use entry_text::{EntryText, TextSpan};

/// Writes log lines as JSON objects, caching the layout per schema.
///
/// This is the fast path for output; `LogLine` also implements
/// [`Serialize`] with every column, for use with any serde serializer.
///
/// ```
/// use cflog_core::{contract::Selection, json::JsonWriter, LogLine, Schema};
///
/// let schema = Schema::from_fields_header(b"#Fields: date time sc-status cs-uri-query time-taken")?;
/// let mut ends = Vec::new();
/// let line = LogLine::parse(b"2019-12-04\t21:02:31\t200\tq=a%2520b+c&q=d\t0.082", &schema, &mut ends)?;
///
/// let mut writer = JsonWriter::new(Selection::all());
/// let mut out = Vec::new();
/// writer.write(&line, &mut out)?;
/// assert_eq!(
///     String::from_utf8(out)?,
///     r#"{"timestamp":"2019-12-04T21:02:31Z","sc_status":200,"cs_uri_query":"q=a%20b+c&q=d","query_params":{"q":["a b c","d"]},"time_taken":0.082}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonWriter {
    selection: Selection,
    schema_id: u64,
    /// Each slot's key, resolved once per schema.
    keys: Vec<KeyPrefix>,
    slots: Vec<Slot>,
    /// Buffers reused for decoding escaped text and query strings.
    scratch: Scratch,
    /// Where each line is written before it is appended to the output.
    buf: Vec<u8>,
    /// The buffers of the contract's derived keys and transforms.
    applied: Applied,
}

/// An item resolved against a schema, so that writing a line does no
/// lookups. Each kind of column has a variant of its own, so that writing a
/// slot takes one jump, not one to the column and one to its kind.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// A column of escaped text, known or not: decoded one level.
    Text { col: usize },
    /// An unsigned integer column, up to `max`, which any number of up to
    /// `short` digits is (see [`number::short_digits`]).
    Unsigned {
        col: usize,
        field: Field,
        max: u64,
        short: usize,
    },
    /// v2's `timestamp(ms)`: an unsigned integer up to the last
    /// millisecond of year 9999, which the timestamp is read from.
    TimestampMs { col: usize, field: Field },
    /// A signed integer column.
    Signed { col: usize, field: Field },
    /// A three-digit status.
    Status { col: usize, field: Field },
    /// An IP address column.
    Ip { col: usize, field: Field },
    /// Decimal seconds.
    Seconds { col: usize, field: Field },
    /// A column of one of a few words (result types, protocols), which are
    /// not escaped: written as they are.
    Word { col: usize, field: Field },
    /// A selected field this schema lacks.
    Missing,
    /// The timestamp of a schema with `date` and `time` only.
    DateTime {
        date: Option<usize>,
        time: Option<usize>,
    },
    /// The parameters of a `cs-uri-query` column.
    QueryParams { col: usize },
    /// A derived key's value, read straight from the derives' values
    /// (seven of them a line with the enrichments on).
    Derived(u16),
    /// Anything else that needs the whole line (epoch times, real-time
    /// URIs, an explicitly selected time column).
    Item(Item),
}

fn slot(item: Item, schema: &Schema, contract: &crate::contract::Contract) -> Slot {
    let realtime = schema.family() == Family::Realtime;
    match item {
        Item::Timestamp
            if !schema.contains(Field::TimestampMs) && !schema.contains(Field::Timestamp) =>
        {
            Slot::DateTime {
                date: schema.position(Field::Date),
                time: schema.position(Field::Time),
            }
        }
        Item::QueryParams => match schema.position(Field::UriQuery) {
            Some(col) => Slot::QueryParams { col },
            None => Slot::Item(item),
        },
        // Typed by its source (cflog's own Parquet): read by its kind.
        Item::Extra(col) => match schema.columns()[col].extra_kind() {
            Some(ExtraKind::Text) | None => Slot::Text { col },
            Some(_) => Slot::Item(item),
        },
        Item::Field(Field::UriStem) if realtime => Slot::Item(item),
        Item::Field(Field::UriQuery) if realtime && !schema.contains(Field::UriQuery) => {
            Slot::Item(item)
        }
        Item::Field(field) => match (contract.field_kind(field), schema.position(field)) {
            (ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds, _) => Slot::Item(item),
            (_, None) => Slot::Missing,
            (kind, Some(col)) => column_slot(col, field, kind),
        },
        // Computed from the entry: written from its typed value.
        Item::Derived(i) => Slot::Derived(i),
        Item::Timestamp => Slot::Item(item),
    }
}

/// The line that `selection`'s outputs read for `line`, and the values of
/// its derived keys: `line` itself when the contract is plain.
#[inline(always)]
pub(crate) fn apply<'s>(
    selection: &Selection,
    line: &LogLine<'s>,
    applied: &'s mut Applied,
) -> Result<(LogLine<'s>, &'s DerivedValues), FieldError> {
    let contract = selection.contract();
    if contract.is_plain() {
        return Ok((line.clone(), no_values()));
    }
    contract.apply(line, applied)
}

/// The slot of column `col`, of `field` and its `kind` (not a time).
fn column_slot(col: usize, field: Field, kind: ValueKind) -> Slot {
    let unsigned = |max| Slot::Unsigned {
        col,
        field,
        max,
        short: number::short_digits(max),
    };
    match kind {
        ValueKind::Text => Slot::Text { col },
        ValueKind::Integer => unsigned(u64::MAX),
        ValueKind::EpochMillis if field == Field::TimestampMs => Slot::TimestampMs { col, field },
        ValueKind::EpochMillis => unsigned(kind::LAST_EPOCH_MILLI),
        ValueKind::Port => unsigned(u16::MAX.into()),
        ValueKind::Asn => unsigned(u32::MAX.into()),
        ValueKind::SignedInteger => Slot::Signed { col, field },
        ValueKind::Status => Slot::Status { col, field },
        ValueKind::Ip => Slot::Ip { col, field },
        ValueKind::Seconds => Slot::Seconds { col, field },
        ValueKind::ResultType
        | ValueKind::Protocol
        | ValueKind::HttpVersion
        | ValueKind::SslProtocol
        | ValueKind::FleStatus
        | ValueKind::IpVersion => Slot::Word { col, field },
        ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds => {
            unreachable!("time columns are items")
        }
    }
}

/// The `"key":` prefix of one slot, followed by `null`, so that a key (with
/// or without `null`) is copied in one go.
#[derive(Debug)]
struct KeyPrefix {
    /// The prefix and `null`, padded to a fixed size: copying it compiles
    /// to a few moves rather than a `memcpy` call.
    chunk: [u8; KEY_CHUNK],
    /// The prefix's length.
    len: usize,
    /// The prefix and `null` when they do not fit in `chunk`.
    long: Box<[u8]>,
}

const KEY_CHUNK: usize = 48;

impl KeyPrefix {
    /// The keys of a schema's slots, in order.
    fn all(keys: impl Iterator<Item = impl AsRef<str>>) -> Vec<KeyPrefix> {
        let mut prefix = Vec::new();
        keys.enumerate()
            .map(|(i, key)| {
                prefix.clear();
                // The first key opens the object.
                prefix.push(if i == 0 { b'{' } else { b',' });
                // Writing a `str` into a `Vec` cannot fail.
                let _ = serde_json::to_writer(&mut prefix, key.as_ref());
                prefix.push(b':');
                let len = prefix.len();
                prefix.extend_from_slice(b"null");
                let mut chunk = [0; KEY_CHUNK];
                let long = match chunk.get_mut(..prefix.len()) {
                    Some(head) => {
                        head.copy_from_slice(&prefix);
                        Box::default()
                    }
                    None => prefix.as_slice().into(),
                };
                KeyPrefix { chunk, len, long }
            })
            .collect()
    }

    /// Appends the prefix, and `null` after it if `null`.
    #[inline(always)]
    fn write(&self, null: bool, out: &mut Out<'_>) {
        let len = self.len + if null { 4 } else { 0 };
        if self.long.is_empty() {
            out.put_chunk(&self.chunk, len);
        } else {
            out.extend_from_slice(&self.long[..len]);
        }
    }
}

/// Buffers reused between lines, so that writing allocates nothing once
/// they have grown.
#[derive(Debug, Default)]
struct Scratch {
    /// Decoded text that needs JSON escaping.
    text: Vec<u8>,
    query: QueryScratch,
}

impl JsonWriter {
    /// A writer for `selection`.
    pub fn new(selection: Selection) -> JsonWriter {
        JsonWriter {
            selection,
            schema_id: 0,
            keys: Vec::new(),
            slots: Vec::new(),
            scratch: Scratch::default(),
            buf: Vec::new(),
            applied: Applied::default(),
        }
    }

    /// The selection.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// Appends `line` to `out` as one JSON object (no line break).
    ///
    /// # Errors
    ///
    /// When a selected field's value is not of its kind, such as a byte count
    /// that is not a number. Nothing is appended then.
    pub fn write(&mut self, line: &LogLine<'_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
        self.prepare(line.schema());
        let JsonWriter {
            selection,
            keys,
            slots,
            scratch,
            buf,
            applied,
            ..
        } = self;
        let (line, values) = apply(selection, line, applied)?;
        // Room for the usual line many times over (values seldom grow);
        // a line that needs more is written again into twice the room,
        // which is never nothing (no keys on an empty line).
        let mut room = 64 + (KEY_CHUNK + 64) * slots.len() + 8 * line.as_bytes().len();
        loop {
            if buf.len() < room {
                buf.resize(room, 0);
            }
            if let Some(len) = write_slots(keys, slots, scratch, &line, values, buf)? {
                out.extend_from_slice(&buf[..len]);
                return Ok(());
            }
            room = 2 * buf.len();
        }
    }

    /// Writes `line` as one JSON object at the start of `buf`, and returns
    /// its length, or `None` when it does not fit (what was written then is
    /// not a whole object).
    ///
    /// This is [`write`](JsonWriter::write) for outputs that gather lines
    /// in a block of their own: writing straight into the block saves a copy
    /// of every line.
    ///
    /// # Errors
    ///
    /// As for [`write`](JsonWriter::write).
    ///
    /// ```
    /// use cflog_core::{contract::Selection, json::JsonWriter, LogLine, Schema};
    ///
    /// let schema = Schema::from_fields_header(b"#Fields: sc-status cs-uri-stem")?;
    /// let mut ends = Vec::new();
    /// let line = LogLine::parse(b"404\t/a%20b", &schema, &mut ends)?;
    ///
    /// let mut writer = JsonWriter::new(Selection::all());
    /// let mut block = [0u8; 64];
    /// let len = writer.write_to_slice(&line, &mut block)?.expect("it fits");
    /// assert_eq!(&block[..len], br#"{"sc_status":404,"cs_uri_stem":"/a b"}"#);
    /// assert_eq!(writer.write_to_slice(&line, &mut block[..16])?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_to_slice(
        &mut self,
        line: &LogLine<'_>,
        buf: &mut [u8],
    ) -> Result<Option<usize>, FieldError> {
        self.prepare(line.schema());
        let (line, values) = apply(&self.selection, line, &mut self.applied)?;
        write_slots(
            &self.keys,
            &self.slots,
            &mut self.scratch,
            &line,
            values,
            buf,
        )
    }

    /// Resolves the slots of `schema`, unless they are those of the last
    /// line's schema.
    #[inline]
    fn prepare(&mut self, schema: &Schema) {
        if schema.id() != self.schema_id {
            let items = plan(&self.selection, schema);
            let selection = &self.selection;
            self.keys = KeyPrefix::all(items.iter().map(|&item| item_key(item, selection, schema)));
            self.slots = items
                .into_iter()
                .map(|item| slot(item, schema, self.selection.contract()))
                .collect();
            self.schema_id = schema.id();
        }
    }
}

/// Writes the object of `line` at the start of `buf`; its length, or
/// `None` when it did not fit.
///
/// `buf` is an argument, not a field, so that the compiler knows that
/// nothing else points into it: writing a byte then does not make it reload
/// the position or the line.
fn write_slots<'a>(
    keys: &[KeyPrefix],
    slots: &[Slot],
    scratch: &mut Scratch,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
    buf: &mut [u8],
) -> Result<Option<usize>, FieldError> {
    let mut out = Out::new(buf);
    for (key, slot) in keys.iter().zip(slots) {
        write_slot(key, scratch, *slot, line, values, &mut out)?;
    }
    // The first key opened the object.
    if slots.is_empty() {
        out.extend_from_slice(b"{}");
    } else {
        out.push(b'}');
    }
    Ok((!out.overflowed()).then_some(out.len()))
}

/// Appends a slot's key and value.
#[inline(always)]
fn write_slot<'a>(
    key: &KeyPrefix,
    scratch: &mut Scratch,
    slot: Slot,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
    out: &mut Out<'_>,
) -> Result<(), FieldError> {
    let value = |col| line.column(col).and_then(Value::new);
    let bytes = line.buffer();
    // The key, and `null` or the value of column `col` as `write` writes
    // its raw bytes.
    macro_rules! column {
        ($col:expr, |$raw:ident| $write:expr) => {
            match value($col) {
                Some(value) => {
                    key.write(false, out);
                    let $raw = value.raw();
                    $write
                }
                None => key.write(true, out),
            }
        };
    }
    let fail = |field, problem| FieldError::new(field, problem);
    match slot {
        Slot::Text { col } => column!(col, |raw| {
            // Most text has no escapes; when it has, they are dense.
            if !copy_if_plain::<false>(raw, bytes, out)
                && !decode_if_plain(raw, bytes, out, &mut scratch.text)
            {
                out.detached(|out| write_text(raw, out, &mut scratch.text));
            }
        }),
        Slot::Unsigned {
            col,
            field,
            max,
            short,
        } => column!(col, |raw| {
            if !write_unsigned_checked(raw, max, short, bytes, out) {
                return Err(fail(field, kind::problem(field.kind())));
            }
        }),
        Slot::TimestampMs { col, field } => column!(col, |raw| {
            if !write_millis(line, raw, bytes, out) {
                return Err(fail(field, kind::problem(ValueKind::EpochMillis)));
            }
        }),
        Slot::Signed { col, field } => column!(col, |raw| {
            let n = kind::signed(raw).map_err(|problem| fail(field, problem))?;
            write_signed(n, raw, bytes, out);
        }),
        Slot::Status { col, field } => column!(col, |raw| {
            if !write_status_checked(raw, bytes, out) {
                return Err(fail(field, kind::problem(ValueKind::Status)));
            }
        }),
        Slot::Ip { col, field } => column!(col, |raw| {
            write_ip(raw, bytes, out).map_err(|problem| fail(field, problem))?
        }),
        Slot::Seconds { col, field } => column!(col, |raw| {
            if !write_seconds_checked(raw, bytes, out) {
                return Err(fail(field, kind::problem(ValueKind::Seconds)));
            }
        }),
        Slot::Word { col, field } => column!(col, |raw| {
            if !copy_if_plain::<true>(raw, bytes, out) {
                if !raw.is_ascii() && std::str::from_utf8(raw).is_err() {
                    return Err(fail(field, kind::problem(field.kind())));
                }
                out.detached(|out| write_string(raw, out));
            }
        }),
        Slot::Missing => key.write(true, out),
        Slot::DateTime { date, time } => {
            let date = date.and_then(value).map(|v| v.raw());
            let time = time.and_then(value).map(|v| v.raw());
            match checked_date_time(line, date, time)? {
                Some((date, time)) => {
                    key.write(false, out);
                    write_date_time(date, time, out);
                }
                None => key.write(true, out),
            }
        }
        Slot::QueryParams { col } => column!(col, |raw| {
            out.detached(|out| write_query_params(raw, bytes, out, &mut scratch.query));
        }),
        Slot::Derived(i) => match derived_value(values, usize::from(i)) {
            Some(TypedValue::Word(text)) => {
                key.write(false, out);
                write_string(text.as_bytes(), out);
            }
            Some(TypedValue::Boolean(value)) => {
                key.write(false, out);
                out.extend_from_slice(boolean_text(value));
            }
            Some(value) => {
                key.write(false, out);
                out.detached(|out| write_value(&value, out, scratch));
            }
            None => key.write(true, out),
        },
        Slot::Item(item) => match item_value(item, line, values)? {
            Some(value) => {
                key.write(false, out);
                out.detached(|out| write_value(&value, out, scratch));
            }
            None => key.write(true, out),
        },
    }
    Ok(())
}

/// Writes `raw`, the `timestamp(ms)` of `line`, as a number; false,
/// having written nothing, when it is not a count of milliseconds.
///
/// The timestamp of a line with `timestamp(ms)` is read from it, and the
/// timestamp is nearly always read first (it comes first in the plan, and
/// the S3 destination reads it for the partition): its digits are then
/// known to be good, and are not checked a second time.
#[inline(always)]
fn write_millis(line: &LogLine<'_>, raw: &[u8], bytes: &[u8], out: &mut Out<'_>) -> bool {
    if line.timestamp_was_read() {
        write_unsigned(raw, bytes, out);
        return true;
    }
    let max = kind::LAST_EPOCH_MILLI;
    write_unsigned_checked(raw, max, number::short_digits(max), bytes, out)
}

/// The `date` and `time` values of `line`, checked as
/// [`LogLine::timestamp`] checks them (the date first), unless it already
/// has (for the S3 destination's partition); `None` when either is missing.
#[allow(clippy::type_complexity)]
fn checked_date_time<'a>(
    line: &LogLine<'_>,
    date: Option<&'a [u8]>,
    time: Option<&'a [u8]>,
) -> Result<Option<(&'a [u8], &'a [u8])>, FieldError> {
    if line.timestamp_was_read() {
        return Ok(date.zip(time));
    }
    if let Some(date) = date {
        kind::date(date).map_err(|problem| FieldError::new(Field::Date, problem))?;
    }
    if let Some(time) = time {
        kind::time(time).map_err(|problem| FieldError::new(Field::Time, problem))?;
    }
    Ok(date.zip(time))
}

/// A valid `YYYY-MM-DD` and `HH:MM:SS` are already the digits of the RFC
/// 3339 form that [`write_timestamp`] writes.
#[inline(always)]
fn write_date_time(date: &[u8], time: &[u8], out: &mut Out<'_>) {
    let mut text = [0u8; 22];
    text[0] = b'"';
    text[1..11].copy_from_slice(date);
    text[11] = b'T';
    text[12..20].copy_from_slice(time);
    text[20..].copy_from_slice(b"Z\"");
    out.extend_from_slice(&text);
}

/// A boolean as JSON writes it, and a delimited cell.
pub(crate) const fn boolean_text(value: bool) -> &'static [u8] {
    if value { b"true" } else { b"false" }
}

/// Writes `value` as JSON. Writing into a `Vec` cannot fail.
fn write_value(value: &TypedValue<'_>, out: &mut Out<'_>, scratch: &mut Scratch) {
    match value {
        TypedValue::Text(value) => write_text(value.raw(), out, &mut scratch.text),
        TypedValue::Word(text) => write_string(text.as_bytes(), out),
        TypedValue::Unsigned(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        TypedValue::Signed(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        TypedValue::Seconds(d) => write_seconds(*d, out),
        TypedValue::Ip(IpAddr::V4(ip)) => {
            // Display of an address cannot fail.
            let _ = write!(out, "\"{ip}\"");
        }
        TypedValue::Ip(IpAddr::V6(ip)) => write_ipv6(*ip, out),
        TypedValue::Timestamp(time, millis) => write_timestamp(*time, *millis, out),
        TypedValue::Boolean(value) => out.extend_from_slice(boolean_text(*value)),
        TypedValue::QueryParams(params) => {
            write_query_params(params.raw(), &[], out, &mut scratch.query)
        }
    }
}

/// A value of the contract as text: what a CSV cell holds, the JSON
/// writer's value without a string's quotes and escapes. Seconds are exact
/// decimals (`0.082`, `12`), times RFC 3339 (`2019-12-04T21:02:31.541Z`
/// when the source has milliseconds), `query_params` its JSON object. For
/// the outputs that carry a typed value as text, such as a Parquet
/// `extra` map; the buffers are reused from value to value.
///
/// ```
/// use std::time::Duration;
/// use cflog_core::contract::TypedValue;
/// use cflog_core::escape::QueryParams;
/// use cflog_core::json::ValueText;
/// use time::macros::datetime;
///
/// let mut text = ValueText::default();
/// let mut out = Vec::new();
/// text.append(&TypedValue::Seconds(Duration::from_millis(82)), &mut out);
/// assert_eq!(out, b"0.082");
/// out.clear();
/// text.append(&TypedValue::Timestamp(datetime!(2019-12-04 21:02:31.541 UTC), true), &mut out);
/// assert_eq!(out, b"2019-12-04T21:02:31.541Z");
/// out.clear();
/// let params = QueryParams::new(b"q=a%2520b+c&q=d&lang=en");
/// text.append(&TypedValue::QueryParams(params), &mut out);
/// assert_eq!(out, br#"{"q":["a b c","d"],"lang":"en"}"#);
/// ```
#[derive(Debug, Default)]
pub struct ValueText {
    scratch: Scratch,
    buf: Vec<u8>,
}

impl ValueText {
    /// Appends the text of `value` to `out`.
    pub fn append(&mut self, value: &TypedValue<'_>, out: &mut Vec<u8>) {
        let logged = match value {
            TypedValue::Text(value) => value.raw().len(),
            TypedValue::Word(word) => word.len(),
            TypedValue::QueryParams(params) => params.raw().len(),
            _ => 0,
        };
        // Room for the usual value many times over; more when it needs it.
        let mut room = 64 + 8 * logged;
        loop {
            if self.buf.len() < room {
                self.buf.resize(room, 0);
            }
            let mut text = Out::new(&mut self.buf);
            // The separator only decides what a CSV cell must quote.
            entry_text::write_value_cell(value, b',', &mut text, &mut self.scratch);
            if !text.overflowed() {
                let len = text.len();
                out.extend_from_slice(&self.buf[..len]);
                return;
            }
            room = 2 * self.buf.len();
        }
    }
}

/// `"YYYY-MM-DDTHH:MM:SS[.mmm]Z"`, the RFC 3339 form of the JSON contract.
fn write_timestamp(time: OffsetDateTime, millis: bool, out: &mut Out<'_>) {
    fn two(n: u8, out: &mut Out<'_>) {
        out.extend_from_slice(&[b'0' + n / 10, b'0' + n % 10]);
    }
    let year = time.year();
    if !(0..=9999).contains(&year) {
        // Outside RFC 3339's four-digit years; `time` writes the extended form.
        out.push(b'"');
        let _ = time.format_into(out, if millis { MILLIS } else { SECONDS });
        out.push(b'"');
        return;
    }
    let year = year as u16;
    out.push(b'"');
    two((year / 100) as u8, out);
    two((year % 100) as u8, out);
    out.push(b'-');
    two(time.month() as u8, out);
    out.push(b'-');
    two(time.day(), out);
    out.push(b'T');
    two(time.hour(), out);
    out.push(b':');
    two(time.minute(), out);
    out.push(b':');
    two(time.second(), out);
    if millis {
        let ms = time.millisecond();
        out.extend_from_slice(&[
            b'.',
            b'0' + (ms / 100) as u8,
            b'0' + (ms / 10 % 10) as u8,
            b'0' + (ms % 10) as u8,
        ]);
    }
    out.extend_from_slice(b"Z\"");
}

const SECONDS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const MILLIS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// An RFC 3339 UTC timestamp (with milliseconds if `.1`), formatted on the
/// stack.
struct Rfc3339(OffsetDateTime, bool);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 40];
        let mut cursor = &mut buf[..];
        let format = if self.1 { MILLIS } else { SECONDS };
        let len = self
            .0
            .format_into(&mut cursor, format)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
    }
}

/// A value (or `null`) serialized by the JSON contract.
struct Contract<'a>(Option<TypedValue<'a>>);

impl Serialize for Contract<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(value) = &self.0 else {
            return serializer.serialize_unit();
        };
        match value {
            TypedValue::Text(value) => serializer.serialize_str(&value.decoded_str()),
            TypedValue::Word(text) => serializer.serialize_str(text),
            TypedValue::Unsigned(n) => serializer.serialize_u64(*n),
            TypedValue::Signed(n) => serializer.serialize_i64(*n),
            // Whole seconds as an integer, as `JsonWriter` writes them.
            TypedValue::Seconds(d) if d.subsec_nanos() == 0 => {
                serializer.serialize_u64(d.as_secs())
            }
            TypedValue::Seconds(d) => serializer.serialize_f64(kind::seconds_f64(*d)),
            TypedValue::Ip(ip) => serializer.collect_str(ip),
            TypedValue::Boolean(value) => serializer.serialize_bool(*value),
            TypedValue::Timestamp(time, millis) => serializer.collect_str(&Rfc3339(*time, *millis)),
            TypedValue::QueryParams(params) => params.serialize(serializer),
        }
    }
}

/// Every column, by the JSON contract. A value that is not of its kind is a
/// serialization error; use [`JsonWriter`] to get it as a [`FieldError`].
impl Serialize for LogLine<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let all = Selection::all();
        let items = plan(&all, self.schema());
        let mut map = serializer.serialize_map(Some(items.len()))?;
        for item in items {
            let value = item_value(item, self, no_values()).map_err(serde::ser::Error::custom)?;
            map.serialize_entry(item_key(item, &all, self.schema()), &Contract(value))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(header: &str, line: &str, selection: Selection) -> Result<String, FieldError> {
        let schema = Schema::from_fields_header(header.as_bytes()).unwrap();
        let mut ends = Vec::new();
        let line = LogLine::parse(line.as_bytes(), &schema, &mut ends).unwrap();
        let mut out = Vec::new();
        JsonWriter::new(selection).write(&line, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// Unknown columns typed by their source are written as their kind by
    /// the writer and by `Serialize` alike; a value that is not of the kind
    /// is text, and `-` is null.
    #[test]
    fn unknown_columns_of_a_stated_kind_are_written_as_that_kind() {
        let schema = Schema::from_names(["sc-status", "is_bot", "hops", "note"])
            .unwrap()
            .with_extra_kind(1, ExtraKind::Boolean)
            .with_extra_kind(2, ExtraKind::Integer);
        let mut ends = Vec::new();
        let cases = [
            (
                "200\ttrue\t-12\ta%20b",
                r#"{"sc_status":200,"is_bot":true,"hops":-12,"note":"a b"}"#,
            ),
            (
                "200\tfalse\t7\t-",
                r#"{"sc_status":200,"is_bot":false,"hops":7,"note":null}"#,
            ),
            (
                "200\tyes\t7x\t1",
                r#"{"sc_status":200,"is_bot":"yes","hops":"7x","note":"1"}"#,
            ),
            (
                "200\t-\t-\t-",
                r#"{"sc_status":200,"is_bot":null,"hops":null,"note":null}"#,
            ),
        ];
        let mut writer = JsonWriter::new(Selection::all());
        for (text, expected) in cases {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut ends).unwrap();
            let mut out = Vec::new();
            writer.write(&line, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
            assert_eq!(serde_json::to_string(&line).unwrap(), expected);
        }
        // The same names as text, as a text log has them.
        let text = Schema::from_names(["sc-status", "is_bot", "hops"]).unwrap();
        let line = LogLine::parse(b"200\ttrue\t7", &text, &mut ends).unwrap();
        let mut out = Vec::new();
        writer.write(&line, &mut out).unwrap();
        assert_eq!(out, br#"{"sc_status":200,"is_bot":"true","hops":"7"}"#);
    }

    #[test]
    fn numbers_nulls_and_timestamps() {
        let json = write(
            "#Fields: timestamp(ms) sc-status sc-range-start c-ip origin-fbl asn x-edge-result-type x-custom",
            "1731620046814\t000\t-5\t2001:0db8::1\t-\t16509\tBrandNew\ta%20b",
            Selection::all(),
        )
        .unwrap();
        let expected = concat!(
            r#"{"timestamp":"2024-11-14T21:34:06.814Z","timestamp_ms":1731620046814,"#,
            r#""sc_status":0,"sc_range_start":-5,"c_ip":"2001:db8::1","origin_fbl":null,"#,
            r#""asn":16509,"x_edge_result_type":"BrandNew","x_custom":"a b"}"#
        );
        assert_eq!(json, expected);
    }

    #[test]
    fn a_count_of_milliseconds_past_every_time_is_refused_with_or_without_the_timestamp() {
        let header = "#Fields: timestamp(ms) sc-status";
        let only_ms = || Selection::parse("timestamp_ms,sc_status").unwrap();
        assert_eq!(
            write(header, "253402300799999	200", only_ms()).unwrap(),
            r#"{"timestamp_ms":253402300799999,"sc_status":200}"#
        );
        for selection in [only_ms(), Selection::all()] {
            let err = write(header, "253402300800000	200", selection).unwrap_err();
            assert_eq!(err.field(), Field::TimestampMs, "{err}");
        }
    }

    #[test]
    fn a_count_of_milliseconds_is_written_alike_before_and_after_the_timestamp_read_it() {
        let header = "#Fields: timestamp(ms) sc-status";
        let line = "0001731620046814\t200";
        assert_eq!(
            write(header, line, Selection::all()).unwrap(),
            r#"{"timestamp":"2024-11-14T21:34:06.814Z","timestamp_ms":1731620046814,"sc_status":200}"#
        );
        let ms_first = Selection::parse("timestamp_ms,timestamp").unwrap();
        assert_eq!(
            write(header, line, ms_first).unwrap(),
            r#"{"timestamp_ms":1731620046814,"timestamp":"2024-11-14T21:34:06.814Z"}"#
        );
        for selection in ["timestamp,timestamp_ms", "timestamp_ms,timestamp"] {
            let selection = Selection::parse(selection).unwrap();
            let err = write(header, "17316200468x4\t200", selection).unwrap_err();
            assert_eq!(err.field(), Field::TimestampMs, "{err}");
        }
    }

    #[test]
    fn selected_keys_in_order_with_null_for_missing() {
        let selection = Selection::parse("sc_status,timestamp,c_country,query_params").unwrap();
        let json = write(
            "#Fields: date time sc-status",
            "2019-12-04\t21:02:31\t304",
            selection,
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"sc_status":304,"timestamp":"2019-12-04T21:02:31Z","c_country":null,"query_params":null}"#
        );
    }

    #[test]
    fn a_bad_value_is_an_error_and_writes_nothing() {
        let schema = Schema::from_fields_header(b"#Fields: sc-status sc-bytes").unwrap();
        let mut ends = Vec::new();
        let line = LogLine::parse(b"200\tlots", &schema, &mut ends).unwrap();
        let mut out = b"previous".to_vec();
        let err = JsonWriter::new(Selection::all())
            .write(&line, &mut out)
            .unwrap_err();
        assert_eq!(err.field(), Field::ScBytes);
        assert_eq!(out, b"previous");
    }

    #[test]
    fn a_line_without_room_is_flagged_and_written_whole_with_more() {
        let schema = Schema::from_fields_header(
            b"#Fields: date time cs(User-Agent) c-ip cs-uri-query time-taken sc-status",
        )
        .unwrap();
        let mut ends = Vec::new();
        let text = b"2019-12-04\t21:02:31\tcurl/8.0%20(x)\t2001:db8::1\ta=1&b=%2520\t0.082\t200";
        let line = LogLine::parse(text, &schema, &mut ends).unwrap();
        let mut writer = JsonWriter::new(Selection::all());
        let mut expected = Vec::new();
        writer.write(&line, &mut expected).unwrap();
        let JsonWriter {
            keys,
            slots,
            scratch,
            ..
        } = &mut writer;
        for room in [0, 1, expected.len() / 2, expected.len() - 1] {
            let mut buf = vec![0; room];
            assert_eq!(
                write_slots(keys, slots, scratch, &line, no_values(), &mut buf),
                Ok(None)
            );
        }
        // Values are copied in whole chunks, which may reach past the end.
        let mut buf = vec![0; expected.len() + KEY_CHUNK];
        let len = write_slots(keys, slots, scratch, &line, no_values(), &mut buf).unwrap();
        assert_eq!(len, Some(expected.len()));
        assert_eq!(buf[..expected.len()], expected);
    }

    proptest::proptest! {
        /// The fast paths for escaped text (chunks, `%` masks, reading past
        /// a value's end) against serde writing the decoded value, for text
        /// at the end of a line and before another column.
        #[test]
        fn text_is_written_as_serde_writes_it_decoded(pieces in proptest::collection::vec(
            proptest::sample::select(vec![
                "%", "%2", "%25", "%zz", "%7F", "%7f", "%22", "%5C", "%0A", "%20", "%41", "\"",
                "\\", "\u{1}", "\u{7f}", "é", "+", "&", "=", "a", "~", " ", "-",
                "Mozilla/5.0%20(X11;%20Linux)", "%E2%82%AC", "%C3", "%FF", "abcdefghijklmnopq",
            ]), 0..24),
            invalid: bool,
        ) {
            let mut raw: Vec<u8> = pieces.concat().into_bytes();
            // A byte that is not UTF-8 takes the slow path.
            raw.extend(invalid.then_some(0xff));
            let schema = Schema::from_fields_header(b"#Fields: cs(User-Agent) x-custom").unwrap();
            let mut text = raw.clone();
            text.push(b'\t');
            text.extend_from_slice(&raw);
            let mut ends = Vec::new();
            let line = LogLine::parse(&text, &schema, &mut ends).unwrap();
            let mut out = Vec::new();
            JsonWriter::new(Selection::all()).write(&line, &mut out).unwrap();
            let expected = serde_json::to_vec(&line).unwrap();
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(expected).unwrap());
        }
    }

    proptest::proptest! {
        /// `Serialize for LogLine` writes durations as the same numbers as
        /// `JsonWriter`, and the same text wherever an `f64` holds the
        /// decimal's digits (up to 15 of them).
        #[test]
        fn serde_writes_durations_as_the_writer_does(
            secs in proptest::prop_oneof![0u64..200, 0u64..100_000_000_000],
            fraction in "[0-9]{0,9}",
        ) {
            let raw = if fraction.is_empty() { secs.to_string() } else { format!("{secs}.{fraction}") };
            let schema = Schema::from_fields_header(b"#Fields: time-taken").unwrap();
            let mut ends = Vec::new();
            let line = LogLine::parse(raw.as_bytes(), &schema, &mut ends).unwrap();
            let mut written = Vec::new();
            JsonWriter::new(Selection::all()).write(&line, &mut written).unwrap();
            let serialized = serde_json::to_vec(&line).unwrap();
            // std parses correctly rounded; serde_json, by default, not always.
            let number = |json: &[u8]| -> f64 {
                let json = std::str::from_utf8(json).unwrap();
                json.strip_prefix(r#"{"time_taken":"#).unwrap().trim_end_matches('}').parse().unwrap()
            };
            proptest::prop_assert_eq!(number(&serialized), number(&written));
            let digits = raw.trim_start_matches(['0', '.']).trim_end_matches('0').len();
            if digits <= 15 {
                proptest::prop_assert_eq!(String::from_utf8(serialized).unwrap(), String::from_utf8(written).unwrap());
            }
        }
    }

    #[test]
    fn no_keys_make_an_empty_object() {
        let schema = Schema::from_fields_header(b"#Fields: sc-status").unwrap();
        let mut ends = Vec::new();
        // An empty line: the writer's room must not scale down to nothing.
        let line = LogLine::parse(b"", &schema, &mut ends).unwrap();
        let mut writer = JsonWriter::new(Selection::from_keys(Vec::<&str>::new()).unwrap());
        let mut out = Vec::new();
        writer.write(&line, &mut out).unwrap();
        assert_eq!(out, b"{}");
        let mut block = [0u8; 2];
        assert_eq!(writer.write_to_slice(&line, &mut block).unwrap(), Some(2));
        assert_eq!(&block, b"{}");
        assert_eq!(writer.write_to_slice(&line, &mut block[..1]).unwrap(), None);
    }

    #[test]
    fn date_and_time_are_not_selectable() {
        assert!(Selection::parse("date").is_err());
        assert!(Selection::valid_keys().any(|k| k == "timestamp_ms"));
        assert!(!Selection::valid_keys().any(|k| k == "date"));
    }
}
