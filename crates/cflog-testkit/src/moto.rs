//! A real moto server (<https://github.com/getmoto/moto>) as a child
//! process on a free loopback port: the AWS-compatible server that the
//! Firehose, Kinesis Data Streams and SQS destination tests talk to.
//!
//! Why a child process and not a mock: the destinations' SDK clients must
//! meet a server that parses what they send, stores it and answers the way
//! the service's model says, so that a test reads back what really arrived
//! (a Kinesis shard's records, an SQS queue's messages, the S3 objects a
//! Firehose stream delivered). moto does that for all four services in one
//! process, accepts any credentials and checks no signature. The faults it
//! cannot produce (partial batch failures, throttling, a reset mid-call)
//! come from [`crate::BatchFaultProxy`] put in front of it.
//!
//! moto is pinned in `scripts/tools-requirements-moto.txt` and installed by
//! `scripts/install-tools` into `.venv-tools/moto`, which
//! [`MotoServer::start`] runs first (it returns at once when the tools are
//! up to date).
//!
//! What moto does, as read from moto 5.2.6 and checked by the tests here:
//!
//! - It tells the service of a JSON call by the `Authorization` header's
//!   credential scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`);
//!   without one the call goes to S3 and fails. The SDK clients always send
//!   it; raw HTTP must too (the signature itself is never checked).
//! - Everything is kept in memory for the process's life, per account
//!   (`123456789012`, [`MOTO_ACCOUNT_ID`]) and region: start one server per
//!   test, or [`MotoServer::reset`] between uses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The access key tests use against moto (it accepts any).
pub const MOTO_ACCESS_KEY: &str = "testing";
/// The secret key tests use against moto (it checks no signature).
pub const MOTO_SECRET_KEY: &str = "testing";
/// The region tests use against moto; the ARNs it hands out name it.
pub const MOTO_REGION: &str = "us-east-1";
/// The account moto puts every resource in, as ARNs and queue URLs show.
pub const MOTO_ACCOUNT_ID: &str = "123456789012";

/// How long [`MotoServer::start`] waits for the server to answer; it
/// usually takes under two seconds.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs moto's server the way `moto_server` does, with two changes.
///
/// - A watchdog: the server exits when its standard input closes. The test
///   process holds the write end, so the server goes with it even when the
///   process dies without running destructors (a `SIGINT`/`SIGKILL`ed
///   `cargo test`), and never outlives it as an orphan holding a port.
/// - One request at a time. moto serves each connection on a thread of its
///   own, but its models are not all safe for that: a Kinesis shard numbers
///   a record from the last one under no lock, so two `PutRecords` calls at
///   once can store records under one sequence number and lose one (seen
///   with moto 5.2.6). The real services take concurrent calls, and the
///   destinations make them; so the calls are taken concurrently and
///   handled in turn. (No test long-polls, which would hold the others up.)
const LAUNCHER: &str = "\
import os, sys, threading
def watch():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
one_at_a_time = threading.Lock()
handle = DomainDispatcherApplication.__call__
def serialized(self, environ, start_response):
    with one_at_a_time:
        return list(handle(self, environ, start_response))
DomainDispatcherApplication.__call__ = serialized
from moto.server import main
main(sys.argv[1:])
";

