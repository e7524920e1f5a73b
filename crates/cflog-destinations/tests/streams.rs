//! The stream destinations against a real server: moto, a child process
//! on a loopback port, which speaks Firehose, Kinesis Data Streams, SQS and
//! S3 over HTTP. What the destinations sent is read back through the
//! services' own read APIs (GetRecords, ReceiveMessage, and the S3 objects
//! moto's Firehose delivers) and compared, entry by entry, with the NDJSON
//! of the same input. Faults moto cannot produce (refused records,
//! throttling, a reset after the server took a call) come from
//! `BatchFaultProxy` in front of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cflog_destinations::pack::{Limits, Packing};
use cflog_destinations::retry::RetryPolicy;
use cflog_destinations::stream::{
    BatchService, Failure, Firehose, Kinesis, Sqs, StreamDestination, StreamOptions,
    StreamSinkError,
};
use cflog_pipeline::sink::{NdjsonSink, SinkFactory, Source};
use cflog_pipeline::{Options, Pipeline, PipelineError, Summary};
use cflog_testkit::{
    BatchFault, BatchFaultProxy, MOTO_ACCESS_KEY, MOTO_REGION, MOTO_SECRET_KEY, MotoServer,
    kinesis_records, sqs_messages,
};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every standard or v2 log of `testdata/` (real-time records need their
/// fields configured, and are covered by the Lambda's tests), and a
/// generated corpus with bad lines.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(repo().join("testdata"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|e| e == "log" || e == "ndjson")
        })
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 10, "{} testdata logs", inputs.len());
    inputs.push(("generated".into(), generated(3000)));
    inputs
}

/// A generated 33-field log of `lines` lines, some of them bad.
fn generated(lines: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.log");
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen_cflog.py"))
        .args(["--seed", "11", "--lines", &lines.to_string()])
        .args(["--bad-rate", "0.01", "--out"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(path).unwrap()
}

/// The NDJSON lines of `log`, as the stdout sink writes them.
fn ndjson_lines(log: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
    let _ = pipeline.push(log).unwrap();
    pipeline.blocking_finish().unwrap();
    drop(pipeline);
    lines(&out)
}

fn lines(data: &[u8]) -> Vec<String> {
    String::from_utf8(data.to_vec())
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect()
}

/// How many times each line occurs.
fn counted(lines: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line).or_default() += 1;
    }
    counts
}

/// Retries quick enough for a test, as patient as the default in count.
fn options() -> StreamOptions {
    StreamOptions::default().retry(RetryPolicy {
        attempts: 8,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(40),
    })
}

/// Sends `log` through `destination` as the Lambda and the command line
/// do: pushed in chunks, waiting for the sink between them.
async fn send<S: BatchService>(
    destination: &StreamDestination<S>,
    options: &Options,
    log: &[u8],
) -> Result<Summary, PipelineError<StreamSinkError>> {
    let mut pipeline = Pipeline::new(options, destination.open(&Source::Stdin));
    for chunk in log.chunks(64 * 1024) {
        let _ = pipeline.push(chunk)?;
        pipeline.ready().await?;
    }
    pipeline.finish().await
}

macro_rules! client {
    ($sdk:ident, $endpoint:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version_latest()
                .region($sdk::config::Region::new(MOTO_REGION))
                .credentials_provider($sdk::config::Credentials::new(
                    MOTO_ACCESS_KEY,
                    MOTO_SECRET_KEY,
                    None,
                    None,
                    "moto",
                ))
                .endpoint_url($endpoint)
                .build(),
        )
    };
}

fn kinesis_client(endpoint: &str) -> aws_sdk_kinesis::Client {
    client!(aws_sdk_kinesis, endpoint)
}

fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    client!(aws_sdk_sqs, endpoint)
}

fn firehose_client(endpoint: &str) -> aws_sdk_firehose::Client {
    client!(aws_sdk_firehose, endpoint)
}

async fn create_stream(client: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
}

/// The bucket moto's Firehose streams deliver to.
const DELIVERED: &str = "delivered";

