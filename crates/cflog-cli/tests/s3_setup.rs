//! S3 failures whose cause is this machine's setup, not S3's answer: no
//! credentials, an endpoint that does not answer, a bucket in another
//! region. Each is one line on stderr that says what to do, and only
//! `--verbose` adds the SDK's whole answer. Against the in-process S3
//! server (in a region of its own for the last) and a closed port.

mod common;

use cflog_testkit::S3Server;
use common::cflog_for;

/// cflog's stderr for `args`, which must exit with 2.
fn failure(command: &mut assert_cmd::Command, args: &[&str]) -> String {
    let output = command.args(args).assert().code(2).get_output().clone();
    String::from_utf8(output.stderr).unwrap()
}

/// The lines of `stderr` that are not the run's summary (its counts, and
/// how many inputs failed).
fn messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| !line.ends_with("could not be read (see above)"))
        .filter(|line| !(line.contains(" lines: ") && line.contains(" entries, ")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_is_one_line_that_names_the_variables() {
    let server = S3Server::start().await;
    server.create_bucket("logs").await;
    let without_keys = || {
        let mut command = cflog_for(&server);
        command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        command
    };
    let stderr = failure(&mut without_keys(), &["--s3-path-style", "s3://logs/cf/"]);
    assert_eq!(
        messages(&stderr),
        [
            "cflog: ListObjectsV2 s3://logs/cf/ failed: no AWS credentials found: set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (see `aws configure`)"
        ],
        "{stderr}"
    );
    let verbose = failure(
        &mut without_keys(),
        &["--s3-path-style", "--verbose", "s3://logs/cf/"],
    );
    assert!(verbose.starts_with(messages(&stderr)[0]), "{verbose}");
    assert!(verbose.contains("CredentialsNotLoaded"), "{verbose}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_does_not_answer_is_one_line_that_names_it() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = format!("http://{closed}");
    let server = S3Server::start().await;
    let to_closed_port = || {
        let mut command = cflog_for(&server);
        command.env("AWS_ENDPOINT_URL", &endpoint);
        command
    };
    let stderr = failure(&mut to_closed_port(), &["--s3-path-style", "s3://logs/cf/"]);
    let lines = messages(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    let expected =
        format!("cflog: ListObjectsV2 s3://logs/cf/ failed: cannot reach S3 at {endpoint} (");
    assert!(lines[0].starts_with(&expected), "{stderr}");
    assert!(
        lines[0].ends_with("): check AWS_ENDPOINT_URL, and that the server there is running"),
        "{stderr}"
    );
    assert!(lines[0].contains("refused"), "{stderr}");
    let verbose = failure(
        &mut to_closed_port(),
        &["--s3-path-style", "-v", "s3://logs/cf/"],
    );
    assert!(verbose.starts_with(lines[0]), "{verbose}");
    assert!(verbose.contains("DispatchFailure"), "{verbose}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_in_another_region_is_one_line_that_names_its_region() {
    let server = S3Server::start_in_region("eu-west-1").await;
    let in_region = || {
        let mut command = cflog_for(&server);
        command.env("AWS_REGION", "eu-west-1");
        command
    };
    // s3s-fs keeps a bucket as a directory, and an object as a file.
    std::fs::create_dir(server.root().join("logs")).unwrap();
    std::fs::write(
        server.root().join("logs").join("E1.2024-03-14-21.a1b2c3d4"),
        "#Fields: date time sc-status\n2024-03-14\t21:00:00\t200\n",
    )
    .unwrap();
    in_region()
        .args(["--s3-path-style", "s3://logs/"])
        .assert()
        .success();

    let stderr = failure(&mut cflog_for(&server), &["--s3-path-style", "s3://logs/"]);
    assert_eq!(
        messages(&stderr),
        [
            "cflog: ListObjectsV2 s3://logs/ failed: the bucket is in the region eu-west-1, \
             not us-east-1: set AWS_REGION=eu-west-1"
        ],
        "{stderr}"
    );
    let verbose = failure(
        &mut cflog_for(&server),
        &["--s3-path-style", "--verbose", "s3://logs/"],
    );
    assert!(verbose.starts_with(messages(&stderr)[0]), "{verbose}");
    assert!(verbose.contains("PermanentRedirect"), "{verbose}");
}
