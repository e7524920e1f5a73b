//! Standard logging v2's JSON output: one object per line, every value a
//! string, keyed by CloudFront's field names.
//!
//! ```text
//! {"date":"2024-11-15","time":"19:45:51","x-edge-location":"SOF50-P2","asn":"16509","timestamp(ms)":"1731699951183"}
//! ```
//!
//! A JSON line becomes the same [`LogLine`] as a delimited one: its keys make
//! the schema (a new one only when they change), and each field is a slice
//! of the line itself. Values with JSON escapes are the exception: they are
//! unescaped into a buffer kept after the line. The values keep
//! CloudFront's `%XX` escaping, which [`Value::decoded`](crate::Value::decoded)
//! undoes as for any other format.

use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::line::LogLine;
use crate::schema::{Schema, SchemaError};

/// Why a JSON line is not a log entry.
///
/// CloudFront's v2 JSON is one object per line whose every value is a
/// string, keyed by CloudFront's field names. Anything else (application
/// logs, a number where a string belongs) is another kind of data, and is
/// rejected rather than read as an entry of strings:
///
/// ```
/// use cflog_core::{JsonLineError, JsonLineParser};
///
/// let mut parser = JsonLineParser::new();
/// let err = parser.parse(br#"{"sc-status":200}"#).unwrap_err();
/// assert_eq!(err, JsonLineError::NotAString { key: "sc-status".into(), found: "a number" });
/// assert!(matches!(parser.parse(br#"{"hello":"world"}"#), Err(JsonLineError::Keys(_))));
/// // `null` is a missing value, as `-` is; unknown keys beside known ones are kept.
/// assert!(parser.parse(br#"{"sc-status":"200","origin-fbl":null,"x-new":"y"}"#).is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonLineError {
    /// The line is not UTF-8, so it is not JSON.
    #[error("the line is not UTF-8 (invalid byte at offset {valid_up_to})")]
    NotUtf8 {
        /// The length of the valid prefix.
        valid_up_to: usize,
    },
    /// The line is not a JSON object: serde_json's message.
    #[error("{0}")]
    Syntax(String),
    /// A value is not a string (or `null`).
    #[error("the value of {key:?} is {found}; CloudFront writes every value as a string")]
    NotAString {
        /// Its key.
        key: String,
        /// What it is: `a number`, `a boolean`, `an object` or `an array`.
        found: &'static str,
    },
    /// The keys do not make a schema: none, too many, a repeated one, or
    /// none that is a CloudFront field.
    #[error("unusable keys: {0}")]
    Keys(#[source] SchemaError),
}

/// Parses v2 JSON lines into [`LogLine`]s, reusing its buffers and the last
/// schema.
///
/// ```
/// use cflog_core::{Field, JsonLineParser};
///
/// let mut parser = JsonLineParser::new();
/// let line = parser.parse(br#"{"timestamp(ms)":"1731699951183","sc-status":"200","cs(User-Agent)":"curl/8.0%20(x)","origin-fbl":"-"}"#)?;
/// assert_eq!(line.status()?, Some(200));
/// assert_eq!(line.timestamp()?.unwrap().to_string(), "2024-11-15 19:45:51.183 +00:00:00");
/// assert_eq!(line.get(Field::UserAgent).unwrap().decoded_str(), "curl/8.0 (x)");
/// assert_eq!(line.origin_fbl()?, None); // `-`
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonLineParser {
    fields: JsonFields,
    /// The line followed by its unescaped values, when it has any.
    bytes: Vec<u8>,
}

impl Default for JsonLineParser {
    fn default() -> JsonLineParser {
        JsonLineParser::new()
    }
}

impl JsonLineParser {
    /// A parser with no schema yet: the first line's keys make one.
    pub fn new() -> JsonLineParser {
        JsonLineParser {
            fields: JsonFields::new(Arc::new(Schema::standard())),
            bytes: Vec::new(),
        }
    }

