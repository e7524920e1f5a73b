//! Peak memory of the real Lambda handler on one large object.
//!
//! ```text
//! cargo build --release -p cflog-benches --bin handler-rss
//! /usr/bin/time -v target/release/handler-rss LINES > /dev/null
//! CFLOG_SINK=s3 CFLOG_OUTPUT_BUCKET=athena /usr/bin/time -v target/release/handler-rss LINES
//! ```
//!
//! It generates a LINES-line gzip log (seed 42) if needed, places it in the
//! directory of an in-process S3-compatible server, and runs the handler on
//! an S3 event for it, configured from the environment as the function is:
//! by default the stdout NDJSON sink; with `CFLOG_SINK=s3`, Parquet objects
//! uploaded to the same server. Maximum resident set size, reported by
//! `time -v`, covers the whole process: the parser, the encoder, the S3
//! client and the embedded server.

use cflog_lambda::{Config, Handler};
use cflog_testkit::S3Server;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |n| n.parse())?;
    let corpus = cflog_benches::corpus(lines, "log.gz");
    let server = S3Server::start().await;
    std::fs::create_dir_all(server.root().join("bench"))?;
    std::fs::copy(
        &corpus,
        server
            .root()
            .join("bench")
            .join("E1.2024-03-14-00.cflog.gz"),
    )?;

    let config = Config::from_env()?;
    if let Some(s3) = &config.s3 {
        std::fs::create_dir_all(server.root().join(&s3.bucket))?;
    }
    let handler = Handler::new(server.client(), config)?;
    let event = json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2025-12-11T06:05:16.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "BENCH" }, "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": "BENCH", "x-amz-id-2": "BENCH" },
        "s3": { "s3SchemaVersion": "1.0", "configurationId": "bench",
                "bucket": { "name": "bench", "ownerIdentity": { "principalId": "BENCH" }, "arn": "arn:aws:s3:::bench" },
                "object": { "key": "E1.2024-03-14-00.cflog.gz", "size": 0, "eTag": "", "sequencer": "0" } }
    }]});
    let started = std::time::Instant::now();
    let response = handler.handle(event).await?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = &response.objects()[0].summary;
    assert_eq!(summary.entries, lines, "every generated line is an entry");
    eprintln!(
        "{lines} lines, {:.1} MB uncompressed, {:.2} s wall, {:.0} lines/s",
        summary.bytes as f64 / 1e6,
        seconds,
        lines as f64 / seconds
    );
    for object in &summary.delivered.objects {
        eprintln!(
            "{} ({} entries, {} bytes)",
            object.uri, object.entries, object.bytes
        );
    }
    Ok(())
}
