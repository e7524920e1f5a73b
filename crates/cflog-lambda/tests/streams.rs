//! The handler with a stream destination, as the binary wires it
//! (`Handler::from_aws`, from the shared AWS configuration): log
//! objects from the in-process S3 server sent to an SQS queue, real-time
//! records from a Kinesis event sent to another Kinesis stream, both on
//! moto's server, and read back from there.

// The S3 fixtures; the sinks the other tests build are not used here.
#[allow(dead_code)]
mod common;

use cflog_lambda::{Config, FailureKind, Handler, Response, Status};
use cflog_pipeline::sink::NdjsonSink;
use cflog_pipeline::{Options, Pipeline};
use cflog_testkit::{
    CapturedStderr, MotoServer, SharedOutput, check_emf_document, kinesis_event, kinesis_records,
    sqs_messages, testdata,
};
use common::{BUCKET, ENCODED, s3_notification, server};

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(cflog_testkit::env(vars)).unwrap()
}

fn handler(moto: &MotoServer, s3: aws_sdk_s3::Client, config: Config) -> Handler {
    assert!(config.stream.is_some(), "a stream sink");
    Handler::from_aws(&moto.sdk_config(), s3, config)
        .unwrap()
        .reports_to(CapturedStderr)
        .metrics_to(CapturedStderr)
}

/// The handler's metrics lines, each checked against the specification.
fn metrics(out: &SharedOutput) -> Vec<serde_json::Value> {
    let lines = out.entries();
    lines.iter().for_each(check_emf_document);
    lines
}

/// The NDJSON lines of a log, as the stdout sink writes them.
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

#[tokio::test]
async fn objects_go_to_an_sqs_queue_and_their_reports_count_the_messages() {
    let moto = MotoServer::start().await;
    let s3 = server().await;
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let url = sqs
        .create_queue()
        .queue_name("cflog-entries")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let emf = SharedOutput::default();
    let handler = handler(
        &moto,
        s3.client(),
        config(&[("CFLOG_SINK", "sqs"), ("CFLOG_SQS_QUEUE_URL", &url)]),
    )
    .metrics_to(emf.clone());
    let keys = ["E1.2019-12-04-21.a1b2c3d4.gz", ENCODED];
    let Response::S3(response) = handler.handle(s3_notification(&keys)).await.unwrap() else {
        panic!("an S3 event got another response");
    };
    let mut expected = Vec::new();
    for (report, log) in response.objects.iter().zip([
        testdata("aws-docs-33-fields.log"),
        testdata("real-33-fields-2025.log"),
    ]) {
        assert_eq!(report.status, Status::Ok, "{report:?}");
        let delivered = &report.summary.delivered;
        assert_eq!(delivered.entries, report.summary.entries);
        assert!(
            delivered.records >= 1 && delivered.requests >= 1,
            "{delivered:?}"
        );
        assert_eq!(delivered.retried_records, 0);
        expected.extend(ndjson_lines(&log));
    }
    let mut got: Vec<String> = sqs_messages(&sqs, &url)
        .await
        .iter()
        .flat_map(|body| lines(body.as_bytes()))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // Each object's metrics line says what its report does, and together
    // they count the bytes the queue holds.
    let lines = metrics(&emf);
    assert_eq!(lines.len(), 2);
    for (line, report) in lines.iter().zip(&response.objects) {
        let delivered = &report.summary.delivered;
        assert_eq!(line["key"], report.key);
        assert_eq!(line["OutputRecords"], delivered.records);
        assert_eq!(line["OutputRequests"], delivered.requests);
        assert_eq!(line["OutputRetriedRecords"], 0);
        assert_eq!(line["OutputBytes"], delivered.bytes);
        assert_eq!(line.get("OutputObjects"), None);
    }
    let sent: u64 = lines
        .iter()
        .map(|l| l["OutputBytes"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, got.iter().map(|l| l.len() as u64).sum::<u64>());
}

#[tokio::test]
async fn a_queue_that_is_not_there_fails_the_object_as_output_failed() {
    let moto = MotoServer::start().await;
    let s3 = server().await;
    let url = format!("{}/123456789012/missing", moto.endpoint());
    let emf = SharedOutput::default();
    let handler = handler(
        &moto,
        s3.client(),
        config(&[("CFLOG_SINK", "sqs"), ("CFLOG_SQS_QUEUE_URL", &url)]),
    )
    .metrics_to(emf.clone());
    let error = handler
        .handle(s3_notification(&["E1.2019-12-04-21.a1b2c3d4.gz"]))
        .await
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::OutputFailed, "{error:?}");
    assert!(
        error
            .message
            .contains(&format!("s3://{BUCKET}/E1.2019-12-04-21.a1b2c3d4.gz")),
        "{}",
        error.message
    );
    assert!(
        error
            .message
            .contains("0 of the 6 entries taken were delivered"),
        "{}",
        error.message
    );
    let [line] = &metrics(&emf)[..] else {
        panic!("one object, one line");
    };
    assert_eq!(line["FailedObjects"], 1);
    assert_eq!(line["ErrorType"], "OutputFailed");
    assert_eq!(
        (&line["OutputRecords"], &line["OutputBytes"]),
        (&0.into(), &0.into())
    );
}

