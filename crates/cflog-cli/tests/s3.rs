//! `s3://bucket/prefix` inputs against a real S3-compatible server started
//! in-process (the one the Lambda's tests use), reached by the binary
//! through the standard AWS environment.

mod common;

use cflog_testkit::S3Server;
use common::{cflog_for, objects, raw_records, testdata_text};
use predicates::prelude::*;

// The server runs on the test's runtime; `multi_thread` keeps it serving
// while the test blocks on the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_is_listed_and_every_object_streamed_like_the_lambda_does() {
    let server = S3Server::start().await;
    server.create_bucket("logs").await;
    let day = [
        common::synthetic_log("h00", 700),
        common::synthetic_log("h01", 300),
    ];
    server
        .put(
            "logs",
            "cf/E2.2024-03-14-00.a1.gz",
            common::gzip(day[0].as_bytes()),
        )
        .await;
    // Plain text is fine too: gzip is told by content.
    server
        .put("logs", "cf/E2.2024-03-14-01.b2", day[1].as_bytes().to_vec())
        .await;
    // Outside the prefix: not read.
    server
        .put(
            "logs",
            "other/E9.2024-03-14-00.c3.gz",
            common::gzip(b"not read"),
        )
        .await;

    let output = cflog_for(&server)
        .args([
            "--s3-path-style",
            "--jobs",
            "1",
            "--fields",
            "x_edge_request_id,sc_status",
        ])
        .arg("s3://logs/cf/E2.2024-03-14")
        .assert()
        .success()
        .stderr(predicate::str::contains("2 inputs (1 gzip)"))
        .get_output()
        .stdout
        .clone();
    let ids: Vec<String> = objects(&output)
        .iter()
        .map(|o| o["x_edge_request_id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..700)
        .map(|n| format!("h00-{n}"))
        .chain((0..300).map(|n| format!("h01-{n}")))
        .collect();
    assert_eq!(ids, expected);

    // The same objects through `stats`, path style from the environment
    // variable the Lambda reads.
    let records: Vec<_> = day.iter().flat_map(|t| raw_records(t, "\t").0).collect();
    let output = cflog_for(&server)
        .env("CFLOG_S3_PATH_STYLE", "1")
        .args(["stats", "--json"])
        .arg("s3://logs/cf/")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(report["inputs"].as_u64(), Some(2));
    assert_eq!(report["requests"].as_u64(), Some(records.len() as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_failures_name_the_object_and_exit_with_2() {
    let server = S3Server::start().await;
    server.create_bucket("logs").await;
    let good = testdata_text("aws-docs-33-fields.log");
    let (records, _) = raw_records(&good, "\t");
    server.put("logs", "cf/a-good.log", good.into_bytes()).await;
    let gz = common::gzip(common::synthetic_log("x", 3000).as_bytes());
    server
        .put("logs", "cf/b-truncated.gz", gz[..gz.len() / 3].to_vec())
        .await;

    let output = cflog_for(&server)
        .arg("--s3-path-style")
        .arg("s3://logs/cf/")
        .arg("s3://logs/nothing-here/")
        .arg("s3://no-such-bucket/x")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("s3://logs/cf/b-truncated.gz: the gzip data is corrupt or truncated"),
        "{stderr}"
    );
    assert!(
        stderr.contains("s3://logs/nothing-here/: no objects under this prefix"),
        "{stderr}"
    );
    assert!(stderr.contains("s3://no-such-bucket/x"), "{stderr}");
    // The good object is read in full, and the truncated one up to its cut.
    let objects = objects(&output.stdout);
    let good_ids = objects
        .iter()
        .filter(|o| {
            o["x_edge_request_id"]
                .as_str()
                .is_some_and(|id| !id.starts_with("x-"))
        })
        .count();
    assert_eq!(good_ids, records.len());
}

/// An S3 refusal is one line: the operation, the URI, S3's code and
/// message, the HTTP status and the request id. It was the SDK's whole
/// debug dump, about 1,500 characters; `--verbose` still prints that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_refusal_is_one_line_and_verbose_adds_the_sdk_answer() {
    let server = S3Server::start().await;
    let output = cflog_for(&server)
        .args(["--s3-path-style", "s3://no-such-bucket/cf/"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let line = stderr
        .lines()
        .find(|line| line.contains("s3://no-such-bucket/cf/"))
        .unwrap_or_else(|| panic!("no line names the URI: {stderr}"));
    assert!(
        line.contains("ListObjectsV2 s3://no-such-bucket/cf/ failed: NoSuchBucket"),
        "{line}"
    );
    assert!(line.contains("(HTTP 404"), "{line}");
    assert!(line.len() < 250, "{} characters: {line}", line.len());
    assert!(!stderr.contains("<?xml"), "{stderr}");

    let verbose = cflog_for(&server)
        .args(["--s3-path-style", "--verbose", "s3://no-such-bucket/cf/"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let verbose = String::from_utf8(verbose).unwrap();
    assert!(verbose.starts_with(line), "{verbose}");
    assert!(verbose.contains("ServiceError"), "{verbose}");
}

/// A truncated object's entries up to the cut are written, and the summary
/// counts exactly those, with the cut line as `truncated`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_object_counts_what_it_wrote() {
    let server = S3Server::start().await;
    server.create_bucket("logs").await;
    let gz = common::gzip(common::synthetic_log("x", 20_000).as_bytes());
    server
        .put("logs", "cf/truncated.gz", gz[..gz.len() / 2].to_vec())
        .await;
    let output = cflog_for(&server)
        .args(["--s3-path-style", "s3://logs/cf/"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let written = objects(&output.stdout).len();
    assert!(written > 1000, "{written}");
    let counted = format!(" lines: {} entries, ", thousands(written));
    assert!(stderr.contains(&counted), "{written} written: {stderr}");
    assert!(stderr.contains("1 truncated"), "{stderr}");
}

/// `1234567` as `1,234,567`, as the summary prints counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
