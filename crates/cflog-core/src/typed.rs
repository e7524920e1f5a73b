//! Typed values: each column read once, by the one parser of its kind, and
//! handed to an [`Encoder`].
//!
//! A field's [`ValueKind`] (in the field table) decides how its value is
//! read. The functions of this module are the only readers of each kind:
//! the [`LogLine`] accessors, the JSON writer's general path and
//! [`Layout::encode`] all call them, and the errors they give name what was
//! expected in one place.
//!
//! [`Layout::encode`] walks the entry of a line, key by key, as the JSON
//! contract has it (the same keys, in the same order, with `date` and `time`
//! joined into `timestamp` and `query_params` after the query), and calls
//! the [`Encoder`] with each value, parsed. Every output other than JSON
//! (CSV, a tally, a columnar format) is an [`Encoder`]: none of them reads
//! text that another output wrote.
//!
//! ```
//! use std::net::IpAddr;
//! use std::time::Duration;
//!
//! use cflog_core::typed::{Encoder, Key, Layout};
//! use cflog_core::contract::Selection;
//! use cflog_core::{FieldError, LogLine, Schema, Value};
//! use time::OffsetDateTime;
//!
//! /// Writes `key=value` pairs, numbers as numbers.
//! #[derive(Default)]
//! struct Pairs(Vec<String>);
//!
//! impl Encoder for Pairs {
//!     type Error = FieldError;
//!     fn null(&mut self, key: Key<'_>) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}=-", key.name)))
//!     }
//!     fn text(&mut self, key: Key<'_>, value: Value<'_>) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={}", key.name, value.decoded_str())))
//!     }
//!     fn word(&mut self, key: Key<'_>, word: &str) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={word}", key.name)))
//!     }
//!     fn unsigned(&mut self, key: Key<'_>, n: u64) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={n}", key.name)))
//!     }
//!     fn signed(&mut self, key: Key<'_>, n: i64) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={n}", key.name)))
//!     }
//!     fn seconds(&mut self, key: Key<'_>, d: Duration) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={}ms", key.name, d.as_millis())))
//!     }
//!     fn timestamp(&mut self, key: Key<'_>, t: OffsetDateTime, _millis: bool) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={}", key.name, t.unix_timestamp())))
//!     }
//!     fn ip(&mut self, key: Key<'_>, ip: IpAddr) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={ip}", key.name)))
//!     }
//!     fn boolean(&mut self, key: Key<'_>, value: bool) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={value}", key.name)))
//!     }
//!     fn query_params(&mut self, key: Key<'_>, params: &cflog_core::escape::QueryParams<'_>) -> Result<(), FieldError> {
//!         Ok(self.0.push(format!("{}={}", key.name, params.iter().count())))
//!     }
//! }
//!
//! let schema = Schema::from_fields_header(b"#Fields: date time c-ip sc-status cs-uri-query time-taken")?;
//! let mut spans = Vec::new();
//! let line = LogLine::parse(b"2019-12-04\t21:02:31\t2001:0db8::1\t200\ta=1&b=2\t0.082", &schema, &mut spans)?;
//!
//! let mut layout = Layout::new(Selection::all());
//! let mut pairs = Pairs::default();
//! layout.encode(&line, &mut pairs)?;
//! assert_eq!(pairs.0, [
//!     "timestamp=1575493351", "c_ip=2001:db8::1", "sc_status=200",
//!     "cs_uri_query=a=1&b=2", "query_params=2", "time_taken=82ms",
//! ]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::IpAddr;
use std::time::Duration;

/// The type of the request time (the `time` crate's), for encoders that
/// do not depend on `time` themselves.
pub use time::OffsetDateTime;

pub use crate::kind::seconds_f64;

use crate::contract::{
    Applied, DerivedValues, Item, KindVisitor, Selection, TypedValue, extra_value, item_field,
    item_key, item_value, kind_value, no_values, plan, read_kind, read_timestamp, timestamp_value,
};
use crate::escape::QueryParams;
use crate::field::{Field, ValueKind};
use crate::kind::FieldError;
use crate::line::{LogLine, Value};
use crate::schema::{Family, Schema};

mod checks;
use checks::Checks;

