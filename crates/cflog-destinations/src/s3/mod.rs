//! Entries as objects in S3, in Hive partitions that Athena reads:
//! `<prefix>distribution=<id>/year=YYYY/month=MM/day=DD/hour=HH/<stem>.parquet`.
//!
//! Each input (an S3 object or a file) gets an [`S3Sink`] from the
//! [`S3Destination`]. The sink puts each entry in the partition of its own
//! hour (UTC) and distribution, with one object per partition, named
//! after the input: `<stem>` is the input's name without `.gz`. The same
//! input therefore always writes the same keys, and a second delivery of
//! it (S3 events arrive at least once) overwrites the objects of the first
//! instead of adding duplicates.
//!
//! Memory stays bounded whatever the input's size: the Parquet writer
//! flushes row groups as they fill, the encoded bytes go up as the parts of
//! a multipart upload once there are [`S3Options::part_bytes`] of them, at
//! most [`S3Options::max_parts_in_flight`] at a time (the input waits for
//! them: backpressure), and at most [`S3Options::max_open_objects`]
//! objects are open at once. A small object is one PutObject. An upload
//! that fails is aborted, so no partial object is ever visible; the input
//! fails with an [`S3SinkError`], and its objects that were complete stay
//! until a retry overwrites them; the input's summary lists them
//! ([`Sink::delivered`]).
//!
//! ```no_run
//! use cflog_destinations::s3::{ObjectFormat, S3Destination, S3Options};
//! use cflog_pipeline::s3::process_object;
//! use cflog_pipeline::sink::{SinkFactory, Source};
//! use cflog_pipeline::Options;
//!
//! # async fn run(client: aws_sdk_s3::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let destination = S3Destination::new(client.clone(), "my-athena-bucket", "cloudfront/")
//!     .format(ObjectFormat::Parquet)
//!     .options(S3Options::default());
//! let key = "logs/E2EXAMPLE.2019-12-04-21.a1b2c3d4.gz";
//! let sink = destination.open(&Source::Object { bucket: "my-log-bucket", key });
//! let summary = process_object(&client, "my-log-bucket", key, &Options::default(), sink).await?;
//! for object in &summary.delivered.objects {
//!     println!("{} ({} entries)", object.uri, object.entries);
//! }
//! # Ok(()) }
//! ```

mod layout;
mod object;
#[cfg(feature = "parquet")]
pub mod rollup;
mod upload;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use aws_sdk_s3::Client;
use cflog_core::contract::Selection;
use cflog_core::{Field, FieldError, FieldProblem, LogLine};
#[cfg(feature = "parquet")]
use cflog_parquet::WriterOptions;
use cflog_pipeline::sink::{
    DeliveredObject, Delivery, EntryError, Sink, SinkFactory, Source, Verdict,
};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

pub use layout::{HourKey, InputName, Partition, UNKNOWN_DISTRIBUTION};
pub use object::{EncodeError, ObjectFormat, UnknownObjectFormat};
pub use upload::UploadError;

use layout::entry_distribution;
use object::ObjectEncoder;
use upload::{Bucket, Upload};

/// The upload of an object of the destination.
fn upload(shared: &Shared, key: String) -> Upload {
    let upload = Upload::new(Arc::clone(&shared.bucket), key);
    #[cfg(feature = "parquet")]
    let upload = upload.skip_unchanged(shared.staging);
    upload
}

/// How often, in entries, the open objects' memory is summed.
const BUDGET_CHECK_ENTRIES: u64 = 1024;

/// S3's smallest part of a multipart upload, but for the last.
pub const MIN_PART_BYTES: usize = 5 << 20;

/// How an [`S3Destination`] bounds its memory and its uploads.
///
/// ```
/// use cflog_destinations::s3::S3Options;
///
/// let options = S3Options::default().part_bytes(16 << 20).max_open_objects(4);
/// assert_eq!(options.get_part_bytes(), 16 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct S3Options {
    part_bytes: usize,
    max_open_objects: usize,
    max_buffered_bytes: usize,
    max_parts_in_flight: usize,
    #[cfg(feature = "parquet")]
    parquet: WriterOptions,
    selection: Selection,
}

