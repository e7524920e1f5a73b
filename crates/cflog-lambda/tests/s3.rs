//! The handler against a real S3-compatible server (s3s-fs over HTTP,
//! started in-process), talked to with the real aws-sdk-s3 client. Faults a
//! real server will not produce on demand go through a fault proxy.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use cflog_lambda::{Config, FailureKind, Handler, HandlerError, Response};
use cflog_pipeline::s3::{ObjectError, process_object};
use std::task::{Context, Poll};

use cflog_pipeline::sink::{Delivery, EntryError, NdjsonSink, Sink, Source, Verdict};
use cflog_testkit::{
    CapturedStderr, Fault, FaultProxy, S3Server, SharedOutput, gzip, gzip_members, testdata,
};
use serde_json::{Value, json};

const BUCKET: &str = "cf-logs";

fn default_config() -> Config {
    Config::from_lookup(|_| None).unwrap()
}

fn handler(client: Client, config: Config) -> (Handler, SharedOutput) {
    let output = SharedOutput::default();
    let out = output.clone();
    let selection = config.selection.clone();
    let handler = Handler::with_sinks(client, config, move |_: &Source<'_>| {
        NdjsonSink::with_selection(out.clone(), selection.clone())
    })
    .reports_to(CapturedStderr)
    .metrics_to(CapturedStderr);
    (handler, output)
}

/// How S3 writes a key into an event: form-URL-encoded, `/` kept.
fn event_key(key: &str) -> String {
    key.split('/')
        .map(|part| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
}

fn event(bucket: &str, keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2025-12-11T06:05:16.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "192.0.2.10"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "x"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "cflog",
                    "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{bucket}")},
                    "object": {"key": event_key(key), "size": 1, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"}
                }
            })
        })
        .collect();
    json!({ "Records": records })
}

async fn server_with(objects: &[(&str, Vec<u8>)]) -> S3Server {
    let server = S3Server::start().await;
    server.create_bucket(BUCKET).await;
    for (key, body) in objects {
        server.put(BUCKET, key, body.clone()).await;
    }
    server
}

async fn run(
    objects: &[(&str, Vec<u8>)],
    keys: &[&str],
) -> (Result<Response, HandlerError>, SharedOutput) {
    let server = server_with(objects).await;
    let (handler, output) = handler(server.client(), default_config());
    let result = handler.handle(event(BUCKET, keys)).await;
    (result, output)
}

fn only(response: &Response) -> &cflog_lambda::ObjectReport {
    assert_eq!(response.objects().len(), 1);
    &response.objects()[0]
}

#[tokio::test]
async fn a_gzip_object_becomes_ndjson_entries() {
    let log = testdata("aws-docs-33-fields.log");
    let (result, output) = run(
        &[("E1.2019-12-04-21.a1b2c3d4.gz", gzip(&log))],
        &["E1.2019-12-04-21.a1b2c3d4.gz"],
    )
    .await;
    let response = result.unwrap();
    let report = only(&response);
    assert_eq!(report.status, "ok");
    assert!(report.summary.gzip);
    assert_eq!(report.summary.bytes, log.len() as u64);
    assert_eq!(report.summary.compressed_bytes, gzip(&log).len() as u64);
    assert_eq!(
        (
            report.summary.lines,
            report.summary.entries,
            report.summary.header_lines
        ),
        (8, 6, 2)
    );
    let entries = output.entries();
    assert_eq!(entries.len(), 6);
    // Values as in the AWS example file (format specification §6.1).
    assert_eq!(entries[0]["timestamp"], "2019-12-04T21:02:31Z");
    assert_eq!(entries[0]["sc_bytes"], 392);
    assert_eq!(entries[0]["time_taken"], 0.001);
    assert_eq!(entries[3]["x_edge_detailed_result_type"], "OriginDnsError");
    assert_eq!(entries[5]["cs_user_agent"], "curl/7.55.1");
}

