//! The Lambda binary (`bootstrap`): configuration, what it names outside
//! the package (an HMAC key, a GeoIP database) and the clients are read and
//! built once, at cold start; every invocation goes to the handler.

use cflog_lambda::{Config, Handler, cold_start};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Required for the runtime to report errors to CloudWatch; honours
    // AWS_LAMBDA_LOG_LEVEL / RUST_LOG and AWS_LAMBDA_LOG_FORMAT.
    lambda_runtime::tracing::init_default_subscriber();

    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut s3 = aws_sdk_s3::config::Builder::from(&shared);
    // Local runs point AWS_ENDPOINT_URL at an S3-compatible server, which
    // needs path-style addressing.
    if std::env::var_os("CFLOG_S3_PATH_STYLE").is_some() {
        s3 = s3.force_path_style(true);
    }
    let s3 = aws_sdk_s3::Client::from_conf(s3.build());
    // The HMAC key and an s3:// GeoIP database, read once; then the
    // variables. A bad one stops the cold start with a message that names it.
    let lookup = |name: &str| std::env::var(name).ok();
    let started = std::time::Instant::now();
    let fetched = cold_start::fetch(&shared, &s3, lookup).await?;
    let config = Config::from_lookup_fetched(lookup, fetched)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "configuration read"
    );
    if let Some(realtime) = config
        .realtime
        .as_ref()
        .filter(|r| !r.unknown_fields.is_empty())
    {
        // Their place in a record is unknown, so every later column would
        // shift: records will be rejected until cflog knows these names.
        tracing::warn!(unknown = ?realtime.unknown_fields, "CFLOG_REALTIME_FIELDS names fields this version does not know");
    }
    // Every sink the configuration can name, the stream destinations'
    // clients made from the shared configuration.
    let handler = Handler::from_aws(&shared, s3, config)?;
    // A rollup near the timeout hands the hours left on to the function
    // itself (its name is Lambda's reserved variable).
    #[cfg(feature = "parquet")]
    let handler = match std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
        Ok(function) => handler.hands_over_to(cflog_lambda::rollup::LambdaHandover::new(
            aws_sdk_lambda::Client::new(&shared),
            function,
        )),
        Err(_) => handler,
    };
    let handler = &handler;

    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The rollup stops before the function's timeout.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let left = u128::from(event.context.deadline).saturating_sub(now_ms);
        let deadline = std::time::Instant::now()
            + std::time::Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX));
        handler.handle_until(event.payload, Some(deadline)).await
    }))
    .await
}
