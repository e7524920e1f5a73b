//! The stream sink's packing, retries, bounds and accounting, against a
//! scripted service in memory. The real services' protocols are tested
//! against moto's server (`tests/streams.rs`); this one can refuse exactly
//! the records a test names, and count what was in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cflog_core::Field;
use cflog_destinations::pack::{Limits, Packing, Record};
use cflog_destinations::retry::RetryPolicy;
use cflog_destinations::stream::{
    BatchService, CallError, Failure, Refusal, StreamDestination, StreamOptions,
};
use cflog_pipeline::sink::{SinkFactory, Source};
use cflog_pipeline::{Options, Pipeline, PipelineError};

/// What the service does with the records of its n-th call.
#[derive(Clone, Debug)]
enum Answer {
    /// Refuse these positions, retryably.
    Refuse(Vec<usize>),
    /// Refuse these positions for good.
    RefuseForGood(Vec<usize>),
    /// Fail the whole call.
    Fail { retryable: bool },
}

#[derive(Default)]
struct State {
    /// Calls made, each with the records' data.
    calls: Vec<Vec<Vec<u8>>>,
    /// Records taken, in order taken, with their keys.
    taken: Vec<(Vec<u8>, String)>,
    in_flight: usize,
    max_in_flight: usize,
}

#[derive(Clone)]
struct Scripted {
    limits: Limits,
    packing: Packing,
    keys: bool,
    script: Arc<HashMap<usize, Answer>>,
    delay: Duration,
    state: Arc<Mutex<State>>,
}

impl Scripted {
    fn new(limits: Limits, packing: Packing) -> Scripted {
        Scripted {
            limits,
            packing,
            keys: false,
            script: Arc::default(),
            delay: Duration::ZERO,
            state: Arc::default(),
        }
    }

    fn script(mut self, answers: impl IntoIterator<Item = (usize, Answer)>) -> Scripted {
        self.script = Arc::new(answers.into_iter().collect());
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

impl BatchService for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn target(&self) -> &str {
        "memory"
    }

    fn limits(&self) -> Limits {
        self.limits
    }

    fn packing(&self) -> Packing {
        self.packing
    }

    fn key_chars(&self) -> Option<usize> {
        self.keys.then_some(8)
    }

    async fn put(&self, records: &[Record]) -> Result<Vec<Option<Refusal>>, CallError> {
        let bytes: usize = records.iter().map(Record::size).sum();
        let n = {
            let mut state = self.state();
            state
                .calls
                .push(records.iter().map(|r| r.data().to_vec()).collect());
            state.in_flight += bytes;
            state.max_in_flight = state.max_in_flight.max(state.in_flight);
            state.calls.len() - 1
        };
        tokio::time::sleep(self.delay).await;
        let mut state = self.state();
        state.in_flight -= bytes;
        let (refused, retryable) = match self.script.get(&n) {
            None => (Vec::new(), true),
            Some(Answer::Refuse(positions)) => (positions.clone(), true),
            Some(Answer::RefuseForGood(positions)) => (positions.clone(), false),
            Some(Answer::Fail { retryable }) => {
                return Err(CallError {
                    code: Some("Injected".into()),
                    message: "the whole call".into(),
                    retryable: *retryable,
                });
            }
        };
        Ok(records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                if refused.contains(&i) {
                    let mut refusal =
                        Refusal::new("ProvisionedThroughputExceededException", "slow");
                    refusal.retryable = retryable;
                    Some(refusal)
                } else {
                    state
                        .taken
                        .push((record.data().to_vec(), record.key().to_owned()));
                    None
                }
            })
            .collect())
    }
}

const FAST: RetryPolicy = RetryPolicy {
    attempts: 4,
    base: Duration::from_millis(1),
    cap: Duration::from_millis(4),
};

fn log(lines: usize) -> Vec<u8> {
    let mut log = b"#Fields: date time x-edge-request-id cs-uri-stem sc-status\n".to_vec();
    for i in 0..lines {
        log.extend(format!("2019-12-04\t21:02:31\tid{i}\t/p/{i}\t200\n").bytes());
    }
    log
}

/// The entries as the stdout sink writes them: one JSON line each.
fn ndjson(log: &[u8]) -> Vec<u8> {
    let mut pipeline = Pipeline::new(
        &Options::default(),
        cflog_pipeline::sink::NdjsonSink::new(Vec::new()),
    );
    let _ = pipeline.push(log).unwrap();
    pipeline.blocking_finish().unwrap();
    pipeline.into_sink().into_inner()
}

