//! `cflog backfill`: the listing, the selection by time and distribution,
//! the dry run and the manifest against a real S3-compatible server
//! started in-process (s3s-fs, as in tests/s3.rs); the Batch Operations
//! job, the stack's outputs and the caller's account against a recording
//! listener.
//!
//! The listener is the one place in these tests without a real server:
//! nothing that runs locally implements S3 Control (CreateJob,
//! DescribeJob), and CloudFormation and STS only answer here to hand the
//! command its stack outputs and account. So the listener records each
//! request as the SDK built and sent it over HTTP, and answers with the
//! XML the services document. The tests assert on those requests: the
//! manifest, the operation, the role and the report of CreateJob.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cflog_testkit::{ACCESS_KEY, S3Server, SECRET_KEY};
use common::cflog;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ACCOUNT: &str = "111122223333";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:111122223333:function:cflog";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/cflog-BatchOperationsRole";
const BACKFILL_PREFIX: &str = "s3://logs/cflog-backfill/";
const JOB_ID: &str = "00e123a4-c0d8-41f4-a0eb-b46f9ba5b07c";

/// One log object the test puts, with what its key says, known by
/// construction rather than read back.
#[derive(Clone, Debug)]
struct Object {
    key: String,
    /// The period its key names: start and length in hours (24 for a day).
    period: Option<(OffsetDateTime, i64)>,
    distribution: Option<&'static str>,
    size: u64,
}

