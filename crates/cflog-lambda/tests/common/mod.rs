//! What the Batch Operations, SQS and metrics tests share: a client that
//! sends the requests for chosen keys through a fault proxy, sinks that keep
//! each object's entries apart, and S3 notifications of the tests' objects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use cflog_lambda::{Config, Handler, Source};
use cflog_pipeline::sink::NdjsonSink;
use cflog_testkit::{CapturedStderr, Fault, FaultProxy, S3Server, SharedOutput, gzip, testdata};
use serde_json::{Value, json};

/// Sends the requests for some keys to another endpoint (a fault proxy):
/// one client, one event, and a fault on chosen objects only.
#[derive(Debug)]
struct RouteKeys {
    server: String,
    routes: Vec<(&'static str, String)>,
}

impl Intercept for RouteKeys {
    fn name(&self) -> &'static str {
        "RouteKeys"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        if let Some((_, proxy)) = self.routes.iter().find(|(key, _)| uri.contains(key)) {
            request.set_uri(uri.replacen(&self.server, proxy, 1))?;
        }
        Ok(())
    }
}

/// A client of `server` that sends the requests for each key of `routes`
/// to its proxy, with quick retries.
pub fn routed_client(server: &S3Server, routes: Vec<(&'static str, String)>) -> Client {
    let config = server
        .client()
        .config()
        .to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .interceptor(RouteKeys {
            server: server.endpoint.clone(),
            routes,
        })
        .build();
    Client::from_conf(config)
}

/// What each object's sink received, by key.
#[derive(Clone, Default)]
pub struct Outputs(Arc<Mutex<BTreeMap<String, SharedOutput>>>);

impl Outputs {
    pub fn entries(&self, key: &str) -> Vec<Value> {
        let outputs = self.0.lock().unwrap();
        outputs
            .get(key)
            .map(SharedOutput::entries)
            .unwrap_or_default()
    }

    pub fn keys(&self) -> Vec<String> {
        self.0.lock().unwrap().keys().cloned().collect()
    }
}

pub fn handler(client: Client, config: Config) -> (Handler, Outputs) {
    let outputs = Outputs::default();
    let out = outputs.clone();
    let selection = config.selection.clone();
    let handler = Handler::with_sinks(client, config, move |source: &Source<'_>| {
        let Source::Object { key, .. } = source else {
            panic!("an object event made a sink for {source:?}");
        };
        let output = out
            .0
            .lock()
            .unwrap()
            .entry((*key).to_owned())
            .or_default()
            .clone();
        NdjsonSink::with_selection(output, selection.clone())
    })
    .reports_to(CapturedStderr)
    .metrics_to(CapturedStderr);
    (handler, outputs)
}

/// The bucket of the tests.
pub const BUCKET: &str = "cf-logs";

/// The configuration of the tests: the default, with the backfill prefix
/// ignored as the template sets it.
pub fn config() -> Config {
    Config::from_lookup(|name| (name == "CFLOG_IGNORE_PREFIX").then(|| "cflog-backfill/".into()))
        .unwrap()
}

/// An S3 ObjectCreated notification for `keys` of the tests' bucket, keys
/// form-URL-encoded as S3 sends them: the payload of a direct invocation,
/// and the body of an SQS message.
// Batch Operations tasks name their objects otherwise: batch.rs has no use for it.
#[allow(dead_code)]
pub fn s3_notification(keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            let key: Vec<String> = key
                .split('/')
                .map(|part| form_urlencoded::byte_serialize(part.as_bytes()).collect())
                .collect();
            json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2025-12-11T06:05:16.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "192.0.2.10"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "x"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "cflog",
                    "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
                    "object": {"key": key.join("/"), "size": 1}
                }
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The key with a space, a `+`, a Hive-style `=` and a non-ASCII letter.
pub const ENCODED: &str = "cf logs/year=2025/a+b é.2025-12-11-05.gz";

/// A server holding the objects of the tests: good ones, one with a bad
/// line, the encoded key, a corrupt gzip, a non-log, two that the fault
/// proxies refuse, and a completion report under the backfill prefix.
pub async fn server() -> S3Server {
    let mut corrupt = gzip(&testdata("aws-docs-33-fields.log"));
    let middle = corrupt.len() / 2;
    corrupt[middle..middle + 8].copy_from_slice(b"garbage!");
    let mut mixed = testdata("aws-docs-33-fields.log");
    mixed.extend_from_slice(b"only\tthree\tfields\n");
    let good = gzip(&testdata("aws-docs-33-fields.log"));
    let objects = [
        ("E1.2019-12-04-21.a1b2c3d4.gz", good.clone()),
        ("mixed.gz", gzip(&mixed)),
        (ENCODED, gzip(&testdata("real-33-fields-2025.log"))),
        ("corrupt.gz", corrupt),
        (
            "photo.gz",
            gzip(&[0x89, b'P', b'N', b'G', 0, 1, 2, b'\n', 0xff]),
        ),
        ("throttled.gz", good.clone()),
        ("denied.gz", good),
        (
            "cflog-backfill/reports/job-1/results/0a1b.csv",
            b"cf-logs,E1.gz,,succeeded,200,,6 entries\n".to_vec(),
        ),
    ];
    let server = S3Server::start().await;
    server.create_bucket(BUCKET).await;
    for (key, body) in objects {
        server.put(BUCKET, key, body).await;
    }
    server
}

/// The handler over `server`, `throttled.gz` answered with 503 SlowDown and
/// `denied.gz` with 403 AccessDenied (the proxies must live as long).
pub async fn faulty_handler(server: &S3Server) -> (Handler, Outputs, [FaultProxy; 2]) {
    let throttle = FaultProxy::start(&server.endpoint, Fault::Status(503)).await;
    let deny = FaultProxy::start(
        &server.endpoint,
        Fault::S3Error {
            status: 403,
            code: "AccessDenied",
        },
    )
    .await;
    let client = routed_client(
        server,
        vec![
            ("throttled.gz", throttle.endpoint.clone()),
            ("denied.gz", deny.endpoint.clone()),
        ],
    );
    let (handler, outputs) = handler(client, config());
    (handler, outputs, [throttle, deny])
}
