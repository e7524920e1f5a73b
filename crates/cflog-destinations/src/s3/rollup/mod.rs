//! The hourly rollup: each distribution-hour's staging objects, one per
//! input log file, merged into the table's one object per hour.
//!
//! With the rollup on, the [`S3Destination`](super::S3Destination) writes
//! under the *staging* prefix, [`staging_prefix`]`(prefix)`, which the
//! table never reads; the table's prefix holds only the rolled-up parts:
//!
//! ```text
//! <prefix>staging/distribution=<id>/year=YYYY/month=MM/day=DD/hour=HH/<log file>.parquet   (one per input)
//! <prefix>distribution=<id>/year=YYYY/month=MM/day=DD/hour=HH/part-00000.parquet           (one per hour)
//! ```
//!
//! # Idempotent by construction
//!
//! A rolled-up hour is a pure function of its staging objects
//! ([`cflog_parquet::rollup`]): they are taken in order of arrival (S3's
//! `LastModified`), then key, and assigned to parts of about
//! [`part_input_bytes`](cflog_parquet::rollup::RollupOptions::part_input_bytes)
//! each ([`plan_parts`]). Each part
//! carries, in its user metadata, the SHA-256 of what it was made from
//! (the key, ETag, or time where a server lists no ETag, and size of each
//! input, in order, and the rollup's
//! version and settings). A part whose fingerprint is unchanged is not
//! read, encoded or written again, so a second rollup, a retried one or a
//! redelivered schedule changes no object.
//!
//! A late log file arrives last, so it joins the hour's last part, or
//! starts a new one: the earlier parts keep their inputs and are not
//! written. Each PUT replaces one whole object, so a query running
//! meanwhile sees each entry at most once. A log file delivered again
//! (S3's events arrive at least once, a failed invocation is retried)
//! stages the same bytes, which the staging destination does not write
//! again ([`S3Destination::staging`](super::S3Destination::staging)):
//! its objects keep their place in the hour's order, and the rollup finds
//! nothing changed. Were it written anew, it would arrive last and the
//! files after it would each move a part earlier, seen twice by a query
//! until the part each left was written: that remains only for a staging
//! object larger than a multipart upload's part (8 MiB), which is always
//! written, or one staged again with other settings.
//!
//! # Columns
//!
//! A part takes the columns of its first staging object: the standard
//! ones, or more when the objects were staged with enrichments (`--enrich
//! ua` adds `ua_*` and `is_bot`). Every staging object of a part must have
//! the same columns; one that does not (an hour staged partly before and
//! partly after the enrichments were turned on) fails the hour with
//! [`RollupError::Input`] naming it, and the hour's parts are left as they
//! were. Re-staging the hour's log files with one setting mends it.
//!
//! # When a part is deleted
//!
//! A part past the hour's last is left over from an earlier rollup with
//! smaller parts. It is deleted once every part of the new plan is in
//! place, and only when the hour's staging objects are at least as many as
//! the rolled parts say they were made from: a rollup never deletes rows
//! whose staging objects are gone (expired, or deleted by hand). Such an
//! hour is refused ([`RollupError::StagingShrank`]) and left as it is. The
//! staging objects' lifecycle (7 days by default) outlasts the schedule's
//! window (48 hours), so the schedule never meets one. Between the last
//! PUT and the DELETE, a query may see the leftover part's rows twice;
//! that only follows a change of the part size.
//!
//! # Bounded
//!
//! One staging object is read at a time: in memory up to [`SPOOL_BYTES`]
//! ([`RollupOptions::spool_bytes`]), spooled to a temporary file past that
//! and read one row group at a time (its row groups are the writer's, at
//! most 131,072 rows); with it, the row group being encoded (at most
//! 1,048,576 rows or 128 MiB encoded) and the upload's parts in flight. A part larger than the upload's part size goes up as a
//! multipart upload while it is written; one that fails is aborted, so
//! the part it replaces stays whole.

mod listing;

use std::collections::HashMap;
use std::future::poll_fn;
use std::io::Write;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::delete_object::DeleteObjectError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use aws_sdk_s3::primitives::ByteStreamError;
use cflog_parquet::ColumnSet;
use cflog_parquet::rollup::{self, RollupWriter, plan_parts};
use cflog_pipeline::s3::RequestError;
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

pub use listing::{StagedHour, StagedObject};

