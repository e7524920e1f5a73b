//! One object's upload: a single PutObject when the object is small, else
//! a multipart upload whose parts go up while the object is still being
//! written. A multipart upload that fails is aborted, so a half-written
//! object is never visible: S3 shows an object only once its upload is
//! complete.
//!
//! Bodies are sent with an unsigned payload: each carries the SDK's CRC32
//! checksum, which S3 checks, and goes over TLS, so signing its SHA-256 as
//! well (the SDK's default) would hash every byte once more for nothing.
//! That hash was about 2 % of the function's CPU on the Parquet path, and
//! S3-compatible servers accept unsigned payloads too.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadError;
use aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadError;
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::operation::upload_part::UploadPartError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use cflog_pipeline::s3::{RequestError, RequestFailure};
use tokio::runtime::Handle;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

/// A failed upload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// PutObject of a small object failed.
    #[error(transparent)]
    Put(RequestError<PutObjectError>),
    /// CreateMultipartUpload failed.
    #[error(transparent)]
    Create(RequestError<CreateMultipartUploadError>),
    /// UploadPart failed (the upload was aborted).
    #[error(transparent)]
    Part(RequestError<UploadPartError>),
    /// CompleteMultipartUpload failed (the upload was aborted).
    #[error(transparent)]
    Complete(RequestError<CompleteMultipartUploadError>),
    /// S3 accepted a request but left out what its answer must hold.
    #[error("{operation} s3://{bucket}/{key}: S3's answer has no {missing}")]
    Incomplete {
        /// The operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What was missing, such as `UploadId`.
        missing: &'static str,
    },
    /// The task uploading a part panicked or was cancelled.
    #[error("s3://{bucket}/{key}: an upload task ended without an answer: {message}")]
    Task {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What the runtime said.
        message: String,
    },
}

impl UploadError {
    /// What the failure means for a retry.
    pub fn failure(&self) -> RequestFailure {
        match self {
            UploadError::Put(e) => e.failure(),
            UploadError::Create(e) => e.failure(),
            UploadError::Part(e) => e.failure(),
            UploadError::Complete(e) => e.failure(),
            UploadError::Incomplete { .. } | UploadError::Task { .. } => RequestFailure::Transient,
        }
    }
}

/// Where uploads go, shared by every upload of a destination.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    pub(crate) client: Client,
    pub(crate) name: String,
    /// The runtime the requests run on, whatever polls the sink.
    pub(crate) runtime: Handle,
}

type PartTask = JoinHandle<Result<CompletedPart, UploadError>>;

/// The upload of one object, fed its bytes in order.
pub(crate) struct Upload {
    bucket: Arc<Bucket>,
    key: String,
    /// The multipart upload's id, created with the first part.
    id: Arc<OnceCell<String>>,
    next_part: i32,
    /// Parts on their way, in part order.
    in_flight: Vec<PartTask>,
    done: Vec<CompletedPart>,
    /// The bytes sent as parts.
    bytes: u64,
    /// Whether the upload is complete or aborted: nothing is left to clean up.
    settled: bool,
    /// The object's user metadata (`x-amz-meta-*`), if any.
    metadata: Option<Arc<HashMap<String, String>>>,
    /// Whether a small object whose content is already there is left as it
    /// is ([`skip_unchanged`](Upload::skip_unchanged)).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    skip_unchanged: bool,
}

/// The user metadata key of a staged object's SHA-256, by which a second
/// upload of the same content is skipped.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) const CONTENT_SHA256_KEY: &str = "cflog-sha256";

impl Upload {
    pub(crate) fn new(bucket: Arc<Bucket>, key: String) -> Upload {
        Upload {
            bucket,
            key,
            id: Arc::new(OnceCell::new()),
            next_part: 1,
            in_flight: Vec::new(),
            done: Vec::new(),
            bytes: 0,
            settled: false,
            metadata: None,
            skip_unchanged: false,
        }
    }

    /// The upload of an object that is left as it is when it already holds
    /// the same bytes: a small object's PutObject carries the SHA-256 of
    /// its content in its metadata ([`CONTENT_SHA256_KEY`]), and is skipped
    /// when a HeadObject finds that hash. The object then keeps its
    /// `LastModified`, which is what the rollup orders staging objects by:
    /// a log file delivered again stays where it was in its hour, so the
    /// rolled parts are unchanged. (A multipart upload's content is known
    /// only at its end, and is always written.)
    #[cfg(feature = "parquet")]
    pub(crate) fn skip_unchanged(mut self, skip: bool) -> Upload {
        self.skip_unchanged = skip;
        self
    }

