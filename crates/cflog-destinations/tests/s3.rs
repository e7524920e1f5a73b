//! The S3 destination against a real S3-compatible server (s3s-fs,
//! in-process), read back by DuckDB, which nobody here wrote, over the
//! Hive-partitioned tree the server keeps as plain files.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use cflog_destinations::s3::{ObjectFormat, S3Destination, S3Options, S3SinkError, UploadError};
use cflog_pipeline::input::InputError;
use cflog_pipeline::s3::{ObjectError, process_object};
use cflog_pipeline::sink::{DeliveredObject, NdjsonSink, SinkFactory, Source};
use cflog_pipeline::{Options, Pipeline, PipelineError, Summary};
use cflog_testkit::{RequestFaultProxy, S3Server, client, gzip, tools_python};
use serde_json::Value;

const LOGS: &str = "logs";
const ATHENA: &str = "athena";
const KEY: &str = "cloudfront/E2EXAMPLE.2024-05-01-13.1a2b3c4d.gz";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A generated log of `lines` lines over `hours` hours, with bad lines.
fn generated(lines: u32, hours: u32, bad_rate: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.log");
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen_cflog.py"))
        .args([
            "--seed",
            "7",
            "--lines",
            &lines.to_string(),
            "--fields",
            "33",
        ])
        .args(["--span-hours", &hours.to_string(), "--bad-rate", bad_rate])
        .args(["--start", "2024-05-01", "--out"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(path).unwrap()
}

/// The NDJSON of `log`, the reference every object is checked against.
fn ndjson(log: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
    let _ = pipeline.push(log).unwrap();
    pipeline.blocking_finish().unwrap();
    drop(pipeline);
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// `year=YYYY/month=MM/day=DD/hour=HH` of an entry's timestamp.
fn hour_path(entry: &Value) -> String {
    let t = entry["timestamp"].as_str().unwrap();
    format!(
        "year={}/month={}/day={}/hour={}",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..13]
    )
}

async fn servers(log: &[u8]) -> S3Server {
    let server = S3Server::start().await;
    server.create_bucket(LOGS).await;
    server.create_bucket(ATHENA).await;
    server.put(LOGS, KEY, gzip(log)).await;
    server
}

async fn run(
    server_endpoint: &str,
    format: ObjectFormat,
    options: S3Options,
) -> Result<Summary, ObjectError<S3SinkError>> {
    run_under(server_endpoint, "cflog", format, options).await
}

async fn run_under(
    server_endpoint: &str,
    prefix: &str,
    format: ObjectFormat,
    options: S3Options,
) -> Result<Summary, ObjectError<S3SinkError>> {
    let client = client(server_endpoint);
    let destination = S3Destination::new(client.clone(), ATHENA, prefix)
        .format(format)
        .options(options);
    let sink = destination.open(&Source::Object {
        bucket: LOGS,
        key: KEY,
    });
    process_object(&client, LOGS, KEY, &Options::default(), sink).await
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

fn duckdb(sql: &str) -> Vec<Vec<Value>> {
    let script = "import duckdb, json, sys\nrows = duckdb.sql(sys.argv[1]).fetchall()\nprint(json.dumps([[str(v) if v is not None else None for v in row] for row in rows]))";
    let output = Command::new(tools_python())
        .args(["-c", script, sql])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_in_hive_partitions_that_duckdb_reads_as_the_ndjson_has_it() {
    let log = generated(6_000, 3, "0.01");
    let server = servers(&log).await;
    let summary = run(
        &server.endpoint,
        ObjectFormat::Parquet,
        S3Options::default(),
    )
    .await
    .unwrap();
    assert!(summary.reconciles());
    assert!(summary.rejected > 0, "the corpus has bad lines");

    let reference = ndjson(&log);
    let mut per_hour: BTreeMap<String, u64> = BTreeMap::new();
    for entry in &reference {
        *per_hour.entry(hour_path(entry)).or_default() += 1;
    }
    assert!(per_hour.len() >= 3, "{per_hour:?}");
    // One object per hour, named after the input, with its entries.
    let stem = "E2EXAMPLE.2024-05-01-13.1a2b3c4d";
    let expected: Vec<(String, u64)> = per_hour
        .iter()
        .map(|(hour, n)| {
            let uri = format!("s3://{ATHENA}/cflog/distribution=E2EXAMPLE/{hour}/{stem}.parquet");
            (uri, *n)
        })
        .collect();
    let delivered: Vec<(String, u64)> = summary
        .delivered
        .objects
        .iter()
        .map(|o| (o.uri.clone(), o.entries))
        .collect();
    assert_eq!(delivered, expected);
    assert_eq!(summary.delivered.entries, summary.entries);
    assert_eq!(summary.entries, reference.len() as u64);
    let tree = server.root().join(ATHENA).join("cflog");
    let listed: Vec<String> = files(&tree)
        .into_iter()
        .filter(|f| !f.contains(".s3s") && !f.starts_with('.'))
        .collect();
    assert_eq!(listed.len(), expected.len(), "{listed:?}");

    // DuckDB over the tree, the partitions from the paths.
    let glob = format!("{}/**/*.parquet", tree.display());
    let rows = duckdb(&format!(
        "SELECT distribution, year, month, day, hour, count(*) FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
    ));
    let counted: BTreeMap<String, u64> = rows
        .iter()
        .map(|row| {
            assert_eq!(row[0], "E2EXAMPLE");
            let n = |i: usize| row[i].as_str().unwrap().parse::<u32>().unwrap();
            let hour = format!(
                "year={:04}/month={:02}/day={:02}/hour={:02}",
                n(1),
                n(2),
                n(3),
                n(4)
            );
            (hour, row[5].as_str().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(counted, per_hour);
    // A query parameter, as the Node.js sample's users looked them up.
    let with_page = reference
        .iter()
        .filter(|e| e["query_params"].get("page").is_some())
        .count();
    let pages: u64 = reference
        .iter()
        .filter_map(|e| {
            let page = e["query_params"].get("page")?;
            page.as_array()
                .map_or(page.as_str(), |values| values.first()?.as_str())
        })
        .filter(|page| *page == "2")
        .count() as u64;
    assert!(with_page > 0, "the corpus has page parameters");
    let rows = duckdb(&format!(
        "SELECT count(*) FILTER (WHERE query_params['page'] IS NOT NULL), count(*) FILTER (WHERE query_params['page'][1] = '2') FROM read_parquet('{glob}', hive_partitioning = true)"
    ));
    assert_eq!(rows[0][0], with_page.to_string());
    assert_eq!(rows[0][1], pages.to_string());
}

/// The decompressed lines of an object the server holds.
fn object_lines(server: &S3Server, uri: &str) -> Vec<Value> {
    let key = uri.strip_prefix(&format!("s3://{ATHENA}/")).unwrap();
    let bytes = std::fs::read(server.root().join(ATHENA).join(key)).unwrap();
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_objects_per_hour_and_a_second_delivery_writes_the_same_keys() {
    let log = generated(3_000, 2, "0");
    let server = servers(&log).await;
    let first = run(
        &server.endpoint,
        ObjectFormat::NdjsonGz,
        S3Options::default(),
    )
    .await
    .unwrap();
    let tree = server.root().join(ATHENA);
    let before = files(&tree);
    let second = run(
        &server.endpoint,
        ObjectFormat::NdjsonGz,
        S3Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(first.delivered, second.delivered);
    assert_eq!(files(&tree), before, "no object was added");

    let reference = ndjson(&log);
    let mut read_back = Vec::new();
    for object in &second.delivered.objects {
        assert!(object.uri.ends_with(".ndjson.gz"), "{}", object.uri);
        let lines = object_lines(&server, &object.uri);
        assert_eq!(lines.len() as u64, object.entries);
        for line in &lines {
            assert!(object.uri.contains(&hour_path(line)), "{}", object.uri);
        }
        read_back.extend(lines);
    }
    // Every entry once, in the input's order within its hour.
    let mut expected = reference.clone();
    expected.sort_by_key(hour_path);
    assert_eq!(read_back, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_hours_than_open_objects_write_numbered_objects() {
    // Lines alternate between hours; at most one object is open at once.
    let log = generated(600, 3, "0");
    let mut lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
    let header: Vec<&[u8]> = lines.drain(..2).collect();
    let mut by_hour: BTreeMap<&[u8], Vec<&[u8]>> = BTreeMap::new();
    for line in lines.into_iter().filter(|l| !l.is_empty()) {
        by_hour.entry(&line[..13]).or_default().push(line);
    }
    let mut shuffled = header.join(&b'\n');
    let hours: Vec<Vec<&[u8]>> = by_hour.into_values().collect();
    for i in 0..3 {
        for hour in &hours {
            if let Some(line) = hour.get(i) {
                shuffled.push(b'\n');
                shuffled.extend_from_slice(line);
            }
        }
    }
    shuffled.push(b'\n');
    let server = servers(&shuffled).await;
    let options = S3Options::default().max_open_objects(1);
    let summary = run(&server.endpoint, ObjectFormat::NdjsonGz, options)
        .await
        .unwrap();
    let names: Vec<&str> = summary
        .delivered
        .objects
        .iter()
        .map(|o| o.uri.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(summary.delivered.objects.len(), 9, "{names:?}");
    let stem = "E2EXAMPLE.2024-05-01-13.1a2b3c4d";
    for n in ["", ".1", ".2"] {
        let name = format!("{stem}{n}.ndjson.gz");
        assert_eq!(names.iter().filter(|o| **o == name).count(), 3, "{names:?}");
    }
    let total: u64 = summary.delivered.objects.iter().map(|o| o.entries).sum();
    assert_eq!(total, summary.entries);
    assert_eq!(summary.entries, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_part_aborts_the_upload_and_a_retry_writes_the_same_keys() {
    // One hour, enough gzip NDJSON for a 5 MiB part and more. The first
    // part fails: the multipart upload exists, and must be aborted.
    let log = generated(50_000, 1, "0");
    let server = servers(&log).await;
    let proxy =
        RequestFaultProxy::start(&server.endpoint, "partNumber=1", 403, "AccessDenied").await;
    let options = S3Options::default().part_bytes(5 << 20);
    let error = run(&proxy.endpoint, ObjectFormat::NdjsonGz, options.clone())
        .await
        .unwrap_err();
    assert!(proxy.failed() >= 1);
    let ObjectError::Body {
        source: InputError::Sink(PipelineError(S3SinkError::Upload(UploadError::Part(part)))),
        ..
    } = &error
    else {
        panic!("expected a failed part, got {error:?}");
    };
    assert_eq!(
        part.code(),
        Some("AccessDenied"),
        "{error} {}",
        part.detail()
    );
    assert!(error.to_string().contains("UploadPart"), "{error}");
    // No object, and no upload left behind (s3s-fs keeps an upload's
    // state and parts as dot files in its root until it is aborted).
    let tree = server.root().join(ATHENA);
    assert_eq!(files(&tree), Vec::<String>::new());
    let leftovers: Vec<String> = files(server.root())
        .into_iter()
        .filter(|f| f.starts_with(".upload"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());

    let retry = run(&server.endpoint, ObjectFormat::NdjsonGz, options)
        .await
        .unwrap();
    let [object] = &retry.delivered.objects[..] else {
        panic!("{:?}", retry.delivered.objects);
    };
    assert!(
        object.bytes > 5 << 20,
        "more than one part: {}",
        object.bytes
    );
    assert_eq!(object.entries, 50_000);
    assert_eq!(object_lines(&server, &object.uri), ndjson(&log));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_object_leaves_the_others_in_the_summary_of_the_failure() {
    // Two hours, both open to the end: the second hour's PutObject is
    // refused as the input finishes, the first's is not.
    let (server, log, objects) = hour_01_refused(2, S3Options::default()).await;
    let [object] = &objects[..] else {
        panic!("{objects:?}");
    };
    assert!(object.uri.contains("/hour=00/"), "{}", object.uri);
    let hour_00: Vec<Value> = ndjson(&log)
        .into_iter()
        .filter(|entry| {
            entry["timestamp"]
                .as_str()
                .unwrap()
                .starts_with("2024-05-01T00")
        })
        .collect();
    assert_eq!(object_lines(&server, &object.uri), hour_00);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_completed_early_are_in_the_summary_of_a_failure() {
    // Three hours, one object open at a time: each hour is completed as
    // the next begins, and the second's upload fails while the input is
    // still read, so the others are aborted or left to finish.
    hour_01_refused(3, S3Options::default().max_open_objects(1)).await;
}

/// Runs a log of `hours` hours whose second hour's PutObject is refused:
/// the input fails, and its summary lists exactly the objects in S3, each
/// with entries of its hour. Gives the server, the log and the objects.
async fn hour_01_refused(
    hours: u32,
    options: S3Options,
) -> (S3Server, Vec<u8>, Vec<DeliveredObject>) {
    let log = generated(1_000 * hours, hours, "0");
    let server = servers(&log).await;
    // `hour=01/` with the `=` as the client sends it, percent-encoded or not.
    let proxy = RequestFaultProxy::start(
        &server.endpoint,
        "01/E2EXAMPLE.2024-05-01-13",
        403,
        "AccessDenied",
    )
    .await;
    let error = run(&proxy.endpoint, ObjectFormat::NdjsonGz, options)
        .await
        .unwrap_err();
    // One refusal, or more where a late entry of hour 01 opened its object
    // again (`<stem>.1`) with one object open at a time.
    assert!(proxy.failed() >= 1, "{error}");
    let ObjectError::Body {
        source: InputError::Sink(PipelineError(S3SinkError::Upload(_))),
        summary,
        ..
    } = &error
    else {
        panic!("expected a failed upload, got {error:?}");
    };
    let objects = &summary.delivered.objects;
    assert!(
        objects.iter().any(|o| o.uri.contains("/hour=00/")),
        "{objects:?}"
    );
    let mut in_s3 = files(&server.root().join(ATHENA));
    in_s3.sort();
    let listed: Vec<String> = objects
        .iter()
        .map(|o| {
            o.uri
                .strip_prefix(&format!("s3://{ATHENA}/"))
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(listed, in_s3, "the summary lists what is in S3");
    assert!(!listed.iter().any(|key| key.contains("hour=01")));
    let total: u64 = objects.iter().map(|o| o.entries).sum();
    assert_eq!(summary.delivered.entries, total);
    // Each object holds entries of its hour, as many as the summary says,
    // in the input's order. (With one object open at a time, an hour may
    // be split over `<stem>`, `<stem>.1`…, so an object holds a run of
    // its hour's entries, not all of them.)
    let reference = ndjson(&log);
    let mut stored_entries = 0;
    for object in objects {
        let stored = object_lines(&server, &object.uri);
        assert_eq!(stored.len() as u64, object.entries, "{}", object.uri);
        let hour = &object.uri[object.uri.find("/hour=").unwrap() + 6..][..2];
        let day_hour = format!("2024-05-01T{hour}");
        let mut of_hour = reference
            .iter()
            .filter(|entry| entry["timestamp"].as_str().unwrap().starts_with(&day_hour));
        for entry in &stored {
            assert!(of_hour.any(|e| e == entry), "{}: {entry}", object.uri);
        }
        stored_entries += stored.len() as u64;
    }
    assert_eq!(stored_entries, summary.delivered.entries);
    let objects = objects.clone();
    (server, log, objects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_without_a_name_fails_its_output() {
    let server = S3Server::start().await;
    let destination = S3Destination::new(server.client(), ATHENA, "");
    let mut pipeline = Pipeline::new(&Options::default(), destination.open(&Source::Stdin));
    let error = pipeline
        .push(b"#Fields: date time sc-status\n2024-05-01\t13:00:00\t200\n")
        .unwrap_err();
    assert!(error.to_string().contains("has none"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_budget_completes_the_hours_left_behind() {
    // Nearly in time order, as CloudFront writes them: with no room for
    // more than the object being written, each hour is completed once the
    // next has begun, and an entry arriving late for its hour goes to a
    // numbered object of that hour. Every hour holds the same entries as
    // with an unbounded budget.
    let log = generated(5_000, 4, "0");
    let server = servers(&log).await;
    let bounded = run_under(
        &server.endpoint,
        "bounded",
        ObjectFormat::NdjsonGz,
        S3Options::default().max_buffered_bytes(0),
    )
    .await
    .unwrap();
    let unbounded = run_under(
        &server.endpoint,
        "unbounded",
        ObjectFormat::NdjsonGz,
        S3Options::default(),
    )
    .await
    .unwrap();
    // Each hour's request ids, sorted.
    let per_hour = |delivery: &cflog_pipeline::sink::Delivery| {
        let mut hours: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for object in &delivery.objects {
            let (dir, _) = object.uri.rsplit_once('/').unwrap();
            let hour = dir.rsplit_once("bounded/").unwrap().1.to_owned();
            hours.entry(hour).or_default().extend(
                object_lines(&server, &object.uri)
                    .iter()
                    .map(|entry| entry["x_edge_request_id"].as_str().unwrap().to_owned()),
            );
        }
        for ids in hours.values_mut() {
            ids.sort();
        }
        hours
    };
    assert_eq!(bounded.delivered.entries, 5_000);
    assert!(bounded.delivered.objects.len() > unbounded.delivered.objects.len());
    let (a, b) = (per_hour(&bounded.delivered), per_hour(&unbounded.delivered));
    assert_eq!(a.len(), 4);
    assert!(a == b, "the hours' entries differ");
    // The hours' own objects hold nearly all their entries.
    let main: u64 = bounded
        .delivered
        .objects
        .iter()
        .map(|o| o.entries)
        .max()
        .unwrap();
    assert!(main > 1_000, "{:?}", bounded.delivered);
}
