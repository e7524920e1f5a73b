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
//! - Real-time logs use the same keys by meaning; their `cs_uri_stem` is the
//!   path only, and `cs_uri_query` is taken from it.
//! - **Derived keys** are computed from the entry. The [standard
//!   contract](Contract::standard) has two: `timestamp`, the request time
//!   from `date` and `time` (or `timestamp`, or `timestamp(ms)`), in the
//!   place of the first of them; and `query_params`, the decoded
//!   parameters, after `cs_uri_query`. More are registered with
//!   [`Contract::derive`] (a [`Derive`] computes them), and go after the
//!   line's own columns.
//! - **Transforms** ([`Transform`], registered with
//!   [`Contract::transform`]) rewrite a field's value once per entry, after
//!   the derived keys are computed and before any output reads it.
//! - [`Contract::without`] drops keys from every output.
//! - A [`Selection`] of a contract picks keys and their order;
//!   [`Contract::select_all`] takes every column of each line's schema, in
//!   the schema's order, with the derived keys.
//!
//! Each value is read by the one parser of its kind ([`TypedValue`],
//! [`KeyKind`]); how it is then written is each output's business
//! ([`json`](crate::json) for JSON, [`typed`](crate::typed) for the rest,
//! which CSV, Parquet and the tally build on). Every writer takes a
//! [`Selection`], so a key registered here reaches all of them.
//!
//! # Adding a column
//!
//! A column computed from the entry (a browser family, a country) is a
//! [`Derive`]: declare its keys and kinds in [`Derive::keys`], set the
//! values in [`Derive::derive`], and register it with
//! [`Contract::derive`] where the outputs are built (the command line's
//! and the Lambda's configuration). Nothing else changes: the writers, the
//! Parquet columns, the Glue column list and `--list-fields` follow from
//! the declaration. A value of a new *kind* is a variant of [`KeyKind`] and
//! of [`TypedValue`], and a method of [`Encoder`](crate::typed::Encoder):
//! the compiler then lists every writer that must handle it.

use std::sync::Arc;

use crate::escape::QueryParams;
use crate::field::{Field, ValueKind};
use crate::kind::FieldError;
use crate::kind::{asn, epoch_millis, ip, port, seconds, signed, status, unsigned, word};
use crate::line::{LogLine, Value};
use crate::schema::{Column, ExtraKind, Family, Schema};

pub use crate::field::{QUERY_PARAMS_KEY, TIMESTAMP_KEY};

use std::net::IpAddr;
use std::time::Duration;
use time::OffsetDateTime;

mod derive;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transform;

pub use derive::{Derive, DerivedKey, DerivedValues, KeyKind};
pub use transform::Transform;

use derive::Slot;

/// The keys of every entry: the standard ones, the derived keys registered
/// and the transforms, shared by every [`Selection`] made from it (cloning
/// it is cloning an `Arc`).
///
/// ```
/// use cflog_core::contract::{Contract, KeyKind};
///
/// let contract = Contract::standard().without(["cs_cookie"])?;
/// let keys: Vec<_> = contract.derived_keys().map(|key| (key.name, key.kind)).collect();
/// assert_eq!(keys, [("timestamp", KeyKind::Timestamp), ("query_params", KeyKind::QueryParams)]);
/// assert!(!contract.valid_keys().any(|key| key == "cs_cookie"));
/// assert!(contract.select("sc_status,cs_cookie").is_err());
/// # Ok::<(), cflog_core::contract::ContractError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Contract(Arc<Rules>);

#[derive(Debug, Default)]
struct Rules {
    /// The derives registered, each with where its keys start among the
    /// derived values.
    derives: Vec<(Arc<dyn Derive>, usize)>,
    /// Every registered derived key, in order: (derive, index in it, key).
    keys: Vec<DerivedKey>,
    transforms: Vec<Arc<dyn Transform>>,
    /// Every field a transform rewrites.
    rewritten_fields: Vec<Field>,
    /// The fields whose rewritten values are text, not of the field's own
    /// kind ([`Transform::output_kind`]).
    text_fields: Vec<Field>,
    /// Keys no output writes.
    dropped: Vec<String>,
}

/// The declarations of the standard derived keys.
const STANDARD_KEYS: [DerivedKey; 2] = [
    DerivedKey {
        name: TIMESTAMP_KEY,
        kind: KeyKind::Timestamp,
    },
    DerivedKey {
        name: QUERY_PARAMS_KEY,
        kind: KeyKind::QueryParams,
    },
];

/// A derived key or a transform that the contract cannot take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// Two keys of the same name.
    #[error("the derived key {0:?} is already a key of the contract")]
    SameKey(&'static str),
    /// A key that fills a field with values of another kind.
    #[error("the derived key {name:?} fills a field of kind {field}, not {kind}")]
    FillKind {
        /// The key.
        name: &'static str,
        /// The field's kind.
        field: &'static str,
        /// The key's.
        kind: &'static str,
    },
    /// A key to drop that is not a key of the contract.
    #[error(transparent)]
    Unknown(#[from] UnknownKey),
}

impl Default for Contract {
    fn default() -> Contract {
        Contract::standard()
    }
}

impl PartialEq for Contract {
    fn eq(&self, other: &Contract) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.0.is_standard() && other.0.is_standard())
    }
}

impl Eq for Contract {}

impl Rules {
    fn is_standard(&self) -> bool {
        self.derives.is_empty() && self.transforms.is_empty() && self.dropped.is_empty()
    }
}