    /// The schema of the last line parsed.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.fields.schema
    }

    /// Parses one line (without its line break). Borrows `line` unless a
    /// value has JSON escapes.
    ///
    /// # Errors
    ///
    /// When the line is not a JSON object, a value is not a string or `null`,
    /// or the keys do not make a schema (see [`JsonLineError`]).
    pub fn parse<'a>(&'a mut self, line: &'a [u8]) -> Result<LogLine<'a>, JsonLineError> {
        self.bytes.clear();
        self.fields.split(line, &mut self.bytes)?;
        let bytes = if self.bytes.is_empty() {
            line
        } else {
            self.bytes.splice(0..0, line.iter().copied());
            &self.bytes
        };
        Ok(self.fields.line(bytes, line.len()))
    }
}

/// The reusable state of JSON splitting: the schema of the last line, the
/// spans of its fields, and scratch space for a new schema's names.
#[derive(Debug)]
pub(crate) struct JsonFields {
    schema: Arc<Schema>,
    /// Whether `schema` came from a JSON line (the initial one did not).
    from_json: bool,
    spans: Vec<u32>,
    names: Vec<String>,
}

impl JsonFields {
    /// Fields whose schema is `initial` until a JSON line makes one (it is
    /// never compared with the keys; sharing it saves building one).
    pub(crate) fn new(initial: Arc<Schema>) -> JsonFields {
        JsonFields {
            schema: initial,
            from_json: false,
            spans: Vec::new(),
            names: Vec::new(),
        }
    }

    pub(crate) fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    pub(crate) fn spans(&self) -> &[u32] {
        &self.spans
    }

    /// The view of the last split line: `bytes` is the line, followed by
    /// what [`split`](JsonFields::split) unescaped.
    pub(crate) fn line<'a>(&'a self, bytes: &'a [u8], len: usize) -> LogLine<'a> {
        LogLine::from_parts(bytes, len, &self.spans, &self.schema)
    }

    /// Splits a JSON line into field spans, replacing the schema when the
    /// keys differ from the last line's. A span indexes `line`, or, past its
    /// end, what this appends to `unescaped`.
    pub(crate) fn split(
        &mut self,
        line: &[u8],
        unescaped: &mut Vec<u8>,
    ) -> Result<(), JsonLineError> {
        self.spans.clear();
        self.names.clear();
        let unescaped_start = unescaped.len();
        // JSON text is UTF-8: one check of the whole line is cheaper than
        // serde_json's check of every string in it.
        let text = std::str::from_utf8(line).map_err(|e| JsonLineError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let mut object = Object {
            line,
            unescaped,
            unescaped_start,
            schema: self.from_json.then_some(&*self.schema),
            spans: &mut self.spans,
            names: &mut self.names,
            keys: 0,
            not_a_string: None,
        };
        let parsed = (&mut deserializer)
            .deserialize_map(&mut object)
            .and_then(|()| deserializer.end());
        if let Some(error) = object.not_a_string.take() {
            return Err(error);
        }
        parsed.map_err(|e| JsonLineError::Syntax(e.to_string()))?;
        let keys = object.keys;
        let same_keys = self.from_json && self.names.is_empty() && keys == self.schema.len();
        if !same_keys {
            if self.names.is_empty() {
                // The keys began like the schema's, then ended early.
                let columns = &self.schema.columns()[..keys.min(self.schema.len())];
                self.names
                    .extend(columns.iter().map(|c| c.name().to_owned()));
            }
            let schema = Schema::from_names(self.names.iter().map(String::as_str))
                .map_err(JsonLineError::Keys)?;
            self.schema = Arc::new(schema);
            self.from_json = true;
        }
        Ok(())
    }
}

/// Visits the top-level object, recording a span per value.
struct Object<'s> {
    line: &'s [u8],
    unescaped: &'s mut Vec<u8>,
    /// Where this line's unescaped values begin in `unescaped`.
    unescaped_start: usize,
    /// The schema the keys are compared with, while they match it.
    schema: Option<&'s Schema>,
    spans: &'s mut Vec<u32>,
    /// Every key, once one differs from the schema (else empty).
    names: &'s mut Vec<String>,
    keys: usize,
    /// Set when a value is not a string; the parse is then stopped.
    not_a_string: Option<JsonLineError>,
}

