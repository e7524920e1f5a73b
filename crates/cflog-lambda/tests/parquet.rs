//! The function reads `.parquet` objects from a real S3-compatible server
//! (s3s-fs, in-process): AWS's v2 Parquet, written here by pyarrow, and
//! cflog's own, by ranged GETs; their entries are those of the same log as
//! gzip text.

// The S3 notification; the fixtures the other tests share are not used here.
#[allow(dead_code)]
mod common;

use std::path::Path;
use std::process::Command;

use aws_sdk_s3::Client;
use cflog_core::{Reader, Record};
use cflog_lambda::{Config, FailureKind, Handler, HandlerError, Response};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
use cflog_pipeline::sink::{NdjsonSink, Source};
use cflog_testkit::{S3Server, SharedOutput, gzip, testdata};
use common::{BUCKET, s3_notification};
use serde_json::{Value, json};

fn handler(client: Client) -> (Handler, SharedOutput) {
    let config = Config::from_lookup(|_| None).unwrap();
    let output = SharedOutput::default();
    let out = output.clone();
    let selection = config.selection.clone();
    let handler = Handler::with_sinks(client, config, move |_: &Source<'_>| {
        NdjsonSink::with_selection(out.clone(), selection.clone())
    });
    (handler, output)
}

/// The log's data lines as AWS's Parquet: every column a string, named in
/// snake_case, by pyarrow.
fn aws_parquet(log: &[u8], dir: &Path) -> Vec<u8> {
    let text = String::from_utf8(log.to_vec()).unwrap();
    let header = text.lines().find(|l| l.starts_with("#Fields:")).unwrap();
    let columns: Vec<String> = header["#Fields:".len()..]
        .split_whitespace()
        .map(cflog_core::json_key_for_name)
        .collect();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let json = dir.join("rows.json");
    std::fs::write(&json, json!({"columns": columns, "rows": rows}).to_string()).unwrap();
    let parquet = dir.join("aws.parquet");
    let status = Command::new(cflog_testkit::tools_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../cflog-cli/tests/parquet_in.py"))
        .arg(&json)
        .arg(&parquet)
        .args(["--row-group-size", "2"])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(parquet).unwrap()
}

/// The log as cflog's own Parquet.
fn own_parquet(log: &[u8]) -> Vec<u8> {
    let mut writer =
        ParquetWriter::new(Vec::new(), ColumnSet::standard(), WriterOptions::default()).unwrap();
    let mut reader = Reader::from_reader(log);
    let mut record = Record::new();
    while reader.read_record(&mut record).unwrap() {
        writer.write(&record.line()).unwrap();
    }
    writer.finish().unwrap().0
}

async fn entries_of(server: &S3Server, key: &str) -> (Result<Response, HandlerError>, Vec<Value>) {
    let (handler, output) = handler(server.client());
    let result = handler.handle(s3_notification(&[key])).await;
    (result, output.entries())
}

fn without_nulls(entries: Vec<Value>) -> Vec<Value> {
    entries
        .into_iter()
        .map(|mut e| {
            e.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            e
        })
        .collect()
}

#[tokio::test]
async fn parquet_objects_give_the_entries_of_their_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = testdata("aws-docs-33-fields.log");
    let server = S3Server::start().await;
    server.create_bucket(BUCKET).await;
    let gz = "E1.2019-12-04-21.a1b2c3d4.gz";
    let aws = "v2/DistributionId=E1EXAMPLE12345/year=2019/month=12/day=04/hour=21/part-0.parquet";
    let own = "cflog/own.parquet";
    server.put(BUCKET, gz, gzip(&log)).await;
    server.put(BUCKET, aws, aws_parquet(&log, dir.path())).await;
    server.put(BUCKET, own, own_parquet(&log)).await;

    let (result, from_text) = entries_of(&server, gz).await;
    result.unwrap();
    assert_eq!(from_text.len(), 6);

    let (result, from_aws) = entries_of(&server, aws).await;
    let response = result.unwrap();
    let summary = &response.objects()[0].summary;
    assert!(summary.parquet && !summary.gzip);
    assert_eq!(
        (summary.lines, summary.entries, summary.rejected),
        (6, 6, 0)
    );
    assert_eq!(from_aws, from_text);

    let (result, from_own) = entries_of(&server, own).await;
    assert!(result.unwrap().objects()[0].summary.parquet);
    assert_eq!(without_nulls(from_own), without_nulls(from_text));
}

#[tokio::test]
async fn a_truncated_parquet_object_fails_for_good() {
    let log = testdata("aws-docs-33-fields.log");
    let mut file = own_parquet(&log);
    file.truncate(file.len() - 3);
    let server = S3Server::start().await;
    server.create_bucket(BUCKET).await;
    server.put(BUCKET, "cut.parquet", file).await;
    let (result, entries) = entries_of(&server, "cut.parquet").await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, FailureKind::CorruptParquet, "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(entries.is_empty());
}
