//! The values of the open enums (result types, protocols…) and of
//! `x-forwarded-for`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )* }
    ) => {
        $(#[$meta])*
        ///
        /// The set is open: CloudFront adds values over time, and a value this
        /// version does not know is kept as `Other`, never rejected.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name<'a> {
            $( $(#[$vmeta])* #[doc = concat!("`", $text, "`")] $variant, )*
            /// A value this version of cflog does not know.
            Other(&'a str),
        }

        impl<'a> $name<'a> {
            /// Reads a value as logged.
            pub fn parse(text: &'a str) -> Self {
                match text {
                    $( $text => Self::$variant, )*
                    other => Self::Other(other),
                }
            }

            /// Reads a value as logged, from bytes: known values need no
            /// UTF-8 check.
            ///
            /// # Errors
            ///
            /// For an unknown value that is not UTF-8.
            pub fn parse_bytes(raw: &'a [u8]) -> Result<Self, crate::FieldProblem> {
                Ok(match raw {
                    $( x if x == $text.as_bytes() => Self::$variant, )*
                    other => Self::Other(crate::kind::word(other)?),
                })
            }

            /// The value as logged.
            pub fn as_str(&self) -> &'a str {
                match *self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }
        }

        impl fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

open_enum! {
    /// How CloudFront classified a request, in `x-edge-result-type`,
    /// `x-edge-response-result-type` and `x-edge-detailed-result-type`.
    ResultType {
        Hit = "Hit",
        RefreshHit = "RefreshHit",
        Miss = "Miss",
        LimitExceeded = "LimitExceeded",
        CapacityExceeded = "CapacityExceeded",
        Error = "Error",
        Redirect = "Redirect",
        LambdaExecutionError = "LambdaExecutionError",
        LambdaGeneratedResponse = "LambdaGeneratedResponse",
        LambdaValidationError = "LambdaValidationError",
        FunctionGeneratedResponse = "FunctionGeneratedResponse",
        OriginShieldHit = "OriginShieldHit",
        MissGeneratedResponse = "MissGeneratedResponse",
        AbortedOrigin = "AbortedOrigin",
        ClientCommError = "ClientCommError",
        ClientGeoBlocked = "ClientGeoBlocked",
        ClientHungUpRequest = "ClientHungUpRequest",
        InvalidRequest = "InvalidRequest",
        InvalidRequestBlocked = "InvalidRequestBlocked",
        InvalidRequestCertificate = "InvalidRequestCertificate",
        InvalidRequestHeader = "InvalidRequestHeader",
        InvalidRequestMethod = "InvalidRequestMethod",
        OriginCommError = "OriginCommError",
        OriginConnectError = "OriginConnectError",
        OriginContentRangeLengthError = "OriginContentRangeLengthError",
        OriginDnsError = "OriginDnsError",
        OriginError = "OriginError",
        OriginHeaderTooBigError = "OriginHeaderTooBigError",
        OriginInvalidResponseError = "OriginInvalidResponseError",
        OriginReadError = "OriginReadError",
        OriginWriteError = "OriginWriteError",
        OriginZeroSizeObjectError = "OriginZeroSizeObjectError",
        SlowReaderOriginError = "SlowReaderOriginError",
    }
}

impl ResultType<'_> {
    /// Served from the cache: `Hit`, `RefreshHit` or `OriginShieldHit`.
    pub fn is_hit(&self) -> bool {
        matches!(self, Self::Hit | Self::RefreshHit | Self::OriginShieldHit)
    }

    /// Not served from the cache: `Miss` or `MissGeneratedResponse`.
    pub fn is_miss(&self) -> bool {
        matches!(self, Self::Miss | Self::MissGeneratedResponse)
    }

    /// An error classification: `Error`, `LimitExceeded`,
    /// `CapacityExceeded`, a Lambda error, or any detailed `…Error` type.
    pub fn is_error(&self) -> bool {
        match self {
            Self::Error | Self::LimitExceeded | Self::CapacityExceeded => true,
            Self::AbortedOrigin | Self::ClientGeoBlocked | Self::ClientHungUpRequest => true,
            other => {
                let text = other.as_str();
                text.ends_with("Error") || text.starts_with("InvalidRequest")
            }
        }
    }
}

open_enum! {
    /// The viewer's protocol, `cs-protocol`.
    Protocol {
        Http = "http",
        Https = "https",
        Ws = "ws",
        Wss = "wss",
        Grpcs = "grpcs",
    }
}

open_enum! {
    /// The HTTP version of the request, `cs-protocol-version`.
    HttpVersion {
        Http09 = "HTTP/0.9",
        Http10 = "HTTP/1.0",
        Http11 = "HTTP/1.1",
        Http2 = "HTTP/2.0",
        Http3 = "HTTP/3.0",
    }
}

open_enum! {
    /// The negotiated TLS version, `ssl-protocol`.
    SslProtocol {
        Ssl3 = "SSLv3",
        Tls1 = "TLSv1",
        Tls11 = "TLSv1.1",
        Tls12 = "TLSv1.2",
        Tls13 = "TLSv1.3",
    }
}

open_enum! {
    /// The result of field-level encryption, `fle-status`.
    FleStatus {
        Processed = "Processed",
        ForwardedByContentType = "ForwardedByContentType",
        ForwardedByQueryArgs = "ForwardedByQueryArgs",
        ForwardedDueToNoProfile = "ForwardedDueToNoProfile",
        MalformedContentTypeClientError = "MalformedContentTypeClientError",
        MalformedInputClientError = "MalformedInputClientError",
        MalformedQueryArgsClientError = "MalformedQueryArgsClientError",
        RejectedByContentType = "RejectedByContentType",
        RejectedByQueryArgs = "RejectedByQueryArgs",
        ServerError = "ServerError",
        FieldLengthLimitClientError = "FieldLengthLimitClientError",
        FieldNumberLimitClientError = "FieldNumberLimitClientError",
        RequestLengthLimitClientError = "RequestLengthLimitClientError",
    }
}

open_enum! {
    /// The viewer's IP version in real-time logs, `c-ip-version`.
    IpVersion {
        V4 = "IPv4",
        V6 = "IPv6",
    }
}

/// The entries of an `x-forwarded-for` value, from
/// [`LogLine::forwarded_for`](crate::LogLine::forwarded_for).
///
/// Real values are client-controlled and messy, so this is lenient: entries
/// are split on `,` and trimmed of spaces and of the escaped separators `%20`
/// and `\x20` that real logs contain; an entry that is not an address (such
/// as `unknown`, or IPv4 with leading zeros) is still yielded, with no
/// [`ip`](ForwardedEntry::ip).
///
/// ```
/// use cflog_core::ForwardedFor;
///
/// let entries: Vec<_> = ForwardedFor::new(b"24.62.90.247,\\x2010.89.113.224:6969,%20unknown").collect();
/// assert_eq!(entries.len(), 3);
/// assert_eq!(entries[0].ip(), Some("24.62.90.247".parse().unwrap()));
/// assert_eq!(entries[1].port(), Some(6969));
/// assert_eq!(entries[2].as_bytes(), b"unknown");
/// assert_eq!(entries[2].ip(), None);
/// ```
#[derive(Clone, Debug)]
pub struct ForwardedFor<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> ForwardedFor<'a> {
    /// Iterates over the entries of a raw `x-forwarded-for` value.
    pub fn new(raw: &'a [u8]) -> ForwardedFor<'a> {
        ForwardedFor { rest: Some(raw) }
    }
}

impl<'a> Iterator for ForwardedFor<'a> {
    type Item = ForwardedEntry<'a>;

    fn next(&mut self) -> Option<ForwardedEntry<'a>> {
        loop {
            let rest = self.rest?;
            let (entry, tail) = match rest.iter().position(|&b| b == b',') {
                Some(comma) => (&rest[..comma], Some(&rest[comma + 1..])),
                None => (rest, None),
            };
            self.rest = tail;
            let entry = trim_separators(entry);
            if !entry.is_empty() {
                return Some(ForwardedEntry { raw: entry });
            }
        }
    }
}

fn trim_separators(mut entry: &[u8]) -> &[u8] {
    const SEPARATORS: [&[u8]; 4] = [b" ", b"%20", b"\\x20", b"\t"];
    loop {
        let before = entry.len();
        for sep in SEPARATORS {
            if let Some(rest) = entry.strip_prefix(sep) {
                entry = rest;
            }
            if let Some(rest) = entry.strip_suffix(sep) {
                entry = rest;
            }
        }
        if entry.len() == before {
            return entry;
        }
    }
}

/// One entry of an `x-forwarded-for` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardedEntry<'a> {
    raw: &'a [u8],
}