/// A Direct PUT delivery stream `name` that delivers to [`DELIVERED`]
/// under `prefix`.
async fn create_delivery_stream(client: &aws_sdk_firehose::Client, name: &str, prefix: &str) {
    client
        .create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .bucket_arn(format!("arn:aws:s3:::{DELIVERED}"))
                .role_arn("arn:aws:iam::123456789012:role/firehose")
                .prefix(prefix)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// The objects Firehose delivered under `prefix`, each one's bytes.
async fn delivered_objects(s3: &aws_sdk_s3::Client, prefix: &str) -> Vec<Vec<u8>> {
    let listed = s3
        .list_objects_v2()
        .bucket(DELIVERED)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut objects = Vec::new();
    for object in listed.contents() {
        let body = s3
            .get_object()
            .bucket(DELIVERED)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap();
        objects.push(body.into_bytes().to_vec());
    }
    objects
}

#[tokio::test]
async fn kinesis_records_hold_the_ndjson_of_each_input_one_entry_each() {
    let moto = MotoServer::start().await;
    let client = kinesis_client(moto.endpoint());
    let inputs = inputs();
    for (i, (name, log)) in inputs.iter().enumerate() {
        let stream = format!("cflog-{i}");
        create_stream(&client, &stream, 2).await;
        let destination = StreamDestination::new(Kinesis::new(client.clone(), &stream), options());
        let summary = send(&destination, &Options::default(), log).await.unwrap();
        let records = kinesis_records(&client, &stream).await;
        let expected = ndjson_lines(log);
        assert_eq!(summary.delivered.entries as usize, expected.len(), "{name}");
        assert_eq!(summary.delivered.records as usize, records.len(), "{name}");
        assert_eq!(summary.delivered.retried_records, 0, "{name}");
        // One entry per record, keyed by its request id where it has one.
        let mut got = Vec::new();
        for (key, data) in records {
            let entry = lines(&data);
            assert_eq!(entry.len(), 1, "{name}: one entry per record");
            let value: Value = serde_json::from_str(&entry[0]).unwrap();
            if let Some(id) = value["x_edge_request_id"].as_str() {
                assert_eq!(key, id, "{name}");
            }
            got.extend(entry);
        }
        assert_eq!(counted(got), counted(expected), "{name}");
        let calls = summary.delivered.requests;
        assert_eq!(
            calls,
            summary.delivered.records.div_ceil(500),
            "{name}: full calls"
        );
    }
}

#[tokio::test]
async fn packed_kinesis_records_are_whole_lines_within_a_mebibyte() {
    let moto = MotoServer::start().await;
    let client = kinesis_client(moto.endpoint());
    create_stream(&client, "packed", 1).await;
    let log = generated(5000);
    let service = Kinesis::new(client.clone(), "packed").packing(Packing::Packed);
    let destination = StreamDestination::new(service, options());
    let summary = send(&destination, &Options::default(), &log).await.unwrap();
    let records = kinesis_records(&client, "packed").await;
    assert_eq!(records.len() as u64, summary.delivered.records);
    assert!(
        records.len() < 10,
        "{} records for 5000 entries",
        records.len()
    );
    let mut got = Vec::new();
    for (key, data) in &records {
        assert!(data.len() + key.len() <= Limits::KINESIS.record_bytes);
        assert_eq!(data.last(), Some(&b'\n'));
        got.extend(lines(data));
    }
    assert_eq!(got, ndjson_lines(&log), "in order, once each");
}

#[tokio::test]
async fn sqs_messages_hold_the_ndjson_of_each_input() {
    let moto = MotoServer::start().await;
    let client = sqs_client(moto.endpoint());
    for (i, (name, log)) in inputs().iter().enumerate() {
        let queue = client
            .create_queue()
            .queue_name(format!("cflog-{i}"))
            .send()
            .await
            .unwrap();
        let url = queue.queue_url().unwrap();
        let destination = StreamDestination::new(Sqs::new(client.clone(), url), options());
        let summary = send(&destination, &Options::default(), log).await.unwrap();
        let bodies = sqs_messages(&client, url).await;
        assert_eq!(summary.delivered.records as usize, bodies.len(), "{name}");
        let mut got = Vec::new();
        for body in &bodies {
            assert!(body.len() <= Limits::SQS.record_bytes, "{name}");
            got.extend(lines(body.as_bytes()));
        }
        assert_eq!(counted(got), counted(ndjson_lines(log)), "{name}");
    }
}

#[tokio::test]
async fn a_fifo_queue_drops_a_redelivered_input_by_its_deduplication_ids() {
    let moto = MotoServer::start().await;
    let client = sqs_client(moto.endpoint());
    let queue = client
        .create_queue()
        .queue_name("cflog.fifo")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    let url = queue.queue_url().unwrap();
    let sqs = Sqs::new(client.clone(), url);
    assert!(sqs.is_fifo());
    let destination = StreamDestination::new(sqs, options());
    let log = generated(2000);
    let first = send(&destination, &Options::default(), &log).await.unwrap();
    // The same object again, as S3 may deliver it: the same messages.
    let second = send(&destination, &Options::default(), &log).await.unwrap();
    assert_eq!(first.delivered, second.delivered);
    let bodies = sqs_messages(&client, url).await;
    assert_eq!(bodies.len() as u64, first.delivered.records, "stored once");
    let got: Vec<String> = bodies.iter().flat_map(|b| lines(b.as_bytes())).collect();
    assert_eq!(counted(got), counted(ndjson_lines(&log)));
}

#[tokio::test]
async fn firehose_delivers_the_ndjson_of_each_input_to_s3() {
    let moto = MotoServer::start().await;
    let s3 = moto.s3_client();
    let client = firehose_client(moto.endpoint());
    s3.create_bucket().bucket(DELIVERED).send().await.unwrap();
    for (i, (name, log)) in inputs().iter().enumerate() {
        let stream = format!("cflog-{i}");
        let prefix = format!("{stream}/");
        create_delivery_stream(&client, &stream, &prefix).await;
        let arn = format!("arn:aws:firehose:{MOTO_REGION}:123456789012:deliverystream/{stream}");
        let destination = StreamDestination::new(Firehose::new(client.clone(), arn), options());
        let summary = send(&destination, &Options::default(), log).await.unwrap();
        let mut got = Vec::new();
        for body in delivered_objects(&s3, &prefix).await {
            // Records back to back: still whole lines.
            assert_eq!(body.last(), Some(&b'\n'), "{name}");
            got.extend(lines(&body));
        }
        let expected = ndjson_lines(log);
        assert_eq!(
            summary.delivered.bytes as usize,
            expected.concat().len(),
            "{name}"
        );
        assert_eq!(counted(got), counted(expected), "{name}");
    }
}

#[tokio::test]
async fn only_refused_records_are_sent_again_and_the_summary_counts_them() {
    let moto = MotoServer::start().await;
    let direct = kinesis_client(moto.endpoint());
    create_stream(&direct, "faults", 2).await;
    let proxy = BatchFaultProxy::start(
        moto.endpoint(),
        vec![
            BatchFault::FailRecords(vec![0, 7, 499]),
            BatchFault::Throttle,
            BatchFault::FailRecords(vec![1]),
        ],
    )
    .await;
    let client = kinesis_client(proxy.endpoint());
    // One call at a time, so that the plan meets the calls in order.
    let destination = StreamDestination::new(
        Kinesis::new(client, "faults"),
        options().max_calls_in_flight(1),
    );
    let log = generated(1200);
    let summary = send(&destination, &Options::default(), &log).await.unwrap();
    let stats = proxy.stats();
    // Call 0 (500 records) lost three; call 1, their resend, was
    // throttled whole; call 2 resent the three again and lost one; call
    // 3 resent that one.
    let sizes: Vec<usize> = stats.calls.iter().map(|c| c.records.len()).collect();
    assert_eq!(&sizes[..4], [500, 3, 3, 1]);
    let first = &stats.calls[0].records;
    assert_eq!(
        stats.calls[1].records,
        [first[0].clone(), first[7].clone(), first[499].clone()]
    );
    assert_eq!(stats.calls[2].records, stats.calls[1].records);
    assert_eq!(stats.calls[3].records, [first[7].clone()]);
    assert_eq!(summary.delivered.retried_records, 3 + 3 + 1);
    assert_eq!(summary.delivered.requests as usize, stats.calls.len());
    // Nothing was stored twice, nothing lost.
    assert_eq!(stats.records_forwarded, summary.delivered.records as usize);
    let got: Vec<String> = kinesis_records(&direct, "faults")
        .await
        .into_iter()
        .flat_map(|(_, data)| lines(&data))
        .collect();
    assert_eq!(counted(got), counted(ndjson_lines(&log)));
}

#[tokio::test]
async fn a_call_reset_after_the_server_took_it_is_sent_again_at_least_once() {
    let moto = MotoServer::start().await;
    let direct = sqs_client(moto.endpoint());
    let queue = direct
        .create_queue()
        .queue_name("resets")
        .send()
        .await
        .unwrap();
    let url = queue.queue_url().unwrap();
    let proxy = BatchFaultProxy::start(
        moto.endpoint(),
        vec![BatchFault::Pass, BatchFault::ResetAfterForward],
    )
    .await;
    let destination = StreamDestination::new(
        Sqs::new(sqs_client(proxy.endpoint()), url),
        options().max_calls_in_flight(1),
    );
    let log = generated(2000);
    let summary = send(&destination, &Options::default(), &log).await.unwrap();
    let stats = proxy.stats();
    assert_eq!(stats.resets, 1);
    assert_eq!(
        stats.calls[2].records, stats.calls[1].records,
        "the reset call, again"
    );
    let resent = stats.calls[1].records.len();
    assert_eq!(summary.delivered.retried_records as usize, resent);
    // The reset call's messages arrived twice; every other once.
    let bodies = sqs_messages(&direct, url).await;
    assert_eq!(bodies.len(), summary.delivered.records as usize + resent);
    let mut expected = counted(ndjson_lines(&log));
    for body in &stats.calls[1].records {
        for line in lines(body.as_bytes()) {
            *expected.get_mut(&line).unwrap() += 1;
        }
    }
    let got: Vec<String> = bodies.iter().flat_map(|b| lines(b.as_bytes())).collect();
    assert_eq!(counted(got), expected);
}

#[tokio::test]
async fn throttled_past_the_budget_the_input_fails_and_says_what_got_through() {
    let moto = MotoServer::start().await;
    let client = firehose_client(moto.endpoint());
    let s3 = moto.s3_client();
    s3.create_bucket().bucket(DELIVERED).send().await.unwrap();
    create_delivery_stream(&client, "busy", "").await;
    let retry = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(2),
    };
    // The first call goes through; the second is throttled three times.
    let plan = vec![
        BatchFault::Pass,
        BatchFault::Throttle,
        BatchFault::Throttle,
        BatchFault::Throttle,
    ];
    let proxy = BatchFaultProxy::start(moto.endpoint(), plan).await;
    let destination = StreamDestination::new(
        Firehose::new(firehose_client(proxy.endpoint()), "busy"),
        options().retry(retry).max_calls_in_flight(1),
    );
    // Over 4 MiB of NDJSON: two calls or more.
    let log = generated(6000);
    let error = send(&destination, &Options::default(), &log)
        .await
        .unwrap_err()
        .0;
    match &error.failure {
        Failure::Call {
            attempts, error, ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(error.code.as_deref(), Some("ServiceUnavailableException"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(proxy.stats().throttled, 3);
    assert!(error.partly_delivered(), "{error}");
    assert!(error.delivered < error.taken, "{error}");
    // What the error says got through is what Firehose delivered.
    let delivered: usize = delivered_objects(&s3, "")
        .await
        .iter()
        .map(|body| lines(body).len())
        .sum();
    assert_eq!(delivered as u64, error.delivered);
}

#[tokio::test]
async fn a_missing_stream_fails_at_once() {
    let moto = MotoServer::start().await;
    let destination = StreamDestination::new(
        Kinesis::new(kinesis_client(moto.endpoint()), "nowhere"),
        options(),
    );
    let error = send(&destination, &Options::default(), &generated(10))
        .await
        .unwrap_err()
        .0;
    match &error.failure {
        Failure::Call {
            attempts, error, ..
        } => {
            assert_eq!(*attempts, 1, "not worth a retry");
            assert_eq!(error.code.as_deref(), Some("ResourceNotFoundException"));
            assert!(!error.retryable);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.delivered, 0);
}

#[tokio::test]
async fn an_entry_larger_than_a_message_is_rejected_and_the_rest_delivered() {
    let moto = MotoServer::start().await;
    let client = sqs_client(moto.endpoint());
    let queue = client
        .create_queue()
        .queue_name("large")
        .send()
        .await
        .unwrap();
    let url = queue.queue_url().unwrap();
    let mut decoder = cflog_core::DecoderBuilder::new();
    decoder.max_line_len(1 << 20);
    let options_1mib = Options {
        decoder,
        ..Options::default()
    };
    let mut log =
        b"#Fields: date time x-edge-request-id cs-uri-stem sc-status\n2019-12-04\t21:02:31\ta\t/a\t200\n"
            .to_vec();
    let huge = "x".repeat(300 * 1024);
    log.extend(format!("2019-12-04\t21:02:31\tb\t/{huge}\t200\n").bytes());
    log.extend(b"2019-12-04\t21:02:31\tc\t/c\t200\n");
    let destination = StreamDestination::new(Sqs::new(client.clone(), url), options());
    let summary = send(&destination, &options_1mib, &log).await.unwrap();
    assert_eq!(summary.rejected_by_reason.get("entry_too_large"), Some(&1));
    assert_eq!(summary.errors[0].line, 3);
    assert_eq!(summary.delivered.entries, 2);
    let got: Vec<String> = sqs_messages(&client, url)
        .await
        .iter()
        .flat_map(|b| lines(b.as_bytes()))
        .collect();
    assert_eq!(got.len(), 2);
    assert!(got[0].contains("\"x_edge_request_id\":\"a\""));
    assert!(got[1].contains("\"x_edge_request_id\":\"c\""));
}
