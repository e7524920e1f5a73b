//! Test support shared by the cflog crates: a real S3-compatible HTTP server
//! (s3s-fs over hyper) started in-process on a free loopback port, a client
//! for it, and fixture helpers; a real moto server ([`MotoServer`]) for the
//! Firehose, Kinesis and SQS destinations, and a proxy that fails their
//! batch calls on a plan ([`BatchFaultProxy`]).
//!
//! The server is not a mock: the real `aws-sdk-s3` client talks to it over
//! HTTP with SigV4 signing, path-style addressing and streamed bodies.

#![forbid(unsafe_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod batch;
mod emf;
mod moto;
pub use batch::{BatchApi, BatchCall, BatchFault, BatchFaultProxy, BatchStats};
pub use emf::check_emf_document;
pub use moto::{MOTO_ACCESS_KEY, MOTO_ACCOUNT_ID, MOTO_REGION, MOTO_SECRET_KEY, MotoServer};
#[cfg(feature = "streams")]
pub use moto::{kinesis_records, sqs_messages};

/// The access key the test server accepts.
pub const ACCESS_KEY: &str = "AKIDCFLOGTEST";
/// The secret key the test server accepts.
pub const SECRET_KEY: &str = "cflog-test-secret";

/// A running S3-compatible server over a directory; each subdirectory is a
/// bucket. It stops when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    root: PathBuf,
    _dir: Option<tempfile::TempDir>,
    task: JoinHandle<()>,
}

impl S3Server {
    /// Starts a server over a new temporary directory.
    pub async fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let root = dir.path().to_path_buf();
        let mut server = S3Server::serve(&root, 0)
            .await
            .expect("start the S3 server");
        server._dir = Some(dir);
        server
    }

    /// Serves `root` on `127.0.0.1:port` (0 picks a free port).
    ///
    /// # Errors
    ///
    /// When the directory cannot be used or the port cannot be bound.
    pub async fn serve(root: &Path, port: u16) -> std::io::Result<S3Server> {
        S3Server::serve_in(root, port, None).await
    }

    /// Starts a server over a new temporary directory whose buckets are in
    /// `region`: as S3 does, it answers a request signed for another region
    /// with `301 PermanentRedirect` and the bucket's region in the
    /// `x-amz-bucket-region` header.
    pub async fn start_in_region(region: &str) -> S3Server {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let root = dir.path().to_path_buf();
        let mut server = S3Server::serve_in(&root, 0, Some(region.to_owned()))
            .await
            .expect("start the S3 server");
        server._dir = Some(dir);
        server
    }

    async fn serve_in(root: &Path, port: u16, region: Option<String>) -> std::io::Result<S3Server> {
        std::fs::create_dir_all(root)?;
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let http = ConnectionBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let (service, region) = (service.clone(), region.clone());
                let regional = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let (service, region) = (service.clone(), region.clone());
                        async move {
                            if let Some(region) = region
                                && signed_region(&request).is_some_and(|signed| signed != region)
                            {
                                return Ok(wrong_region(&region));
                            }
                            hyper::service::Service::call(&service, request).await
                        }
                    },
                );
                let connection = http
                    .serve_connection(TokioIo::new(socket), regional)
                    .into_owned();
                tokio::spawn(async move {
                    // A client hanging up mid-response is not the server's failure.
                    let _ = connection.await;
                });
            }
        });
        Ok(S3Server {
            endpoint: format!("http://{addr}"),
            root: root.to_path_buf(),
            _dir: None,
            task,
        })
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A client for this server: static test credentials, path-style, and
    /// no environment or instance-metadata lookups.
    pub fn client(&self) -> Client {
        client(&self.endpoint)
    }

    /// Creates `bucket`.
    pub async fn create_bucket(&self, bucket: &str) {
        self.client()
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create the bucket");
    }

    /// Uploads `body` as `s3://bucket/key`.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.client()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("put the object");
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The region of a SigV4-signed request: the third part of the credential
/// scope, `Credential=AKID/20240314/us-east-1/s3/aws4_request`.
fn signed_region<B>(request: &hyper::Request<B>) -> Option<String> {
    let authorization = request.headers().get("authorization")?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?;
    Some(scope.split(['/', ',']).nth(2)?.to_owned())
}

/// S3's answer to a request sent to the wrong region's endpoint.
fn wrong_region(region: &str) -> s3s::HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><RequestId>{FAULT_REQUEST_ID}</RequestId></Error>"
    );
    hyper::Response::builder()
        .status(301)
        .header("content-type", "application/xml")
        .header("x-amz-bucket-region", region)
        .header("x-amz-request-id", FAULT_REQUEST_ID)
        .body(s3s::Body::from(body))
        .expect("a redirect response")
}

