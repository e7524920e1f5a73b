//! The values of one entry that an [`Aggregate`](super::Aggregate) counts,
//! gathered while the typed layer hands them on, so that an entry is
//! counted whole or not at all.

use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use cflog_core::escape::QueryParams;
use cflog_core::typed::{Encoder, Key};
use cflog_core::{Field, FieldError, ResultType, Value};
use time::OffsetDateTime;

/// The text values kept, by place in [`Gathered::texts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Text {
    Path,
    Referer,
    UserAgent,
    EdgeLocation,
    ContentType,
    Method,
    ResultType,
    DetailedResultType,
    Protocol,
    HttpVersion,
    TlsVersion,
    Country,
    Query,
    /// The enrichment's browser name (`ua_name`).
    Browser,
    /// The enrichment's operating system (`ua_os`).
    OperatingSystem,
    /// The enrichment's device class (`ua_device`).
    Device,
}

const TEXTS: usize = Text::Device as usize + 1;

/// The latencies kept, in the order of [`super::series::LATENCIES`].
const LATENCY_FIELDS: [Field; 4] = [
    Field::TimeTaken,
    Field::TimeToFirstByte,
    Field::OriginFbl,
    Field::OriginLbl,
];

/// Key names of the enrichment's columns, read by name: they are not
/// CloudFront fields, and light up whenever a layout has them.
const BROWSER_KEYS: [&str; 2] = ["ua_name", "ua_browser"];
const OS_KEYS: [&str; 1] = ["ua_os"];
const DEVICE_KEYS: [&str; 1] = ["ua_device"];
const BOT_KEYS: [&str; 1] = ["is_bot"];
/// Country and AS number from a geo database, where CloudFront's own
/// `c_country` and `asn` are missing.
const GEO_COUNTRY_KEYS: [&str; 2] = ["geo_country", "country"];
const GEO_ASN_KEYS: [&str; 2] = ["geo_asn", "as_number"];

/// What an entry's result type says of the cache and of errors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub hit: bool,
    pub miss: bool,
    pub error: bool,
}

impl Outcome {
    pub fn of(result: ResultType<'_>) -> Outcome {
        Outcome {
            hit: result.is_hit(),
            miss: result.is_miss(),
            error: result.is_error(),
        }
    }
}

/// One entry's values, as far as an aggregate counts them.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    pub sc_bytes: Option<u64>,
    pub status: Option<u64>,
    pub content_len: Option<u64>,
    pub asn: Option<u64>,
    /// Whether the AS number came from a geo database.
    pub geo_asn: bool,
    /// Whether the country came from a geo database.
    pub geo_country: bool,
    pub is_bot: Option<bool>,
    pub time: Option<OffsetDateTime>,
    pub client_ip: Option<IpAddr>,
    /// What the result type says, when it came as a word (already UTF-8).
    pub result: Option<Outcome>,
    pub latencies: [Option<Duration>; 4],
    texts: [Option<Spot>; TEXTS],
    /// The address of the line's first byte and its length, to tell the
    /// values that are slices of it.
    line: (usize, usize),
    /// The text values that are not slices of the line (a JSON line's
    /// unescaped values, a transform's), back to back.
    buffer: Vec<u8>,
}

/// Where a text value of an entry is.
#[derive(Clone, Debug)]
enum Spot {
    /// In the line, at this range: most values, found without a copy.
    Line(Range<usize>),
    /// In [`Gathered::buffer`].
    Copy(Range<usize>),
}

impl Gathered {
    /// Whether an aggregate reads the values of `key` (what the
    /// [`Encoder`] methods below keep); the others are still checked by
    /// their kind.
    pub fn wanted(key: Key<'_>) -> bool {
        match key.field {
            Some(field) => matches!(
                field,
                Field::UriStem
                    | Field::Referer
                    | Field::UserAgent
                    | Field::EdgeLocation
                    | Field::ContentType
                    | Field::Method
                    | Field::EdgeResultType
                    | Field::EdgeDetailedResultType
                    | Field::Protocol
                    | Field::ProtocolVersion
                    | Field::SslProtocol
                    | Field::Country
                    | Field::Asn
                    | Field::ScBytes
                    | Field::Status
                    | Field::ContentLen
                    | Field::TimeTaken
                    | Field::TimeToFirstByte
                    | Field::OriginFbl
                    | Field::OriginLbl
                    | Field::Timestamp
                    | Field::ClientIp
            ),
            None => {
                key.name == "query_params"
                    || [
                        &BROWSER_KEYS[..],
                        &OS_KEYS,
                        &DEVICE_KEYS,
                        &BOT_KEYS,
                        &GEO_COUNTRY_KEYS,
                        &GEO_ASN_KEYS,
                    ]
                    .iter()
                    .any(|names| names.contains(&key.name))
            }
        }
    }

