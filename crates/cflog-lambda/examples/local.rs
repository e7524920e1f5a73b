//! The main job, end to end, on this machine: the real handler and the real
//! S3 client against an embedded S3-compatible server that holds the files
//! of `testdata/` (or the directory given), gzipped under an encoded prefix
//! as CloudFront and S3 would deliver them (legacy and v2 W3C logs, and v2
//! JSON lines), then a Kinesis batch of real-time log records
//! (`events/kinesis-realtime.json`, when the directory has it). Entries go
//! to stdout as NDJSON; one summary per object or batch goes to stderr,
//! each line starting with `summary:`, so that `2>/dev/null` leaves the
//! entries alone and `>/dev/null` the summaries. The CloudWatch metrics
//! lines the function would write beside them are off, unless
//! `CFLOG_METRICS=on`.
//!
//! ```text
//! cargo run --locked -p cflog-lambda --example local [-- DIR]
//! ```

use cflog_lambda::{Config, Handler};
use cflog_testkit::{S3Server, gzip};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata").into());
    let server = S3Server::start().await;
    let bucket = "cflog-local";
    server.create_bucket(bucket).await;

    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        // Standard logs, TAB-delimited or v2 JSON lines (told apart by their
        // first line); the `|` files need CFLOG_DELIMITER.
        .filter(|name| {
            (name.ends_with(".log") || name.ends_with(".ndjson"))
                && !name.starts_with("v2-custom-order")
        })
        .collect();
    names.sort();
    let mut records = Vec::new();
    for name in &names {
        let key = format!("cf logs/year=2025/{name}.gz");
        server
            .put(
                bucket,
                &key,
                gzip(&std::fs::read(std::path::Path::new(&dir).join(name))?),
            )
            .await;
        // As S3 writes keys into events: form-URL-encoded.
        let encoded = key.replace(' ', "+").replace('=', "%3D");
        records.push(json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2025-12-11T06:05:16.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": "AWS:AIDAEXAMPLE" },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": { "x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL" },
            "s3": { "s3SchemaVersion": "1.0", "configurationId": "cflog-local",
                    "bucket": { "name": bucket, "ownerIdentity": { "principalId": "LOCAL" }, "arn": format!("arn:aws:s3:::{bucket}") },
                    "object": { "key": encoded, "size": 0, "eTag": "", "sequencer": "0" } }
        }));
    }

    // The fields of the real-time sample, unless the environment names others.
    let sample_fields = std::path::Path::new(&dir).join("realtime-40-fields-2020.fields");
    let sample_fields = std::fs::read_to_string(sample_fields).ok();
    let config = Config::from_lookup(|name| match std::env::var(name) {
        Ok(value) => Some(value),
        Err(_) if name == "CFLOG_REALTIME_FIELDS" => sample_fields.clone(),
        // Metrics lines are for CloudWatch; here they would only bury the entries.
        Err(_) if name == "CFLOG_METRICS" => Some("off".into()),
        Err(_) => None,
    })?;
    eprintln!("summary: entries on stdout as NDJSON; summaries on stderr, as these lines");
    let handler = Handler::new(server.client(), config)?.reports_to(Labelled);
    let fail = |err: cflog_lambda::HandlerError| format!("{}: {err}", err.kind.name());
    let response = handler
        .handle(json!({ "Records": records }))
        .await
        .map_err(fail)?;
    let entries: u64 = response.objects().iter().map(|o| o.summary.entries).sum();
    eprintln!(
        "summary: {} objects, {entries} entries",
        response.objects().len()
    );

    let kinesis = std::path::Path::new(&dir).join("events/kinesis-realtime.json");
    if kinesis.exists() {
        let event = serde_json::from_slice(&std::fs::read(kinesis)?)?;
        let response = handler.handle(event).await.map_err(fail)?;
        eprintln!(
            "summary: the Kinesis batch's answer: {}",
            serde_json::to_string(&response)?
        );
    }
    Ok(())
}

/// The handler's report lines on stderr, each behind `summary: `.
struct Labelled;

impl std::io::Write for Labelled {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(b"summary: ")?;
        stderr.write_all(line)?;
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