impl<'a> TypedValue<'a> {
    /// Hands the value to `encoder`, under `key`.
    ///
    /// # Errors
    ///
    /// The encoder's.
    #[inline(always)]
    pub fn encode<E: Encoder + ?Sized>(
        &self,
        key: Key<'_>,
        encoder: &mut E,
    ) -> Result<(), E::Error> {
        match self {
            TypedValue::Text(value) => encoder.text(key, *value),
            TypedValue::Word(word) => encoder.word(key, word),
            TypedValue::Unsigned(n) => encoder.unsigned(key, *n),
            TypedValue::Signed(n) => encoder.signed(key, *n),
            TypedValue::Seconds(d) => encoder.seconds(key, *d),
            TypedValue::Timestamp(time, millis) => encoder.timestamp(key, *time, *millis),
            TypedValue::Ip(ip) => encoder.ip(key, *ip),
            TypedValue::Boolean(value) => encoder.boolean(key, *value),
            TypedValue::QueryParams(params) => encoder.query_params(key, params),
        }
    }
}

/// Where a value goes in an [`Encoder`]: its place in the entry and its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key<'k> {
    /// The value's place among the entry's keys, from 0 (the index in
    /// [`Layout::keys`]).
    pub index: usize,
    /// The JSON key (`sc_status`, `timestamp`, `query_params`, or an
    /// unknown column's key).
    pub name: &'k str,
    /// The field the value is of: `Some(Field::Timestamp)` for the request
    /// time, whatever its source; `None` for `query_params` and for
    /// unknown columns; for a registered derived key, the field it fills
    /// (see [`DerivedKey`](crate::contract::DerivedKey)).
    pub field: Option<Field>,
    /// Whether the value is of a registered derived key (not `timestamp`
    /// nor `query_params`): one an encoder writes by its key alone.
    pub derived: bool,
}

/// Receives the values of an entry, parsed, one call per key, in order.
///
/// This is the shape of serde's `Serializer`, reduced to the kinds a log
/// has. Each method gets the [`Key`] of the value. An encoder that must not
/// keep part of an entry (a row that would be cut, a tally that would count
/// half a line) gathers the values and commits them when
/// [`Layout::encode`] returns `Ok`: an entry with a bad value stops at that
/// value with its error, having sent only the values before it.
///
/// See the [module docs](self) for an example.
pub trait Encoder {
    /// The error of the encoder, which also carries a value that is not of
    /// its kind.
    type Error: From<FieldError>;

    /// A value that is missing: `-`, or a column the line's schema lacks.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn null(&mut self, key: Key<'_>) -> Result<(), Self::Error>;

    /// Text as logged, escaped; [`Value::decoded_str`] gives it decoded one
    /// level, as the JSON contract writes it.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn text(&mut self, key: Key<'_>, value: Value<'_>) -> Result<(), Self::Error>;

    /// A word of an open enum, as logged (`Hit`, `https`, `TLSv1.3`).
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn word(&mut self, key: Key<'_>, word: &str) -> Result<(), Self::Error>;

    /// An unsigned integer.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn unsigned(&mut self, key: Key<'_>, n: u64) -> Result<(), Self::Error>;

    /// A signed integer.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn signed(&mut self, key: Key<'_>, n: i64) -> Result<(), Self::Error>;

    /// A duration logged in decimal seconds, exact.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn seconds(&mut self, key: Key<'_>, duration: Duration) -> Result<(), Self::Error>;

    /// The request time, in UTC; `millis` when its source has milliseconds.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn timestamp(
        &mut self,
        key: Key<'_>,
        time: OffsetDateTime,
        millis: bool,
    ) -> Result<(), Self::Error>;

    /// An address.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn ip(&mut self, key: Key<'_>, ip: IpAddr) -> Result<(), Self::Error>;

    /// An address read from a column, with `logged`, its text as logged.
    /// An IPv4 `logged` is the text `ip`'s `Display` writes (the parser
    /// takes dotted decimal only, without leading zeros), so an encoder
    /// that writes addresses as text may copy it instead of formatting the
    /// address. By default, [`ip`](Encoder::ip).
    ///
    /// # Errors
    ///
    /// The encoder's own.
    #[inline]
    fn ip_as_logged(&mut self, key: Key<'_>, ip: IpAddr, logged: &[u8]) -> Result<(), Self::Error> {
        let _ = logged;
        self.ip(key, ip)
    }

    /// A boolean, of a derived key.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn boolean(&mut self, key: Key<'_>, value: bool) -> Result<(), Self::Error>;

    /// The query's parameters.
    ///
    /// # Errors
    ///
    /// The encoder's own.
    fn query_params(&mut self, key: Key<'_>, params: &QueryParams<'_>) -> Result<(), Self::Error>;
}

/// One step of a [`Layout`]: an item resolved against a schema.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// A known field's own column, read by its kind.
    Column {
        col: usize,
        field: Field,
        kind: ValueKind,
    },
    /// A known field the schema has no column for: null.
    Missing,
    /// An unknown column: text.
    Extra { col: usize },
    /// The request time (`timestamp`), one per entry.
    Timestamp,
    /// Anything else that needs the whole line (the request time, the query
    /// parameters, a real-time line's URI parts).
    Item(Item),
}