#[tokio::test]
async fn multi_member_plain_empty_and_header_only_objects() {
    let log = testdata("aws-docs-33-fields.log");
    let text = String::from_utf8(log.clone()).unwrap();
    let (head, tail) = text.split_at(text.find("2019-12-13").unwrap() + 5); // a line split across members
    let objects = [
        (
            "multi.gz",
            gzip_members(&[head.as_bytes(), tail.as_bytes()]),
        ),
        ("plain.log", log.clone()),
        ("empty.gz", Vec::new()),
        (
            "headers.gz",
            gzip(b"#Version: 1.0\n#Fields: date time sc-status\n"),
        ),
    ];
    let keys: Vec<&str> = objects.iter().map(|(k, _)| *k).collect();
    let (result, output) = run(&objects, &keys).await;
    let response = result.unwrap();
    let counts: Vec<(&str, u64, u64, bool)> = response
        .objects()
        .iter()
        .map(|r| {
            (
                r.status.as_str(),
                r.summary.entries,
                r.summary.lines,
                r.summary.gzip,
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("ok", 6, 8, true),
            ("ok", 6, 8, false),
            ("ok", 0, 0, false),
            ("ok", 0, 2, true)
        ]
    );
    assert_eq!(output.entries().len(), 12);
}

#[tokio::test]
async fn encoded_keys_are_decoded() {
    let log = gzip(&testdata("real-33-fields-2025.log"));
    let keys = [
        "cf logs/with+plus/E1.2025-12-11-05.2f7f926e.gz",
        "AWSLogs/DistributionId=EHLMG1T8SOX48/year=2025/month=12/E1.gz",
        "journaux/été/日本/E1.gz",
    ];
    let objects: Vec<(&str, Vec<u8>)> = keys.iter().map(|k| (*k, log.clone())).collect();
    let (result, output) = run(&objects, &keys).await;
    let response = result.unwrap();
    let decoded: Vec<&str> = response.objects().iter().map(|r| r.key.as_str()).collect();
    assert_eq!(decoded, keys);
    assert!(
        response
            .objects()
            .iter()
            .all(|r| r.status == "ok" && r.summary.entries == 1)
    );
    assert_eq!(output.entries().len(), 3);
}

#[tokio::test]
async fn every_standard_format_in_one_event_each_told_by_its_first_line() {
    // v2 as CloudFront writes it under Hive-style keys (`=` arrives as `%3D`).
    let hive = "AWSLogs/aws-account-id=123456789012/CloudFront/DistributionId=E1ABCDEF/\
                year=2024/month=11/day=15/hour=19/E1ABCDEF.2024-11-15-19.abcdef01.gz";
    let objects = [
        (hive, gzip(&testdata("v2-json-aws-docs.ndjson"))),
        (
            "v2/E1.2025-01-18-20.w3c.gz",
            gzip(&testdata("v2-w3c-39-fields.log")),
        ),
        (
            "legacy/E1.2019-12-04-21.gz",
            gzip(&testdata("aws-docs-33-fields.log")),
        ),
    ];
    let keys: Vec<&str> = objects.iter().map(|(k, _)| *k).collect();
    let (result, output) = run(&objects, &keys).await;
    let response = result.unwrap();
    let reports: Vec<(&str, &str, u64, u64)> = response
        .objects()
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.status.as_str(),
                r.summary.entries,
                r.summary.rejected,
            )
        })
        .collect();
    // Entries: the data lines of each file (2 objects, 1 record, 6 records).
    assert_eq!(
        reports,
        [
            (hive, "ok", 2, 0),
            (keys[1], "ok", 1, 0),
            (keys[2], "ok", 6, 0)
        ]
    );
    // Objects are read concurrently, so find the JSON one's entries by value.
    let entries = output.entries();
    let first = entries
        .iter()
        .find(|e| e["timestamp_ms"] == 1731699951183u64)
        .expect("the first v2 JSON object");
    assert_eq!(first["timestamp"], "2024-11-15T19:45:51.183Z");
    assert_eq!(first["asn"], 16509);
    assert_eq!(first["x_edge_location"], "SOF50-P2");
    assert!(entries.iter().any(|e| e["origin_fbl"] == 0.125));
    assert_eq!(entries.len(), 9);
}

#[tokio::test]
async fn a_json_object_read_as_w3c_by_configuration_is_not_a_cloudfront_log() {
    let server = server_with(&[("E1.gz", gzip(&testdata("v2-json-aws-docs.ndjson")))]).await;
    let config =
        Config::from_lookup(|name| (name == "CFLOG_INPUT_FORMAT").then(|| "w3c".into())).unwrap();
    let (handler, output) = handler(server.client(), config);
    let err = handler.handle(event(BUCKET, &["E1.gz"])).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::NotACloudFrontLog);
    assert!(output.entries().is_empty());
}

