//! An entry's values as text, for delimited outputs (cflog-encoders' CSV
//! and TSV cells): what [`JsonWriter`](super::JsonWriter) writes for each
//! key, without JSON's syntax.
//!
//! A value's text is a string without its quotes and escapes, a number as
//! written, nothing for `null`, and `query_params` as its JSON object. It
//! is written by the JSON writer's own checks and copies (its slots,
//! chunked copies of values that need no decoding, numbers, addresses and
//! times checked and copied from their logged text), so that a value costs
//! about what it costs in JSON; the values that take the general path in
//! JSON take it here too, through the contract's parsers. That is why this
//! part of a delimited output lives beside the JSON writer, and the rest
//! (the cells' buffer, rows, quoting) in cflog-encoders.

use std::io::Write;
use std::net::IpAddr;

use super::ip::{write_ip_cell, write_ipv6};
use super::number::{
    write_seconds, write_seconds_checked, write_signed, write_status_checked,
    write_unsigned_checked,
};
use super::query::write_query_params;
use super::text::{copy_cell_if_plain, decode_cell_if_plain};
use super::{
    Scratch, Slot, apply, boolean_text, checked_date_time, slot, write_millis, write_timestamp,
};
use crate::contract::{
    Applied, DerivedValues, Selection, TypedValue, derived_value, item_key, item_value, plan,
};
use crate::escape;
use crate::field::ValueKind;
use crate::kind;
use crate::kind::FieldError;
use crate::line::{LogLine, Value};
use crate::out::Out;
use crate::schema::Schema;

/// Where the text of one value is in the buffer that
/// [`EntryText::write`] wrote, and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextSpan {
    /// Where the text starts.
    pub start: usize,
    /// Where it ends.
    pub end: usize,
    /// Whether the value is text (a string or the `query_params` object),
    /// which may hold any character; the others are numbers, times and
    /// addresses, which hold only ASCII letters, digits, `.`, `:` and `-`.
    pub text: bool,
    /// Whether the text holds the separator it was written with, `"`, a
    /// carriage return or a line feed: what a delimited format must quote.
    /// Only text can.
    pub special: bool,
}

/// Writes the text of each value of an entry (the JSON contract's values,
/// without JSON's syntax) into a buffer of the caller's, a separator
/// between them, and notes where each is; the layout is cached per schema.
///
/// The low-level half of a delimited output: cflog-encoders' `Cells` own
/// the buffer (and grow it) and make rows of the texts.
///
/// ```
/// use cflog_core::contract::Selection;
/// use cflog_core::json::EntryText;
/// use cflog_core::{LogLine, Schema};
///
/// let schema = Schema::from_fields_header(b"#Fields: date time sc-status cs-uri-stem cs-uri-query")?;
/// let mut ends = Vec::new();
/// let line = LogLine::parse(b"2019-12-04\t21:02:31\t200\t/a,%20b\tq=1", &schema, &mut ends)?;
///
/// let mut texts = EntryText::new(Selection::all());
/// assert_eq!(texts.keys(&schema), ["timestamp", "sc_status", "cs_uri_stem", "cs_uri_query", "query_params"]);
/// let (mut buf, mut spans) = (vec![0; 256], Vec::new());
/// let len = texts.write(&line, b',', &mut buf, &mut spans)?.expect("it fits");
/// assert_eq!(&buf[..len], br#"2019-12-04T21:02:31Z,200,/a, b,q=1,{"q":"1"}"#);
/// let special: Vec<bool> = spans.iter().map(|span| span.special).collect();
/// assert_eq!(special, [false, false, true, false, true]);
/// assert_eq!(texts.write(&line, b',', &mut buf[..8], &mut spans)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EntryText {
    selection: Selection,
    schema_id: u64,
    /// The keys of the schema's values: the contract's.
    keys: Vec<String>,
    slots: Vec<Slot>,
    scratch: Scratch,
    /// The buffers of the contract's derived keys and transforms.
    applied: Applied,
}