async fn run(
    service: &Scripted,
    options: StreamOptions,
    log: &[u8],
) -> Result<cflog_pipeline::Summary, PipelineError<cflog_destinations::stream::StreamSinkError>> {
    let destination = StreamDestination::new(service.clone(), options);
    let mut pipeline = Pipeline::new(&Options::default(), destination.open(&Source::Stdin));
    // In chunks, as an input arrives, so that backpressure has its say.
    for chunk in log.chunks(4096) {
        let _ = pipeline.push(chunk)?;
        pipeline.ready().await?;
    }
    pipeline.finish().await
}

const SMALL: Limits = Limits {
    record_bytes: 400,
    call_records: 4,
    call_bytes: 1200,
};

#[tokio::test]
async fn every_entry_arrives_once_in_whole_lines() {
    let service = Scripted::new(SMALL, Packing::Packed);
    let log = log(500);
    let summary = run(&service, StreamOptions::default(), &log).await.unwrap();
    let state = service.state();
    let taken: Vec<u8> = state
        .taken
        .iter()
        .flat_map(|(data, _)| data.clone())
        .collect();
    assert_eq!(taken, ndjson(&log));
    assert_eq!(summary.entries, 500);
    assert_eq!(summary.delivered.entries, 500);
    assert_eq!(summary.delivered.bytes, taken.len() as u64);
    assert_eq!(summary.delivered.records, state.taken.len() as u64);
    assert_eq!(summary.delivered.requests, state.calls.len() as u64);
    assert_eq!(summary.delivered.retried_records, 0);
    for call in &state.calls {
        assert!(call.len() <= SMALL.call_records);
        assert!(call.iter().map(Vec::len).sum::<usize>() <= SMALL.call_bytes);
        for record in call {
            assert!(record.len() <= SMALL.record_bytes);
            assert_eq!(record.last(), Some(&b'\n'));
        }
    }
}

#[tokio::test]
async fn records_carry_the_contracts_derived_keys_and_transformed_values() {
    let service = Scripted::new(SMALL, Packing::PerEntry);
    let mut log = b"#Fields: date time c-ip cs-method x-edge-request-id\n".to_vec();
    for i in 0..20 {
        log.extend(format!("2019-12-04\t21:02:31\t192.0.2.{i}\tGET\tid{i}\n").bytes());
    }
    let selection = cflog_core::contract::testing::contract().select_all();
    let options = StreamOptions::default().selection(selection);
    let summary = run(&service, options, &log).await.unwrap();
    assert_eq!(summary.delivered.entries, 20);
    let state = service.state();
    assert_eq!(state.taken.len(), 20);
    for (i, (data, _)) in state.taken.iter().enumerate() {
        let address = format!("192.0.2.{i}");
        let expected = format!(
            r#"{{"timestamp":"2019-12-04T21:02:31Z","c_ip":"10.0.0.0","cs_method":"GET","x_edge_request_id":"id{i}","test_ip_bytes":{},"test_has_query":null,"test_method":"get"}}"#,
            address.len()
        ) + "\n";
        assert_eq!(String::from_utf8_lossy(data), expected);
    }
}

#[tokio::test]
async fn only_the_refused_records_are_sent_again() {
    let service = Scripted::new(SMALL, Packing::PerEntry).script([
        (0, Answer::Refuse(vec![1, 3])),
        (1, Answer::Refuse(vec![0])),
    ]);
    let log = log(10);
    let summary = run(
        &service,
        StreamOptions::default().retry(FAST).max_calls_in_flight(1),
        &log,
    )
    .await
    .unwrap();
    let state = service.state();
    // Call 0 had entries 0..4 and lost 1 and 3; call 1 resent just those
    // two, and lost the first again; call 2 resent it.
    let firsts: Vec<usize> = state.calls.iter().map(Vec::len).collect();
    assert_eq!(&firsts[..3], [4, 2, 1]);
    assert_eq!(state.calls[1][0], state.calls[0][1]);
    assert_eq!(state.calls[1][1], state.calls[0][3]);
    assert_eq!(state.calls[2][0], state.calls[0][1]);
    assert_eq!(summary.delivered.entries, 10);
    assert_eq!(summary.delivered.retried_records, 3);
    assert_eq!(summary.delivered.requests, state.calls.len() as u64);
    let mut taken: Vec<Vec<u8>> = state.taken.iter().map(|(d, _)| d.clone()).collect();
    taken.sort();
    let mut expected: Vec<Vec<u8>> = ndjson(&log)
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    expected.sort();
    assert_eq!(taken, expected, "each entry once");
}

