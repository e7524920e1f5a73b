//! Streaming log objects from S3.

use std::ops::ControlFlow;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;

use crate::input::{InputError, run_async};
use crate::pipeline::{Options, Pipeline};
use crate::sink::Sink;
use crate::summary::Summary;

/// Decodes an object key from an S3 event notification.
///
/// S3 sends keys form-URL-encoded: `+` is a space, then `%XX` escapes, so
/// `cf+logs/year%3D2025/E1.gz` is the object `cf logs/year=2025/E1.gz` (and a
/// literal `+` arrives as `%2B`). The event's `urlDecodedKey` is never filled
/// by S3, so this is the only way to the real key.
///
/// ```
/// use cflog_pipeline::s3::decode_event_key;
/// assert_eq!(decode_event_key("cf+logs/year%3D2025/E1.gz")?, "cf logs/year=2025/E1.gz");
/// assert_eq!(decode_event_key("a%2Bb/%C3%A9t%C3%A9.gz")?, "a+b/été.gz");
/// assert!(decode_event_key("bad%FF").is_err());
/// # Ok::<(), cflog_pipeline::s3::KeyError>(())
/// ```
///
/// # Errors
///
/// When the decoded key is not UTF-8 (S3 keys always are).
pub fn decode_event_key(key: &str) -> Result<String, KeyError> {
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| KeyError {
            key: key.to_owned(),
        })
}

/// An event key that does not decode to UTF-8.
#[derive(Debug, thiserror::Error)]
#[error("the object key {key:?} does not decode to UTF-8")]
pub struct KeyError {
    /// The key as the event had it.
    pub key: String,
}

/// What a failed S3 request means: whether a retry can help, and who has
/// to act when it cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestFailure {
    /// Throttling, a 5xx, a timeout or a dropped connection: a retry is
    /// likely to succeed.
    Transient,
    /// Access was denied or the credentials were refused (IAM, a bucket or
    /// key policy, expired or wrong keys): fix the permissions.
    AccessDenied,
    /// The object is in an archive storage class and must be restored
    /// before it can be read.
    Archived,
    /// Any other refusal, such as a bucket that does not exist or a bad
    /// request: retrying cannot help.
    Permanent,
}

impl RequestFailure {
    /// Whether a retry may succeed.
    pub fn is_transient(self) -> bool {
        self == RequestFailure::Transient
    }

    /// What S3's answer means. Without an answer (a timeout, a connection
    /// that failed), the failure is transient, unless the request could not
    /// even be built or sent as configured.
    fn of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> RequestFailure {
        let service = match err {
            SdkError::ServiceError(service) => service,
            SdkError::ConstructionFailure(_) => return RequestFailure::Permanent,
            SdkError::DispatchFailure(failure) if failure.is_user() => {
                return RequestFailure::Permanent;
            }
            _ => return RequestFailure::Transient,
        };
        let status = service.raw().status().as_u16();
        match service.err().code().unwrap_or_default() {
            "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestTimeout"
            | "RequestTimeTooSkewed"
            | "InternalError"
            | "ServiceUnavailable"
            | "TooManyRequests" => RequestFailure::Transient,
            "InvalidObjectState" => RequestFailure::Archived,
            "AccessDenied"
            | "AllAccessDisabled"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "AccountProblem" => RequestFailure::AccessDenied,
            _ if status >= 500 || status == 429 || status == 408 => RequestFailure::Transient,
            _ if status == 401 || status == 403 => RequestFailure::AccessDenied,
            _ => RequestFailure::Permanent,
        }
    }
}

/// A failed S3 request: the SDK's error, kept whole, and what it means.
///
/// Its `Display` is one line: the operation, the `s3://` URI, S3's error
/// code and message, the HTTP status and the request id, which is what
/// AWS support asks for. [`detail`](RequestError::detail) gives the SDK's
/// whole chain of causes, for debug output.
#[derive(Debug)]
pub struct RequestError<E> {
    operation: &'static str,
    uri: String,
    failure: RequestFailure,
    /// Boxed: the SDK's error holds the whole response.
    source: Box<SdkError<E, HttpResponse>>,
}