#[tokio::test]
async fn the_sample_event_key_decodes_as_documented() {
    // testdata/s3-event-encoded-key.json: `cf+logs/year%3D2025/…` is `cf logs/year=2025/…`.
    let key = "cf logs/year=2025/EMLARXS9EXAMPLE.2025-12-11-05.2f7f926e.gz";
    let server = server_with(&[(key, gzip(&testdata("real-33-fields-2025.log")))]).await;
    let mut payload: Value =
        serde_json::from_slice(&testdata("s3-event-encoded-key.json")).unwrap();
    payload["Records"][0]["s3"]["bucket"]["name"] = json!(BUCKET);
    let (handler, output) = handler(server.client(), default_config());
    let response = handler.handle(payload).await.unwrap();
    assert_eq!(only(&response).key, key);
    assert_eq!(output.entries()[0]["x_edge_location"], "HEL51-P6");
}

#[tokio::test]
async fn a_missing_object_is_skipped_and_the_others_processed() {
    let log = gzip(&testdata("aws-docs-33-fields.log"));
    let (result, output) = run(&[("there.gz", log)], &["gone.gz", "there.gz"]).await;
    let response = result.unwrap();
    assert_eq!(response.objects()[0].status, "skipped");
    assert!(
        response.objects()[0]
            .error
            .as_deref()
            .unwrap()
            .contains("does not exist")
    );
    assert_eq!(response.objects()[1].status, "ok");
    assert_eq!(output.entries().len(), 6);
}

#[tokio::test]
async fn corrupt_and_truncated_gzip_fail_with_a_summary() {
    let log = testdata("aws-docs-33-fields.log");
    let whole = gzip(&log);
    let mut corrupt = whole.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle..middle + 8].copy_from_slice(b"garbage!");
    let truncated = whole[..whole.len() - 20].to_vec();
    for (name, body) in [("corrupt.gz", corrupt), ("truncated.gz", truncated)] {
        let (result, _) = run(&[(name, body)], &[name]).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind, FailureKind::CorruptGzip, "{name}: {err}");
        assert!(err.message.contains(name), "{err}");
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "CorruptGzip");
    }
}

#[tokio::test]
async fn an_object_that_is_not_a_log_fails() {
    let (result, output) = run(
        &[(
            "photo.gz",
            gzip(&[0x89, b'P', b'N', b'G', 0, 1, 2, 3, b'\n', 0xff, 0xfe]),
        )],
        &["photo.gz"],
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, FailureKind::NotACloudFrontLog);
    assert!(output.entries().is_empty());
}

#[tokio::test]
async fn bad_lines_invalid_utf8_and_long_lines_never_fail_the_object() {
    let mut log = testdata("aws-docs-33-fields.log");
    log.extend_from_slice(b"only\tthree\tfields\n");
    // Invalid UTF-8 in a text field: an entry, with U+FFFD in its JSON.
    let line = String::from_utf8(testdata("real-33-fields-2025.log"))
        .unwrap()
        .lines()
        .nth(2)
        .unwrap()
        .replace("NewsBlur", "News\u{1}Blur");
    let mut bad_utf8 = line.into_bytes();
    let at = bad_utf8.iter().position(|&b| b == 1).unwrap();
    bad_utf8[at] = 0xff;
    log.extend_from_slice(&bad_utf8);
    log.push(b'\n');
    log.extend(std::iter::repeat_n(b'x', 100_000));
    log.push(b'\n');
    let (result, output) = run(&[("mixed.gz", gzip(&log))], &["mixed.gz"]).await;
    let response = result.unwrap();
    let summary = &only(&response).summary;
    assert_eq!(
        (summary.entries, summary.rejected, summary.lines),
        (7, 2, 11)
    );
    assert_eq!(summary.rejected_by_reason.get("field_count"), Some(&1));
    assert_eq!(summary.rejected_by_reason.get("line_too_long"), Some(&1));
    assert_eq!(
        summary.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        [9, 11]
    );
    assert!(summary.reconciles());
    assert!(
        output.entries()[6]["cs_user_agent"]
            .as_str()
            .unwrap()
            .starts_with("News\u{FFFD}Blur")
    );
}