#[tokio::test]
async fn a_record_refused_past_the_budget_fails_the_input_and_says_what_was_delivered() {
    let refuse_first = |n| (n, Answer::Refuse(vec![0]));
    let service = Scripted::new(SMALL, Packing::PerEntry)
        .script((0..FAST.attempts as usize).map(refuse_first));
    let error = run(
        &service,
        StreamOptions::default().retry(FAST).max_calls_in_flight(1),
        &log(12),
    )
    .await
    .unwrap_err()
    .0;
    match &error.failure {
        Failure::Refused {
            records,
            entries,
            attempts,
            last,
        } => {
            assert_eq!((*records, *entries, *attempts), (1, 1, FAST.attempts));
            assert_eq!(last.code, "ProvisionedThroughputExceededException");
        }
        other => panic!("{other:?}"),
    }
    assert!(error.partly_delivered());
    assert_eq!(error.delivered, service.state().taken.len() as u64);
    assert!(error.delivered < error.taken, "{error}");
    assert!(
        error
            .to_string()
            .contains("entries taken were delivered before the failure")
    );
}

#[tokio::test]
async fn a_refusal_for_good_is_not_retried() {
    let service =
        Scripted::new(SMALL, Packing::PerEntry).script([(0, Answer::RefuseForGood(vec![2]))]);
    let error = run(&service, StreamOptions::default().retry(FAST), &log(3))
        .await
        .unwrap_err()
        .0;
    assert!(
        matches!(error.failure, Failure::Refused { attempts: 1, .. }),
        "{error}"
    );
    assert_eq!(service.state().calls.len(), 1);
    assert_eq!(error.delivered, 2);
}

#[tokio::test]
async fn a_failed_call_is_retried_whole_when_it_may_succeed() {
    let service =
        Scripted::new(SMALL, Packing::Packed).script([(0, Answer::Fail { retryable: true })]);
    let summary = run(&service, StreamOptions::default().retry(FAST), &log(3))
        .await
        .unwrap();
    assert_eq!(summary.delivered.entries, 3);
    assert_eq!(summary.delivered.requests, 2);
    assert_eq!(summary.delivered.retried_records, 1);

    let service =
        Scripted::new(SMALL, Packing::Packed).script([(0, Answer::Fail { retryable: false })]);
    let error = run(&service, StreamOptions::default().retry(FAST), &log(3))
        .await
        .unwrap_err()
        .0;
    assert!(
        matches!(&error.failure, Failure::Call { attempts: 1, entries: 3, error, .. } if error.code.as_deref() == Some("Injected")),
        "{error}"
    );
    assert!(!error.partly_delivered());
}

#[tokio::test]
async fn an_entry_too_large_for_a_record_is_rejected_with_its_line() {
    let service = Scripted::new(SMALL, Packing::Packed);
    let mut log = log(3);
    let long = "x".repeat(SMALL.record_bytes);
    log.extend(format!("2019-12-04\t21:02:31\tbig\t/{long}\t200\n").bytes());
    log.extend(b"2019-12-04\t21:02:31\tafter\t/after\t200\n");
    let summary = run(&service, StreamOptions::default(), &log).await.unwrap();
    assert_eq!(summary.entries, 4);
    assert_eq!(summary.rejected, 1);
    assert_eq!(summary.rejected_by_reason["entry_too_large"], 1);
    assert_eq!(summary.errors[0].line, 5);
    assert!(
        summary.errors[0]
            .message
            .contains("over the destination's limit of 400 bytes")
    );
    assert_eq!(summary.delivered.entries, 4);
    assert!(summary.reconciles());
}

#[tokio::test]
async fn records_in_flight_stay_within_the_budget() {
    let limits = Limits {
        record_bytes: 300,
        call_records: 2,
        call_bytes: 600,
    };
    let mut service = Scripted::new(limits, Packing::Packed);
    service.delay = Duration::from_millis(5);
    let budget = 1500;
    let summary = run(
        &service,
        StreamOptions::default()
            .max_in_flight_bytes(budget)
            .max_calls_in_flight(16),
        &log(400),
    )
    .await
    .unwrap();
    let state = service.state();
    assert_eq!(summary.delivered.entries, 400);
    assert!(state.calls.len() > 20);
    assert!(
        state.max_in_flight <= budget,
        "{} bytes in flight",
        state.max_in_flight
    );
    assert!(state.max_in_flight > limits.call_bytes, "calls overlapped");
}