impl<E> RequestError<E>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    /// Wraps the SDK's error of `operation` (such as `PutObject`) on `uri`
    /// (such as `s3://bucket/key`). Any AWS SDK's errors fit, since they
    /// share the HTTP response type; the failure is read from S3's codes.
    pub fn new(operation: &'static str, uri: String, source: SdkError<E, HttpResponse>) -> Self {
        RequestError {
            operation,
            uri,
            failure: RequestFailure::of(&source),
            source: Box::new(source),
        }
    }

    /// What the failure means for a retry.
    pub fn failure(&self) -> RequestFailure {
        self.failure
    }

    /// S3's error code, such as `NoSuchBucket`, when S3 answered.
    pub fn code(&self) -> Option<&str> {
        self.source.code()
    }

    /// S3's request id, when S3 answered.
    pub fn request_id(&self) -> Option<&str> {
        self.source.request_id()
    }

    /// The HTTP status of S3's answer, when it answered.
    pub fn status(&self) -> Option<u16> {
        self.source.raw_response().map(|r| r.status().as_u16())
    }

    /// The SDK's error.
    pub fn sdk_error(&self) -> &SdkError<E, HttpResponse> {
        &self.source
    }

    /// The SDK's whole chain of causes and its debug form (response headers
    /// and body included): long, for debug output only.
    pub fn detail(&self) -> String {
        format!("{}\n{:#?}", DisplayErrorContext(&self.source), self.source)
    }
}

impl<E> std::fmt::Display for RequestError<E>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} failed: {}",
            self.operation,
            self.uri,
            self.reason()
        )
    }
}

impl<E> RequestError<E>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    /// The operation, such as `GetObject`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// Why the request failed, in one line, without the operation and the
    /// URI: S3's code, message, HTTP status and request id, or what kept
    /// S3 from answering.
    pub fn reason(&self) -> String {
        match &*self.source {
            SdkError::ServiceError(_) => {
                let mut reason = self.code().unwrap_or("an error without a code").to_owned();
                if let Some(message) = self.source.message() {
                    reason = format!("{reason}: {message}");
                }
                let status = self.status().unwrap_or_default();
                match self.request_id() {
                    Some(id) => format!("{reason} (HTTP {status}, request id {id})"),
                    None => format!("{reason} (HTTP {status})"),
                }
            }
            SdkError::TimeoutError(_) => "the request timed out".into(),
            // No answer from S3: the causes are short (a refused connection,
            // a DNS failure), and the only explanation there is.
            other => DisplayErrorContext(other).to_string(),
        }
    }
}

impl<E> std::error::Error for RequestError<E>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Why an object could not be processed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError<E> {
    /// The object does not exist (any more). Retrying cannot help.
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// S3 refused or failed the request; [`RequestError::failure`] says
    /// whether a retry can help.
    #[error(transparent)]
    Request(RequestError<GetObjectError>),
    /// Reading or decoding the body failed.
    #[error("s3://{bucket}/{key}: {source}")]
    Body {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What failed: the input, or the sink's output.
        source: InputError<E>,
        /// What was parsed before the failure.
        summary: Box<Summary>,
    },
}

/// Streams `s3://bucket/key` through a pipeline into `sink`: GetObject, the
/// body as a stream, gunzip by magic bytes, the parser, the sink. The object
/// is never held in memory.
///
/// # Errors
///
/// See [`ObjectError`].
pub async fn process_object<S: Sink>(
    client: &Client,
    bucket: &str,
    key: &str,
    options: &Options,
    sink: S,
) -> Result<Summary, ObjectError<S::Error>> {
    let response = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|err| {
            if is_not_found(&err) {
                return ObjectError::NotFound {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                };
            }
            let uri = format!("s3://{bucket}/{key}");
            ObjectError::Request(RequestError::new("GetObject", uri, err))
        })?;
    let mut pipeline = Pipeline::new(options, sink);
    read_body(client, bucket, key, response, &mut pipeline)
        .await
        .map_err(|source| ObjectError::Body {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source,
            summary: Box::new(pipeline.summary()),
        })
}

