//! `MotoServer` and `BatchFaultProxy` against the real moto server: each
//! test starts its own moto, makes its streams and queues there, sends
//! batch calls through the proxy as raw AWS JSON (this crate has no
//! Firehose, Kinesis or SQS SDK), and reads back from moto directly what
//! was stored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use cflog_testkit::{BatchApi, BatchFault, BatchFaultProxy, MOTO_ACCOUNT_ID, MotoServer};
use http_body_util::{BodyExt, Full};
use hyper::HeaderMap;
use serde_json::{Value, json};

/// An answer: the status, the headers and the JSON body (`null` if empty).
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

/// One AWS JSON call to `endpoint`. moto tells the service by the
/// credential scope of the `Authorization` header and checks no
/// signature, so a header of the right shape with a zero signature does.
async fn try_call(
    endpoint: &str,
    service: &str,
    target: &str,
    body: &Value,
) -> Result<Answer, hyper_util::client::legacy::Error> {
    let content_type = if service == "sqs" {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    };
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
        "0".repeat(64)
    );
    let request = hyper::Request::post(format!("{endpoint}/"))
        .header("content-type", content_type)
        .header("x-amz-target", target)
        .header("x-amz-date", "20260101T000000Z")
        .header("authorization", authorization)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a request");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let response = client.request(request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("read the answer")
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{target} answered {status} with no JSON ({e}): {bytes:?}"))
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// [`try_call`] that must get an answer.
async fn call(endpoint: &str, service: &str, target: &str, body: Value) -> Answer {
    try_call(endpoint, service, target, &body)
        .await
        .unwrap_or_else(|e| panic!("{target}: {e}"))
}

/// [`call`] that must succeed; its body.
async fn ok(endpoint: &str, service: &str, target: &str, body: Value) -> Value {
    let answer = call(endpoint, service, target, body).await;
    assert_eq!(answer.status, 200, "{target}: {}", answer.body);
    answer.body
}

fn b64(data: &str) -> String {
    BASE64.encode(data)
}

const SHARD: &str = "shardId-000000000000";