impl EntryText {
    /// A writer of the values of `selection`.
    pub fn new(selection: Selection) -> EntryText {
        EntryText {
            selection,
            schema_id: 0,
            keys: Vec::new(),
            slots: Vec::new(),
            scratch: Scratch::default(),
            applied: Applied::default(),
        }
    }

    /// The keys of the values of an entry of `schema`, in order: the JSON
    /// writer's.
    pub fn keys(&mut self, schema: &Schema) -> &[String] {
        self.prepare(schema);
        &self.keys
    }

    /// Writes the text of each value of `line` at the start of `buf`, with
    /// `separator` between them, and replaces `spans` with where each is;
    /// the length written, or `None` when it did not fit (what was written
    /// is then not whole: write again into more room). The room a line
    /// needs is seldom more than eight times its length.
    ///
    /// # Errors
    ///
    /// When a selected field's value is not of its kind, as for
    /// [`JsonWriter::write`](super::JsonWriter::write); `spans` is then
    /// empty.
    pub fn write(
        &mut self,
        line: &LogLine<'_>,
        separator: u8,
        buf: &mut [u8],
        spans: &mut Vec<TextSpan>,
    ) -> Result<Option<usize>, FieldError> {
        self.prepare(line.schema());
        spans.clear();
        let EntryText {
            selection,
            slots,
            scratch,
            applied,
            ..
        } = self;
        let written = apply(selection, line, applied).and_then(|(line, values)| {
            write_texts(slots, scratch, &line, values, separator, buf, spans)
        });
        if written.is_err() {
            spans.clear();
        }
        written
    }

    /// Resolves the slots of `schema`, unless they are those of the last
    /// line's schema.
    #[inline]
    fn prepare(&mut self, schema: &Schema) {
        if schema.id() != self.schema_id {
            let items = plan(&self.selection, schema);
            self.keys = items
                .iter()
                .map(|&item| item_key(item, &self.selection, schema).to_owned())
                .collect();
            self.slots = items
                .into_iter()
                .map(|item| slot(item, schema, self.selection.contract()))
                .collect();
            self.schema_id = schema.id();
        }
    }
}

/// Writes the texts of `line` at the start of `buf`, noting each in
/// `spans`; their length, or `None` when they did not fit.
#[inline(always)]
fn write_texts<'a>(
    slots: &[Slot],
    scratch: &mut Scratch,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
    separator: u8,
    buf: &mut [u8],
    spans: &mut Vec<TextSpan>,
) -> Result<Option<usize>, FieldError> {
    let mut out = Out::new(buf);
    for (i, slot) in slots.iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        let start = out.len();
        let (text, special) = write_cell(scratch, *slot, line, values, separator, &mut out)?;
        spans.push(TextSpan {
            start,
            end: out.len(),
            text,
            special,
        });
    }
    Ok((!out.overflowed()).then_some(out.len()))
}

/// What a cell is: text, and whether it holds a special byte.
type Kind = (bool, bool);

/// A cell that is not text.
const VALUE: Kind = (false, false);