/// A key of a [`Layout`]: its step and what its [`Key`] says besides its
/// name, resolved once per schema so that the walk only copies them.
#[derive(Clone, Copy, Debug)]
struct Slot {
    step: Step,
    field: Option<Field>,
    derived: bool,
}

/// The keys of the entries of a [`Selection`], resolved once per schema,
/// and the walk that hands each entry's values to an [`Encoder`].
///
/// The keys and their order are those of the JSON contract
/// ([`JsonWriter`](crate::json::JsonWriter) writes the same ones).
///
/// ```
/// use cflog_core::typed::Layout;
/// use cflog_core::contract::Selection;
/// use cflog_core::Schema;
///
/// let schema = Schema::from_fields_header(b"#Fields: date time sc-status cs-uri-query x-custom")?;
/// let mut layout = Layout::new(Selection::all());
/// assert_eq!(layout.keys(&schema), ["timestamp", "sc_status", "cs_uri_query", "query_params", "x_custom"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Layout {
    selection: Selection,
    /// The keys handed to the encoder ([`Layout::only`]); `None` for all.
    wanted: Option<fn(Key<'_>) -> bool>,
    schema_id: u64,
    keys: Vec<String>,
    /// Per key, its step and what its [`Key`] says besides its name.
    slots: Vec<Slot>,
    /// The keys whose values are handed to the encoder, in order, by
    /// index, with their slots.
    handed: Vec<(usize, Slot)>,
    /// The checks of the values that are not.
    checks: Checks,
    /// The buffers of the contract's derived keys and transforms.
    applied: Applied,
}

impl Layout {
    /// The layout of the entries of `selection`.
    pub fn new(selection: Selection) -> Layout {
        Layout {
            selection,
            wanted: None,
            schema_id: 0,
            keys: Vec::new(),
            slots: Vec::new(),
            handed: Vec::new(),
            checks: Checks::default(),
            applied: Applied::default(),
        }
    }

