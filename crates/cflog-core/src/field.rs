//! Every field name CloudFront has documented, with its value kind and JSON key.
//!
//! A [`Field`] names a *meaning*, not a spelling. Standard logs (legacy and
//! v2) and real-time logs spell some fields differently, and two names even
//! swap meanings between them:
//!
//! | meaning | standard name | real-time name | JSON key |
//! | --- | --- | --- | --- |
//! | the distribution's domain | `cs(Host)` | `x-host-header` | `cs_host` |
//! | the viewer's `Host` header | `x-host-header` | `cs-host` | `x_host_header` |
//! | the `User-Agent` header | `cs(User-Agent)` | `cs-user-agent` | `cs_user_agent` |
//!
//! Use [`Field::from_name`] for `#Fields` headers and v2 field lists, and
//! [`Field::from_realtime_name`] for real-time log configurations.

use std::fmt;

/// How the value of a field is written in a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// `YYYY-MM-DD`, UTC.
    Date,
    /// `HH:MM:SS`, UTC.
    Time,
    /// Unix epoch seconds, optionally with a fraction (`1607374321.541`).
    EpochSeconds,
    /// Unix epoch milliseconds (`1731620046814`).
    EpochMillis,
    /// Percent-escaped text; see [`Value::decoded`](crate::Value::decoded).
    Text,
    /// An unsigned integer (`u64`), such as a byte count.
    Integer,
    /// A signed integer (`i64`); `sc-range-start`/`-end` can be negative.
    SignedInteger,
    /// A three-digit HTTP status (`u16`); `000` means the viewer hung up.
    Status,
    /// A TCP port (`u16`).
    Port,
    /// An autonomous system number (`u32`).
    Asn,
    /// An IPv4 or IPv6 address.
    Ip,
    /// Decimal seconds with millisecond precision (`0.082`).
    Seconds,
    /// A [`ResultType`](crate::ResultType).
    ResultType,
    /// A [`Protocol`](crate::Protocol).
    Protocol,
    /// An [`HttpVersion`](crate::HttpVersion).
    HttpVersion,
    /// An [`SslProtocol`](crate::SslProtocol).
    SslProtocol,
    /// A [`FleStatus`](crate::FleStatus).
    FleStatus,
    /// An [`IpVersion`](crate::IpVersion).
    IpVersion,
}

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $json:literal, $kind:ident; )*) => {
        /// A CloudFront log field, named by meaning.
        ///
        /// `Field::ALL` lists every variant; `field as usize` is its index in
        /// that list, which [`Schema`](crate::Schema) uses for O(1) lookups.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Field {
            $( $(#[$doc])* $variant, )*
        }

        impl Field {
            /// Every known field, in declaration order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The number of known fields.
            pub const COUNT: usize = Self::ALL.len();

            /// The name as written in a standard log's `#Fields` header.
            pub const fn name(self) -> &'static str {
                match self { $(Field::$variant => $name,)* }
            }

            /// The key of this field in cflog's JSON output: CloudFront's
            /// Parquet column name, snake_case without parentheses.
            pub const fn json_key(self) -> &'static str {
                match self { $(Field::$variant => $json,)* }
            }

            /// How the value is written.
            pub const fn kind(self) -> ValueKind {
                match self { $(Field::$variant => ValueKind::$kind,)* }
            }
        }
    };
}

