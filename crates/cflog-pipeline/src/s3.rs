//! Streaming log objects from S3.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;

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

/// Why an object could not be processed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The object does not exist (any more). Retrying cannot help.
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// S3 refused or failed the request: a 5xx, throttling, a timeout, a
    /// permission problem.
    #[error("GetObject s3://{bucket}/{key} failed: {message}")]
    Request {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The SDK error with its whole chain of causes.
        message: String,
    },
    /// Reading or decoding the body failed.
    #[error("s3://{bucket}/{key}: {source}")]
    Body {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What failed.
        source: InputError,
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
) -> Result<Summary, ObjectError> {
    let response = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|err| {
            if is_not_found(&err) {
                ObjectError::NotFound {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }
            } else {
                ObjectError::Request {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    message: DisplayErrorContext(&err).to_string(),
                }
            }
        })?;
    let body = response.body.into_async_read();
    let mut pipeline = Pipeline::new(options, sink);
    run_async(body, &mut pipeline)
        .await
        .map_err(|source| ObjectError::Body {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source,
            summary: Box::new(pipeline.summary()),
        })
}

fn is_not_found(err: &SdkError<GetObjectError>) -> bool {
    err.as_service_error()
        .is_some_and(GetObjectError::is_no_such_key)
}

/// Lists the keys under `prefix` in `bucket`, in S3's (lexicographic) order.
///
/// # Errors
///
/// When a ListObjectsV2 request fails; the message carries the SDK error's
/// whole chain of causes.
pub async fn list_keys(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| {
            format!(
                "ListObjectsV2 s3://{bucket}/{prefix} failed: {}",
                DisplayErrorContext(&err)
            )
        })?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_owned)),
        );
    }
    Ok(keys)
}