use super::MIN_PART_BYTES;
use super::layout::{HourKey, Partition};
use super::upload::{Bucket, Upload, UploadError};

/// The user metadata key of a part's fingerprint.
pub const FINGERPRINT_KEY: &str = "cflog-rollup-fingerprint";
/// The user metadata key of the number of staging objects a part holds.
pub const INPUTS_KEY: &str = "cflog-rollup-inputs";

/// The staging prefix of a table under `prefix` (empty or ending in `/`):
/// `<prefix>staging/`, where the S3 destination writes one object per input
/// and hour when the rollup is on.
///
/// ```
/// use cflog_destinations::s3::rollup::staging_prefix;
///
/// assert_eq!(staging_prefix("cloudfront/"), "cloudfront/staging/");
/// assert_eq!(staging_prefix(""), "staging/");
/// ```
pub fn staging_prefix(prefix: &str) -> String {
    format!("{prefix}staging/")
}

/// The name of an hour's `number`th part (from 0): `part-00000.parquet`.
pub fn part_name(number: usize) -> String {
    format!("part-{number:05}.parquet")
}

/// The number of a part's name.
pub(crate) fn part_number(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    (digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

/// Which of `keys`, the objects (or files) found under one prefix, are
/// staging objects of an hour whose rolled-up parts were found too: the
/// table holds their entries already, and reading both would count each
/// entry twice. A key is matched with `/` between its folders, whatever
/// lies before the table's prefix.
///
/// ```
/// use cflog_destinations::s3::rollup::rolled_up_staging;
///
/// let keys = [
///     "out/distribution=E2/year=2024/month=03/day=14/hour=21/part-00000.parquet",
///     "out/staging/distribution=E2/year=2024/month=03/day=14/hour=21/E2.2024-03-14-21.a1.parquet",
///     "out/staging/distribution=E2/year=2024/month=03/day=14/hour=22/E2.2024-03-14-22.b2.parquet",
/// ];
/// // Hour 21 is rolled up; hour 22 is not yet, so its staging object is read.
/// assert_eq!(rolled_up_staging(&keys), [false, true, false]);
/// ```
pub fn rolled_up_staging(keys: &[&str]) -> Vec<bool> {
    /// The table's prefix and the partition of a part or staging object.
    fn place(key: &str, staging: bool) -> Option<(&str, Partition)> {
        let marker = if staging {
            "staging/distribution="
        } else {
            "distribution="
        };
        let at = key.rfind(marker)?;
        let (prefix, rest) = key.split_at(at);
        let rest = rest.strip_prefix("staging/").unwrap_or(rest);
        let (partition, name) = rest.rsplit_once('/')?;
        let folder_start = prefix.is_empty() || prefix.ends_with('/');
        let table_part = staging || (part_number(name).is_some() && !prefix.ends_with("staging/"));
        (folder_start && table_part).then_some((prefix, Partition::parse(partition)?))
    }
    let rolled: std::collections::HashSet<(&str, Partition)> =
        keys.iter().filter_map(|key| place(key, false)).collect();
    keys.iter()
        .map(|key| place(key, true).is_some_and(|place| rolled.contains(&place)))
        .collect()
}

/// The largest staging object read into memory by default; a larger one
/// is spooled to a temporary file as it arrives
/// ([`RollupOptions::spool_bytes`]).
pub const SPOOL_BYTES: u64 = 16 << 20;

/// A staging object's body.
enum Staged {
    Memory(bytes::Bytes),
    Spooled(std::fs::File),
}

/// How a [`HourlyRollup`] sizes its parts and uploads.
#[derive(Clone, Debug)]
pub struct RollupOptions {
    parts: rollup::RollupOptions,
    upload_part_bytes: usize,
    max_parts_in_flight: usize,
    spool_bytes: u64,
}

impl Default for RollupOptions {
    fn default() -> RollupOptions {
        RollupOptions {
            parts: rollup::RollupOptions::default(),
            upload_part_bytes: 16 << 20,
            max_parts_in_flight: 2,
            spool_bytes: SPOOL_BYTES,
        }
    }
}

impl RollupOptions {
    /// The parts' sizes, row groups and encoding.
    #[must_use]
    pub fn parts(mut self, parts: rollup::RollupOptions) -> RollupOptions {
        self.parts = parts;
        self
    }

    /// The bytes of a multipart upload's part (default 16 MiB, at least
    /// 5 MiB): a rolled-up part smaller than this is one PutObject.
    #[must_use]
    pub fn upload_part_bytes(mut self, bytes: usize) -> RollupOptions {
        self.upload_part_bytes = bytes.max(MIN_PART_BYTES);
        self
    }

    /// The largest staging object read into memory (default
    /// [`SPOOL_BYTES`], 16 MiB); a larger one is written to a temporary
    /// file as it arrives and read from there, a row group at a time.
    #[must_use]
    pub fn spool_bytes(mut self, bytes: u64) -> RollupOptions {
        self.spool_bytes = bytes;
        self
    }
}

/// Why an hour, or a listing, was not rolled up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RollupError {
    /// Listing the staging objects or the parts failed.
    #[error(transparent)]
    List(RequestError<ListObjectsV2Error>),
    /// Reading a part's metadata failed.
    #[error(transparent)]
    Head(RequestError<HeadObjectError>),
    /// Reading a staging object failed.
    #[error(transparent)]
    Get(RequestError<GetObjectError>),
    /// A staging object's body broke off.
    #[error("s3://{bucket}/{key}: reading the body failed: {error}")]
    Body {
        /// The bucket.
        bucket: String,
        /// The staging object's key.
        key: String,
        /// What failed.
        #[source]
        error: ByteStreamError,
    },
    /// A staging object is not cflog's Parquet of the table's columns.
    #[error("s3://{bucket}/{key}: {error}")]
    Input {
        /// The bucket.
        bucket: String,
        /// The staging object's key.
        key: String,
        /// What the rollup said.
        #[source]
        error: rollup::RollupError,
    },
    /// Spooling a large staging object to a temporary file failed (the
    /// function's `/tmp` full, say).
    #[error("{key}: spooling to a temporary file failed: {error}")]
    Spool {
        /// The staging object's key.
        key: String,
        /// What failed.
        #[source]
        error: std::io::Error,
    },
    /// Encoding a part failed.
    #[error("s3://{bucket}/{key}: {error}")]
    Encode {
        /// The bucket.
        bucket: String,
        /// The part's key.
        key: String,
        /// What the rollup said.
        #[source]
        error: rollup::RollupError,
    },
    /// Uploading a part failed; the part it was to replace is as it was.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// Deleting a leftover part failed.
    #[error(transparent)]
    Delete(RequestError<DeleteObjectError>),
    /// The hour's rolled parts were made from more staging objects than
    /// there are now: rolling it again would drop rows. It is left as it
    /// is.
    #[error(
        "{hour}: the rolled parts hold {rolled} staging objects and only {staged} are left; the hour is left as it is"
    )]
    StagingShrank {
        /// `distribution=…/year=…/hour=HH`.
        hour: String,
        /// The staging objects the parts say they hold.
        rolled: usize,
        /// The staging objects listed now.
        staged: usize,
    },
}

