//! Kinesis batches of CloudFront real-time log records through the handler:
//! the real 2020 record, records built for other field sets, bad records
//! under both policies, and the batch response Lambda reads.

use cflog_core::{Field, REALTIME_ORDER};
use cflog_lambda::{Config, FailureKind, Handler, Response};
use std::task::{Context, Poll};

use cflog_pipeline::sink::{Delivery, EntryError, NdjsonSink, Sink, Source, Verdict};
use cflog_testkit::{CapturedStderr, SharedOutput, kinesis_event, testdata};
use serde_json::{Value, json};

/// The field list of the real record in `testdata/realtime-40-fields-2020.tsv`
/// (`testdata/realtime-40-fields-2020.fields`), listed in reverse: the
/// configuration's order must not matter.
fn fields_2020() -> String {
    let list = String::from_utf8(testdata("realtime-40-fields-2020.fields")).unwrap();
    let names: Vec<&str> = list.trim().split(',').rev().collect();
    names.join(",")
}

const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/cloudfront-realtime";

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(cflog_testkit::env(vars)).unwrap()
}

fn handler(config: Config) -> (Handler, SharedOutput) {
    let output = SharedOutput::default();
    let out = output.clone();
    let selection = config.selection.clone();
    // No S3 request is made for Kinesis events; the client points nowhere.
    let client = cflog_testkit::client("http://127.0.0.1:9");
    let handler = Handler::with_sinks(client, config, move |_: &Source<'_>| {
        NdjsonSink::with_selection(out.clone(), selection.clone())
    })
    .reports_to(CapturedStderr)
    .metrics_to(CapturedStderr);
    (handler, output)
}

/// A Kinesis event from the test stream.
fn event(records: &[(&str, &[u8])]) -> Value {
    kinesis_event(STREAM, records)
}

fn failures(response: &Response) -> Value {
    match response {
        Response::Kinesis(batch) => serde_json::to_value(batch).unwrap(),
        other => panic!("a Kinesis event got another response: {other:?}"),
    }
}

#[tokio::test]
async fn the_real_2020_record_becomes_one_entry() {
    let (handler, output) = handler(config(&[("CFLOG_REALTIME_FIELDS", &fields_2020())]));
    let record = testdata("realtime-40-fields-2020.tsv");
    let response = handler.handle(event(&[("1", &record)])).await.unwrap();
    assert_eq!(failures(&response), json!({ "batchItemFailures": [] }));

    let entries = output.entries();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    // Values read from the raw record.
    assert_eq!(e["timestamp"], "2020-12-07T20:52:01.541Z");
    assert_eq!(e["c_ip"], "127.0.0.1");
    assert_eq!(e["time_to_first_byte"], 0.042);
    assert_eq!(e["sc_status"], 200);
    assert_eq!(e["sc_bytes"], 485);
    assert_eq!(e["cs_method"], "GET");
    // Real-time `cs-host` is the viewer's Host header, which the standard
    // logs call `x-host-header`: keys follow the meaning.
    assert_eq!(e["x_host_header"], "test.cloudfront.net");
    // The real-time stem carries the query; the contract splits it.
    assert_eq!(e["cs_uri_stem"], "/i");
    assert_eq!(e["query_params"]["url"], "http://localhost:5000/page-2");
    assert_eq!(e["x_edge_location"], "EWR52-C4");
    assert_eq!(e["c_ip_version"], "IPv4");
    assert_eq!(e["x_edge_result_type"], "Miss");
    assert_eq!(e["c_port"], 49323);
    assert_eq!(e["c_country"], "US");
    assert_eq!(e["cs_accept_encoding"], "gzip, deflate");
    assert_eq!(e["cs_headers_count"], 8);
}

#[tokio::test]
async fn the_sample_kinesis_event_of_the_local_flow() {
    // testdata/events/kinesis-realtime.json, as `scripts/local-lambda` invokes it.
    let (handler, output) = handler(config(&[("CFLOG_REALTIME_FIELDS", &fields_2020())]));
    let event: Value = serde_json::from_slice(&testdata("events/kinesis-realtime.json")).unwrap();
    let response = handler.handle(event).await.unwrap();
    assert_eq!(failures(&response), json!({ "batchItemFailures": [] }));
    let entries = output.entries();
    assert_eq!(entries.len(), 1);
    // x-edge-request-id is the 12th field of the record (format specification §5.2).
    let record = String::from_utf8(testdata("realtime-40-fields-2020.tsv")).unwrap();
    let request_id = record.split('\t').nth(11).unwrap();
    assert_eq!(entries[0]["x_edge_request_id"], request_id);
}

