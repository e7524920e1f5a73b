//! The rows of a record batch as lines of tab-separated values, and the
//! schema that splits them.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, MapArray, RecordBatch,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Schema as ArrowSchema, TimeUnit};
use cflog_core::out::Out;
use cflog_core::{ExtraKind, Field, LineWriter, Schema, SchemaError, SplitLines, ValueKind};

use super::names::field_of_column;
use super::{Source, type_name};
use crate::columns::{ColumnSet, ColumnType};

/// Why the columns are not a log's.
#[derive(Debug)]
pub(crate) enum PlanError {
    NoCloudFrontColumn(Vec<String>),
    ColumnType {
        column: String,
        found: String,
        expected: Option<String>,
    },
    Schema(SchemaError),
}

/// How the values of one column become text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// AWS's string, as logged.
    Raw,
    /// Decoded text, escaped again.
    Text,
    /// A word or a number kept as text: as it is.
    Word,
    /// `c-ip` or `x-forwarded-for`: as it is, an address or, written with
    /// `--ip-privacy hmac`, a pseudonym.
    Address,
    /// An integer.
    Int,
    /// A status: three digits.
    Status,
    /// A duration in seconds.
    Seconds,
    /// `true` or `false`.
    Boolean,
    /// The request time: `date` and `time`, or epoch seconds.
    Timestamp,
    /// `query_params`: derived from `cs_uri_query`, which is read instead.
    Derived,
    /// `extra`: each key a column.
    Extra,
}

#[derive(Debug)]
struct PlanColumn {
    /// Its place in a batch: among the columns read, in the file's order.
    index: usize,
    /// The `#Fields` name of the column's field, or its own name.
    name: String,
    how: How,
}

/// How every column of a file becomes text.
#[derive(Debug)]
pub(crate) struct Plan {
    source: Source,
    columns: Vec<PlanColumn>,
    /// cflog's real-time columns: the request time as epoch seconds with
    /// milliseconds, as real-time logs have it, even when they are `.000`.
    realtime: bool,
    /// AWS's files: one schema for every batch.
    fixed: Option<Arc<Schema>>,
    /// The file's columns that are read, in order: a batch has these only,
    /// and a [`PlanColumn`]'s `index` is its place among them.
    read: Vec<usize>,
}

/// The schema of the last batch, kept while the columns stay the same.
#[derive(Debug, Default)]
pub(crate) struct Schemas {
    names: Vec<String>,
    /// The columns of derived keys typed in the file, by their place.
    kinds: Vec<(usize, ExtraKind)>,
    schema: Option<Arc<Schema>>,
}

/// Whether a column's values are read as text: strings and binaries, or
/// no value at all (pyarrow types a column that is null in every row as
/// `null`).
fn holds_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::Null
    )
}

/// cflog's column of this name, in either family's set.
fn cflog_column(name: &str) -> Option<crate::columns::Column> {
    [ColumnSet::standard(), ColumnSet::realtime()]
        .iter()
        .find_map(|set| set.columns().iter().find(|c| c.name == name).copied())
}

fn schema_error(error: SchemaError, names: &[String]) -> PlanError {
    match error {
        SchemaError::NoKnownField { .. } | SchemaError::NoNames => {
            PlanError::NoCloudFrontColumn(names.iter().take(8).cloned().collect())
        }
        other => PlanError::Schema(other),
    }
}

