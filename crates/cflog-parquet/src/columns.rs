//! The fixed columns of a Parquet file, and their types in Arrow and in
//! Athena, from one table.
//!
//! A file has the same columns whatever the eras of the logs in it: every
//! known field of its log family, `null` where a line's schema lacks it, so
//! that one Glue table reads every file. Their names are the contract's
//! keys ([`cflog_core::contract`]), in the contract's order, with the
//! contract's registered derived keys after the fields, before `extra`
//! ([`ColumnSet::for_contract`]): each column's type follows from its key's
//! [`KeyKind`] alone.
//!
//! | values | column type | Parquet | Athena |
//! | --- | --- | --- | --- |
//! | the request time (`timestamp`) | [`ColumnType::Timestamp`] | `INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true)` | `timestamp` |
//! | integers: byte counts, statuses, ports, AS numbers, ranges, `timestamp_ms` | [`ColumnType::Int64`] | `INT64` (signed, no unsigned logical type) | `bigint` |
//! | durations (`time_taken`, `time_to_first_byte`, `origin_fbl`, `origin_lbl`) | [`ColumnType::Seconds`] | `DOUBLE`, seconds | `double` |
//! | text, result types, protocols, addresses | [`ColumnType::Text`] | `BYTE_ARRAY` UTF-8, dictionary-encoded | `string` |
//! | booleans (of derived keys) | [`ColumnType::Boolean`] | `BOOLEAN` | `boolean` |
//! | `query_params` | [`ColumnType::QueryParams`] | `MAP<UTF-8, LIST<UTF-8>>` | `map<string,array<string>>` |
//! | `extra` | [`ColumnType::Extra`] | `MAP<UTF-8, UTF-8>` | `map<string,string>` |
//!
//! Durations are `double` seconds rather than decimals: CloudFront logs
//! them with millisecond precision, which a double holds exactly enough to
//! print back as logged (`0.082`), and Athena averages and compares doubles
//! without casts.
//!
//! `query_params` holds the query's parameters fully decoded, as the JSON
//! contract does: one entry per name, in the order the names first appear,
//! each with every value of that name in order (`a=1&b=2&a=3` is
//! `{a: [1, 3], b: [2]}`; a name without `=` has the value `""`). It is
//! `null` when the line has no query, and an empty map for a query of no
//! parameters. The query as logged stays in `cs_uri_query`.
//!
//! `extra` keeps what has no column of its own: each column of the line
//! that cflog does not know (a field CloudFront adds later) or that is not
//! of this family (a real-time field in a standard log), under its JSON key,
//! with its value as the JSON contract's text. A value that is `-` is left
//! out; a line with nothing extra has `extra = null`. So nothing a log has
//! is dropped, and the table's schema never changes.
//!
//! ```
//! use cflog_parquet::ColumnSet;
//!
//! let columns = ColumnSet::standard();
//! let glue = columns.glue_columns();
//! assert_eq!(glue[0].name, "timestamp");
//! assert_eq!(glue[0].hive_type, "timestamp");
//! let status = glue.iter().find(|c| c.name == "sc_status").unwrap();
//! assert_eq!(status.hive_type, "bigint");
//! assert_eq!(glue.last().unwrap().hive_type, "map<string,string>");
//! assert_eq!(columns.arrow_schema().fields().len(), glue.len());
//! ```

use std::sync::Arc;

use arrow_schema::{
    DataType, Field as ArrowField, Fields, Schema as ArrowSchema, SchemaRef, TimeUnit,
};
use cflog_core::contract::{Contract, KeyKind, QUERY_PARAMS_KEY, TIMESTAMP_KEY};
use cflog_core::{Family, Field, REALTIME_ORDER, STANDARD_FIELDS};

/// The key of the column of what has no column of its own.
pub const EXTRA_KEY: &str = "extra";

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// The request time, in UTC, with milliseconds.
    Timestamp,
    /// A signed 64-bit integer.
    Int64,
    /// A duration, in seconds.
    Seconds,
    /// UTF-8 text.
    Text,
    /// `true` or `false`.
    Boolean,
    /// The query's parameters: each name with its values.
    QueryParams,
    /// Text values by key: the columns that have no column of their own.
    Extra,
}

impl ColumnType {
    /// The column type of a known field's values.
    pub fn of_field(field: Field) -> ColumnType {
        ColumnType::of_kind(KeyKind::of_value(field.kind()))
    }