    /// Whether a summary ([`Scope::Summary`](super::Scope::Summary))
    /// reads the values of `key`: fewer than [`wanted`](Self::wanted)
    /// (not `sc-content-len`, say: the downloads cut short are the
    /// page's).
    pub fn wanted_for_summary(key: Key<'_>) -> bool {
        match key.field {
            Some(field) => matches!(
                field,
                Field::UriStem
                    | Field::Referer
                    | Field::UserAgent
                    | Field::EdgeLocation
                    | Field::EdgeResultType
                    | Field::Country
                    | Field::ScBytes
                    | Field::Status
                    | Field::TimeTaken
                    | Field::Timestamp
                    | Field::ClientIp
            ),
            None => [
                &BROWSER_KEYS[..],
                &DEVICE_KEYS,
                &BOT_KEYS,
                &GEO_COUNTRY_KEYS,
            ]
            .iter()
            .any(|names| names.contains(&key.name)),
        }
    }

    /// Forgets the last entry, for one of `line`.
    pub fn clear(&mut self, line: &[u8]) {
        let buffer = std::mem::take(&mut self.buffer);
        *self = Gathered {
            buffer,
            line: (line.as_ptr() as usize, line.len()),
            ..Gathered::default()
        };
        self.buffer.clear();
    }

    /// The text of `place`, as logged (still escaped); `line` is the one
    /// the entry was [`clear`](Self::clear)ed for.
    #[inline]
    pub fn text<'a>(&'a self, line: &'a [u8], place: Text) -> Option<&'a [u8]> {
        match self.texts[place as usize].clone()? {
            Spot::Line(range) => line.get(range),
            Spot::Copy(range) => self.buffer.get(range),
        }
    }

    /// Keeps where `bytes` are: in the line when they are a slice of it
    /// (told by their address: no copy), or else in a copy.
    fn keep(&mut self, place: Text, bytes: &[u8]) {
        let (line, len) = self.line;
        let offset = (bytes.as_ptr() as usize).wrapping_sub(line);
        let spot = match offset.checked_add(bytes.len()) {
            Some(end) if end <= len => Spot::Line(offset..end),
            _ => {
                let start = self.buffer.len();
                self.buffer.extend_from_slice(bytes);
                Spot::Copy(start..self.buffer.len())
            }
        };
        self.texts[place as usize] = Some(spot);
    }

    /// Where a text or word of `key` goes, if anywhere.
    #[inline(always)]
    fn place(key: Key<'_>) -> Option<Text> {
        Some(match key.field {
            Some(Field::UriStem) => Text::Path,
            Some(Field::Referer) => Text::Referer,
            Some(Field::UserAgent) => Text::UserAgent,
            Some(Field::EdgeLocation) => Text::EdgeLocation,
            Some(Field::ContentType) => Text::ContentType,
            Some(Field::Method) => Text::Method,
            Some(Field::EdgeResultType) => Text::ResultType,
            Some(Field::EdgeDetailedResultType) => Text::DetailedResultType,
            Some(Field::Protocol) => Text::Protocol,
            Some(Field::ProtocolVersion) => Text::HttpVersion,
            Some(Field::SslProtocol) => Text::TlsVersion,
            Some(Field::Country) => Text::Country,
            Some(_) => return None,
            None if BROWSER_KEYS.contains(&key.name) => Text::Browser,
            None if OS_KEYS.contains(&key.name) => Text::OperatingSystem,
            None if DEVICE_KEYS.contains(&key.name) => Text::Device,
            None if GEO_COUNTRY_KEYS.contains(&key.name) => Text::Country,
            None => return None,
        })
    }

    fn keep_text(&mut self, key: Key<'_>, bytes: &[u8]) {
        if key.field.is_none() && BOT_KEYS.contains(&key.name) {
            self.is_bot = match bytes {
                b"true" | b"1" => Some(true),
                b"false" | b"0" => Some(false),
                _ => None,
            };
            return;
        }
        if let Some(place) = Self::place(key) {
            // CloudFront's own country wins over a database's.
            if place == Text::Country {
                // A derived `c_country` is a database's.
                let geo = key.field.is_none() || key.derived;
                if geo && self.texts[place as usize].is_some() && !self.geo_country {
                    return;
                }
                self.geo_country = geo;
            }
            self.keep(place, bytes);
        }
    }
}

impl Encoder for Gathered {
    type Error = FieldError;

    fn null(&mut self, _key: Key<'_>) -> Result<(), FieldError> {
        Ok(())
    }

    fn text(&mut self, key: Key<'_>, value: Value<'_>) -> Result<(), FieldError> {
        self.keep_text(key, value.raw());
        Ok(())
    }

