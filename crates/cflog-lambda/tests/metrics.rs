//! The CloudWatch embedded-metric-format lines of the handler, against a
//! real S3-compatible server (s3s-fs, in-process): one per object of every
//! event kind that names objects, one per Kinesis batch, each valid under
//! the specification, its values those of the object's report, and none
//! with `CFLOG_METRICS=off`. The lines are read from the handler's metrics
//! writer, not from the process's stderr.

mod common;

use cflog_lambda::{Config, FailureKind, Handler, ObjectReport, Response, Source};
use cflog_pipeline::sink::NdjsonSink;
use cflog_testkit::{
    CapturedStderr, Fault, FaultProxy, SharedOutput, check_emf_document, kinesis_event, testdata,
};
use common::{BUCKET, faulty_handler, handler, routed_client, s3_notification, server};
use serde_json::{Value, json};

const FUNCTION: &str = "cflog-test";

/// The tests' configuration (the backfill prefix ignored, as the template
/// sets it), in a function named [`FUNCTION`], with `vars` on top.
fn config(vars: &[(&str, &str)]) -> Config {
    let env = cflog_testkit::env(vars);
    Config::from_lookup(|name| {
        env(name).or_else(|| match name {
            "CFLOG_IGNORE_PREFIX" => Some("cflog-backfill/".into()),
            "AWS_LAMBDA_FUNCTION_NAME" => Some(FUNCTION.into()),
            _ => None,
        })
    })
    .unwrap()
}

/// The lines written, each checked against the specification.
fn emf_lines(out: &SharedOutput) -> Vec<Value> {
    let lines = out.entries();
    for line in &lines {
        check_emf_document(line);
        // Milliseconds of this century, not seconds.
        let stamp = line["_aws"]["Timestamp"].as_u64().unwrap();
        assert!(stamp > 1_700_000_000_000, "Timestamp {stamp}");
    }
    lines
}

/// The line of the object `key`.
fn line_of<'a>(lines: &'a [Value], key: &str) -> &'a Value {
    let mut of_key = lines.iter().filter(|l| l["key"] == key);
    let line = of_key
        .next()
        .unwrap_or_else(|| panic!("no metrics line for {key}"));
    assert!(of_key.next().is_none(), "two metrics lines for {key}");
    line
}

/// The names of the metrics of a directive.
fn names(directive: &Value) -> Vec<&str> {
    directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect()
}

/// The line carries the report's counts, exactly.
fn assert_counts(line: &Value, report: &ObjectReport) {
    let s = &report.summary;
    assert_eq!(line["Entries"], s.entries, "{}", report.key);
    assert_eq!(line["RejectedLines"], s.rejected, "{}", report.key);
    assert_eq!(line["InputBytes"], s.compressed_bytes, "{}", report.key);
    assert_eq!(line["Duration"], s.duration_ms, "{}", report.key);
    let failed = u64::from(report.status == "failed");
    assert_eq!(line["FailedObjects"], failed, "{}", report.key);
    let skipped = u64::from(report.status == "skipped");
    assert_eq!(line["SkippedObjects"], skipped, "{}", report.key);
    let mut by_reason = 0;
    for (reason, n) in &s.rejected_by_reason {
        assert_eq!(line[format!("RejectedLines.{reason}")], *n);
        by_reason += n;
    }
    assert_eq!(by_reason, s.rejected);
    assert_eq!(line["status"], report.status.as_str());
    assert_eq!(line["bucket"], report.bucket);
    assert_eq!(line["kind"], "cflog.metrics");
    assert_eq!(line["FunctionName"], FUNCTION);
}

#[tokio::test]
async fn an_object_with_a_rejected_line_gives_a_line_of_its_counts() {
    let server = server().await;
    let out = SharedOutput::default();
    let (handler, _) = handler(server.client(), config(&[]));
    let handler = handler.metrics_to(out.clone());
    let keys = ["mixed.gz", "E1.2019-12-04-21.a1b2c3d4.gz", "gone.gz"];
    let response = handler.handle(s3_notification(&keys)).await.unwrap();
    let lines = emf_lines(&out);
    assert_eq!(lines.len(), 3);

    let reports = response.objects();
    for report in reports {
        assert_counts(line_of(&lines, &report.key), report);
    }
    let mixed = line_of(&lines, "mixed.gz");
    assert_eq!(
        (&mixed["Entries"], &mixed["RejectedLines"]),
        (&json!(6), &json!(1))
    );
    assert_eq!(mixed["RejectedLines.field_count"], 1);
    assert!(mixed["InputBytes"].as_u64().unwrap() > 0);
    let directives = mixed["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert_eq!(
        directives.len(),
        1,
        "an object that was read has no ErrorType"
    );
    assert_eq!(directives[0]["Namespace"], "cflog");
    assert_eq!(directives[0]["Dimensions"], json!([["FunctionName"]]));
    assert_eq!(
        names(&directives[0]),
        [
            "Entries",
            "RejectedLines",
            "InputBytes",
            "Duration",
            "FailedObjects",
            "SkippedObjects",
            "RejectedLines.field_count"
        ]
    );
    assert_eq!(mixed.get("ErrorType"), None);
    // A good object has no per-reason metric; a missing one is skipped.
    let good = line_of(&lines, "E1.2019-12-04-21.a1b2c3d4.gz");
    assert_eq!(names(&good["_aws"]["CloudWatchMetrics"][0]).len(), 6);
    assert_eq!(line_of(&lines, "gone.gz")["SkippedObjects"], 1);
}