    /// The layout of the entries of `selection`, whose
    /// [`encode`](Layout::encode) hands on only the values of the keys
    /// `wanted` accepts, for encoders that use a few of them (a tally).
    ///
    /// The other values are still read by their kind, and a line is
    /// rejected at exactly the values [`Layout::new`]'s layout rejects it
    /// at (the JSON writer's too), with the same error; but they are
    /// checked kind by kind, with no key and no encoder call, and text,
    /// which never fails, not at all.
    ///
    /// ```
    /// use cflog_core::typed::{Key, Layout};
    /// use cflog_core::contract::Selection;
    /// use cflog_core::{Field, LogLine, Schema};
    /// # use cflog_core::typed::{Encoder, OffsetDateTime};
    /// # use cflog_core::{FieldError, Value};
    /// # #[derive(Default)]
    /// # struct Keys(Vec<String>);
    /// # impl Keys { fn push(&mut self, key: Key<'_>) -> Result<(), FieldError> { Ok(self.0.push(key.name.to_owned())) } }
    /// # impl Encoder for Keys {
    /// #     type Error = FieldError;
    /// #     fn null(&mut self, key: Key<'_>) -> Result<(), FieldError> { self.push(key) }
    /// #     fn text(&mut self, key: Key<'_>, _: Value<'_>) -> Result<(), FieldError> { self.push(key) }
    /// #     fn word(&mut self, key: Key<'_>, _: &str) -> Result<(), FieldError> { self.push(key) }
    /// #     fn unsigned(&mut self, key: Key<'_>, _: u64) -> Result<(), FieldError> { self.push(key) }
    /// #     fn signed(&mut self, key: Key<'_>, _: i64) -> Result<(), FieldError> { self.push(key) }
    /// #     fn seconds(&mut self, key: Key<'_>, _: std::time::Duration) -> Result<(), FieldError> { self.push(key) }
    /// #     fn timestamp(&mut self, key: Key<'_>, _: OffsetDateTime, _: bool) -> Result<(), FieldError> { self.push(key) }
    /// #     fn ip(&mut self, key: Key<'_>, _: std::net::IpAddr) -> Result<(), FieldError> { self.push(key) }
    /// #     fn boolean(&mut self, key: Key<'_>, _: bool) -> Result<(), FieldError> { self.push(key) }
    /// #     fn query_params(&mut self, key: Key<'_>, _: &cflog_core::escape::QueryParams<'_>) -> Result<(), FieldError> { self.push(key) }
    /// # }
    ///
    /// let schema = Schema::from_fields_header(b"#Fields: sc-status sc-bytes cs-uri-stem")?;
    /// let mut spans = Vec::new();
    /// let mut layout = Layout::only(Selection::all(), |key| key.field == Some(Field::UriStem));
    /// // `Keys` records the keys it is handed.
    /// let mut keys = Keys::default();
    /// layout.encode(&LogLine::parse(b"200\t512\t/a", &schema, &mut spans)?, &mut keys)?;
    /// assert_eq!(keys.0, ["cs_uri_stem"]);
    /// // `sc_bytes` is not handed on, but still read as a number.
    /// let bad = LogLine::parse(b"200\t5x2\t/a", &schema, &mut spans)?;
    /// assert_eq!(layout.encode(&bad, &mut keys).unwrap_err().field(), Field::ScBytes);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn only(selection: Selection, wanted: fn(Key<'_>) -> bool) -> Layout {
        Layout {
            wanted: Some(wanted),
            ..Layout::new(selection)
        }
    }

    /// The selection.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// The keys of an entry of `schema`, in order.
    pub fn keys(&mut self, schema: &Schema) -> &[String] {
        self.prepare(schema);
        &self.keys
    }

    /// Hands the values of `line` to `encoder`, key by key.
    ///
    /// # Errors
    ///
    /// At the first value that is not of its kind (the values before it
    /// were sent), or the encoder's first error.
    pub fn encode<E: Encoder + ?Sized>(
        &mut self,
        line: &LogLine<'_>,
        encoder: &mut E,
    ) -> Result<(), E::Error> {
        self.prepare(line.schema());
        if self.selection.contract().is_plain() {
            return self.walk(line, no_values(), encoder);
        }
        // The derived values and the transformed line, in buffers kept
        // from entry to entry.
        let mut applied = std::mem::take(&mut self.applied);
        let result = match self.selection.contract().apply(line, &mut applied) {
            Ok((line, values)) => self.walk(&line, values, encoder),
            Err(error) => Err(error.into()),
        };
        self.applied = applied;
        result
    }

    /// Hands the values of `line`, whose derived keys have `values`, to
    /// `encoder`.
    #[inline(always)]
    fn walk<'a, E: Encoder + ?Sized>(
        &self,
        line: &LogLine<'a>,
        values: &'a DerivedValues,
        encoder: &mut E,
    ) -> Result<(), E::Error> {
        if self.wanted.is_none() {
            for (index, (slot, name)) in self.slots.iter().zip(&self.keys).enumerate() {
                let key = Key {
                    index,
                    name,
                    field: slot.field,
                    derived: slot.derived,
                };
                encode_value(slot.step, key, line, values, encoder)?;
            }
            return Ok(());
        }
        // The values not handed on are checked first; when they all pass,
        // only the handed ones are read.
        if self.checks.pass(line, values) {
            for &(index, slot) in &self.handed {
                self.encode_slot(index, slot, line, values, encoder)?;
            }
            return Ok(());
        }
        // A value is bad: the walk in key order finds the first one, for the
        // error `Layout::new`'s layout gives.
        let mut handed = self.handed.iter().peekable();
        for (index, &slot) in self.slots.iter().enumerate() {
            if handed.next_if(|&&(i, _)| i == index).is_some() {
                self.encode_slot(index, slot, line, values, encoder)?;
            } else {
                step_value(slot.step, line, values)?;
            }
        }
        Ok(())
    }

    /// Hands the value of key `index`, of `slot`, to `encoder`.
    #[inline(always)]
    fn encode_slot<'a, E: Encoder + ?Sized>(
        &self,
        index: usize,
        slot: Slot,
        line: &LogLine<'a>,
        values: &'a DerivedValues,
        encoder: &mut E,
    ) -> Result<(), E::Error> {
        let key = Key {
            index,
            name: &self.keys[index],
            field: slot.field,
            derived: slot.derived,
        };
        encode_value(slot.step, key, line, values, encoder)
    }

    fn prepare(&mut self, schema: &Schema) {
        if schema.id() == self.schema_id {
            return;
        }
        let items = plan(&self.selection, schema);
        let realtime = schema.family() == Family::Realtime;
        self.keys = items
            .iter()
            .map(|&item| item_key(item, &self.selection, schema).to_owned())
            .collect();
        self.slots = items
            .into_iter()
            .map(|item| Slot {
                step: match item {
                    Item::Field(Field::UriStem | Field::UriQuery) if realtime => Step::Item(item),
                    Item::Field(field)
                        if !matches!(
                            field.kind(),
                            ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds
                        ) =>
                    {
                        match schema.position(field) {
                            Some(col) => Step::Column {
                                col,
                                field,
                                // A transform may have made the field text.
                                kind: self.selection.contract().field_kind(field),
                            },
                            None => Step::Missing,
                        }
                    }
                    Item::Extra(col) => Step::Extra { col },
                    Item::Timestamp => Step::Timestamp,
                    item => Step::Item(item),
                },
                field: item_field(item, &self.selection),
                derived: matches!(item, Item::Derived(_)),
            })
            .collect();
        let wanted = self.wanted.unwrap_or(|_| true);
        self.handed = self
            .slots
            .iter()
            .copied()
            .enumerate()
            .filter(|&(index, slot)| {
                wanted(Key {
                    index,
                    name: &self.keys[index],
                    field: slot.field,
                    derived: slot.derived,
                })
            })
            .collect();
        let mut handed = self.handed.iter().peekable();
        self.checks = Checks::new(
            self.slots
                .iter()
                .enumerate()
                .filter(|&(index, _)| handed.next_if(|&&(i, _)| i == index).is_none())
                .map(|(_, slot)| &slot.step),
        );
        self.schema_id = schema.id();
    }
}