impl Plan {
    pub(crate) fn new(arrow: &ArrowSchema) -> Result<Plan, PlanError> {
        let fields = arrow.fields();
        let column_names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        // cflog writes the request time typed and `extra` in every file;
        // AWS has strings only.
        let cflog = fields.iter().any(|f| {
            f.name() == "timestamp"
                && matches!(f.data_type(), DataType::Timestamp(TimeUnit::Millisecond, _))
        }) && fields
            .iter()
            .any(|f| f.name() == crate::EXTRA_KEY && matches!(f.data_type(), DataType::Map(_, _)));
        if !cflog {
            let columns: Vec<PlanColumn> = fields
                .iter()
                .enumerate()
                .map(|(index, f)| PlanColumn {
                    index,
                    name: super::field_name_of_column(f.name()).to_owned(),
                    how: How::Raw,
                })
                .collect();
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            // A file without a CloudFront column is said to be one before
            // any of its columns is found to be of another type.
            let schema = Schema::from_names(names).map_err(|e| schema_error(e, &column_names))?;
            if let Some(f) = fields.iter().find(|f| !holds_text(f.data_type())) {
                return Err(PlanError::ColumnType {
                    column: f.name().clone(),
                    found: type_name(f.data_type()),
                    expected: None,
                });
            }
            return Ok(Plan {
                source: Source::CloudFront,
                read: (0..columns.len()).collect(),
                columns,
                realtime: false,
                fixed: Some(Arc::new(schema)),
            });
        }
        // A file cflog wrote. Its non-string columns are checked first, so
        // that an odd column is reported rather than a string beside it.
        let mut order: Vec<usize> = (0..fields.len()).collect();
        order.sort_by_key(|&i| holds_text(fields[i].data_type()));
        let mut columns = Vec::with_capacity(fields.len());
        for index in order {
            let f = &fields[index];
            let data_type = f.data_type();
            let cflog = cflog_column(f.name());
            let how = match (cflog.map(|c| c.column_type), data_type) {
                (Some(ColumnType::Timestamp), DataType::Timestamp(TimeUnit::Millisecond, _)) => {
                    How::Timestamp
                }
                (Some(ColumnType::Int64), DataType::Int64) => {
                    match cflog.and_then(|c| c.field).map(Field::kind) {
                        Some(ValueKind::Status) => How::Status,
                        _ => How::Int,
                    }
                }
                (Some(ColumnType::Seconds), DataType::Float64) => How::Seconds,
                // A derived key's column (`--enrich`): `is_bot`, or a
                // number, kept as another column of text is.
                (None, DataType::Boolean) => How::Boolean,
                (None, DataType::Int64) => How::Int,
                (Some(ColumnType::QueryParams), DataType::Map(_, _)) => How::Derived,
                (Some(ColumnType::Extra), DataType::Map(_, _)) => How::Extra,
                (Some(ColumnType::Text) | None, t) if holds_text(t) => {
                    let field =
                        Field::from_json_key(f.name()).or_else(|| field_of_column(f.name()));
                    match field {
                        Some(Field::ClientIp | Field::ForwardedFor) => How::Address,
                        Some(field) if field.kind() != ValueKind::Text => How::Word,
                        _ => How::Text,
                    }
                }
                (cflog_type, _) => {
                    return Err(PlanError::ColumnType {
                        column: f.name().clone(),
                        found: type_name(data_type),
                        expected: cflog_type.map(|t| type_name(&t.arrow_type())),
                    });
                }
            };
            let name = match how {
                How::Timestamp | How::Derived | How::Extra => f.name().clone(),
                _ => Field::from_json_key(f.name())
                    .or_else(|| field_of_column(f.name()))
                    .map_or_else(|| f.name().clone(), |field| field.name().to_owned()),
            };
            columns.push(PlanColumn { index, name, how });
        }
        columns.sort_by_key(|c| c.index);
        let known = columns.iter().any(|c| {
            c.how == How::Timestamp
                || (c.how != How::Derived
                    && c.how != How::Extra
                    && field_of_column(&c.name).is_some())
        });
        if !known {
            return Err(PlanError::NoCloudFrontColumn(
                column_names.into_iter().take(8).collect(),
            ));
        }
        let realtime = ColumnSet::realtime()
            .columns()
            .iter()
            .map(|c| c.name)
            .eq(fields.iter().map(|f| f.name().as_str()));
        // `query_params` is not read at all: `cs_uri_query` gives it again.
        columns.retain(|c| c.how != How::Derived);
        let read = columns.iter().map(|c| c.index).collect();
        for (at, column) in columns.iter_mut().enumerate() {
            column.index = at;
        }
        Ok(Plan {
            source: Source::Cflog,
            columns,
            realtime,
            fixed: None,
            read,
        })
    }

    pub(crate) fn source(&self) -> Source {
        self.source
    }