impl Object<'_> {
    fn key(&mut self, key: &str) {
        let i = self.keys;
        self.keys += 1;
        if let Some(schema) = self.schema {
            if schema.columns().get(i).is_some_and(|c| c.name() == key) {
                return;
            }
            // The first key that differs: from here on, collect them all.
            let before = &schema.columns()[..i];
            self.names
                .extend(before.iter().map(|c| c.name().to_owned()));
            self.schema = None;
        }
        self.names.push(key.to_owned());
    }

    /// Stops the parse at the last key's value, which is `found`.
    fn not_a_string<E: de::Error>(&mut self, found: &'static str) -> E {
        let i = self.keys - 1;
        let key = match self.schema {
            Some(schema) => schema.columns()[i].name(),
            None => &self.names[i],
        };
        self.not_a_string = Some(JsonLineError::NotAString {
            key: key.to_owned(),
            found,
        });
        E::custom(found)
    }

    fn push_span(&mut self, start: usize, end: usize) {
        self.spans.extend([start as u32, end as u32]);
    }

    /// A span of `line` for a string serde_json borrowed from it.
    fn borrowed(&mut self, text: &str) {
        let start = text.as_ptr() as usize - self.line.as_ptr() as usize;
        debug_assert!(start + text.len() <= self.line.len());
        self.push_span(start, start + text.len());
    }

    /// A span past the line's end, for text written to `unescaped`.
    fn owned(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let (line_len, first) = (self.line.len(), self.unescaped_start);
        let start = line_len + self.unescaped.len() - first;
        write(self.unescaped);
        let end = line_len + self.unescaped.len() - first;
        self.push_span(start, end);
    }
}

impl<'de> Visitor<'de> for &mut Object<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of CloudFront log fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(KeySeed(&mut *self))?.is_some() {
            map.next_value_seed(ValueSeed(&mut *self))?;
        }
        Ok(())
    }
}

/// Reads a key into the object's schema check.
struct KeySeed<'o, 's>(&'o mut Object<'s>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        self.0.key(key);
        Ok(())
    }
}

