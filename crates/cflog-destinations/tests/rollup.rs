//! The hourly rollup against a real S3 server (s3s-fs): log files staged by
//! the S3 destination, rolled up into one object per distribution-hour,
//! read back by DuckDB and pyarrow; a second rollup changes nothing; a
//! late file changes only its hour's last part; a failed PUT leaves the
//! previous object and the next run completes the hour.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use cflog_destinations::s3::rollup::{
    HourlyRollup, RollupError, RollupOptions, RollupSummary, RollupWindow,
};
use cflog_destinations::s3::{HourKey, ObjectFormat, S3Destination, UploadError};
use cflog_parquet::rollup::RollupOptions as PartOptions;
use cflog_pipeline::Options;
use cflog_pipeline::s3::process_object;
use cflog_pipeline::sink::{SinkFactory, Source};
use cflog_testkit::{RequestFaultProxy, S3Server, client, gzip, tools_python};

const LOGS: &str = "logs";
const ATHENA: &str = "athena";
const PREFIX: &str = "cflog/";
const DISTRIBUTION: &str = "E2EXAMPLE";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A log file of `lines` generated lines, all in `hour` of 2024-05-01.
fn log_file(seed: u32, lines: u32, hour: u8) -> Vec<u8> {
    let output = Command::new("python3")
        .arg(repo().join("scripts/gen_cflog.py"))
        .args(["--seed", &seed.to_string(), "--lines", &lines.to_string()])
        .args([
            "--fields",
            "33",
            "--start",
            "2024-05-01",
            "--span-hours",
            "1",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    text.replace("2024-05-01\t00:", &format!("2024-05-01\t{hour:02}:"))
        .into_bytes()
}

/// The name CloudFront gives a log file of `hour`.
fn log_key(hour: u8, unique: u32) -> String {
    format!("AWSLogs/{DISTRIBUTION}.2024-05-01-{hour:02}.{unique:08x}.gz")
}

/// Uploads the log file and stages it as the function does: the S3
/// destination under the staging prefix.
async fn stage(server: &S3Server, key: &str, log: &[u8]) {
    server.put(LOGS, key, gzip(log)).await;
    let client = server.client();
    let destination = S3Destination::new(client.clone(), ATHENA, PREFIX)
        .format(ObjectFormat::Parquet)
        .staging();
    let sink = destination.open(&Source::Object { bucket: LOGS, key });
    let summary = process_object(&client, LOGS, key, &Options::default(), sink)
        .await
        .unwrap();
    assert!(summary.reconciles());
}

/// Every staged log's lines, by hour: the request ids.
type Staged = BTreeMap<u8, Vec<String>>;

fn request_ids(log: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(log)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').nth(14).unwrap().to_owned())
        .collect()
}

/// Generates the log file of `seed` (`lines` lines in `hour`), stages it,
/// and adds its request ids to `staged`; returns how many.
async fn stage_log(server: &S3Server, staged: &mut Staged, hour: u8, seed: u32, lines: u32) -> u64 {
    let log = log_file(seed, lines, hour);
    stage(server, &log_key(hour, seed), &log).await;
    let ids = request_ids(&log);
    let count = ids.len() as u64;
    staged.entry(hour).or_default().extend(ids);
    count
}

/// The lines of a small site's log file of `seed`: 10 to 200.
fn small_site_lines(seed: u32) -> u32 {
    10 + (seed * 37) % 191
}

/// A small site's hours: `files` files of 10 to 200 lines each hour.
async fn small_site(server: &S3Server, hours: std::ops::Range<u8>, files: u32) -> Staged {
    let mut staged = Staged::new();
    for hour in hours {
        for file in 0..files {
            let seed = u32::from(hour) * 100 + file;
            stage_log(server, &mut staged, hour, seed, small_site_lines(seed)).await;
        }
    }
    staged
}

async fn server() -> S3Server {
    let server = S3Server::start().await;
    server.create_bucket(LOGS).await;
    server.create_bucket(ATHENA).await;
    server
}

fn rollup(endpoint: &str, options: RollupOptions) -> HourlyRollup {
    HourlyRollup::new(client(endpoint), ATHENA, PREFIX).options(options)
}

/// Rolls up every staged hour, and fails the test if an hour failed.
async fn roll_all(rollup: &HourlyRollup) -> RollupSummary {
    rollup
        .roll(&RollupWindow::default())
        .await
        .unwrap()
        .into_result()
        .unwrap()
}

/// The window of one hour of 2024-05-01, of the test's distribution.
fn hour_window(hour: u8) -> RollupWindow {
    RollupWindow {
        since: HourKey::new(2024, 5, 1, hour),
        until: HourKey::new(2024, 5, 1, hour + 1),
        distribution: Some(DISTRIBUTION.into()),
        ..RollupWindow::default()
    }
}

/// Asserts that `ids`, sorted, are the staged request ids, each once.
fn assert_each_staged_entry_once(ids: &[String], staged: &Staged) {
    let mut wanted: Vec<&String> = staged.values().flatten().collect();
    wanted.sort();
    assert_eq!(ids.len(), wanted.len());
    assert!(
        ids.iter().eq(wanted),
        "the request ids differ from the staged ones"
    );
}

/// The listing of every object under the table's prefix but staging, in
/// one page.
async fn list_table(server: &S3Server) -> Vec<aws_sdk_s3::types::Object> {
    let listed = server
        .client()
        .list_objects_v2()
        .bucket(ATHENA)
        .prefix(format!("{PREFIX}distribution="))
        .send()
        .await
        .unwrap();
    assert_ne!(listed.is_truncated, Some(true));
    listed.contents().to_vec()
}

/// Every object under the table's prefix but staging, with its ETag (from
/// HeadObject: the test server's listing leaves ETags out).
async fn table_etags(server: &S3Server) -> BTreeMap<String, String> {
    let client = server.client();
    let mut etags = BTreeMap::new();
    for object in list_table(server).await {
        let key = object.key().unwrap();
        let head = client
            .head_object()
            .bucket(ATHENA)
            .key(key)
            .send()
            .await
            .unwrap();
        etags.insert(key.to_owned(), head.e_tag().unwrap().to_owned());
    }
    etags
}

fn python(script: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new(tools_python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn table_dir(server: &S3Server) -> PathBuf {
    server
        .root()
        .join(ATHENA)
        .join(PREFIX.trim_end_matches('/'))
}

/// The table's parts on the server's disk, as a glob: what Athena reads
/// (the partitions' locations, not staging/).
fn table_glob(server: &S3Server) -> String {
    format!(
        "{}/distribution=*/**/*.parquet",
        table_dir(server).display()
    )
}

/// The request ids DuckDB reads from the Parquet files of `glob`, sorted.
fn duckdb_request_ids(glob: &str) -> Vec<String> {
    let ids = python(
        "import duckdb, json, sys\nrows = duckdb.sql(f\"SELECT x_edge_request_id FROM read_parquet('{sys.argv[1]}') ORDER BY 1\").fetchall()\nprint(json.dumps([r[0] for r in rows]))",
        &[glob],
    );
    serde_json::from_value(ids).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_sites_hours_roll_up_into_one_object_each_read_back_by_duckdb_and_pyarrow() {
    let server = server().await;
    let staged = small_site(&server, 5..8, 6).await;
    let rollup = rollup(&server.endpoint, RollupOptions::default());
    let summary = roll_all(&rollup).await;
    assert_eq!(summary.hours.len(), 3);
    assert_eq!(summary.written(), 3);
    let total: usize = staged.values().map(Vec::len).sum();
    assert_eq!(summary.rows(), total as u64);

    // One object per hour in the table, none of staging's.
    let etags = table_etags(&server).await;
    let expected: BTreeSet<String> = staged
        .keys()
        .map(|hour| {
            format!(
                "{PREFIX}distribution={DISTRIBUTION}/year=2024/month=05/day=01/hour={hour:02}/part-00000.parquet"
            )
        })
        .collect();
    assert_eq!(etags.keys().cloned().collect::<BTreeSet<_>>(), expected);

    // DuckDB over the table's tree, partitions from the paths: the counts
    // per hour, and every entry exactly once.
    let glob = table_glob(&server);
    let counted = python(
        "import duckdb, json, sys\nrows = duckdb.sql(f\"SELECT hour, count(*), count(DISTINCT x_edge_request_id) FROM read_parquet('{sys.argv[1]}', hive_partitioning = true) GROUP BY hour ORDER BY hour\").fetchall()\nprint(json.dumps([[int(h), n, d] for h, n, d in rows]))",
        &[&glob],
    );
    let wanted: Vec<serde_json::Value> = staged
        .iter()
        .map(|(hour, ids)| serde_json::json!([hour, ids.len(), ids.len()]))
        .collect();
    assert_eq!(counted, serde_json::Value::Array(wanted));
    // pyarrow, over the table's partitions (a reader given the prefix
    // itself would read staging/ too; Athena reads only the partitions'
    // locations): the request ids, the staged ones, each once.
    let ids = python(
        "import pyarrow.dataset as ds, glob, json, sys\nfiles = sorted(glob.glob(sys.argv[1] + '/distribution=*/**/*.parquet', recursive=True))\nt = ds.dataset(files, format='parquet').to_table(columns=['x_edge_request_id'])\nprint(json.dumps(sorted(t.column('x_edge_request_id').to_pylist())))",
        &[&table_dir(&server).display().to_string()],
    );
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    assert_each_staged_entry_once(&ids, &staged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_rollup_changes_nothing_and_a_late_file_changes_only_its_hours_last_part() {
    let server = server().await;
    let mut staged = small_site(&server, 10..12, 8).await;
    // Parts of about three files, so that an hour has several.
    let options = RollupOptions::default().parts(PartOptions::default().part_input_bytes(60_000));
    let rollup = rollup(&server.endpoint, options);
    let first = rollup.roll(&RollupWindow::default()).await.unwrap();
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    let before = table_etags(&server).await;
    let parts_of_11: Vec<&String> = before.keys().filter(|k| k.contains("hour=11")).collect();
    assert!(parts_of_11.len() >= 3, "{before:?}");

    let again = roll_all(&rollup).await;
    assert_eq!(again.written(), 0);
    assert_eq!(again.unchanged(), before.len());
    assert_eq!(table_etags(&server).await, before);

    // A late file of hour 11: only that hour's last part changes (or one is
    // added after it).
    stage_log(&server, &mut staged, 11, 999, 40).await;
    let late_summary = rollup
        .roll(&hour_window(11))
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(late_summary.hours.len(), 1);
    assert_eq!(late_summary.written(), 1);
    let after = table_etags(&server).await;
    let changed: Vec<&String> = after
        .iter()
        .filter(|(key, etag)| before.get(*key) != Some(*etag))
        .map(|(key, _)| key)
        .collect();
    let last_before = parts_of_11.last().unwrap();
    let new_last = after.keys().rfind(|k| k.contains("hour=11")).unwrap();
    assert_eq!(changed, vec![new_last], "{before:?} {after:?}");
    assert!(new_last >= *last_before);
    // Every entry once, the late one's included.
    let ids = duckdb_request_ids(&table_glob(&server));
    assert_each_staged_entry_once(&ids, &staged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_put_leaves_the_previous_object_and_the_next_run_completes_the_hour() {
    let server = server().await;
    small_site(&server, 3..4, 8).await;
    let options = RollupOptions::default().parts(PartOptions::default().part_input_bytes(60_000));
    roll_all(&rollup(&server.endpoint, options.clone())).await;
    let before = table_etags(&server).await;
    assert!(before.len() >= 3, "{before:?}");

    // Two late files: the last part grows, and one part is added. The
    // PUT of the added part fails.
    for unique in [500, 501] {
        stage(&server, &log_key(3, unique), &log_file(unique, 200, 3)).await;
    }
    let added = format!("part-{:05}.parquet", before.len());
    // The added part's name is in no other request (it is not listed, read
    // or deleted before it exists).
    let matching: &'static str = Box::leak(added.clone().into_boxed_str());
    let proxy = RequestFaultProxy::start(&server.endpoint, matching, 500, "InternalError").await;
    let failed = rollup(&proxy.endpoint, options.clone())
        .roll(&RollupWindow::default())
        .await
        .unwrap();
    assert!(proxy.failed() >= 1);
    assert_eq!(failed.failures.len(), 1);
    let error = failed.into_result().unwrap_err();
    let RollupError::Upload(UploadError::Put(put)) = &error else {
        panic!("expected a failed PUT, got {error:?}");
    };
    assert_eq!(put.code(), Some("InternalError"), "{error}");
    // The parts before stay whole (the grown one rewritten, the others as
    // they were), and the added one is not there.
    let during = table_etags(&server).await;
    assert_eq!(during.len(), before.len());
    assert!(!during.keys().any(|k| k.ends_with(&added)));

    let completed = roll_all(&rollup(&server.endpoint, options.clone())).await;
    let after = table_etags(&server).await;
    assert!(after.len() > before.len());
    // It writes only the parts the failed run did not: the added ones.
    let written: Vec<&String> = completed.hours[0]
        .parts
        .iter()
        .filter(|p| p.written)
        .map(|p| &p.key)
        .collect();
    let added_keys: Vec<&String> = after.keys().skip(before.len()).collect();
    assert_eq!(written, added_keys);
    // The same objects as a rollup that never failed.
    let clean = server_with_same_staging(&server).await;
    roll_all(&rollup(&clean.endpoint, options)).await;
    assert_eq!(table_etags(&clean).await, after);
}

/// A new server holding a copy of `server`'s staging objects, with their
/// arrival order kept.
async fn server_with_same_staging(server: &S3Server) -> S3Server {
    let clean = self::server().await;
    let client = server.client();
    let rollup = HourlyRollup::new(client.clone(), ATHENA, PREFIX);
    for hour in rollup.staged_hours(&RollupWindow::default()).await.unwrap() {
        for object in hour.objects {
            let body = client
                .get_object()
                .bucket(ATHENA)
                .key(&object.key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            clean.put(ATHENA, &object.key, body.to_vec()).await;
            // The listing's times have a resolution of a millisecond.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    clean
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_whose_staging_objects_are_fewer_than_its_parts_hold_is_left_as_it_is() {
    let server = server().await;
    small_site(&server, 1..2, 3).await;
    let rollup = rollup(&server.endpoint, RollupOptions::default());
    roll_all(&rollup).await;
    let before = table_etags(&server).await;
    let hours = rollup.staged_hours(&RollupWindow::default()).await.unwrap();
    let gone = &hours[0].objects[0].key;
    server
        .client()
        .delete_object()
        .bucket(ATHENA)
        .key(gone)
        .send()
        .await
        .unwrap();
    let error = rollup
        .roll(&RollupWindow::default())
        .await
        .unwrap()
        .into_result()
        .unwrap_err();
    assert!(
        matches!(
            error,
            RollupError::StagingShrank {
                rolled: 3,
                staged: 2,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(table_etags(&server).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn larger_parts_replace_smaller_ones_and_the_leftovers_are_deleted() {
    let server = server().await;
    small_site(&server, 2..3, 8).await;
    let small = RollupOptions::default().parts(PartOptions::default().part_input_bytes(60_000));
    roll_all(&rollup(&server.endpoint, small)).await;
    assert!(table_etags(&server).await.len() >= 3);
    let summary = roll_all(&rollup(&server.endpoint, RollupOptions::default())).await;
    assert!(summary.hours[0].deleted.len() >= 2);
    let after = table_etags(&server).await;
    assert_eq!(after.len(), 1, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_defers_the_hours_it_leaves_no_time_for() {
    let server = server().await;
    small_site(&server, 0..2, 2).await;
    let window = RollupWindow {
        deadline: Some(std::time::Instant::now()),
        margin: std::time::Duration::from_secs(60),
        ..RollupWindow::default()
    };
    let summary = rollup(&server.endpoint, RollupOptions::default())
        .roll(&window)
        .await
        .unwrap();
    assert_eq!(summary.deferred.len(), 2);
    assert!(summary.hours.is_empty());
    assert!(table_etags(&server).await.is_empty());

    // Resumed at the second hour deferred: that one alone is rolled.
    let resumed = RollupWindow {
        resume: Some(summary.deferred[1].clone()),
        ..RollupWindow::default()
    };
    let rest = rollup(&server.endpoint, RollupOptions::default())
        .roll(&resumed)
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let rolled: Vec<_> = rest.hours.iter().map(|h| h.partition.clone()).collect();
    assert_eq!(rolled, summary.deferred[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_objects_spooled_to_a_temporary_file_roll_up_to_the_same_bytes() {
    let server = server().await;
    small_site(&server, 3..5, 4).await;
    roll_all(&rollup(&server.endpoint, RollupOptions::default())).await;
    let in_memory = table_etags(&server).await;
    assert_eq!(in_memory.len(), 2, "{in_memory:?}");

    // Every staging object, however small, spooled to a file first.
    let spooled = server_with_same_staging(&server).await;
    let summary = roll_all(&rollup(
        &spooled.endpoint,
        RollupOptions::default().spool_bytes(0),
    ))
    .await;
    assert_eq!(summary.written(), 2);
    assert_eq!(table_etags(&spooled).await, in_memory);
}

/// Fetches every object of the table as a reader does, the hour's
/// listing and then a GET of each object listed, into `dir`; returns how
/// many.
async fn fetch_table(server: &S3Server, dir: &Path) -> usize {
    let client = server.client();
    let listed = list_table(server).await;
    std::fs::create_dir_all(dir).unwrap();
    for (n, object) in listed.iter().enumerate() {
        let body = client
            .get_object()
            .bucket(ATHENA)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        std::fs::write(dir.join(format!("{n:04}.parquet")), body).unwrap();
    }
    listed.len()
}

/// What DuckDB reads from each directory of fetched objects: the rows, the
/// distinct request ids, and the largest number of rows of one id.
fn read_fetched(dirs: &[PathBuf]) -> Vec<(u64, u64, u64)> {
    let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let counted = python(
        "import duckdb, glob, json, sys\nout = []\nfor d in sys.argv[1:]:\n    if not glob.glob(d + '/*.parquet'):\n        out.append([0, 0, 0])\n        continue\n    n, distinct, most = duckdb.execute(f\"SELECT sum(c), count(*), max(c) FROM (SELECT x_edge_request_id, count(*) AS c FROM read_parquet('{d}/*.parquet') GROUP BY 1)\").fetchone()\n    out.append([int(n), distinct, most])\nprint(json.dumps(out))",
        &dirs,
    );
    serde_json::from_value(counted).unwrap()
}

/// Rolls up through a proxy that holds each of the rollup's PUTs, and
/// fetches the table each time one is held, as a query running meanwhile
/// would: what the table looked like between every two PUTs. Returns the
/// directories fetched into (the last one after the rollup) and the PUTs.
async fn roll_while_reading(
    server: &S3Server,
    options: RollupOptions,
    window: RollupWindow,
    scratch: &Path,
) -> (Vec<PathBuf>, usize) {
    let proxy = cflog_testkit::HoldingProxy::start(&server.endpoint, "PUT ").await;
    let rollup = rollup(&proxy.endpoint, options);
    let mut rolling = tokio::spawn(async move { rollup.roll(&window).await });
    let mut fetched = Vec::new();
    let summary = loop {
        tokio::select! {
            () = proxy.held() => {
                let dir = scratch.join(format!("{:03}", fetched.len()));
                fetch_table(server, &dir).await;
                fetched.push(dir);
                proxy.release();
            }
            summary = &mut rolling => break summary.unwrap().unwrap().into_result().unwrap(),
        }
    };
    let last = scratch.join(format!("{:03}", fetched.len()));
    fetch_table(server, &last).await;
    fetched.push(last);
    assert_eq!(proxy.count(), summary.written());
    (fetched, summary.written())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_during_a_slowed_rollup_never_sees_an_entry_twice() {
    let server = server().await;
    let scratch = tempfile::tempdir().unwrap();
    let mut staged = small_site(&server, 10..12, 8).await;
    let total = |staged: &Staged| staged.values().map(Vec::len).sum::<usize>() as u64;
    // Parts of about three files, so that an hour has several PUTs.
    let options = RollupOptions::default().parts(PartOptions::default().part_input_bytes(60_000));
    let hour_11 = hour_window(11);

    // The first rollup: the table fills a part at a time.
    let (fetched, puts) = roll_while_reading(
        &server,
        options.clone(),
        RollupWindow::default(),
        &scratch.path().join("first"),
    )
    .await;
    assert!(puts >= 6, "{puts} PUTs");
    let seen = read_fetched(&fetched);
    assert_eq!(seen.len(), puts + 1);
    for (n, (rows, distinct, most)) in seen.iter().enumerate() {
        assert!(*most <= 1, "fetch {n}: {seen:?}");
        assert_eq!(rows, distinct, "fetch {n}: {seen:?}");
    }
    // Each PUT added rows: the reader saw the parts arrive one by one.
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
    assert_eq!(seen.last().unwrap().0, total(&staged));

    // A late file of the hour already rolled: its last part is written
    // again with it, while a query reads.
    let late_rows = stage_log(&server, &mut staged, 11, 998, 150).await;
    let (fetched, puts) = roll_while_reading(
        &server,
        options.clone(),
        hour_11.clone(),
        &scratch.path().join("late"),
    )
    .await;
    assert_eq!(puts, 1);
    let seen = read_fetched(&fetched);
    assert_eq!(seen[0].0, total(&staged) - late_rows);
    for (n, (rows, distinct, most)) in seen.iter().enumerate() {
        assert!(*most <= 1, "fetch {n}: {seen:?}");
        assert_eq!(rows, distinct, "fetch {n}: {seen:?}");
    }
    assert_eq!(seen.last().unwrap().0, total(&staged));

    // The hour's first log file delivered again (a retried invocation, or
    // S3's event sent twice): its staging object holds the same bytes and
    // is left as it is, in its place in the hour's order, so the rollup
    // writes nothing. (Written anew, it would arrive last and move every
    // later file a part earlier: a query would see those twice until the
    // part each left was written.)
    let seed: u32 = 1100;
    let staged_11 = || async {
        rollup(&server.endpoint, RollupOptions::default())
            .staged_hours(&hour_11)
            .await
            .unwrap()
    };
    let before = staged_11().await;
    assert!(
        before[0].objects[0].key.contains(&format!("{seed:08x}")),
        "{before:?}"
    );
    let table_before = table_etags(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let log = log_file(seed, small_site_lines(seed), 11);
    stage(&server, &log_key(11, seed), &log).await;
    assert_eq!(staged_11().await, before);
    let (fetched, puts) =
        roll_while_reading(&server, options, hour_11, &scratch.path().join("again")).await;
    assert_eq!(puts, 0);
    assert_eq!(table_etags(&server).await, table_before);
    // The last fetch holds every staged entry, each once.
    let ids = duckdb_request_ids(&format!("{}/*.parquet", fetched.last().unwrap().display()));
    assert_each_staged_entry_once(&ids, &staged);
}