    /// The file's columns to read (root indices, in order).
    pub(crate) fn read_columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.read.iter().copied()
    }

    /// Writes a line per row of `batch` into `out`, which it clears first.
    pub(crate) fn write_lines(
        &self,
        batch: &RecordBatch,
        schemas: &mut Schemas,
        out: &mut SplitLines,
    ) -> Result<Arc<Schema>, PlanError> {
        out.clear();
        match &self.fixed {
            Some(schema) => {
                self.write_strings(batch, out);
                Ok(Arc::clone(schema))
            }
            None => self.write_typed(batch, schemas, out),
        }
    }

    fn write_strings(&self, batch: &RecordBatch, out: &mut SplitLines) {
        let columns: Vec<Strings<'_>> = self
            .columns
            .iter()
            .map(|c| Strings::of(batch.column(c.index)).unwrap_or(Strings::Null))
            .collect();
        let single = columns.len() == 1;
        let rows = batch.num_rows();
        // AWS escapes what a line cannot hold, so the values go in as they
        // are, and one count over the batch checks that the only tabs and
        // line breaks are the ones written between them. A value that has
        // one sends the batch through `write_raw`, which escapes it.
        for checked in [false, true] {
            out.write_lines(rows, |row, line| {
                for (i, column) in columns.iter().enumerate() {
                    line.value(|text| match column.get(row) {
                        Some(value) if !checked && plain(value, i == 0, single) => {
                            value.copy_to(text)
                        }
                        Some(value) => value.with_bytes(|v| {
                            text.detached(|text| write_raw(v, i == 0, single, checked, text))
                        }),
                        None => text.push(b'-'),
                    });
                }
            });
            if checked || separators(out.text()) == rows * columns.len() {
                break;
            }
            out.clear();
        }
    }

    fn write_typed(
        &self,
        batch: &RecordBatch,
        schemas: &mut Schemas,
        out: &mut SplitLines,
    ) -> Result<Arc<Schema>, PlanError> {
        let rows = batch.num_rows();
        let has_values = |c: &PlanColumn| {
            let array = batch.column(c.index);
            array.null_count() < array.len()
        };
        let mut present: Vec<&PlanColumn> = self
            .columns
            .iter()
            .filter(|c| c.how != How::Derived && c.how != How::Extra && has_values(c))
            .collect();
        if present.is_empty() {
            // No value at all: every row is rejected as having none, under
            // the columns of the file.
            present = self
                .columns
                .iter()
                .filter(|c| c.how != How::Derived && c.how != How::Extra)
                .collect();
        }
        let extra = self
            .columns
            .iter()
            .find(|c| c.how == How::Extra)
            .map(|c| batch.column(c.index).as_map());
        let extra_keys = extra.map(extra_keys).unwrap_or_default();

        let mut names: Vec<String> = Vec::with_capacity(present.len() + extra_keys.len() + 1);
        let mut kinds: Vec<(usize, ExtraKind)> = Vec::new();
        let mut epoch = false;
        for column in &present {
            // A derived key's boolean or integer column is read back as
            // one, not as text (a field's column is its field's kind).
            match column.how {
                How::Boolean => kinds.push((names.len(), ExtraKind::Boolean)),
                How::Int => kinds.push((names.len(), ExtraKind::Integer)),
                _ => {}
            }
            if column.how == How::Timestamp {
                let times = batch
                    .column(column.index)
                    .as_primitive::<TimestampMillisecondType>();
                epoch = self.realtime || times.iter().flatten().any(|ms| ms.rem_euclid(1000) != 0);
                if epoch {
                    names.push(Field::Timestamp.name().into());
                } else {
                    names.push(Field::Date.name().into());
                    names.push(Field::Time.name().into());
                }
            } else if let Some(key) = pseudonyms_key(column, batch.column(column.index)) {
                names.push(key.to_owned());
            } else {
                names.push(column.name.clone());
            }
        }
        let mut extra_out: Vec<&str> = Vec::with_capacity(extra_keys.len());
        for key in &extra_keys {
            let name: &str = match Field::from_json_key(key) {
                Some(field) => field.name(),
                None => key,
            };
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
                extra_out.push(key);
            }
        }
        if schemas.names != names || schemas.kinds != kinds || schemas.schema.is_none() {
            let schema = Schema::from_names(names.iter().map(String::as_str))
                .map_err(|e| schema_error(e, &names))?;
            let schema = kinds.iter().fold(schema, |schema, &(at, kind)| {
                schema.with_extra_kind(at, kind)
            });
            schemas.schema = Some(Arc::new(schema));
            schemas.names = names;
            schemas.kinds = kinds;
        }
        let single = schemas.names.len() == 1;
        // Each column downcast once for the batch, not once for every value.
        let values: Vec<Values<'_>> = present
            .iter()
            .map(|c| Values::of(batch.column(c.index), c.how, epoch))
            .collect();
        // As for AWS's strings: values that need no escaping of `%` go in
        // as they are, and one count checks the batch's tabs and line
        // breaks; a value with one sends the batch through the escaping.
        for checked in [false, true] {
            out.write_lines(rows, |row, line| {
                let mut first = true;
                for column in &values {
                    column.write(row, first, single, checked, line);
                    first = false;
                }
                if let Some(map) = extra {
                    write_extra_row(map, &extra_out, row, first, line);
                }
            });
            if checked || separators(out.text()) == rows * schemas.names.len() {
                break;
            }
            out.clear();
        }
        Ok(Arc::clone(schemas.schema.as_ref().expect("set above")))
    }
}

/// For a column of addresses that holds pseudonyms instead (written with
/// `--ip-privacy hmac`), its JSON key: the column is then named by it, not
/// by its field, and read as text, as the writer's contract wrote it. An
/// address has a `.` or a `:`, and a pseudonym, in hex, neither; the first
/// value of the batch tells, as a file's values are all one or the other.
fn pseudonyms_key(column: &PlanColumn, array: &ArrayRef) -> Option<&'static str> {
    if column.how != How::Address {
        return None;
    }
    let field = Field::from_name(&column.name)?;
    let strings = Strings::of(array)?;
    let first = (0..array.len()).find_map(|row| strings.get(row))?;
    let address = first.with_bytes(|value| value.iter().any(|&b| b == b'.' || b == b':'));
    (!address).then_some(field.json_key())
}

/// The keys of `extra` in a batch, in the order they first appear.
fn extra_keys(map: &MapArray) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let Some(names) = map.keys().as_string_opt::<i32>() else {
        return keys;
    };
    for name in names.iter().flatten() {
        if !keys.iter().any(|k| k == name) {
            keys.push(name.to_owned());
        }
    }
    keys
}

