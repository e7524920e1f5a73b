//! Which field sits in which column, and what separates the columns.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::field::{Field, REALTIME_ORDER, STANDARD_FIELDS, json_key_for_name};
use crate::field::{QUERY_PARAMS_KEY, TIMESTAMP_KEY};

/// The most columns a schema may have. CloudFront documents 71 names; the
/// limit keeps a hostile header from costing more than a few KiB.
pub const MAX_COLUMNS: usize = 1024;

const ABSENT: u16 = u16::MAX;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What separates the fields of a line: TAB unless a v2 delivery chose
/// another `fieldDelimiter` (CloudWatch allows up to 5 characters).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Delimiter {
    bytes: Box<[u8]>,
}

impl Delimiter {
    /// The most bytes a delimiter may have.
    pub const MAX_LEN: usize = 8;

    /// TAB, the delimiter of legacy and real-time logs and v2's default.
    pub fn tab() -> Delimiter {
        Delimiter {
            bytes: Box::new([b'\t']),
        }
    }

    /// A delimiter of one or more bytes.
    ///
    /// # Errors
    ///
    /// When `bytes` is empty, longer than [`Delimiter::MAX_LEN`], or holds a
    /// line break, which could never separate fields within a line.
    ///
    /// ```
    /// use cflog_core::{Delimiter, DelimiterError};
    /// assert!(Delimiter::new(b"|").is_ok());
    /// assert_eq!(Delimiter::new(b""), Err(DelimiterError::Empty));
    /// assert_eq!(Delimiter::new(b"\n"), Err(DelimiterError::LineBreak));
    /// assert_eq!(Delimiter::new(b"123456789").unwrap_err().to_string(), "the delimiter is longer than 8 bytes");
    /// ```
    pub fn new(bytes: &[u8]) -> Result<Delimiter, DelimiterError> {
        if bytes.is_empty() {
            return Err(DelimiterError::Empty);
        }
        if bytes.len() > Self::MAX_LEN {
            return Err(DelimiterError::TooLong { max: Self::MAX_LEN });
        }
        if bytes.iter().any(|&b| b == b'\n' || b == b'\r') {
            return Err(DelimiterError::LineBreak);
        }
        Ok(Delimiter {
            bytes: bytes.into(),
        })
    }

    /// The delimiter's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Why bytes cannot be a [`Delimiter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DelimiterError {
    /// No bytes at all.
    #[error("the delimiter is empty")]
    Empty,
    /// More than [`Delimiter::MAX_LEN`] bytes.
    #[error("the delimiter is longer than {max} bytes")]
    TooLong {
        /// The longest a delimiter may be.
        max: usize,
    },
    /// A carriage return or a line feed, which could never separate fields
    /// within a line.
    #[error("the delimiter contains a line break")]
    LineBreak,
}

impl Default for Delimiter {
    fn default() -> Delimiter {
        Delimiter::tab()
    }
}

impl fmt::Debug for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Delimiter({:?})", String::from_utf8_lossy(&self.bytes))
    }
}

/// One column of a [`Schema`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// A field cflog knows.
    Known(Field),
    /// A name cflog does not know, kept so that its values are not lost.
    Unknown {
        /// The name as the header wrote it.
        name: Box<str>,
        /// Its JSON key (see [`json_key_for_name`]).
        json_key: Box<str>,
        /// What its values are: text, unless a typed source says otherwise
        /// ([`Schema::with_extra_kind`]).
        kind: ExtraKind,
    },
}

/// What the values of an [unknown column](Column::Unknown) are.
///
/// A text log says nothing of its unknown columns, so their values are
/// text. A typed source does: cflog's own Parquet holds `is_bot`, a derived
/// key, as a boolean column, and reading it back as text would write
/// `"false"` where the JSON contract has `false`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtraKind {
    /// Escaped text, decoded one level as any text is.
    #[default]
    Text,
    /// `true` or `false`.
    Boolean,
    /// A decimal integer, signed or not.
    Integer,
}

impl Column {
    /// The field, if cflog knows it.
    pub fn field(&self) -> Option<Field> {
        match self {
            Column::Known(field) => Some(*field),
            Column::Unknown { .. } => None,
        }
    }