impl Default for S3Options {
    fn default() -> S3Options {
        S3Options {
            part_bytes: 8 << 20,
            max_open_objects: 8,
            max_buffered_bytes: 24 << 20,
            max_parts_in_flight: 2,
            #[cfg(feature = "parquet")]
            parquet: WriterOptions::default(),
            selection: Selection::all(),
        }
    }
}

impl S3Options {
    /// The size of a part (default 8 MiB, at least [`MIN_PART_BYTES`]): an
    /// object of up to this many bytes is one PutObject, a larger one a
    /// multipart upload.
    #[must_use]
    pub fn part_bytes(mut self, bytes: usize) -> S3Options {
        self.part_bytes = bytes.max(MIN_PART_BYTES);
        self
    }

    /// The most objects of one input open at once (default 8). An entry of
    /// another partition then completes the object written least recently;
    /// the partition's next entries go to a new object, `<stem>.1`, then
    /// `<stem>.2`, and so on: still the same names on every delivery.
    #[must_use]
    pub fn max_open_objects(mut self, objects: usize) -> S3Options {
        self.max_open_objects = objects.max(1);
        self
    }

    /// The most bytes the open objects of one input may buffer (default
    /// 24 MiB, by the encoders' own estimates): past it, the objects written
    /// least recently are completed as for
    /// [`max_open_objects`](S3Options::max_open_objects), but for the one
    /// being written. A log file spans an hour or two, in time order, so
    /// this completes the hours it has left behind.
    #[must_use]
    pub fn max_buffered_bytes(mut self, bytes: usize) -> S3Options {
        self.max_buffered_bytes = bytes;
        self
    }

    /// The most parts of one input uploading at once (default 2); the input
    /// waits while there are more.
    #[must_use]
    pub fn max_parts_in_flight(mut self, parts: usize) -> S3Options {
        self.max_parts_in_flight = parts.max(1);
        self
    }

    /// The Parquet writer's row groups and compression.
    #[cfg(feature = "parquet")]
    #[must_use]
    pub fn parquet(mut self, options: WriterOptions) -> S3Options {
        self.parquet = options;
        self
    }

    /// The keys of each NDJSON object (default all); Parquet files always
    /// have the fixed columns of `cflog_parquet::ColumnSet::standard`.
    #[must_use]
    pub fn selection(mut self, selection: Selection) -> S3Options {
        self.selection = selection;
        self
    }

    /// The size of a part.
    pub fn get_part_bytes(&self) -> usize {
        self.part_bytes
    }
}

/// Makes the [`S3Sink`] of each input: where its objects go, and how they
/// are written.
#[derive(Clone, Debug)]
pub struct S3Destination {
    shared: Arc<Shared>,
}

#[derive(Clone, Debug)]
struct Shared {
    bucket: Arc<Bucket>,
    prefix: String,
    format: ObjectFormat,
    options: S3Options,
    /// The rollup's staging ([`S3Destination::staging`]).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    staging: bool,
}

impl S3Destination {
    /// Objects in `bucket` under `prefix` (a `/` is added when it has none),
    /// as Parquet with the default options, uploaded on the current Tokio
    /// runtime whatever polls the sinks.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime; use [`on_runtime`](S3Destination::on_runtime).
    pub fn new(client: Client, bucket: impl Into<String>, prefix: &str) -> S3Destination {
        S3Destination::on_runtime(client, bucket, prefix, Handle::current())
    }

    /// As [`new`](S3Destination::new), uploading on `runtime`.
    pub fn on_runtime(
        client: Client,
        bucket: impl Into<String>,
        prefix: &str,
        runtime: Handle,
    ) -> S3Destination {
        let prefix = prefix.trim_start_matches('/');
        let prefix = match prefix.is_empty() || prefix.ends_with('/') {
            true => prefix.to_owned(),
            false => format!("{prefix}/"),
        };
        S3Destination {
            shared: Arc::new(Shared {
                bucket: Arc::new(Bucket {
                    client,
                    name: bucket.into(),
                    runtime,
                }),
                prefix,
                format: ObjectFormat::default(),
                options: S3Options::default(),
                staging: false,
            }),
        }
    }

    /// How the objects are written (default Parquet).
    #[must_use]
    pub fn format(self, format: ObjectFormat) -> S3Destination {
        self.with(|shared| shared.format = format)
    }