#[tokio::test]
async fn records_are_keyed_by_their_entry_or_else_their_position() {
    let mut service = Scripted::new(SMALL, Packing::PerEntry);
    service.keys = true;
    let mut log = log(2);
    log.extend(b"2019-12-04\t21:02:31\t-\t/nokey\t200\n");
    log.extend(b"2019-12-04\t21:02:31\tabcdefghijkl\t/long\t200\n");
    run(&service, StreamOptions::default(), &log).await.unwrap();
    let keys: Vec<String> = service
        .state()
        .taken
        .iter()
        .map(|(_, k)| k.clone())
        .collect();
    // Cut to the service's 8 characters.
    assert_eq!(keys, ["id0", "id1", "2", "abcdefgh"]);

    let mut service = Scripted::new(SMALL, Packing::PerEntry);
    service.keys = true;
    run(
        &service,
        StreamOptions::default().key_field(Field::UriStem),
        &log,
    )
    .await
    .unwrap();
    let keys: Vec<String> = service
        .state()
        .taken
        .iter()
        .map(|(_, k)| k.clone())
        .collect();
    assert_eq!(keys, ["/p/0", "/p/1", "/nokey", "/long"]);
}

#[tokio::test]
async fn while_calls_wait_for_room_the_input_waits_too() {
    use std::task::{Context, Poll, Waker};

    use cflog_core::{LogLine, Schema};
    use cflog_pipeline::sink::Sink;

    let limits = Limits {
        record_bytes: 300,
        call_records: 2,
        call_bytes: 600,
    };
    let mut service = Scripted::new(limits, Packing::Packed);
    // Calls that never end while the test looks.
    service.delay = Duration::from_secs(3600);
    let budget = 1500;
    let destination = StreamDestination::new(
        service,
        StreamOptions::default()
            .max_in_flight_bytes(budget)
            .max_calls_in_flight(16),
    );
    let mut sink = destination.open(&Source::Stdin);
    let schema =
        Schema::from_fields_header(b"#Fields: date time x-edge-request-id cs-uri-stem sc-status")
            .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut ends = Vec::new();
    let mut taken = 0;
    // Chunks of 10 entries, as the pipeline pushes them between waits.
    let held = loop {
        for _ in 0..10 {
            let text = format!("2019-12-04\t21:02:31\tid{taken}\t/p/{taken}\t200");
            let line = LogLine::parse(text.as_bytes(), &schema, &mut ends).unwrap();
            let _ = sink.entry(&line).unwrap();
            taken += 1;
        }
        match sink.poll_ready(&mut cx) {
            Poll::Pending => break sink.buffered_bytes(),
            Poll::Ready(result) => result.unwrap(),
        }
        assert!(taken < 10_000, "the input was never held up");
    };
    // The calls in flight (the budget), those one chunk filled while
    // waiting for room, and the call and record being packed.
    let chunk = 10 * 120;
    assert!(
        held <= budget + chunk + limits.call_bytes + limits.record_bytes,
        "{held} bytes held after {taken} entries"
    );
    assert!(held > budget, "{held}");
}

#[tokio::test]
async fn after_a_failure_the_summary_counts_what_got_through() {
    let refuse_first = |n| (n, Answer::Refuse(vec![0]));
    let service = Scripted::new(SMALL, Packing::PerEntry)
        .script((0..FAST.attempts as usize).map(refuse_first));
    let destination = StreamDestination::new(
        service.clone(),
        StreamOptions::default().retry(FAST).max_calls_in_flight(1),
    );
    let mut pipeline = Pipeline::new(&Options::default(), destination.open(&Source::Stdin));
    let _ = pipeline.push(&log(12)).unwrap();
    let error = pipeline.finish().await.unwrap_err().0;
    let summary = pipeline.summary();
    assert!(error.partly_delivered(), "{error}");
    assert_eq!(summary.delivered.entries, error.delivered);
    assert_eq!(
        summary.delivered.records,
        service.state().taken.len() as u64
    );
    assert_eq!(
        summary.delivered.requests,
        service.state().calls.len() as u64
    );
}
