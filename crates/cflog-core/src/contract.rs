//! The contract: an entry's keys, their order and their kinds, apart from
//! every writer.
//!
//! Every cflog output writes the same entry for a log line: NDJSON, CSV and
//! TSV, Parquet (and the Glue table over it), the streams and the tally.
//! This module says what that entry is:
//!
//! - Keys are CloudFront's field names in snake_case, as its Parquet output
//!   names them: `cs(User-Agent)` → `cs_user_agent`, `timestamp(ms)` →
//!   `timestamp_ms` (see [`Field::json_key`]). Unknown columns get a key by
//!   the same rule ([`json_key_for_name`](crate::json_key_for_name)).
//! - `date` and `time` (or `timestamp`) become one `timestamp`, the request
//!   time, with milliseconds when the source has them.
//! - `query_params` follows `cs_uri_query`: the fully decoded parameters.
//! - Real-time logs use the same keys by meaning; their `cs_uri_stem` is the
//!   path only, and `cs_uri_query` is taken from it.
//! - A [`Selection`] picks keys and their order; [`Selection::all`] takes
//!   every column of each line's schema, in the schema's order.
//!
//! Each value is read by the one parser of its kind ([`TypedValue`]); how it
//! is then written is each output's business ([`json`](crate::json) for
//! JSON, [`typed`](crate::typed) for the rest).

use crate::escape::QueryParams;
use crate::field::{Field, ValueKind};
use crate::kind::FieldError;
use crate::kind::{asn, epoch_millis, ip, port, seconds, signed, status, unsigned, word};
use crate::line::{LogLine, Value};
use crate::schema::{Column, Family, Schema};

pub use crate::field::{QUERY_PARAMS_KEY, TIMESTAMP_KEY};

use std::net::IpAddr;
use std::time::Duration;
use time::OffsetDateTime;

/// Which keys to write, and in which order.
///
/// ```
/// use cflog_core::contract::Selection;
///
/// let selection = Selection::parse("timestamp, sc_status,cs_uri_stem")?;
/// assert_eq!(selection.keys().unwrap(), ["timestamp", "sc_status", "cs_uri_stem"]);
/// assert!(Selection::parse("")?.keys().is_none()); // everything
/// assert!(Selection::parse("sc_stauts").is_err());
/// # Ok::<(), cflog_core::contract::UnknownKey>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    keys: Option<Vec<Key>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Timestamp,
    QueryParams,
    Field(Field),
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Timestamp => TIMESTAMP_KEY,
            Key::QueryParams => QUERY_PARAMS_KEY,
            Key::Field(field) => field.json_key(),
        }
    }
}

/// A selected key that is not part of the JSON contract.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown field key {key:?}: expected JSON keys such as timestamp, sc_status, cs_uri_stem (see `valid_keys`)"
)]
pub struct UnknownKey {
    /// The key as given.
    pub key: String,
}

impl Selection {
    /// Every column of each line's schema.
    pub fn all() -> Selection {
        Selection { keys: None }
    }

    /// The given JSON keys, in this order. A key missing from a line's schema
    /// is written as `null`, so every object has the same keys.
    ///
    /// # Errors
    ///
    /// For a key that is not in [`valid_keys`](Selection::valid_keys).
    pub fn from_keys<S: AsRef<str>>(
        keys: impl IntoIterator<Item = S>,
    ) -> Result<Selection, UnknownKey> {
        let keys = keys
            .into_iter()
            .map(|key| {
                let key = key.as_ref();
                match key {
                    TIMESTAMP_KEY => Ok(Key::Timestamp),
                    QUERY_PARAMS_KEY => Ok(Key::QueryParams),
                    "date" | "time" => Err(UnknownKey { key: key.into() }),
                    _ => Field::from_json_key(key)
                        .map(Key::Field)
                        .ok_or_else(|| UnknownKey { key: key.into() }),
                }
            })
            .collect::<Result<Vec<Key>, UnknownKey>>()?;
        Ok(Selection { keys: Some(keys) })
    }

    /// A comma-separated list of keys; empty means everything.
    ///
    /// # Errors
    ///
    /// For a key that is not in [`valid_keys`](Selection::valid_keys).
    pub fn parse(list: &str) -> Result<Selection, UnknownKey> {
        let keys: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Ok(Selection::all());
        }
        Selection::from_keys(keys)
    }

    /// The selected keys, or `None` for everything.
    pub fn keys(&self) -> Option<Vec<&'static str>> {
        Some(self.keys.as_ref()?.iter().map(|k| k.name()).collect())
    }

    /// Every key a selection may name.
    pub fn valid_keys() -> impl Iterator<Item = &'static str> {
        let fields = Field::ALL
            .iter()
            .filter(|f| !matches!(f, Field::Date | Field::Time | Field::Timestamp))
            .map(|f| f.json_key());
        [TIMESTAMP_KEY, QUERY_PARAMS_KEY].into_iter().chain(fields)
    }
}

/// What to write for one key, resolved against a schema.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item {
    Timestamp,
    QueryParams,
    Field(Field),
    /// An unknown column, by index.
    Extra(usize),
}