    /// The bounds of memory and uploads.
    #[must_use]
    pub fn options(self, options: S3Options) -> S3Destination {
        self.with(|shared| {
            shared.options = options;
            #[cfg(feature = "parquet")]
            if shared.staging {
                shared.options.parquet = WriterOptions::staged();
            }
        })
    }

    /// The hourly rollup's staging area of the table at this prefix, as
    /// the function and `cflog --s3-output` write it before rolling the
    /// hours up ([`rollup`]):
    /// - objects go under [`rollup::staging_prefix`] of the prefix;
    /// - Parquet is written with [`WriterOptions::staged`], which the rollup
    ///   reads faster, whatever [`S3Options::parquet`] says;
    /// - an object already holding the same bytes is left as it is. A log
    ///   file delivered again (S3 events arrive at least once, and a failed
    ///   invocation is retried) then leaves its staging objects, and their
    ///   `LastModified`, as they were, so that the rollup finds the hour
    ///   unchanged instead of moving the file to the end of its hour and
    ///   writing every part again. It costs a HeadObject per object; an
    ///   object of more than [`S3Options::part_bytes`] is always written.
    ///
    /// ```no_run
    /// use cflog_destinations::s3::S3Destination;
    ///
    /// # async fn run(client: aws_sdk_s3::Client) {
    /// let staging = S3Destination::new(client, "my-athena-bucket", "cloudfront/").staging();
    /// assert_eq!(staging.prefix(), "cloudfront/staging/");
    /// # }
    /// ```
    #[cfg(feature = "parquet")]
    #[must_use]
    pub fn staging(self) -> S3Destination {
        self.with(|shared| {
            if !shared.staging {
                shared.prefix = rollup::staging_prefix(&shared.prefix);
                shared.options.parquet = WriterOptions::staged();
                shared.staging = true;
            }
        })
    }

    fn with(self, change: impl FnOnce(&mut Shared)) -> S3Destination {
        let mut shared = Arc::unwrap_or_clone(self.shared);
        change(&mut shared);
        S3Destination {
            shared: Arc::new(shared),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.shared.bucket.name
    }

    /// The key prefix, empty or ending in `/`.
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// The key of the `sequence`th object (from 0) of the input named
    /// `stem` in `partition`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cflog_destinations::s3::{HourKey, Partition, S3Destination};
    /// # let client = aws_sdk_s3::Client::from_conf(aws_sdk_s3::Config::builder().behavior_version_latest().build());
    /// let destination = S3Destination::new(client, "athena", "cloudfront");
    /// let partition = Partition { distribution: "E2EXAMPLE".into(), hour: HourKey::new(2019, 12, 4, 21).unwrap() };
    /// assert_eq!(
    ///     destination.key(&partition, "E2EXAMPLE.2019-12-04-21.a1b2c3d4", 0),
    ///     "cloudfront/distribution=E2EXAMPLE/year=2019/month=12/day=04/hour=21/E2EXAMPLE.2019-12-04-21.a1b2c3d4.parquet"
    /// );
    /// # }
    /// ```
    pub fn key(&self, partition: &Partition, stem: &str, sequence: u32) -> String {
        let shared = &self.shared;
        let extension = shared.format.extension();
        match sequence {
            0 => format!("{}{}/{stem}.{extension}", shared.prefix, partition.path()),
            n => format!(
                "{}{}/{stem}.{n}.{extension}",
                shared.prefix,
                partition.path()
            ),
        }
    }
}

impl SinkFactory for S3Destination {
    type Sink = S3Sink;

