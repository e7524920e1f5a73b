//! `--output s3://bucket/prefix/`: the Lambda's S3 layout from the command
//! line, against a real S3-compatible server started in-process.

mod common;

use std::io::Read;
use std::path::Path;

use cflog_testkit::S3Server;
use common::cflog_for;
use predicates::prelude::*;

/// Every file under `dir`, relative to it, but for s3s-fs's own.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                if !name.rsplit('/').next().unwrap().starts_with('.') {
                    found.push(name);
                }
            }
        }
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_inputs_to_an_s3_output_in_the_lambdas_layout_the_same_keys_every_run() {
    let server = S3Server::start().await;
    server.create_bucket("logs").await;
    server.create_bucket("athena").await;
    let logs = [
        ("cf/E2.2024-03-14-00.a1.gz", common::synthetic_log("a", 400)),
        ("cf/E2.2024-03-14-01.b2.gz", common::synthetic_log("b", 200)),
    ];
    for (key, log) in &logs {
        server.put("logs", key, common::gzip(log.as_bytes())).await;
    }
    let tree = server.root().join("athena");
    // Parquet as an object per input and hour, in the table's prefix (the
    // layout before the rollup; `parquet_to_s3_is_staged_...` below covers
    // the rollup).
    let run = |format: &str, prefix: &str| {
        let no_rollup = if format == "parquet" {
            "--no-rollup"
        } else {
            "--jobs=2"
        };
        cflog_for(&server)
            .args(["--s3-path-style", "-q", no_rollup, "--format", format, "-o"])
            .arg(format!("s3://athena/{prefix}"))
            .arg("s3://logs/cf/")
            .assert()
            .success();
        files(&tree.join(prefix.trim_end_matches('/')))
    };

    let parquet = run("parquet", "parquet/");
    assert!(parquet.len() > 2, "{parquet:?}");
    for name in &parquet {
        assert!(
            name.starts_with("distribution=E2/year=2024/month=03/day="),
            "{name}"
        );
        // Named after its input; the log spans more hours than objects
        // are open at once, so some hours have `.1`, `.2` objects too.
        let file = name.rsplit('/').next().unwrap();
        let stem = file.strip_suffix(".parquet").unwrap();
        let stem = match stem.rsplit_once('.') {
            Some((stem, n)) if n.bytes().all(|b| b.is_ascii_digit()) => stem,
            _ => stem,
        };
        assert!(
            ["E2.2024-03-14-00.a1", "E2.2024-03-14-01.b2"].contains(&stem),
            "{name}"
        );
    }
    assert_eq!(
        run("parquet", "parquet/"),
        parquet,
        "a second run writes the same keys"
    );

    // The same layout as gzip NDJSON, each entry in the hour it names.
    let ndjson = run("ndjson", "ndjson");
    let mut entries = 0;
    for name in &ndjson {
        let bytes = std::fs::read(tree.join("ndjson").join(name)).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            let t = entry["timestamp"].as_str().unwrap();
            let hour = format!("day={}/hour={}/", &t[8..10], &t[11..13]);
            assert!(name.contains(&hour), "{name} holds {t}");
            entries += 1;
        }
    }
    assert_eq!(entries, 600);
    let same: Vec<String> = ndjson
        .iter()
        .map(|n| n.replace(".ndjson.gz", ".parquet"))
        .collect();
    assert_eq!(same, parquet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_to_s3_is_staged_and_rolled_up_into_one_object_per_hour_and_cflog_rollup_changes_nothing()
 {
    let server = S3Server::start().await;
    server.create_bucket("logs").await;
    server.create_bucket("athena").await;
    let logs = [
        ("cf/E2.2024-03-14-00.a1.gz", common::synthetic_log("a", 400)),
        ("cf/E2.2024-03-14-01.b2.gz", common::synthetic_log("b", 200)),
    ];
    for (key, log) in &logs {
        server.put("logs", key, common::gzip(log.as_bytes())).await;
    }
    cflog_for(&server)
        .args([
            "--s3-path-style",
            "--format",
            "parquet",
            "-o",
            "s3://athena/cf/",
        ])
        .arg("s3://logs/cf/")
        .assert()
        .success()
        .stderr(predicate::str::contains("rolled up"));
    let tree = server.root().join("athena/cf");
    let all = files(&tree);
    let (staged, table): (Vec<&String>, Vec<&String>) =
        all.iter().partition(|name| name.starts_with("staging/"));
    // Both inputs staged per hour; the table holds one part per hour.
    assert!(staged.len() > table.len(), "{all:?}");
    let hours: std::collections::BTreeSet<String> = staged
        .iter()
        .map(|name| name["staging/".len()..name.rfind('/').unwrap()].to_owned())
        .collect();
    let parts: Vec<String> = hours
        .iter()
        .map(|hour| format!("{hour}/part-00000.parquet"))
        .collect();
    assert_eq!(table, parts.iter().collect::<Vec<_>>());
    // Every entry once across the parts, as DuckDB reads them.
    let glob = format!("{}/distribution=*/**/*.parquet", tree.display());
    let output = std::process::Command::new(cflog_testkit::tools_python())
        .args(["-c", "import duckdb, sys\nprint(duckdb.sql(f\"SELECT count(*) FROM read_parquet('{sys.argv[1]}')\").fetchall()[0][0])"])
        .arg(&glob)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "600");
    let before: Vec<(String, Vec<u8>)> = table
        .iter()
        .map(|name| ((*name).clone(), std::fs::read(tree.join(name)).unwrap()))
        .collect();

    // `cflog rollup` over the same prefix: nothing changed, nothing written.
    cflog_for(&server)
        .args(["rollup", "--s3-path-style", "s3://athena/cf/"])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 parts written (0 rows)"));
    let after: Vec<(String, Vec<u8>)> = before
        .iter()
        .map(|(name, _)| (name.clone(), std::fs::read(tree.join(name)).unwrap()))
        .collect();
    assert_eq!(after, before);

    // Read back over the whole prefix, each entry counts once: the staging
    // objects of the rolled-up hours are left out, and that is said.
    let requests = |uri: &str| {
        let output = cflog_for(&server)
            .args(["stats", "--json", "--s3-path-style", uri])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{uri}");
        let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (stats["requests"].as_u64().unwrap(), stderr)
    };
    let (all, stderr) = requests("s3://athena/cf/");
    assert_eq!(all, 600, "{stderr}");
    let note = format!(
        "s3://athena/cf/: {} staging objects left out, as their hours are rolled up",
        staged.len()
    );
    assert!(stderr.contains(&note), "{stderr}");
    // The staging prefix itself is read whole.
    let (staging, stderr) = requests("s3://athena/cf/staging/");
    assert_eq!(staging, 600);
    assert!(!stderr.contains("left out"), "{stderr}");
    // An hour not rolled up yet is read from its staging objects.
    std::fs::remove_file(tree.join(table[0])).unwrap();
    let (unrolled, stderr) = requests("s3://athena/cf/");
    assert_eq!(unrolled, 600, "{stderr}");
}