#[tokio::test]
async fn a_failed_object_counts_once_for_the_function_and_once_by_error_type() {
    let server = server().await;
    let deny = FaultProxy::start(
        &server.endpoint,
        Fault::S3Error {
            status: 403,
            code: "AccessDenied",
        },
    )
    .await;
    let client = routed_client(&server, vec![("denied.gz", deny.endpoint.clone())]);
    let out = SharedOutput::default();
    let (handler, _) = handler(client, config(&[("CFLOG_METRICS_NAMESPACE", "cflog/test")]));
    let handler = handler.metrics_to(out.clone());
    let keys = ["corrupt.gz", "denied.gz", "photo.gz", "mixed.gz"];
    let err = handler.handle(s3_notification(&keys)).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::CorruptGzip);
    let lines = emf_lines(&out);
    assert_eq!(lines.len(), 4);
    for (key, error_type) in [
        ("corrupt.gz", "CorruptGzip"),
        ("denied.gz", "S3AccessDenied"),
        ("photo.gz", "NotACloudFrontLog"),
    ] {
        let line = line_of(&lines, key);
        assert_eq!(line["FailedObjects"], 1, "{key}");
        assert_eq!(line["SkippedObjects"], 0, "{key}");
        assert_eq!(line["ErrorType"], error_type, "{key}");
        assert_eq!(line["status"], "failed");
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2, "{key}");
        // Under [FunctionName] with every other metric, for the alarm ...
        assert_eq!(directives[0]["Dimensions"], json!([["FunctionName"]]));
        assert!(names(&directives[0]).contains(&"FailedObjects"));
        // ... and by type.
        assert_eq!(
            directives[1],
            json!({
                "Namespace": "cflog/test",
                "Dimensions": [["FunctionName", "ErrorType"]],
                "Metrics": [{"Name": "FailedObjects", "Unit": "Count"}],
            })
        );
        assert_eq!(directives[0]["Namespace"], "cflog/test");
    }
    // The corrupt object delivered what it read before the failure, and
    // the line counts exactly that, as its report does.
    let corrupt = line_of(&lines, "corrupt.gz");
    assert!(corrupt["InputBytes"].as_u64().unwrap() > 0);
    let photo = line_of(&lines, "photo.gz");
    assert_eq!(photo["Entries"], 0);
    assert!(photo["RejectedLines"].as_u64().unwrap() > 0);
    assert_eq!(line_of(&lines, "mixed.gz")["FailedObjects"], 0);
}

/// Without `AWS_LAMBDA_FUNCTION_NAME` (a local run) the metrics have no
/// `FunctionName`: the dimension sets are `[]` and `[ErrorType]`.
#[tokio::test]
async fn outside_lambda_the_metrics_have_no_function_dimension() {
    let server = server().await;
    let (handler, _, _proxies) = faulty_handler(&server).await;
    let out = SharedOutput::default();
    let handler = handler.metrics_to(out.clone());
    let err = handler
        .handle(s3_notification(&["throttled.gz", "denied.gz"]))
        .await
        .unwrap_err();
    // The most retry-worthy of the two is the invocation's errorType.
    assert_eq!(err.kind, FailureKind::S3Transient);
    let lines = emf_lines(&out);
    for (key, error_type) in [
        ("throttled.gz", "S3Transient"),
        ("denied.gz", "S3AccessDenied"),
    ] {
        let line = line_of(&lines, key);
        assert_eq!(line.get("FunctionName"), None);
        assert_eq!(line["ErrorType"], error_type);
        let directives = &line["_aws"]["CloudWatchMetrics"];
        assert_eq!(directives[0]["Dimensions"], json!([[]]));
        assert_eq!(directives[1]["Dimensions"], json!([["ErrorType"]]));
        assert_eq!(line["FailedObjects"], 1);
    }
}