    /// The name of the column.
    pub fn name(&self) -> &str {
        match self {
            Column::Known(field) => field.name(),
            Column::Unknown { name, .. } => name,
        }
    }

    /// What an unknown column's values are; `None` for a known field, whose
    /// kind is its field's.
    pub fn extra_kind(&self) -> Option<ExtraKind> {
        match self {
            Column::Known(_) => None,
            Column::Unknown { kind, .. } => Some(*kind),
        }
    }

    /// The key of the column in JSON output.
    pub fn json_key(&self) -> &str {
        match self {
            Column::Known(field) => field.json_key(),
            Column::Unknown { json_key, .. } => json_key,
        }
    }
}

/// Which log family a schema describes. Real-time records differ in a few
/// values, not only in names: `cs-uri-stem` includes the query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// Standard logs, legacy or v2: header-driven, `cs-uri-stem` without `?`.
    Standard,
    /// Real-time logs from Kinesis: no header, canonical field order.
    Realtime,
}

/// The layout of a log's lines: the field of each column and the delimiter.
///
/// Build it once, from a `#Fields:` header or a list of names, and share it:
/// looking a field's column up is an array index.
///
/// ```
/// use cflog_core::{Field, Schema};
///
/// let schema = Schema::from_fields_header(b"#Fields: date time x-edge-location asn")?;
/// assert_eq!(schema.len(), 4);
/// assert_eq!(schema.position(Field::Asn), Some(3));
/// assert_eq!(schema.position(Field::ClientIp), None);
/// # Ok::<(), cflog_core::SchemaError>(())
/// ```
#[derive(Clone)]
pub struct Schema {
    id: u64,
    columns: Box<[Column]>,
    index: [u16; Field::COUNT],
    delimiter: Delimiter,
    family: Family,
}

impl Schema {
    /// The current 33-field standard layout, TAB-delimited.
    ///
    /// This is the schema of every line that comes before a `#Fields`
    /// header, so a file whose headers were stripped still parses when it is
    /// of today's layout.
    pub fn standard() -> Schema {
        Schema::from_fields(
            STANDARD_FIELDS.iter().copied().map(Column::Known),
            Family::Standard,
        )
    }

    /// Builds a schema from a `#Fields:` line, such as CloudFront writes at
    /// the top of each standard log file. Names are split on runs of
    /// whitespace; unknown names become [`Column::Unknown`].
    ///
    /// ```
    /// use cflog_core::{Schema, SchemaError};
    ///
    /// assert_eq!(Schema::from_fields_header(b"#Fields: date time sc-status")?.len(), 3);
    /// let err = Schema::from_fields_header(b"#Fields: date time date").unwrap_err();
    /// assert_eq!(err, SchemaError::Duplicate { name: "date".into() });
    /// assert_eq!(err.to_string(), "the field name \"date\" appears twice");
    /// # Ok::<(), SchemaError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_names`](Schema::from_names), and when the line does not
    /// start with `#Fields:` or is not UTF-8.
    pub fn from_fields_header(line: &[u8]) -> Result<Schema, SchemaError> {
        let rest = line
            .strip_prefix(b"#Fields:")
            .ok_or(SchemaError::NotAFieldsHeader)?;
        let rest = std::str::from_utf8(rest).map_err(|_| SchemaError::NotUtf8)?;
        Schema::from_names(rest.split_ascii_whitespace())
    }

