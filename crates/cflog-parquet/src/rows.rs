//! Entries into column buffers: the typed values of each line, each into its
//! column, and a whole row or none.

use std::io::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use cflog_core::contract::TypedValue;
use cflog_core::escape::{self, NameGroups, QueryParams};
use cflog_core::json::ValueText;
use cflog_core::typed::{Encoder, Key, Layout, OffsetDateTime, seconds_f64};
use cflog_core::{FieldError, FieldProblem, LogLine, Schema, Value};

use crate::buffers::{ColumnBuffer, QueryMap, Text};
use crate::columns::{ColumnSet, ColumnType};

/// Where a key of a line's layout goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The column of this index.
    Column(usize),
    /// The `extra` map.
    Extra,
}

/// The rows of a batch, column by column.
#[derive(Debug)]
pub(crate) struct Rows {
    layout: Layout,
    /// Whose layout `targets` and `absent` are of (0: none yet).
    schema_id: u64,
    /// Per key of the layout, where its value goes.
    targets: Vec<Target>,
    /// The columns the layout has no key for: null in every row, appended
    /// in bulk when the batch is taken or the schema changes
    /// ([`ColumnBuffer::pad_to`]) rather than row by row.
    absent: Vec<usize>,
    extra: usize,
    sink: Sink,
}

/// The buffers, which the layout's walk hands the values to.
#[derive(Debug)]
struct Sink {
    columns: Vec<ColumnBuffer>,
    targets: Vec<Target>,
    /// The committed rows; the buffers may hold part of one more.
    rows: usize,
    extra: usize,
    /// Query parameters, copied and grouped by name.
    pairs: QueryPairs,
    /// The text of a value that goes to `extra`.
    text: ValueText,
}

impl Rows {
    pub(crate) fn new(set: &ColumnSet) -> Rows {
        let columns: Vec<ColumnBuffer> = set
            .columns()
            .iter()
            .map(|c| ColumnBuffer::new(c.column_type))
            .collect();
        let extra = set
            .columns()
            .iter()
            .position(|c| c.column_type == ColumnType::Extra)
            .unwrap_or(columns.len());
        Rows {
            layout: Layout::new(set.contract().select_all()),
            schema_id: 0,
            targets: Vec::new(),
            absent: Vec::new(),
            extra,
            sink: Sink {
                columns,
                targets: Vec::new(),
                rows: 0,
                extra,
                pairs: QueryPairs::default(),
                text: ValueText::default(),
            },
        }
    }

    /// The number of whole rows.
    pub(crate) fn len(&self) -> usize {
        self.sink.rows
    }

    /// The bytes of text held.
    pub(crate) fn text_bytes(&self) -> usize {
        self.sink.columns.iter().map(ColumnBuffer::text_bytes).sum()
    }

    /// Appends the row of `line`. Whether it has extra values.
    ///
    /// # Errors
    ///
    /// When a value is not of its kind, or out of its column's range; the
    /// buffers then hold the rows before, and nothing of this one.
    pub(crate) fn push(&mut self, line: &LogLine<'_>, set: &ColumnSet) -> Result<bool, FieldError> {
        self.prepare(line.schema(), set);
        let rows = self.sink.rows;
        if let Err(error) = self.layout.encode(line, &mut self.sink) {
            for column in &mut self.sink.columns {
                column.truncate(rows);
            }
            return Err(error);
        }
        let extra = match self.sink.columns.get_mut(self.extra) {
            Some(ColumnBuffer::Extra(map)) => map.end_row(),
            _ => false,
        };
        self.sink.rows += 1;
        debug_assert!(
            self.sink
                .columns
                .iter()
                .enumerate()
                .all(|(i, c)| c.len() == self.sink.rows || self.absent.contains(&i))
        );
        Ok(extra)
    }

