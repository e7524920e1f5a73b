//! Entries as NDJSON records to a stream service: Amazon Data Firehose,
//! Kinesis Data Streams or SQS.
//!
//! Each input (an S3 object, a file, a Kinesis batch of real-time logs) gets
//! a [`StreamSink`] from a [`StreamDestination`]. The sink writes each entry
//! as one line of the JSON contract (the NDJSON the stdout sink prints),
//! [packs](crate::pack) whole lines into records within the service's
//! limits, and sends each full call on the Tokio runtime while the input
//! goes on:
//!
//! - **Packing.** Firehose and SQS take many entries per record (a Firehose
//!   record of up to 1,000 KiB, an SQS message of up to 256 KiB), since they
//!   charge by the record, in 5 KB units, or by the call. Kinesis takes one
//!   entry per record by default, which is what its consumers expect, or
//!   packed records when asked. A record is always whole lines, each ending
//!   in `\n`, so it can be read on its own.
//! - **Keys.** A Kinesis record's partition key, and a FIFO queue's message
//!   group, are an entry field's value ([`StreamOptions::key_field`],
//!   `x_edge_request_id` by default, which spreads records evenly over the
//!   shards); an entry without it takes its position in the input.
//! - **Retries.** A call's refused records, and only they, are sent again
//!   with capped exponential backoff and full jitter ([`crate::retry`]);
//!   so is a call that failed as a whole in a way worth retrying
//!   (throttling, a server error, no answer). The SDK's own retries are off
//!   for these calls, so every request is counted and waits are drawn once.
//!   When the attempts run out the input fails with a [`StreamSinkError`]
//!   that says how many of its entries were delivered before.
//! - **Bounded.** At most [`StreamOptions::max_in_flight_bytes`] of records
//!   are being sent at once (one call always goes, however large), in at
//!   most [`StreamOptions::max_calls_in_flight`] calls. Full calls beyond
//!   that wait in a queue, and while any wait the input waits too
//!   (backpressure onto the parser): the queue holds at most the calls of
//!   one chunk of input. The packer holds one call and one record more, and
//!   keeps the buffers of sent records, up to the in-flight budget, for the
//!   next ones.
//! - **Accounted for.** The input's [`Delivery`] counts the entries, records
//!   and bytes the service took, the requests made and the records sent
//!   again. An entry too large for a record even alone is rejected
//!   (`entry_too_large`), with its line number, never cut.
//!
//! Delivery is **at least once**. An input that fails part-way has sent
//! some of its records; Lambda retries the object or the batch, and its
//! entries are sent again. A call whose answer is lost (a reset, a
//! timeout) may have been taken and is sent again. Each entry carries
//! `x_edge_request_id`, which consumers deduplicate by; a FIFO queue does it
//! for them within its five-minute window, since each message's
//! deduplication id is the SHA-256 of its body and the same input always
//! packs into the same messages.
//!
//! ```no_run
//! use cflog_destinations::stream::{Kinesis, StreamDestination, StreamOptions};
//! use cflog_pipeline::sink::{SinkFactory, Source};
//! use cflog_pipeline::{Options, Pipeline};
//!
//! # async fn run(client: aws_sdk_kinesis::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let destination = StreamDestination::new(Kinesis::new(client, "cflog-requests"), StreamOptions::default());
//! let mut pipeline = Pipeline::new(&Options::default(), destination.open(&Source::Stdin));
//! pipeline.push(b"#Fields: date time x-edge-request-id sc-status\n2019-12-04\t21:02:31\tabc\t200\n")?;
//! let summary = pipeline.finish().await?;
//! assert_eq!(summary.delivered.records, 1);
//! # Ok(()) }
//! ```

mod error;
mod firehose;
mod kinesis;
mod send;
mod sqs;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Field, LogLine};
use cflog_pipeline::sink::{Delivery, EntryError, Sink, SinkFactory, Source, Verdict};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

pub use error::{CallError, Failure, Refusal, StreamSinkError};
pub use firehose::Firehose;
pub use kinesis::Kinesis;
pub use sqs::{Sqs, deduplication_id};

use crate::pack::{Call, Limits, Packer, Packing, Record};
use crate::retry::RetryPolicy;
use send::{Counts, Sent, deliver};