    /// Builds a standard-log schema from field names in column order, as in a
    /// v2 delivery's `recordFields`.
    ///
    /// # Errors
    ///
    /// When there are no names or more than [`MAX_COLUMNS`], when a name
    /// repeats (one of its columns would be lost), or when no name is a field
    /// cflog knows: such a header or JSON object is not a CloudFront log.
    pub fn from_names<'n>(names: impl IntoIterator<Item = &'n str>) -> Result<Schema, SchemaError> {
        let columns = names.into_iter().map(|name| match Field::from_name(name) {
            Some(field) => Column::Known(field),
            None => Column::Unknown {
                name: name.into(),
                json_key: json_key_for_name(name).into(),
                kind: ExtraKind::Text,
            },
        });
        let columns: Vec<Column> = columns.take(MAX_COLUMNS + 1).collect();
        if !columns.is_empty() && columns.iter().all(|c| c.field().is_none()) {
            let names = columns.iter().take(3).map(|c| c.name().to_owned());
            return Err(SchemaError::NoKnownField {
                names: names.collect(),
            });
        }
        if let Some(error) = first_repeated(&columns) {
            return Err(error);
        }
        Schema::checked(columns, Family::Standard)
    }

    /// Builds a real-time schema from the field names of a real-time log
    /// configuration, given in any order.
    ///
    /// CloudFront delivers the fields in its canonical order whatever order
    /// the configuration lists them in, so the names are sorted into that
    /// order. Names this version does not know cannot be placed; they are
    /// returned so that the caller can warn, and the schema is built without
    /// them (their values would shift every later column, so such a
    /// configuration needs an update of cflog to parse correctly).
    ///
    /// ```
    /// use cflog_core::{Field, Schema};
    ///
    /// let (schema, unknown) = Schema::realtime(["sc-status", "timestamp", "cs-host", "x-foo"])?;
    /// assert_eq!(schema.position(Field::Timestamp), Some(0));
    /// assert_eq!(schema.position(Field::Status), Some(1));
    /// assert_eq!(schema.position(Field::HostHeader), Some(2));
    /// assert_eq!(unknown, vec!["x-foo".to_string()]);
    /// # Ok::<(), cflog_core::SchemaError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When no name is known.
    pub fn realtime<'n>(
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<(Schema, Vec<String>), SchemaError> {
        let mut wanted = [false; Field::COUNT];
        let mut unknown = Vec::new();
        for name in names {
            match Field::from_realtime_name(name.trim()) {
                Some(field) => wanted[field as usize] = true,
                None if name.trim().is_empty() => {}
                None => unknown.push(name.to_string()),
            }
        }
        let columns: Vec<Column> = REALTIME_ORDER
            .iter()
            .filter(|f| wanted[**f as usize])
            .map(|f| Column::Known(*f))
            .collect();
        Ok((Schema::checked(columns, Family::Realtime)?, unknown))
    }

    fn checked(columns: Vec<Column>, family: Family) -> Result<Schema, SchemaError> {
        if columns.is_empty() {
            return Err(SchemaError::NoNames);
        }
        if columns.len() > MAX_COLUMNS {
            return Err(SchemaError::TooMany { max: MAX_COLUMNS });
        }
        Ok(Schema::from_fields(columns, family))
    }

    fn from_fields(columns: impl IntoIterator<Item = Column>, family: Family) -> Schema {
        let columns: Box<[Column]> = columns.into_iter().collect();
        let mut index = [ABSENT; Field::COUNT];
        for (i, column) in columns.iter().enumerate() {
            // Names are unique (checked by the constructors that take them).
            if let Some(field) = column.field() {
                index[field as usize] = i as u16;
            }
        }
        Schema {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            columns,
            index,
            delimiter: Delimiter::tab(),
            family,
        }
    }

    /// The same layout with another delimiter.
    pub fn with_delimiter(mut self, delimiter: Delimiter) -> Schema {
        self.delimiter = delimiter;
        self.id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self
    }

    /// The same layout with the values of unknown column `index` of `kind`.
    /// A known field's column keeps its field's kind, and an index past the
    /// last column changes nothing.
    ///
    /// ```
    /// use cflog_core::{Column, ExtraKind, Schema};
    ///
    /// let schema = Schema::from_names(["date", "time", "is_bot"])?.with_extra_kind(2, ExtraKind::Boolean);
    /// assert!(matches!(schema.columns()[2], Column::Unknown { kind: ExtraKind::Boolean, .. }));
    /// # Ok::<(), cflog_core::SchemaError>(())
    /// ```
    pub fn with_extra_kind(mut self, index: usize, kind: ExtraKind) -> Schema {
        if let Some(Column::Unknown { kind: old, .. }) = self.columns.get_mut(index) {
            *old = kind;
            self.id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        }
        self
    }

    /// A number that differs between schemas that are not clones, for
    /// caching work derived from a schema.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The columns, in line order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the schema has no columns (never true of a built schema).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The column of `field`, if the schema has it.
    #[inline]
    pub fn position(&self, field: Field) -> Option<usize> {
        match self.index[field as usize] {
            ABSENT => None,
            i => Some(i as usize),
        }
    }

    /// Whether the schema has `field`.
    pub fn contains(&self, field: Field) -> bool {
        self.position(field).is_some()
    }

    /// The delimiter between fields.
    pub fn delimiter(&self) -> &Delimiter {
        &self.delimiter
    }

    /// The log family.
    pub fn family(&self) -> Family {
        self.family
    }
}