    /// The columns as arrays of `set`'s schema, and the buffers emptied.
    pub(crate) fn take(
        &mut self,
        schema: &arrow_schema::Schema,
    ) -> Result<Vec<arrow_array::ArrayRef>, arrow_schema::ArrowError> {
        self.pad_absent();
        self.sink.rows = 0;
        self.sink
            .columns
            .iter_mut()
            .zip(schema.fields())
            .map(|(column, field)| column.take(field))
            .collect()
    }

    /// Maps the keys of `schema`'s layout to columns, once per schema.
    fn prepare(&mut self, schema: &Schema, set: &ColumnSet) {
        if schema.id() == self.schema_id {
            return;
        }
        self.pad_absent();
        let keys = self.layout.keys(schema);
        self.targets = keys
            .iter()
            .map(|key| match set.position(key) {
                Some(i) if i != self.extra => Target::Column(i),
                _ => Target::Extra,
            })
            .collect();
        self.absent = (0..set.columns().len())
            .filter(|&i| i != self.extra && !self.targets.contains(&Target::Column(i)))
            .collect();
        self.sink.targets.clone_from(&self.targets);
        self.schema_id = schema.id();
    }

    /// Brings the columns absent from the current layout up to the rows.
    fn pad_absent(&mut self) {
        for &i in &self.absent {
            self.sink.columns[i].pad_to(self.sink.rows);
        }
    }
}

/// The largest integer a Parquet `INT64` holds, as the error names it.
const INT64: FieldProblem = FieldProblem::Number("an integer up to 9223372036854775807");

impl Sink {
    /// The buffer of `key`'s column, or `None` for `extra`.
    #[inline]
    fn column(&mut self, key: Key<'_>) -> Option<&mut ColumnBuffer> {
        match self.targets.get(key.index) {
            Some(Target::Column(i)) => self.columns.get_mut(*i),
            _ => None,
        }
    }

    /// For a value that goes to `extra` though its key names a column: one
    /// of another kind, as an unknown column of a log named like a derived
    /// key would be. The column is null in this row, so that every column
    /// keeps one value a row; the value is kept in `extra`.
    fn null_in_column(&mut self, key: Key<'_>) {
        if let Some(column) = self.column(key) {
            column.push_null();
        }
    }

    /// Adds `key` to this row's `extra`, with the text `write` appends.
    fn extra(&mut self, key: Key<'_>, write: impl FnOnce(&mut Vec<u8>)) {
        self.null_in_column(key);
        if let Some(ColumnBuffer::Extra(map)) = self.columns.get_mut(self.extra) {
            map.keys.push(key.name.as_bytes());
            write(map.values.bytes());
            map.values.end();
        }
    }

    /// Adds `key` to this row's `extra`, with `value` as the contract's text.
    fn extra_value(&mut self, key: Key<'_>, value: &TypedValue<'_>) {
        self.null_in_column(key);
        if let Some(ColumnBuffer::Extra(map)) = self.columns.get_mut(self.extra) {
            map.keys.push(key.name.as_bytes());
            self.text.append(value, map.values.bytes());
            map.values.end();
        }
    }

    /// An integer, into its column or as text into `extra`.
    #[inline]
    fn integer(
        &mut self,
        key: Key<'_>,
        n: Option<i64>,
        text: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), FieldError> {
        match (self.column(key), n) {
            (Some(ColumnBuffer::Int64(column)), Some(n)) => column.push(n),
            (Some(ColumnBuffer::Int64(_)), None) => {
                // Only fields have integer kinds.
                let field = key.field.unwrap_or(cflog_core::Field::ScBytes);
                return Err(FieldError::new(field, INT64));
            }
            _ => self.extra(key, text),
        }
        Ok(())
    }
}

/// Appends `raw` decoded one level, as the JSON contract has text: bytes
/// that are not UTF-8 become U+FFFD.
#[inline]
fn decode_text(raw: &[u8], text: &mut Text) {
    let start = text.start();
    let bytes = text.bytes();
    escape::decode_into(raw, bytes);
    let value = &bytes[start..];
    if !value.is_ascii() && std::str::from_utf8(value).is_err() {
        let lossy = String::from_utf8_lossy(value).into_owned();
        bytes.truncate(start);
        bytes.extend_from_slice(lossy.as_bytes());
    }
    text.end();
}