impl Object {
    fn overlaps(&self, since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> bool {
        let Some((start, hours)) = self.period else {
            return since.is_none() && until.is_none();
        };
        let end = start + Duration::hours(hours);
        since.is_none_or(|s| end > s) && until.is_none_or(|u| start < u)
    }
}

/// 340 objects over five days and four distributions:
/// legacy file names, v2 Hive paths (with and without CloudFront's file
/// name), v2 plain paths by hour and by day, and keys of other shapes.
fn objects() -> Vec<Object> {
    let mut objects = Vec::new();
    let mut n = 0u64;
    let mut size = || {
        n += 1;
        100 + n * 7 % 900
    };
    for day in 1..=5u8 {
        let date = datetime!(2025-03-01 00:00 UTC) + Duration::days(i64::from(day) - 1);
        for hour in 0..24u8 {
            let start = date + Duration::hours(i64::from(hour));
            for (id, unique) in [("E1AAAA", "a1b2c3d4"), ("E2BBBB", "0f0f0f0f")] {
                objects.push(Object {
                    key: format!("cf/{id}.2025-03-{day:02}-{hour:02}.{unique}.gz"),
                    period: Some((start, 1)),
                    distribution: Some(id),
                    size: size(),
                });
            }
        }
        for hour in (1..24u8).step_by(4) {
            let start = date + Duration::hours(i64::from(hour));
            let hive = format!(
                "v2/AWSLogs/aws-account-id={ACCOUNT}/CloudFront/DistributionId=E3CCCC/year=2025/month=03/day={day:02}/hour={hour:02}"
            );
            objects.push(Object {
                key: format!("{hive}/E3CCCC.2025-03-{day:02}-{hour:02}.9e9e9e9e.gz"),
                period: Some((start, 1)),
                distribution: Some("E3CCCC"),
                size: size(),
            });
            // No CloudFront file name: the time is the path's.
            objects.push(Object {
                key: format!("{hive}/part-00001.gz"),
                period: Some((start, 1)),
                distribution: Some("E3CCCC"),
                size: size(),
            });
            objects.push(Object {
                key: format!("v2plain/E4DDDD/2025/03/{day:02}/{hour:02}/part-00001.gz"),
                period: Some((start, 1)),
                distribution: Some("E4DDDD"),
                size: size(),
            });
        }
        // A partition by day: the object stands for the whole day.
        objects.push(Object {
            key: format!("v2plain/E4DDDD/2025/03/{day:02}/daily-00001.gz"),
            period: Some((date, 24)),
            distribution: Some("E4DDDD"),
            size: size(),
        });
    }
    // A key that needs escaping in the manifest.
    objects.push(Object {
        key: "cf/odd dir+x/E1AAAA.2025-03-02-05.abcd1234.gz".into(),
        period: Some((datetime!(2025-03-02 05:00 UTC), 1)),
        distribution: Some("E1AAAA"),
        size: size(),
    });
    // Keys of other shapes: no readable time.
    for key in [
        "cf/README.txt",
        "cf/E1AAAA.2025-3-2-5.x.gz",
        "cf/E1AAAA.2025-03-02-24.abcd.gz",
        "v2/AWSLogs/aws-account-id=111122223333/CloudFront/DistributionId=E3CCCC/year=2025/month=03/notes.txt",
    ] {
        objects.push(Object {
            key: key.into(),
            period: None,
            distribution: None,
            size: size(),
        });
    }
    objects
}

/// A server holding `objects()` in the bucket `logs`.
async fn server_with_logs() -> (S3Server, Vec<Object>) {
    let server = S3Server::start().await;
    server.create_bucket("logs").await;
    let objects = objects();
    assert_eq!(objects.len(), 340);
    for object in &objects {
        server
            .put("logs", &object.key, vec![b'x'; object.size as usize])
            .await;
    }
    (server, objects)
}

/// The binary, pointed at `server` for S3 and at `api` for S3 Control,
/// CloudFormation and STS, and isolated from this machine's AWS files.
fn cflog_for(server: &S3Server, api: Option<&AwsApi>) -> assert_cmd::Command {
    let mut command = cflog();
    command
        .env("AWS_ENDPOINT_URL_S3", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/cflog-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/cflog-test/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("CFLOG_S3_PATH_STYLE", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    if let Some(api) = api {
        command
            .env("AWS_ENDPOINT_URL_S3_CONTROL", api.s3_control_endpoint())
            .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &api.endpoint)
            .env("AWS_ENDPOINT_URL_STS", &api.endpoint);
    }
    command
}

fn run(command: &mut assert_cmd::Command) -> (i32, String, String) {
    let output = command.output().expect("run cflog");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The first line of a plan: `N objects, … (B bytes), under …`.
fn counted(stdout: &str) -> (u64, u64) {
    let line = stdout.lines().next().unwrap_or_default();
    let objects = line.split(' ').next().unwrap().parse().unwrap();
    let bytes = line
        .split_once(" (")
        .and_then(|(_, rest)| rest.split_once(" bytes)"))
        .map(|(bytes, _)| bytes.parse().unwrap())
        .unwrap_or_else(|| panic!("no byte count in {line:?}"));
    assert!(line.contains(&format!("{objects} objects, ")), "{line}");
    (objects, bytes)
}

fn expected<'a>(objects: impl IntoIterator<Item = &'a Object>) -> (u64, u64) {
    objects
        .into_iter()
        .fold((0, 0), |(n, bytes), o| (n + 1, bytes + o.size))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_count_what_the_keys_select_and_write_nothing() {
    let (server, objects) = server_with_logs().await;
    let keys_before = server_keys(&server).await;

    // Everything under the prefix, whatever its name.
    let (code, stdout, stderr) =
        run(cflog_for(&server, None).args(["backfill", "s3://logs/", "--dry-run"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counted(&stdout), expected(&objects));
    assert!(!stdout.contains("Left out"), "{stdout}");
    assert!(stdout.contains("Cost:     about $"), "{stdout}");
    assert!(stdout.contains("Time:     about "), "{stdout}");
    assert!(
        stdout.ends_with("Dry run: nothing was written.\n"),
        "{stdout}"
    );

    // One day: the hours 00 to 23 of 2 March, the daily partition of that
    // day, and nothing of the hours just outside.
    let (since, until) = (
        datetime!(2025-03-02 00:00 UTC),
        datetime!(2025-03-03 00:00 UTC),
    );
    let (code, stdout, stderr) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/",
        "--dry-run",
        "--since",
        "2025-03-02T00:00:00Z",
        "--until",
        "2025-03-03T00:00:00Z",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let day: Vec<&Object> = objects
        .iter()
        .filter(|o| o.overlaps(Some(since), Some(until)))
        .collect();
    assert_eq!(counted(&stdout), expected(day.iter().copied()));
    assert!(
        day.iter()
            .any(|o| o.key.ends_with("E1AAAA.2025-03-02-00.a1b2c3d4.gz"))
    );
    assert!(day.iter().any(|o| o.key.contains("/2025/03/02/daily-")));
    assert!(
        !day.iter()
            .any(|o| o.key.contains("2025-03-03-00") || o.key.contains("2025-03-01-22"))
    );
    // Keys without a readable time are left out, counted and named.
    let unreadable = objects.iter().filter(|o| o.period.is_none()).count();
    assert!(
        stdout.contains(&format!("{unreadable} without a readable time")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("{unreadable} keys have no readable time")),
        "{stderr}"
    );
    assert!(
        stderr.contains("cf/E1AAAA.2025-03-02-24.abcd.gz"),
        "{stderr}"
    );

    // Edges inside a day: since 10:30 takes hour 10 (partly inside), until
    // 12:00 leaves hour 12 out; the daily partition overlaps.
    let (since, until) = (
        datetime!(2025-03-02 10:30 UTC),
        datetime!(2025-03-02 12:00 UTC),
    );
    let (code, stdout, stderr) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/",
        "--dry-run",
        "--since",
        "2025-03-02T10:30:00Z",
        "--until",
        "2025-03-02T12:00:00Z",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let edge: Vec<&Object> = objects
        .iter()
        .filter(|o| o.overlaps(Some(since), Some(until)))
        .collect();
    let mut keys: Vec<&str> = edge.iter().map(|o| o.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cf/E1AAAA.2025-03-02-10.a1b2c3d4.gz",
            "cf/E1AAAA.2025-03-02-11.a1b2c3d4.gz",
            "cf/E2BBBB.2025-03-02-10.0f0f0f0f.gz",
            "cf/E2BBBB.2025-03-02-11.0f0f0f0f.gz",
            "v2plain/E4DDDD/2025/03/02/daily-00001.gz",
        ]
    );
    assert_eq!(counted(&stdout), expected(edge.iter().copied()));

    // An offset other than Z means the same instant.
    let (_, stdout_offset, _) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/",
        "--dry-run",
        "--since",
        "2025-03-02T11:30:00+01:00",
        "--until",
        "2025-03-02T13:00:00+01:00",
    ]));
    assert_eq!(counted(&stdout_offset), expected(edge.iter().copied()));

    // Distributions: by file name, by DistributionId= and by path segment.
    let (code, stdout, stderr) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/",
        "--dry-run",
        "--distribution",
        "E3CCCC",
        "--distribution",
        "E4DDDD",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let chosen = objects.iter().filter(|o| {
        matches!(o.distribution, Some("E3CCCC" | "E4DDDD"))
            // The Hive key of another shape names its distribution too.
            || o.key.contains("DistributionId=E3CCCC")
    });
    assert_eq!(counted(&stdout), expected(chosen));

    // --since after --until is a usage error, before anything is listed.
    let (code, _, stderr) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/",
        "--dry-run",
        "--since",
        "2025-03-03T00:00:00Z",
        "--until",
        "2025-03-02T00:00:00Z",
    ]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--since must be before --until"),
        "{stderr}"
    );

    assert_eq!(
        server_keys(&server).await,
        keys_before,
        "a dry run wrote something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_resumes_after_the_key_given() {
    let (server, objects) = server_with_logs().await;
    let mut keys: Vec<&Object> = objects
        .iter()
        .filter(|o| o.key.starts_with("cf/"))
        .collect();
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    let resume_at = &keys[keys.len() / 2].key;
    let (code, stdout, stderr) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/cf/",
        "--dry-run",
        "--start-after",
        resume_at,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        counted(&stdout),
        expected(
            keys.iter()
                .copied()
                .filter(|o| o.key.as_str() > resume_at.as_str())
        )
    );
    // A key that sorts after everything leaves nothing.
    let (code, stdout, _) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/cf/",
        "--dry-run",
        "--start-after",
        "cf/~",
    ]));
    assert_eq!(code, 0);
    assert_eq!(counted(&stdout), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_listing_is_one_line_and_exits_with_2() {
    let server = S3Server::start().await;
    let (code, stdout, stderr) =
        run(cflog_for(&server, None).args(["backfill", "s3://no-such-bucket/cf/", "--dry-run"]));
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with("cflog: ListObjectsV2 s3://no-such-bucket/cf/ failed: NoSuchBucket"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_stack_or_the_flags_nothing_is_listed_and_the_flags_are_named() {
    let server = S3Server::start().await;
    let (code, stdout, stderr) = run(cflog_for(&server, None).args(["backfill", "s3://logs/cf/"]));
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("give --stack NAME, or --function-arn, --role-arn, --manifest, --report"),
        "{stderr}"
    );
    // A function in another region than the configured one.
    let (code, _, stderr) = run(cflog_for(&server, None).args([
        "backfill",
        "s3://logs/cf/",
        "--function-arn",
        "arn:aws:lambda:eu-west-1:111122223333:function:cflog",
        "--role-arn",
        ROLE_ARN,
        "--manifest",
        "s3://logs/m/",
        "--report",
        "s3://logs/r/",
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("set AWS_REGION=eu-west-1"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_is_written_and_the_job_created_once_for_a_retried_command() {
    let (server, objects) = server_with_logs().await;
    // A manifest of an earlier backfill, under the prefix listed: never a log.
    server
        .put(
            "logs",
            "cflog-backfill/manifests/backfill-old.csv",
            b"logs,x\n".to_vec(),
        )
        .await;
    let api = AwsApi::start().await;
    let args = [
        "backfill",
        "s3://logs/",
        "--stack",
        "cflog",
        "--since",
        "2025-03-02T00:00:00Z",
        "--until",
        "2025-03-03T00:00:00Z",
    ];
    let (code, stdout, stderr) = run(cflog_for(&server, Some(&api)).args(args));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (since, until) = (
        datetime!(2025-03-02 00:00 UTC),
        datetime!(2025-03-03 00:00 UTC),
    );
    let mut day: Vec<&Object> = objects
        .iter()
        .filter(|o| o.overlaps(Some(since), Some(until)))
        .collect();
    assert_eq!(counted(&stdout), expected(day.iter().copied()));
    assert!(
        stdout.contains(&format!("Job:      {JOB_ID}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Follow it: cflog backfill status {JOB_ID}")),
        "{stdout}"
    );

    // The manifest: one `logs,key` line per object, keys URL-encoded, in
    // key order.
    let manifests: Vec<String> = server_keys(&server)
        .await
        .into_iter()
        .filter(|k| k.starts_with("cflog-backfill/manifests/backfill-") && k.ends_with(".csv"))
        .filter(|k| !k.ends_with("backfill-old.csv"))
        .collect();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    let manifest_key = &manifests[0];
    let body = server
        .client()
        .get_object()
        .bucket("logs")
        .key(manifest_key)
        .send()
        .await
        .unwrap();
    let etag = body.e_tag().unwrap().trim_matches('"').to_owned();
    let text = String::from_utf8(body.body.collect().await.unwrap().to_vec()).unwrap();
    day.sort_by(|a, b| a.key.cmp(&b.key));
    let lines: Vec<String> = day
        .iter()
        .map(|o| {
            let key = o
                .key
                .replace('=', "%3D")
                .replace(' ', "%20")
                .replace('+', "%2B");
            format!("logs,{key}")
        })
        .collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), lines);
    assert!(text.contains("logs,cf/odd%20dir%2Bx/E1AAAA.2025-03-02-05.abcd1234.gz\n"));

    // The CreateJob request, as the SDK sent it.
    let requests = api.requests();
    let stacks: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.body.contains("Action=DescribeStacks"))
        .collect();
    assert_eq!(stacks.len(), 1);
    assert!(
        stacks[0].body.contains("StackName=cflog"),
        "{}",
        stacks[0].body
    );
    let jobs: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v20180820/jobs")
        .collect();
    assert_eq!(jobs.len(), 1);
    let job = jobs[0];
    assert_eq!(job.header("x-amz-account-id"), Some(ACCOUNT));
    let xml = xml_fields(&job.body);
    let field = |path: &str| -> &str {
        xml.get(path)
            .and_then(|values| values.first())
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {path} in {}", job.body))
    };
    assert_eq!(
        field("CreateJobRequest/Operation/LambdaInvoke/FunctionArn"),
        FUNCTION_ARN
    );
    assert_eq!(
        field("CreateJobRequest/Operation/LambdaInvoke/InvocationSchemaVersion"),
        "2.0"
    );
    assert_eq!(
        field("CreateJobRequest/Manifest/Spec/Format"),
        "S3BatchOperations_CSV_20180820"
    );
    assert_eq!(
        xml["CreateJobRequest/Manifest/Spec/Fields/member"],
        ["Bucket", "Key"]
    );
    assert_eq!(
        field("CreateJobRequest/Manifest/Location/ObjectArn"),
        format!("arn:aws:s3:::logs/{manifest_key}")
    );
    assert_eq!(field("CreateJobRequest/Manifest/Location/ETag"), etag);
    assert_eq!(field("CreateJobRequest/Report/Bucket"), "arn:aws:s3:::logs");
    assert_eq!(
        field("CreateJobRequest/Report/Prefix"),
        "cflog-backfill/reports"
    );
    assert_eq!(
        field("CreateJobRequest/Report/Format"),
        "Report_CSV_20180820"
    );
    assert_eq!(field("CreateJobRequest/Report/Enabled"), "true");
    assert_eq!(field("CreateJobRequest/Report/ReportScope"), "AllTasks");
    assert_eq!(field("CreateJobRequest/RoleArn"), ROLE_ARN);
    assert_eq!(field("CreateJobRequest/Priority"), "10");
    assert_eq!(field("CreateJobRequest/ConfirmationRequired"), "false");
    let token = field("CreateJobRequest/ClientRequestToken").to_owned();
    assert_eq!(token.len(), 64);
    assert!(
        field("CreateJobRequest/Description")
            .contains(&format!("{} objects since 2025-03-02T00:00:00Z", day.len())),
        "{}",
        job.body
    );

    // The same command again: the same manifest object, and the same token,
    // so S3 Control returns the job it made instead of a second one.
    let (code, _, stderr) = run(cflog_for(&server, Some(&api)).args(args));
    assert_eq!(code, 0, "{stderr}");
    let again: Vec<Recorded> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v20180820/jobs")
        .collect();
    assert_eq!(again.len(), 2);
    let second = xml_fields(&again[1].body);
    assert_eq!(
        second["CreateJobRequest/ClientRequestToken"],
        std::slice::from_ref(&token)
    );
    assert_eq!(
        second["CreateJobRequest/Manifest/Location/ObjectArn"],
        [format!("arn:aws:s3:::logs/{manifest_key}")]
    );
    let manifests_after = server_keys(&server)
        .await
        .into_iter()
        .filter(|k| k.starts_with("cflog-backfill/manifests/"))
        .count();
    assert_eq!(manifests_after, 2, "the old manifest and this one");

    // Flags override the stack, and another scope makes another token.
    let (code, _, stderr) = run(cflog_for(&server, Some(&api)).args(args).args([
        "--report",
        "s3://logs/elsewhere/reports/",
        "--report-scope",
        "failed",
        "--confirmation-required",
        "--priority",
        "3",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let third = api
        .requests()
        .into_iter()
        .rfind(|r| r.method == "POST" && r.path == "/v20180820/jobs")
        .unwrap();
    let third = xml_fields(&third.body);
    assert_eq!(
        third["CreateJobRequest/Report/Prefix"],
        ["elsewhere/reports"]
    );
    assert_eq!(
        third["CreateJobRequest/Report/ReportScope"],
        ["FailedTasksOnly"]
    );
    assert_eq!(third["CreateJobRequest/ConfirmationRequired"], ["true"]);
    assert_eq!(third["CreateJobRequest/Priority"], ["3"]);
    assert_ne!(third["CreateJobRequest/ClientRequestToken"], [token]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_jobs_progress_in_the_callers_account() {
    let server = S3Server::start().await;
    let api = AwsApi::start().await;
    let (code, stdout, stderr) =
        run(cflog_for(&server, Some(&api)).args(["backfill", "status", JOB_ID]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "Job       {JOB_ID}: Active\n\
             \x20         cflog backfill-0123 of s3://logs/cf/: 1200 objects\n\
             Tasks     1200: 830 succeeded, 2 failed, 368 left (69.3 % done)\n\
             Active    14 min\n\
             Report    s3://logs/cflog-backfill/reports/job-{JOB_ID}/ (all tasks)\n"
        )
    );
    let requests = api.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.body.contains("Action=GetCallerIdentity"))
    );
    let describe = requests
        .iter()
        .find(|r| r.method == "GET" && r.path == format!("/v20180820/jobs/{JOB_ID}"))
        .expect("a DescribeJob request");
    assert_eq!(describe.header("x-amz-account-id"), Some(ACCOUNT));

    // A job that does not exist: S3 Control's error, in one line.
    let (code, _, stderr) = run(cflog_for(&server, Some(&api)).args([
        "backfill",
        "status",
        "--account-id",
        ACCOUNT,
        "no-such-job",
    ]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("DescribeJob job no-such-job failed: NoSuchJob: The specified job does not exist. (HTTP 404"),
        "{stderr}"
    );
}

/// Every key of the bucket `logs`.
async fn server_keys(server: &S3Server) -> Vec<String> {
    let client = cflog_testkit::client(&server.endpoint);
    let mut pages = client
        .list_objects_v2()
        .bucket("logs")
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        keys.extend(
            page.unwrap()
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    keys
}

/// Every element's text of an XML document by its path
/// (`CreateJobRequest/RoleArn`), in document order.
fn xml_fields(xml: &str) -> BTreeMap<String, Vec<String>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(start) => {
                path.push(String::from_utf8(start.local_name().as_ref().to_vec()).unwrap());
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(text) => {
                let text = text.decode().unwrap().into_owned();
                if !text.trim().is_empty() {
                    fields.entry(path.join("/")).or_default().push(text);
                }
            }
            Event::Eof => return fields,
            _ => {}
        }
    }
}

/// One request as it reached the listener.
#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The recording listener standing in for S3 Control, CloudFormation and
/// STS (see the module docs for why): one request per connection, each
/// recorded and answered with the service's XML.
struct AwsApi {
    endpoint: String,
    port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AwsApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AwsApi {
    async fn start() -> AwsApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    continue;
                };
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    let (status, body) = answer(&request);
                    recorded.lock().unwrap().push(request);
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: text/xml\r\nx-amz-request-id: CFLOGTEST\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        AwsApi {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            requests,
            task,
        }
    }

    /// S3 Control's endpoint rules put the account ID in front of the
    /// host of any custom endpoint (`https://{AccountId}.{host}`), which no
    /// local name resolves. Written before a user-info part, the account
    /// lands there and the request still reaches this listener.
    fn s3_control_endpoint(&self) -> String {
        format!("http://cflog-test@127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads one HTTP/1.1 request with a `content-length` body (all the SDK
/// sends these services), up to 1 MiB.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let (method, target) = (start.next()?.to_owned(), start.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let path = target.split('?').next().unwrap_or_default().to_owned();
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
    })
}

/// The services' answers, in the shapes of their API references.
fn answer(request: &Recorded) -> (&'static str, String) {
    if request.body.contains("Action=DescribeStacks") {
        let outputs = [
            ("FunctionArn", FUNCTION_ARN),
            ("BatchOperationsRoleArn", ROLE_ARN),
            ("BackfillPrefix", BACKFILL_PREFIX),
        ]
        .map(|(key, value)| {
            format!(
                "<member><OutputKey>{key}</OutputKey><OutputValue>{value}</OutputValue></member>"
            )
        })
        .concat();
        return (
            "200 OK",
            format!(
                "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><DescribeStacksResult><Stacks><member><StackName>cflog</StackName><StackId>arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/cflog/1</StackId><CreationTime>2025-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>{outputs}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>"
            ),
        );
    }
    if request.body.contains("Action=GetCallerIdentity") {
        return (
            "200 OK",
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/test</Arn><UserId>AIDACFLOGTEST</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ),
        );
    }
    if request.method == "POST" && request.path == "/v20180820/jobs" {
        return (
            "200 OK",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CreateJobResult><JobId>{JOB_ID}</JobId></CreateJobResult>"
            ),
        );
    }
    if request.method == "GET" && request.path == format!("/v20180820/jobs/{JOB_ID}") {
        return (
            "200 OK",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeJobResult><Job><JobId>{JOB_ID}</JobId><Description>cflog backfill-0123 of s3://logs/cf/: 1200 objects</Description><Status>Active</Status><Priority>10</Priority><ProgressSummary><TotalNumberOfTasks>1200</TotalNumberOfTasks><NumberOfTasksSucceeded>830</NumberOfTasksSucceeded><NumberOfTasksFailed>2</NumberOfTasksFailed><Timers><ElapsedTimeInActiveSeconds>840</ElapsedTimeInActiveSeconds></Timers></ProgressSummary><Report><Bucket>arn:aws:s3:::logs</Bucket><Format>Report_CSV_20180820</Format><Enabled>true</Enabled><Prefix>cflog-backfill/reports</Prefix><ReportScope>AllTasks</ReportScope></Report><RoleArn>{ROLE_ARN}</RoleArn></Job></DescribeJobResult>"
            ),
        );
    }
    (
        "404 Not Found",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse><Error><Code>NoSuchJob</Code><Message>The specified job does not exist.</Message></Error><RequestId>CFLOGTEST</RequestId></ErrorResponse>".into(),
    )
}
