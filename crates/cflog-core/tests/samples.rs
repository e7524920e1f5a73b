//! Every sample file, checked against values read by hand from the raw
//! lines and the format specification (never from the parser's output).

use std::net::IpAddr;
use std::time::Duration;

use cflog_core::escape::decode_legacy_double;
use cflog_core::{
    DecoderBuilder, Delimiter, Error, ErrorKind, Field, HttpVersion, IpVersion, Protocol, Reader,
    Record, ResultType, Schema, SslProtocol, Stats,
};
use time::macros::datetime;

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Reads a whole input, keeping records and errors in order.
fn read(input: &[u8], builder: &DecoderBuilder) -> (Vec<Result<Record, Error>>, Stats) {
    let mut reader = Reader::from_builder(builder, input);
    let mut out = Vec::new();
    loop {
        let mut record = Record::new();
        match reader.read_record(&mut record) {
            Ok(true) => out.push(Ok(record)),
            Ok(false) => break,
            Err(e) => out.push(Err(e)),
        }
    }
    (out, reader.stats())
}

fn records(name: &str) -> Vec<Record> {
    records_with(name, &DecoderBuilder::new())
}

fn records_with(name: &str, builder: &DecoderBuilder) -> Vec<Record> {
    let (results, _) = read(&testdata(name), builder);
    results
        .into_iter()
        .map(|r| r.expect("every line of the sample parses"))
        .collect()
}

