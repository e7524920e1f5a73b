//! [`BatchFaultProxy`]: an HTTP proxy in front of a real server (moto) that
//! makes the batch calls of Firehose, Kinesis Data Streams and SQS fail the
//! way the real services do under load, on a plan.
//!
//! Why: the destinations' hardest code is what they do with a batch that
//! half succeeded (retry exactly the failed records), with a throttled call
//! (back off, resend all) and with a call whose answer was lost (resend:
//! at-least-once). moto never fails a record, never throttles and never
//! drops a connection, and a mock would not store what "succeeded". The
//! proxy takes the failed records out of the request before moto sees it,
//! so moto stores exactly the records the answer says were stored, then
//! splices failure entries back into moto's answer where the client
//! expects them.
//!
//! For maintainers: the wire shapes here follow the botocore service models
//! (`botocore/data/{firehose,kinesis,sqs}/*/service-2.json.gz` in the moto
//! venv) and the Rust SDK's error parsing; a new batch API needs a
//! [`BatchApi`] variant and an arm in each of its methods, and `splice`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::FAULT_REQUEST_ID;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// Why the proxy dropped a connection without answering. A concrete type,
/// not a `BoxError`: converting into a boxed error with `?` inside the
/// connection's future trips a compiler limit on proving it `Send`
/// ("implementation of `From` is not general enough").
#[derive(Debug)]
struct Dropped(String);

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Dropped {}

impl From<hyper::Error> for Dropped {
    fn from(e: hyper::Error) -> Dropped {
        Dropped(format!("client: {e}"))
    }
}

impl From<hyper_util::client::legacy::Error> for Dropped {
    fn from(e: hyper_util::client::legacy::Error) -> Dropped {
        Dropped(format!("server: {e}"))
    }
}

/// A body error boxed by coercion, not `From` (see [`Dropped`]).
fn boxed(e: hyper::Error) -> BoxError {
    Box::new(e)
}

/// The message of every failure the proxy makes up, so that a log line
/// tells an injected failure from a real one.
const INJECTED: &str = "Injected by the cflog batch fault proxy.";

/// What the proxy does to one batch call. The n-th batch call a proxy sees
/// (from 0, whatever its API) gets the n-th fault of its plan; calls beyond
/// the plan pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchFault {
    /// Forward the call unchanged.
    Pass,
    /// Fail the records at these positions of the request (positions past
    /// its end are ignored): they are removed from the body before it is
    /// forwarded, so the server never stores them, and the answer gets a
    /// failure entry for each, with the service's throttling code
    /// ([`BatchApi::throttling_code`]), its failed count raised to match.
    /// For Firehose and Kinesis the entries sit at the failed positions of
    /// `RequestResponses`/`Records`; for SQS they are added to `Failed`
    /// under the entries' `Id`s. When every record fails, nothing is
    /// forwarded (the services take no empty batch) and the proxy answers
    /// alone. When the server refuses the rest of the call, its answer is
    /// passed on as it is.
    FailRecords(Vec<usize>),
    /// Answer the whole call with the service's throttling error
    /// ([`BatchApi::throttling_status`], [`BatchApi::throttling_code`])
    /// without forwarding it.
    Throttle,
    /// Forward the call, so that the server stores it, read the server's
    /// answer and close the connection without answering: the client sees
    /// an I/O error and, retrying, sends the same records again.
    ResetAfterForward,
}

/// The three batch calls the proxy recognises by their `X-Amz-Target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BatchApi {
    /// Firehose `PutRecordBatch` (`Records`, answered by
    /// `FailedPutCount`/`RequestResponses`).
    FirehosePutRecordBatch,
    /// Kinesis Data Streams `PutRecords` (`Records`, answered by
    /// `FailedRecordCount`/`Records`).
    KinesisPutRecords,
    /// SQS `SendMessageBatch` (`Entries`, answered by
    /// `Successful`/`Failed`).
    SqsSendMessageBatch,
}

impl BatchApi {
    /// The three, in a fixed order.
    pub const ALL: [BatchApi; 3] = [
        BatchApi::FirehosePutRecordBatch,
        BatchApi::KinesisPutRecords,
        BatchApi::SqsSendMessageBatch,
    ];