fields! {
    /// `date`: UTC date the response finished.
    Date => "date", "date", Date;
    /// `time`: UTC time the response finished, 1 s resolution.
    Time => "time", "time", Time;
    /// `x-edge-location`: the POP, such as `LAX1` or `SEA19-C1`.
    EdgeLocation => "x-edge-location", "x_edge_location", Text;
    /// `sc-bytes`: bytes sent to the viewer, headers included.
    ScBytes => "sc-bytes", "sc_bytes", Integer;
    /// `c-ip`: the viewer's IP address.
    ClientIp => "c-ip", "c_ip", Ip;
    /// `cs-method`: the HTTP method.
    Method => "cs-method", "cs_method", Text;
    /// `cs(Host)`: the distribution's domain (real-time name: `x-host-header`).
    CsHost => "cs(Host)", "cs_host", Text;
    /// `cs-uri-stem`: the path, without the query (real-time: with it).
    UriStem => "cs-uri-stem", "cs_uri_stem", Text;
    /// `sc-status`: the HTTP status; `000` when the viewer hung up first.
    Status => "sc-status", "sc_status", Status;
    /// `cs(Referer)`: the `Referer` header (real-time name: `cs-referer`).
    Referer => "cs(Referer)", "cs_referer", Text;
    /// `cs(User-Agent)`: the `User-Agent` header (real-time: `cs-user-agent`).
    UserAgent => "cs(User-Agent)", "cs_user_agent", Text;
    /// `cs-uri-query`: the query string without `?`.
    UriQuery => "cs-uri-query", "cs_uri_query", Text;
    /// `cs(Cookie)`: the `Cookie` header, when cookie logging is on.
    Cookie => "cs(Cookie)", "cs_cookie", Text;
    /// `x-edge-result-type`: how the request was classified.
    EdgeResultType => "x-edge-result-type", "x_edge_result_type", ResultType;
    /// `x-edge-request-id`: the unique request ID (`x-amz-cf-id`).
    EdgeRequestId => "x-edge-request-id", "x_edge_request_id", Text;
    /// `x-host-header`: the viewer's `Host` header (real-time name: `cs-host`).
    HostHeader => "x-host-header", "x_host_header", Text;
    /// `cs-protocol`: `http`, `https`, `ws`, `wss` or `grpcs`.
    Protocol => "cs-protocol", "cs_protocol", Protocol;
    /// `cs-bytes`: bytes received from the viewer, headers included.
    CsBytes => "cs-bytes", "cs_bytes", Integer;
    /// `time-taken`: seconds from request to last byte.
    TimeTaken => "time-taken", "time_taken", Seconds;
    /// `x-forwarded-for`: the `X-Forwarded-For` list.
    ForwardedFor => "x-forwarded-for", "x_forwarded_for", Text;
    /// `ssl-protocol`: the negotiated TLS version.
    SslProtocol => "ssl-protocol", "ssl_protocol", SslProtocol;
    /// `ssl-cipher`: the negotiated cipher.
    SslCipher => "ssl-cipher", "ssl_cipher", Text;
    /// `x-edge-response-result-type`: the classification before responding.
    EdgeResponseResultType => "x-edge-response-result-type", "x_edge_response_result_type", ResultType;
    /// `cs-protocol-version`: `HTTP/1.1`, `HTTP/2.0`, `HTTP/3.0`…
    ProtocolVersion => "cs-protocol-version", "cs_protocol_version", HttpVersion;
    /// `fle-status`: the field-level encryption result.
    FleStatus => "fle-status", "fle_status", FleStatus;
    /// `fle-encrypted-fields`: how many fields were encrypted.
    FleEncryptedFields => "fle-encrypted-fields", "fle_encrypted_fields", Integer;
    /// `c-port`: the viewer's source port.
    ClientPort => "c-port", "c_port", Port;
    /// `time-to-first-byte`: seconds from request to first byte.
    TimeToFirstByte => "time-to-first-byte", "time_to_first_byte", Seconds;
    /// `x-edge-detailed-result-type`: the detailed classification.
    EdgeDetailedResultType => "x-edge-detailed-result-type", "x_edge_detailed_result_type", ResultType;
    /// `sc-content-type`: the response `Content-Type`.
    ContentType => "sc-content-type", "sc_content_type", Text;
    /// `sc-content-len`: the response `Content-Length`.
    ContentLen => "sc-content-len", "sc_content_len", Integer;
    /// `sc-range-start`: the start of the response `Content-Range`.
    RangeStart => "sc-range-start", "sc_range_start", SignedInteger;
    /// `sc-range-end`: the end of the response `Content-Range`.
    RangeEnd => "sc-range-end", "sc_range_end", SignedInteger;
    /// `distribution-tenant-id`: the distribution tenant (2025).
    DistributionTenantId => "distribution-tenant-id", "distribution_tenant_id", Text;
    /// `connection-id`: the mTLS connection ID (2025).
    ConnectionId => "connection-id", "connection_id", Text;

    /// `timestamp`: Unix epoch seconds (v2), with milliseconds in real-time logs.
    Timestamp => "timestamp", "timestamp", EpochSeconds;
    /// `timestamp(ms)`: Unix epoch milliseconds (v2).
    TimestampMs => "timestamp(ms)", "timestamp_ms", EpochMillis;
    /// `DistributionId`: the distribution (v2).
    DistributionId => "DistributionId", "distribution_id", Text;
    /// `origin-fbl`: seconds of first-byte latency to the origin.
    OriginFbl => "origin-fbl", "origin_fbl", Seconds;
    /// `origin-lbl`: seconds of last-byte latency to the origin.
    OriginLbl => "origin-lbl", "origin_lbl", Seconds;
    /// `asn`: the viewer's autonomous system number.
    Asn => "asn", "asn", Asn;
    /// `c-country`: the viewer's ISO 3166-1 alpha-2 country code.
    Country => "c-country", "c_country", Text;
    /// `cache-behavior-path-pattern`: the matching cache behavior.
    CacheBehaviorPathPattern => "cache-behavior-path-pattern", "cache_behavior_path_pattern", Text;
    /// `viewer-request-log-data`: data logged by a viewer-request function.
    ViewerRequestLogData => "viewer-request-log-data", "viewer_request_log_data", Text;
    /// `viewer-response-log-data`: data logged by a viewer-response function.
    ViewerResponseLogData => "viewer-response-log-data", "viewer_response_log_data", Text;

    /// `s-ip`: the CloudFront server's IP (real-time).
    ServerIp => "s-ip", "s_ip", Ip;
    /// `c-ip-version`: `IPv4` or `IPv6` (real-time).
    IpVersion => "c-ip-version", "c_ip_version", IpVersion;
    /// `cs-accept-encoding`: the `Accept-Encoding` header (real-time).
    AcceptEncoding => "cs-accept-encoding", "cs_accept_encoding", Text;
    /// `cs-accept`: the `Accept` header (real-time).
    Accept => "cs-accept", "cs_accept", Text;
    /// `cs-headers`: all request headers, `%0A`-terminated (real-time).
    Headers => "cs-headers", "cs_headers", Text;
    /// `cs-header-names`: the request header names (real-time).
    HeaderNames => "cs-header-names", "cs_header_names", Text;
    /// `cs-headers-count`: the number of request headers (real-time).
    HeadersCount => "cs-headers-count", "cs_headers_count", Integer;
    /// `primary-distribution-id`: continuous deployment's primary (real-time).
    PrimaryDistributionId => "primary-distribution-id", "primary_distribution_id", Text;
    /// `primary-distribution-dns-name`: its domain (real-time).
    PrimaryDistributionDnsName => "primary-distribution-dns-name", "primary_distribution_dns_name", Text;
    /// `cmcd-encoded-bitrate` (real-time, CTA-5004 `br`).
    CmcdEncodedBitrate => "cmcd-encoded-bitrate", "cmcd_encoded_bitrate", Text;
    /// `cmcd-buffer-length` (real-time, CTA-5004 `bl`).
    CmcdBufferLength => "cmcd-buffer-length", "cmcd_buffer_length", Text;
    /// `cmcd-buffer-starvation` (real-time, CTA-5004 `bs`).
    CmcdBufferStarvation => "cmcd-buffer-starvation", "cmcd_buffer_starvation", Text;
    /// `cmcd-content-id` (real-time, CTA-5004 `cid`).
    CmcdContentId => "cmcd-content-id", "cmcd_content_id", Text;
    /// `cmcd-object-duration` (real-time, CTA-5004 `d`).
    CmcdObjectDuration => "cmcd-object-duration", "cmcd_object_duration", Text;
    /// `cmcd-deadline` (real-time, CTA-5004 `dl`).
    CmcdDeadline => "cmcd-deadline", "cmcd_deadline", Text;
    /// `cmcd-measured-throughput` (real-time, CTA-5004 `mtp`).
    CmcdMeasuredThroughput => "cmcd-measured-throughput", "cmcd_measured_throughput", Text;
    /// `cmcd-next-object-request` (real-time, CTA-5004 `nor`).
    CmcdNextObjectRequest => "cmcd-next-object-request", "cmcd_next_object_request", Text;
    /// `cmcd-next-range-request` (real-time, CTA-5004 `nrr`).
    CmcdNextRangeRequest => "cmcd-next-range-request", "cmcd_next_range_request", Text;
    /// `cmcd-object-type` (real-time, CTA-5004 `ot`).
    CmcdObjectType => "cmcd-object-type", "cmcd_object_type", Text;
    /// `cmcd-playback-rate` (real-time, CTA-5004 `pr`).
    CmcdPlaybackRate => "cmcd-playback-rate", "cmcd_playback_rate", Text;
    /// `cmcd-requested-maximum-throughput` (real-time, CTA-5004 `rtp`).
    CmcdRequestedMaximumThroughput => "cmcd-requested-maximum-throughput", "cmcd_requested_maximum_throughput", Text;
    /// `cmcd-streaming-format` (real-time, CTA-5004 `sf`).
    CmcdStreamingFormat => "cmcd-streaming-format", "cmcd_streaming_format", Text;
    /// `cmcd-session-id` (real-time, CTA-5004 `sid`).
    CmcdSessionId => "cmcd-session-id", "cmcd_session_id", Text;
    /// `cmcd-stream-type` (real-time, CTA-5004 `st`).
    CmcdStreamType => "cmcd-stream-type", "cmcd_stream_type", Text;
    /// `cmcd-startup` (real-time, CTA-5004 `su`).
    CmcdStartup => "cmcd-startup", "cmcd_startup", Text;
    /// `cmcd-top-bitrate` (real-time, CTA-5004 `tb`).
    CmcdTopBitrate => "cmcd-top-bitrate", "cmcd_top_bitrate", Text;
    /// `cmcd-version` (real-time, CTA-5004 `v`).
    CmcdVersion => "cmcd-version", "cmcd_version", Text;
    /// `r-host`: the origin chosen by media-quality-aware resiliency (real-time).
    RHost => "r-host", "r_host", Text;
    /// `sr-reason`: why that origin was chosen (real-time).
    SrReason => "sr-reason", "sr_reason", Text;
    /// `x-edge-mqcs`: the media quality confidence score (real-time).
    EdgeMqcs => "x-edge-mqcs", "x_edge_mqcs", Text;
}