impl Contract {
    /// The keys of the log's own columns, `timestamp` and `query_params`.
    pub fn standard() -> Contract {
        static STANDARD: std::sync::OnceLock<Contract> = std::sync::OnceLock::new();
        STANDARD
            .get_or_init(|| Contract(Arc::new(Rules::default())))
            .clone()
    }

    fn rules(&self) -> Rules {
        Rules {
            derives: self.0.derives.clone(),
            keys: self.0.keys.clone(),
            transforms: self.0.transforms.clone(),
            rewritten_fields: self.0.rewritten_fields.clone(),
            text_fields: self.0.text_fields.clone(),
            dropped: self.0.dropped.clone(),
        }
    }

    /// This contract with the keys of `derive` after the line's columns.
    ///
    /// # Errors
    ///
    /// For a key that is already a key of the contract and does not fill a
    /// field, or that fills a field of another kind.
    pub fn derive(&self, derive: impl Derive + 'static) -> Result<Contract, ContractError> {
        let mut rules = self.rules();
        for key in derive.keys() {
            if let Some(field) = key.fills() {
                let kind = KeyKind::of_value(field.kind());
                if kind != key.kind || time_kind(field) {
                    return Err(ContractError::FillKind {
                        name: key.name,
                        field: kind.name(),
                        kind: key.kind.name(),
                    });
                }
            }
            let standard = STANDARD_KEYS.iter().any(|k| k.name == key.name);
            if standard || rules.keys.iter().any(|k| k.name == key.name) {
                return Err(ContractError::SameKey(key.name));
            }
            rules.keys.push(*key);
        }
        let base = rules.keys.len() - derive.keys().len();
        rules.derives.push((Arc::new(derive), base));
        Ok(Contract(Arc::new(rules)))
    }

    /// This contract with `transform` run on each entry, after the ones
    /// registered before. A field it declares text
    /// ([`Transform::output_kind`]) is text in every output from then on.
    pub fn transform(&self, transform: impl Transform + 'static) -> Contract {
        let mut rules = self.rules();
        for &field in transform.fields() {
            if !rules.rewritten_fields.contains(&field) {
                rules.rewritten_fields.push(field);
            }
            let text = transform.output_kind(field) == Some(ValueKind::Text);
            if text && !time_kind(field) && !rules.text_fields.contains(&field) {
                rules.text_fields.push(field);
            }
        }
        rules.transforms.push(Arc::new(transform));
        Contract(Arc::new(rules))
    }