/// The value of `step` in `line`.
#[inline(always)]
fn step_value<'a>(
    step: Step,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
) -> Result<Option<TypedValue<'a>>, FieldError> {
    match step {
        Step::Column { col, field, kind } => {
            kind_value(line, field, kind, line.column(col).and_then(Value::new))
        }
        Step::Missing => Ok(None),
        Step::Extra { col } => Ok(extra_value(line, col)),
        Step::Timestamp => timestamp_value(line),
        Step::Item(item) => item_value(item, line, values),
    }
}

/// Reads the value of `step` in `line` and hands it to `encoder` under
/// `key`: [`step_value`] and [`hand`] in one. A field's kind is read by
/// [`read_kind`], the one reader of every kind, which calls the encoder's
/// method for the value's shape ([`Hand`]) in each kind's arm: the value
/// goes from its parser to the encoder in registers, with no
/// [`TypedValue`] built and taken apart between them.
#[inline(always)]
fn encode_value<'a, E: Encoder + ?Sized>(
    step: Step,
    key: Key<'_>,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
    encoder: &mut E,
) -> Result<(), E::Error> {
    match step {
        Step::Column { col, field, kind } => {
            let value = line.column(col).and_then(Value::new);
            read_kind(line, field, kind, value, Hand { key, encoder })
        }
        Step::Missing => encoder.null(key),
        Step::Extra { col } => match extra_value(line, col) {
            Some(value) => value.encode(key, encoder),
            None => encoder.null(key),
        },
        Step::Timestamp => read_timestamp(line, Hand { key, encoder }),
        Step::Item(item) => encode_item(item, key, line, values, encoder),
    }
}

/// The [`KindVisitor`] that hands a value to an encoder under a key.
struct Hand<'k, 'e, E: ?Sized> {
    key: Key<'k>,
    encoder: &'e mut E,
}

impl<'a, E: Encoder + ?Sized> KindVisitor<'a> for Hand<'_, '_, E> {
    type Output = ();
    type Error = E::Error;
    #[inline(always)]
    fn null(self) -> Result<(), E::Error> {
        self.encoder.null(self.key)
    }
    #[inline(always)]
    fn text(self, value: Value<'a>) -> Result<(), E::Error> {
        self.encoder.text(self.key, value)
    }
    #[inline(always)]
    fn word(self, word: &'a str) -> Result<(), E::Error> {
        self.encoder.word(self.key, word)
    }
    #[inline(always)]
    fn unsigned(self, n: u64) -> Result<(), E::Error> {
        self.encoder.unsigned(self.key, n)
    }
    #[inline(always)]
    fn signed(self, n: i64) -> Result<(), E::Error> {
        self.encoder.signed(self.key, n)
    }
    #[inline(always)]
    fn seconds(self, duration: Duration) -> Result<(), E::Error> {
        self.encoder.seconds(self.key, duration)
    }
    #[inline(always)]
    fn timestamp(self, time: OffsetDateTime, millis: bool) -> Result<(), E::Error> {
        self.encoder.timestamp(self.key, time, millis)
    }
    #[inline(always)]
    fn ip(self, ip: IpAddr, logged: &'a [u8]) -> Result<(), E::Error> {
        self.encoder.ip_as_logged(self.key, ip, logged)
    }
}

/// [`encode_value`] of an item (the request time, the query parameters, a
/// derived key): a couple per entry. Not inlined, so that the walk, which
/// runs for every key, keeps few calls of each encoder method, and the
/// compiler inlines those.
#[inline(never)]
fn encode_item<'a, E: Encoder + ?Sized>(
    item: Item,
    key: Key<'_>,
    line: &LogLine<'a>,
    values: &'a DerivedValues,
    encoder: &mut E,
) -> Result<(), E::Error> {
    hand(key, item_value(item, line, values)?, encoder)
}