/// The 33 fields of the current standard (legacy) layout, in file order.
///
/// This layout applies to lines that come before any `#Fields` header.
pub const STANDARD_FIELDS: [Field; 33] = [
    Field::Date,
    Field::Time,
    Field::EdgeLocation,
    Field::ScBytes,
    Field::ClientIp,
    Field::Method,
    Field::CsHost,
    Field::UriStem,
    Field::Status,
    Field::Referer,
    Field::UserAgent,
    Field::UriQuery,
    Field::Cookie,
    Field::EdgeResultType,
    Field::EdgeRequestId,
    Field::HostHeader,
    Field::Protocol,
    Field::CsBytes,
    Field::TimeTaken,
    Field::ForwardedFor,
    Field::SslProtocol,
    Field::SslCipher,
    Field::EdgeResponseResultType,
    Field::ProtocolVersion,
    Field::FleStatus,
    Field::FleEncryptedFields,
    Field::ClientPort,
    Field::TimeToFirstByte,
    Field::EdgeDetailedResultType,
    Field::ContentType,
    Field::ContentLen,
    Field::RangeStart,
    Field::RangeEnd,
];

/// Real-time log fields in CloudFront's canonical delivery order.
///
/// A real-time record carries the configured fields in *this* order,
/// whatever order the configuration listed them in. Positions 1–2, 4–41 and
/// 44–46 are from the AWS documentation, 65–67 from the MQAR page; the rest
/// (including `s-ip` at 3) from third-party lists that agree with them. The
/// places of `viewer-request-log-data` and `viewer-response-log-data` are
/// undocumented, so they go last.
pub const REALTIME_ORDER: [Field; 71] = [
    Field::Timestamp,
    Field::ClientIp,
    Field::ServerIp,
    Field::TimeToFirstByte,
    Field::Status,
    Field::ScBytes,
    Field::Method,
    Field::Protocol,
    Field::HostHeader,
    Field::UriStem,
    Field::CsBytes,
    Field::EdgeLocation,
    Field::EdgeRequestId,
    Field::CsHost,
    Field::TimeTaken,
    Field::ProtocolVersion,
    Field::IpVersion,
    Field::UserAgent,
    Field::Referer,
    Field::Cookie,
    Field::UriQuery,
    Field::EdgeResponseResultType,
    Field::ForwardedFor,
    Field::SslProtocol,
    Field::SslCipher,
    Field::EdgeResultType,
    Field::FleEncryptedFields,
    Field::FleStatus,
    Field::ContentType,
    Field::ContentLen,
    Field::RangeStart,
    Field::RangeEnd,
    Field::ClientPort,
    Field::EdgeDetailedResultType,
    Field::Country,
    Field::AcceptEncoding,
    Field::Accept,
    Field::CacheBehaviorPathPattern,
    Field::Headers,
    Field::HeaderNames,
    Field::HeadersCount,
    Field::PrimaryDistributionId,
    Field::PrimaryDistributionDnsName,
    Field::OriginFbl,
    Field::OriginLbl,
    Field::Asn,
    Field::CmcdEncodedBitrate,
    Field::CmcdBufferLength,
    Field::CmcdBufferStarvation,
    Field::CmcdContentId,
    Field::CmcdObjectDuration,
    Field::CmcdDeadline,
    Field::CmcdMeasuredThroughput,
    Field::CmcdNextObjectRequest,
    Field::CmcdNextRangeRequest,
    Field::CmcdObjectType,
    Field::CmcdPlaybackRate,
    Field::CmcdRequestedMaximumThroughput,
    Field::CmcdStreamingFormat,
    Field::CmcdSessionId,
    Field::CmcdStreamType,
    Field::CmcdStartup,
    Field::CmcdTopBitrate,
    Field::CmcdVersion,
    Field::RHost,
    Field::SrReason,
    Field::EdgeMqcs,
    Field::DistributionTenantId,
    Field::ConnectionId,
    Field::ViewerRequestLogData,
    Field::ViewerResponseLogData,
];