fn write_extra_row(
    map: &MapArray,
    keys: &[&str],
    row: usize,
    first: bool,
    out: &mut LineWriter<'_>,
) {
    let names = map.keys().as_string_opt::<i32>();
    let values = map.values().as_string_opt::<i32>();
    let offsets = map.value_offsets();
    let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
    for (i, key) in keys.iter().enumerate() {
        let value = match (names, values, map.is_valid(row)) {
            (Some(names), Some(values), true) => (start..end)
                .find(|&j| names.value(j) == *key)
                .filter(|&j| values.is_valid(j))
                .map(|j| values.value(j)),
            _ => None,
        };
        out.value(|text| match value {
            Some(value) => text.detached(|text| {
                write_escaped(value.as_bytes(), first && i == 0, false, true, text)
            }),
            None => text.push(b'-'),
        });
    }
}

/// One typed column of a batch, downcast once, ready to write its values
/// as the text they were parsed from.
enum Values<'a> {
    /// The request time as `date` and `time`.
    DateTime(&'a TimestampMillisecondArray),
    /// The request time as epoch seconds with milliseconds.
    Epoch(&'a TimestampMillisecondArray),
    Int(&'a Int64Array),
    Status(&'a Int64Array),
    Boolean(&'a BooleanArray),
    Seconds(&'a Float64Array),
    /// Decoded text, escaped again.
    Text(Strings<'a>),
    /// Text kept as logged (AWS's strings, words, addresses).
    Raw(Strings<'a>),
    /// A column whose type the plan did not expect: no value.
    Absent,
}

impl<'a> Values<'a> {
    fn of(array: &'a ArrayRef, how: How, epoch: bool) -> Values<'a> {
        let strings = || Strings::of(array).unwrap_or(Strings::Null);
        match how {
            How::Timestamp => match array.as_primitive_opt::<TimestampMillisecondType>() {
                Some(times) if epoch => Values::Epoch(times),
                Some(times) => Values::DateTime(times),
                None => Values::Absent,
            },
            How::Int => array
                .as_primitive_opt::<Int64Type>()
                .map_or(Values::Absent, Values::Int),
            How::Status => array
                .as_primitive_opt::<Int64Type>()
                .map_or(Values::Absent, Values::Status),
            How::Seconds => array
                .as_primitive_opt::<Float64Type>()
                .map_or(Values::Absent, Values::Seconds),
            How::Boolean => array
                .as_boolean_opt()
                .map_or(Values::Absent, Values::Boolean),
            How::Text => Values::Text(strings()),
            How::Word | How::Address | How::Raw => Values::Raw(strings()),
            How::Derived | How::Extra => Values::Absent,
        }
    }

    /// Writes the value of `row` into the line, `-` for a null (a date and
    /// a time, each `-`, for the request time). Tabs and line breaks in
    /// text are escaped when `checked`, and left to the batch's count when
    /// not.
    #[inline]
    fn write(
        &self,
        row: usize,
        first: bool,
        single: bool,
        checked: bool,
        out: &mut LineWriter<'_>,
    ) {
        match self {
            Values::DateTime(times) => {
                let seconds = times
                    .is_valid(row)
                    .then(|| times.value(row).div_euclid(1000));
                out.value(|text| match seconds {
                    Some(seconds) => write_date(seconds, text),
                    None => text.push(b'-'),
                });
                out.value(|text| match seconds {
                    Some(seconds) => write_time(seconds, text),
                    None => text.push(b'-'),
                });
            }
            value => out.value(|text| value.write_one(row, first, single, checked, text)),
        }
    }

    /// [`write`](Values::write) for every column but the date and time.
    #[inline]
    fn write_one(&self, row: usize, first: bool, single: bool, checked: bool, out: &mut Out<'_>) {
        match self {
            Values::DateTime(_) => unreachable!("written as two values"),
            Values::Epoch(times) => match times.is_valid(row) {
                true => write_epoch_millis(times.value(row), out),
                false => out.push(b'-'),
            },
            Values::Int(numbers) | Values::Status(numbers) => {
                if numbers.is_null(row) {
                    return out.push(b'-');
                }
                let n = numbers.value(row);
                if matches!(self, Values::Status(_)) && (0..1000).contains(&n) {
                    // Three digits, as a status is logged.
                    let digits = [n / 100, n / 10 % 10, n % 10].map(|d| b'0' + d as u8);
                    return out.extend_from_slice(&digits);
                }
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            }
            Values::Seconds(seconds) => {
                if seconds.is_null(row) {
                    return out.push(b'-');
                }
                out.detached(|out| write_seconds(seconds.value(row), out));
            }
            Values::Boolean(values) => match values.is_valid(row) {
                true if values.value(row) => out.extend_from_slice(b"true"),
                true => out.extend_from_slice(b"false"),
                false => out.push(b'-'),
            },
            Values::Text(strings) => match strings.get(row) {
                Some(value) if value.is_dash() => out.extend_from_slice(b"%2D"),
                Some(value) if !checked && plain(value, first, single) && !value.contains(b'%') => {
                    value.copy_to(out)
                }
                Some(value) => value.with_bytes(|v| {
                    out.detached(|out| write_escaped(v, first, single, checked, out))
                }),
                None => out.push(b'-'),
            },
            Values::Raw(strings) => match strings.get(row) {
                Some(value) if !checked && plain(value, first, single) => value.copy_to(out),
                Some(value) => value
                    .with_bytes(|v| out.detached(|out| write_raw(v, first, single, checked, out))),
                None => out.push(b'-'),
            },
            Values::Absent => out.push(b'-'),
        }
    }
}

/// Two digits of `n`, below 100.
#[inline]
fn two_digits(n: i64, out: &mut Out<'_>) {
    out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
}

/// `YYYY-MM-DD` of `seconds` since the epoch.
#[inline]
fn write_date(seconds: i64, out: &mut Out<'_>) {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    if (0..=9999).contains(&year) {
        two_digits(year / 100, out);
        two_digits(year % 100, out);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(year).as_bytes());
    }
    out.push(b'-');
    two_digits(month, out);
    out.push(b'-');
    two_digits(day, out);
}

/// `HH:MM:SS` of `seconds` since the epoch.
#[inline]
fn write_time(seconds: i64, out: &mut Out<'_>) {
    let secs = seconds.rem_euclid(86_400);
    two_digits(secs / 3600, out);
    out.push(b':');
    two_digits(secs / 60 % 60, out);
    out.push(b':');
    two_digits(secs % 60, out);
}

/// `seconds` as `Display` writes it: the shortest decimal that reads back
/// as the same double, never an exponent (`0.082` for what was logged as
/// `0.082`). Whole milliseconds, what the logs have, are written without
/// `Display`'s search for the digits.
#[inline]
fn write_seconds(seconds: f64, out: &mut Out<'_>) {
    if seconds.is_sign_positive() && seconds < 1e9 {
        let millis = (seconds * 1000.0).round();
        // The double nearest to `millis / 1000` is `seconds`, and no
        // shorter decimal is as near: below 10^9 the doubles lie much
        // closer together than a thousandth.
        if millis / 1000.0 == seconds {
            let millis = millis as u64;
            out.extend_from_slice(itoa::Buffer::new().format(millis / 1000).as_bytes());
            let frac = millis % 1000;
            if frac != 0 {
                let digits = [
                    b'.',
                    b'0' + (frac / 100) as u8,
                    b'0' + (frac / 10 % 10) as u8,
                    b'0' + (frac % 10) as u8,
                ];
                let len = match (frac % 100, frac % 10) {
                    (0, _) => 2,
                    (_, 0) => 3,
                    _ => 4,
                };
                out.extend_from_slice(&digits[..len]);
            }
            return;
        }
    }
    use std::io::Write as _;
    let _ = write!(out, "{seconds}");
}

/// Epoch seconds with three decimals, as real-time logs have them.
#[inline]
fn write_epoch_millis(ms: i64, out: &mut Out<'_>) {
    out.extend_from_slice(itoa::Buffer::new().format(ms.div_euclid(1000)).as_bytes());
    let frac = ms.rem_euclid(1000);
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

/// The civil date of a day count from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The number of tabs, line breaks and carriage returns in `bytes`.
fn separators(bytes: &[u8]) -> usize {
    // Counted in bytes a chunk at a time, which the compiler vectorizes.
    bytes
        .chunks(255)
        .map(|chunk| {
            let found = chunk.iter().fold(0u8, |n, &b| {
                n + u8::from(b == b'\t') + u8::from(b == b'\n') + u8::from(b == b'\r')
            });
            usize::from(found)
        })
        .sum()
}

/// Whether `value` is written as it is, but for a tab or a line break:
/// a `#` that would start a header line, or a lone empty value, which would
/// leave the line blank, is not.
#[inline(always)]
fn plain(value: Str<'_>, first: bool, single: bool) -> bool {
    let header = first && value.first() == Some(b'#');
    let blank = single && value.len() == 0;
    !(header || blank)
}

/// A value as logged. Only what a line cannot hold is escaped, as
/// CloudFront escapes it: a `#` that would start a header line, and, when
/// `checked`, a tab or a line break (left to the batch's count when not).
/// A lone empty value is `-`, where a line would be blank.
#[inline]
fn write_raw(value: &[u8], first: bool, single: bool, checked: bool, out: &mut Out<'_>) {
    if value.is_empty() && single {
        out.push(b'-');
        return;
    }
    if first && value.first() == Some(&b'#') {
        out.extend_from_slice(b"%23");
        return write_raw(&value[1..], false, false, checked, out);
    }
    if !checked || memchr::memchr3(b'\t', b'\n', b'\r', value).is_none() {
        out.extend_from_slice(value);
        return;
    }
    for &b in value {
        match b {
            b'\t' => out.extend_from_slice(b"%09"),
            b'\n' => out.extend_from_slice(b"%0A"),
            b'\r' => out.extend_from_slice(b"%0D"),
            b => out.push(b),
        }
    }
}

/// Decoded text escaped again, so that one decoding gives it back: `%` as
/// `%25`, a lone `-` (which would read as no value) as `%2D`, and what
/// [`write_raw`] escapes.
#[inline]
fn write_escaped(value: &[u8], first: bool, single: bool, checked: bool, out: &mut Out<'_>) {
    if value == b"-" {
        out.extend_from_slice(b"%2D");
        return;
    }
    let mut rest = value;
    let mut first = first;
    while let Some(at) = memchr::memchr(b'%', rest) {
        write_raw(&rest[..at], first && at > 0, false, checked, out);
        out.extend_from_slice(b"%25");
        rest = &rest[at + 1..];
        first = false;
    }
    write_raw(rest, first, single && value.is_empty(), checked, out);
}

/// A column of strings, whichever Arrow type holds them.
enum Strings<'a> {
    /// What the reader asks for ([`as_views`](super::as_views)): each
    /// value of up to 12 bytes held in its view, a longer one in a buffer.
    Views {
        views: &'a [u128],
        buffers: &'a [arrow_buffer::Buffer],
        nulls: Option<&'a arrow_buffer::NullBuffer>,
    },
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Binary(&'a arrow_array::BinaryArray),
    LargeBinary(&'a arrow_array::LargeBinaryArray),
    Null,
}

impl<'a> Strings<'a> {
    fn of(array: &'a ArrayRef) -> Option<Strings<'a>> {
        let views = |views: &'a [u128], buffers: &'a [arrow_buffer::Buffer]| Strings::Views {
            views,
            buffers,
            nulls: array.nulls(),
        };
        Some(match array.data_type() {
            DataType::Utf8View => {
                let a = array.as_string_view();
                views(a.views(), a.data_buffers())
            }
            DataType::BinaryView => {
                let a = array.as_binary_view();
                views(a.views(), a.data_buffers())
            }
            DataType::Utf8 => Strings::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Strings::LargeUtf8(array.as_string::<i64>()),
            DataType::Binary => Strings::Binary(array.as_binary::<i32>()),
            DataType::LargeBinary => Strings::LargeBinary(array.as_binary::<i64>()),
            _ => return None,
        })
    }

    /// The value of `row`, or `None` for a null.
    #[inline(always)]
    fn get(&self, row: usize) -> Option<Str<'a>> {
        match self {
            Strings::Views {
                views,
                buffers,
                nulls,
            } => {
                if nulls.is_some_and(|nulls| nulls.is_null(row)) {
                    return None;
                }
                let view = views[row];
                let len = view as u32;
                if len <= Str::INLINE {
                    return Some(Str::Inline(view));
                }
                // A longer one: its length, a prefix, then the index of its
                // buffer and its offset there, four bytes each.
                let buffer = &buffers[(view >> 64) as u32 as usize];
                let start = (view >> 96) as usize;
                Some(Str::Slice(&buffer[start..start + len as usize]))
            }
            other => other.get_offsets(row).map(Str::Slice),
        }
    }

    /// [`get`](Strings::get) for the arrays of offsets, which the reader
    /// does not ask for.
    fn get_offsets(&self, row: usize) -> Option<&'a [u8]> {
        fn at<A: Array, T: ?Sized>(a: &A, row: usize, value: impl Fn(&A) -> &T) -> Option<&T> {
            a.is_valid(row).then(|| value(a))
        }
        match self {
            Strings::Utf8(a) => at(*a, row, |a| a.value(row).as_bytes()),
            Strings::LargeUtf8(a) => at(*a, row, |a| a.value(row).as_bytes()),
            Strings::Binary(a) => at(*a, row, |a| a.value(row)),
            Strings::LargeBinary(a) => at(*a, row, |a| a.value(row)),
            Strings::Views { .. } | Strings::Null => None,
        }
    }
}

/// One string value: a short one still in its view, whose fixed 16 bytes
/// copy without a call to `memcpy`, or a slice.
#[derive(Clone, Copy, Debug)]
enum Str<'a> {
    /// A view of at most [`Str::INLINE`] bytes: its length in the low four
    /// bytes, then the value, zero-padded.
    Inline(u128),
    Slice(&'a [u8]),
}

impl Str<'_> {
    const INLINE: u32 = 12;
    /// `-`, as the low five bytes of its view.
    const DASH: u128 = 1 | (b'-' as u128) << 32;

    #[inline(always)]
    fn len(self) -> usize {
        match self {
            Str::Inline(view) => view as u32 as usize,
            Str::Slice(bytes) => bytes.len(),
        }
    }

    #[inline(always)]
    fn first(self) -> Option<u8> {
        match self {
            Str::Inline(view) => (view as u32 > 0).then_some((view >> 32) as u8),
            Str::Slice(bytes) => bytes.first().copied(),
        }
    }

    #[inline(always)]
    fn is_dash(self) -> bool {
        match self {
            Str::Inline(view) => view & 0xFF_FFFF_FFFF == Str::DASH,
            Str::Slice(bytes) => bytes == b"-",
        }
    }

    /// Whether the value holds `byte`, which is above 12.
    #[inline(always)]
    fn contains(self, byte: u8) -> bool {
        debug_assert!(byte > 12);
        match self {
            // A byte equal to `byte` is a zero byte of the view xor `byte`
            // in every byte (the classic test for a zero byte), kept where
            // the value lies. The length's bytes (at most 12, then zeros)
            // never equal `byte`, so no borrow from them marks a value's.
            Str::Inline(view) => {
                const ONES: u128 = u128::MAX / 255;
                let value = ((1u128 << (8 * (view as u32))) - 1) << 32;
                let x = view ^ (ONES * u128::from(byte));
                x.wrapping_sub(ONES) & !x & (ONES << 7) & value != 0
            }
            Str::Slice(bytes) => memchr::memchr(byte, bytes).is_some(),
        }
    }

    /// Appends the value to `out`.
    #[inline(always)]
    fn copy_to(self, out: &mut Out<'_>) {
        match self {
            Str::Inline(view) => {
                // All 12 bytes, of which the value's length is kept.
                let bytes = view.to_le_bytes();
                let value: &[u8; 12] = bytes[4..].try_into().expect("12 bytes");
                out.put_chunk(value, view as u32 as usize);
            }
            Str::Slice(bytes) => out.extend_from_slice(bytes),
        }
    }

    /// Calls `f` with the value's bytes.
    #[inline]
    fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Str::Inline(view) => f(&view.to_le_bytes()[4..][..view as u32 as usize]),
            Str::Slice(bytes) => f(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `write` writes into room enough for it.
    fn written(write: impl FnOnce(&mut Out<'_>)) -> Vec<u8> {
        let mut buf = vec![0; 4096];
        let mut out = Out::new(&mut buf);
        write(&mut out);
        assert!(!out.overflowed());
        out.to_vec()
    }

    /// Every line of `lines`, read by its spans, has the values that
    /// splitting its text at the tabs gives.
    fn assert_spans_split_the_text(lines: &SplitLines, schema: &Schema) {
        let mut decoder = cflog_core::Decoder::new();
        let mut spans = Vec::new();
        let text: Vec<&[u8]> = lines.text().split(|&b| b == b'\n').collect();
        assert_eq!(text.len(), lines.len() + 1);
        for (i, line_text) in text[..lines.len()].iter().enumerate() {
            let (line, _) = decoder.split_line(lines, i, schema).unwrap();
            let split = cflog_core::LogLine::parse(line_text, schema, &mut spans).unwrap();
            assert_eq!(line.as_bytes(), *line_text);
            let by_spans: Vec<_> = (0..line.len()).map(|c| line.column(c)).collect();
            let by_tabs: Vec<_> = (0..split.len()).map(|c| split.column(c)).collect();
            assert_eq!(by_spans, by_tabs, "line {i}");
        }
    }

    #[test]
    fn days_become_civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(18_234), (2019, 12, 4));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        let out = written(|out| {
            write_date(1_575_493_351, out);
            out.push(b' ');
            write_time(1_575_493_351, out);
        });
        assert_eq!(out, b"2019-12-04 21:02:31");
    }

    #[test]
    fn seconds_are_written_as_display_writes_them() {
        let display = |x: f64| x.to_string().into_bytes();
        let written = |x: f64| written(|out| write_seconds(x, out));
        // Every logged value of up to 2,000 s, and larger ones.
        for millis in (0..2_000_000_u64).chain((0..1000).map(|i| 999_999_000_000 + i * 997)) {
            let x = format!("{}.{:03}", millis / 1000, millis % 1000)
                .parse::<f64>()
                .unwrap();
            assert_eq!(written(x), display(x), "{millis} ms");
        }
        for x in [
            -0.0,
            -1.5,
            0.0001,
            1e-9,
            0.1 + 0.2,
            123.4567,
            1e9,
            1e300,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert_eq!(written(x), display(x), "{x}");
        }
    }

    #[test]
    fn escaping_is_undone_by_one_decoding() {
        for value in [
            "a%20b",
            "-",
            "%",
            "#x",
            "tab\there",
            "line\nbreak\r",
            "plain",
            "%%",
            "",
        ] {
            let out = written(|out| write_escaped(value.as_bytes(), true, false, true, out));
            assert!(!out.contains(&b'\t') && !out.contains(&b'\n') && !out.contains(&b'\r'));
            assert_ne!(out.first(), Some(&b'#'));
            assert_ne!(out, b"-");
            assert_eq!(
                cflog_core::escape::decode(&out).as_ref(),
                value.as_bytes(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn aws_values_with_a_tab_or_a_line_break_are_escaped() {
        use arrow_array::StringArray;
        let batch = RecordBatch::try_from_iter([
            (
                "cs_uri_stem",
                Arc::new(StringArray::from(vec!["#a", "/b", "/c"])) as ArrayRef,
            ),
            (
                "cs_user_agent",
                Arc::new(StringArray::from(vec![Some("x\ty"), None, Some("z\r\n")])),
            ),
        ])
        .unwrap();
        let plan = Plan::new(&batch.schema()).unwrap();
        let mut out = SplitLines::new();
        out.write_lines(1, |_, line| {
            line.value(|text| text.extend_from_slice(b"an earlier batch"))
        });
        let schema = plan
            .write_lines(&batch, &mut Schemas::default(), &mut out)
            .unwrap();
        assert_spans_split_the_text(&out, &schema);
        assert_eq!(
            String::from_utf8(out.text().to_vec()).unwrap(),
            "%23a\tx%09y\n/b\t-\n/c\tz%0D%0A\n"
        );
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn views_read_as_the_array_reads_them() {
        use arrow_array::StringViewArray;
        let mut values: Vec<Option<String>> = vec![None, Some(String::new())];
        // Every length around the 12 bytes a view holds, with a `%`, a
        // `-` or a `#` at each place, and without.
        for len in 1..=20 {
            for at in 0..len {
                for byte in [b'%', b'-', b'#', b'a'] {
                    let mut value = vec![b'x'; len];
                    value[at] = byte;
                    values.push(Some(String::from_utf8(value).unwrap()));
                }
            }
        }
        let array: ArrayRef = Arc::new(StringViewArray::from(values.clone()));
        let strings = Strings::of(&array).unwrap();
        assert!(matches!(strings, Strings::Views { .. }));
        for (row, expected) in values.iter().enumerate() {
            let value = strings.get(row);
            assert_eq!(value.is_none(), expected.is_none(), "row {row}");
            let (Some(value), Some(expected)) = (value, expected) else {
                continue;
            };
            let expected = expected.as_bytes();
            assert_eq!(value.with_bytes(<[u8]>::to_vec), expected);
            assert_eq!(value.len(), expected.len());
            assert_eq!(value.first(), expected.first().copied());
            assert_eq!(value.is_dash(), expected == b"-");
            for byte in [b'%', b'-', b'#', b'x', b'a'] {
                assert_eq!(
                    value.contains(byte),
                    expected.contains(&byte),
                    "{expected:?}"
                );
            }
            let out = written(|out| {
                out.extend_from_slice(b"before");
                value.copy_to(out);
            });
            assert_eq!(&out[6..], expected);
            let escaped = written(|out| {
                out.extend_from_slice(b"before");
                write_escaped(expected, false, false, false, out);
            });
            // What the writer copies as it is, escaping would leave as it is.
            if !value.is_dash() && !value.contains(b'%') {
                assert_eq!(out, escaped, "{expected:?}");
            }
        }
    }

    #[test]
    fn typed_text_with_a_tab_or_a_percent_is_escaped() {
        use arrow_array::builder::{MapBuilder, StringBuilder};
        use arrow_array::{MapArray, StringViewArray, TimestampMillisecondArray};
        let mut extra = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for _ in 0..3 {
            extra.append(true).unwrap();
        }
        let extra: MapArray = extra.finish();
        let batch = RecordBatch::try_from_iter([
            (
                "timestamp",
                Arc::new(TimestampMillisecondArray::from(vec![0, 1000, 2000])) as ArrayRef,
            ),
            (
                "cs_user_agent",
                Arc::new(StringViewArray::from(vec!["x\ty", "-", "a b"])),
            ),
            (
                "cs_uri_stem",
                Arc::new(StringViewArray::from(vec!["/100%", "/b", "/c"])),
            ),
            (crate::EXTRA_KEY, Arc::new(extra)),
        ])
        .unwrap();
        let plan = Plan::new(&batch.schema()).unwrap();
        let mut out = SplitLines::new();
        let schema = plan
            .write_lines(&batch, &mut Schemas::default(), &mut out)
            .unwrap();
        assert_spans_split_the_text(&out, &schema);
        assert_eq!(
            String::from_utf8(out.text().to_vec()).unwrap(),
            "1970-01-01\t00:00:00\tx%09y\t/100%25\n\
             1970-01-01\t00:00:01\t%2D\t/b\n\
             1970-01-01\t00:00:02\ta b\t/c\n"
        );
    }

    #[test]
    fn raw_values_keep_their_escapes() {
        let out = written(|out| write_raw(b"Mozilla/5.0%20(X11)", true, false, true, out));
        assert_eq!(out, b"Mozilla/5.0%20(X11)");
        let out = written(|out| write_raw(b"", true, true, true, out));
        assert_eq!(out, b"-");
    }
}
