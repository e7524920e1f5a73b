//! Derived keys: values computed from an entry, declared once, written by
//! every output.

use std::fmt;
use std::net::IpAddr;

use crate::field::{Field, ValueKind};
use crate::kind::FieldError;
use crate::line::LogLine;

/// What the values of a key are, as every output writes them: the one
/// table the writers match on, with no fallback, so that a kind added here
/// does not compile until each of them writes it.
///
/// | kind | JSON | CSV/TSV cell | Parquet | Athena |
/// | --- | --- | --- | --- | --- |
/// | `Timestamp` | RFC 3339 string | RFC 3339 | `TIMESTAMP(MILLIS)` | `timestamp` |
/// | `Integer` | number | digits | `INT64` | `bigint` |
/// | `Seconds` | number | decimal | `DOUBLE` | `double` |
/// | `Text`, `Ip` | string | text | UTF-8 | `string` |
/// | `Boolean` | `true`/`false` | `true`/`false` | `BOOLEAN` | `boolean` |
/// | `QueryParams` | object | the object's JSON | `MAP<UTF-8, LIST<UTF-8>>` | `map<string,array<string>>` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// The request time.
    Timestamp,
    /// A signed or unsigned integer.
    Integer,
    /// A duration, in decimal seconds.
    Seconds,
    /// Text.
    Text,
    /// An address, written as text.
    Ip,
    /// `true` or `false`.
    Boolean,
    /// The query's parameters: each name with its values.
    QueryParams,
}

impl KeyKind {
    /// The kind of the key of a logged field of `kind`.
    pub const fn of_value(kind: ValueKind) -> KeyKind {
        match kind {
            ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds => KeyKind::Timestamp,
            ValueKind::Integer
            | ValueKind::SignedInteger
            | ValueKind::Status
            | ValueKind::Port
            | ValueKind::Asn
            | ValueKind::EpochMillis => KeyKind::Integer,
            ValueKind::Seconds => KeyKind::Seconds,
            ValueKind::Ip => KeyKind::Ip,
            ValueKind::Text
            | ValueKind::ResultType
            | ValueKind::Protocol
            | ValueKind::HttpVersion
            | ValueKind::SslProtocol
            | ValueKind::FleStatus
            | ValueKind::IpVersion => KeyKind::Text,
        }
    }

    /// The kind's name, as `cflog --list-fields` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            KeyKind::Timestamp => "timestamp",
            KeyKind::Integer => "integer",
            KeyKind::Seconds => "seconds",
            KeyKind::Text => "text",
            KeyKind::Ip => "ip",
            KeyKind::Boolean => "boolean",
            KeyKind::QueryParams => "query parameters",
        }
    }
}

/// One key that a [`Derive`] computes: its name and kind.
///
/// A name that is a field's key (`c_country`, `asn`) *fills* that field:
/// where a line's schema has the field, its logged value is written and
/// the derived one is not; where it lacks it, the derived value takes its
/// place, under the field's key and in the field's column. The kind must
/// then be the field's ([`Contract::derive`](super::Contract::derive)
/// checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DerivedKey {
    /// The key, in snake_case as the contract's keys are.
    pub name: &'static str,
    /// What its values are.
    pub kind: KeyKind,
}

impl DerivedKey {
    /// The field this key fills, if its name is a field's key.
    pub fn fills(&self) -> Option<Field> {
        Field::from_json_key(self.name)
    }
}