    /// This contract without `keys`, which no output then writes (nor
    /// selects).
    ///
    /// # Errors
    ///
    /// For a key that is not one of [`valid_keys`](Contract::valid_keys).
    pub fn without<S: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = S>,
    ) -> Result<Contract, ContractError> {
        let mut rules = self.rules();
        for key in keys {
            let key = key.as_ref();
            if !self.valid_keys().any(|k| k == key) {
                return Err(UnknownKey { key: key.into() }.into());
            }
            rules.dropped.push(key.to_owned());
        }
        Ok(Contract(Arc::new(rules)))
    }

    /// The kind every output reads and writes `field`'s values as: its own
    /// ([`Field::kind`]), or text where a transform rewrites it into text
    /// ([`Transform::output_kind`]).
    #[inline]
    pub fn field_kind(&self, field: Field) -> ValueKind {
        if self.0.text_fields.contains(&field) {
            ValueKind::Text
        } else {
            field.kind()
        }
    }

    /// Every derived key, in order: `timestamp`, `query_params`, then
    /// those registered.
    pub fn derived_keys(&self) -> impl Iterator<Item = &DerivedKey> {
        STANDARD_KEYS
            .iter()
            .chain(&self.0.keys)
            .filter(|key| !self.dropped(key.name))
    }

    /// The registered derived keys (not `timestamp` and `query_params`)
    /// that are written after the line's columns, in order: those that
    /// fill no field.
    pub fn extra_derived_keys(&self) -> impl Iterator<Item = &DerivedKey> {
        self.0
            .keys
            .iter()
            .filter(|key| key.fills().is_none() && !self.dropped(key.name))
    }

    /// Whether no output writes `key`.
    pub fn dropped(&self, key: &str) -> bool {
        self.0.dropped.iter().any(|k| k == key)
    }

    /// Every key a selection may name: the derived keys and every field's
    /// (but `date` and `time`, which are the request time), less the keys
    /// dropped.
    pub fn valid_keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        let fields = Field::ALL
            .iter()
            .filter(|f| !time_kind(**f) || **f == Field::TimestampMs)
            .map(|f| f.json_key())
            .filter(|key| !self.0.keys.iter().any(|k| k.name == *key));
        STANDARD_KEYS
            .iter()
            .chain(&self.0.keys)
            .map(|key| key.name)
            .chain(fields)
            .filter(|key| !self.dropped(key))
    }

    /// Every column of each line's schema, with the derived keys.
    pub fn select_all(&self) -> Selection {
        Selection {
            contract: self.clone(),
            keys: None,
        }
    }

    /// The given keys, in this order. A key missing from a line's schema
    /// is written as `null`, so every object has the same keys.
    ///
    /// # Errors
    ///
    /// For a key that is not in [`valid_keys`](Contract::valid_keys).
    pub fn select_keys<S: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = S>,
    ) -> Result<Selection, UnknownKey> {
        let keys = keys
            .into_iter()
            .map(|key| self.key(key.as_ref()))
            .collect::<Result<Vec<Key>, UnknownKey>>()?;
        Ok(Selection {
            contract: self.clone(),
            keys: Some(keys),
        })
    }

    /// A comma-separated list of keys; empty means everything.
    ///
    /// # Errors
    ///
    /// For a key that is not in [`valid_keys`](Contract::valid_keys).
    pub fn select(&self, list: &str) -> Result<Selection, UnknownKey> {
        let keys: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Ok(self.select_all());
        }
        self.select_keys(keys)
    }

    fn key(&self, name: &str) -> Result<Key, UnknownKey> {
        let unknown = || UnknownKey { key: name.into() };
        if self.dropped(name) {
            return Err(unknown());
        }
        if let Some(i) = self.0.keys.iter().position(|k| k.name == name) {
            return Ok(Key::Derived(i as u16));
        }
        match name {
            TIMESTAMP_KEY => Ok(Key::Timestamp),
            QUERY_PARAMS_KEY => Ok(Key::QueryParams),
            _ => Field::from_json_key(name)
                .filter(|&field| !time_kind(field) || field == Field::TimestampMs)
                .map(Key::Field)
                .ok_or_else(unknown),
        }
    }

    /// The number of registered derived keys, the size of the
    /// [`DerivedValues`] of an entry.
    fn derived_len(&self) -> usize {
        self.0.keys.len()
    }

    /// Whether applying the contract to a line changes nothing: no
    /// registered derive, no transform. Writers then read the line as it
    /// is.
    #[inline]
    pub(crate) fn is_plain(&self) -> bool {
        self.0.derives.is_empty() && self.0.transforms.is_empty()
    }

    /// Runs the derives on `line`, then the transforms: the line every
    /// output reads, in `scratch`, and the values of the derived keys.
    ///
    /// # Errors
    ///
    /// A derive's.
    pub(crate) fn apply<'s>(
        &self,
        line: &LogLine<'s>,
        scratch: &'s mut Applied,
    ) -> Result<(LogLine<'s>, &'s DerivedValues), FieldError> {
        let Applied {
            values,
            bytes,
            spans,
            rewritten,
            schema_id,
            columns,
        } = scratch;
        values.reset(self.derived_len());
        for (derive, base) in &self.0.derives {
            values.start(*base);
            derive.derive(line, values)?;
        }
        if self.0.transforms.is_empty() {
            return Ok((line.clone(), values));
        }
        let schema = line.schema();
        if *schema_id != schema.id() {
            // The columns a transform may rewrite, found once per schema:
            // the others are not asked about, line after line.
            columns.clear();
            columns.extend(schema.columns().iter().enumerate().filter_map(
                |(i, column)| match column {
                    Column::Known(field) if self.0.rewritten_fields.contains(field) => Some(i),
                    _ => None,
                },
            ));
            *schema_id = schema.id();
        }
        let line = line.rewritten(bytes, spans, columns, |i, raw, out| {
            let Column::Known(field) = schema.columns()[i] else {
                return false;
            };
            self.rewrite_into(field, raw, out, rewritten)
        });
        Ok((line, values))
    }

    /// The value every output sees for `field` when the log has `raw`:
    /// appended to `out` after the transforms rewrote it, and `true`; or
    /// `false`, and `out` untouched, when no transform rewrites `field`.
    /// For what reads a field beside the outputs, such as a stream's
    /// partition key, so that it never sees a value the outputs do not.
    ///
    /// ```
    /// use cflog_core::Field;
    /// use cflog_core::contract::{Contract, Transform};
    ///
    /// #[derive(Debug)]
    /// struct Masked;
    /// impl Transform for Masked {
    ///     fn fields(&self) -> &[Field] {
    ///         &[Field::ClientIp]
    ///     }
    ///     fn rewrite(&self, _: Field, _: &[u8], out: &mut Vec<u8>) {
    ///         out.extend_from_slice(b"masked");
    ///     }
    /// }
    /// let contract = Contract::standard().transform(Masked);
    /// let mut out = Vec::new();
    /// assert!(contract.rewrite(Field::ClientIp, b"192.0.2.1", &mut out));
    /// assert_eq!(out, b"masked");
    /// assert!(!contract.rewrite(Field::Status, b"200", &mut out));
    /// ```
    pub fn rewrite(&self, field: Field, raw: &[u8], out: &mut Vec<u8>) -> bool {
        self.rewrite_into(field, raw, out, &mut Vec::new())
    }

    /// [`rewrite`](Contract::rewrite), with a buffer reused across calls.
    fn rewrite_into(
        &self,
        field: Field,
        raw: &[u8],
        out: &mut Vec<u8>,
        rewritten: &mut Vec<u8>,
    ) -> bool {
        if !self.0.rewritten_fields.contains(&field) {
            return false;
        }
        // Where the value being rewritten starts in `out`, once a transform
        // has written it.
        let mut start = None;
        for transform in &self.0.transforms {
            if !transform.fields().contains(&field) {
                continue;
            }
            match start {
                None => {
                    start = Some(out.len());
                    transform.rewrite(field, raw, out);
                }
                Some(at) => {
                    // Each transform reads the value the one before it wrote.
                    rewritten.clear();
                    rewritten.extend_from_slice(&out[at..]);
                    out.truncate(at);
                    transform.rewrite(field, rewritten, out);
                }
            }
        }
        start.is_some()
    }
}

/// The buffers of [`Contract::apply`], reused from entry to entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct Applied {
    values: DerivedValues,
    bytes: Vec<u8>,
    spans: Vec<u32>,
    /// A transform's value, read by the next one.
    rewritten: Vec<u8>,
    /// The schema `columns` are of (0 for none yet).
    schema_id: u64,
    /// The columns of that schema that a transform rewrites.
    columns: Vec<usize>,
}