/// What rolling one part did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RolledPart {
    /// The part's key.
    pub key: String,
    /// The staging objects in it.
    pub inputs: usize,
    /// Whether it was written; `false` when its fingerprint was unchanged.
    pub written: bool,
    /// The rows written (0 for a part left unchanged).
    pub rows: u64,
    /// The bytes written (0 for a part left unchanged).
    pub bytes: u64,
}

/// What rolling one hour did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HourRollup {
    /// The distribution and hour.
    pub partition: Partition,
    /// The hour's parts, in order.
    pub parts: Vec<RolledPart>,
    /// The leftover parts deleted.
    pub deleted: Vec<String>,
}

impl HourRollup {
    /// Whether the rollup wrote or deleted anything.
    pub fn changed(&self) -> bool {
        !self.deleted.is_empty() || self.parts.iter().any(|p| p.written)
    }
}

/// An hour that failed.
#[derive(Debug)]
#[non_exhaustive]
pub struct HourFailure {
    /// The distribution and hour.
    pub partition: Partition,
    /// Why.
    pub error: RollupError,
}

/// Which hours [`HourlyRollup::roll`] rolls up, and until when.
#[derive(Clone, Debug, Default)]
pub struct RollupWindow {
    /// The first hour (default: the first staged).
    pub since: Option<HourKey>,
    /// The hour after the last (default: none).
    pub until: Option<HourKey>,
    /// Only this distribution (default: every one staged).
    pub distribution: Option<String>,
    /// The hour to start at, where an earlier run stopped for its deadline
    /// ([`RollupSummary::deferred`]'s first): the distributions listed
    /// before its own, and its distribution's earlier hours, are left out
    /// (default: none).
    pub resume: Option<Partition>,
    /// No hour is started after this instant less
    /// [`margin`](RollupWindow::margin): the rest is left for the next run.
    pub deadline: Option<Instant>,
    /// The time kept free before the deadline to roll one more hour.
    pub margin: Duration,
}