/// A service that takes records in batches: one call carries several, and
/// may take some and refuse others.
///
/// [`Firehose`], [`Kinesis`] and [`Sqs`] are the ones cflog ships.
/// Implement it to send entries to another such service; the
/// [`StreamSink`] packs, retries and accounts for them the same way.
pub trait BatchService: Clone + Send + Sync + 'static {
    /// The service's name in reports and errors, such as `kinesis`.
    fn name(&self) -> &'static str;

    /// The stream or queue records go to, as the user named it.
    fn target(&self) -> &str;

    /// What one call may carry.
    fn limits(&self) -> Limits;

    /// How entries map to records.
    fn packing(&self) -> Packing;

    /// The longest key a record may have, for a service whose records have
    /// one (a Kinesis partition key, an SQS FIFO message group); `None`
    /// when they have none.
    fn key_chars(&self) -> Option<usize>;

    /// Sends `records` in one call. The outcome of each record, in order:
    /// `None` when the service took it, or why it refused it.
    ///
    /// # Errors
    ///
    /// When the call failed as a whole: no record was taken.
    fn put(
        &self,
        records: &[Record],
    ) -> impl Future<Output = Result<Vec<Option<Refusal>>, CallError>> + Send;
}

/// How a [`StreamSink`] encodes, keys, bounds and retries.
///
/// ```
/// use cflog_destinations::stream::StreamOptions;
///
/// let options = StreamOptions::default().max_in_flight_bytes(4 << 20);
/// assert_eq!(options.get_max_in_flight_bytes(), 4 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct StreamOptions {
    selection: Selection,
    key_field: Field,
    retry: RetryPolicy,
    max_in_flight_bytes: usize,
    max_calls_in_flight: usize,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions {
            selection: Selection::all(),
            key_field: Field::EdgeRequestId,
            retry: RetryPolicy::default(),
            max_in_flight_bytes: 16 << 20,
            max_calls_in_flight: 4,
        }
    }
}

impl StreamOptions {
    /// The JSON keys of each entry (default all).
    #[must_use]
    pub fn selection(mut self, selection: Selection) -> StreamOptions {
        self.selection = selection;
        self
    }

    /// The field whose value keys each record, where the service has keys
    /// (default `x_edge_request_id`, unique per request).
    #[must_use]
    pub fn key_field(mut self, field: Field) -> StreamOptions {
        self.key_field = field;
        self
    }

    /// How often and how patiently refused records are sent again.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> StreamOptions {
        self.retry = policy;
        self
    }

    /// The most bytes of records being sent at once (default 16 MiB); the
    /// input waits while there are more.
    #[must_use]
    pub fn max_in_flight_bytes(mut self, bytes: usize) -> StreamOptions {
        self.max_in_flight_bytes = bytes;
        self
    }

    /// The most calls being sent at once (default 4).
    #[must_use]
    pub fn max_calls_in_flight(mut self, calls: usize) -> StreamOptions {
        self.max_calls_in_flight = calls.max(1);
        self
    }

    /// The most bytes of records being sent at once.
    pub fn get_max_in_flight_bytes(&self) -> usize {
        self.max_in_flight_bytes
    }
}

/// Makes the [`StreamSink`] of each input, for one service.
///
/// The buffers of an input's records go back to the destination when its
/// sink is dropped, and the next input's records reuse them, so a warm
/// Lambda does not fault in new pages for every object (up to
/// [`StreamOptions::max_in_flight_bytes`] of them are kept).
#[derive(Clone, Debug)]
pub struct StreamDestination<S> {
    service: S,
    options: StreamOptions,
    runtime: Handle,
    spare: Arc<Mutex<Vec<Record>>>,
}

impl<S: BatchService> StreamDestination<S> {
    /// Records to `service`, sent on the current Tokio runtime whatever
    /// polls the sinks.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime; use [`on_runtime`](Self::on_runtime).
    pub fn new(service: S, options: StreamOptions) -> StreamDestination<S> {
        StreamDestination::on_runtime(service, options, Handle::current())
    }

    /// As [`new`](Self::new), sending on `runtime`.
    pub fn on_runtime(service: S, options: StreamOptions, runtime: Handle) -> StreamDestination<S> {
        StreamDestination {
            service,
            options,
            runtime,
            spare: Arc::default(),
        }
    }

    /// The service.
    pub fn service(&self) -> &S {
        &self.service
    }
}

impl<S: BatchService> SinkFactory for StreamDestination<S> {
    type Sink = StreamSink<S>;

    fn open(&self, source: &Source<'_>) -> StreamSink<S> {
        // Spare buffers for every record in flight, warm from the inputs
        // before when there were some.
        let mut packer = Packer::new(self.service.limits(), self.service.packing())
            .spare_bytes(self.options.max_in_flight_bytes);
        packer.recycle(std::mem::take(&mut *lock(&self.spare)));
        StreamSink {
            spare: Arc::clone(&self.spare),
            returned: Vec::new(),
            service: self.service.clone(),
            options: self.options.clone(),
            runtime: self.runtime.clone(),
            input: source.to_string(),
            json: JsonWriter::new(self.options.selection.clone()),
            scratch: vec![0; SCRATCH_BYTES].into_boxed_slice(),
            long: Vec::new(),
            key: String::new(),
            packer: Some(packer),
            queued: VecDeque::new(),
            in_flight: Vec::new(),
            in_flight_bytes: 0,
            delivered: Counts::default(),
            taken: 0,
            failure: None,
            finishing: false,
        }
    }
}

