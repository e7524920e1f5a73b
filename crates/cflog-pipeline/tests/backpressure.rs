//! A sink that talks to a network service fits the `Sink` trait: entries go
//! in batches through a bounded channel to a slow async consumer, the input
//! waits for room (`poll_ready`), and `poll_finish` reports only what the
//! consumer acknowledged. Memory stays bounded whatever the input's size.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use cflog_core::LogLine;
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_pipeline::input::{GUNZIP_BUFFER, READ_BUFFER, run_async};
use cflog_pipeline::sink::{Delivery, EntryError, Sink, Verdict};
use cflog_pipeline::{Options, Pipeline};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::PollSender;

const BATCH_BYTES: usize = 16 * 1024;
const CHANNEL_BATCHES: usize = 4;

/// Bytes held anywhere between the sink and the consumer, and the most
/// ever held at once.
#[derive(Default)]
struct Held {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Held {
    fn add(&self, n: usize) {
        let now = self.now.fetch_add(n, Ordering::SeqCst) + n;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn sub(&self, n: usize) {
        self.now.fetch_sub(n, Ordering::SeqCst);
    }
}

/// NDJSON in batches, handed to an async consumer through a bounded
/// channel, as a Firehose or Kinesis sink would hand them to its client.
struct ChannelSink {
    json: JsonWriter,
    batch: Vec<u8>,
    batch_entries: u64,
    /// Full batches not yet in the channel: at most one chunk's worth,
    /// since `poll_ready` empties this between chunks.
    waiting: VecDeque<(Vec<u8>, u64)>,
    tx: PollSender<(Vec<u8>, u64)>,
    done: Option<oneshot::Receiver<Delivery>>,
    held: Arc<Held>,
    /// How often the input had to wait for the consumer.
    waits: Arc<AtomicU64>,
}

impl ChannelSink {
    fn seal(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_BYTES));
            self.waiting
                .push_back((batch, std::mem::take(&mut self.batch_entries)));
        }
    }

    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        while !self.waiting.is_empty() {
            match self.tx.poll_reserve(cx) {
                Poll::Pending => {
                    self.waits.fetch_add(1, Ordering::Relaxed);
                    return Poll::Pending;
                }
                Poll::Ready(Err(_)) => return Poll::Ready(Err(Closed)),
                Poll::Ready(Ok(())) => {}
            }
            let batch = self.waiting.pop_front().expect("a batch waits");
            self.tx.send_item(batch).map_err(|_| Closed)?;
        }
        Poll::Ready(Ok(()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the consumer has gone")]
struct Closed;

impl Sink for ChannelSink {
    type Error = Closed;

    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<Closed>> {
        let before = self.batch.len();
        self.json.write(line, &mut self.batch)?;
        self.batch.push(b'\n');
        self.held.add(self.batch.len() - before);
        self.batch_entries += 1;
        if self.batch.len() >= BATCH_BYTES {
            self.seal();
        }
        Ok(Verdict::Continue)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        self.poll_send(cx)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, Closed>> {
        self.seal();
        ready!(self.poll_send(cx))?;
        self.tx.close();
        let done = self.done.as_mut().ok_or(Closed)?;
        let delivery = ready!(Pin::new(done).poll(cx)).map_err(|_| Closed)?;
        Poll::Ready(Ok(delivery))
    }
}

/// A sink and its consumer, which takes `delay` per batch.
fn channel_sink(delay: Duration) -> (ChannelSink, Arc<Held>, Arc<AtomicU64>) {
    let (tx, mut rx) = mpsc::channel::<(Vec<u8>, u64)>(CHANNEL_BATCHES);
    let (done_tx, done_rx) = oneshot::channel();
    let held = Arc::new(Held::default());
    let waits = Arc::new(AtomicU64::new(0));
    let consumer_held = Arc::clone(&held);
    tokio::spawn(async move {
        let mut delivery = Delivery::default();
        while let Some((batch, entries)) = rx.recv().await {
            tokio::time::sleep(delay).await;
            assert_eq!(
                batch.iter().filter(|&&b| b == b'\n').count() as u64,
                entries
            );
            delivery.entries += entries;
            delivery.bytes += batch.len() as u64;
            consumer_held.sub(batch.len());
        }
        let _ = done_tx.send(delivery);
    });
    let sink = ChannelSink {
        json: JsonWriter::new(Selection::all()),
        batch: Vec::with_capacity(BATCH_BYTES),
        batch_entries: 0,
        waiting: VecDeque::new(),
        tx: PollSender::new(tx),
        done: Some(done_rx),
        held: Arc::clone(&held),
        waits: Arc::clone(&waits),
    };
    (sink, held, waits)
}

/// `lines` lines of today's layout, each with its own request id.
fn log(lines: usize) -> Vec<u8> {
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/aws-docs-33-fields.log"),
    )
    .unwrap();
    let mut out = String::new();
    let mut rows = sample.lines().filter(|l| !l.starts_with('#')).cycle();
    out.push_str("#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n");
    for i in 0..lines {
        let row = rows.next().unwrap();
        let mut cells: Vec<&str> = row.split('\t').collect();
        let id = format!("req{i:012}");
        cells[14] = &id;
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out.into_bytes()
}

#[tokio::test]
async fn a_slow_consumer_slows_the_reader_and_memory_stays_bounded() {
    const LINES: usize = 30_000;
    let input = log(LINES);
    let (sink, held, waits) = channel_sink(Duration::from_millis(1));
    let mut pipeline = Pipeline::new(&Options::default(), sink);
    let summary = run_async(&input[..], &mut pipeline).await.unwrap();

    assert_eq!(summary.entries, LINES as u64);
    // Only what the consumer acknowledged is reported as delivered.
    assert_eq!(summary.delivered.entries, LINES as u64);
    assert_eq!(
        held.now.load(Ordering::SeqCst),
        0,
        "every byte reached the consumer"
    );
    let json_bytes = summary.delivered.bytes as usize;
    // Far more than the bound below.
    assert!(json_bytes > 20 * 1024 * 1024, "{json_bytes} bytes of JSON");
    // The channel's batches, the one being filled, and the entries of one
    // chunk of input (its JSON is at most about twice its text).
    let bound = (CHANNEL_BATCHES + 2) * BATCH_BYTES + 2 * READ_BUFFER.max(GUNZIP_BUFFER);
    let peak = held.peak.load(Ordering::SeqCst);
    assert!(peak <= bound, "held {peak} bytes at most, bound {bound}");
    assert!(
        waits.load(Ordering::Relaxed) > 10,
        "the reader never waited for the consumer"
    );
}

#[tokio::test]
async fn a_consumer_that_has_gone_fails_the_input_with_the_sinks_own_error() {
    let (mut sink, _, _) = channel_sink(Duration::ZERO);
    // The consumer's receiver is dropped: the channel closes.
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    sink.tx = PollSender::new(tx);
    let mut pipeline = Pipeline::new(&Options::default(), sink);
    let err = run_async(&log(5_000)[..], &mut pipeline).await.unwrap_err();
    let cflog_pipeline::input::InputError::Sink(cflog_pipeline::PipelineError(Closed)) = err else {
        panic!("{err}");
    };
}