    /// The column type of the values of a key of `kind`.
    pub fn of_kind(kind: KeyKind) -> ColumnType {
        match kind {
            KeyKind::Timestamp => ColumnType::Timestamp,
            KeyKind::Integer => ColumnType::Int64,
            KeyKind::Seconds => ColumnType::Seconds,
            // Addresses as the contract's text of them.
            KeyKind::Text | KeyKind::Ip => ColumnType::Text,
            KeyKind::Boolean => ColumnType::Boolean,
            KeyKind::QueryParams => ColumnType::QueryParams,
        }
    }

    /// The column's type in a Glue table or an Athena `CREATE TABLE`.
    pub fn hive_type(self) -> &'static str {
        match self {
            ColumnType::Timestamp => "timestamp",
            ColumnType::Int64 => "bigint",
            ColumnType::Seconds => "double",
            ColumnType::Text => "string",
            ColumnType::Boolean => "boolean",
            ColumnType::QueryParams => "map<string,array<string>>",
            ColumnType::Extra => "map<string,string>",
        }
    }

    /// The column's Arrow type, which the Parquet writer maps to the
    /// Parquet types of the [module docs](self).
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Seconds => DataType::Float64,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::QueryParams => map_type(DataType::List(Arc::new(list_item())), false),
            ColumnType::Extra => map_type(DataType::Utf8, true),
        }
    }
}

/// The item of a `query_params` value list: text, never null.
pub(crate) fn list_item() -> ArrowField {
    ArrowField::new("element", DataType::Utf8, false)
}

/// The fields of a map's entries: a key that is never null, and `value`.
pub(crate) fn map_entry_fields(value: DataType, value_nullable: bool) -> Fields {
    Fields::from(vec![
        ArrowField::new("key", DataType::Utf8, false),
        ArrowField::new("value", value, value_nullable),
    ])
}

/// A map from text to `value`, as Parquet's `MAP` annotation has it (a
/// repeated `key_value` group of `key` and `value`).
fn map_type(value: DataType, value_nullable: bool) -> DataType {
    let entries = DataType::Struct(map_entry_fields(value, value_nullable));
    DataType::Map(
        Arc::new(ArrowField::new("key_value", entries, false)),
        false,
    )
}

/// One column of a [`ColumnSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The column's name: the JSON contract's key.
    pub name: &'static str,
    /// What it holds.
    pub column_type: ColumnType,
    /// The known field whose values it holds: `Some(Field::Timestamp)` for
    /// the request time, `None` for `query_params` and `extra`.
    pub field: Option<Field>,
}

impl Column {
    fn of_field(field: Field) -> Column {
        Column {
            name: field.json_key(),
            column_type: ColumnType::of_field(field),
            field: Some(field),
        }
    }
}

/// A column of a Glue table: its name and Hive type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlueColumn {
    /// The name.
    pub name: &'static str,
    /// The Hive type (`bigint`, `map<string,array<string>>`…).
    pub hive_type: &'static str,
}

/// The fields of standard logs beyond the 33 of the legacy layout, in the
/// order of [`Field::ALL`]: the 2025 legacy additions and the v2 fields.
const STANDARD_EXTRA_FIELDS: [Field; 11] = [
    Field::DistributionTenantId,
    Field::ConnectionId,
    Field::TimestampMs,
    Field::DistributionId,
    Field::OriginFbl,
    Field::OriginLbl,
    Field::Asn,
    Field::Country,
    Field::CacheBehaviorPathPattern,
    Field::ViewerRequestLogData,
    Field::ViewerResponseLogData,
];

/// The fixed columns of the files of one log family.
///
/// [`standard`](ColumnSet::standard) is for standard logs of every era,
/// legacy and v2; [`realtime`](ColumnSet::realtime) for real-time logs,
/// whose fields are many and mostly their own (headers, CMCD). Each has
/// `extra` last. A line of either family can be written with either set:
/// what the set lacks goes to `extra`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSet {
    family: Family,
    contract: Contract,
    columns: Vec<Column>,
}

impl ColumnSet {
    /// The columns of standard logs: `timestamp`, the 31 other fields of
    /// the legacy layout in its order (with `query_params` after
    /// `cs_uri_query`), the fields added in 2025 and by v2, then `extra`.
    pub fn standard() -> ColumnSet {
        ColumnSet::for_contract(Family::Standard, &Contract::standard())
    }

    /// The columns of real-time logs: every real-time field in CloudFront's
    /// canonical order (`timestamp` first, `query_params` after
    /// `cs_uri_query`), then `extra`.
    pub fn realtime() -> ColumnSet {
        ColumnSet::for_contract(Family::Realtime, &Contract::standard())
    }