/// Appends a slot's cell; what it is.
#[inline(always)]
fn write_cell<'a>(
    scratch: &mut Scratch,
    slot: Slot,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
    separator: u8,
    out: &mut Out<'_>,
) -> Result<Kind, FieldError> {
    let value = |col| line.column(col).and_then(Value::new);
    let bytes = line.buffer();
    // The cell of column `col` as `write` writes its raw bytes, or an empty
    // one; `text` says what it is.
    macro_rules! column {
        ($col:expr, $text:expr, |$raw:ident| $write:expr) => {
            match value($col) {
                Some(value) => {
                    let $raw = value.raw();
                    $write
                }
                None => ($text, false),
            }
        };
    }
    let fail = |field, problem| FieldError::new(field, problem);
    Ok(match slot {
        Slot::Text { col } => column!(col, true, |raw| {
            // Most text has no escapes; when it has, they are dense.
            let special = match copy_cell_if_plain::<false>(raw, bytes, separator, out) {
                Some(special) => special,
                None => match decode_cell_if_plain(raw, bytes, separator, out, &mut scratch.text) {
                    Some(special) => special,
                    None => {
                        out.detached(|out| write_text_cell(raw, separator, out, &mut scratch.text))
                    }
                },
            };
            (true, special)
        }),
        Slot::Unsigned {
            col,
            field,
            max,
            short,
        } => column!(col, false, |raw| {
            if !write_unsigned_checked(raw, max, short, bytes, out) {
                return Err(fail(field, kind::problem(field.kind())));
            }
            VALUE
        }),
        Slot::TimestampMs { col, field } => column!(col, false, |raw| {
            if !write_millis(line, raw, bytes, out) {
                return Err(fail(field, kind::problem(ValueKind::EpochMillis)));
            }
            VALUE
        }),
        Slot::Signed { col, field } => column!(col, false, |raw| {
            let n = kind::signed(raw).map_err(|problem| fail(field, problem))?;
            write_signed(n, raw, bytes, out);
            VALUE
        }),
        Slot::Status { col, field } => column!(col, false, |raw| {
            if !write_status_checked(raw, bytes, out) {
                return Err(fail(field, kind::problem(ValueKind::Status)));
            }
            VALUE
        }),
        Slot::Ip { col, field } => column!(col, false, |raw| {
            write_ip_cell(raw, bytes, out).map_err(|problem| fail(field, problem))?;
            VALUE
        }),
        Slot::Seconds { col, field } => column!(col, false, |raw| {
            if !write_seconds_checked(raw, bytes, out) {
                return Err(fail(field, kind::problem(ValueKind::Seconds)));
            }
            VALUE
        }),
        Slot::Word { col, field } => column!(col, true, |raw| {
            let special = match copy_cell_if_plain::<true>(raw, bytes, separator, out) {
                Some(special) => special,
                None => {
                    let word = kind::word(raw).map_err(|problem| fail(field, problem))?;
                    out.detached(|out| write_str_cell(word.as_bytes(), separator, out))
                }
            };
            (true, special)
        }),
        Slot::Missing => VALUE,
        Slot::DateTime { date, time } => {
            let date = date.and_then(value).map(|v| v.raw());
            let time = time.and_then(value).map(|v| v.raw());
            if let Some((date, time)) = checked_date_time(line, date, time)? {
                // A valid date and time are already the digits of the
                // RFC 3339 form.
                let mut text = [0u8; 20];
                text[..10].copy_from_slice(date);
                text[10] = b'T';
                text[11..19].copy_from_slice(time);
                text[19] = b'Z';
                out.extend_from_slice(&text);
            }
            VALUE
        }
        Slot::QueryParams { col } => column!(col, true, |raw| {
            out.detached(|out| {
                let start = out.len();
                write_query_params(raw, bytes, out, &mut scratch.query);
                (true, is_special(&out[start..], separator))
            })
        }),
        Slot::Derived(i) => match derived_value(values, usize::from(i)) {
            Some(value) => out.detached(|out| write_value_cell(&value, separator, out, scratch)),
            None => VALUE,
        },
        Slot::Item(item) => match item_value(item, line, values)? {
            Some(value) => out.detached(|out| write_value_cell(&value, separator, out, scratch)),
            None => VALUE,
        },
    })
}

/// Whether `cell` holds `separator`, `"`, a carriage return or a line
/// feed.
#[inline]
fn is_special(cell: &[u8], separator: u8) -> bool {
    memchr::memchr3(b'"', b'\r', b'\n', cell).is_some() || memchr::memchr(separator, cell).is_some()
}

/// Appends escaped text decoded one level, bytes that are not UTF-8
/// replaced: the general path, for text the fast paths leave. Whether it
/// is special.
fn write_text_cell(raw: &[u8], separator: u8, out: &mut Out<'_>, scratch: &mut Vec<u8>) -> bool {
    scratch.clear();
    escape::decode_into(raw, scratch);
    write_bytes_cell(scratch, separator, out)
}

/// Appends `bytes` as text, bytes that are not UTF-8 replaced; whether it
/// is special.
fn write_bytes_cell(bytes: &[u8], separator: u8, out: &mut Out<'_>) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(text) => write_str_cell(text.as_bytes(), separator, out),
        Err(_) => write_str_cell(String::from_utf8_lossy(bytes).as_bytes(), separator, out),
    }
}