/// The derived values of an entry of a plain contract: none.
pub(crate) fn no_values() -> &'static DerivedValues {
    static NONE: std::sync::OnceLock<DerivedValues> = std::sync::OnceLock::new();
    NONE.get_or_init(DerivedValues::default)
}

/// Whether `field` is a source of the request time rather than a key.
fn time_kind(field: Field) -> bool {
    matches!(
        field,
        Field::Date | Field::Time | Field::Timestamp | Field::TimestampMs
    )
}

/// Which keys to write, and in which order: some keys of a [`Contract`], or
/// all of them.
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
    contract: Contract,
    keys: Option<Vec<Key>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Timestamp,
    QueryParams,
    Field(Field),
    /// A registered derived key, by its index among them.
    Derived(u16),
}

/// A selected key that is not part of the contract.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown field key {key:?}: expected JSON keys such as timestamp, sc_status, cs_uri_stem (see `valid_keys`)"
)]
pub struct UnknownKey {
    /// The key as given.
    pub key: String,
}

impl Selection {
    /// Every column of each line's schema, by the standard contract.
    pub fn all() -> Selection {
        Contract::standard().select_all()
    }

    /// The given keys of the standard contract, in this order (see
    /// [`Contract::select_keys`]).
    ///
    /// # Errors
    ///
    /// For a key that is not in [`valid_keys`](Selection::valid_keys).
    pub fn from_keys<S: AsRef<str>>(
        keys: impl IntoIterator<Item = S>,
    ) -> Result<Selection, UnknownKey> {
        Contract::standard().select_keys(keys)
    }

    /// A comma-separated list of keys of the standard contract; empty means
    /// everything.
    ///
    /// # Errors
    ///
    /// For a key that is not in [`valid_keys`](Selection::valid_keys).
    pub fn parse(list: &str) -> Result<Selection, UnknownKey> {
        Contract::standard().select(list)
    }

    /// The contract the keys are of.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The selected keys, or `None` for everything.
    pub fn keys(&self) -> Option<Vec<&'static str>> {
        let name = |key: &Key| match *key {
            Key::Timestamp => TIMESTAMP_KEY,
            Key::QueryParams => QUERY_PARAMS_KEY,
            Key::Field(field) => field.json_key(),
            Key::Derived(i) => self.contract.0.keys[usize::from(i)].name,
        };
        Some(self.keys.as_ref()?.iter().map(name).collect())
    }

    /// Every key a selection of the standard contract may name.
    pub fn valid_keys() -> impl Iterator<Item = &'static str> {
        let fields = Field::ALL
            .iter()
            .filter(|f| !time_kind(**f) || **f == Field::TimestampMs)
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
    /// A registered derived key, by its index among them.
    Derived(u16),
}

/// The items of an entry of `schema` by `selection`, in order.
pub(crate) fn plan(selection: &Selection, schema: &Schema) -> Vec<Item> {
    let contract = &selection.contract;
    // A derived key that fills a field the schema has is the field.
    let derived = |i: u16| match contract.0.keys[usize::from(i)].fills() {
        Some(field) if schema.contains(field) => Item::Field(field),
        _ => Item::Derived(i),
    };
    if let Some(keys) = &selection.keys {
        return keys
            .iter()
            .map(|key| match *key {
                Key::Timestamp => Item::Timestamp,
                Key::QueryParams => Item::QueryParams,
                Key::Field(field) => Item::Field(field),
                Key::Derived(i) => derived(i),
            })
            .collect();
    }
    let mut items = Vec::with_capacity(schema.len() + 2 + contract.derived_len());
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
    // The registered keys after the columns; one that fills a field the
    // schema has is already there, and so is one that a column of the
    // schema has (an input written with `--enrich`, read again with it):
    // as a logged field's value does, the logged value wins, and an object
    // has each key once.
    let logged = |key: &str| {
        schema
            .columns()
            .iter()
            .any(|column| matches!(column, Column::Unknown { .. }) && column.json_key() == key)
    };
    items.extend(
        (0..contract.derived_len() as u16)
            .map(derived)
            .filter(|&item| {
                matches!(item, Item::Derived(_)) && !logged(item_key(item, selection, schema))
            }),
    );
    if !contract.0.dropped.is_empty() {
        items.retain(|&item| !contract.dropped(item_key(item, selection, schema)));
    }
    items
}

/// The field whose value `item` is: `Field::Timestamp` for the request
/// time, the field a derived key fills, `None` for the others.
pub(crate) fn item_field(item: Item, selection: &Selection) -> Option<Field> {
    match item {
        Item::Timestamp => Some(Field::Timestamp),
        Item::Field(field) => Some(field),
        Item::Derived(i) => selection.contract.0.keys[usize::from(i)].fills(),
        Item::QueryParams | Item::Extra(_) => None,
    }
}

/// The key of `item`.
pub(crate) fn item_key<'s>(item: Item, selection: &'s Selection, schema: &'s Schema) -> &'s str {
    match item {
        Item::Timestamp => TIMESTAMP_KEY,
        Item::QueryParams => QUERY_PARAMS_KEY,
        Item::Field(field) => field.json_key(),
        Item::Extra(i) => schema.columns()[i].json_key(),
        Item::Derived(i) => selection.contract.0.keys[usize::from(i)].name,
    }
}