#[test]
fn cflog_rollup_takes_an_s3_uri_and_rfc_3339_times() {
    common::cflog()
        .args(["rollup", "athena/cf/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected s3://bucket/prefix/"));
    common::cflog()
        .args(["rollup", "s3://athena/cf/", "--since", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
}

#[test]
fn an_s3_output_takes_parquet_or_ndjson_only() {
    common::cflog()
        .args(["--format", "csv", "-o", "s3://athena/x/", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--format parquet or ndjson"));
}

/// A Parquet input (here cflog's own, as the S3 destination stored it)
/// written again to S3 is named after its input without `.parquet`, as a
/// `.gz` input is without `.gz`: `E2.….a1.parquet`, not `….parquet.parquet`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_input_is_named_without_its_parquet_suffix() {
    let server = S3Server::start().await;
    server.create_bucket("athena").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("E2.2024-03-14-00.a1");
    std::fs::write(&log, common::synthetic_log("a", 50)).unwrap();
    let input = dir.path().join("E2.2024-03-14-00.a1.parquet");
    cflog_for(&server)
        .args(["-q", "--format", "parquet", "-o"])
        .arg(&input)
        .arg(&log)
        .assert()
        .success();
    for format in ["parquet", "ndjson"] {
        cflog_for(&server)
            .args([
                "--s3-path-style",
                "-q",
                "--no-rollup",
                "--format",
                format,
                "-o",
            ])
            .arg(format!("s3://athena/{format}/"))
            .arg(&input)
            .assert()
            .success();
        let written = files(&server.root().join("athena").join(format));
        assert!(!written.is_empty());
        let suffix = if format == "parquet" {
            "parquet"
        } else {
            "ndjson.gz"
        };
        for name in &written {
            // `<stem>.<suffix>`, or `<stem>.<n>.<suffix>` for an hour with
            // more entries than one object holds at once.
            let file = name.rsplit('/').next().unwrap();
            let stem = file.strip_suffix(suffix).unwrap().trim_end_matches('.');
            let stem = match stem.rsplit_once('.') {
                Some((stem, n)) if n.bytes().all(|b| b.is_ascii_digit()) => stem,
                _ => stem,
            };
            assert_eq!(stem, "E2.2024-03-14-00.a1", "{name}");
            assert!(
                name.starts_with("distribution=E2/year=2024/month=03/"),
                "{name}"
            );
        }
    }
}