/// What [`HourlyRollup::roll`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RollupSummary {
    /// The hours rolled up, whether or not anything changed.
    pub hours: Vec<HourRollup>,
    /// The hours that failed, each with its error; the others went on.
    pub failures: Vec<HourFailure>,
    /// The hours left for the next run, the deadline being near, in the
    /// order they would have been rolled: a run with the same window
    /// [`resume`](RollupWindow::resume)d at the first rolls them.
    pub deferred: Vec<Partition>,
}

impl RollupSummary {
    /// The parts written.
    pub fn written(&self) -> usize {
        self.hours
            .iter()
            .flat_map(|h| &h.parts)
            .filter(|p| p.written)
            .count()
    }

    /// The parts left as they were.
    pub fn unchanged(&self) -> usize {
        self.hours
            .iter()
            .flat_map(|h| &h.parts)
            .filter(|p| !p.written)
            .count()
    }

    /// The rows written.
    pub fn rows(&self) -> u64 {
        self.hours
            .iter()
            .flat_map(|h| &h.parts)
            .map(|p| p.rows)
            .sum()
    }

    /// The first failure, if any: the run's error.
    pub fn into_result(mut self) -> Result<RollupSummary, RollupError> {
        match self.failures.is_empty() {
            true => Ok(self),
            false => Err(self.failures.swap_remove(0).error),
        }
    }
}

/// Rolls up the staging objects under a table's prefix into the table's
/// parts, an hour at a time.
///
/// ```no_run
/// use cflog_destinations::s3::rollup::{HourlyRollup, RollupWindow};
///
/// # async fn run(client: aws_sdk_s3::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let rollup = HourlyRollup::new(client, "my-athena-bucket", "cloudfront/");
/// let summary = rollup.roll(&RollupWindow::default()).await?.into_result()?;
/// println!("{} parts written, {} unchanged", summary.written(), summary.unchanged());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct HourlyRollup {
    bucket: Arc<Bucket>,
    table: String,
    staging: String,
    options: RollupOptions,
}

