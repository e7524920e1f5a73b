//! S3 access: one client, and a small runtime that the sync workers borrow.
//!
//! Objects are streamed by the same code as the Lambda
//! (`cflog_pipeline::s3::process_object`). Workers are plain threads; each
//! one drives its object's future with [`Handle::block_on`], so gunzipping
//! and parsing run on the worker while the runtime's own thread only does
//! the network I/O.

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use cflog_pipeline::s3::{ObjectError, RequestError, list_keys, process_object};
use cflog_pipeline::sink::Sink;
use cflog_pipeline::{Options, Summary};
use tokio::runtime::{Handle, Runtime};

use crate::s3_error::{self, Target};

/// The region when the environment names none: S3's historical default, so
/// that `cflog s3://…` works without configuration for buckets there.
const FALLBACK_REGION: &str = "us-east-1";

/// An S3 client with the runtime it needs.
#[derive(Debug)]
pub struct S3 {
    runtime: Runtime,
    client: Client,
    target: Target,
}

impl S3 {
    /// A client configured from the standard AWS environment (credentials,
    /// profile, region, `AWS_ENDPOINT_URL`…). `path_style` addresses buckets
    /// as `http://host/bucket`, which S3-compatible servers need.
    ///
    /// # Errors
    ///
    /// When the runtime cannot be started.
    pub fn connect(path_style: bool) -> std::io::Result<S3> {
        // Network I/O only; parsing runs on the workers (see the module docs).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cflog-s3")
            .enable_all()
            .build()?;
        let shared = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(RegionProviderChain::default_provider().or_else(FALLBACK_REGION))
                .load(),
        );
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if path_style {
            config = config.force_path_style(true);
        }
        let client = Client::from_conf(config.build());
        let target = Target {
            endpoint: shared.endpoint_url().map(str::to_owned),
            region: shared
                .region()
                .map_or(FALLBACK_REGION.to_owned(), |region| region.to_string()),
        };
        Ok(S3 {
            runtime,
            client,
            target,
        })
    }

    /// Why `err` failed, in one line: what to do when the cause is this
    /// machine's setup (see [`s3_error`]), else S3's own answer. With
    /// `verbose`, the SDK's whole answer follows on the next lines.
    pub fn reason<E>(&self, err: &RequestError<E>, verbose: bool) -> String
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let reason =
            s3_error::explain(err.sdk_error(), &self.target).unwrap_or_else(|| err.reason());
        match verbose {
            true => format!("{reason}\n{}", err.detail()),
            false => reason,
        }
    }

    /// The keys under `prefix`, in key order.
    ///
    /// # Errors
    ///
    /// When listing fails.
    pub fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<String>, RequestError<ListObjectsV2Error>> {
        self.runtime
            .block_on(list_keys(&self.client, bucket, prefix))
    }

    /// Streams one object through a pipeline into `sink`, on the calling
    /// thread, which must not be one of the runtime's.
    ///
    /// # Errors
    ///
    /// See [`ObjectError`].
    pub fn process<S: Sink>(
        &self,
        bucket: &str,
        key: &str,
        options: &Options,
        sink: S,
    ) -> Result<Summary, ObjectError<S::Error>> {
        self.handle()
            .block_on(process_object(&self.client, bucket, key, options, sink))
    }

    /// The runtime the client's requests run on.
    pub fn handle(&self) -> &Handle {
        self.runtime.handle()
    }

    /// The client (the `s3://` output writes with it).
    #[cfg(feature = "parquet")]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Stops the runtime without waiting for idle connections to close.
    pub fn shutdown(self) {
        self.runtime.shutdown_background();
    }
}