/// The files under `dir`, at any depth.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn an_s3_destination_s_line_counts_the_objects_in_the_bucket() {
    let server = server().await;
    server.create_bucket("athena").await;
    let out = SharedOutput::default();
    let config = config(&[("CFLOG_SINK", "s3"), ("CFLOG_OUTPUT_BUCKET", "athena")]);
    let handler = Handler::new(server.client(), config)
        .unwrap()
        .reports_to(CapturedStderr)
        .metrics_to(out.clone());
    let key = "E1.2019-12-04-21.a1b2c3d4.gz";
    let response = handler.handle(s3_notification(&[key])).await.unwrap();
    let lines = emf_lines(&out);
    let line = line_of(&lines, key);
    assert_counts(line, &response.objects()[0]);

    // What s3s-fs stores, read from its directory: not the report's count.
    let stored = files(&server.root().join("athena"));
    let stored: Vec<_> = stored
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    assert!(!stored.is_empty());
    assert_eq!(line["OutputObjects"], stored.len() as u64);
    let bytes: u64 = stored.iter().map(|p| p.metadata().unwrap().len()).sum();
    assert_eq!(line["OutputBytes"], bytes);
    assert_eq!(line.get("OutputRecords"), None);
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(
        names(directive)[6..],
        ["OutputBytes", "OutputObjects"],
        "after the fixed metrics"
    );
}

#[tokio::test]
async fn metrics_off_writes_no_line() {
    let server = server().await;
    let out = SharedOutput::default();
    let (handler, outputs) = handler(server.client(), config(&[("CFLOG_METRICS", "off")]));
    let handler = handler.metrics_to(out.clone());
    let response = handler
        .handle(s3_notification(&["mixed.gz"]))
        .await
        .unwrap();
    assert_eq!(response.objects()[0].summary.rejected, 1);
    assert_eq!(outputs.entries("mixed.gz").len(), 6);
    let _ = handler
        .handle(s3_notification(&["corrupt.gz"]))
        .await
        .unwrap_err();
    assert_eq!(outputs.keys(), ["corrupt.gz", "mixed.gz"]);
    assert!(
        out.bytes().is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.bytes())
    );
}

#[tokio::test]
async fn sqs_and_batch_operations_objects_have_a_line_each() {
    let server = server().await;
    let out = SharedOutput::default();
    let (handler, _) = handler(server.client(), config(&[]));
    let handler = handler.metrics_to(out.clone());

    let body = s3_notification(&["mixed.gz", "corrupt.gz"]).to_string();
    let sqs = json!({"Records": [{
        "messageId": "m1",
        "receiptHandle": "AQEBm1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:cflog-TriggerQueue",
        "awsRegion": "us-east-1"
    }]});
    let Response::Sqs(_) = handler.handle(sqs).await.unwrap() else {
        panic!("an SQS event got another response");
    };
    let batch = json!({
        "invocationSchemaVersion": "1.0",
        "invocationId": "i",
        "job": {"id": "j"},
        "tasks": [{"taskId": "t", "s3Key": "mixed.gz", "s3VersionId": null, "s3BucketArn": format!("arn:aws:s3:::{BUCKET}")}],
    });
    let Response::S3Batch(_) = handler.handle(batch).await.unwrap() else {
        panic!("a Batch Operations event got another response");
    };

    let lines = emf_lines(&out);
    let keys: Vec<&str> = lines.iter().map(|l| l["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["mixed.gz", "corrupt.gz", "mixed.gz"]);
    assert_eq!(
        lines
            .iter()
            .map(|l| &l["FailedObjects"])
            .collect::<Vec<_>>(),
        [&json!(0), &json!(1), &json!(0)]
    );
    assert_eq!(lines[1]["ErrorType"], "CorruptGzip");
    assert_eq!(lines[2]["RejectedLines.field_count"], 1);
}

#[tokio::test]
async fn a_kinesis_batch_has_one_line() {
    let fields = String::from_utf8(testdata("realtime-40-fields-2020.fields")).unwrap();
    let config = config(&[("CFLOG_REALTIME_FIELDS", fields.trim())]);
    let entries = SharedOutput::default();
    let sink_out = entries.clone();
    let selection = config.selection.clone();
    // No S3 request is made for Kinesis events; the client points nowhere.
    let client = cflog_testkit::client("http://127.0.0.1:9");
    let out = SharedOutput::default();
    let handler = Handler::with_sinks(client, config, move |_: &Source<'_>| {
        NdjsonSink::with_selection(sink_out.clone(), selection.clone())
    })
    .reports_to(CapturedStderr)
    .metrics_to(out.clone());
    let record = testdata("realtime-40-fields-2020.tsv");
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/cloudfront-realtime";
    let event = kinesis_event(stream, &[("1", &record), ("2", b"only\tthree\tfields\n")]);
    handler.handle(event).await.unwrap();

    let lines = emf_lines(&out);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["source"], "kinesis");
    assert_eq!(line["stream"], stream);
    assert_eq!(line["Entries"], 1);
    assert_eq!(entries.entries().len(), 1);
    assert_eq!(line["RejectedLines"], 1);
    assert_eq!(line["RejectedLines.field_count"], 1);
    assert_eq!(line["InputBytes"], (record.len() + 18) as u64);
    assert_eq!(line["FailedBatches"], 0);
    assert_eq!(line.get("FailedObjects"), None);
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(),
        1
    );
}