/// Computes the values of some [derived keys](DerivedKey) from an entry.
///
/// Register one with [`Contract::derive`](super::Contract::derive); every
/// output of a [`Selection`](super::Selection) of that contract then writes
/// its keys, and the Parquet columns, the Glue table and
/// `cflog --list-fields` list them, from [`keys`](Derive::keys) alone.
///
/// A derive sees the line as logged, before any
/// [`Transform`](super::Transform) (a country looked up from the client's
/// address sees the whole address even when the output truncates it). It
/// is shared by every writer of the contract, on every thread: state (a
/// cache, a database) lives behind `&self`.
///
/// ```
/// use cflog_core::contract::{Contract, Derive, DerivedKey, DerivedValues, KeyKind};
/// use cflog_core::json::JsonWriter;
/// use cflog_core::{Field, FieldError, LogLine, Schema};
///
/// /// Whether the path looks like a page.
/// #[derive(Debug)]
/// struct IsPage;
///
/// impl Derive for IsPage {
///     fn keys(&self) -> &[DerivedKey] {
///         &[DerivedKey { name: "is_page", kind: KeyKind::Boolean }]
///     }
///     fn derive(&self, line: &LogLine<'_>, values: &mut DerivedValues) -> Result<(), FieldError> {
///         if let Some(stem) = line.get(Field::UriStem) {
///             values.set_boolean(0, stem.raw().ends_with(b".html"));
///         }
///         Ok(())
///     }
/// }
///
/// let contract = Contract::standard().derive(IsPage)?;
/// let schema = Schema::from_fields_header(b"#Fields: sc-status cs-uri-stem")?;
/// let mut spans = Vec::new();
/// let line = LogLine::parse(b"200\t/a.html", &schema, &mut spans)?;
/// let mut out = Vec::new();
/// JsonWriter::new(contract.select_all()).write(&line, &mut out)?;
/// assert_eq!(out, br#"{"sc_status":200,"cs_uri_stem":"/a.html","is_page":true}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Derive: Send + Sync + fmt::Debug {
    /// The keys it computes, in the order their values are set. They are
    /// written after the line's own columns, in this order.
    fn keys(&self) -> &[DerivedKey];

    /// Sets the values of the keys for `line` in `values`, by their index
    /// in [`keys`](Derive::keys); a value not set is `null`.
    ///
    /// # Errors
    ///
    /// A value of the line that the derive needs and that is not of its
    /// kind: the entry is then rejected, as for any bad value.
    fn derive(&self, line: &LogLine<'_>, values: &mut DerivedValues) -> Result<(), FieldError>;
}

/// A value of a derived key, as [`TypedValue`](super::TypedValue) holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Slot {
    Null,
    /// `text[start..end]`.
    Text {
        start: usize,
        end: usize,
    },
    Boolean(bool),
    Integer(u64),
    Ip(IpAddr),
}

/// The values of an entry's derived keys, set by each [`Derive`] and read
/// by every output. Reused from entry to entry: a text value is appended to
/// one buffer, so setting values allocates nothing once it has grown.
#[derive(Clone, Debug, Default)]
pub struct DerivedValues {
    slots: Vec<Slot>,
    text: String,
    /// Where the keys of the derive being run start in `slots`.
    base: usize,
}

impl DerivedValues {
    /// Sets key `key` (of the running derive's keys) to `text`.
    pub fn set_text(&mut self, key: usize, text: &str) {
        let start = self.text.len();
        self.text.push_str(text);
        let end = self.text.len();
        self.set(key, Slot::Text { start, end });
    }

    /// Sets key `key` to `value`.
    pub fn set_boolean(&mut self, key: usize, value: bool) {
        self.set(key, Slot::Boolean(value));
    }

    /// Sets key `key` to `n`.
    pub fn set_integer(&mut self, key: usize, n: u64) {
        self.set(key, Slot::Integer(n));
    }

    /// Sets key `key` to `ip`.
    pub fn set_ip(&mut self, key: usize, ip: IpAddr) {
        self.set(key, Slot::Ip(ip));
    }

    /// Sets key `key` to `null` (what it is until set).
    pub fn set_null(&mut self, key: usize) {
        self.set(key, Slot::Null);
    }

    fn set(&mut self, key: usize, slot: Slot) {
        // A key past the derive's own is a bug of the derive's; it is
        // dropped rather than written under another derive's key.
        if let Some(place) = self.slots.get_mut(self.base + key) {
            *place = slot;
        }
    }

    /// Empties the values for an entry with `keys` derived keys in all.
    pub(crate) fn reset(&mut self, keys: usize) {
        self.slots.clear();
        self.slots.resize(keys, Slot::Null);
        self.text.clear();
        self.base = 0;
    }

    /// Makes the next `set_*` calls those of the derive whose keys start
    /// at `base`.
    pub(crate) fn start(&mut self, base: usize) {
        self.base = base;
    }

    /// The value of derived key `index` (counted over every derive).
    pub(crate) fn get(&self, index: usize) -> (Slot, &str) {
        (
            self.slots.get(index).copied().unwrap_or(Slot::Null),
            &self.text,
        )
    }
}