#[tokio::test]
async fn the_test_event_is_acknowledged_and_garbage_refused() {
    let server = S3Server::start().await;
    let (handler, _) = handler(server.client(), default_config());
    let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2025-12-11T06:05:16.000Z", "Bucket": BUCKET, "RequestId": "x", "HostId": "y"});
    assert!(
        handler
            .handle(test_event)
            .await
            .unwrap()
            .objects()
            .is_empty()
    );
    let err = handler.handle(json!({"hello": "world"})).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::BadEvent);
}

#[tokio::test]
async fn a_large_object_is_streamed_and_every_line_accounted_for() {
    const LINES: usize = 200_000;
    let sample = String::from_utf8(testdata("aws-docs-33-fields.log")).unwrap();
    let records: Vec<&str> = sample.lines().skip(2).collect();
    let mut log = String::with_capacity(LINES * 420);
    log.push_str("#Version: 1.0\n");
    log.push_str(sample.lines().nth(1).unwrap());
    log.push('\n');
    let mut bad = 0;
    for i in 0..LINES - 2 {
        if i % 997 == 0 {
            log.push_str("2019-12-04\t21:02:31\ttruncated\n");
            bad += 1;
        } else {
            log.push_str(records[i % records.len()]);
            log.push('\n');
        }
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(log.as_bytes()).unwrap();
    let body = encoder.finish().unwrap();

    let server = server_with(&[("big.gz", body)]).await;
    let counted = Arc::new(Mutex::new(0u64));
    let count = Arc::clone(&counted);
    let handler = Handler::with_sinks(server.client(), default_config(), move |_: &Source<'_>| {
        Counting {
            count: Arc::clone(&count),
            seen: 0,
        }
    })
    .reports_to(CapturedStderr)
    .metrics_to(CapturedStderr);
    let response = handler.handle(event(BUCKET, &["big.gz"])).await.unwrap();
    let summary = &only(&response).summary;
    assert_eq!(summary.lines, LINES as u64);
    assert_eq!(summary.rejected, bad);
    assert_eq!(summary.entries + summary.rejected, LINES as u64 - 2);
    assert_eq!(*counted.lock().unwrap(), summary.entries);
    assert_eq!(summary.bytes, log.len() as u64);
}

/// A sink of our own: counts entries, checking each is a real parsed line.
struct Counting {
    count: Arc<Mutex<u64>>,
    seen: u64,
}

impl Sink for Counting {
    type Error = std::convert::Infallible;

    fn entry(
        &mut self,
        line: &cflog_core::LogLine<'_>,
    ) -> Result<Verdict, EntryError<Self::Error>> {
        assert!(line.status()?.is_some());
        self.seen += 1;
        Ok(Verdict::Continue)
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<Result<Delivery, Self::Error>> {
        *self.count.lock().unwrap() += self.seen;
        Poll::Ready(Ok(Delivery {
            entries: std::mem::take(&mut self.seen),
            bytes: 0,
            ..Delivery::default()
        }))
    }
}

/// A client through a fault proxy, with quick retries and timeouts.
async fn faulty_handler(server: &S3Server, fault: Fault) -> (Handler, FaultProxy) {
    let proxy = FaultProxy::start(&server.endpoint, fault).await;
    let config = server
        .client()
        .config()
        .to_builder()
        .endpoint_url(&proxy.endpoint)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(500))
                .build(),
        )
        .build();
    let (handler, _) = handler(Client::from_conf(config), default_config());
    (handler, proxy)
}

#[tokio::test]
async fn transient_s3_failures_fail_the_invocation_for_a_retry() {
    let big: String = String::from_utf8(testdata("aws-docs-33-fields.log"))
        .unwrap()
        .repeat(2000);
    // Stored uncompressed-ish so that the body is large enough to be cut mid-stream.
    let server = server_with(&[
        ("E1.gz", gzip(big.as_bytes())),
        ("plain.log", big.into_bytes()),
    ])
    .await;
    for (fault, key) in [
        (Fault::Status(503), "E1.gz"),
        (Fault::Status(500), "E1.gz"),
        (Fault::Hang, "E1.gz"),
        (Fault::CutResponseAfter(20_000), "E1.gz"),
        (Fault::CutResponseAfter(20_000), "plain.log"),
    ] {
        let (handler, _proxy) = faulty_handler(&server, fault).await;
        let err = handler.handle(event(BUCKET, &[key])).await.unwrap_err();
        assert_eq!(
            err.kind,
            FailureKind::S3Transient,
            "{fault:?} on {key}: {err}"
        );
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "S3Transient");
        // The SDK's whole chain of causes, not just "dispatch failure".
        assert!(
            diagnostic.error_message.len() > 40,
            "{}",
            diagnostic.error_message
        );
    }
}