impl<'a> ForwardedEntry<'a> {
    /// The entry as logged, trimmed.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The address, when the entry is one (with or without a port).
    pub fn ip(&self) -> Option<IpAddr> {
        self.parse().map(|(ip, _)| ip)
    }

    /// The port, when the entry has one (`1.2.3.4:80`, `[2001:db8::1]:80`).
    pub fn port(&self) -> Option<u16> {
        self.parse().and_then(|(_, port)| port)
    }

    fn parse(&self) -> Option<(IpAddr, Option<u16>)> {
        let text = std::str::from_utf8(self.raw).ok()?;
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Some((ip, None));
        }
        let addr = text.parse::<SocketAddr>().ok()?;
        Some((addr.ip(), Some(addr.port())))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;
    use std::time::Duration;

    use super::*;
    use crate::scan::*;

    fn std_ipv6(raw: &[u8]) -> Option<Ipv6Addr> {
        std::str::from_utf8(raw).ok()?.parse().ok()
    }

    #[test]
    fn ipv6_groups_agree_with_std() {
        for raw in [
            &b"::"[..],
            b"::1",
            b"1::",
            b"1::2",
            b"2001:db8::1",
            b"2001:0db8:0:0:0:0:0:1",
            b"1:2:3:4:5:6:7:8",
            b"1:2:3:4:5:6:7::",
            b"::2:3:4:5:6:7:8",
            b"1:2:3:4:5:6:7:8::",
            b"::1:2:3:4:5:6:7:8",
            b"1:::2",
            b":1::2",
            b"1::2::3",
            b"1:2",
            b"12345::",
            b"1:",
            b":",
            b"",
            b"FE80::aBc",
            b"1:2:3:4:5:6:7",
            b"1:2:3:4:5:6:7:8:9",
            b"::ffff:1.2.3.4",
            b"0000:0000:0000:0000:0000:0000:0000:0000",
        ] {
            if let Some(ip) = parse_ipv6_groups(raw) {
                assert_eq!(Some(ip), std_ipv6(raw), "{}", String::from_utf8_lossy(raw));
            }
            assert_eq!(
                parse_ip(raw),
                std::str::from_utf8(raw).ok().and_then(|t| t.parse().ok()),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn ipv6_groups_accept_only_what_std_accepts(raw in proptest::collection::vec(
            proptest::sample::select(b"0019afAF::::.".to_vec()), 0..42)) {
            if let Some(ip) = parse_ipv6_groups(&raw) {
                proptest::prop_assert_eq!(Some(ip), std_ipv6(&raw));
            }
        }

        #[test]
        fn ipv6_groups_accept_what_std_writes(segments in proptest::array::uniform8(
            proptest::sample::select(vec![0u16, 0, 0, 1, 0xf, 0x10, 0xabc, 0xffff]))) {
            let ip = Ipv6Addr::from(segments);
            if ip.to_ipv4_mapped().is_none() {
                proptest::prop_assert_eq!(parse_ipv6_groups(ip.to_string().as_bytes()), Some(ip));
            }
        }
    }

    #[test]
    fn integers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u64(b"1 "), None);
        assert_eq!(parse_i64(b"-42"), Some(-42));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(crate::kind::status(b"000"), Ok(0));
        assert_eq!(crate::kind::status(b"200"), Ok(200));
        assert!(crate::kind::status(b"20").is_err());
        assert!(crate::kind::status(b"2000").is_err());
    }