    /// The `X-Amz-Target` header of the call.
    pub fn target(self) -> &'static str {
        match self {
            BatchApi::FirehosePutRecordBatch => "Firehose_20150804.PutRecordBatch",
            BatchApi::KinesisPutRecords => "Kinesis_20131202.PutRecords",
            BatchApi::SqsSendMessageBatch => "AmazonSQS.SendMessageBatch",
        }
    }

    /// The API whose `X-Amz-Target` is `target`.
    pub fn from_target(target: &str) -> Option<BatchApi> {
        BatchApi::ALL.into_iter().find(|api| api.target() == target)
    }

    /// The `Content-Type` of its requests and answers: SQS speaks AWS
    /// JSON 1.0, the other two 1.1.
    pub fn content_type(self) -> &'static str {
        match self {
            BatchApi::SqsSendMessageBatch => "application/x-amz-json-1.0",
            _ => "application/x-amz-json-1.1",
        }
    }

    /// The error code of a throttled call and of a failed record:
    /// `ServiceUnavailableException` (Firehose: "Back off and retry"),
    /// `ProvisionedThroughputExceededException` (Kinesis) and
    /// `RequestThrottled` (SQS). The Rust SDK retries the last two as
    /// throttling by their code; Firehose's is a server fault, retried as
    /// a transient error by its status.
    pub fn throttling_code(self) -> &'static str {
        match self {
            BatchApi::FirehosePutRecordBatch => "ServiceUnavailableException",
            BatchApi::KinesisPutRecords => "ProvisionedThroughputExceededException",
            BatchApi::SqsSendMessageBatch => "RequestThrottled",
        }
    }

    /// The HTTP status of a throttled call: 500 for Firehose's
    /// `ServiceUnavailableException` (a server fault in its model), 400 for
    /// the other two (client errors).
    pub fn throttling_status(self) -> u16 {
        match self {
            BatchApi::FirehosePutRecordBatch => 500,
            _ => 400,
        }
    }

    /// The request's array of records.
    fn records_field(self) -> &'static str {
        match self {
            BatchApi::SqsSendMessageBatch => "Entries",
            _ => "Records",
        }
    }

    /// The member of a record that carries its data.
    fn payload_field(self) -> &'static str {
        match self {
            BatchApi::SqsSendMessageBatch => "MessageBody",
            _ => "Data",
        }
    }

    /// A successful answer with no record in it.
    fn empty_result(self) -> Value {
        match self {
            BatchApi::FirehosePutRecordBatch => {
                json!({"FailedPutCount": 0, "Encrypted": false, "RequestResponses": []})
            }
            BatchApi::KinesisPutRecords => json!({"FailedRecordCount": 0, "Records": []}),
            BatchApi::SqsSendMessageBatch => json!({"Successful": [], "Failed": []}),
        }
    }

    /// The body of a throttled call, as the services write errors in AWS
    /// JSON: the code in `__type` (namespaced in JSON 1.0, as SQS does).
    fn throttling_body(self) -> Value {
        let code = match self {
            BatchApi::SqsSendMessageBatch => "com.amazonaws.sqs#RequestThrottled",
            api => api.throttling_code(),
        };
        json!({"__type": code, "message": INJECTED})
    }
}

/// One batch call the proxy saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchCall {
    /// Which call.
    pub api: BatchApi,
    /// What the plan did to it.
    pub fault: BatchFault,
    /// The data of each record of the request, in order, as sent: `Data`
    /// (base64) for Firehose and Kinesis, `MessageBody` for SQS. A retry's
    /// call shows which records it resent.
    pub records: Vec<String>,
    /// How many of them went on to the server.
    pub forwarded: usize,
    /// The positions the proxy failed ([`BatchFault::FailRecords`]).
    pub failed: Vec<usize>,
}

/// What a [`BatchFaultProxy`] has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Every batch call, in the order they arrived (other requests are not
    /// counted).
    pub calls: Vec<BatchCall>,
    /// Records sent on to the server, over all calls (whatever it did with
    /// them; a reset call's records count).
    pub records_forwarded: usize,
    /// Records failed by the proxy ([`BatchFault::FailRecords`]).
    pub records_failed: usize,
    /// Calls answered with a throttling error ([`BatchFault::Throttle`]).
    pub throttled: usize,
    /// Connections closed after forwarding
    /// ([`BatchFault::ResetAfterForward`]).
    pub resets: usize,
}

