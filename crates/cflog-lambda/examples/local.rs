//! The main job, end to end, on this machine: the real handler and the real
//! S3 client against an embedded S3-compatible server that holds the files
//! of `testdata/` (or the directory given), gzipped under an encoded prefix
//! as CloudFront and S3 would deliver them. Entries go to stdout as NDJSON,
//! one summary per object to stderr.
//!
//! ```text
//! cargo run -p cflog-lambda --example local [-- DIR]
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
        // TAB-delimited standard logs; the `|` files need CFLOG_DELIMITER.
        .filter(|name| name.ends_with(".log") && !name.starts_with("v2-custom-order"))
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

    let handler = Handler::new(server.client(), Config::from_env()?);
    match handler.handle(json!({ "Records": records })).await {
        Ok(response) => {
            let entries: u64 = response.objects().iter().map(|o| o.summary.entries).sum();
            eprintln!("{} objects, {entries} entries", response.objects().len());
            Ok(())
        }
        Err(err) => Err(format!("{}: {err}", err.kind.name()).into()),
    }
}