/// Reads an object's body through `pipeline`: as a stream, or when its
/// first bytes are Parquet's, by ranged GETs of its footer and row groups
/// (the stream is dropped after its first bytes).
async fn read_body<S: Sink>(
    client: &Client,
    bucket: &str,
    key: &str,
    response: GetObjectOutput,
    pipeline: &mut Pipeline<S>,
) -> Result<Summary, InputError<S::Error>> {
    #[cfg(feature = "parquet")]
    {
        use tokio::io::AsyncReadExt as _;
        let len = response
            .content_length()
            .and_then(|l| u64::try_from(l).ok());
        let etag = response.e_tag().map(str::to_owned);
        let mut body = response.body.into_async_read();
        let mut head = [0u8; 4];
        let mut n = 0;
        while n < head.len() {
            match body.read(&mut head[n..]).await {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => {
                    pipeline.abandon().await?;
                    return Err(InputError::Source(e));
                }
            }
        }
        let head = &head[..n];
        match len {
            Some(len) if crate::input::is_parquet(head) => {
                drop(body);
                let mut ranges = ObjectRanges {
                    client,
                    bucket,
                    key,
                    etag,
                };
                let mut fetched = 0;
                let result = crate::parquet::drive(&mut ranges, len, pipeline, &mut fetched).await;
                crate::parquet::end(pipeline, result, fetched).await
            }
            _ => run_async(tokio::io::AsyncReadExt::chain(head, body), pipeline).await,
        }
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = (client, bucket, key);
        run_async(response.body.into_async_read(), pipeline).await
    }
}

/// An object read by ranged GETs, each of the same version as the first
/// GET (`If-Match` its ETag): an object replaced meanwhile fails the read
/// instead of mixing two files.
#[cfg(feature = "parquet")]
struct ObjectRanges<'a> {
    client: &'a Client,
    bucket: &'a str,
    key: &'a str,
    etag: Option<String>,
}

#[cfg(feature = "parquet")]
impl crate::parquet::Ranges for ObjectRanges<'_> {
    async fn fetch(&mut self, range: std::ops::Range<u64>) -> std::io::Result<bytes::Bytes> {
        if range.is_empty() {
            return Ok(bytes::Bytes::new());
        }
        let response = self
            .client
            .get_object()
            .bucket(self.bucket)
            .key(self.key)
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .set_if_match(self.etag.clone())
            .send()
            .await
            .map_err(|e| {
                std::io::Error::other(format!(
                    "ranged GetObject of s3://{}/{} failed: {}",
                    self.bucket,
                    self.key,
                    DisplayErrorContext(&e)
                ))
            })?;
        let body = response
            .body
            .collect()
            .await
            .map_err(std::io::Error::other)?;
        Ok(body.into_bytes())
    }
}

fn is_not_found(err: &SdkError<GetObjectError>) -> bool {
    err.as_service_error()
        .is_some_and(GetObjectError::is_no_such_key)
}

/// Lists the keys under `prefix` in `bucket`, in S3's (lexicographic) order.
///
/// # Errors
///
/// When a ListObjectsV2 request fails.
pub async fn list_keys(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, RequestError<ListObjectsV2Error>> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| {
            RequestError::new("ListObjectsV2", format!("s3://{bucket}/{prefix}"), err)
        })?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_owned)),
        );
    }
    Ok(keys)
}

/// One object of a listing: its key and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedObject {
    /// The key.
    pub key: String,
    /// The size in bytes, as stored (compressed for `.gz` logs).
    pub size: u64,
}

/// Lists the objects under `prefix` in `bucket`, in S3's (lexicographic)
/// order, starting after the key `start_after` when given, and hands each
/// page (up to 1,000 objects) to `page` as it arrives, so that a listing of
/// millions of keys is never held in memory. `page` returns
/// [`ControlFlow::Break`] to stop the listing there.
///
/// # Errors
///
/// When a ListObjectsV2 request fails; the pages before it were handed over.
pub async fn list_objects(
    client: &Client,
    bucket: &str,
    prefix: &str,
    start_after: Option<&str>,
    mut page: impl FnMut(Vec<ListedObject>) -> ControlFlow<()>,
) -> Result<(), RequestError<ListObjectsV2Error>> {
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_start_after(start_after.map(str::to_owned))
        .into_paginator()
        .send();
    while let Some(response) = pages.next().await {
        let response = response.map_err(|err| {
            RequestError::new("ListObjectsV2", format!("s3://{bucket}/{prefix}"), err)
        })?;
        let objects = response
            .contents()
            .iter()
            .filter_map(|object| {
                Some(ListedObject {
                    key: object.key()?.to_owned(),
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                })
            })
            .collect();
        if page(objects).is_break() {
            break;
        }
    }
    Ok(())
}