/// A one-shard stream on moto, ACTIVE.
async fn create_stream(endpoint: &str, name: &str) {
    ok(
        endpoint,
        "kinesis",
        "Kinesis_20131202.CreateStream",
        json!({"StreamName": name, "ShardCount": 1}),
    )
    .await;
    for _ in 0..100 {
        let summary = ok(
            endpoint,
            "kinesis",
            "Kinesis_20131202.DescribeStreamSummary",
            json!({"StreamName": name}),
        )
        .await;
        if summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stream {name} never became ACTIVE");
}

fn put_records(stream: &str, data: &[&str]) -> Value {
    let records: Vec<Value> = data
        .iter()
        .map(|d| json!({"Data": b64(d), "PartitionKey": "cflog"}))
        .collect();
    json!({"StreamName": stream, "Records": records})
}

/// The data of every record of the stream's shard, oldest first, decoded.
async fn stream_data(endpoint: &str, stream: &str) -> Vec<String> {
    let iterator = ok(
        endpoint,
        "kinesis",
        "Kinesis_20131202.GetShardIterator",
        json!({"StreamName": stream, "ShardId": SHARD, "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await;
    let records = ok(
        endpoint,
        "kinesis",
        "Kinesis_20131202.GetRecords",
        json!({"ShardIterator": iterator["ShardIterator"], "Limit": 1000}),
    )
    .await;
    records["Records"]
        .as_array()
        .expect("GetRecords has Records")
        .iter()
        .map(|record| {
            let data = BASE64
                .decode(record["Data"].as_str().expect("Data is a string"))
                .expect("Data is base64");
            String::from_utf8(data).expect("test data is UTF-8")
        })
        .collect()
}

#[tokio::test]
async fn kinesis_failed_records_are_not_stored_and_the_answer_says_which() {
    let moto = MotoServer::start().await;
    create_stream(moto.endpoint(), "cflog-kinesis").await;
    let proxy = BatchFaultProxy::start(
        moto.endpoint(),
        vec![BatchFault::FailRecords(vec![1, 3, 9])],
    )
    .await;

    // Not a batch call: passes and is not counted.
    ok(
        proxy.endpoint(),
        "kinesis",
        "Kinesis_20131202.DescribeStreamSummary",
        json!({"StreamName": "cflog-kinesis"}),
    )
    .await;
    assert!(proxy.stats().calls.is_empty());

    let sent = ["r0", "r1", "r2", "r3", "r4"];
    let answer = ok(
        proxy.endpoint(),
        "kinesis",
        BatchApi::KinesisPutRecords.target(),
        put_records("cflog-kinesis", &sent),
    )
    .await;
    assert_eq!(answer["FailedRecordCount"], 2, "{answer}");
    let entries = answer["Records"].as_array().expect("Records");
    assert_eq!(entries.len(), 5, "{answer}");
    for (position, entry) in entries.iter().enumerate() {
        if position == 1 || position == 3 {
            assert_eq!(entry["ErrorCode"], "ProvisionedThroughputExceededException");
            assert!(entry["ErrorMessage"].is_string());
            assert!(entry.get("SequenceNumber").is_none());
        } else {
            assert!(entry["SequenceNumber"].is_string(), "{entry}");
            assert_eq!(entry["ShardId"], SHARD);
            assert!(entry.get("ErrorCode").is_none());
        }
    }
    assert_eq!(
        stream_data(moto.endpoint(), "cflog-kinesis").await,
        ["r0", "r2", "r4"]
    );

    // The retry of the failed two: beyond the plan, it passes.
    let answer = ok(
        proxy.endpoint(),
        "kinesis",
        BatchApi::KinesisPutRecords.target(),
        put_records("cflog-kinesis", &["r1", "r3"]),
    )
    .await;
    assert_eq!(answer["FailedRecordCount"], 0, "{answer}");
    assert_eq!(
        stream_data(moto.endpoint(), "cflog-kinesis").await,
        ["r0", "r2", "r4", "r1", "r3"]
    );

    let stats = proxy.stats();
    assert_eq!(stats.calls.len(), 2);
    assert_eq!(stats.calls[0].api, BatchApi::KinesisPutRecords);
    assert_eq!(stats.calls[0].fault, BatchFault::FailRecords(vec![1, 3, 9]));
    assert_eq!(stats.calls[0].records, sent.map(b64));
    assert_eq!(stats.calls[0].failed, [1, 3]);
    assert_eq!(stats.calls[0].forwarded, 3);
    assert_eq!(stats.calls[1].fault, BatchFault::Pass);
    assert_eq!(stats.calls[1].records, [b64("r1"), b64("r3")]);
    assert_eq!(stats.calls[1].forwarded, 2);
    assert_eq!(stats.records_forwarded, 5);
    assert_eq!(stats.records_failed, 2);
    assert_eq!((stats.throttled, stats.resets), (0, 0));
}

#[tokio::test]
async fn kinesis_throttled_and_all_failed_calls_store_nothing() {
    let moto = MotoServer::start().await;
    create_stream(moto.endpoint(), "cflog-throttle").await;
    let proxy = BatchFaultProxy::start(
        moto.endpoint(),
        vec![BatchFault::Throttle, BatchFault::FailRecords(vec![0, 1])],
    )
    .await;
    let batch = put_records("cflog-throttle", &["a", "b"]);

    let throttled = call(
        proxy.endpoint(),
        "kinesis",
        BatchApi::KinesisPutRecords.target(),
        batch.clone(),
    )
    .await;
    assert_eq!(throttled.status, 400);
    assert_eq!(
        throttled.body["__type"],
        "ProvisionedThroughputExceededException"
    );
    assert!(throttled.body["message"].is_string());
    assert_eq!(
        throttled.headers["content-type"],
        "application/x-amz-json-1.1"
    );

    // Every record failed: answered by the proxy alone, nothing forwarded.
    let answer = ok(
        proxy.endpoint(),
        "kinesis",
        BatchApi::KinesisPutRecords.target(),
        batch.clone(),
    )
    .await;
    assert_eq!(answer["FailedRecordCount"], 2, "{answer}");
    assert!(
        answer["Records"]
            .as_array()
            .expect("Records")
            .iter()
            .all(|entry| entry["ErrorCode"] == "ProvisionedThroughputExceededException")
    );
    assert!(
        stream_data(moto.endpoint(), "cflog-throttle")
            .await
            .is_empty()
    );

    let stats = proxy.stats();
    assert_eq!(stats.calls.len(), 2);
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.records_failed, 2);
    assert_eq!(stats.records_forwarded, 0);

    ok(
        proxy.endpoint(),
        "kinesis",
        BatchApi::KinesisPutRecords.target(),
        batch,
    )
    .await;
    assert_eq!(
        stream_data(moto.endpoint(), "cflog-throttle").await,
        ["a", "b"]
    );
}

async fn create_queue(endpoint: &str, name: &str) -> String {
    let created = ok(
        endpoint,
        "sqs",
        "AmazonSQS.CreateQueue",
        json!({"QueueName": name}),
    )
    .await;
    let url = created["QueueUrl"].as_str().expect("QueueUrl").to_owned();
    assert!(
        url.ends_with(&format!("/{MOTO_ACCOUNT_ID}/{name}")),
        "{url}"
    );
    url
}

fn send_batch(queue: &str, bodies: &[&str]) -> Value {
    let entries: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"Id": format!("e{i}"), "MessageBody": body}))
        .collect();
    json!({"QueueUrl": queue, "Entries": entries})
}