/// Hands `value` (or `null`) to `encoder` under `key`.
#[inline(always)]
fn hand<E: Encoder + ?Sized>(
    key: Key<'_>,
    value: Option<TypedValue<'_>>,
    encoder: &mut E,
) -> Result<(), E::Error> {
    match value {
        Some(value) => value.encode(key, encoder),
        None => encoder.null(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::seconds;

    use crate::json::JsonWriter;

    /// A value as each reader has it, in one comparable form.
    #[derive(Clone, Debug, PartialEq)]
    enum Seen {
        Null,
        Text(String),
        Unsigned(u64),
        Signed(i64),
        Seconds(Duration),
        Time(OffsetDateTime),
        Ip(IpAddr),
        Boolean(bool),
        Query(Vec<(String, String)>),
    }

    /// Records what an encoder is given, by key.
    #[derive(Default)]
    struct Recorder(Vec<(String, Seen)>);

    impl Recorder {
        fn push(&mut self, key: Key<'_>, seen: Seen) -> Result<(), FieldError> {
            // Keys come in order; a layout of some keys skips the others.
            assert!(key.index >= self.0.len(), "{key:?}");
            self.0.push((key.name.to_owned(), seen));
            Ok(())
        }
    }

    impl Encoder for Recorder {
        type Error = FieldError;
        fn null(&mut self, key: Key<'_>) -> Result<(), FieldError> {
            self.push(key, Seen::Null)
        }
        fn text(&mut self, key: Key<'_>, value: Value<'_>) -> Result<(), FieldError> {
            self.push(key, Seen::Text(value.decoded_str().into_owned()))
        }
        fn word(&mut self, key: Key<'_>, word: &str) -> Result<(), FieldError> {
            self.push(key, Seen::Text(word.to_owned()))
        }
        fn unsigned(&mut self, key: Key<'_>, n: u64) -> Result<(), FieldError> {
            self.push(key, Seen::Unsigned(n))
        }
        fn signed(&mut self, key: Key<'_>, n: i64) -> Result<(), FieldError> {
            self.push(key, Seen::Signed(n))
        }
        fn seconds(&mut self, key: Key<'_>, d: Duration) -> Result<(), FieldError> {
            self.push(key, Seen::Seconds(d))
        }
        fn timestamp(
            &mut self,
            key: Key<'_>,
            time: OffsetDateTime,
            _millis: bool,
        ) -> Result<(), FieldError> {
            self.push(key, Seen::Time(time))
        }
        fn ip(&mut self, key: Key<'_>, ip: IpAddr) -> Result<(), FieldError> {
            self.push(key, Seen::Ip(ip))
        }
        fn boolean(&mut self, key: Key<'_>, value: bool) -> Result<(), FieldError> {
            self.push(key, Seen::Boolean(value))
        }
        fn query_params(
            &mut self,
            key: Key<'_>,
            params: &QueryParams<'_>,
        ) -> Result<(), FieldError> {
            let pairs = params
                .iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            self.push(key, Seen::Query(pairs))
        }
    }

    /// The value of `field` through its typed accessor.
    fn by_accessor(line: &LogLine<'_>, field: Field) -> Result<Seen, FieldError> {
        fn or_null<T>(value: Option<T>, seen: impl FnOnce(T) -> Seen) -> Seen {
            value.map_or(Seen::Null, seen)
        }
        let word = |s: &str| Seen::Text(s.to_owned());
        Ok(match field.kind() {
            ValueKind::Text => or_null(line.get(field), |v| {
                Seen::Text(v.decoded_str().into_owned())
            }),
            ValueKind::Integer => or_null(line.u64(field)?, Seen::Unsigned),
            ValueKind::SignedInteger => or_null(line.i64(field)?, Seen::Signed),
            ValueKind::Status => or_null(line.status()?, |n| Seen::Unsigned(n.into())),
            ValueKind::Port => or_null(line.client_port()?, |n| Seen::Unsigned(n.into())),
            ValueKind::Asn => or_null(line.asn()?, |n| Seen::Unsigned(n.into())),
            ValueKind::EpochMillis => or_null(line.timestamp()?, |t| {
                Seen::Unsigned((t.unix_timestamp_nanos() / 1_000_000) as u64)
            }),
            ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds => {
                or_null(line.timestamp()?, Seen::Time)
            }
            ValueKind::Ip => or_null(line.ip(field)?, Seen::Ip),
            ValueKind::Seconds => or_null(line.seconds(field)?, Seen::Seconds),
            ValueKind::ResultType => or_null(line.result_type(field)?, |v| word(v.as_str())),
            ValueKind::Protocol => or_null(line.protocol()?, |v| word(v.as_str())),
            ValueKind::HttpVersion => or_null(line.http_version()?, |v| word(v.as_str())),
            ValueKind::SslProtocol => or_null(line.ssl_protocol()?, |v| word(v.as_str())),
            ValueKind::FleStatus => or_null(line.fle_status()?, |v| word(v.as_str())),
            ValueKind::IpVersion => or_null(line.ip_version()?, |v| word(v.as_str())),
        })
    }

    /// The value of `key` in the JSON writer's object, read back by the
    /// kind of `field`.
    fn by_json(line: &LogLine<'_>, key: &str, field: Field) -> Result<Seen, FieldError> {
        let mut out = Vec::new();
        JsonWriter::new(Selection::all()).write(line, &mut out)?;
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&out).unwrap();
        let value = &object[key];
        let text = value.to_string();
        Ok(match value {
            serde_json::Value::Null => Seen::Null,
            _ if key == "timestamp" => Seen::Time(
                OffsetDateTime::parse(
                    value.as_str().unwrap(),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap(),
            ),
            _ => match field.kind() {
                ValueKind::Ip => Seen::Ip(value.as_str().unwrap().parse().unwrap()),
                ValueKind::Seconds => Seen::Seconds(seconds(text.as_bytes()).unwrap()),
                ValueKind::SignedInteger => Seen::Signed(value.as_i64().unwrap()),
                _ => match value {
                    serde_json::Value::String(s) => Seen::Text(s.clone()),
                    _ => Seen::Unsigned(value.as_u64().unwrap()),
                },
            },
        })
    }

    /// The value of `key` as the encoder is given it.
    fn by_encoder(line: &LogLine<'_>, key: &str) -> Result<Seen, FieldError> {
        let mut recorder = Recorder::default();
        Layout::new(Selection::all()).encode(line, &mut recorder)?;
        Ok(recorder
            .0
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, seen)| seen)
            .unwrap())
    }

    /// Values of each kind: good ones, odd but good ones (leading zeros,
    /// escapes, `-`), and bad ones.
    fn samples(kind: ValueKind) -> &'static [&'static [u8]] {
        match kind {
            ValueKind::Text => &[b"plain", b"a%20b%2Bc", b"%ZZ%", b"%C3%28", b"-"],
            ValueKind::Integer => &[
                b"0",
                b"0042",
                b"18446744073709551615",
                b"18446744073709551616",
                b"12a",
                b"-",
            ],
            ValueKind::SignedInteger => &[
                b"-0005",
                b"42",
                b"-9223372036854775808",
                b"9223372036854775808",
                b"1-",
                b"-",
            ],
            ValueKind::Status => &[b"000", b"200", b"20", b"2000", b"-"],
            ValueKind::Port => &[b"65535", b"00080", b"65536", b"x"],
            ValueKind::Asn => &[b"4294967295", b"16509", b"4294967296", b"-"],
            ValueKind::EpochMillis => &[b"1731620046814", b"0", b"1x", b"-"],
            ValueKind::EpochSeconds => &[b"1607374321.541", b"1607374321", b"1607374321.", b"-"],
            ValueKind::Date => &[b"2019-12-04", b"2019-13-01", b"-"],
            ValueKind::Time => &[b"21:02:31", b"25:00:00", b"-"],
            ValueKind::Ip => &[
                b"192.0.2.1",
                b"2001:0db8::1",
                b"::ffff:1.2.3.4",
                b"1.2.3.04",
                b"-",
            ],
            ValueKind::Seconds => &[b"0.082", b"0.0820", b"012", b"1.", b"0.0000000001", b"-"],
            _ => &[b"Hit", b"BrandNew", b"HTTP/2.0", b"\xff", b"-"],
        }
    }

    #[test]
    fn accessors_json_and_encoders_read_every_field_alike() {
        let mut checked = 0;
        for &field in Field::ALL {
            for &sample in samples(field.kind()) {
                // A time of day needs its date, and a date its time.
                let (names, line): (&[&str], Vec<u8>) = match field {
                    Field::Date => (&["date", "time"], [sample, b"\t21:02:31"].concat()),
                    Field::Time => (&["date", "time"], [b"2019-12-04\t", sample].concat()),
                    _ => (&[field.name()][..], sample.to_vec()),
                };
                let schema = Schema::from_names(names.iter().copied()).unwrap();
                let mut spans = Vec::new();
                let line = LogLine::parse(&line, &schema, &mut spans).unwrap();
                let key = match field.kind() {
                    ValueKind::Date | ValueKind::Time | ValueKind::EpochSeconds => "timestamp",
                    _ => field.json_key(),
                };
                let what = format!("{field} = {:?}", String::from_utf8_lossy(sample));
                let accessor = by_accessor(&line, field);
                assert_eq!(by_json(&line, key, field), accessor, "JSON, {what}");
                assert_eq!(by_encoder(&line, key), accessor, "encoder, {what}");
                checked += 1;
            }
        }
        assert!(checked > 3 * Field::COUNT, "{checked}");
    }

    /// What a layout hands `Recorder` for `line`, or its error.
    fn recorded(
        layout: &mut Layout,
        line: &LogLine<'_>,
    ) -> Result<Vec<(String, Seen)>, FieldError> {
        let mut recorder = Recorder::default();
        layout.encode(line, &mut recorder)?;
        Ok(recorder.0)
    }

    #[test]
    fn a_layout_of_some_keys_rejects_the_lines_a_whole_layout_rejects() {
        let none = |_: Key<'_>| false;
        let all = |_: Key<'_>| true;
        for &field in Field::ALL {
            for &sample in samples(field.kind()) {
                let (names, line): (&[&str], Vec<u8>) = match field {
                    Field::Date => (&["date", "time"], [sample, b"\t21:02:31"].concat()),
                    Field::Time => (&["date", "time"], [b"2019-12-04\t", sample].concat()),
                    _ => (&[field.name(), "x-custom"][..], [sample, b"\tx"].concat()),
                };
                let schema = Schema::from_names(names.iter().copied()).unwrap();
                let mut spans = Vec::new();
                let line = LogLine::parse(&line, &schema, &mut spans).unwrap();
                let what = format!("{field} = {:?}", String::from_utf8_lossy(sample));
                let whole = recorded(&mut Layout::new(Selection::all()), &line);
                let handed = recorded(&mut Layout::only(Selection::all(), all), &line);
                assert_eq!(handed, whole, "{what}");
                let nothing = recorded(&mut Layout::only(Selection::all(), none), &line);
                assert_eq!(nothing, whole.clone().map(|_| Vec::new()), "{what}");
            }
        }
    }

    #[test]
    fn a_layout_of_some_keys_gives_the_first_bad_value_in_key_order() {
        let schema = Schema::from_fields_header(
            b"#Fields: sc-status sc-bytes c-port cs-protocol cs-uri-stem",
        )
        .unwrap();
        let bytes_only = |key: Key<'_>| key.field == Some(Field::ScBytes);
        let mut spans = Vec::new();
        for (text, bad) in [
            (&b"2x0\t1x\t-1\thttps\t/a"[..], Some(Field::Status)),
            (b"200\t1x\t-1\thttps\t/a", Some(Field::ScBytes)),
            (b"200\t12\t-1\thttps\t/a", Some(Field::ClientPort)),
            (b"200\t12\t80\t\xff\t/a", Some(Field::Protocol)),
            (b"200\t12\t80\th\xc3\xa9\t/a%FF", None),
        ] {
            let line = LogLine::parse(text, &schema, &mut spans).unwrap();
            let whole = recorded(&mut Layout::new(Selection::all()), &line);
            let some = recorded(&mut Layout::only(Selection::all(), bytes_only), &line);
            assert_eq!(whole.as_ref().err().map(FieldError::field), bad);
            assert_eq!(some.as_ref().err(), whole.as_ref().err());
            if let Ok(some) = some {
                assert_eq!(some, [("sc_bytes".to_owned(), Seen::Unsigned(12))]);
            }
        }
    }

    #[test]
    fn query_params_and_real_time_uris_are_read_alike() {
        let (schema, _) = Schema::realtime(["cs-uri-stem", "sc-status"]).unwrap();
        let mut spans = Vec::new();
        let line = LogLine::parse(b"200\t/a%20b?q=a%2520b+c&q=d", &schema, &mut spans).unwrap();
        let mut recorder = Recorder::default();
        Layout::new(Selection::all())
            .encode(&line, &mut recorder)
            .unwrap();
        let pairs: Vec<(String, String)> = line
            .query_params()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            recorder.0,
            [
                ("sc_status".to_owned(), Seen::Unsigned(200)),
                ("cs_uri_stem".to_owned(), Seen::Text("/a b".to_owned())),
                (
                    "cs_uri_query".to_owned(),
                    Seen::Text("q=a%20b+c&q=d".to_owned())
                ),
                ("query_params".to_owned(), Seen::Query(pairs)),
            ]
        );
    }
}