    fn open(&self, source: &Source<'_>) -> S3Sink {
        let name = match source {
            Source::Object { key, .. } => InputName::from_key(key),
            Source::File(path) => InputName::from_key(&path.to_string_lossy()),
            Source::Stdin | Source::Stream(_) => None,
        };
        S3Sink {
            destination: self.clone(),
            source: source.to_string(),
            name,
            open: Vec::new(),
            last: 0,
            clock: 0,
            closed: HashMap::new(),
            closing: Vec::new(),
            delivered: Vec::new(),
            finishing: None,
            aborting: None,
        }
    }
}

/// Why an input's objects were not all written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3SinkError {
    /// The objects are named after the input, and it has no name (standard
    /// input, a Kinesis batch).
    #[error(
        "{input}: the s3 destination names its objects after the input's file name, and this input has none"
    )]
    Unnamed {
        /// The input.
        input: String,
    },
    /// Encoding an object failed; it was not uploaded.
    #[error("s3://{bucket}/{key}: {error}")]
    Encode {
        /// The bucket.
        bucket: String,
        /// The object's key.
        key: String,
        /// What failed.
        #[source]
        error: EncodeError,
    },
    /// An upload failed; a multipart upload was aborted.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// The task completing the objects panicked or was cancelled.
    #[error("{input}: the task completing the objects ended without an answer: {message}")]
    Task {
        /// The input.
        input: String,
        /// What the runtime said.
        message: String,
    },
}

/// One input's entries, into objects of their partitions.
pub struct S3Sink {
    destination: S3Destination,
    source: String,
    name: Option<InputName>,
    open: Vec<OpenObject>,
    /// The index in `open` of the object written last: entries of one
    /// partition come in runs.
    last: usize,
    clock: u64,
    /// How many objects of each partition were completed early.
    closed: HashMap<Partition, u32>,
    /// Objects completed early, uploading.
    closing: Vec<JoinHandle<Result<DeliveredObject, S3SinkError>>>,
    /// The objects uploaded, each complete.
    delivered: Vec<DeliveredObject>,
    finishing: Option<JoinHandle<Finished>>,
    /// After an upload failed: the task aborting the others (it gives the
    /// objects completed early that still got through), and the failure to
    /// return once it is done.
    aborting: Option<(JoinHandle<Vec<DeliveredObject>>, S3SinkError)>,
}

/// What the task completing an input's objects gives: the objects it
/// uploaded, and the first failure, if any.
type Finished = (Vec<DeliveredObject>, Option<S3SinkError>);

struct OpenObject {
    partition: Partition,
    encoder: ObjectEncoder,
    upload: Upload,
    entries: u64,
    used: u64,
}

impl std::fmt::Debug for S3Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Sink")
            .field("source", &self.source)
            .field("open", &self.open.len())
            .finish_non_exhaustive()
    }
}

impl S3Sink {
    /// The object of `partition`, opened if need be.
    fn object(&mut self, distribution: &str, hour: HourKey) -> Result<usize, S3SinkError> {
        if let Some(i) = self
            .open
            .iter()
            .position(|o| o.partition.hour == hour && o.partition.distribution == distribution)
        {
            return Ok(i);
        }
        if self.open.len() >= self.destination.shared.options.max_open_objects {
            self.complete_oldest(None)?;
        }
        self.keep_within_budget(false)?;
        let options = &self.destination.shared.options;
        let partition = Partition {
            distribution: distribution.to_owned(),
            hour,
        };
        let stem = self.name.as_ref().map_or("", InputName::stem);
        let sequence = self.closed.get(&partition).copied().unwrap_or(0);
        let key = self.destination.key(&partition, stem, sequence);
        let shared = &self.destination.shared;
        let encoder =
            ObjectEncoder::new(shared.format, options).map_err(|error| S3SinkError::Encode {
                bucket: shared.bucket.name.clone(),
                key: key.clone(),
                error,
            })?;
        self.open.push(OpenObject {
            partition,
            encoder,
            upload: upload(shared, key),
            entries: 0,
            used: 0,
        });
        Ok(self.open.len() - 1)
    }

    /// Completes the object written least recently, but for the one at
    /// `keep`, and starts its upload.
    fn complete_oldest(&mut self, keep: Option<usize>) -> Result<(), S3SinkError> {
        let Some(oldest) = (0..self.open.len())
            .filter(|&i| Some(i) != keep)
            .min_by_key(|&i| self.open[i].used)
        else {
            return Ok(());
        };
        let object = self.open.swap_remove(oldest);
        if self.last == self.open.len() {
            // `swap_remove` moved the object written last into the gap.
            self.last = oldest;
        }
        if object.entries == 0 {
            // Its only entries were rejected: there is nothing to write.
            return Ok(());
        }
        *self.closed.entry(object.partition.clone()).or_default() += 1;
        let completion = self.complete(object)?;
        self.closing
            .push(self.destination.shared.bucket.runtime.spawn(completion));
        Ok(())
    }