/// A client for an S3-compatible server at `endpoint` with the test keys.
pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            None,
            "cflog-testkit",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(config)
}

/// `data` as one gzip member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// `parts` as consecutive gzip members of one stream.
pub fn gzip_members(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|part| gzip(part)).collect()
}

/// Runs `scripts/install-tools` (it returns at once when the pinned tools
/// are up to date) and returns the repository's `.venv-tools/` directory.
///
/// # Panics
///
/// When the script fails.
pub fn install_tools() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = std::process::Command::new(repo.join("scripts/install-tools"))
        .status()
        .expect("run scripts/install-tools");
    assert!(status.success(), "scripts/install-tools failed");
    repo.join(".venv-tools")
}

/// The Python of the repository's tools venv, with pyarrow and DuckDB
/// (installed by `scripts/install-tools` on first use): the readers that
/// Parquet output is checked with.
pub fn tools_python() -> std::path::PathBuf {
    install_tools().join("sam/bin/python")
}

/// A file of the workspace's `testdata/` directory.
pub fn testdata(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An environment of `vars` alone, as a lookup of variables by name (such
/// as `cflog_lambda::Config::from_lookup` takes); every other variable is
/// unset.
///
/// ```
/// let env = cflog_testkit::env(&[("CFLOG_SINK", "s3")]);
/// assert_eq!(env("CFLOG_SINK").as_deref(), Some("s3"));
/// assert_eq!(env("CFLOG_FIELDS"), None);
/// ```
pub fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// A fault a [`FaultProxy`] injects between a client and a server: the
/// failures a real S3 server will not produce on demand.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Forward the request, but close the connection after this many bytes
    /// of the response: a connection reset mid-body.
    CutResponseAfter(usize),
    /// Answer every request with this HTTP status and an S3 error body
    /// (`503` is S3's throttling answer, `SlowDown`).
    Status(u16),
    /// Answer every request with this HTTP status and S3 error code, for
    /// refusals the test server cannot be brought to make, such as
    /// `InvalidObjectState` for an archived object.
    S3Error {
        /// The HTTP status.
        status: u16,
        /// S3's error code.
        code: &'static str,
    },
    /// Accept the connection and never answer: a timeout.
    Hang,
}

/// Reads a request and answers it with an S3 error, as S3 writes them:
/// XML with the code, the message and a request id, also in the
/// `x-amz-request-id` header.
async fn answer(client: &mut tokio::net::TcpStream, status: u16, code: &str, message: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = [0u8; 65536];
    let _ = client.read(&mut request).await;
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>{FAULT_REQUEST_ID}</RequestId></Error>"
    );
    let response = format!(
        "HTTP/1.1 {status} Injected\r\ncontent-type: application/xml\r\nx-amz-request-id: {FAULT_REQUEST_ID}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes()).await;
}

/// The request id of the fault proxy's S3 errors.
pub const FAULT_REQUEST_ID: &str = "CFLOGFAULT0001";

/// A TCP proxy on a free loopback port that injects a [`Fault`].
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (an `http://host:port` endpoint).
    pub async fn start(upstream: &str, fault: Fault) -> FaultProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    match fault {
                        Fault::Hang => {
                            let mut sink = [0u8; 4096];
                            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                        Fault::Status(status) => {
                            answer(
                                &mut client,
                                status,
                                "SlowDown",
                                "Please reduce your request rate.",
                            )
                            .await;
                        }
                        Fault::S3Error { status, code } => {
                            answer(
                                &mut client,
                                status,
                                code,
                                "Injected by the cflog fault proxy.",
                            )
                            .await;
                        }
                        Fault::CutResponseAfter(limit) => {
                            let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                                return;
                            };
                            let (mut from_client, mut to_client) = client.into_split();
                            let (mut from_server, mut to_server) = server.into_split();
                            let requests = tokio::spawn(async move {
                                let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                            });
                            let mut sent = 0;
                            let mut buf = vec![0u8; 8192];
                            while sent < limit {
                                let Ok(n) = from_server.read(&mut buf).await else {
                                    break;
                                };
                                if n == 0 {
                                    break;
                                }
                                let n = n.min(limit - sent);
                                if to_client.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                                sent += n;
                            }
                            requests.abort();
                            // Dropping both halves closes the connection mid-response.
                        }
                    }
                });
            }
        });
        FaultProxy { endpoint, task }
    }
}