/// The body of a failing object: every entry parsed before the failure is
/// written, and the summary counts exactly those (it counted a last block
/// that was never written: 2,562 counted, 2,550 written).
#[tokio::test]
async fn an_object_that_fails_part_way_delivers_and_counts_what_was_read() {
    let log = String::from_utf8(testdata("aws-docs-33-fields.log"))
        .unwrap()
        .repeat(500);
    let whole = gzip(log.as_bytes());
    let truncated = whole[..whole.len() * 3 / 5].to_vec();
    let mut trailing = gzip(&testdata("aws-docs-33-fields.log"));
    trailing.extend_from_slice(b"this is not a gzip member");
    let server = server_with(&[("truncated.gz", truncated), ("trailing.gz", trailing)]).await;
    for key in ["truncated.gz", "trailing.gz"] {
        let output = SharedOutput::default();
        let sink = NdjsonSink::new(output.clone());
        let options = default_config().options;
        let err = process_object(&server.client(), BUCKET, key, &options, sink)
            .await
            .unwrap_err();
        let ObjectError::Body {
            source, summary, ..
        } = err
        else {
            panic!("{key}: not a body error: {err}");
        };
        assert_eq!(FailureKind::of_input(&source), FailureKind::CorruptGzip);
        assert!(summary.entries > 0, "{key}: {summary:?}");
        assert_eq!(output.entries().len() as u64, summary.entries, "{key}");
        assert!(summary.reconciles(), "{key}: {summary:?}");
        // The cut line, if the failure fell inside one, is counted.
        let cut = summary.rejected_by_reason.get("truncated").copied();
        assert!(matches!(cut, None | Some(1)), "{key}: {summary:?}");
    }
}

/// A client for `server` with its own credentials and quick retries.
fn client_with(server: &S3Server, endpoint: &str, secret: &str) -> Client {
    let config = server
        .client()
        .config()
        .to_builder()
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            cflog_testkit::ACCESS_KEY,
            secret,
            None,
            None,
            "test",
        ))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .build();
    Client::from_conf(config)
}

/// S3's refusals that a retry cannot fix each have an errorType of their
/// own; they were all `S3Transient`. The real server refuses wrong
/// credentials; an archived object, a missing bucket (s3s-fs answers
/// `NoSuchKey` for it, where S3 answers `NoSuchBucket`) and a bad request
/// go through the proxy.
#[tokio::test]
async fn permanent_s3_refusals_are_told_apart_from_transient_ones() {
    let server = server_with(&[("E1.gz", gzip(&testdata("aws-docs-33-fields.log")))]).await;
    let archived = FaultProxy::start(
        &server.endpoint,
        Fault::S3Error {
            status: 403,
            code: "InvalidObjectState",
        },
    )
    .await;
    let refused = FaultProxy::start(
        &server.endpoint,
        Fault::S3Error {
            status: 400,
            code: "InvalidArgument",
        },
    )
    .await;
    let no_bucket = FaultProxy::start(
        &server.endpoint,
        Fault::S3Error {
            status: 404,
            code: "NoSuchBucket",
        },
    )
    .await;
    let secret = cflog_testkit::SECRET_KEY;
    for (client, bucket, kind, code) in [
        (
            client_with(&server, &no_bucket.endpoint, secret),
            "no-such-bucket",
            FailureKind::S3Permanent,
            "NoSuchBucket",
        ),
        (
            client_with(&server, &server.endpoint, "a-wrong-secret"),
            BUCKET,
            FailureKind::S3AccessDenied,
            "SignatureDoesNotMatch",
        ),
        (
            client_with(&server, &archived.endpoint, secret),
            BUCKET,
            FailureKind::S3ObjectArchived,
            "InvalidObjectState",
        ),
        (
            client_with(&server, &refused.endpoint, secret),
            BUCKET,
            FailureKind::S3Permanent,
            "InvalidArgument",
        ),
    ] {
        let (handler, output) = handler(client, default_config());
        let err = handler.handle(event(bucket, &["E1.gz"])).await.unwrap_err();
        assert_eq!(err.kind, kind, "{err}");
        assert!(err.kind.is_permanent());
        // One line with the code, the URI and the status, not the SDK's dump.
        let message = &err.message;
        assert!(message.contains(code), "{message}");
        assert!(
            message.contains(&format!("s3://{bucket}/E1.gz")),
            "{message}"
        );
        assert!(message.contains("HTTP 4"), "{message}");
        assert!(
            !message.contains('\n') && !message.contains("<?xml"),
            "{message}"
        );
        assert!(message.len() < 300, "{} bytes: {message}", message.len());
        assert!(output.entries().is_empty());
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, kind.name());
    }
    // The proxy's answers carry a request id, which the message gives.
    let (handler, _) = handler(
        client_with(&server, &archived.endpoint, secret),
        default_config(),
    );
    let err = handler.handle(event(BUCKET, &["E1.gz"])).await.unwrap_err();
    assert!(
        err.message.contains(cflog_testkit::FAULT_REQUEST_ID),
        "{}",
        err.message
    );
}