fn text(record: &Record, field: Field) -> Option<String> {
    record
        .line()
        .get(field)
        .map(|v| v.decoded_str().into_owned())
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

const CHROME_78: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36";

#[test]
fn aws_docs_33_fields() {
    let records = records("aws-docs-33-fields.log");
    assert_eq!(records.len(), 6);
    assert_eq!(records[0].line().schema(), &Schema::standard());

    let first = records[0].line();
    assert_eq!(
        first.timestamp().unwrap(),
        Some(datetime!(2019-12-04 21:02:31 UTC))
    );
    assert_eq!(
        text(&records[0], Field::EdgeLocation).as_deref(),
        Some("LAX1")
    );
    assert_eq!(first.sc_bytes().unwrap(), Some(392));
    assert_eq!(first.client_ip().unwrap(), ip("192.0.2.100"));
    assert_eq!(text(&records[0], Field::Method).as_deref(), Some("GET"));
    assert_eq!(
        text(&records[0], Field::CsHost).as_deref(),
        Some("d111111abcdef8.cloudfront.net")
    );
    assert_eq!(
        text(&records[0], Field::UriStem).as_deref(),
        Some("/index.html")
    );
    assert_eq!(first.status().unwrap(), Some(200));
    assert_eq!(first.get(Field::Referer), None);
    assert_eq!(
        text(&records[0], Field::UserAgent).as_deref(),
        Some(CHROME_78)
    );
    assert_eq!(first.query_params().map(|q| q.is_empty()), None);
    assert_eq!(first.edge_result_type().unwrap(), Some(ResultType::Hit));
    assert_eq!(
        text(&records[0], Field::EdgeRequestId).as_deref(),
        Some("SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==")
    );
    assert_eq!(first.protocol().unwrap(), Some(Protocol::Https));
    assert_eq!(first.cs_bytes().unwrap(), Some(23));
    assert_eq!(first.time_taken().unwrap(), ms(1));
    assert!(first.forwarded_for().is_none());
    assert_eq!(first.ssl_protocol().unwrap(), Some(SslProtocol::Tls12));
    assert_eq!(
        text(&records[0], Field::SslCipher).as_deref(),
        Some("ECDHE-RSA-AES128-GCM-SHA256")
    );
    assert_eq!(
        first.edge_response_result_type().unwrap(),
        Some(ResultType::Hit)
    );
    assert_eq!(first.http_version().unwrap(), Some(HttpVersion::Http2));
    assert_eq!(first.fle_status().unwrap(), None);
    assert_eq!(first.u64(Field::FleEncryptedFields).unwrap(), None);
    assert_eq!(first.client_port().unwrap(), Some(11040));
    assert_eq!(first.time_to_first_byte().unwrap(), ms(1));
    assert_eq!(
        first.edge_detailed_result_type().unwrap(),
        Some(ResultType::Hit)
    );
    assert_eq!(
        text(&records[0], Field::ContentType).as_deref(),
        Some("text/html")
    );
    assert_eq!(first.content_len().unwrap(), Some(78));
    assert_eq!(first.range_start().unwrap(), None);
    assert_eq!(first.range_end().unwrap(), None);

    // The second record differs from the first only in its ID and timing.
    assert_eq!(records[1].line().time_taken().unwrap(), ms(0));

    let favicon = records[3].line();
    assert_eq!(
        favicon.timestamp().unwrap(),
        Some(datetime!(2019-12-13 22:36:27 UTC))
    );
    assert_eq!(
        text(&records[3], Field::EdgeLocation).as_deref(),
        Some("SEA19-C1")
    );
    assert_eq!(favicon.status().unwrap(), Some(502));
    assert_eq!(
        text(&records[3], Field::Referer).as_deref(),
        Some("http://www.example.com/")
    );
    assert_eq!(
        text(&records[3], Field::HostHeader).as_deref(),
        Some("www.example.com")
    );
    assert_eq!(favicon.protocol().unwrap(), Some(Protocol::Http));
    assert_eq!(favicon.cs_bytes().unwrap(), Some(675));
    assert_eq!(favicon.time_taken().unwrap(), ms(102));
    assert_eq!(favicon.ssl_protocol().unwrap(), None);
    assert_eq!(favicon.edge_result_type().unwrap(), Some(ResultType::Error));
    assert_eq!(favicon.http_version().unwrap(), Some(HttpVersion::Http11));
    assert_eq!(favicon.client_port().unwrap(), Some(25260));
    assert_eq!(
        favicon.edge_detailed_result_type().unwrap(),
        Some(ResultType::OriginDnsError)
    );
    assert!(
        favicon
            .edge_detailed_result_type()
            .unwrap()
            .unwrap()
            .is_error()
    );
    assert_eq!(favicon.content_len().unwrap(), Some(507));

    let curl = &records[5];
    assert_eq!(text(curl, Field::UserAgent).as_deref(), Some("curl/7.55.1"));
    assert_eq!(text(curl, Field::EdgeLocation).as_deref(), Some("SEA19-C2"));
    assert_eq!(curl.line().cs_bytes().unwrap(), Some(387));
    assert_eq!(curl.line().client_port().unwrap(), Some(12644));
    assert_eq!(curl.position().line(), 8);
}

#[test]
fn real_26_fields_2018_2019() {
    let records = records("real-26-fields-2018-2019.log");
    assert_eq!(records.len(), 2);
    let bot = records[0].line();
    assert_eq!(bot.schema().len(), 26);
    assert_eq!(
        bot.timestamp().unwrap(),
        Some(datetime!(2018-07-24 22:22:47 UTC))
    );
    assert_eq!(bot.client_ip().unwrap(), ip("196.52.43.106"));
    assert_eq!(bot.status().unwrap(), Some(301));
    assert_eq!(bot.edge_result_type().unwrap(), Some(ResultType::Redirect));
    assert_eq!(bot.cs_bytes().unwrap(), Some(127));
    assert_eq!(bot.time_taken().unwrap(), ms(0));
    assert_eq!(bot.http_version().unwrap(), Some(HttpVersion::Http11));
    // Fields of later eras are simply absent.
    assert_eq!(bot.client_port().unwrap(), None);
    assert_eq!(bot.raw(Field::ClientPort), None);
    // The 2013–2019 double escaping: one decode leaves the client's escapes.
    let agent = bot.get(Field::UserAgent).unwrap();
    assert_eq!(
        agent.decoded().as_ref(),
        b"Mozilla/5.0%20(compatible;%20nsrbot/1.0;%20&#43;http://netsystemsresearch.com)"
    );
    assert_eq!(
        decode_legacy_double(agent.raw()).as_ref(),
        b"Mozilla/5.0 (compatible; nsrbot/1.0; &#43;http://netsystemsresearch.com)"
    );

    let dawa = records[1].line();
    assert_eq!(
        dawa.timestamp().unwrap(),
        Some(datetime!(2019-05-21 05:27:39 UTC))
    );
    assert_eq!(dawa.get(Field::UserAgent), None);
    assert_eq!(
        dawa.get(Field::UriQuery).unwrap().decoded().as_ref(),
        b"betegnelse=Horsebakken%2053,%202400"
    );
    let params = dawa.query_params().unwrap();
    assert_eq!(
        params.get("betegnelse").as_deref(),
        Some("Horsebakken 53, 2400")
    );
    assert_eq!(dawa.time_taken().unwrap(), ms(219));
    assert_eq!(dawa.edge_result_type().unwrap(), Some(ResultType::Miss));
}

#[test]
fn real_33_fields_2025() {
    let records = records("real-33-fields-2025.log");
    assert_eq!(records.len(), 1);
    let line = records[0].line();
    assert_eq!(
        line.timestamp().unwrap(),
        Some(datetime!(2025-12-11 05:45:16 UTC))
    );
    assert_eq!(
        text(&records[0], Field::EdgeLocation).as_deref(),
        Some("HEL51-P6")
    );
    assert_eq!(line.sc_bytes().unwrap(), Some(1_571_170));
    assert_eq!(line.ssl_protocol().unwrap(), Some(SslProtocol::Tls13));
    assert_eq!(
        text(&records[0], Field::SslCipher).as_deref(),
        Some("TLS_AES_128_GCM_SHA256")
    );
    assert_eq!(line.client_port().unwrap(), Some(59472));
    assert_eq!(line.time_taken().unwrap(), ms(51));
    assert_eq!(line.time_to_first_byte().unwrap(), ms(26));
    assert_eq!(
        text(&records[0], Field::ContentType).as_deref(),
        Some("application/rss+xml")
    );
    assert_eq!(line.content_len().unwrap(), Some(1_570_556));
    let agent = text(&records[0], Field::UserAgent).unwrap();
    assert!(
        agent.starts_with("NewsBlur Feed Fetcher - 13 subscribers - https://www.newsblur.com/")
    );
    assert!(agent.contains("(\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"));
}

#[test]
fn v2_w3c_39_fields() {
    let records = records("v2-w3c-39-fields.log");
    assert_eq!(records.len(), 1);
    let line = records[0].line();
    assert_eq!(line.schema().len(), 39);
    assert_eq!(line.schema().position(Field::Timestamp), Some(0));
    assert_eq!(line.schema().position(Field::Asn), Some(38));
    // timestamp(ms) is the most precise source.
    assert_eq!(
        line.timestamp().unwrap(),
        Some(datetime!(2025-12-11 05:45:16.011 UTC))
    );
    assert_eq!(
        text(&records[0], Field::DistributionId).as_deref(),
        Some("EHLMG1T8SOX48")
    );
    assert_eq!(line.asn().unwrap(), Some(7922));
    assert_eq!(line.origin_fbl().unwrap(), None);
    assert_eq!(line.origin_lbl().unwrap(), None);
    assert_eq!(line.status().unwrap(), Some(200));
    assert_eq!(line.client_port().unwrap(), Some(59472));
}

#[test]
fn v2_w3c_aws_docs_without_version_line() {
    let records = records("v2-w3c-aws-docs.log");
    assert_eq!(records.len(), 1);
    let line = records[0].line();
    assert_eq!(
        line.timestamp().unwrap(),
        Some(datetime!(2024-11-14 22:30:25.421 UTC))
    );
    assert_eq!(line.asn().unwrap(), Some(16509));
    assert_eq!(
        text(&records[0], Field::EdgeLocation).as_deref(),
        Some("SOF50-P2")
    );
    assert_eq!(
        text(&records[0], Field::HostHeader).as_deref(),
        Some("d111111abcdef8.cloudfront.net")
    );
    assert_eq!(
        text(&records[0], Field::Cookie).as_deref(),
        Some("examplecookie=value2")
    );
}

#[test]
fn eras_18_24_and_35_fields() {
    let old = records("era-18-fields-2014.log");
    assert_eq!(old.len(), 2);
    assert_eq!(old[0].line().schema().len(), 18);
    assert_eq!(old[0].line().cs_bytes().unwrap(), Some(127));
    assert_eq!(old[0].line().time_taken().unwrap(), None);
    assert_eq!(old[1].line().status().unwrap(), Some(200));

    let mid = records("era-24-fields-2017.log");
    assert_eq!(mid[0].line().schema().len(), 24);
    assert_eq!(
        mid[0].line().http_version().unwrap(),
        Some(HttpVersion::Http11)
    );
    assert_eq!(mid[1].line().time_taken().unwrap(), ms(219));
    assert_eq!(mid[1].line().raw(Field::FleStatus), None);

    let new = records("era-35-fields-2025.log");
    assert_eq!(new[0].line().schema().len(), 35);
    assert_eq!(
        text(&new[0], Field::DistributionTenantId).as_deref(),
        Some("dt_2bNqYb0XhcpbEXAMPLE")
    );
    assert_eq!(text(&new[0], Field::ConnectionId), None);
    assert_eq!(
        text(&new[1], Field::ConnectionId).as_deref(),
        Some("c7d9a1e0-5f4b-4f6e-9f1e-EXAMPLE")
    );
    assert_eq!(new[1].line().status().unwrap(), Some(502));
}

#[test]
fn v2_custom_order_with_other_delimiters() {
    for (file, delimiter) in [
        ("v2-custom-order-pipe.log", "|"),
        ("v2-custom-order-multichar.log", " | "),
    ] {
        let mut builder = DecoderBuilder::new();
        builder.delimiter(Delimiter::new(delimiter.as_bytes()).unwrap());
        let records = records_with(file, &builder);
        assert_eq!(records.len(), 2, "{file}");
        let first = records[0].line();
        assert_eq!(first.schema().position(Field::Status), Some(0));
        assert_eq!(first.status().unwrap(), Some(200));
        assert_eq!(first.client_ip().unwrap(), ip("192.0.2.100"));
        assert_eq!(
            first.timestamp().unwrap(),
            Some(datetime!(2019-12-04 21:02:31 UTC))
        );
        assert_eq!(
            text(&records[0], Field::UserAgent).as_deref(),
            Some(CHROME_78)
        );
        assert_eq!(first.time_taken().unwrap(), ms(1));
        assert_eq!(first.asn().unwrap(), Some(16509));
        assert_eq!(text(&records[0], Field::Country).as_deref(), Some("US"));
        let second = records[1].line();
        assert_eq!(second.status().unwrap(), Some(502));
        assert_eq!(
            text(&records[1], Field::UserAgent).as_deref(),
            Some("curl/7.55.1")
        );
        assert_eq!(
            second.timestamp().unwrap(),
            Some(datetime!(2019-12-13 22:37:02 UTC))
        );
    }
}

#[test]
fn realtime_record_with_its_configured_fields() {
    let names = "timestamp c-ip time-to-first-byte sc-status sc-bytes cs-method cs-protocol cs-host \
        cs-uri-stem cs-bytes x-edge-location x-edge-request-id x-host-header time-taken \
        cs-protocol-version c-ip-version cs-user-agent cs-referer cs-cookie cs-uri-query \
        x-edge-response-result-type x-forwarded-for ssl-protocol ssl-cipher x-edge-result-type \
        fle-encrypted-fields fle-status sc-content-type sc-content-len sc-range-start sc-range-end \
        c-port x-edge-detailed-result-type c-country cs-accept-encoding cs-accept \
        cache-behavior-path-pattern cs-headers cs-header-names cs-headers-count";
    // Configured in reverse: the canonical order decides the positions.
    let mut shuffled: Vec<&str> = names.split_whitespace().collect();
    shuffled.reverse();
    let (schema, unknown) = Schema::realtime(shuffled).unwrap();
    assert!(unknown.is_empty());
    assert_eq!(schema.len(), 40);
    let mut builder = DecoderBuilder::new();
    builder.schema(schema);
    let records = records_with("realtime-40-fields-2020.tsv", &builder);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    let line = r.line();
    assert_eq!(
        line.timestamp().unwrap(),
        Some(datetime!(2020-12-07 20:52:01.541 UTC))
    );
    assert!(line.timestamp_has_millis());
    assert_eq!(line.client_ip().unwrap(), ip("127.0.0.1"));
    assert_eq!(line.time_to_first_byte().unwrap(), ms(42));
    assert_eq!(line.status().unwrap(), Some(200));
    assert_eq!(line.sc_bytes().unwrap(), Some(485));
    assert_eq!(line.protocol().unwrap(), Some(Protocol::Http));
    // Real-time `cs-host` is the viewer's Host header; `x-host-header` the distribution.
    assert_eq!(
        text(r, Field::HostHeader).as_deref(),
        Some("test.cloudfront.net")
    );
    assert_eq!(
        text(r, Field::CsHost).as_deref(),
        Some("test.cloudfront.net")
    );
    assert_eq!(line.uri_stem().unwrap().raw(), b"/i");
    assert_eq!(
        line.query_params().unwrap().get("url").as_deref(),
        Some("http://localhost:5000/page-2")
    );
    assert_eq!(line.cs_bytes().unwrap(), Some(745));
    assert_eq!(text(r, Field::EdgeLocation).as_deref(), Some("EWR52-C4"));
    assert_eq!(line.ip_version().unwrap(), Some(IpVersion::V4));
    assert_eq!(
        text(r, Field::Referer).as_deref(),
        Some("http://localhost:5000/page-2")
    );
    assert_eq!(line.edge_result_type().unwrap(), Some(ResultType::Miss));
    assert_eq!(text(r, Field::ContentType).as_deref(), Some("image/gif"));
    assert_eq!(line.content_len().unwrap(), Some(35));
    assert_eq!(line.client_port().unwrap(), Some(49323));
    assert_eq!(text(r, Field::Country).as_deref(), Some("US"));
    assert_eq!(
        text(r, Field::AcceptEncoding).as_deref(),
        Some("gzip, deflate")
    );
    assert_eq!(
        text(r, Field::CacheBehaviorPathPattern).as_deref(),
        Some("*")
    );
    assert!(
        text(r, Field::Headers)
            .unwrap()
            .starts_with("Host:test.cloudfront.net\nUser-Agent:Mozilla/5.0 (Macintosh;")
    );
    assert_eq!(line.u64(Field::HeadersCount).unwrap(), Some(8));
}

#[test]
fn edge_cases_crlf_blank_trailing_tab_mid_stream_header_no_final_newline() {
    let (results, stats) = read(&testdata("edge-cases.log"), &DecoderBuilder::new());
    let records: Vec<Record> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(text(&records[0], Field::UriStem).as_deref(), Some("/a"));
    assert_eq!(records[0].line().status().unwrap(), Some(200));
    // Trailing TAB tolerated; CRLF stripped.
    assert_eq!(records[1].line().status().unwrap(), Some(304));
    assert_eq!(text(&records[1], Field::UriStem).as_deref(), Some("/b"));
    assert_eq!(records[1].position().line(), 6);
    // The second header switches the layout.
    let last = records[2].line();
    assert_eq!(last.schema().len(), 6);
    assert_eq!(
        text(&records[2], Field::EdgeLocation).as_deref(),
        Some("LAX1")
    );
    assert_eq!(last.status().unwrap(), Some(0));
    assert_eq!(last.time_taken().unwrap(), ms(500));
    assert_eq!(text(&records[2], Field::UriStem).as_deref(), Some("/c d"));
    assert_eq!(records[2].position().line(), 9);
    assert_eq!(stats.lines, 9);
    assert_eq!(stats.header_lines, 4);
    assert_eq!(stats.blank_lines, 2);
    assert_eq!(stats.records, 3);
    assert_eq!(stats.rejected, 0);
    assert_eq!(stats.bytes, testdata("edge-cases.log").len() as u64);
}

#[test]
fn bad_lines_are_reported_with_positions_and_reading_goes_on() {
    let input = testdata("bad-lines.log");
    let (results, stats) = read(&input, &DecoderBuilder::new());
    let lines: Vec<u64> = results
        .iter()
        .map(|r| match r {
            Ok(record) => record.position().line(),
            Err(e) => e.position().unwrap().line(),
        })
        .collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9]);
    let err = results[1].as_ref().unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::FieldCount {
            expected: 6,
            found: 5,
            ..
        }
    ));
    // Byte offset of line 4: two header lines plus one 45-byte record.
    let line4 = input
        .split(|&b| b == b'\n')
        .take(3)
        .map(|l| l.len() + 1)
        .sum::<usize>();
    assert_eq!(
        err.to_string(),
        format!("line 4 (byte {line4}): expected 6 fields, found 5")
    );
    assert_eq!(err.reason(), "field_count");
    // Values are checked when read, per field.
    let bad_ip = results[2].as_ref().unwrap().line().client_ip().unwrap_err();
    assert_eq!(bad_ip.field(), Field::ClientIp);
    let bad_status = results[3].as_ref().unwrap().line().status().unwrap_err();
    assert_eq!(bad_status.field(), Field::Status);
    assert!(matches!(
        results[4].as_ref().unwrap_err().kind(),
        ErrorKind::Header { .. }
    ));
    assert_eq!(results[4].as_ref().unwrap_err().reason(), "header");
    assert!(matches!(
        results[5].as_ref().unwrap_err().kind(),
        ErrorKind::FieldCount { found: 1, .. }
    ));
    let last = results[6].as_ref().unwrap().line();
    assert_eq!(last.status().unwrap(), Some(404));
    assert_eq!(last.sc_bytes().unwrap(), None);
    assert_eq!(stats.lines, 9);
    assert_eq!(stats.records, 4);
    assert_eq!(stats.header_lines, 2);
    assert_eq!(stats.rejected, 3);
    assert_eq!(
        stats.records + stats.rejected + stats.header_lines + stats.blank_lines,
        stats.lines
    );
}

#[test]
fn an_over_long_line_is_reported_once_and_skipped() {
    let mut input = b"#Fields: sc-status cs-uri-stem\n200\t/ok\n404\t/".to_vec();
    input.extend(std::iter::repeat_n(b'x', 100_000));
    input.extend_from_slice(b"\n301\t/next\n");
    let mut builder = DecoderBuilder::new();
    builder.max_line_len(1024);
    let (results, stats) = read(&input, &builder);
    assert_eq!(results.len(), 3);
    let err = results[1].as_ref().unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::LineTooLong { limit: 1024, .. }
    ));
    assert_eq!(err.position().unwrap().line(), 3);
    assert_eq!(
        results[2].as_ref().unwrap().line().status().unwrap(),
        Some(301)
    );
    assert_eq!(stats.rejected, 1);
    assert_eq!(stats.lines, 4);
}