/// One value of an entry, parsed by its kind.
///
/// The variants are the kinds every writer handles, with no fallback: a
/// new one does not compile until each of them writes it.
#[derive(Clone, Debug)]
pub enum TypedValue<'a> {
    /// Escaped text ([`ValueKind::Text`]), decoded only when asked
    /// ([`Value::decoded_str`]).
    Text(Value<'a>),
    /// Text that is not escaped: a word of an open enum, as logged (`Hit`,
    /// `HTTP/2.0`), or the text of a derived key.
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
    /// A boolean, of a derived key.
    Boolean(bool),
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

/// [`field_value`] with the kind of `field` already looked up: [`read_kind`]
/// into a [`TypedValue`].
#[inline(always)]
pub(crate) fn kind_value<'a>(
    line: &LogLine<'a>,
    field: Field,
    kind: ValueKind,
    value: Option<Value<'a>>,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    read_kind(line, field, kind, value, Typed)
}

/// What the reader of the kinds ([`read_kind`]) hands a value to, one
/// method per shape of value: [`Typed`] builds a [`TypedValue`], the typed
/// walk calls its encoder, a check drops the value.
///
/// The reader calls the visitor's method in each kind's arm, so that a
/// value goes from its parser to an encoder in registers, with no
/// [`TypedValue`] built and taken apart between them.
pub(crate) trait KindVisitor<'a>: Sized {
    /// What the visitor makes of a value.
    type Output;
    /// Its error, which carries a value that is not of its kind.
    type Error: From<FieldError>;
    /// `-`, or a column the line lacks.
    fn null(self) -> Result<Self::Output, Self::Error>;
    /// Escaped text.
    fn text(self, value: Value<'a>) -> Result<Self::Output, Self::Error>;
    /// A word of an open enum.
    fn word(self, word: &'a str) -> Result<Self::Output, Self::Error>;
    /// An unsigned integer.
    fn unsigned(self, n: u64) -> Result<Self::Output, Self::Error>;
    /// A signed integer.
    fn signed(self, n: i64) -> Result<Self::Output, Self::Error>;
    /// Exact decimal seconds.
    fn seconds(self, duration: Duration) -> Result<Self::Output, Self::Error>;
    /// The request time, and whether its source has milliseconds.
    fn timestamp(self, time: OffsetDateTime, millis: bool) -> Result<Self::Output, Self::Error>;
    /// An address, with its text as logged.
    fn ip(self, ip: IpAddr, logged: &'a [u8]) -> Result<Self::Output, Self::Error>;
}

/// The [`KindVisitor`] that makes a [`TypedValue`] (`None` for null).
pub(crate) struct Typed;

impl<'a> KindVisitor<'a> for Typed {
    type Output = Option<TypedValue<'a>>;
    type Error = FieldError;
    #[inline(always)]
    fn null(self) -> Result<Self::Output, FieldError> {
        Ok(None)
    }
    #[inline(always)]
    fn text(self, value: Value<'a>) -> Result<Self::Output, FieldError> {
        Ok(Some(TypedValue::Text(value)))
    }
    #[inline(always)]
    fn word(self, word: &'a str) -> Result<Self::Output, FieldError> {
        Ok(Some(TypedValue::Word(word)))
    }
    #[inline(always)]
    fn unsigned(self, n: u64) -> Result<Self::Output, FieldError> {
        Ok(Some(TypedValue::Unsigned(n)))
    }
    #[inline(always)]
    fn signed(self, n: i64) -> Result<Self::Output, FieldError> {
        Ok(Some(TypedValue::Signed(n)))
    }
    #[inline(always)]
    fn seconds(self, duration: Duration) -> Result<Self::Output, FieldError> {
        Ok(Some(TypedValue::Seconds(duration)))
    }
    #[inline(always)]
    fn timestamp(self, time: OffsetDateTime, millis: bool) -> Result<Self::Output, FieldError> {
        Ok(Some(TypedValue::Timestamp(time, millis)))
    }
    #[inline(always)]
    fn ip(self, ip: IpAddr, _logged: &'a [u8]) -> Result<Self::Output, FieldError> {
        Ok(Some(TypedValue::Ip(ip)))
    }
}

/// The [`KindVisitor`] of a check: the value is read, and dropped.
pub(crate) struct Check;

impl<'a> KindVisitor<'a> for Check {
    type Output = ();
    type Error = FieldError;
    #[inline(always)]
    fn null(self) -> Result<(), FieldError> {
        Ok(())
    }
    #[inline(always)]
    fn text(self, _: Value<'a>) -> Result<(), FieldError> {
        Ok(())
    }
    #[inline(always)]
    fn word(self, _: &'a str) -> Result<(), FieldError> {
        Ok(())
    }
    #[inline(always)]
    fn unsigned(self, _: u64) -> Result<(), FieldError> {
        Ok(())
    }
    #[inline(always)]
    fn signed(self, _: i64) -> Result<(), FieldError> {
        Ok(())
    }
    #[inline(always)]
    fn seconds(self, _: Duration) -> Result<(), FieldError> {
        Ok(())
    }
    #[inline(always)]
    fn timestamp(self, _: OffsetDateTime, _: bool) -> Result<(), FieldError> {
        Ok(())
    }
    #[inline(always)]
    fn ip(self, _: IpAddr, _: &'a [u8]) -> Result<(), FieldError> {
        Ok(())
    }
}

/// The reader of every kind: the value of `field` in `line`, of `kind`,
/// given `value`, its raw value there, handed to `visitor`. Null for `-`
/// and a missing column.
///
/// The kind chooses the parser; a column of a time kind under its own key
/// stands for the request time, as in the JSON contract.
///
/// # Errors
///
/// When the value is not of its kind, or the visitor's.
#[inline(always)]
pub(crate) fn read_kind<'a, V: KindVisitor<'a>>(
    line: &LogLine<'a>,
    field: Field,
    kind: ValueKind,
    value: Option<Value<'a>>,
    visitor: V,
) -> Result<V::Output, V::Error> {
    let Some(value) = value else {
        return visitor.null();
    };
    let raw = value.raw();
    let fail = |problem| FieldError::new(field, problem);
    match kind {
        ValueKind::Text => visitor.text(value),
        ValueKind::Integer => visitor.unsigned(unsigned(raw).map_err(fail)?),
        ValueKind::SignedInteger => visitor.signed(signed(raw).map_err(fail)?),
        ValueKind::Status => visitor.unsigned(status(raw).map_err(fail)?.into()),
        ValueKind::Port => visitor.unsigned(port(raw).map_err(fail)?.into()),
        ValueKind::Asn => visitor.unsigned(asn(raw).map_err(fail)?.into()),
        ValueKind::EpochMillis => visitor.unsigned(match line.millis_read(field) {
            // `timestamp_ms` as `timestamp` read it: parsed once.
            Some(ms) => ms,
            None => epoch_millis(raw).map_err(fail)?,
        }),
        ValueKind::Ip => visitor.ip(ip(raw).map_err(fail)?, raw),
        ValueKind::Seconds => visitor.seconds(seconds(raw).map_err(fail)?),
        ValueKind::ResultType
        | ValueKind::Protocol
        | ValueKind::HttpVersion
        | ValueKind::SslProtocol
        | ValueKind::FleStatus
        | ValueKind::IpVersion => visitor.word(word(raw).map_err(fail)?),
        ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds => {
            read_timestamp(line, visitor)
        }
    }
}

/// The request time of `line`, as the `timestamp` key has it, handed to
/// `visitor`.
#[inline(always)]
pub(crate) fn read_timestamp<'a, V: KindVisitor<'a>>(
    line: &LogLine<'a>,
    visitor: V,
) -> Result<V::Output, V::Error> {
    match line.timestamp()? {
        Some(time) => visitor.timestamp(time, line.timestamp_has_millis()),
        None => visitor.null(),
    }
}

/// The request time of `line`, as the `timestamp` key has it.
pub(crate) fn timestamp_value<'a>(
    line: &LogLine<'a>,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    read_timestamp(line, Typed)
}

/// The value of an item of the contract's plan for `line`, whose derived
/// keys have `values`.
pub(crate) fn item_value<'a>(
    item: Item,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    match item {
        Item::Derived(i) => Ok(derived_value(values, usize::from(i))),
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
        Item::Extra(i) => Ok(extra_value(line, i)),
    }
}