/// Appends `text`, UTF-8; whether it is special.
fn write_str_cell(text: &[u8], separator: u8, out: &mut Out<'_>) -> bool {
    out.extend_from_slice(text);
    is_special(text, separator)
}

/// Appends the cell of `value`, which the typed layer read; what it is.
pub(super) fn write_value_cell(
    value: &TypedValue<'_>,
    separator: u8,
    out: &mut Out<'_>,
    scratch: &mut Scratch,
) -> Kind {
    let start = out.len();
    match value {
        TypedValue::Text(value) => (
            true,
            write_text_cell(value.raw(), separator, out, &mut scratch.text),
        ),
        TypedValue::Word(word) => (true, write_str_cell(word.as_bytes(), separator, out)),
        TypedValue::Unsigned(n) => {
            out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
            VALUE
        }
        TypedValue::Signed(n) => {
            out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
            VALUE
        }
        TypedValue::Seconds(d) => {
            write_seconds(*d, out);
            VALUE
        }
        TypedValue::Ip(IpAddr::V4(ip)) => {
            // Display of an address cannot fail.
            let _ = write!(out, "{ip}");
            VALUE
        }
        TypedValue::Ip(IpAddr::V6(ip)) => {
            write_ipv6(*ip, out);
            out.unquote(start);
            VALUE
        }
        TypedValue::Timestamp(time, millis) => {
            write_timestamp(*time, *millis, out);
            out.unquote(start);
            VALUE
        }
        TypedValue::Boolean(value) => {
            out.extend_from_slice(boolean_text(*value));
            VALUE
        }
        TypedValue::QueryParams(params) => {
            write_query_params(params.raw(), &[], out, &mut scratch.query);
            (true, is_special(&out[start..], separator))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::json::JsonWriter;

    /// A cell as the JSON writer's value of the same key has it: a string
    /// without its quotes, `null` as nothing, anything else as written.
    fn json_cell(value: &serde_json::Value) -> Vec<u8> {
        match value {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::String(text) => text.as_bytes().to_vec(),
            other => other.to_string().into_bytes(),
        }
    }

    /// Whether a delimited format must quote `cell`.
    fn special(cell: &[u8], separator: u8) -> bool {
        cell.iter()
            .any(|&b| b == separator || matches!(b, b'"' | b'\r' | b'\n'))
    }

    /// A value for the column `name`: mostly one of its kind, else any.
    fn value_of(name: &'static str) -> BoxedStrategy<String> {
        let good: &[&str] = match name {
            "date" => &["2019-12-04", "2024-02-29"],
            "time" => &["21:02:31", "00:00:00"],
            "c-ip" => &[
                "192.0.2.1",
                "2001:db8::1",
                "2001:0DB8::1",
                "::ffff:1.2.3.4",
                "-",
            ],
            "sc-status" => &["200", "000", "-"],
            "sc-bytes" => &["0042", "18446744073709551615", "0", "-"],
            "time-taken" => &["0.0820", "12", "0.000000001", "12345678901234567.5"],
            "sc-range-start" => &["-05", "-0", "42", "-"],
            "c-port" => &["00080", "65535"],
            "asn" => &["16509", "4294967295"],
            "timestamp" => &["1607374321.541", "1607374321"],
            "timestamp(ms)" => &["1731620046814", "0"],
            "x-edge-result-type" | "cs-protocol" => &["Hit", "https", "Miss,Or", "-"],
            _ => return value().boxed(),
        };
        let good: Vec<String> = good.iter().map(|v| v.to_string()).collect();
        prop_oneof![4 => prop::sample::select(good), 1 => value()].boxed()
    }

    /// Values of every kind, good and bad, and text with escapes of every
    /// sort.
    fn value() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a",
            "/",
            ",",
            "%2C",
            "%22",
            "\"",
            "%0A",
            "%0D",
            "%09",
            "%FF",
            "%C3%A9",
            "%",
            "%2",
            "%25",
            "%5C",
            "\\",
            "|",
            "%20",
            "+",
            "=",
            "&",
            "-",
            "0",
            "1",
            ".",
            ":",
            "00",
            "255",
            "2019-12-04",
            "21:02:31",
            "192.0.2.1",
            "2001:0DB8::1",
            "::ffff:1.2.3.4",
            "fe80::1",
            "1607374321.541",
            "1731620046814",
            "Hit",
            "HTTP/2.0",
            "\u{e9}",
        ]);
        proptest::collection::vec(piece, 0..5).prop_map(|pieces| match pieces.concat() {
            text if text.is_empty() => "-".to_owned(),
            text => text,
        })
    }

    /// The layouts of the lines: the time from `date` and `time`, from
    /// epoch seconds and from epoch milliseconds, and real-time URIs.
    const NAMES: [&[&str]; 4] = [
        &[
            "date",
            "time",
            "c-ip",
            "sc-status",
            "sc-bytes",
            "cs-uri-stem",
            "cs(User-Agent)",
            "cs-uri-query",
            "time-taken",
            "sc-range-start",
            "x-edge-result-type",
            "c-port",
            "x-custom",
        ],
        &["timestamp", "c-ip", "cs-uri-query", "asn", "cs-protocol"],
        &["timestamp(ms)", "c-ip", "sc-status", "cs-uri-stem"],
        &["timestamp", "cs-uri-stem", "c-ip"],
    ];

    fn schema(which: usize) -> Schema {
        match which {
            3 => Schema::realtime(NAMES[3].iter().copied()).unwrap().0,
            _ => Schema::from_names(NAMES[which].iter().copied()).unwrap(),
        }
    }

    /// A layout and a line of it.
    fn layout_and_line() -> impl Strategy<Value = (usize, Vec<String>)> {
        (0..NAMES.len()).prop_flat_map(|which| {
            let values: Vec<_> = NAMES[which].iter().map(|name| value_of(name)).collect();
            (Just(which), values)
        })
    }

    proptest! {
        #[test]
        fn cells_are_the_json_writers_values_without_their_syntax(
            (which, values) in layout_and_line(),
            separator in prop::sample::select(vec![b',', b'\t', b'|']),
        ) {
            let schema = schema(which);
            let text = values.join("\t");
            let mut spans = Vec::new();
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            let mut json = Vec::new();
            let written = JsonWriter::new(Selection::all()).write(&line, &mut json);
            let mut texts = EntryText::new(Selection::all());
            let (mut buf, mut spans) = (vec![0; 4096], vec![TextSpan { start: 0, end: 0, text: false, special: false }]);
            let len = texts.write(&line, separator, &mut buf, &mut spans);
            prop_assert_eq!(len.map(|_| ()), written);
            let Ok(Some(len)) = len else {
                prop_assert!(spans.is_empty());
                return Ok(());
            };
            let text = &buf[..len];
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&json).unwrap();
            let keys = texts.keys(&schema).to_vec();
            prop_assert_eq!(keys.len(), spans.len());
            let mut row = Vec::new();
            for (i, (key, span)) in keys.iter().zip(&spans).enumerate() {
                let cell = &text[span.start..span.end];
                match &object[key] {
                    // serde_json reads seconds as floats: `0.000000001` is
                    // `1e-9` to it.
                    serde_json::Value::Number(n) if n.is_f64() => {
                        let cell: f64 = std::str::from_utf8(cell).unwrap().parse().unwrap();
                        prop_assert_eq!(Some(cell), n.as_f64(), "{}", key);
                    }
                    // Its maps are sorted: read the cell back instead.
                    value @ serde_json::Value::Object(_) => {
                        let cell: serde_json::Value = serde_json::from_slice(cell).unwrap();
                        prop_assert_eq!(&cell, value, "{}", key);
                    }
                    value => prop_assert_eq!(cell, &json_cell(value)[..], "{}", key),
                }
                prop_assert_eq!(span.special, special(cell, separator), "{}", key);
                if !span.text {
                    prop_assert!(!special(cell, separator));
                }
                if i > 0 {
                    row.push(separator);
                }
                row.extend_from_slice(cell);
            }
            prop_assert_eq!(text, &row[..]);
        }
    }
}