/// One invocation with a transient and a permanent failure fails as
/// transient, so that Lambda's retry gets the object that can succeed.
#[tokio::test]
async fn a_transient_failure_beside_a_permanent_one_is_retried() {
    let big = String::from_utf8(testdata("aws-docs-33-fields.log"))
        .unwrap()
        .repeat(2000);
    let mut corrupt = gzip(&testdata("aws-docs-33-fields.log"));
    let middle = corrupt.len() / 2;
    corrupt[middle..middle + 8].copy_from_slice(b"garbage!");
    let server = server_with(&[("big.gz", gzip(big.as_bytes())), ("corrupt.gz", corrupt)]).await;
    // Cuts the big object's body; the small one arrives whole.
    let (handler, _proxy) = faulty_handler(&server, Fault::CutResponseAfter(20_000)).await;
    let err = handler
        .handle(event(BUCKET, &["corrupt.gz", "big.gz"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::S3Transient, "{err}");
    assert!(err.message.starts_with("2 of 2 objects failed"), "{err}");
    assert!(err.message.contains("corrupt or truncated"), "{err}");
}

/// Application JSON logs and other compressions under the log prefix are
/// not CloudFront logs: nothing is written and the object fails with its
/// cause. The JSON lines were each written as an entry.
#[tokio::test]
async fn application_json_logs_and_other_compressions_are_not_entries() {
    let app_logs = b"{\"level\":\"info\",\"msg\":\"started\",\"pid\":42}\n{\"level\":\"warn\",\"msg\":\"slow\"}\n{\"date\":\"2024-11-15\",\"sc-status\":200}\n";
    let zstd = [0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x05, 0x29, 0x00, 0x00];
    for (key, body, kind) in [
        ("app.gz", gzip(app_logs), FailureKind::NotACloudFrontLog),
        ("E1.zst", zstd.to_vec(), FailureKind::UnsupportedCompression),
    ] {
        let (result, output) = run(&[(key, body)], &[key]).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind, kind, "{key}: {err}");
        assert!(output.entries().is_empty(), "{key}");
    }
}

/// `CFLOG_OUTPUT_FORMAT=csv`: each object's rows under a header row of the
/// standard columns, every cell the JSON contract's value for that key (the
/// same objects read again as NDJSON), and nothing lost when two objects'
/// blocks alternate.
#[tokio::test]
async fn the_function_writes_csv_when_asked() {
    let objects = [
        (
            "E1.2019-12-04-21.a.gz",
            gzip(&testdata("aws-docs-33-fields.log")),
        ),
        (
            "E1.2025-01-01-00.b.gz",
            gzip(&testdata("v2-w3c-39-fields.log")),
        ),
    ];
    let keys = ["E1.2019-12-04-21.a.gz", "E1.2025-01-01-00.b.gz"];
    let server = server_with(&objects).await;
    let read = |format: &'static str| {
        let server = &server;
        async move {
            let config = Config::from_lookup(|name| {
                (name == "CFLOG_OUTPUT_FORMAT").then(|| format.to_owned())
            })
            .unwrap();
            let output = SharedOutput::default();
            let out = output.clone();
            let sinks = cflog_lambda::sinks::configured_sinks(&config, move || out.clone());
            let handler = Handler::with_sinks(server.client(), config, sinks)
                .reports_to(CapturedStderr)
                .metrics_to(CapturedStderr);
            let response = handler.handle(event(BUCKET, &keys)).await.unwrap();
            (response, output)
        }
    };
    let (json_response, json) = read("ndjson").await;
    let (csv_response, csv) = read("csv").await;
    let entries = json.entries();
    let delivered: u64 = csv_response
        .objects()
        .iter()
        .map(|o| o.summary.delivered.entries)
        .sum();
    assert_eq!(delivered, entries.len() as u64);
    assert_eq!(
        csv_response.objects()[1].summary.entries,
        json_response.objects()[1].summary.entries
    );

    let written = csv.bytes();
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&written[..]);
    let mut header: Option<csv::StringRecord> = None;
    let mut cells = Vec::new();
    for row in rows.records() {
        let row = row.unwrap();
        match &header {
            // Each object's output starts with the same header row.
            Some(h) if *h == row => continue,
            Some(_) => cells.push(row),
            None => header = Some(row),
        }
    }
    let header = header.unwrap();
    assert_eq!(&header[0], "timestamp");
    assert_eq!(cells.len(), entries.len());
    // Objects run concurrently, so their rows may come in either order:
    // match each entry to a row of the same request id.
    let id = header
        .iter()
        .position(|k| k == "x_edge_request_id")
        .unwrap();
    for entry in &entries {
        let row = cells
            .iter()
            .find(|row| entry["x_edge_request_id"] == row[id])
            .unwrap_or_else(|| panic!("no row for {entry}"));
        for (key, cell) in header.iter().zip(row.iter()) {
            let expected = match &entry[key] {
                Value::Null => String::new(),
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            assert_eq!(cell, expected, "{key} of {entry}");
        }
    }
}