/// The field list of the real record in `testdata/realtime-40-fields-2020.tsv`.
fn fields_2020() -> String {
    String::from_utf8(testdata("realtime-40-fields-2020.fields"))
        .unwrap()
        .trim()
        .to_owned()
}

const INPUT: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/cloudfront-realtime";

#[tokio::test]
async fn real_time_records_go_to_another_kinesis_stream_keyed_as_configured() {
    let moto = MotoServer::start().await;
    let kinesis = aws_sdk_kinesis::Client::new(&moto.sdk_config());
    kinesis
        .create_stream()
        .stream_name("cflog-entries")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let fields = fields_2020();
    let emf = SharedOutput::default();
    let handler = handler(
        &moto,
        cflog_testkit::client("http://127.0.0.1:9"),
        config(&[
            ("CFLOG_SINK", "kinesis"),
            ("CFLOG_KINESIS_STREAM", "cflog-entries"),
            ("CFLOG_KINESIS_PARTITION_KEY", "c_ip"),
            ("CFLOG_REALTIME_FIELDS", &fields),
        ]),
    )
    .metrics_to(emf.clone());
    let record = testdata("realtime-40-fields-2020.tsv");
    let event = kinesis_event(INPUT, &[("1", &record[..]), ("2", &record[..])]);
    let Response::Kinesis(batch) = handler.handle(event).await.unwrap() else {
        panic!("a Kinesis event got another response");
    };
    assert!(batch.batch_item_failures.is_empty());

    let records = kinesis_records(&kinesis, "cflog-entries").await;
    assert_eq!(records.len(), 2, "one entry per record");
    for (partition_key, data) in &records {
        let entry: serde_json::Value = serde_json::from_slice(data).unwrap();
        assert_eq!(
            Some(partition_key.as_str()),
            entry["c_ip"].as_str(),
            "keyed by c_ip"
        );
        assert!(entry["timestamp"].is_string());
    }
    // The batch's metrics line counts what the stream holds.
    let [line] = &metrics(&emf)[..] else {
        panic!("one batch, one line");
    };
    assert_eq!(line["source"], "kinesis");
    assert_eq!(line["FailedBatches"], 0);
    assert_eq!(line["OutputRecords"], 2);
    assert_eq!(line["OutputRequests"], 1);
    assert_eq!(line["OutputRetriedRecords"], 0);
    let stored: usize = records.iter().map(|(_, data)| data.len()).sum();
    assert_eq!(line["OutputBytes"], stored as u64);
}

#[tokio::test]
async fn a_batch_from_the_output_stream_itself_is_refused() {
    let moto = MotoServer::start().await;
    let fields = fields_2020();
    let handler = handler(
        &moto,
        cflog_testkit::client("http://127.0.0.1:9"),
        config(&[
            ("CFLOG_SINK", "kinesis"),
            ("CFLOG_KINESIS_STREAM", "cloudfront-realtime"),
            ("CFLOG_REALTIME_FIELDS", &fields),
        ]),
    );
    let record = testdata("realtime-40-fields-2020.tsv");
    let error = handler
        .handle(kinesis_event(INPUT, &[("1", &record[..])]))
        .await
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::NotConfigured);
    assert!(
        error.message.contains("would come back"),
        "{}",
        error.message
    );
}