/// Appends an address as the JSON contract writes it.
#[inline]
fn write_ip(ip: IpAddr, out: &mut Vec<u8>) {
    match ip {
        // Dotted decimal without the formatting machinery: most viewers
        // are IPv4.
        IpAddr::V4(ip) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(digits.format(octet).as_bytes());
            }
        }
        // Writing into a `Vec` cannot fail.
        IpAddr::V6(ip) => drop(write!(out, "{ip}")),
    }
}

impl Encoder for Sink {
    type Error = FieldError;

    #[inline]
    fn null(&mut self, key: Key<'_>) -> Result<(), FieldError> {
        // A null extra is left out of the map.
        if let Some(column) = self.column(key) {
            column.push_null();
        }
        Ok(())
    }

    // Text and words are most of a row's values: their calls from the
    // layout's walk are inlined, which the compiler does not do by itself
    // since the walk calls them from several places.
    #[inline(always)]
    fn text(&mut self, key: Key<'_>, value: Value<'_>) -> Result<(), FieldError> {
        match self.column(key) {
            Some(ColumnBuffer::Text(text)) => decode_text(value.raw(), text),
            _ => {
                self.null_in_column(key);
                if let Some(ColumnBuffer::Extra(map)) = self.columns.get_mut(self.extra) {
                    map.keys.push(key.name.as_bytes());
                    decode_text(value.raw(), &mut map.values);
                }
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn word(&mut self, key: Key<'_>, word: &str) -> Result<(), FieldError> {
        match self.column(key) {
            Some(ColumnBuffer::Text(text)) => text.push(word.as_bytes()),
            _ => self.extra(key, |out| out.extend_from_slice(word.as_bytes())),
        }
        Ok(())
    }

    #[inline]
    fn unsigned(&mut self, key: Key<'_>, n: u64) -> Result<(), FieldError> {
        let text =
            |out: &mut Vec<u8>| out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.integer(key, i64::try_from(n).ok(), text)
    }

    #[inline]
    fn signed(&mut self, key: Key<'_>, n: i64) -> Result<(), FieldError> {
        let text =
            |out: &mut Vec<u8>| out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.integer(key, Some(n), text)
    }

    #[inline]
    fn seconds(&mut self, key: Key<'_>, duration: Duration) -> Result<(), FieldError> {
        match self.column(key) {
            Some(ColumnBuffer::Seconds(column)) => column.push(seconds_f64(duration)),
            _ => self.extra_value(key, &TypedValue::Seconds(duration)),
        }
        Ok(())
    }

    #[inline]
    fn timestamp(
        &mut self,
        key: Key<'_>,
        time: OffsetDateTime,
        millis: bool,
    ) -> Result<(), FieldError> {
        match self.column(key) {
            Some(ColumnBuffer::Timestamp(column)) => {
                // The whole seconds (rounded down) and the milliseconds
                // within them: no 128-bit division. The parsers accept
                // only years 0 to 9999, so this does not overflow.
                let ms = time.unix_timestamp() * 1000 + i64::from(time.millisecond());
                column.push(ms);
            }
            _ => self.extra_value(key, &TypedValue::Timestamp(time, millis)),
        }
        Ok(())
    }

    #[inline]
    fn ip(&mut self, key: Key<'_>, ip: IpAddr) -> Result<(), FieldError> {
        match self.column(key) {
            Some(ColumnBuffer::Text(text)) => {
                write_ip(ip, text.bytes());
                text.end();
            }
            _ => self.extra(key, |out| write_ip(ip, out)),
        }
        Ok(())
    }

    #[inline]
    fn ip_as_logged(&mut self, key: Key<'_>, ip: IpAddr, logged: &[u8]) -> Result<(), FieldError> {
        // Logged IPv4 is already the text `write_ip` would write; IPv6 may
        // be in another form than the canonical one.
        if ip.is_ipv6() {
            return self.ip(key, ip);
        }
        match self.column(key) {
            Some(ColumnBuffer::Text(text)) => text.push(logged),
            _ => self.extra(key, |out| out.extend_from_slice(logged)),
        }
        Ok(())
    }

    fn boolean(&mut self, key: Key<'_>, value: bool) -> Result<(), FieldError> {
        match self.column(key) {
            Some(ColumnBuffer::Boolean(column)) => column.push(value),
            _ => self.extra(key, |out| {
                out.extend_from_slice(if value { b"true" } else { b"false" })
            }),
        }
        Ok(())
    }

    fn query_params(&mut self, key: Key<'_>, params: &QueryParams<'_>) -> Result<(), FieldError> {
        let Some(ColumnBuffer::QueryParams(map)) = (match self.targets.get(key.index) {
            Some(Target::Column(i)) => self.columns.get_mut(*i),
            _ => None,
        }) else {
            // `query_params` always has its column; were it ever missing,
            // the query as logged is still in `cs_uri_query`.
            return Ok(());
        };
        self.pairs.append(params, map);
        Ok(())
    }
}

/// The parameters of one query, copied into one buffer and grouped by
/// name ([`NameGroups`]), in buffers reused from query to query.
#[derive(Debug, Default)]
struct QueryPairs {
    text: Vec<u8>,
    /// Each parameter's name and value, as ranges of `text`.
    pairs: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
    groups: NameGroups,
}

impl QueryPairs {
    /// Appends the parameters of `params` to `map`, as one row: each name
    /// once, where it first appears, with all its values in order.
    fn append(&mut self, params: &QueryParams<'_>, map: &mut QueryMap) {
        let QueryPairs {
            text,
            pairs,
            groups,
        } = self;
        text.clear();
        pairs.clear();
        for (name, value) in params.iter() {
            let start = text.len();
            text.extend_from_slice(name.as_bytes());
            let middle = text.len();
            text.extend_from_slice(value.as_bytes());
            pairs.push((start..middle, middle..text.len()));
        }
        let (text, pairs) = (&*text, &*pairs);
        for members in groups.group(pairs.len(), |i| &text[pairs[i].0.clone()]) {
            map.names.push(&text[pairs[members[0]].0.clone()]);
            for &i in members {
                map.values.push(&text[pairs[i].1.clone()]);
            }
            map.end_name();
        }
        map.end_row();
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, BooleanArray};
    use cflog_core::Family;
    use cflog_core::contract::testing;

    use super::*;

    /// A log's unknown column named like a derived key of another kind (a
    /// boolean's, holding text): the logged value wins, as in JSON, and
    /// goes to `extra`; the boolean column is null in its row, so that
    /// every column keeps one value a row.
    #[test]
    fn a_logged_value_of_another_kind_than_its_keys_column_goes_to_extra() {
        let set = ColumnSet::for_contract(Family::Standard, &testing::contract());
        let at = set.position("test_has_query").unwrap();
        assert_eq!(set.columns()[at].column_type, ColumnType::Boolean);

        let schema = Schema::from_names(["sc-status", "test_has_query"]).unwrap();
        let mut rows = Rows::new(&set);
        let mut spans = Vec::new();
        for line in ["200\tmaybe", "404\t-", "500\tyes"] {
            let line = LogLine::parse(line.as_bytes(), &schema, &mut spans).unwrap();
            rows.push(&line, &set).unwrap();
        }
        let arrays = rows.take(&set.arrow_schema()).unwrap();
        assert!(arrays.iter().all(|a| a.len() == 3));
        let flags: &BooleanArray = arrays[at].as_boolean();
        assert_eq!(flags.null_count(), 3);

        let extra = arrays[set.position(crate::EXTRA_KEY).unwrap()].as_map();
        let keys: Vec<&str> = extra.keys().as_string::<i32>().iter().flatten().collect();
        let values: Vec<&str> = extra.values().as_string::<i32>().iter().flatten().collect();
        assert_eq!(keys, ["test_has_query", "test_has_query"]);
        assert_eq!(values, ["maybe", "yes"]);
    }
}