/// An HTTP proxy on a free loopback port in front of a server (moto) that
/// applies a plan of [`BatchFault`]s to the Firehose `PutRecordBatch`,
/// Kinesis `PutRecords` and SQS `SendMessageBatch` calls through it, and
/// forwards every other request unchanged (`CreateStream`, `GetRecords`,
/// `ReceiveMessage`, S3...). It stops when dropped.
///
/// The server must not check SigV4 signatures (moto does not), since the
/// proxy rewrites signed bodies.
///
/// # Example
///
/// ```no_run
/// # async fn example() {
/// use cflog_testkit::{BatchFault, BatchFaultProxy, MotoServer};
///
/// let moto = MotoServer::start().await;
/// // The first batch call loses its records 1 and 3, the second is
/// // throttled, the rest pass.
/// let proxy = BatchFaultProxy::start(
///     moto.endpoint(),
///     vec![BatchFault::FailRecords(vec![1, 3]), BatchFault::Throttle],
/// )
/// .await;
/// // Point the client under test at proxy.endpoint(), then:
/// assert_eq!(proxy.stats().records_failed, 2);
/// # }
/// ```
pub struct BatchFaultProxy {
    endpoint: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    upstream: String,
    client: Client<HttpConnector, Body>,
    plan: Vec<BatchFault>,
    stats: Mutex<BatchStats>,
}

impl BatchFaultProxy {
    /// Starts a proxy to `upstream` (an `http://host:port` endpoint) that
    /// applies `plan` to the batch calls, in order.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start(upstream: &str, plan: Vec<BatchFault>) -> BatchFaultProxy {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            plan,
            stats: Mutex::new(BatchStats::default()),
        });
        let for_task = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let shared = Arc::clone(&for_task);
                let service = hyper::service::service_fn(move |request| {
                    let shared = Arc::clone(&shared);
                    async move { shared.handle(request).await }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service);
                tokio::spawn(async move {
                    // A reset is the service failing on purpose; a client
                    // hanging up is not the proxy's failure either.
                    let _ = connection.await;
                });
            }
        });
        BatchFaultProxy {
            endpoint,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A copy of what it has done so far.
    pub fn stats(&self) -> BatchStats {
        self.shared.stats().clone()
    }
}