/// The bodies of the queue's visible messages, sorted (SQS keeps no order).
async fn queue_bodies(endpoint: &str, queue: &str) -> Vec<String> {
    let received = ok(
        endpoint,
        "sqs",
        "AmazonSQS.ReceiveMessage",
        json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}),
    )
    .await;
    let mut bodies: Vec<String> = received["Messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .map(|m| m["Body"].as_str().expect("Body").to_owned())
                .collect()
        })
        .unwrap_or_default();
    bodies.sort();
    bodies
}

fn ids(entries: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = entries
        .as_array()
        .expect("a list of entries")
        .iter()
        .map(|entry| entry["Id"].as_str().expect("Id"))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn sqs_failed_entries_are_not_sent_and_come_back_by_id() {
    let moto = MotoServer::start().await;
    let queue = create_queue(moto.endpoint(), "cflog-sqs").await;
    let proxy =
        BatchFaultProxy::start(moto.endpoint(), vec![BatchFault::FailRecords(vec![0, 2])]).await;

    let answer = ok(
        proxy.endpoint(),
        "sqs",
        BatchApi::SqsSendMessageBatch.target(),
        send_batch(&queue, &["m0", "m1", "m2", "m3"]),
    )
    .await;
    assert_eq!(ids(&answer["Successful"]), ["e1", "e3"], "{answer}");
    assert_eq!(ids(&answer["Failed"]), ["e0", "e2"], "{answer}");
    for failed in answer["Failed"].as_array().expect("Failed") {
        assert_eq!(failed["Code"], "RequestThrottled");
        assert_eq!(failed["SenderFault"], false);
        assert!(failed["Message"].is_string());
    }
    assert_eq!(queue_bodies(moto.endpoint(), &queue).await, ["m1", "m3"]);
    let stats = proxy.stats();
    assert_eq!(stats.calls[0].api, BatchApi::SqsSendMessageBatch);
    assert_eq!(stats.calls[0].records, ["m0", "m1", "m2", "m3"]);
    assert_eq!(stats.calls[0].failed, [0, 2]);
    assert_eq!((stats.records_forwarded, stats.records_failed), (2, 2));
}

#[tokio::test]
async fn sqs_throttled_call_answers_as_sqs_does() {
    let moto = MotoServer::start().await;
    let queue = create_queue(moto.endpoint(), "cflog-sqs-throttle").await;
    let proxy = BatchFaultProxy::start(moto.endpoint(), vec![BatchFault::Throttle]).await;

    let answer = call(
        proxy.endpoint(),
        "sqs",
        BatchApi::SqsSendMessageBatch.target(),
        send_batch(&queue, &["m0"]),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["__type"], "com.amazonaws.sqs#RequestThrottled");
    assert_eq!(
        answer.headers["x-amzn-query-error"],
        "RequestThrottled;Sender"
    );
    assert_eq!(answer.headers["content-type"], "application/x-amz-json-1.0");
    assert!(queue_bodies(moto.endpoint(), &queue).await.is_empty());
    assert_eq!(proxy.stats().throttled, 1);
}

#[tokio::test]
async fn a_reset_after_forwarding_stores_the_call_and_loses_the_answer() {
    let moto = MotoServer::start().await;
    let queue = create_queue(moto.endpoint(), "cflog-sqs-reset").await;
    let proxy = BatchFaultProxy::start(moto.endpoint(), vec![BatchFault::ResetAfterForward]).await;
    let batch = send_batch(&queue, &["m0", "m1"]);

    let lost = try_call(
        proxy.endpoint(),
        "sqs",
        BatchApi::SqsSendMessageBatch.target(),
        &batch,
    )
    .await;
    let error = lost.err().expect("the connection closes without an answer");
    let hyper_error = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<hyper::Error>())
        .unwrap_or_else(|| panic!("not an HTTP error: {error:?}"));
    // "connection closed before message completed"
    assert!(hyper_error.is_incomplete_message(), "{error:?}");
    assert_eq!(proxy.stats().resets, 1);
    assert_eq!(proxy.stats().records_forwarded, 2);

    // The client resends: at-least-once, two copies.
    ok(
        proxy.endpoint(),
        "sqs",
        BatchApi::SqsSendMessageBatch.target(),
        batch,
    )
    .await;
    assert_eq!(
        queue_bodies(moto.endpoint(), &queue).await,
        ["m0", "m0", "m1", "m1"]
    );
}