    /// The upload of an object with user metadata (`x-amz-meta-*`): set on
    /// its PutObject, or its CreateMultipartUpload. (Only the rollup sets
    /// any: without the `parquet` feature it has no caller.)
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn with_metadata(mut self, metadata: HashMap<String, String>) -> Upload {
        self.metadata = Some(Arc::new(metadata));
        self
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Sends `bytes` as the next part, in a task of its own: the first part
    /// creates the multipart upload. Every part but the last must be at
    /// least 5 MiB, which the caller sees to.
    pub(crate) fn send_part(&mut self, bytes: Vec<u8>) {
        let number = self.next_part;
        self.next_part += 1;
        self.bytes += bytes.len() as u64;
        let (bucket, key, id, metadata) = (
            Arc::clone(&self.bucket),
            self.key.clone(),
            Arc::clone(&self.id),
            self.metadata.clone(),
        );
        let task = self.bucket.runtime.spawn(async move {
            let id = id
                .get_or_try_init(|| create(&bucket, &key, metadata.as_deref()))
                .await?
                .clone();
            upload_part(&bucket, &key, &id, number, bytes).await
        });
        self.in_flight.push(task);
    }

    /// Polls the parts on their way, and gives how many are still on it.
    /// The waker is woken when one of them is done.
    pub(crate) fn poll_parts(&mut self, cx: &mut Context<'_>) -> Result<usize, UploadError> {
        let mut i = 0;
        while i < self.in_flight.len() {
            match Pin::new(&mut self.in_flight[i]).poll(cx) {
                Poll::Pending => i += 1,
                Poll::Ready(joined) => {
                    drop(self.in_flight.swap_remove(i));
                    let part = joined.map_err(|e| self.task_error(&e))??;
                    self.done.push(part);
                }
            }
        }
        Ok(self.in_flight.len())
    }

    /// Uploads `last`, the rest of the object, and completes the upload:
    /// the object is then visible, whole. Any failure aborts a multipart
    /// upload first. Returns the object's size.
    pub(crate) async fn complete(mut self, last: Vec<u8>) -> Result<u64, UploadError> {
        let result = self.try_complete(last).await;
        if result.is_err() {
            self.abort().await;
        }
        self.settled = true;
        result
    }

    async fn try_complete(&mut self, last: Vec<u8>) -> Result<u64, UploadError> {
        if self.next_part == 1 {
            let size = last.len() as u64;
            #[allow(unused_mut)] // Without the parquet feature, nothing is added.
            let mut metadata = self.metadata.as_deref().cloned();
            #[cfg(feature = "parquet")]
            if self.skip_unchanged {
                use sha2::{Digest, Sha256};
                let digest: String = Sha256::digest(&last)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if self.stored_sha256().await.as_deref() == Some(digest.as_str()) {
                    return Ok(size);
                }
                metadata
                    .get_or_insert_default()
                    .insert(CONTENT_SHA256_KEY.to_owned(), digest);
            }
            self.bucket
                .client
                .put_object()
                .bucket(&self.bucket.name)
                .key(&self.key)
                .set_metadata(metadata)
                .body(ByteStream::from(last))
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(|e| UploadError::Put(RequestError::new("PutObject", self.uri(), e)))?;
            return Ok(size);
        }
        if !last.is_empty() {
            self.send_part(last);
        }
        for task in std::mem::take(&mut self.in_flight) {
            let part = task.await.map_err(|e| self.task_error(&e))??;
            self.done.push(part);
        }
        let id = self
            .id
            .get()
            .cloned()
            .ok_or_else(|| self.incomplete("CreateMultipartUpload", "UploadId"))?;
        let mut parts = std::mem::take(&mut self.done);
        parts.sort_by_key(|part| part.part_number());
        self.bucket
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket.name)
            .key(&self.key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                UploadError::Complete(RequestError::new("CompleteMultipartUpload", self.uri(), e))
            })?;
        Ok(self.bytes)
    }

    /// The SHA-256 the object now at the key says it holds, if there is
    /// one and it says so. A HeadObject that fails (no such object, or no
    /// permission to read it) is taken for no hash: the object is written.
    #[cfg(feature = "parquet")]
    async fn stored_sha256(&self) -> Option<String> {
        let head = self
            .bucket
            .client
            .head_object()
            .bucket(&self.bucket.name)
            .key(&self.key)
            .send()
            .await
            .ok()?;
        head.metadata?.remove(CONTENT_SHA256_KEY)
    }

    /// Gives the upload up: aborted, if it was created, once its parts on
    /// their way have landed or failed.
    pub(crate) async fn abandon(mut self) {
        self.abort().await;
        self.settled = true;
    }

    /// Aborts the multipart upload, if one was created, once the parts on
    /// their way have landed or failed. A failed abort is only logged: the
    /// bucket's lifecycle rule removes the parts of an upload left
    /// incomplete.
    async fn abort(&mut self) {
        for task in std::mem::take(&mut self.in_flight) {
            let _ = task.await;
        }
        let Some(id) = self.id.get() else {
            return;
        };
        let aborted = self
            .bucket
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket.name)
            .key(&self.key)
            .upload_id(id)
            .send()
            .await;
        if let Err(error) = aborted {
            let error = RequestError::new("AbortMultipartUpload", self.uri(), error);
            tracing::warn!(%error, "the multipart upload was left for the bucket's lifecycle rule");
        }
    }

    fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket.name, self.key)
    }

    fn task_error(&self, error: &tokio::task::JoinError) -> UploadError {
        UploadError::Task {
            bucket: self.bucket.name.clone(),
            key: self.key.clone(),
            message: error.to_string(),
        }
    }

    fn incomplete(&self, operation: &'static str, missing: &'static str) -> UploadError {
        UploadError::Incomplete {
            operation,
            bucket: self.bucket.name.clone(),
            key: self.key.clone(),
            missing,
        }
    }
}