/// Why field names do not make a [`Schema`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The line does not start with `#Fields:`.
    #[error("the line does not start with \"#Fields:\"")]
    NotAFieldsHeader,
    /// The header is not UTF-8.
    #[error("the header is not UTF-8")]
    NotUtf8,
    /// There are no names.
    #[error("no field names")]
    NoNames,
    /// There are more names than a schema may have.
    #[error("more than {max} fields")]
    TooMany {
        /// [`MAX_COLUMNS`].
        max: usize,
    },
    /// A name appears twice, so one of its columns would be lost.
    #[error("the field name {name:?} appears twice")]
    Duplicate {
        /// The repeated name.
        name: String,
    },
    /// Two different names have one JSON key (`x-foo` and `x_foo`), so one
    /// of their values would be lost from the output.
    #[error("the field name {name:?} has the JSON key {key:?} of an earlier field")]
    SameKey {
        /// The later name.
        name: String,
        /// Their JSON key.
        key: String,
    },
    /// An unknown name has a JSON key that cflog writes for values it
    /// derives (`timestamp` from `date` and `time`, `query_params` from
    /// `cs-uri-query`), so one of the two would be lost from the output.
    #[error(
        "the field name {name:?} has the JSON key {key:?}, which cflog writes for a value it derives from other fields"
    )]
    DerivedKey {
        /// The unknown name.
        name: String,
        /// The JSON key both would have.
        key: String,
    },
    /// No name is a CloudFront field: the input is another kind of data.
    #[error("no CloudFront field among the names (such as {})", quoted(names))]
    NoKnownField {
        /// The first few names.
        names: Vec<String>,
    },
}

fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    quoted.join(", ")
}

/// The first column whose field, or whose JSON key, an earlier one has, or
/// an unknown column with the key of a value the JSON writer derives:
/// either way, one of the two would be lost from the output.
fn first_repeated(columns: &[Column]) -> Option<SchemaError> {
    let derived = derived_keys(columns);
    let mut known = [false; Field::COUNT];
    let (mut unknown, mut keys) = (HashSet::new(), HashSet::new());
    columns.iter().find_map(|column| {
        let name = column.name().to_owned();
        let seen = match column.field() {
            Some(field) => std::mem::replace(&mut known[field as usize], true),
            None => !unknown.insert(column.name()),
        };
        if seen {
            return Some(SchemaError::Duplicate { name });
        }
        let key = column.json_key();
        if column.field().is_none() && derived.contains(&key) {
            return Some(SchemaError::DerivedKey {
                name,
                key: key.to_owned(),
            });
        }
        (!keys.insert(key)).then(|| SchemaError::SameKey {
            name,
            key: key.to_owned(),
        })
    })
}

/// The keys the JSON writer adds for a standard log with these columns
/// (see [`contract`](crate::contract)).
fn derived_keys(columns: &[Column]) -> Vec<&'static str> {
    let has = |wanted: &[Field]| {
        columns
            .iter()
            .any(|c| c.field().is_some_and(|f| wanted.contains(&f)))
    };
    let mut keys = Vec::with_capacity(2);
    if has(&[
        Field::Date,
        Field::Time,
        Field::Timestamp,
        Field::TimestampMs,
    ]) {
        keys.push(TIMESTAMP_KEY);
    }
    if has(&[Field::UriQuery]) {
        keys.push(QUERY_PARAMS_KEY);
    }
    keys
}

impl Default for Schema {
    fn default() -> Schema {
        Schema::standard()
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.columns == other.columns
            && self.delimiter == other.delimiter
            && self.family == other.family
    }
}