/// Room for one entry's JSON: CloudFront lines are a few KiB at most.
const SCRATCH_BYTES: usize = 64 * 1024;

type Sending = JoinHandle<Result<Sent, (Counts, Failure)>>;

/// One input's entries, packed and sent to a [`BatchService`]; see the
/// [module docs](self).
pub struct StreamSink<S> {
    service: S,
    options: StreamOptions,
    runtime: Handle,
    input: String,
    json: JsonWriter,
    /// Where an entry's JSON is written, in place; its bytes are never
    /// cleared, since each entry overwrites what it uses.
    scratch: Box<[u8]>,
    /// An entry too long for `scratch`; before it, the key as a transform
    /// rewrote it.
    long: Vec<u8>,
    /// Its key.
    key: String,
    /// `None` once finishing has taken what it held.
    packer: Option<Packer>,
    /// The destination's spare records, given back on drop.
    spare: Arc<Mutex<Vec<Record>>>,
    /// Records sent after the packer was taken, to give back.
    returned: Vec<Record>,
    /// Full calls waiting for room in flight.
    queued: VecDeque<Call>,
    /// The calls being sent, with their sizes.
    in_flight: Vec<(Sending, usize)>,
    in_flight_bytes: usize,
    /// What the calls sent so far delivered.
    delivered: Counts,
    /// Entries handed to the packer.
    taken: u64,
    /// The first failure: once set, the calls still in flight are waited
    /// for, and then it is returned.
    failure: Option<Failure>,
    finishing: bool,
}

impl<S> Drop for StreamSink<S> {
    /// Gives the buffers of the records sent back to the destination, for
    /// the next input; those of one input at a time are kept.
    fn drop(&mut self) {
        let mut records = std::mem::take(&mut self.returned);
        if let Some(packer) = &mut self.packer {
            records.append(&mut packer.take_spare());
        }
        let mut spare = lock(&self.spare);
        if spare.is_empty() {
            *spare = records;
        }
    }
}

/// The destination's spare records. A panic while it was held left a list
/// of records, which is still one.
fn lock(spare: &Mutex<Vec<Record>>) -> std::sync::MutexGuard<'_, Vec<Record>> {
    spare
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<S> std::fmt::Debug for StreamSink<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSink")
            .field("input", &self.input)
            .field("in_flight", &self.in_flight.len())
            .field("taken", &self.taken)
            .finish_non_exhaustive()
    }
}

impl<S: BatchService> StreamSink<S> {
    /// The key of the entry being taken: its key field's value, else its
    /// position in the input, cut to what the service takes.
    fn key_of(&mut self, line: &LogLine<'_>, chars: usize) {
        self.key.clear();
        match line.get(self.options.key_field) {
            Some(value) => {
                // The value the entry holds: a transform (IP privacy) may
                // have rewritten the logged one, which must not leak here.
                let contract = self.options.selection.contract();
                let raw =
                    match contract.rewrite(self.options.key_field, value.raw(), &mut self.long) {
                        true => &self.long[..],
                        false => value.raw(),
                    };
                // Logged values are ASCII: one check, one copy.
                match std::str::from_utf8(raw) {
                    Ok(text) if text.len() <= chars => self.key.push_str(text),
                    _ => self
                        .key
                        .extend(String::from_utf8_lossy(raw).chars().take(chars)),
                }
                self.long.clear();
            }
            None => {
                use std::fmt::Write;
                let _ = write!(self.key, "{}", self.taken);
            }
        }
    }

    /// The bytes of records the sink holds: being sent, waiting for room,
    /// and being packed.
    pub fn buffered_bytes(&self) -> usize {
        self.in_flight_bytes
            + self.queued.iter().map(Call::bytes).sum::<usize>()
            + self.packer.as_ref().map_or(0, Packer::buffered_bytes)
    }

    /// Queues a full call, and starts it if there is room.
    fn send(&mut self, call: Call) {
        // After a failure nothing more is sent: the input is failing, and
        // its entries will be sent again with it.
        if self.failure.is_none() {
            self.queued.push_back(call);
            self.start_queued();
        }
    }