impl Drop for BatchFaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    fn stats(&self) -> std::sync::MutexGuard<'_, BatchStats> {
        self.stats.lock().expect("no proxy task panicked")
    }

    async fn handle(
        &self,
        request: Request<hyper::body::Incoming>,
    ) -> Result<Response<Body>, Dropped> {
        let api = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.to_str().ok())
            .and_then(BatchApi::from_target);
        let Some(api) = api else {
            // Streamed both ways: S3 bodies may be large.
            let (parts, body) = request.into_parts();
            let response = self.forward(parts, body.map_err(boxed).boxed()).await?;
            return Ok(response.map(|body| body.map_err(boxed).boxed()));
        };

        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let document: Option<Value> = serde_json::from_slice(&body).ok();
        let records: Vec<Value> = document
            .as_ref()
            .and_then(|document| document.get(api.records_field()))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let (index, fault) = {
            let mut stats = self.stats();
            let index = stats.calls.len();
            let fault = self.plan.get(index).cloned().unwrap_or(BatchFault::Pass);
            stats.calls.push(BatchCall {
                api,
                fault: fault.clone(),
                records: records
                    .iter()
                    .map(|record| {
                        let data = record.get(api.payload_field()).and_then(Value::as_str);
                        data.unwrap_or_default().to_owned()
                    })
                    .collect(),
                forwarded: 0,
                failed: Vec::new(),
            });
            (index, fault)
        };

        let failed: BTreeSet<usize> = match &fault {
            BatchFault::Pass => BTreeSet::new(),
            BatchFault::Throttle => {
                self.stats().throttled += 1;
                let status = api.throttling_status();
                return Ok(json_response(api, status, &api.throttling_body()));
            }
            BatchFault::ResetAfterForward => {
                self.note_forwarded(index, records.len());
                let response = self.forward_bytes(parts, body).await?;
                // Read to the end: the server has done the whole call.
                let _ = response.into_body().collect().await;
                self.stats().resets += 1;
                return Err(Dropped("reset after forwarding, on plan".to_owned()));
            }
            BatchFault::FailRecords(positions) => positions
                .iter()
                .copied()
                .filter(|&position| position < records.len())
                .collect(),
        };
        let document = match document {
            Some(document) if !failed.is_empty() => document,
            // Nothing to fail (or no JSON to fail it in): pass it on.
            _ => {
                self.note_forwarded(index, records.len());
                let response = self.forward_bytes(parts, body).await?;
                return Ok(response.map(|body| body.map_err(boxed).boxed()));
            }
        };
        {
            let mut stats = self.stats();
            stats.records_failed += failed.len();
            stats.calls[index].failed = failed.iter().copied().collect();
        }
        let kept: Vec<Value> = records
            .iter()
            .enumerate()
            .filter(|(position, _)| !failed.contains(position))
            .map(|(_, record)| record.clone())
            .collect();
        if kept.is_empty() {
            let answer = splice(api, api.empty_result(), &records, &failed);
            return Ok(json_response(api, 200, &answer));
        }

        let mut document = document;
        self.note_forwarded(index, kept.len());
        document[api.records_field()] = Value::Array(kept);
        let body = Bytes::from(serde_json::to_vec(&document).expect("JSON values serialize"));
        let response = self.forward_bytes(parts, body).await?;
        let (mut head, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        let answer = serde_json::from_slice::<Value>(&body)
            .ok()
            .filter(|answer| head.status == 200 && answer.is_object());
        let Some(answer) = answer else {
            // The server refused the call: its answer stands.
            return Ok(Response::from_parts(head, full(body)));
        };
        let answer = splice(api, answer, &records, &failed);
        let body = Bytes::from(serde_json::to_vec(&answer).expect("JSON values serialize"));
        head.headers.remove(TRANSFER_ENCODING);
        head.headers.insert(CONTENT_LENGTH, body.len().into());
        Ok(Response::from_parts(head, full(body)))
    }

    fn note_forwarded(&self, index: usize, records: usize) {
        let mut stats = self.stats();
        stats.records_forwarded += records;
        stats.calls[index].forwarded = records;
    }

    /// Sends the request on to the server. The `Host` header stays the
    /// proxy's, as the client signed it.
    async fn forward(
        &self,
        mut parts: hyper::http::request::Parts,
        body: Body,
    ) -> Result<Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("{}{target}", self.upstream)
            .parse()
            .expect("an upstream URI");
        self.client.request(Request::from_parts(parts, body)).await
    }

    /// [`Shared::forward`] with a body read whole, perhaps rewritten: the
    /// length the client sent may be stale, and an answer to be rewritten
    /// must not come compressed.
    async fn forward_bytes(
        &self,
        mut parts: hyper::http::request::Parts,
        body: Bytes,
    ) -> Result<Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        parts.headers.remove(TRANSFER_ENCODING);
        parts.headers.remove(ACCEPT_ENCODING);
        parts.headers.insert(CONTENT_LENGTH, body.len().into());
        self.forward(parts, full(body)).await
    }
}

/// `answer` (the server's answer to the records that were forwarded) with
/// a failure entry for each position of `failed` in `records`, the request's
/// records.
fn splice(api: BatchApi, mut answer: Value, records: &[Value], failed: &BTreeSet<usize>) -> Value {
    let code = api.throttling_code();
    let (list, count) = match api {
        BatchApi::SqsSendMessageBatch => {
            let entries = failed.iter().map(|&position| {
                let id = records[position].get("Id").cloned().unwrap_or(Value::Null);
                json!({"Id": id, "SenderFault": false, "Code": code, "Message": INJECTED})
            });
            match answer.get_mut("Failed").and_then(Value::as_array_mut) {
                Some(list) => list.extend(entries),
                None => answer["Failed"] = entries.collect(),
            }
            if answer.get("Successful").is_none() {
                answer["Successful"] = json!([]);
            }
            return answer;
        }
        BatchApi::FirehosePutRecordBatch => ("RequestResponses", "FailedPutCount"),
        BatchApi::KinesisPutRecords => ("Records", "FailedRecordCount"),
    };
    let mut forwarded = match answer.get_mut(list).map(Value::take) {
        Some(Value::Array(entries)) => entries.into_iter(),
        _ => Vec::new().into_iter(),
    };
    let mut merged = Vec::with_capacity(records.len());
    for position in 0..records.len() {
        if failed.contains(&position) {
            merged.push(json!({"ErrorCode": code, "ErrorMessage": INJECTED}));
        } else if let Some(entry) = forwarded.next() {
            merged.push(entry);
        }
    }
    let failures = answer.get(count).and_then(Value::as_u64).unwrap_or(0) + failed.len() as u64;
    answer[list] = Value::Array(merged);
    answer[count] = failures.into();
    answer
}