/// What a [`RequestFaultProxy`] or a [`HoldingProxy`] does with a request
/// it matches.
#[derive(Clone)]
enum Intercept {
    /// Answer with this status and S3 error code.
    Fail { status: u16, code: &'static str },
    /// Wait for the gate to let it through, then forward it.
    Hold(std::sync::Arc<Gate>),
}

/// The turnstile of a [`HoldingProxy`]: each matched request adds a
/// permit to `held` and takes one from `released` before it goes on.
struct Gate {
    held: tokio::sync::Semaphore,
    released: tokio::sync::Semaphore,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            held: tokio::sync::Semaphore::new(0),
            released: tokio::sync::Semaphore::new(0),
        }
    }
}

/// An HTTP proxy on `127.0.0.1` forwarding to `upstream`, intercepting the
/// requests whose `METHOD /path?query` contains `matching`; returns its
/// endpoint and its task. `counter` counts the requests intercepted.
async fn intercepting_proxy(
    upstream: &str,
    matching: &'static str,
    intercept: Intercept,
    counter: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> (String, JoinHandle<()>) {
    use http_body_util::BodyExt;
    use std::sync::atomic::Ordering;

    type Body = http_body_util::combinators::BoxBody<
        bytes::Bytes,
        Box<dyn std::error::Error + Send + Sync>,
    >;

    let upstream = upstream.trim_end_matches('/').to_owned();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind the proxy");
    let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
    let client: hyper_util::client::legacy::Client<_, hyper::body::Incoming> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let (client, upstream, counter, intercept) = (
                client.clone(),
                upstream.clone(),
                std::sync::Arc::clone(&counter),
                intercept.clone(),
            );
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    let (client, upstream, counter, intercept) = (
                        client.clone(),
                        upstream.clone(),
                        std::sync::Arc::clone(&counter),
                        intercept.clone(),
                    );
                    async move {
                        let target = request
                            .uri()
                            .path_and_query()
                            .map_or("/", |p| p.as_str())
                            .to_owned();
                        let matched = format!("{} {target}", request.method()).contains(matching);
                        match intercept {
                            Intercept::Fail { status, code } if matched => {
                                counter.fetch_add(1, Ordering::SeqCst);
                                // Read to its end first, as S3 does: a
                                // client still sending would see a reset.
                                let _ = request.into_body().collect().await;
                                let body = format!(
                                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>Injected by the cflog fault proxy.</Message><RequestId>{FAULT_REQUEST_ID}</RequestId></Error>"
                                );
                                let response = hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/xml")
                                    .header("x-amz-request-id", FAULT_REQUEST_ID)
                                    .body(
                                        http_body_util::Full::new(bytes::Bytes::from(body))
                                            .map_err(|never| match never {})
                                            .boxed(),
                                    )
                                    .expect("an error response");
                                return Ok::<_, hyper_util::client::legacy::Error>(response);
                            }
                            Intercept::Hold(gate) if matched => {
                                counter.fetch_add(1, Ordering::SeqCst);
                                gate.held.add_permits(1);
                                gate.released
                                    .acquire()
                                    .await
                                    .expect("the gate is never closed")
                                    .forget();
                            }
                            _ => {}
                        }
                        // The Host header stays the proxy's, which the
                        // client signed.
                        *request.uri_mut() = format!("{upstream}{target}")
                            .parse()
                            .expect("an upstream URI");
                        let response = client.request(request).await?;
                        Ok(response.map(|body| -> Body { body.map_err(Into::into).boxed() }))
                    }
                },
            );
            let http = ConnectionBuilder::new(TokioExecutor::new());
            let connection = http
                .serve_connection(TokioIo::new(socket), service)
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    (endpoint, task)
}

/// An HTTP proxy on a free loopback port that forwards every request to
/// the server, but for those whose method, path and query contain a given
/// text, which it answers with an S3 error: a failure part-way through a
/// series of requests, such as the second part of a multipart upload.
pub struct RequestFaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    failed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: JoinHandle<()>,
}

impl RequestFaultProxy {
    /// Starts a proxy to `upstream` (an `http://host:port` endpoint) that
    /// answers each request whose `METHOD /path?query` contains `matching`
    /// with `status` and S3's error `code`.
    pub async fn start(
        upstream: &str,
        matching: &'static str,
        status: u16,
        code: &'static str,
    ) -> RequestFaultProxy {
        let failed = std::sync::Arc::default();
        let (endpoint, task) = intercepting_proxy(
            upstream,
            matching,
            Intercept::Fail { status, code },
            std::sync::Arc::clone(&failed),
        )
        .await;
        RequestFaultProxy {
            endpoint,
            failed,
            task,
        }
    }