    /// Completes the objects written least recently while the open objects
    /// buffer more than the budget; with `keep_last`, never the object
    /// written last.
    fn keep_within_budget(&mut self, keep_last: bool) -> Result<(), S3SinkError> {
        let budget = self.destination.shared.options.max_buffered_bytes;
        while self.open.len() > usize::from(keep_last) {
            let buffered: usize = self.open.iter().map(|o| o.encoder.memory_size()).sum();
            if buffered <= budget {
                break;
            }
            self.complete_oldest(keep_last.then_some(self.last))?;
        }
        Ok(())
    }

    /// Encodes the rest of `object`, and gives the future that uploads it.
    fn complete(
        &self,
        object: OpenObject,
    ) -> Result<
        impl Future<Output = Result<DeliveredObject, S3SinkError>> + Send + 'static,
        S3SinkError,
    > {
        let OpenObject {
            encoder,
            upload,
            entries,
            ..
        } = object;
        let bucket = self.destination.bucket().to_owned();
        let uri = format!("s3://{bucket}/{}", upload.key());
        let rest = encoder.finish().map_err(|error| S3SinkError::Encode {
            bucket,
            key: upload.key().to_owned(),
            error,
        })?;
        Ok(async move {
            let bytes = upload.complete(rest).await?;
            Ok(DeliveredObject {
                uri,
                entries,
                bytes,
            })
        })
    }

    /// Encodes the rest of every open object, and starts the task that
    /// completes them all, and those completed early.
    fn start_finishing(&mut self) -> Result<JoinHandle<Finished>, S3SinkError> {
        let mut completions = Vec::new();
        for object in std::mem::take(&mut self.open) {
            if object.entries > 0 {
                completions.push(self.complete(object)?);
            }
        }
        let closing = std::mem::take(&mut self.closing);
        let source = self.source.clone();
        let task = async move {
            // Every object runs to its end, completed or aborted, before
            // the first failure is returned.
            let completed = futures_util::future::join_all(completions).await;
            let mut delivered = Vec::new();
            let mut failure = None;
            for result in completed {
                match result {
                    Ok(object) => delivered.push(object),
                    Err(error) => failure = failure.or(Some(error)),
                }
            }
            for task in closing {
                match task.await {
                    Ok(Ok(object)) => delivered.push(object),
                    Ok(Err(error)) => failure = failure.or(Some(error)),
                    Err(error) => {
                        failure = failure.or(Some(S3SinkError::Task {
                            input: source.clone(),
                            message: error.to_string(),
                        }));
                    }
                }
            }
            (delivered, failure)
        };
        Ok(self.destination.shared.bucket.runtime.spawn(task))
    }

    /// Polls every upload on its way, and gives how many parts and early
    /// objects are still uploading.
    fn poll_uploads(&mut self, cx: &mut Context<'_>) -> Result<usize, S3SinkError> {
        let mut in_flight = 0;
        for object in &mut self.open {
            in_flight += object.upload.poll_parts(cx)?;
        }
        let mut i = 0;
        while i < self.closing.len() {
            match Pin::new(&mut self.closing[i]).poll(cx) {
                Poll::Pending => i += 1,
                Poll::Ready(joined) => {
                    let joined = joined.map_err(|e| self.task_error(&e))?;
                    self.closing.swap_remove(i);
                    self.delivered.push(joined?);
                }
            }
        }
        Ok(in_flight + self.closing.len())
    }

    fn task_error(&self, error: &tokio::task::JoinError) -> S3SinkError {
        S3SinkError::Task {
            input: self.source.clone(),
            message: error.to_string(),
        }
    }
}