impl Field {
    /// Looks up a name from a standard log's `#Fields` header or a v2 field
    /// list. Matching ignores ASCII case, because v2 field lists spell
    /// `DistributionId` as `distributionid`.
    ///
    /// Real-time-only names (`s-ip`, `cs-headers`…) and the unambiguous
    /// real-time spellings (`cs-user-agent`, `cs-referer`, `cs-cookie`) are
    /// accepted too. `cs-host` is not: its meaning depends on the log family.
    ///
    /// ```
    /// use cflog_core::Field;
    /// assert_eq!(Field::from_name("cs(User-Agent)"), Some(Field::UserAgent));
    /// assert_eq!(Field::from_name("x-host-header"), Some(Field::HostHeader));
    /// assert_eq!(Field::from_name("distributionid"), Some(Field::DistributionId));
    /// assert_eq!(Field::from_name("x-new-field"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Field> {
        if let Some(field) = Self::ALL
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
        {
            return Some(*field);
        }
        match Self::from_realtime_name(name)? {
            Field::CsHost | Field::HostHeader => None,
            field => Some(field),
        }
    }

    /// Looks up a name from a real-time log configuration, where `cs-host`
    /// is the viewer's `Host` header and `x-host-header` the distribution's
    /// domain (the reverse of standard logs).
    ///
    /// ```
    /// use cflog_core::Field;
    /// assert_eq!(Field::from_realtime_name("cs-host"), Some(Field::HostHeader));
    /// assert_eq!(Field::from_realtime_name("x-host-header"), Some(Field::CsHost));
    /// assert_eq!(Field::from_realtime_name("cs-user-agent"), Some(Field::UserAgent));
    /// ```
    pub fn from_realtime_name(name: &str) -> Option<Field> {
        REALTIME_ORDER
            .iter()
            .find(|f| f.realtime_name().eq_ignore_ascii_case(name))
            .copied()
    }

    /// The name in a real-time log configuration.
    pub const fn realtime_name(self) -> &'static str {
        match self {
            Field::CsHost => "x-host-header",
            Field::HostHeader => "cs-host",
            Field::UserAgent => "cs-user-agent",
            Field::Referer => "cs-referer",
            Field::Cookie => "cs-cookie",
            other => other.name(),
        }
    }

    /// Looks up a JSON key, as in [`json_key`](Field::json_key).
    pub fn from_json_key(key: &str) -> Option<Field> {
        Self::ALL.iter().find(|f| f.json_key() == key).copied()
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key of the request time, which the contract derives from `date`
/// and `time`, `timestamp` or `timestamp(ms)`.
pub const TIMESTAMP_KEY: &str = "timestamp";
/// The key of the decoded query parameters, which the contract derives
/// from `cs-uri-query`.
pub const QUERY_PARAMS_KEY: &str = "query_params";

/// The JSON key for a column CloudFront names `name` but cflog does not
/// know: lower-case, with every run of other characters turned into `_`.
///
/// ```
/// assert_eq!(cflog_core::json_key_for_name("cs(Accept-Language)"), "cs_accept_language");
/// ```
pub fn json_key_for_name(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            key.push(ch.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_are_unique() {
        for (i, a) in Field::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i);
            for b in &Field::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
                assert_ne!(a.json_key(), b.json_key());
            }
        }
    }

    #[test]
    fn every_name_round_trips() {
        for &field in Field::ALL {
            assert_eq!(Field::from_name(field.name()), Some(field), "{field}");
            assert_eq!(Field::from_json_key(field.json_key()), Some(field));
        }
    }

    #[test]
    fn realtime_order_covers_every_realtime_field_once() {
        for (i, a) in REALTIME_ORDER.iter().enumerate() {
            assert!(!REALTIME_ORDER[i + 1..].contains(a), "{a} twice");
            assert_eq!(Field::from_realtime_name(a.realtime_name()), Some(*a));
        }
        // Every field but the standard-only date/time/DistributionId/timestamp(ms).
        assert_eq!(REALTIME_ORDER.len(), Field::COUNT - 4);
    }

    #[test]
    fn json_keys_follow_the_parquet_names() {
        assert_eq!(Field::UserAgent.json_key(), "cs_user_agent");
        assert_eq!(Field::TimestampMs.json_key(), "timestamp_ms");
        assert_eq!(Field::DistributionId.json_key(), "distribution_id");
        // Apart from one CamelCase name, the rule for unknown names gives the same keys.
        for &field in Field::ALL.iter().filter(|&&f| f != Field::DistributionId) {
            assert_eq!(json_key_for_name(field.name()), field.json_key(), "{field}");
        }
    }
}