/// Reads a value into a span: borrowed when serde_json could borrow it,
/// else unescaped after the line. Numbers and booleans keep their JSON
/// text, `null` reads as an absent value.
struct ValueSeed<'o, 's>(&'o mut Object<'s>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<(), E> {
        self.0.borrowed(text);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.owned(|out| out.extend_from_slice(text.as_bytes()));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // An empty field, which reads as "no value" like `-`.
        self.0.push_span(0, 0);
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.0.not_a_string("a boolean"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.0.not_a_string("a number"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.0.not_a_string("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.0.not_a_string("a number"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.0.not_a_string("an object"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.0.not_a_string("an array"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Field;

    #[test]
    fn values_borrow_from_the_line_unless_escaped() {
        let mut parser = JsonLineParser::new();
        let line = br#"{"cs-uri-stem":"/a\"b","sc-status":"200","x-edge-location":"SOF50-P2"}"#;
        let parsed = parser.parse(line).unwrap();
        assert_eq!(parsed.raw(Field::UriStem), Some(&b"/a\"b"[..]));
        assert_eq!(parsed.raw(Field::EdgeLocation), Some(&b"SOF50-P2"[..]));
        assert_eq!(parsed.as_bytes(), line);

        let plain = br#"{"cs-uri-stem":"/ab","sc-status":"200","x-edge-location":"SOF50-P2"}"#;
        let parsed = parser.parse(plain).unwrap();
        let stem = parsed.raw(Field::UriStem).unwrap();
        assert!(plain.as_ptr_range().contains(&stem.as_ptr()));
    }

    #[test]
    fn the_schema_follows_the_keys() {
        let mut parser = JsonLineParser::new();
        parser
            .parse(br#"{"sc-status":"200","asn":"16509"}"#)
            .unwrap();
        let first = Arc::clone(parser.schema());
        parser
            .parse(br#"{"sc-status":"304","asn":"3320"}"#)
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, parser.schema()),
            "same keys, same schema"
        );

        for (line, names) in [
            (
                &br#"{"asn":"1","sc-status":"200"}"#[..],
                &["asn", "sc-status"][..],
            ),
            (br#"{"asn":"1"}"#, &["asn"]),
            (br#"{"asn":"1","x-new":"y"}"#, &["asn", "x-new"]),
        ] {
            let parsed = parser.parse(line).unwrap();
            let got: Vec<&str> = parsed.schema().columns().iter().map(|c| c.name()).collect();
            assert_eq!(got, names);
            assert_eq!(parsed.asn().unwrap(), Some(1));
        }
    }

    #[test]
    fn null_is_a_missing_value() {
        let mut parser = JsonLineParser::new();
        let line = parser
            .parse(br#"{"sc-status":"200","origin-fbl":null,"x-flag":"true"}"#)
            .unwrap();
        assert_eq!(line.status().unwrap(), Some(200));
        assert_eq!(line.origin_fbl().unwrap(), None);
        assert_eq!(line.column(2), Some(&b"true"[..]));
    }

    #[test]
    fn a_value_that_is_not_a_string_is_named_with_its_key() {
        let mut parser = JsonLineParser::new();
        // The keys match the schema the first line made, then differ: the
        // key is found both ways.
        parser.parse(br#"{"sc-status":"200","asn":"1"}"#).unwrap();
        for (line, key, found) in [
            (&br#"{"sc-status":200}"#[..], "sc-status", "a number"),
            (br#"{"sc-status":"200","asn":-5}"#, "asn", "a number"),
            (br#"{"time-taken":0.25}"#, "time-taken", "a number"),
            (
                br#"{"sc-status":"200","x-flag":true}"#,
                "x-flag",
                "a boolean",
            ),
            (br#"{"date":"2024-11-15","a":{"b":"c"}}"#, "a", "an object"),
            (
                br#"{"x-a":"1","sc-status":["200"]}"#,
                "sc-status",
                "an array",
            ),
            (br#"{"a":1}"#, "a", "a number"),
        ] {
            let err = parser.parse(line).unwrap_err();
            assert_eq!(
                err,
                JsonLineError::NotAString {
                    key: key.into(),
                    found
                },
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        let err = parser.parse(br#"{"sc-status":200}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"the value of "sc-status" is a number; CloudFront writes every value as a string"#
        );
    }

    #[test]
    fn keys_must_name_a_cloudfront_field_once_each() {
        let mut parser = JsonLineParser::new();
        for (line, error) in [
            (
                &br#"{"hello":"world"}"#[..],
                SchemaError::NoKnownField {
                    names: vec!["hello".into()],
                },
            ),
            (
                br#"{"level":"info","msg":"started"}"#,
                SchemaError::NoKnownField {
                    names: vec!["level".into(), "msg".into()],
                },
            ),
            (
                br#"{"sc-status":"200","sc-status":"404"}"#,
                SchemaError::Duplicate {
                    name: "sc-status".into(),
                },
            ),
            (br#"{}"#, SchemaError::NoNames),
        ] {
            assert_eq!(parser.parse(line).unwrap_err(), JsonLineError::Keys(error));
        }
        // Unknown keys beside a known one are kept, as unknown columns.
        let line = parser.parse(br#"{"sc-status":"200","x-new":"y"}"#).unwrap();
        assert_eq!(line.status().unwrap(), Some(200));
        assert_eq!(line.schema().columns()[1].json_key(), "x_new");
    }

    #[test]
    fn what_is_not_an_object_of_values_is_an_error() {
        let mut parser = JsonLineParser::new();
        for (line, message) in [
            (&b"[1,2]"[..], "invalid type: sequence"),
            (b"{\"a\":\"b\"", "EOF while parsing"),
            (b"{\"sc-status\":\"200\"} x", "trailing characters"),
            (b"\"sc-status\"", "invalid type: string"),
            (b"\xff", "the line is not UTF-8"),
        ] {
            let err = parser.parse(line).unwrap_err().to_string();
            assert!(err.contains(message), "{err:?} for {line:?}");
        }
        // A failed line leaves the parser ready for the next one.
        assert!(parser.parse(br#"{"sc-status":"200"}"#).is_ok());
    }
}