    /// The columns of `family`'s logs by `contract`: its derived keys
    /// have columns of their own (after the fields, before `extra`; a key
    /// that fills a field is that field's column), and the keys it drops
    /// have none.
    pub fn for_contract(family: Family, contract: &Contract) -> ColumnSet {
        let mut set = match family {
            Family::Realtime => {
                ColumnSet::from_fields(family, contract, REALTIME_ORDER.iter().copied())
            }
            _ => {
                let fields = STANDARD_FIELDS.iter().chain(&STANDARD_EXTRA_FIELDS);
                ColumnSet::from_fields(Family::Standard, contract, fields.copied())
            }
        };
        set.columns.retain(|c| !contract.dropped(c.name));
        set
    }

    /// The contract whose entries the columns hold.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The columns of `family`'s logs.
    pub fn for_family(family: Family) -> ColumnSet {
        match family {
            Family::Realtime => ColumnSet::realtime(),
            _ => ColumnSet::standard(),
        }
    }

    fn from_fields(
        family: Family,
        contract: &Contract,
        fields: impl Iterator<Item = Field>,
    ) -> ColumnSet {
        // The column of a derived key, from its declaration.
        let derived = |name: &str| {
            contract
                .derived_keys()
                .find(|key| key.name == name)
                .map(|key| Column {
                    name: key.name,
                    column_type: ColumnType::of_kind(key.kind),
                    field: key.fills(),
                })
        };
        let mut columns = Vec::new();
        for field in fields {
            match field {
                // One request time, whatever its source columns.
                Field::Date | Field::Time | Field::Timestamp => {
                    if !columns.iter().any(|c: &Column| c.name == TIMESTAMP_KEY) {
                        columns.extend(derived(TIMESTAMP_KEY).map(|column| Column {
                            field: Some(Field::Timestamp),
                            ..column
                        }));
                    }
                }
                Field::UriQuery => {
                    columns.push(Column::of_field(field));
                    columns.extend(derived(QUERY_PARAMS_KEY));
                }
                field => columns.push(Column::of_field(field)),
            }
        }
        columns.extend(contract.extra_derived_keys().map(|key| Column {
            name: key.name,
            column_type: ColumnType::of_kind(key.kind),
            field: None,
        }));
        columns.push(Column {
            name: EXTRA_KEY,
            column_type: ColumnType::Extra,
            field: None,
        });
        ColumnSet {
            family,
            contract: contract.clone(),
            columns,
        }
    }