impl HourlyRollup {
    /// The table under `prefix` in `bucket` (a `/` is added when the
    /// prefix has none), its staging objects under
    /// [`staging_prefix`]`(prefix)`, uploaded on the current Tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn new(client: Client, bucket: impl Into<String>, prefix: &str) -> HourlyRollup {
        let prefix = prefix.trim_start_matches('/');
        let table = match prefix.is_empty() || prefix.ends_with('/') {
            true => prefix.to_owned(),
            false => format!("{prefix}/"),
        };
        HourlyRollup {
            bucket: Arc::new(Bucket {
                client,
                name: bucket.into(),
                runtime: Handle::current(),
            }),
            staging: staging_prefix(&table),
            table,
            options: RollupOptions::default(),
        }
    }

    /// The parts' sizes and uploads.
    #[must_use]
    pub fn options(mut self, options: RollupOptions) -> HourlyRollup {
        self.options = options;
        self
    }

    /// The table's prefix.
    pub fn table_prefix(&self) -> &str {
        &self.table
    }

    /// The staging prefix.
    pub fn staging_prefix(&self) -> &str {
        &self.staging
    }

    /// The key of `partition`'s `number`th part.
    pub fn part_key(&self, partition: &Partition, number: usize) -> String {
        format!("{}{}/{}", self.table, partition.path(), part_name(number))
    }

    /// The staged hours of the window, by distribution, oldest first.
    ///
    /// # Errors
    ///
    /// When a listing fails.
    pub async fn staged_hours(
        &self,
        window: &RollupWindow,
    ) -> Result<Vec<StagedHour>, RollupError> {
        let distributions = match &window.distribution {
            Some(id) => vec![id.clone()],
            None => listing::distributions(&self.bucket, &self.staging).await?,
        };
        let mut hours = Vec::new();
        for distribution in distributions {
            let mut since = window.since;
            if let Some(resume) = &window.resume {
                // In the listing's order: by key, `distribution=<id>/`.
                let listed = |id: &str| format!("distribution={id}/");
                match listed(&distribution).cmp(&listed(&resume.distribution)) {
                    std::cmp::Ordering::Less => continue,
                    std::cmp::Ordering::Equal => since = since.max(Some(resume.hour)),
                    std::cmp::Ordering::Greater => {}
                }
            }
            hours.extend(
                listing::staged_hours(
                    &self.bucket,
                    &self.staging,
                    &distribution,
                    since,
                    window.until,
                )
                .await?,
            );
        }
        Ok(hours)
    }

    /// Rolls up every staged hour of the window whose staging objects
    /// changed, oldest first, until the window's deadline is near. An hour
    /// that fails is in the summary's failures, and the others go on.
    ///
    /// # Errors
    ///
    /// When listing the staged hours fails.
    pub async fn roll(&self, window: &RollupWindow) -> Result<RollupSummary, RollupError> {
        let mut summary = RollupSummary::default();
        let hours = self.staged_hours(window).await?;
        for hour in hours {
            let late = window
                .deadline
                .is_some_and(|deadline| Instant::now() + window.margin >= deadline);
            if late {
                summary.deferred.push(hour.partition);
                continue;
            }
            match self.roll_hour(&hour).await {
                Ok(rolled) => summary.hours.push(rolled),
                Err(error) => {
                    tracing::warn!(hour = %hour.partition.path(), %error, "the hour was not rolled up");
                    summary.failures.push(HourFailure {
                        partition: hour.partition,
                        error,
                    });
                }
            }
        }
        Ok(summary)
    }

    /// Rolls up each of `partitions` (the hours a run wrote, say), in turn,
    /// whatever the deadline; an hour with nothing staged is left alone.
    pub async fn roll_partitions(&self, partitions: &[Partition]) -> RollupSummary {
        let mut summary = RollupSummary::default();
        for partition in partitions {
            let rolled = match listing::staged_hour(&self.bucket, &self.staging, partition).await {
                Ok(hour) if hour.objects.is_empty() => continue,
                Ok(hour) => self.roll_hour(&hour).await,
                Err(error) => Err(error),
            };
            match rolled {
                Ok(rolled) => summary.hours.push(rolled),
                Err(error) => summary.failures.push(HourFailure {
                    partition: partition.clone(),
                    error,
                }),
            }
        }
        summary
    }

    /// The partition of a staging object's key, if it is one.
    pub fn staged_partition(&self, key: &str) -> Option<Partition> {
        listing::parse_key(&self.staging, key).map(|(partition, _)| partition)
    }

    /// Rolls up one hour: writes each part whose fingerprint changed, in
    /// order, then deletes the parts left over past the last.
    ///
    /// # Errors
    ///
    /// When a request fails, a staging object is not the table's Parquet,
    /// or the hour's staging objects are fewer than its parts hold
    /// ([`RollupError::StagingShrank`]). The parts written before stay;
    /// the others are as they were.
    pub async fn roll_hour(&self, hour: &StagedHour) -> Result<HourRollup, RollupError> {
        let partition = &hour.partition;
        let sizes: Vec<u64> = hour.objects.iter().map(|o| o.size).collect();
        let plan = plan_parts(&sizes, self.options.parts.get_part_input_bytes());
        let existing = listing::rolled_parts(&self.bucket, &self.table, partition).await?;
        let mut previous = HashMap::new();
        let mut rolled_inputs = 0;
        for (number, key) in &existing {
            let metadata = self.head(key).await?;
            rolled_inputs += metadata
                .get(INPUTS_KEY)
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            previous.insert(*number, metadata.get(FINGERPRINT_KEY).cloned());
        }
        if rolled_inputs > hour.objects.len() {
            return Err(RollupError::StagingShrank {
                hour: partition.path(),
                rolled: rolled_inputs,
                staged: hour.objects.len(),
            });
        }
        let mut parts = Vec::with_capacity(plan.len());
        for (number, range) in plan.iter().enumerate() {
            let inputs = &hour.objects[range.clone()];
            let key = self.part_key(partition, number);
            let fingerprint = self.fingerprint(inputs);
            if previous.get(&number).and_then(Option::as_ref) == Some(&fingerprint) {
                parts.push(RolledPart {
                    key,
                    inputs: inputs.len(),
                    written: false,
                    rows: 0,
                    bytes: 0,
                });
                continue;
            }
            parts.push(self.write_part(key, inputs, fingerprint).await?);
        }
        let mut deleted = Vec::new();
        for (number, key) in existing {
            if number >= plan.len() {
                self.bucket
                    .client
                    .delete_object()
                    .bucket(&self.bucket.name)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| {
                        RollupError::Delete(RequestError::new("DeleteObject", self.uri(&key), e))
                    })?;
                deleted.push(key);
            }
        }
        Ok(HourRollup {
            partition: partition.clone(),
            parts,
            deleted,
        })
    }

    /// What a part is made from: the rollup's version and settings, and
    /// each input's key, ETag and size, in order.
    fn fingerprint(&self, inputs: &[StagedObject]) -> String {
        let mut hash = Sha256::new();
        hash.update(concat!("cflog-rollup ", env!("CARGO_PKG_VERSION"), "\n"));
        hash.update(format!("{:?}\n", self.options.parts));
        for input in inputs {
            // S3 lists each object's ETag; a server that lists none (some
            // S3-compatible ones) has the object's time stand for it.
            let version = match input.etag.is_empty() {
                true => input.arrived_ms.to_string(),
                false => input.etag.clone(),
            };
            hash.update(format!("{}\t{version}\t{}\n", input.key, input.size));
        }
        let digest = hash.finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The user metadata of the object at `key`.
    async fn head(&self, key: &str) -> Result<HashMap<String, String>, RollupError> {
        let head = self
            .bucket
            .client
            .head_object()
            .bucket(&self.bucket.name)
            .key(key)
            .send()
            .await
            .map_err(|e| RollupError::Head(RequestError::new("HeadObject", self.uri(key), e)))?;
        Ok(head.metadata.unwrap_or_default())
    }

    /// Reads `inputs` one at a time into a new part of the first input's
    /// columns, streamed up as it is written, with its fingerprint in its
    /// metadata.
    async fn write_part(
        &self,
        key: String,
        inputs: &[StagedObject],
        fingerprint: String,
    ) -> Result<RolledPart, RollupError> {
        let metadata = HashMap::from([
            (FINGERPRINT_KEY.to_owned(), fingerprint),
            (INPUTS_KEY.to_owned(), inputs.len().to_string()),
        ]);
        let mut upload = Upload::new(Arc::clone(&self.bucket), key.clone()).with_metadata(metadata);
        let mut writer = None;
        let written = self.fill(&mut writer, &key, &mut upload, inputs).await;
        let finished = match written {
            Ok(()) => writer.map(RollupWriter::finish),
            Err(error) => {
                upload.abandon().await;
                return Err(error);
            }
        };
        let (rest, stats) = match finished {
            Some(Ok(finished)) => finished,
            Some(Err(error)) => {
                upload.abandon().await;
                return Err(self.encode_error(&key, error));
            }
            // A plan's part has at least one input.
            None => {
                upload.abandon().await;
                return Ok(RolledPart {
                    key,
                    inputs: 0,
                    written: false,
                    rows: 0,
                    bytes: 0,
                });
            }
        };
        let bytes = upload.complete(rest).await?;
        Ok(RolledPart {
            key,
            inputs: inputs.len(),
            written: true,
            rows: stats.rows,
            bytes,
        })
    }

    fn encode_error(&self, key: &str, error: rollup::RollupError) -> RollupError {
        RollupError::Encode {
            bucket: self.bucket.name.clone(),
            key: key.to_owned(),
            error,
        }
    }

    /// Appends each input to the part, sending the part's bytes up as they
    /// pass the upload's part size, with at most two parts in flight. The
    /// part's writer is made for the first input's columns.
    async fn fill(
        &self,
        writer: &mut Option<RollupWriter<Vec<u8>>>,
        key: &str,
        upload: &mut Upload,
        inputs: &[StagedObject],
    ) -> Result<(), RollupError> {
        for input in inputs {
            let input_error = |error| RollupError::Input {
                bucket: self.bucket.name.clone(),
                key: input.key.clone(),
                error,
            };
            let body = self.get(input).await?;
            let part = match writer {
                Some(part) => part,
                None => {
                    let schema = match &body {
                        Staged::Memory(bytes) => rollup::input_schema(bytes),
                        Staged::Spooled(file) => rollup::input_schema(file),
                    }
                    .map_err(|error| input_error(rollup::RollupError::Input { input: 0, error }))?;
                    let input_bytes = inputs.iter().map(|input| input.size).sum();
                    let part = RollupWriter::with_schema(
                        Vec::new(),
                        ColumnSet::standard(),
                        schema,
                        self.options.parts.writer(input_bytes),
                    )
                    .map_err(|error| self.encode_error(key, error))?;
                    writer.insert(part)
                }
            };
            match body {
                Staged::Memory(bytes) => part.append(bytes),
                Staged::Spooled(file) => part.append(file),
            }
            .map_err(input_error)?;
            if part.output_mut().len() >= self.options.upload_part_bytes {
                upload.send_part(std::mem::take(part.output_mut()));
            }
            let max = self.options.max_parts_in_flight;
            poll_fn(|cx| match upload.poll_parts(cx) {
                Ok(in_flight) if in_flight > max => Poll::Pending,
                Ok(_) => Poll::Ready(Ok(())),
                Err(error) => Poll::Ready(Err(error)),
            })
            .await?;
        }
        Ok(())
    }

    /// The body of a staging object: in memory up to
    /// [`spool_bytes`](RollupOptions::spool_bytes), spooled to a temporary file (the function's `/tmp`)
    /// past it, so that one large object does not take its size in memory:
    /// the Parquet reader then reads one row group's columns at a time.
    async fn get(&self, input: &StagedObject) -> Result<Staged, RollupError> {
        let key = &input.key;
        let object = self
            .bucket
            .client
            .get_object()
            .bucket(&self.bucket.name)
            .key(key)
            .send()
            .await
            .map_err(|e| RollupError::Get(RequestError::new("GetObject", self.uri(key), e)))?;
        let body_error = |error| RollupError::Body {
            bucket: self.bucket.name.clone(),
            key: key.to_owned(),
            error,
        };
        let mut body = object.body;
        if input.size <= self.options.spool_bytes {
            let body = body.collect().await.map_err(body_error)?;
            return Ok(Staged::Memory(body.into_bytes()));
        }
        let spool_error = |error: std::io::Error| RollupError::Spool {
            key: key.to_owned(),
            error,
        };
        let mut file = tempfile::tempfile().map_err(spool_error)?;
        while let Some(chunk) = body.try_next().await.map_err(body_error)? {
            file.write_all(&chunk).map_err(spool_error)?;
        }
        file.flush().map_err(spool_error)?;
        Ok(Staged::Spooled(file))
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket.name)
    }
}