/// A running moto server, killed (and waited for) when dropped.
///
/// # Example
///
/// ```no_run
/// # async fn example() {
/// let moto = cflog_testkit::MotoServer::start().await;
/// let s3 = moto.s3_client();
/// s3.create_bucket().bucket("cflog-out").send().await.unwrap();
/// // Point the SDK client under test at moto.endpoint(), with
/// // MOTO_ACCESS_KEY, MOTO_SECRET_KEY and MOTO_REGION.
/// # }
/// ```
pub struct MotoServer {
    endpoint: String,
    addr: SocketAddr,
    child: Child,
    // Held open: closing it stops the server (see LAUNCHER).
    _stdin: ChildStdin,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl MotoServer {
    /// Installs the tools if needed (`scripts/install-tools`), then starts
    /// a server on a free loopback port and waits until it answers HTTP.
    ///
    /// Its output goes to a log file in a temporary directory
    /// ([`MotoServer::log`]).
    ///
    /// # Panics
    ///
    /// When the tools cannot be installed, or the server does not answer
    /// within 30 seconds (the panic message carries its log).
    pub async fn start() -> MotoServer {
        let tools = tokio::task::spawn_blocking(crate::install_tools)
            .await
            .expect("scripts/install-tools ran");
        let python = tools.join("moto/bin/python");
        let dir = tempfile::tempdir().expect("create a temporary directory");
        // The port is free when picked but may be taken before moto binds
        // it; a few tries make that race harmless.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port();
            let log = dir.path().join(format!("moto-{port}.log"));
            let (mut child, stdin) = spawn(&python, port, &log);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            match wait_until_ready(&mut child, addr).await {
                Ok(()) => {
                    return MotoServer {
                        endpoint: format!("http://{addr}"),
                        addr,
                        child,
                        _stdin: stdin,
                        log,
                        _dir: dir,
                    };
                }
                Err(reason) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let output = read_log(&log);
                    if attempt < 3 && output.contains("Address already in use") {
                        continue;
                    }
                    panic!(
                        "moto_server on {addr} {reason}; its log ({}):\n{output}",
                        log.display()
                    );
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The file the server's output goes to (removed with the server).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Forgets every resource of every service (streams, queues, buckets,
    /// delivery streams): moto's `POST /moto-api/reset`. For tests that
    /// share one server; the cheaper isolation is a new name per test.
    ///
    /// # Panics
    ///
    /// When the server does not answer 200.
    pub async fn reset(&self) {
        let status = request(self.addr, "POST", "/moto-api/reset")
            .await
            .unwrap_or_else(|e| panic!("reset moto at {}: {e}", self.endpoint));
        assert_eq!(status, 200, "moto's reset answered {status}");
    }

    /// An S3 client for this server: moto's test keys and region,
    /// path-style, no environment or instance-metadata lookups. For the
    /// buckets a Firehose stream delivers to.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(MOTO_REGION))
            .credentials_provider(Credentials::new(
                MOTO_ACCESS_KEY,
                MOTO_SECRET_KEY,
                None,
                None,
                "cflog-testkit-moto",
            ))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// The shared AWS configuration a binary loads (`aws_config::load`),
    /// pointed at this server with moto's test keys and region: what
    /// `Handler::from_aws` and every SDK client take.
    #[cfg(feature = "streams")]
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        let credentials = Credentials::new(
            MOTO_ACCESS_KEY,
            MOTO_SECRET_KEY,
            None,
            None,
            "cflog-testkit-moto",
        );
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(MOTO_REGION))
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                credentials,
            ))
            .endpoint_url(&self.endpoint)
            .build()
    }
}

/// Every message of `queue_url`'s queue, received until it is empty (each
/// hidden for five minutes once received, so none comes twice).
///
/// # Panics
///
/// When a call fails or a message has no body.
#[cfg(feature = "streams")]
pub async fn sqs_messages(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let page = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive from {queue_url}: {e:?}"));
        if page.messages().is_empty() {
            return bodies;
        }
        for message in page.messages() {
            bodies.push(message.body().expect("a message body").to_owned());
        }
    }
}

/// Every record of every shard of `stream`, oldest first within a shard:
/// (partition key, data).
///
/// # Panics
///
/// When a call fails.
#[cfg(feature = "streams")]
pub async fn kinesis_records(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Vec<(String, Vec<u8>)> {
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap_or_else(|e| panic!("list the shards of {stream}: {e:?}"));
    let mut records = Vec::new();
    for shard in shards.shards() {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap_or_else(|e| panic!("an iterator of {stream}: {e:?}"))
            .shard_iterator()
            .map(str::to_owned);
        while let Some(current) = iterator {
            let page = client
                .get_records()
                .shard_iterator(current)
                .limit(10_000)
                .send()
                .await
                .unwrap_or_else(|e| panic!("the records of {stream}: {e:?}"));
            if page.records().is_empty() {
                break;
            }
            records.extend(page.records().iter().map(|r| {
                (
                    r.partition_key().unwrap_or_default().to_owned(),
                    r.data().as_ref().to_vec(),
                )
            }));
            iterator = page.next_shard_iterator().map(str::to_owned);
        }
    }
    records
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // SIGKILL ends it at once; waiting reaps it (no zombie).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind a free loopback port")
        .port()
}

fn spawn(python: &Path, port: u16, log: &Path) -> (Child, ChildStdin) {
    let out = std::fs::File::create(log).expect("create moto's log file");
    let err = out.try_clone().expect("share moto's log file");
    let mut child = Command::new(python)
        .args(["-c", LAUNCHER, "-H", "127.0.0.1", "-p", &port.to_string()])
        // moto builds queue URLs from it; one set in the environment for
        // another server must not leak in.
        .env("MOTO_PORT", port.to_string())
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", python.display()));
    let stdin = child.stdin.take().expect("moto's stdin is piped");
    (child, stdin)
}

/// Polls `GET /moto-api/` until it answers 200, the child exits, or the
/// time is up.
async fn wait_until_ready(child: &mut Child, addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status}) before answering"));
        }
        if let Ok(200) = request(addr, "GET", "/moto-api/").await {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("did not answer within {START_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One bodiless HTTP/1.1 request; the response's status code.
async fn request(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    // "HTTP/1.1 200 OK": the code is the second word.
    std::str::from_utf8(&response)
        .ok()
        .and_then(|text| text.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP response"))
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}
