//! SQS batches of S3 event notifications through the handler (the
//! SQS-buffered trigger), against a real S3-compatible server, with the
//! fault proxy in front of the objects S3 must refuse: the
//! `batchItemFailures` returned name exactly the messages that go back to
//! the queue.

mod common;

use cflog_lambda::Response;
use cflog_testkit::{S3Server, gzip, testdata};
use common::{ENCODED, config, faulty_handler, handler, s3_notification, server};
use serde_json::{Value, json};

/// An S3 event notification, as S3 writes it into a message body.
fn notification(keys: &[&str]) -> String {
    s3_notification(keys).to_string()
}

/// An SQS event of (message id, body) pairs, as Lambda's poller sends it.
fn sqs_event(messages: &[(&str, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("AQEB{id}"),
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1765433117000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:cflog-TriggerQueue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The response as Lambda reads it, `{"batchItemFailures": [...]}`.
fn answered(response: &Response) -> Value {
    let Response::Sqs(batch) = response else {
        panic!("an SQS event got another response: {response:?}");
    };
    serde_json::to_value(batch).unwrap()
}

fn failures(answer: &Value) -> Vec<&str> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn only_messages_a_retry_or_a_redrive_can_fix_go_back_to_the_queue() {
    let server = server().await;
    let (handler, outputs, _proxies) = faulty_handler(&server).await;
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2025-12-11T06:05:16.000Z","Bucket":"cf-logs","RequestId":"x","HostId":"y"}"#;
    // S3 -> SNS -> SQS without raw delivery wraps the notification: a
    // misconfiguration, not a notification.
    let sns =
        json!({"Type": "Notification", "MessageId": "m", "Message": notification(&["mixed.gz"])})
            .to_string();
    let messages = [
        ("good", notification(&["E1.2019-12-04-21.a1b2c3d4.gz"])),
        ("encoded", notification(&[ENCODED])),
        ("test-event", test_event.to_owned()),
        ("not-json", "{\"Records\": [".to_owned()),
        ("sns-envelope", sns),
        ("throttled", notification(&["throttled.gz"])),
        ("denied", notification(&["denied.gz"])),
        ("corrupt", notification(&["corrupt.gz"])),
        ("not-a-log", notification(&["photo.gz"])),
        ("missing", notification(&["gone.gz"])),
        (
            "report",
            notification(&["cflog-backfill/reports/job-1/results/0a1b.csv"]),
        ),
        // One record fails transiently: the whole message comes back.
        ("two-records", notification(&["mixed.gz", "throttled.gz"])),
    ];
    let response = handler
        .handle(sqs_event(&messages))
        .await
        .expect("an SQS batch never fails for a message");
    let answer = answered(&response);
    assert_eq!(
        failures(&answer),
        [
            "not-json",
            "sns-envelope",
            "throttled",
            "denied",
            "two-records"
        ],
        "{answer}"
    );

    // The entries delivered: every object that was read, the one beside a
    // transient failure included (it is read again on the retry).
    let good = outputs.entries("E1.2019-12-04-21.a1b2c3d4.gz");
    assert_eq!(good.len(), 6);
    assert_eq!(good[3]["x_edge_detailed_result_type"], "OriginDnsError");
    assert_eq!(outputs.entries(ENCODED).len(), 1);
    assert_eq!(outputs.entries("mixed.gz").len(), 6);
    for key in ["throttled.gz", "denied.gz", "photo.gz", "gone.gz"] {
        assert!(outputs.entries(key).is_empty(), "{key}");
    }
    assert!(
        !outputs
            .keys()
            .iter()
            .any(|k| k.starts_with("cflog-backfill/")),
        "an ignored object was read: {:?}",
        outputs.keys()
    );
}

#[tokio::test]
async fn a_batch_that_succeeds_returns_nothing_to_the_queue() {
    let server = server().await;
    let (handler, outputs) = handler(server.client(), config());
    let messages = [
        ("a", notification(&["E1.2019-12-04-21.a1b2c3d4.gz"])),
        ("b", notification(&["mixed.gz", ENCODED])),
    ];
    let response = handler.handle(sqs_event(&messages)).await.unwrap();
    assert_eq!(answered(&response), json!({ "batchItemFailures": [] }));
    assert_eq!(outputs.entries("mixed.gz").len(), 6);
    assert_eq!(outputs.entries(ENCODED).len(), 1);
}

/// `testdata/events/sqs-batch.json`, which `scripts/local-lambda` sends,
/// against objects named as `cflog-local-s3 --load testdata` names them.
#[tokio::test]
async fn the_sample_sqs_batch_against_the_local_layout() {
    let server = S3Server::start().await;
    server.create_bucket("cflog-local").await;
    for name in ["era-35-fields-2025.log", "real-26-fields-2018-2019.log"] {
        let key = format!("cf logs/year=2025/{name}.gz");
        server.put("cflog-local", &key, gzip(&testdata(name))).await;
    }
    let (handler, outputs) = handler(server.client(), config());
    let payload: Value = serde_json::from_slice(&testdata("events/sqs-batch.json")).unwrap();
    let answer = answered(&handler.handle(payload).await.unwrap());
    // The test event is acknowledged, both objects are read, and the body
    // that is no notification goes back to the queue.
    assert_eq!(failures(&answer), ["c0ffee00-1234-4abc-8def-0123456789ab"]);
    assert_eq!(
        outputs
            .entries("cf logs/year=2025/era-35-fields-2025.log.gz")
            .len(),
        2
    );
    assert_eq!(
        outputs
            .entries("cf logs/year=2025/real-26-fields-2018-2019.log.gz")
            .len(),
        2
    );
}
