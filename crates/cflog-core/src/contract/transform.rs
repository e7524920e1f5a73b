//! Transforms: a field's value rewritten once per entry, before any output
//! sees it.

use std::fmt;

use crate::field::{Field, ValueKind};

/// Rewrites the logged values of some fields, once per entry, before any
/// output reads them.
///
/// Register one with [`Contract::transform`](super::Contract::transform).
/// The rewritten value takes the place of the logged one in the line every
/// writer of the contract reads (the JSON writer's fast path, the typed
/// values of CSV, Parquet and the tally, the streams): no output can see
/// the value before it. It is then read by its field's kind, as a logged
/// value is, and it may be longer or shorter than the value it replaces.
///
/// Transforms run after every [`Derive`](super::Derive), which see the
/// line as logged (a country looked up from the whole client address
/// before the address is truncated), and in the order they were
/// registered.
///
/// The rewritten value is read by its field's kind unless the transform
/// declares another with [`output_kind`](Transform::output_kind): a
/// pseudonym in place of `c-ip` is text, not an address, and every output
/// then writes that field as text (a JSON string, a Parquet `utf8` column,
/// a Glue `string`).
///
/// A real-time line has no `cs-uri-query` column: its query is the part of
/// `cs-uri-stem` after `?`, so a transform of the query lists
/// [`Field::UriStem`] too.
///
/// ```
/// use cflog_core::contract::{Contract, Transform};
/// use cflog_core::json::JsonWriter;
/// use cflog_core::{Field, LogLine, Schema};
///
/// /// Keeps the first two bytes of an IPv4 address.
/// #[derive(Debug)]
/// struct Truncate;
///
/// impl Transform for Truncate {
///     fn fields(&self) -> &[Field] {
///         &[Field::ClientIp]
///     }
///     fn rewrite(&self, _: Field, raw: &[u8], out: &mut Vec<u8>) {
///         let mut parts = raw.split(|&b| b == b'.');
///         match (parts.next(), parts.next()) {
///             (Some(a), Some(b)) => {
///                 out.extend_from_slice(a);
///                 out.push(b'.');
///                 out.extend_from_slice(b);
///                 out.extend_from_slice(b".0.0");
///             }
///             _ => out.extend_from_slice(raw),
///         }
///     }
/// }
///
/// let contract = Contract::standard().transform(Truncate);
/// let schema = Schema::from_fields_header(b"#Fields: c-ip sc-status")?;
/// let mut spans = Vec::new();
/// let line = LogLine::parse(b"192.0.2.100\t200", &schema, &mut spans)?;
/// let mut out = Vec::new();
/// JsonWriter::new(contract.select_all()).write(&line, &mut out)?;
/// assert_eq!(out, br#"{"c_ip":"192.0.0.0","sc_status":200}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Transform: Send + Sync + fmt::Debug {
    /// The fields whose values it rewrites.
    fn fields(&self) -> &[Field];

    /// Appends to `out` the new value of `field`, as it would be logged
    /// (escaped as CloudFront escapes, `-` for none), given `raw`, its value
    /// as logged (`-` included). Appending `raw` keeps the value. The
    /// bytes appended are the whole value, whatever they hold.
    fn rewrite(&self, field: Field, raw: &[u8], out: &mut Vec<u8>);

    /// The kind of the values it writes for `field`, when they are not of
    /// the field's own kind ([`Field::kind`]); `None`, the default, keeps
    /// the field's kind. Only [`ValueKind::Text`] may replace another kind
    /// (text reads any value), and not that of a time field, which is the
    /// request time: [`Contract::transform`](super::Contract::transform)
    /// ignores any other.
    ///
    /// ```
    /// use cflog_core::contract::{Contract, Transform};
    /// use cflog_core::{Field, ValueKind};
    ///
    /// /// Writes `x` in place of every address.
    /// #[derive(Debug)]
    /// struct Hide;
    ///
    /// impl Transform for Hide {
    ///     fn fields(&self) -> &[Field] {
    ///         &[Field::ClientIp]
    ///     }
    ///     fn rewrite(&self, _: Field, _: &[u8], out: &mut Vec<u8>) {
    ///         out.push(b'x');
    ///     }
    ///     fn output_kind(&self, _: Field) -> Option<ValueKind> {
    ///         Some(ValueKind::Text)
    ///     }
    /// }
    ///
    /// let contract = Contract::standard().transform(Hide);
    /// assert_eq!(contract.field_kind(Field::ClientIp), ValueKind::Text);
    /// assert_eq!(Contract::standard().field_kind(Field::ClientIp), ValueKind::Ip);
    /// ```
    fn output_kind(&self, field: Field) -> Option<ValueKind> {
        let _ = field;
        None
    }
}