fn full(bytes: Bytes) -> Body {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed()
}

/// An answer of the proxy's own, as the services write them: the JSON
/// protocol's content type, a request id, and for SQS errors the
/// `x-amzn-query-error` header its query-compatible clients read the code
/// from.
fn json_response(api: BatchApi, status: u16, body: &Value) -> Response<Body> {
    let body = Bytes::from(serde_json::to_vec(body).expect("JSON values serialize"));
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, api.content_type())
        .header(CONTENT_LENGTH, body.len())
        .header("x-amzn-requestid", FAULT_REQUEST_ID);
    if status != 200 {
        response = response.header("x-amzn-errortype", api.throttling_code());
        if api == BatchApi::SqsSendMessageBatch {
            response = response.header(
                "x-amzn-query-error",
                format!("{};Sender", api.throttling_code()),
            );
        }
    }
    response.body(full(body)).expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinesis_records(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| json!({"Data": format!("r{i}"), "PartitionKey": "k"}))
            .collect()
    }

    #[test]
    fn targets_round_trip() {
        for api in BatchApi::ALL {
            assert_eq!(BatchApi::from_target(api.target()), Some(api));
        }
        assert_eq!(BatchApi::from_target("Kinesis_20131202.PutRecord"), None);
    }

    #[test]
    fn splice_puts_failures_at_their_positions() {
        let records = kinesis_records(4);
        let answer = json!({
            "FailedRecordCount": 0,
            "Records": [
                {"SequenceNumber": "1", "ShardId": "shardId-000000000000"},
                {"SequenceNumber": "2", "ShardId": "shardId-000000000000"}
            ],
            "EncryptionType": "NONE"
        });
        let failed = BTreeSet::from([0, 2]);
        let answer = splice(BatchApi::KinesisPutRecords, answer, &records, &failed);
        assert_eq!(answer["FailedRecordCount"], 2);
        assert_eq!(answer["EncryptionType"], "NONE");
        let entries = answer["Records"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(
            entries[0]["ErrorCode"],
            "ProvisionedThroughputExceededException"
        );
        assert_eq!(entries[1]["SequenceNumber"], "1");
        assert_eq!(
            entries[2]["ErrorCode"],
            "ProvisionedThroughputExceededException"
        );
        assert_eq!(entries[3]["SequenceNumber"], "2");
    }

    #[test]
    fn splice_adds_sqs_failures_by_id() {
        let records = vec![
            json!({"Id": "a", "MessageBody": "x"}),
            json!({"Id": "b", "MessageBody": "y"}),
        ];
        let answer = json!({"Successful": [{"Id": "a"}]});
        let answer = splice(
            BatchApi::SqsSendMessageBatch,
            answer,
            &records,
            &BTreeSet::from([1]),
        );
        assert_eq!(answer["Successful"], json!([{"Id": "a"}]));
        assert_eq!(
            answer["Failed"],
            json!([{"Id": "b", "SenderFault": false, "Code": "RequestThrottled", "Message": INJECTED}])
        );
    }

    #[test]
    fn splice_into_nothing_fails_every_record() {
        let records = kinesis_records(2);
        let answer = splice(
            BatchApi::FirehosePutRecordBatch,
            BatchApi::FirehosePutRecordBatch.empty_result(),
            &records,
            &BTreeSet::from([0, 1]),
        );
        assert_eq!(answer["FailedPutCount"], 2);
        assert_eq!(answer["Encrypted"], false);
        let entries = answer["RequestResponses"].as_array().unwrap();
        assert!(
            entries
                .iter()
                .all(|entry| entry["ErrorCode"] == "ServiceUnavailableException")
        );
    }
}