impl Drop for Upload {
    /// An upload dropped before it completed (its input's output failed)
    /// is aborted in the background.
    fn drop(&mut self) {
        if self.settled || self.next_part == 1 {
            return;
        }
        let mut rest = Upload {
            bucket: Arc::clone(&self.bucket),
            key: std::mem::take(&mut self.key),
            id: Arc::clone(&self.id),
            next_part: 1,
            in_flight: std::mem::take(&mut self.in_flight),
            done: Vec::new(),
            bytes: 0,
            settled: true,
            metadata: None,
            skip_unchanged: false,
        };
        self.bucket.runtime.spawn(async move { rest.abort().await });
    }
}

async fn create(
    bucket: &Bucket,
    key: &str,
    metadata: Option<&HashMap<String, String>>,
) -> Result<String, UploadError> {
    let uri = || format!("s3://{}/{key}", bucket.name);
    let created = bucket
        .client
        .create_multipart_upload()
        .bucket(&bucket.name)
        .key(key)
        .set_metadata(metadata.cloned())
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .map_err(|e| UploadError::Create(RequestError::new("CreateMultipartUpload", uri(), e)))?;
    created.upload_id.ok_or_else(|| UploadError::Incomplete {
        operation: "CreateMultipartUpload",
        bucket: bucket.name.clone(),
        key: key.to_owned(),
        missing: "UploadId",
    })
}

async fn upload_part(
    bucket: &Bucket,
    key: &str,
    id: &str,
    number: i32,
    bytes: Vec<u8>,
) -> Result<CompletedPart, UploadError> {
    let uri = || format!("s3://{}/{key} part {number}", bucket.name);
    let uploaded = bucket
        .client
        .upload_part()
        .bucket(&bucket.name)
        .key(key)
        .upload_id(id)
        .part_number(number)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from(bytes))
        .customize()
        .disable_payload_signing()
        .send()
        .await
        .map_err(|e| UploadError::Part(RequestError::new("UploadPart", uri(), e)))?;
    let etag = uploaded.e_tag.ok_or_else(|| UploadError::Incomplete {
        operation: "UploadPart",
        bucket: bucket.name.clone(),
        key: key.to_owned(),
        missing: "ETag",
    })?;
    Ok(CompletedPart::builder()
        .part_number(number)
        .e_tag(etag)
        .set_checksum_crc32(uploaded.checksum_crc32)
        .build())
}