pub(crate) fn plan(selection: &Selection, schema: &Schema) -> Vec<Item> {
    if let Some(keys) = &selection.keys {
        return keys
            .iter()
            .map(|key| match *key {
                Key::Timestamp => Item::Timestamp,
                Key::QueryParams => Item::QueryParams,
                Key::Field(field) => Item::Field(field),
            })
            .collect();
    }
    let mut items = Vec::with_capacity(schema.len() + 2);
    let mut timestamp = false;
    for (i, column) in schema.columns().iter().enumerate() {
        match column {
            Column::Known(field) if schema.position(*field) != Some(i) => {}
            Column::Known(
                field @ (Field::Date | Field::Time | Field::Timestamp | Field::TimestampMs),
            ) => {
                if !timestamp {
                    items.push(Item::Timestamp);
                    timestamp = true;
                }
                if *field == Field::TimestampMs {
                    items.push(Item::Field(Field::TimestampMs));
                }
            }
            Column::Known(Field::UriQuery) => {
                items.extend([Item::Field(Field::UriQuery), Item::QueryParams])
            }
            Column::Known(Field::UriStem)
                if schema.family() == Family::Realtime && !schema.contains(Field::UriQuery) =>
            {
                items.extend([
                    Item::Field(Field::UriStem),
                    Item::Field(Field::UriQuery),
                    Item::QueryParams,
                ]);
            }
            Column::Known(field) => items.push(Item::Field(*field)),
            Column::Unknown { .. } => items.push(Item::Extra(i)),
        }
    }
    items
}

/// The JSON key of `item`.
pub(crate) fn item_key(item: Item, schema: &Schema) -> &str {
    match item {
        Item::Timestamp => TIMESTAMP_KEY,
        Item::QueryParams => QUERY_PARAMS_KEY,
        Item::Field(field) => field.json_key(),
        Item::Extra(i) => schema.columns()[i].json_key(),
    }
}

/// One value of an entry, parsed by its kind.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TypedValue<'a> {
    /// Escaped text ([`ValueKind::Text`]), decoded only when asked
    /// ([`Value::decoded_str`]).
    Text(Value<'a>),
    /// A word of an open enum, as logged (`Hit`, `HTTP/2.0`).
    Word(&'a str),
    /// An unsigned integer: byte counts, statuses, ports, AS numbers and
    /// `timestamp_ms`.
    Unsigned(u64),
    /// A signed integer (`sc_range_start`, `sc_range_end`).
    Signed(i64),
    /// Exact decimal seconds.
    Seconds(Duration),
    /// The request time, and whether its source has milliseconds.
    Timestamp(OffsetDateTime, bool),
    /// An address.
    Ip(IpAddr),
    /// The parameters of the query.
    QueryParams(QueryParams<'a>),
}

/// The value of `field` in `line`, given `value`, its raw value there (the
/// caller finds it: a real-time line's `cs_uri_stem` and `cs_uri_query`
/// are parts of one column). `None` for `-` and a missing column.
///
/// The kind of the field chooses the parser; a column of a time kind under
/// its own key stands for the request time, as in the JSON contract.
///
/// # Errors
///
/// When the value is not of the field's kind.
#[inline]
pub(crate) fn field_value<'a>(
    line: &LogLine<'a>,
    field: Field,
    value: Option<Value<'a>>,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    kind_value(line, field, field.kind(), value)
}

/// [`field_value`] with the kind of `field` already looked up.
#[inline(always)]
pub(crate) fn kind_value<'a>(
    line: &LogLine<'a>,
    field: Field,
    kind: ValueKind,
    value: Option<Value<'a>>,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let raw = value.raw();
    let fail = |problem| FieldError::new(field, problem);
    Ok(Some(match kind {
        ValueKind::Text => TypedValue::Text(value),
        ValueKind::Integer => TypedValue::Unsigned(unsigned(raw).map_err(fail)?),
        ValueKind::SignedInteger => TypedValue::Signed(signed(raw).map_err(fail)?),
        ValueKind::Status => TypedValue::Unsigned(status(raw).map_err(fail)?.into()),
        ValueKind::Port => TypedValue::Unsigned(port(raw).map_err(fail)?.into()),
        ValueKind::Asn => TypedValue::Unsigned(asn(raw).map_err(fail)?.into()),
        ValueKind::EpochMillis => TypedValue::Unsigned(epoch_millis(raw).map_err(fail)?),
        ValueKind::Ip => TypedValue::Ip(ip(raw).map_err(fail)?),
        ValueKind::Seconds => TypedValue::Seconds(seconds(raw).map_err(fail)?),
        ValueKind::ResultType
        | ValueKind::Protocol
        | ValueKind::HttpVersion
        | ValueKind::SslProtocol
        | ValueKind::FleStatus
        | ValueKind::IpVersion => TypedValue::Word(word(raw).map_err(fail)?),
        ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds => {
            return timestamp_value(line);
        }
    }))
}

/// The request time of `line`, as the `timestamp` key has it.
pub(crate) fn timestamp_value<'a>(
    line: &LogLine<'a>,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    Ok(line
        .timestamp()?
        .map(|time| TypedValue::Timestamp(time, line.timestamp_has_millis())))
}

/// The value of an item of the JSON contract's plan for `line`.
pub(crate) fn item_value<'a>(
    item: Item,
    line: &LogLine<'a>,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    match item {
        Item::Timestamp => timestamp_value(line),
        // What `line.query_params()` decodes.
        Item::QueryParams => Ok(line.query_params().map(TypedValue::QueryParams)),
        Item::Field(field) => {
            let value = match field {
                Field::UriStem => line.uri_stem(),
                Field::UriQuery => line.uri_query(),
                _ => line.get(field),
            };
            field_value(line, field, value)
        }
        Item::Extra(i) => Ok(line.column(i).and_then(Value::new).map(TypedValue::Text)),
    }
}