    /// The family whose logs the set is for.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The index of the column named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The Arrow schema of the files: every column nullable.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<ArrowField> = self
            .columns
            .iter()
            .map(|c| ArrowField::new(c.name, c.column_type.arrow_type(), true))
            .collect();
        Arc::new(ArrowSchema::new(fields))
    }

    /// The columns of the Glue table that reads the files, in order.
    pub fn glue_columns(&self) -> Vec<GlueColumn> {
        self.columns
            .iter()
            .map(|c| GlueColumn {
                name: c.name,
                hive_type: c.column_type.hive_type(),
            })
            .collect()
    }

    /// The Glue columns as JSON, in the shape of an `AWS::Glue::Table`'s
    /// `StorageDescriptor.Columns` (`[{"Name": …, "Type": …}, …]`, which is
    /// YAML too), one column a line: for the SAM template and its test.
    ///
    /// ```
    /// let json = cflog_parquet::ColumnSet::standard().render_glue_columns();
    /// assert!(json.starts_with("[\n  {\"Name\": \"timestamp\", \"Type\": \"timestamp\"},\n"));
    /// assert!(json.ends_with("  {\"Name\": \"extra\", \"Type\": \"map<string,string>\"}\n]\n"));
    /// ```
    pub fn render_glue_columns(&self) -> String {
        // Names are snake_case and types are Hive's: nothing to escape.
        let rows: Vec<String> = self
            .glue_columns()
            .iter()
            .map(|c| {
                format!(
                    "  {{\"Name\": \"{}\", \"Type\": \"{}\"}}",
                    c.name, c.hive_type
                )
            })
            .collect();
        format!("[\n{}\n]\n", rows.join(",\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Hive type of an Arrow type, worked out from the Arrow type alone:
    /// the check that the two renderings of the one table agree.
    fn hive_of_arrow(data_type: &DataType) -> String {
        match data_type {
            DataType::Timestamp(TimeUnit::Millisecond, Some(tz)) if &**tz == "UTC" => {
                "timestamp".into()
            }
            DataType::Int64 => "bigint".into(),
            DataType::Float64 => "double".into(),
            DataType::Utf8 => "string".into(),
            DataType::Boolean => "boolean".into(),
            DataType::List(item) => format!("array<{}>", hive_of_arrow(item.data_type())),
            DataType::Map(entries, false) => match entries.data_type() {
                DataType::Struct(fields) => format!(
                    "map<{},{}>",
                    hive_of_arrow(fields[0].data_type()),
                    hive_of_arrow(fields[1].data_type())
                ),
                other => panic!("map entries of {other}"),
            },
            other => panic!("no Hive type for {other}"),
        }
    }

    #[test]
    fn derived_keys_have_columns_from_their_kinds_and_dropped_keys_none() {
        let contract = cflog_core::contract::testing::contract()
            .without(["cs_cookie"])
            .unwrap();
        for family in [Family::Standard, Family::Realtime] {
            let set = ColumnSet::for_contract(family, &contract);
            let glue = set.glue_columns();
            let tail: Vec<(&str, &str)> = glue[glue.len() - 4..]
                .iter()
                .map(|c| (c.name, c.hive_type))
                .collect();
            assert_eq!(
                tail,
                [
                    ("test_ip_bytes", "bigint"),
                    ("test_has_query", "boolean"),
                    ("test_method", "string"),
                    (EXTRA_KEY, "map<string,string>"),
                ]
            );
            assert!(set.position("cs_cookie").is_none());
            let standard = ColumnSet::for_family(family);
            assert_eq!(glue.len(), standard.glue_columns().len() + 3 - 1);
        }
    }

    #[test]
    fn glue_columns_are_the_arrow_schema_in_hive_types() {
        let test = cflog_core::contract::testing::contract();
        for set in [
            ColumnSet::standard(),
            ColumnSet::realtime(),
            ColumnSet::for_contract(Family::Standard, &test),
        ] {
            let schema = set.arrow_schema();
            let glue = set.glue_columns();
            assert_eq!(schema.fields().len(), glue.len());
            for (field, column) in schema.fields().iter().zip(&glue) {
                assert_eq!(field.name(), column.name);
                assert_eq!(
                    hive_of_arrow(field.data_type()),
                    column.hive_type,
                    "{}",
                    column.name
                );
            }
        }
    }

    #[test]
    fn every_key_of_the_family_has_a_column_once() {
        for (set, fields) in [
            (ColumnSet::standard(), &STANDARD_FIELDS[..]),
            (ColumnSet::standard(), &STANDARD_EXTRA_FIELDS[..]),
            (ColumnSet::realtime(), &REALTIME_ORDER[..]),
        ] {
            for (i, a) in set.columns().iter().enumerate() {
                assert!(
                    !set.columns()[i + 1..].iter().any(|b| b.name == a.name),
                    "{}",
                    a.name
                );
            }
            for field in fields {
                let key = match field {
                    Field::Date | Field::Time | Field::Timestamp => TIMESTAMP_KEY,
                    field => field.json_key(),
                };
                assert!(set.position(key).is_some(), "{key}");
            }
            assert!(set.position(QUERY_PARAMS_KEY).is_some());
            assert_eq!(set.columns().last().unwrap().name, EXTRA_KEY);
        }
    }

    #[test]
    fn every_known_field_has_a_column_in_one_set_or_the_other() {
        let standard = ColumnSet::standard();
        let realtime = ColumnSet::realtime();
        for &field in Field::ALL {
            let key = match field {
                Field::Date | Field::Time | Field::Timestamp => TIMESTAMP_KEY,
                field => field.json_key(),
            };
            assert!(
                standard.position(key).is_some() || realtime.position(key).is_some(),
                "{field}"
            );
        }
    }

    #[test]
    fn the_standard_set_follows_the_legacy_layout() {
        let names: Vec<&str> = ColumnSet::standard()
            .columns()
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names[..13],
            [
                "timestamp",
                "x_edge_location",
                "sc_bytes",
                "c_ip",
                "cs_method",
                "cs_host",
                "cs_uri_stem",
                "sc_status",
                "cs_referer",
                "cs_user_agent",
                "cs_uri_query",
                "query_params",
                "cs_cookie",
            ]
        );
        assert_eq!(names.len(), 1 + 31 + 1 + STANDARD_EXTRA_FIELDS.len() + 1);
    }
}