    fn word(&mut self, key: Key<'_>, word: &str) -> Result<(), FieldError> {
        if key.field == Some(Field::EdgeResultType) {
            self.result = Some(Outcome::of(ResultType::parse(word)));
        }
        self.keep_text(key, word.as_bytes());
        Ok(())
    }

    fn unsigned(&mut self, key: Key<'_>, n: u64) -> Result<(), FieldError> {
        match key.field {
            Some(Field::ScBytes) => self.sc_bytes = Some(n),
            Some(Field::Status) => self.status = Some(n),
            Some(Field::ContentLen) => self.content_len = Some(n),
            Some(Field::Asn) => {
                self.asn = Some(n);
                self.geo_asn = false;
            }
            None if GEO_ASN_KEYS.contains(&key.name) && self.asn.is_none() => {
                self.asn = Some(n);
                self.geo_asn = true;
            }
            None if BOT_KEYS.contains(&key.name) => self.is_bot = Some(n != 0),
            _ => {}
        }
        Ok(())
    }

    fn signed(&mut self, _key: Key<'_>, _n: i64) -> Result<(), FieldError> {
        Ok(())
    }

    fn boolean(&mut self, key: Key<'_>, value: bool) -> Result<(), FieldError> {
        if key.field.is_none() && BOT_KEYS.contains(&key.name) {
            self.is_bot = Some(value);
        }
        Ok(())
    }

    fn seconds(&mut self, key: Key<'_>, duration: Duration) -> Result<(), FieldError> {
        if let Some(which) = LATENCY_FIELDS.iter().position(|f| key.field == Some(*f)) {
            self.latencies[which] = Some(duration);
        }
        Ok(())
    }

    fn timestamp(
        &mut self,
        _key: Key<'_>,
        time: OffsetDateTime,
        _millis: bool,
    ) -> Result<(), FieldError> {
        self.time = Some(time);
        Ok(())
    }

    fn ip(&mut self, key: Key<'_>, ip: IpAddr) -> Result<(), FieldError> {
        if key.field == Some(Field::ClientIp) {
            self.client_ip = Some(ip);
        }
        Ok(())
    }

    fn query_params(&mut self, _key: Key<'_>, params: &QueryParams<'_>) -> Result<(), FieldError> {
        if has_params(params) {
            self.keep(Text::Query, params.raw());
        }
        Ok(())
    }
}

/// Whether `params` has a parameter: [`QueryParams::is_empty`]'s answer,
/// without decoding the first parameter when the query has no escape
/// (a query is the parameters between its `&`s, the empty ones left
/// out, once decoded: a `%26` may be one).
#[inline]
fn has_params(params: &QueryParams<'_>) -> bool {
    let raw = params.raw();
    match raw.contains(&b'%') {
        false => raw.split(|b| *b == b'&').any(|pair| !pair.is_empty()),
        true => !params.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value that is a slice of the line is kept where it is; another
    /// (a transform's, a JSON line's unescaped one) is copied.
    #[test]
    fn values_of_the_line_are_found_in_it_and_the_others_copied() {
        let line = b"GET /a/b https://example.com/".to_vec();
        let elsewhere = b"/a/b".to_vec();
        let mut entry = Gathered::default();
        entry.clear(&line);
        entry.keep(Text::Path, &line[4..8]);
        entry.keep(Text::Referer, &line[9..]);
        entry.keep(Text::Method, &elsewhere);
        entry.keep(Text::Query, &line[..0]);
        assert!(matches!(
            entry.texts[Text::Path as usize],
            Some(Spot::Line(_))
        ));
        assert!(matches!(
            entry.texts[Text::Method as usize],
            Some(Spot::Copy(_))
        ));
        assert_eq!(entry.text(&line, Text::Path), Some(&b"/a/b"[..]));
        assert_eq!(
            entry.text(&line, Text::Referer),
            Some(&b"https://example.com/"[..])
        );
        assert_eq!(entry.text(&line, Text::Method), Some(&b"/a/b"[..]));
        assert_eq!(entry.text(&line, Text::Query), Some(&b""[..]));
        assert_eq!(entry.text(&line, Text::UserAgent), None);
        entry.clear(&line);
        assert_eq!(entry.text(&line, Text::Path), None);
    }

    #[test]
    fn has_params_answers_as_is_empty_does() {
        for query in [
            "", "&", "&&", "a", "a=1&b", "=", "&=&", "%26", "%26%26", "&%26", "%", "a%3D", "%41&",
            "%2", "+", "&&x&&",
        ] {
            let params = QueryParams::new(query.as_bytes());
            assert_eq!(has_params(&params), !params.is_empty(), "{query:?}");
        }
    }
}