    #[test]
    fn seconds_are_exact() {
        assert_eq!(parse_seconds(b"0.082"), Some(Duration::from_millis(82)));
        assert_eq!(parse_seconds(b"12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_seconds(b"1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_seconds(b"0.000001"), Some(Duration::from_micros(1)));
        assert_eq!(parse_seconds(b"1."), None);
        assert_eq!(parse_seconds(b".5"), None);
        assert_eq!(parse_seconds(b"-0.1"), None);
        assert_eq!(parse_seconds(b"0.0000000001"), None);
    }

    #[test]
    fn dates_and_times() {
        let date = parse_date(b"2019-12-04").unwrap();
        assert_eq!((date.year(), date.month() as u8, date.day()), (2019, 12, 4));
        assert_eq!(parse_date(b"2019-02-30"), None);
        assert_eq!(parse_date(b"2019-1-04x"), None);
        let time = parse_time(b"21:02:31").unwrap();
        assert_eq!(time.as_hms(), (21, 2, 31));
        assert_eq!(parse_time(b"24:00:00"), None);
        assert_eq!(parse_time(b"21-02-31"), None);
        // Letters where digits go, found by fuzzing: a `None`, not an
        // arithmetic overflow (which panics where overflows are checked).
        assert_eq!(parse_date(b"zz19-12-04"), None);
        assert_eq!(parse_date(b"2019-1z-04"), None);
        assert_eq!(parse_time(b"z1:02:31"), None);
        assert_eq!(parse_time(b"21:02:\xff1"), None);
    }

    #[test]
    fn epochs() {
        let t = parse_epoch_seconds(b"1607374321.541").unwrap();
        assert_eq!(t.unix_timestamp(), 1607374321);
        assert_eq!(t.millisecond(), 541);
        let ms = crate::kind::epoch_millis(b"1731620046814").unwrap();
        let t = crate::kind::epoch_millis_time(ms).unwrap();
        assert_eq!(t.unix_timestamp(), 1731620046);
        assert_eq!(t.millisecond(), 814);
    }

    #[test]
    fn epoch_millis_end_where_times_end() {
        use crate::kind::{LAST_EPOCH_MILLI, epoch_millis, epoch_millis_time};
        let last = time::macros::datetime!(9999-12-31 23:59:59.999 UTC);
        assert_eq!(
            i128::from(LAST_EPOCH_MILLI),
            last.unix_timestamp_nanos() / 1_000_000
        );
        let ms = epoch_millis(LAST_EPOCH_MILLI.to_string().as_bytes()).unwrap();
        assert_eq!(epoch_millis_time(ms).unwrap(), last);
        // One more is no time, so no count either: every encoder refuses it,
        // whether or not it also writes the derived `timestamp`.
        assert!(epoch_millis_time(LAST_EPOCH_MILLI + 1).is_err());
        assert!(epoch_millis(b"253402300800000").is_err());
        assert!(epoch_millis(b"18446744073709551615").is_err());
        assert!(epoch_millis(b"0").is_ok());
    }

    #[test]
    fn ipv4_shortcut_agrees_with_std() {
        for text in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.1000",
            "1.2.3.4 ",
            "+1.2.3.4",
            "",
            "::1",
            "::ffff:1.2.3.4",
            "2001:0db8::1",
            "1.2.3.4:80",
            "0.00.0.0",
        ] {
            assert_eq!(parse_ip(text.as_bytes()), text.parse().ok(), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ip_parsing_agrees_with_std(raw in proptest::collection::vec(
            proptest::sample::select(b"0123459.:afF".to_vec()), 0..20)) {
            let text = std::str::from_utf8(&raw).unwrap();
            proptest::prop_assert_eq!(parse_ip(&raw), text.parse().ok());
        }
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        assert_eq!(ResultType::parse("Hit"), ResultType::Hit);
        assert_eq!(ResultType::parse("BrandNew"), ResultType::Other("BrandNew"));
        assert_eq!(ResultType::parse("BrandNew").as_str(), "BrandNew");
        assert_eq!(Protocol::parse("grpcs"), Protocol::Grpcs);
        assert_eq!(HttpVersion::parse("HTTP/3.0"), HttpVersion::Http3);
        assert!(ResultType::OriginDnsError.is_error());
        assert!(ResultType::InvalidRequestHeader.is_error());
        assert!(!ResultType::Hit.is_error());
        assert!(ResultType::RefreshHit.is_hit());
    }

    #[test]
    fn forwarded_for_is_lenient() {
        let raw = b"0123.045.067.089, [2001:db8::1]:443,,2001:db8::2";
        let entries: Vec<_> = ForwardedFor::new(raw).collect();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].ip(), None);
        assert_eq!(entries[1].ip(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(entries[1].port(), Some(443));
        assert_eq!(entries[2].ip(), Some("2001:db8::2".parse().unwrap()));
        assert_eq!(ForwardedFor::new(b"").count(), 0);
    }
}