    /// Starts queued calls, in order, while there is room in flight: one
    /// call always goes, however large, when none is in flight.
    fn start_queued(&mut self) {
        while let Some(call) = self.queued.front() {
            let bytes = call.bytes();
            let room = self.in_flight.len() < self.options.max_calls_in_flight
                && (self.in_flight.is_empty()
                    || self.in_flight_bytes + bytes <= self.options.max_in_flight_bytes);
            if !room {
                break;
            }
            let Some(call) = self.queued.pop_front() else {
                break;
            };
            let task = deliver(self.service.clone(), call, self.options.retry);
            self.in_flight.push((self.runtime.spawn(task), bytes));
            self.in_flight_bytes += bytes;
        }
    }

    /// Takes the answers of the calls that are done, records the first
    /// failure, and starts queued calls in the room they leave.
    fn poll_sent(&mut self, cx: &mut Context<'_>) {
        loop {
            let mut i = 0;
            while i < self.in_flight.len() {
                let Poll::Ready(joined) = Pin::new(&mut self.in_flight[i].0).poll(cx) else {
                    i += 1;
                    continue;
                };
                let (_, bytes) = self.in_flight.swap_remove(i);
                self.in_flight_bytes -= bytes;
                let (counts, failure) = match joined {
                    Ok(Ok(Sent { counts, records })) => {
                        match &mut self.packer {
                            Some(packer) => packer.recycle(records),
                            None => self.returned.extend(records),
                        }
                        (counts, None)
                    }
                    Ok(Err((counts, failure))) => (counts, Some(failure)),
                    Err(error) => (Counts::default(), Some(Failure::Task(error.to_string()))),
                };
                self.delivered.add(counts);
                if self.failure.is_none() {
                    self.failure = failure;
                }
            }
            if self.failure.is_some() {
                // Nothing more is sent: what is queued is not delivered.
                self.queued.clear();
                return;
            }
            let before = self.in_flight.len();
            self.start_queued();
            if self.in_flight.len() == before {
                return;
            }
            // Poll the calls just started too, so that their ends wake the
            // input.
        }
    }

    /// Ready with the failure once no call is in flight any more, so that
    /// the error counts everything delivered.
    fn poll_failure(&mut self) -> Poll<Result<(), StreamSinkError>> {
        match &self.failure {
            None => Poll::Ready(Ok(())),
            Some(_) if !self.in_flight.is_empty() => Poll::Pending,
            Some(failure) => Poll::Ready(Err(StreamSinkError {
                service: self.service.name(),
                target: self.service.target().to_owned(),
                input: self.input.clone(),
                failure: failure.clone(),
                delivered: self.delivered.entries,
                taken: self.taken,
            })),
        }
    }
}

impl<S: BatchService> Sink for StreamSink<S> {
    type Error = StreamSinkError;

    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<StreamSinkError>> {
        match self.service.key_chars() {
            Some(chars) => self.key_of(line, chars),
            None => self.key.clear(),
        }
        let room = &mut self.scratch[..SCRATCH_BYTES - 1];
        let entry: &[u8] = match self.json.write_to_slice(line, room)? {
            Some(len) => {
                self.scratch[len] = b'\n';
                &self.scratch[..=len]
            }
            None => {
                self.long.clear();
                self.json.write(line, &mut self.long)?;
                self.long.push(b'\n');
                &self.long
            }
        };
        let Some(packer) = &mut self.packer else {
            return Ok(Verdict::Continue);
        };
        match packer.push(entry, &self.key) {
            Ok(full) => {
                self.taken += 1;
                if let Some(call) = full {
                    self.send(call);
                }
                Ok(Verdict::Continue)
            }
            Err(too_large) => Err(EntryError::TooLarge {
                bytes: too_large.bytes,
                limit: too_large.limit,
            }),
        }
    }

    /// Ready while the calls in flight are within the budget. After a
    /// failure, once the others are done, the failure.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamSinkError>> {
        self.poll_sent(cx);
        std::task::ready!(self.poll_failure())?;
        // Full calls wait in the queue only while the room in flight is
        // taken; the input waits with them.
        if self.queued.is_empty() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, StreamSinkError>> {
        if !self.finishing {
            self.finishing = true;
            if self.failure.is_none() {
                for call in self.packer.take().map(Packer::finish).unwrap_or_default() {
                    self.send(call);
                }
            }
        }
        self.poll_sent(cx);
        std::task::ready!(self.poll_failure())?;
        if !self.in_flight.is_empty() || !self.queued.is_empty() {
            return Poll::Pending;
        }
        Poll::Ready(Ok(self.delivered.delivery()))
    }

    /// What the calls done so far delivered: after a failure, what got
    /// through before it, as the error also says.
    fn delivered(&self) -> Delivery {
        self.delivered.delivery()
    }
}