    /// How many requests it has failed.
    pub fn failed(&self) -> usize {
        self.failed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for RequestFaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP proxy on a free loopback port that forwards every request to
/// the server, but holds each one whose method, path and query contain a
/// given text until the test lets it through: a slow request, stopped
/// exactly where the test wants to look at the server's state (what a
/// reader sees while a series of PUTs is under way, say).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = cflog_testkit::S3Server::start().await;
/// server.create_bucket("held").await;
/// let proxy = cflog_testkit::HoldingProxy::start(&server.endpoint, "PUT ").await;
/// let client = cflog_testkit::client(&proxy.endpoint);
/// let put = tokio::spawn(async move {
///     client.put_object().bucket("held").key("k").body(b"x".to_vec().into()).send().await
/// });
/// proxy.held().await; // The PUT is waiting: the object is not there yet.
/// assert!(server.client().head_object().bucket("held").key("k").send().await.is_err());
/// proxy.release();
/// put.await.unwrap().unwrap();
/// assert!(server.client().head_object().bucket("held").key("k").send().await.is_ok());
/// # }
/// ```
pub struct HoldingProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    gate: std::sync::Arc<Gate>,
    held: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: JoinHandle<()>,
}

impl HoldingProxy {
    /// Starts a proxy to `upstream` (an `http://host:port` endpoint) that
    /// holds each request whose `METHOD /path?query` contains `matching`.
    pub async fn start(upstream: &str, matching: &'static str) -> HoldingProxy {
        let gate = std::sync::Arc::new(Gate::default());
        let held = std::sync::Arc::default();
        let (endpoint, task) = intercepting_proxy(
            upstream,
            matching,
            Intercept::Hold(std::sync::Arc::clone(&gate)),
            std::sync::Arc::clone(&held),
        )
        .await;
        HoldingProxy {
            endpoint,
            gate,
            held,
            task,
        }
    }

    /// Waits until a request is held (one not waited for before: each held
    /// request is returned once).
    pub async fn held(&self) {
        self.gate
            .held
            .acquire()
            .await
            .expect("the gate is never closed")
            .forget();
    }

    /// Lets one held request (or the next one to come) through.
    pub fn release(&self) {
        self.gate.released.add_permits(1);
    }

    /// How many requests it has held, released or not.
    pub fn count(&self) -> usize {
        self.held.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for HoldingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A writer into the test harness's captured output, for the report and
/// metrics lines a handler would write to the process's stderr: like
/// `eprint!`, it shows only for a failing test, or with `--nocapture`,
/// where a write to stderr itself would show beside every passing test.
///
/// ```
/// use std::io::Write;
///
/// let mut out = cflog_testkit::CapturedStderr;
/// out.write_all(b"{\"kind\":\"cflog.summary\"}\n").unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CapturedStderr;

impl Write for CapturedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        eprint!("{}", String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a sink wrote, shared between the sinks a handler makes and the test
/// that reads it.
#[derive(Clone, Debug, Default)]
pub struct SharedOutput(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("no writer panicked")
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedOutput {
    /// Every byte written.
    ///
    /// # Panics
    ///
    /// When a writer panicked.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().expect("no writer panicked").clone()
    }

    /// The NDJSON lines written, parsed.
    ///
    /// # Panics
    ///
    /// When a line is not JSON.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().expect("no writer panicked").clone();
        String::from_utf8(bytes)
            .expect("NDJSON is UTF-8")
            .lines()
            .map(|line| serde_json::from_str(line).expect("every output line is JSON"))
            .collect()
    }
}

/// A Kinesis event as Lambda delivers it from the stream `stream_arn`: one
/// record per `(sequence number, data)`, the data base64-encoded.
pub fn kinesis_event(stream_arn: &str, records: &[(&str, &[u8])]) -> serde_json::Value {
    use base64::Engine;
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|(sequence, data)| {
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "E2ABCDEF123456",
                    "sequenceNumber": sequence,
                    "data": base64::engine::general_purpose::STANDARD.encode(data),
                    "approximateArrivalTimestamp": 1607374321.6
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{sequence}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/cflog",
                "awsRegion": "us-east-1",
                "eventSourceARN": stream_arn
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}