/// A value of the right shape for a field, different for every `n`.
fn value(field: Field, n: usize) -> String {
    match field {
        Field::Timestamp => format!("1607374321.{:03}", n % 1000),
        Field::ClientIp => format!("192.0.2.{}", n % 256),
        Field::Status => "304".into(),
        Field::ScBytes | Field::CsBytes => (1000 + n).to_string(),
        Field::TimeTaken => format!("0.{:03}", n % 1000),
        Field::UriStem => format!("/img/{n}.png"),
        Field::Method => "GET".into(),
        Field::Asn => "16509".into(),
        _ => format!("v{n}"),
    }
}

#[tokio::test]
async fn records_built_for_another_field_set_in_any_configured_order() {
    let chosen = [
        Field::Timestamp,
        Field::ClientIp,
        Field::Status,
        Field::ScBytes,
        Field::Method,
        Field::CsHost,
        Field::UriStem,
        Field::EdgeLocation,
        Field::HostHeader,
        Field::TimeTaken,
        Field::UserAgent,
        Field::Country,
        Field::Asn,
    ];
    // CloudFront sends them in its canonical order, whatever the config says.
    let mut canonical = chosen.to_vec();
    canonical.sort_by_key(|f| REALTIME_ORDER.iter().position(|o| o == f).unwrap());
    let configured: Vec<&str> = chosen.iter().rev().map(|f| f.realtime_name()).collect();

    let records: Vec<(String, String)> = (0..3)
        .map(|n| {
            let values: Vec<String> = canonical.iter().map(|f| value(*f, n)).collect();
            (format!("4959{n}"), values.join("\t") + "\n")
        })
        .collect();
    let batch: Vec<(&str, &[u8])> = records
        .iter()
        .map(|(s, d)| (s.as_str(), d.as_bytes()))
        .collect();

    let (handler, output) = handler(config(&[("CFLOG_REALTIME_FIELDS", &configured.join(","))]));
    let response = handler.handle(event(&batch)).await.unwrap();
    assert_eq!(failures(&response)["batchItemFailures"], json!([]));
    let entries = output.entries();
    assert_eq!(entries.len(), 3);
    for (n, e) in entries.iter().enumerate() {
        assert_eq!(
            e["timestamp"],
            format!("2020-12-07T20:52:01.{:03}Z", n % 1000)
        );
        assert_eq!(e["c_ip"], format!("192.0.2.{n}"));
        assert_eq!(e["sc_status"], 304);
        assert_eq!(e["sc_bytes"], 1000 + n);
        assert_eq!(e["cs_uri_stem"], format!("/img/{n}.png"));
        assert_eq!(e["cs_uri_query"], Value::Null);
        assert_eq!(e["cs_host"], value(Field::CsHost, n));
        assert_eq!(e["x_host_header"], value(Field::HostHeader, n));
        assert_eq!(e["cs_user_agent"], value(Field::UserAgent, n));
        assert_eq!(e["asn"], 16509);
        // The 13 fields, and the query taken from the real-time stem.
        assert_eq!(e.as_object().unwrap().len(), 15);
    }
}

/// Three records: two lines in the first, a bad line in the second, one line
/// in the third.
fn mixed_batch() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("100", b"1607374321.001\t200\n1607374321.002\t404\n"),
        ("200", b"1607374321.003\n"),
        ("300", b"1607374321.004\t500"),
    ]
}

#[tokio::test]
async fn a_bad_record_is_counted_and_acknowledged_by_default() {
    let (handler, output) = handler(config(&[("CFLOG_REALTIME_FIELDS", "sc-status,timestamp")]));
    let response = handler.handle(event(&mixed_batch())).await.unwrap();
    assert_eq!(failures(&response)["batchItemFailures"], json!([]));
    let statuses: Vec<Value> = output
        .entries()
        .iter()
        .map(|e| e["sc_status"].clone())
        .collect();
    assert_eq!(statuses, [json!(200), json!(404), json!(500)]);
}

#[tokio::test]
async fn with_retry_a_bad_record_is_a_batch_item_failure_and_the_rest_waits() {
    let (handler, output) = handler(config(&[
        ("CFLOG_REALTIME_FIELDS", "sc-status,timestamp"),
        ("CFLOG_REALTIME_REJECTS", "retry"),
    ]));
    let response = handler.handle(event(&mixed_batch())).await.unwrap();
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({ "batchItemFailures": [{ "itemIdentifier": "200" }] })
    );
    // Lambda redelivers from record 200 on, so record 300 is not emitted now.
    assert_eq!(output.entries().len(), 2);
}