#[tokio::test]
async fn firehose_delivers_the_records_that_did_not_fail_to_s3() {
    let moto = MotoServer::start().await;
    let s3 = moto.s3_client();
    s3.create_bucket()
        .bucket("cflog-firehose")
        .send()
        .await
        .expect("create the bucket");
    ok(
        moto.endpoint(),
        "firehose",
        "Firehose_20150804.CreateDeliveryStream",
        json!({
            "DeliveryStreamName": "cflog-firehose",
            "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": format!("arn:aws:iam::{MOTO_ACCOUNT_ID}:role/cflog-firehose"),
                "BucketARN": "arn:aws:s3:::cflog-firehose",
                "Prefix": "out/"
            }
        }),
    )
    .await;
    let proxy = BatchFaultProxy::start(
        moto.endpoint(),
        vec![BatchFault::FailRecords(vec![1]), BatchFault::Throttle],
    )
    .await;
    let batch = json!({
        "DeliveryStreamName": "cflog-firehose",
        "Records": [{"Data": b64("one\n")}, {"Data": b64("two\n")}, {"Data": b64("three\n")}]
    });

    let answer = ok(
        proxy.endpoint(),
        "firehose",
        BatchApi::FirehosePutRecordBatch.target(),
        batch.clone(),
    )
    .await;
    assert_eq!(answer["FailedPutCount"], 1, "{answer}");
    assert_eq!(answer["Encrypted"], false);
    let entries = answer["RequestResponses"]
        .as_array()
        .expect("RequestResponses");
    assert_eq!(entries.len(), 3);
    assert!(entries[0]["RecordId"].is_string());
    assert_eq!(entries[1]["ErrorCode"], "ServiceUnavailableException");
    assert!(entries[2]["RecordId"].is_string());

    let throttled = call(
        proxy.endpoint(),
        "firehose",
        BatchApi::FirehosePutRecordBatch.target(),
        batch,
    )
    .await;
    assert_eq!(throttled.status, 500);
    assert_eq!(throttled.body["__type"], "ServiceUnavailableException");

    // moto delivers each PutRecordBatch at once as one object under
    // PREFIX/YYYY/MM/DD/HH/, the records' bytes joined with nothing between.
    let listed = s3
        .list_objects_v2()
        .bucket("cflog-firehose")
        .send()
        .await
        .expect("list the bucket");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("out/"), "{keys:?}");
    assert!(keys[0].contains("/cflog-firehose-1-"), "{keys:?}");
    let object = s3
        .get_object()
        .bucket("cflog-firehose")
        .key(keys[0])
        .send()
        .await
        .expect("get the delivered object");
    let body = object.body.collect().await.expect("read it").into_bytes();
    assert_eq!(&body[..], b"one\nthree\n");

    let stats = proxy.stats();
    assert_eq!(stats.calls.len(), 2);
    assert!(
        stats
            .calls
            .iter()
            .all(|c| c.api == BatchApi::FirehosePutRecordBatch)
    );
    assert_eq!(
        (
            stats.records_forwarded,
            stats.records_failed,
            stats.throttled
        ),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn moto_resets_and_stops_with_its_handle() {
    let moto = MotoServer::start().await;
    create_queue(moto.endpoint(), "cflog-reset").await;
    let listed = ok(moto.endpoint(), "sqs", "AmazonSQS.ListQueues", json!({})).await;
    assert_eq!(listed["QueueUrls"].as_array().map(Vec::len), Some(1));

    moto.reset().await;
    let listed = ok(moto.endpoint(), "sqs", "AmazonSQS.ListQueues", json!({})).await;
    assert_eq!(
        listed["QueueUrls"].as_array().map_or(0, Vec::len),
        0,
        "{listed}"
    );

    let addr = moto.endpoint().trim_start_matches("http://").to_owned();
    drop(moto);
    // Killed and reaped: nothing listens on its port any more.
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
}