impl Sink for S3Sink {
    type Error = S3SinkError;

    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<S3SinkError>> {
        let Some(name) = &self.name else {
            return Err(EntryError::Output(S3SinkError::Unnamed {
                input: self.source.clone(),
            }));
        };
        // An entry with no time of its own, from an input whose name has no
        // hour either, fits no partition: it is rejected, as a missing date.
        let hour = match line.timestamp()? {
            Some(at) => HourKey::of(at).ok_or(FieldError::new(Field::Date, FieldProblem::Date))?,
            None => name
                .hour()
                .ok_or(FieldError::new(Field::Date, FieldProblem::Date))?,
        };
        let distribution = entry_distribution(line)
            .or(name.distribution())
            .unwrap_or(UNKNOWN_DISTRIBUTION);
        let i = match self.open.get(self.last) {
            Some(o) if o.partition.hour == hour && o.partition.distribution == distribution => {
                self.last
            }
            _ => {
                let distribution = distribution.to_owned();
                self.object(&distribution, hour)
                    .map_err(EntryError::Output)?
            }
        };
        self.last = i;
        self.clock += 1;
        let part_bytes = self.destination.shared.options.part_bytes;
        let object = &mut self.open[i];
        object.encoder.write(line).map_err(|error| {
            error.map_output(|error| S3SinkError::Encode {
                bucket: self.destination.shared.bucket.name.clone(),
                key: object.upload.key().to_owned(),
                error,
            })
        })?;
        object.entries += 1;
        object.used = self.clock;
        let encoded = object.encoder.encoded();
        if encoded.len() >= part_bytes {
            let part = std::mem::take(encoded);
            object.upload.send_part(part);
        }
        // The encoders' sizes are summed now and then only: an object
        // grows by a batch at a time.
        if self.open.len() > 1 && self.clock.is_multiple_of(BUDGET_CHECK_ENTRIES) {
            self.keep_within_budget(true).map_err(EntryError::Output)?;
        }
        Ok(Verdict::Continue)
    }

    /// Ready while few enough parts are uploading. When one failed, the
    /// other uploads are aborted first, and then the failure is returned:
    /// the input ends with no upload of its own left open.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S3SinkError>> {
        if self.aborting.is_none() {
            match self.poll_uploads(cx) {
                Ok(in_flight)
                    if in_flight > self.destination.shared.options.max_parts_in_flight =>
                {
                    return Poll::Pending;
                }
                Ok(_) => return Poll::Ready(Ok(())),
                Err(error) => {
                    let uploads: Vec<Upload> = self.open.drain(..).map(|o| o.upload).collect();
                    let closing = std::mem::take(&mut self.closing);
                    let task = self.destination.shared.bucket.runtime.spawn(async move {
                        futures_util::future::join_all(uploads.into_iter().map(Upload::abandon))
                            .await;
                        // Objects completed early finish as they will; those
                        // uploaded are in S3, and in the input's summary.
                        futures_util::future::join_all(closing)
                            .await
                            .into_iter()
                            .filter_map(|joined| joined.ok()?.ok())
                            .collect()
                    });
                    self.aborting = Some((task, error));
                }
            }
        }
        let Some((task, _)) = &mut self.aborting else {
            return Poll::Ready(Ok(()));
        };
        // A panicked abort leaves the upload to the lifecycle rule.
        if let Ok(uploaded) = ready!(Pin::new(task).poll(cx)) {
            self.delivered.extend(uploaded);
        }
        match self.aborting.take() {
            Some((_, error)) => Poll::Ready(Err(error)),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, S3SinkError>> {
        let finishing = match self.finishing.take() {
            Some(finishing) => finishing,
            None => self.start_finishing()?,
        };
        let finishing = self.finishing.insert(finishing);
        let joined = ready!(Pin::new(finishing).poll(cx));
        let (objects, failure) = joined.map_err(|e| self.task_error(&e))?;
        self.delivered.extend(objects);
        if let Some(error) = failure {
            // The objects that were uploaded are in `delivered`.
            return Poll::Ready(Err(error));
        }
        Poll::Ready(Ok(delivery(std::mem::take(&mut self.delivered))))
    }

    /// The objects uploaded so far, each complete: after a failure, those
    /// that stay in S3 until a retry overwrites them.
    fn delivered(&self) -> Delivery {
        delivery(self.delivered.clone())
    }
}

/// The delivery of `objects`, in key order.
fn delivery(mut objects: Vec<DeliveredObject>) -> Delivery {
    objects.sort_by(|a, b| a.uri.cmp(&b.uri));
    Delivery {
        entries: objects.iter().map(|o| o.entries).sum(),
        bytes: objects.iter().map(|o| o.bytes).sum(),
        objects,
        ..Delivery::default()
    }
}
