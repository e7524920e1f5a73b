//! The AWS clients of a backfill, made from one shared configuration on one
//! small runtime: S3 (listing, the manifest), S3 Control (the job),
//! CloudFormation (the stack's outputs) and STS (the caller's account).
//!
//! Every request is a short call awaited in turn, so the runtime is
//! current-thread, driven by the command's own thread.

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::runtime::Runtime;

/// The region when the environment names none, as for `cflog s3://…`.
const FALLBACK_REGION: &str = "us-east-1";

/// The shared AWS configuration and a runtime to drive requests.
#[derive(Debug)]
pub struct Aws {
    runtime: Runtime,
    config: SdkConfig,
    path_style: bool,
}

impl Aws {
    /// Loads the standard AWS environment (credentials, profile, region,
    /// `AWS_ENDPOINT_URL` and its per-service forms such as
    /// `AWS_ENDPOINT_URL_S3`).
    ///
    /// # Errors
    ///
    /// When the runtime cannot be started.
    pub fn load(path_style: bool) -> std::io::Result<Aws> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(RegionProviderChain::default_provider().or_else(FALLBACK_REGION))
                .load(),
        );
        Ok(Aws {
            runtime,
            config,
            path_style,
        })
    }

    /// Runs one request (or a few, in turn) to its end.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The configured region.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|region| region.as_ref())
    }

    /// An S3 client.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.path_style)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// An S3 Control client.
    pub fn s3_control(&self) -> aws_sdk_s3control::Client {
        aws_sdk_s3control::Client::new(&self.config)
    }

    /// A CloudFormation client.
    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    /// An STS client.
    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }
}

/// An AWS error in one line, or with `--verbose` its whole chain of causes
/// and the SDK's debug form.
pub fn describe<E>(err: &cflog_pipeline::s3::RequestError<E>, verbose: bool) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match verbose {
        true => format!("{err}\n{}", err.detail()),
        false => err.to_string(),
    }
}