#[tokio::test]
async fn the_batch_report_accounts_for_every_line_and_names_the_record() {
    let config = config(&[("CFLOG_REALTIME_FIELDS", "sc-status,timestamp")]);
    let realtime = config.realtime.as_ref().unwrap();
    let event: aws_lambda_events::event::kinesis::KinesisEvent =
        serde_json::from_value(event(&mixed_batch())).unwrap();
    let sink = NdjsonSink::new(Vec::new());
    let (result, report) =
        cflog_lambda::kinesis::process_batch(&event.records, realtime, sink).await;
    assert!(result.is_ok());
    let summary = &report.summary;
    assert_eq!((report.records, report.records_with_rejects), (3, 1));
    assert_eq!(
        (summary.lines, summary.entries, summary.rejected),
        (4, 3, 1)
    );
    assert!(summary.reconciles());
    // Plain text: the bytes read are the text's.
    let data: usize = mixed_batch().iter().map(|(_, data)| data.len()).sum();
    assert_eq!(
        (summary.compressed_bytes, summary.bytes),
        (data as u64, data as u64)
    );
    assert!(!summary.gzip);
    assert_eq!(summary.delivered.entries, 3);
    assert_eq!(summary.rejected_by_reason["field_count"], 1);
    assert_eq!(summary.errors.len(), 1);
    assert_eq!(summary.errors[0].line, 1);
    assert_eq!(
        summary.errors[0].message,
        "record 200: line 1 (byte 0): expected 2 fields, found 1"
    );
    assert_eq!(report.stream.as_deref(), Some(STREAM));
    let logged = serde_json::to_value(&report).unwrap();
    assert_eq!(logged["kind"], "cflog.summary");
    assert_eq!(logged["source"], "kinesis");
    assert_eq!(logged["status"], "ok");
}

#[tokio::test]
async fn a_kinesis_event_without_a_field_list_is_an_error_that_says_so() {
    let (handler, _) = handler(config(&[]));
    let err = handler
        .handle(event(&[("1", b"1607374321.001\t200")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::NotConfigured);
    assert!(
        err.message.contains("CFLOG_REALTIME_FIELDS"),
        "{}",
        err.message
    );
}

/// A sink whose output fails, as a full disk or closed pipe would.
struct Broken;

impl Sink for Broken {
    type Error = std::io::Error;

    fn entry(&mut self, _: &cflog_core::LogLine<'_>) -> Result<Verdict, EntryError<Self::Error>> {
        Err(EntryError::Output(std::io::Error::other("output closed")))
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<Delivery>> {
        Poll::Ready(Ok(Delivery::default()))
    }
}

#[tokio::test]
async fn a_failed_output_fails_the_whole_batch() {
    let config = config(&[("CFLOG_REALTIME_FIELDS", "sc-status,timestamp")]);
    let client = cflog_testkit::client("http://127.0.0.1:9");
    let handler = Handler::with_sinks(client, config, |_: &Source<'_>| Broken)
        .reports_to(CapturedStderr)
        .metrics_to(CapturedStderr);
    let err = handler.handle(event(&mixed_batch())).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::OutputFailed);
    assert!(err.message.contains("output closed"), "{}", err.message);
}

/// A stream that takes `limit` entries, a record and a call each, and then
/// refuses every call: a fault moto's server cannot be brought to make
/// part-way through a batch.
struct RefusesAfter {
    limit: u64,
    taken: u64,
}

impl Sink for RefusesAfter {
    type Error = std::io::Error;

    fn entry(&mut self, _: &cflog_core::LogLine<'_>) -> Result<Verdict, EntryError<Self::Error>> {
        if self.taken == self.limit {
            return Err(EntryError::Output(std::io::Error::other("stream deleted")));
        }
        self.taken += 1;
        Ok(Verdict::Continue)
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<Delivery>> {
        Poll::Ready(Ok(self.delivered()))
    }

    fn delivered(&self) -> Delivery {
        Delivery {
            entries: self.taken,
            bytes: 40 * self.taken,
            records: self.taken,
            requests: self.taken,
            ..Delivery::default()
        }
    }
}

#[tokio::test]
async fn a_failed_batch_s_metrics_count_what_got_through_before_the_failure() {
    let config = config(&[
        ("CFLOG_REALTIME_FIELDS", "sc-status,timestamp"),
        ("CFLOG_SINK", "kinesis"),
        ("CFLOG_KINESIS_STREAM", "cflog-entries"),
    ]);
    let client = cflog_testkit::client("http://127.0.0.1:9");
    let emf = SharedOutput::default();
    let handler = Handler::with_sinks(client, config, |_: &Source<'_>| RefusesAfter {
        limit: 2,
        taken: 0,
    })
    .reports_to(CapturedStderr)
    .metrics_to(emf.clone());
    let err = handler.handle(event(&mixed_batch())).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::OutputFailed);
    let [line] = &emf.entries()[..] else {
        panic!("one batch, one line");
    };
    cflog_testkit::check_emf_document(line);
    assert_eq!(line["FailedBatches"], 1);
    assert_eq!(line["ErrorType"], "OutputFailed");
    assert_eq!(line["OutputRecords"], 2);
    assert_eq!(line["OutputRequests"], 2);
    assert_eq!(line["OutputBytes"], 80);
}