impl Eq for Schema {}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field(
                "columns",
                &self.columns.iter().map(Column::name).collect::<Vec<_>>(),
            )
            .field("delimiter", &self.delimiter)
            .field("family", &self.family)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_is_the_33_field_layout() {
        let schema = Schema::standard();
        assert_eq!(schema.len(), 33);
        assert_eq!(schema.position(Field::Date), Some(0));
        assert_eq!(schema.position(Field::RangeEnd), Some(32));
        assert_eq!(schema.position(Field::Asn), None);
    }

    #[test]
    fn header_splits_on_whitespace_runs_and_keeps_unknown_names() {
        // The 2018 AWS docs header ended in a trailing space.
        let schema =
            Schema::from_fields_header(b"#Fields:  date\ttime   x-new(Thing) fle-status ").unwrap();
        let names: Vec<&str> = schema.columns().iter().map(Column::name).collect();
        assert_eq!(names, ["date", "time", "x-new(Thing)", "fle-status"]);
        assert_eq!(schema.columns()[2].json_key(), "x_new_thing");
        assert_eq!(schema.position(Field::FleStatus), Some(3));
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(Schema::from_fields_header(b"#Fields:").is_err());
        assert!(Schema::from_fields_header(b"#Fields:   ").is_err());
        assert!(Schema::from_fields_header(b"#Version: 1.0").is_err());
        assert!(Schema::from_fields_header(b"#Fields: date \xff").is_err());
        let huge = format!("#Fields:{}", " x".repeat(MAX_COLUMNS + 1));
        assert!(Schema::from_fields_header(huge.as_bytes()).is_err());
    }

    #[test]
    fn a_repeated_name_is_an_error_that_names_it() {
        for (names, repeated) in [
            (&["date", "time", "date", "sc-status"][..], "date"),
            (&["x-a", "sc-status", "x-a"], "x-a"),
            // Aliases of one field count as the same name.
            (
                &["cs(User-Agent)", "sc-status", "cs-user-agent"],
                "cs(User-Agent)",
            ),
            (&["DistributionId", "distributionid"], "DistributionId"),
        ] {
            assert_eq!(
                Schema::from_names(names.iter().copied()),
                Err(SchemaError::Duplicate {
                    name: repeated.into()
                }),
                "{names:?}"
            );
        }
        assert_eq!(
            Schema::from_names(["sc-status", "x-foo", "x_foo"]),
            Err(SchemaError::SameKey {
                name: "x_foo".into(),
                key: "x_foo".into()
            })
        );
        // An unknown name spelled as a known field's JSON key.
        assert!(matches!(
            Schema::from_names(["cs-uri-stem", "cs_uri_stem"]),
            Err(SchemaError::SameKey { .. })
        ));
        // An unknown name with the key of a value the JSON writer derives,
        // before or after the fields it derives it from.
        for (names, name, key) in [
            (
                &[";timestamp", "date", "time"][..],
                ";timestamp",
                "timestamp",
            ),
            (
                &["sc-status", "timestamp(ms)", "Timestamp!"],
                "Timestamp!",
                "timestamp",
            ),
            (
                &["cs-uri-query", "query-params"],
                "query-params",
                "query_params",
            ),
        ] {
            assert_eq!(
                Schema::from_names(names.iter().copied()),
                Err(SchemaError::DerivedKey {
                    name: name.into(),
                    key: key.into()
                }),
                "{names:?}"
            );
        }
        // Without the fields it is derived from, the key is free.
        assert!(Schema::from_names(["sc-status", "query-params"]).is_ok());
        let header = b"#Fields: date time date sc-status";
        let err = Schema::from_fields_header(header).unwrap_err();
        assert_eq!(err.to_string(), "the field name \"date\" appears twice");
    }

    #[test]
    fn names_of_which_none_is_a_cloudfront_field_are_an_error() {
        let err = Schema::from_names(["hello", "a", "level", "msg"]).unwrap_err();
        assert!(matches!(err, SchemaError::NoKnownField { .. }));
        assert_eq!(
            err.to_string(),
            r#"no CloudFront field among the names (such as "hello", "a", "level")"#
        );
        // One known name is enough; the others are kept as unknown columns.
        let schema = Schema::from_names(["hello", "sc-status"]).unwrap();
        assert_eq!(schema.position(Field::Status), Some(1));
    }
}