#[tokio::test]
async fn the_s3_sink_writes_parquet_per_hour_and_a_redelivery_the_same_objects() {
    let key = "cloudfront/E2EXAMPLE.2019-12-04-21.a1b2c3d4.gz";
    let log = testdata("aws-docs-33-fields.log");
    let server = server_with(&[(key, gzip(&log))]).await;
    server.create_bucket("athena").await;
    let config = Config::from_lookup(|name| match name {
        "CFLOG_SINK" => Some("s3".into()),
        "CFLOG_OUTPUT_BUCKET" => Some("athena".into()),
        "CFLOG_OUTPUT_PREFIX" => Some("requests".into()),
        _ => None,
    })
    .unwrap();
    let handler = Handler::new(server.client(), config)
        .unwrap()
        .reports_to(CapturedStderr)
        .metrics_to(CapturedStderr);
    let response = handler.handle(event(BUCKET, &[key])).await.unwrap();
    let [report] = response.objects() else {
        panic!("{response:?}");
    };
    // Each entry in the partition of its own hour, the object named after
    // the log file.
    let objects = &report.summary.delivered.objects;
    let mut hours: Vec<String> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(|l| {
            let l = std::str::from_utf8(l).unwrap();
            format!(
                "year={}/month={}/day={}/hour={}",
                &l[0..4],
                &l[5..7],
                &l[8..10],
                &l[11..13]
            )
        })
        .collect();
    let entries = hours.len() as u64;
    assert_eq!(report.summary.entries, entries, "{report:?}");
    hours.sort();
    hours.dedup();
    let expected: Vec<String> = hours
        .iter()
        .map(|hour| {
            format!(
                "s3://athena/requests/distribution=E2EXAMPLE/{hour}/E2EXAMPLE.2019-12-04-21.a1b2c3d4.parquet"
            )
        })
        .collect();
    let uris: Vec<&str> = objects.iter().map(|o| o.uri.as_str()).collect();
    assert_eq!(uris, expected);
    let written: u64 = objects.iter().map(|o| o.entries).sum();
    assert_eq!(written, entries);
    for object in objects {
        let path = object.uri.strip_prefix("s3://").unwrap();
        let file = std::fs::read(server.root().join(path)).unwrap();
        assert_eq!(
            (&file[..4], &file[file.len() - 4..]),
            (&b"PAR1"[..], &b"PAR1"[..])
        );
        assert_eq!(file.len() as u64, object.bytes);
    }
    // The report lists them.
    let json = serde_json::to_value(report).unwrap();
    assert_eq!(
        json["delivered"]["objects"].as_array().unwrap().len(),
        objects.len()
    );

    let again = handler.handle(event(BUCKET, &[key])).await.unwrap();
    assert_eq!(
        again.objects()[0].summary.delivered,
        report.summary.delivered
    );
}
