//! A derived key and a transform for tests only (feature `testing`): other
//! crates' tests run them through their outputs, to show that every output
//! writes the keys a contract declares, and reads a field only after its
//! transforms.

use super::{Contract, Derive, DerivedKey, DerivedValues, KeyKind, Transform};
use crate::field::Field;
use crate::kind::FieldError;
use crate::line::LogLine;

/// The standard contract with [`TestKeys`] and [`MaskClientIp`].
///
/// ```
/// use cflog_core::contract::testing;
/// use cflog_core::json::JsonWriter;
/// use cflog_core::{LogLine, Schema};
///
/// let schema = Schema::from_fields_header(b"#Fields: c-ip cs-method cs-uri-query")?;
/// let mut spans = Vec::new();
/// let line = LogLine::parse(b"192.0.2.100\tGET\ta=1", &schema, &mut spans)?;
/// let mut out = Vec::new();
/// JsonWriter::new(testing::contract().select_all()).write(&line, &mut out)?;
/// assert_eq!(
///     String::from_utf8(out)?,
///     r#"{"c_ip":"10.0.0.0","cs_method":"GET","cs_uri_query":"a=1","query_params":{"a":"1"},"test_ip_bytes":11,"test_has_query":true,"test_method":"get"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn contract() -> Contract {
    Contract::standard()
        .derive(TestKeys)
        .expect("the test keys are not keys of the standard contract")
        .transform(MaskClientIp)
}

/// Three keys, one of each kind a derive may set here:
/// - `test_ip_bytes` (integer): the length of `c-ip` as logged, which only
///   a derive sees (the outputs see [`MaskClientIp`]'s value);
/// - `test_has_query` (boolean): whether `cs-uri-query` is not `-`;
/// - `test_method` (text): `cs-method` in lower case.
#[derive(Debug)]
pub struct TestKeys;

const TEST_KEYS: [DerivedKey; 3] = [
    DerivedKey {
        name: "test_ip_bytes",
        kind: KeyKind::Integer,
    },
    DerivedKey {
        name: "test_has_query",
        kind: KeyKind::Boolean,
    },
    DerivedKey {
        name: "test_method",
        kind: KeyKind::Text,
    },
];

impl Derive for TestKeys {
    fn keys(&self) -> &[DerivedKey] {
        &TEST_KEYS
    }

    fn derive(&self, line: &LogLine<'_>, values: &mut DerivedValues) -> Result<(), FieldError> {
        if let Some(ip) = line.get(Field::ClientIp) {
            values.set_integer(0, ip.raw().len() as u64);
        }
        if line.schema().contains(Field::UriQuery) || line.uri_query().is_some() {
            values.set_boolean(1, line.uri_query().is_some());
        }
        if let Some(method) = line.get(Field::Method) {
            values.set_text(2, &method.decoded_str().to_lowercase());
        }
        Ok(())
    }
}

/// Rewrites `c-ip` to `10.0.0.0` (IPv4) or `fd00::` (IPv6), and
/// `x-forwarded-for` to `masked`: values of another length than the logged
/// ones.
#[derive(Debug)]
pub struct MaskClientIp;

impl Transform for MaskClientIp {
    fn fields(&self) -> &[Field] {
        &[Field::ClientIp, Field::ForwardedFor]
    }

    fn rewrite(&self, field: Field, raw: &[u8], out: &mut Vec<u8>) {
        let masked: &[u8] = match field {
            _ if raw == b"-" => raw,
            Field::ClientIp if raw.contains(&b':') => b"fd00::",
            Field::ClientIp => b"10.0.0.0",
            _ => b"masked",
        };
        out.extend_from_slice(masked);
    }
}