#[cfg(test)]
mod tests {
    use super::rolled_up_staging;

    const HOUR: &str = "distribution=E2/year=2024/month=03/day=14/hour=21";

    #[test]
    fn only_staging_objects_of_an_hour_with_a_part_under_the_same_prefix_are_rolled_up() {
        let part = format!("cf/{HOUR}/part-00000.parquet");
        let staged = format!("cf/staging/{HOUR}/E2.2024-03-14-21.a1.parquet");
        let keys = [
            part.as_str(),
            staged.as_str(),
            // Another table's staging object of the same hour.
            &format!("other/staging/{HOUR}/E2.2024-03-14-21.a1.parquet"),
            // Another distribution's.
            "cf/staging/distribution=E3/year=2024/month=03/day=14/hour=21/E3.x.parquet",
            // A folder whose name only ends in `staging`.
            &format!("cf/prestaging/{HOUR}/E2.x.parquet"),
            // Logs of one's own staging site, outside cflog's layout.
            "logs/staging/E2.2024-03-14-21.a1.gz",
        ];
        assert_eq!(
            rolled_up_staging(&keys),
            [false, true, false, false, false, false]
        );
    }

    #[test]
    fn a_part_name_under_staging_or_another_name_in_the_table_is_no_part() {
        let keys = [
            format!("cf/staging/{HOUR}/part-00000.parquet"),
            format!("cf/{HOUR}/E2.2024-03-14-21.a1.parquet"),
            format!("cf/staging/{HOUR}/E2.2024-03-14-21.a1.parquet"),
        ];
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(rolled_up_staging(&keys), [false, false, false]);
    }

    #[test]
    fn a_table_at_the_root_and_local_paths_are_matched_alike() {
        let keys = [
            format!("{HOUR}/part-00001.parquet"),
            format!("staging/{HOUR}/E2.2024-03-14-21.a1.parquet"),
            format!("/tmp/out/{HOUR}/part-00000.parquet"),
            format!("/tmp/out/staging/{HOUR}/E2.2024-03-14-21.b2.parquet"),
        ];
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(rolled_up_staging(&keys), [false, true, false, true]);
    }
}