/// The value of unknown column `col` in `line`, by the column's
/// [`ExtraKind`]. A value that is not of that kind is text: the kind is a
/// typed source's word for what it wrote, so this never fails.
#[inline]
pub(crate) fn extra_value<'a>(line: &LogLine<'a>, col: usize) -> Option<TypedValue<'a>> {
    let value = line.column(col).and_then(Value::new)?;
    let kind = line.schema().columns()[col].extra_kind();
    let typed = match (kind, value.raw()) {
        (Some(ExtraKind::Boolean), b"true") => Some(TypedValue::Boolean(true)),
        (Some(ExtraKind::Boolean), b"false") => Some(TypedValue::Boolean(false)),
        (Some(ExtraKind::Integer), [b'-', ..]) => signed(value.raw()).ok().map(TypedValue::Signed),
        (Some(ExtraKind::Integer), _) => unsigned(value.raw()).ok().map(TypedValue::Unsigned),
        _ => None,
    };
    Some(typed.unwrap_or(TypedValue::Text(value)))
}

/// The value of registered derived key `index` in `values`.
#[inline]
pub(crate) fn derived_value(values: &DerivedValues, index: usize) -> Option<TypedValue<'_>> {
    let (slot, text) = values.get(index);
    Some(match slot {
        Slot::Null => return None,
        Slot::Text { start, end } => TypedValue::Word(&text[start..end]),
        Slot::Boolean(value) => TypedValue::Boolean(value),
        Slot::Integer(n) => TypedValue::Unsigned(n),
        Slot::Ip(ip) => TypedValue::Ip(ip),
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::json::{EntryText, JsonWriter};
    use crate::typed::{Encoder, Key, Layout};

    /// Each key and its value as text, as the typed layer hands them on.
    #[derive(Default)]
    struct Pairs(Vec<(String, String)>);

    impl Pairs {
        fn push(&mut self, key: Key<'_>, value: impl fmt::Display) -> Result<(), FieldError> {
            self.0.push((key.name.to_owned(), value.to_string()));
            Ok(())
        }
    }

    use std::fmt;

    impl Encoder for Pairs {
        type Error = FieldError;
        fn null(&mut self, key: Key<'_>) -> Result<(), FieldError> {
            self.push(key, "")
        }
        fn text(&mut self, key: Key<'_>, value: Value<'_>) -> Result<(), FieldError> {
            self.push(key, value.decoded_str())
        }
        fn word(&mut self, key: Key<'_>, word: &str) -> Result<(), FieldError> {
            self.push(key, word)
        }
        fn unsigned(&mut self, key: Key<'_>, n: u64) -> Result<(), FieldError> {
            self.push(key, n)
        }
        fn signed(&mut self, key: Key<'_>, n: i64) -> Result<(), FieldError> {
            self.push(key, n)
        }
        fn seconds(&mut self, key: Key<'_>, d: Duration) -> Result<(), FieldError> {
            self.push(key, d.as_millis())
        }
        fn timestamp(
            &mut self,
            key: Key<'_>,
            time: OffsetDateTime,
            _: bool,
        ) -> Result<(), FieldError> {
            self.push(key, time.unix_timestamp())
        }
        fn ip(&mut self, key: Key<'_>, ip: IpAddr) -> Result<(), FieldError> {
            self.push(key, ip)
        }
        fn boolean(&mut self, key: Key<'_>, value: bool) -> Result<(), FieldError> {
            self.push(key, value)
        }
        fn query_params(&mut self, key: Key<'_>, p: &QueryParams<'_>) -> Result<(), FieldError> {
            let mut text = String::new();
            for (name, value) in p.iter() {
                let _ = write!(text, "{name}={value};");
            }
            self.push(key, text)
        }
    }

    /// The entry of `text` by `selection`: JSON (both ways), cells, and the
    /// typed values, each as (key, text) pairs.
    fn outputs(header: &str, text: &str, selection: &Selection) -> [Vec<(String, String)>; 4] {
        let schema = Schema::from_fields_header(header.as_bytes()).unwrap();
        let mut spans = Vec::new();
        let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
        let from_json = |json: &[u8]| -> Vec<(String, String)> {
            let Ordered(object) = serde_json::from_slice(json).unwrap();
            object
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect()
        };
        let mut json = JsonWriter::new(selection.clone());
        let mut written = Vec::new();
        json.write(&line, &mut written).unwrap();
        let mut block = vec![0; 4096];
        let len = json.write_to_slice(&line, &mut block).unwrap().unwrap();
        let mut texts = EntryText::new(selection.clone());
        let (mut buf, mut spans) = (vec![0; 4096], Vec::new());
        let text_len = texts.write(&line, b',', &mut buf, &mut spans).unwrap();
        let text = &buf[..text_len.unwrap()];
        let cells = spans
            .iter()
            .zip(texts.keys(&schema))
            .map(|(span, key)| {
                let cell = &text[span.start..span.end];
                (key.clone(), String::from_utf8(cell.to_vec()).unwrap())
            })
            .collect();
        let mut pairs = Pairs::default();
        Layout::new(selection.clone())
            .encode(&line, &mut pairs)
            .unwrap();
        [
            from_json(&written),
            from_json(&block[..len]),
            cells,
            pairs.0,
        ]
    }

    /// A JSON object's members in their order.
    struct Ordered(Vec<(String, serde_json::Value)>);

    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
            struct Members;
            impl<'de> serde::de::Visitor<'de> for Members {
                type Value = Ordered;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Ordered, A::Error> {
                    let mut members = Vec::new();
                    while let Some(member) = map.next_entry()? {
                        members.push(member);
                    }
                    Ok(Ordered(members))
                }
            }
            d.deserialize_map(Members)
        }
    }

    fn value<'v>(pairs: &'v [(String, String)], key: &str) -> Option<&'v str> {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_writer_writes_the_derived_keys_and_only_the_transformed_values() {
        let header = "#Fields: date time c-ip cs-method cs-uri-query x-forwarded-for";
        let text = "2019-12-04\t21:02:31\t2001:0db8:0:0::1\tPOST\ta=1\t192.0.2.1,%20198.51.100.7";
        let selection = testing::contract().select_all();
        let written = outputs(header, text, &selection);
        let keys = [
            "timestamp",
            "c_ip",
            "cs_method",
            "cs_uri_query",
            "query_params",
            "x_forwarded_for",
            "test_ip_bytes",
            "test_has_query",
            "test_method",
        ];
        for (i, pairs) in written.iter().enumerate() {
            let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, keys, "writer {i}");
            // The transform's value, never the logged one.
            assert_eq!(value(pairs, "c_ip"), Some("fd00::"), "writer {i}");
            assert_eq!(
                value(pairs, "x_forwarded_for"),
                Some("masked"),
                "writer {i}"
            );
            // The derive saw the logged address.
            assert_eq!(value(pairs, "test_ip_bytes"), Some("16"), "writer {i}");
            assert_eq!(value(pairs, "test_has_query"), Some("true"), "writer {i}");
            assert_eq!(value(pairs, "test_method"), Some("post"), "writer {i}");
        }
        // A selection names derived keys as any other.
        let some = testing::contract()
            .select("test_method,c_ip,test_ip_bytes")
            .unwrap();
        for pairs in outputs(header, text, &some) {
            assert_eq!(
                pairs,
                [
                    ("test_method".to_owned(), "post".to_owned()),
                    ("c_ip".to_owned(), "fd00::".to_owned()),
                    ("test_ip_bytes".to_owned(), "16".to_owned()),
                ]
            );
        }
    }

    /// Fills `c_country` with `ZZ`.
    #[derive(Debug)]
    struct Country;

    impl Derive for Country {
        fn keys(&self) -> &[DerivedKey] {
            &[DerivedKey {
                name: "c_country",
                kind: KeyKind::Text,
            }]
        }
        fn derive(&self, _: &LogLine<'_>, values: &mut DerivedValues) -> Result<(), FieldError> {
            values.set_text(0, "ZZ");
            Ok(())
        }
    }

    #[test]
    fn a_key_that_fills_a_field_gives_way_to_the_logged_value() {
        let contract = Contract::standard().derive(Country).unwrap();
        for selection in [contract.select_all(), contract.select("c_country").unwrap()] {
            for pairs in outputs("#Fields: c-country", "DE", &selection) {
                assert_eq!(pairs, [("c_country".to_owned(), "DE".to_owned())]);
            }
            for pairs in outputs("#Fields: c-country", "-", &selection) {
                assert_eq!(pairs, [("c_country".to_owned(), String::new())]);
            }
        }
        for pairs in outputs("#Fields: sc-status", "200", &contract.select_all()) {
            let expected = [("sc_status", "200"), ("c_country", "ZZ")];
            assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
        }
    }

    #[test]
    fn a_key_that_a_column_of_the_input_has_gives_way_to_the_logged_value() {
        let contract = Contract::standard()
            .derive(super::testing::TestKeys)
            .unwrap();
        let logged = outputs(
            "#Fields: cs-method test_method sc-status",
            "GET\tfrom-the-input\t200",
            &contract.select_all(),
        );
        for pairs in logged {
            let keys: Vec<&str> = pairs.iter().map(|(key, _)| key.as_str()).collect();
            assert_eq!(
                keys,
                [
                    "cs_method",
                    "test_method",
                    "sc_status",
                    "test_ip_bytes",
                    "test_has_query"
                ]
            );
            assert_eq!(pairs[1].1, "from-the-input");
        }
    }

    /// Writes a word in place of `c-ip`, and says so when `text`.
    #[derive(Debug)]
    struct Pseudonym {
        text: bool,
    }

    impl Transform for Pseudonym {
        fn fields(&self) -> &[Field] {
            &[Field::ClientIp, Field::Date]
        }
        fn rewrite(&self, field: Field, raw: &[u8], out: &mut Vec<u8>) {
            match field {
                Field::ClientIp => out.extend_from_slice(b"5eudo"),
                _ => out.extend_from_slice(raw),
            }
        }
        fn output_kind(&self, _: Field) -> Option<ValueKind> {
            self.text.then_some(ValueKind::Text)
        }
    }

    #[test]
    fn one_writer_rewrites_the_right_column_of_each_schema_in_turn() {
        // `c-ip` in another column of each schema, the lines alternating:
        // the columns to rewrite are found again when the schema changes.
        let first = Schema::from_fields_header(b"#Fields: c-ip sc-status").unwrap();
        let second = Schema::from_fields_header(b"#Fields: sc-status cs-uri-stem c-ip").unwrap();
        let mut writer = JsonWriter::new(
            Contract::standard()
                .transform(Pseudonym { text: true })
                .select_all(),
        );
        let mut spans = Vec::new();
        for _ in 0..2 {
            let mut out = Vec::new();
            let line = LogLine::parse(b"192.0.2.1\t200", &first, &mut spans).unwrap();
            writer.write(&line, &mut out).unwrap();
            assert_eq!(out, br#"{"c_ip":"5eudo","sc_status":200}"#);
            out.clear();
            let line = LogLine::parse(b"404\t/a\t192.0.2.2", &second, &mut spans).unwrap();
            writer.write(&line, &mut out).unwrap();
            assert_eq!(
                out,
                br#"{"sc_status":404,"cs_uri_stem":"/a","c_ip":"5eudo"}"#
            );
        }
    }

    #[test]
    fn a_transform_that_writes_text_makes_its_field_text_in_every_writer() {
        let header = "#Fields: date time c-ip sc-status";
        let text = "2019-12-04\t21:02:31\t192.0.2.1\t200";
        let contract = Contract::standard().transform(Pseudonym { text: true });
        assert_eq!(contract.field_kind(Field::ClientIp), ValueKind::Text);
        // The request time is never text.
        assert_eq!(contract.field_kind(Field::Date), ValueKind::Date);
        for selection in [
            contract.select_all(),
            contract.select("c_ip,sc_status").unwrap(),
        ] {
            for (i, pairs) in outputs(header, text, &selection).iter().enumerate() {
                assert_eq!(value(pairs, "c_ip"), Some("5eudo"), "writer {i}");
                assert_eq!(value(pairs, "sc_status"), Some("200"), "writer {i}");
            }
        }
        // Undeclared, the word is read as an address, and refused.
        let undeclared = Contract::standard().transform(Pseudonym { text: false });
        assert_eq!(undeclared.field_kind(Field::ClientIp), ValueKind::Ip);
        let schema = Schema::from_fields_header(header.as_bytes()).unwrap();
        let mut spans = Vec::new();
        let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
        let error = JsonWriter::new(undeclared.select_all())
            .write(&line, &mut Vec::new())
            .unwrap_err();
        assert_eq!(error.field(), Field::ClientIp);
    }

    #[test]
    fn dropped_keys_are_in_no_output() {
        let contract = testing::contract()
            .without(["cs_method", "test_method", "query_params"])
            .unwrap();
        let header = "#Fields: cs-method cs-uri-query";
        for pairs in outputs(header, "GET\ta=1", &contract.select_all()) {
            let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, ["cs_uri_query", "test_ip_bytes", "test_has_query"]);
        }
        assert!(contract.select("cs_method").is_err());
        assert!(contract.without(["no_such_key"]).is_err());
    }

    #[test]
    fn a_contract_refuses_keys_it_has_and_fills_of_another_kind() {
        assert_eq!(
            testing::contract().derive(testing::TestKeys).unwrap_err(),
            ContractError::SameKey("test_ip_bytes")
        );
        #[derive(Debug)]
        struct Status;
        impl Derive for Status {
            fn keys(&self) -> &[DerivedKey] {
                &[DerivedKey {
                    name: "sc_status",
                    kind: KeyKind::Text,
                }]
            }
            fn derive(&self, _: &LogLine<'_>, _: &mut DerivedValues) -> Result<(), FieldError> {
                Ok(())
            }
        }
        assert!(matches!(
            Contract::standard().derive(Status),
            Err(ContractError::FillKind { .. })
        ));
    }
}
