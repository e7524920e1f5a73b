//! What the configuration names outside the package, fetched once at cold
//! start, before [`Config::from_lookup_fetched`](crate::Config::from_lookup_fetched)
//! builds the contract from it:
//!
//! - the HMAC key of `CFLOG_IP_PRIVACY=hmac`, from the Secrets Manager
//!   secret or the SSM `SecureString` parameter that
//!   `CFLOG_IP_HMAC_KEY_SECRET` names. The key is never the value of a
//!   variable: a function's variables are readable by anyone who may read
//!   its configuration, and a template would hold it in plain text.
//! - a GeoIP database given as `CFLOG_GEOIP_DB=s3://bucket/key`, read whole
//!   into memory, at most [`MAX_GEOIP_DB_BYTES`].
//!
//! A failure fails the cold start with a message that names the variable
//! and the secret, parameter or object, so the function never runs with
//! addresses in the clear or without the countries it was configured for.
//!
//! ```no_run
//! # async fn cold_start() -> Result<(), cflog_lambda::config::ConfigError> {
//! let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let s3 = aws_sdk_s3::Client::new(&shared);
//! let lookup = |name: &str| std::env::var(name).ok();
//! let fetched = cflog_lambda::cold_start::fetch(&shared, &s3, lookup).await?;
//! let config = cflog_lambda::Config::from_lookup_fetched(lookup, fetched)?;
//! # Ok(()) }
//! ```

use std::fmt;

use aws_smithy_types::error::display::DisplayErrorContext;

use crate::error::ConfigError;

/// The largest GeoIP database read from S3: DB-IP Lite country is about
/// 8 MiB and a city database with AS numbers about 150 MiB; the function's
/// memory holds the whole file.
pub const MAX_GEOIP_DB_BYTES: u64 = 256 << 20;

/// The largest HMAC key taken (Secrets Manager's own limit is 64 KiB).
const MAX_KEY_BYTES: usize = 4096;

/// The variable that names the HMAC key's secret or parameter.
pub const KEY_SECRET_VARIABLE: &str = "CFLOG_IP_HMAC_KEY_SECRET";

/// What [`fetch`] read; empty when the configuration names nothing outside
/// the package.
#[derive(Default)]
pub struct Fetched {
    /// The HMAC key's bytes, and where they came from.
    pub(crate) hmac_key: Option<(KeySource, Vec<u8>)>,
    /// The GeoIP database's `s3://` URI and bytes.
    pub(crate) geoip_db: Option<(String, Vec<u8>)>,
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Fetched")
            .field(
                "hmac_key",
                &self.hmac_key.as_ref().map(|(source, _)| source),
            )
            .field(
                "geoip_db",
                &self
                    .geoip_db
                    .as_ref()
                    .map(|(uri, bytes)| (uri, bytes.len())),
            )
            .finish()
    }
}

/// Where `CFLOG_IP_HMAC_KEY_SECRET` says the key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A Secrets Manager secret, by ARN: its `SecretString` or
    /// `SecretBinary`.
    SecretsManager(String),
    /// An SSM parameter of type `SecureString`, by name (`/cflog/ip-key`)
    /// or ARN.
    Ssm(String),
}

impl KeySource {
    /// The source a value of `CFLOG_IP_HMAC_KEY_SECRET` names: an ARN of
    /// Secrets Manager (`arn:aws:secretsmanager:…:secret:…`) or of SSM
    /// (`arn:aws:ssm:…:parameter/…`), or a parameter's name.
    ///
    /// ```
    /// use cflog_lambda::cold_start::KeySource;
    /// let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cflog-ip-key-AbCdEf";
    /// assert_eq!(KeySource::parse(arn)?, KeySource::SecretsManager(arn.into()));
    /// assert_eq!(KeySource::parse("/cflog/ip-key")?, KeySource::Ssm("/cflog/ip-key".into()));
    /// assert!(KeySource::parse("arn:aws:s3:::bucket/key").is_err());
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    ///
    /// For an ARN of another service.
    pub fn parse(value: &str) -> Result<KeySource, String> {
        if !value.starts_with("arn:") {
            return Ok(KeySource::Ssm(value.to_owned()));
        }
        match value.split(':').nth(2) {
            Some("secretsmanager") => Ok(KeySource::SecretsManager(value.to_owned())),
            Some("ssm") => Ok(KeySource::Ssm(value.to_owned())),
            _ => Err(format!(
                "expected the ARN of a Secrets Manager secret or of an SSM parameter, or a parameter's name, got {value:?}"
            )),
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::SecretsManager(arn) => write!(f, "secret {arn}"),
            KeySource::Ssm(name) => write!(f, "SSM parameter {name}"),
        }
    }
}

/// Reads what the variables of `lookup` name outside the package: the HMAC
/// key when `CFLOG_IP_PRIVACY=hmac` and `CFLOG_IP_HMAC_KEY_SECRET` is set,
/// the database when `CFLOG_GEOIP_DB` is an `s3://` URI. Clients are made
/// from `shared`; the database is read with `s3`.
///
/// # Errors
///
/// A source that cannot be read, or holds no usable value, naming the
/// variable and the source.
pub async fn fetch(
    shared: &aws_config::SdkConfig,
    s3: &aws_sdk_s3::Client,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Fetched, ConfigError> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut fetched = Fetched::default();
    if get("CFLOG_IP_PRIVACY").as_deref() == Some("hmac")
        && let Some(value) = get(KEY_SECRET_VARIABLE)
    {
        let fail = |message| ConfigError {
            variable: KEY_SECRET_VARIABLE,
            message,
        };
        let source = KeySource::parse(&value).map_err(fail)?;
        let key = read_key(shared, &source)
            .await
            .map_err(|e| fail(format!("{source}: {e}")))?;
        fetched.hmac_key = Some((source, key));
    }
    if let Some(uri) = get("CFLOG_GEOIP_DB").filter(|v| v.starts_with("s3://")) {
        let fail = |message| ConfigError {
            variable: "CFLOG_GEOIP_DB",
            message,
        };
        let (bucket, key) = split_s3_uri(&uri)
            .ok_or_else(|| fail(format!("expected s3://bucket/key, got {uri:?}")))?;
        let bytes = read_object(s3, bucket, key, MAX_GEOIP_DB_BYTES)
            .await
            .map_err(|e| fail(format!("{uri}: {e}")))?;
        fetched.geoip_db = Some((uri, bytes));
    }
    Ok(fetched)
}

/// The key's bytes, less one trailing line break (as a key file's).
#[cfg(feature = "secrets")]
async fn read_key(shared: &aws_config::SdkConfig, source: &KeySource) -> Result<Vec<u8>, String> {
    let key = match source {
        KeySource::SecretsManager(arn) => {
            let client = aws_sdk_secretsmanager::Client::new(shared);
            let out = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| format!("GetSecretValue failed: {}", DisplayErrorContext(e)))?;
            match (out.secret_string(), out.secret_binary()) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(blob)) => blob.as_ref().to_vec(),
                (None, None) => return Err("the secret has no value".into()),
            }
        }
        KeySource::Ssm(name) => {
            let client = aws_sdk_ssm::Client::new(shared);
            let out = client
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| format!("GetParameter failed: {}", DisplayErrorContext(e)))?;
            let parameter = out
                .parameter()
                .ok_or("GetParameter returned no parameter")?;
            match parameter.r#type() {
                Some(aws_sdk_ssm::types::ParameterType::SecureString) => {}
                other => {
                    // A plain String parameter is readable by anyone who may
                    // describe parameters, and is stored unencrypted.
                    let kind = other.map_or("untyped", |t| t.as_str());
                    return Err(format!(
                        "is a {kind} parameter; the key must be a SecureString"
                    ));
                }
            }
            parameter
                .value()
                .ok_or("the parameter has no value")?
                .as_bytes()
                .to_vec()
        }
    };
    key_bytes(key)
}

/// Without the `secrets` feature there is no client to read a key with.
#[cfg(not(feature = "secrets"))]
async fn read_key(_: &aws_config::SdkConfig, _: &KeySource) -> Result<Vec<u8>, String> {
    Err("this build has no Secrets Manager or SSM client (feature `secrets`)".into())
}

/// A key as read, bounded, less one trailing line break.
#[cfg_attr(not(feature = "secrets"), allow(dead_code))]
fn key_bytes(mut key: Vec<u8>) -> Result<Vec<u8>, String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_KEY_BYTES} a key may have",
            key.len()
        ));
    }
    for ending in [&b"\r\n"[..], b"\n"] {
        if key.ends_with(ending) {
            key.truncate(key.len() - ending.len());
            break;
        }
    }
    Ok(key)
}

/// `s3://bucket/key` as its bucket and key, both non-empty.
fn split_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// The whole object, refused when larger than `max` bytes (by its length,
/// and again while reading, should the length be missing).
async fn read_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    max: u64,
) -> Result<Vec<u8>, String> {
    let too_large = |len: u64| format!("{len} bytes, more than the {max} read at cold start");
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("GetObject failed: {}", DisplayErrorContext(e)))?;
    let len = out.content_length().and_then(|n| u64::try_from(n).ok());
    if let Some(len) = len.filter(|&len| len > max) {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len.unwrap_or(0) as usize);
    let mut body = out.body;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| format!("reading the object failed: {}", DisplayErrorContext(e)))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > max {
            return Err(too_large(bytes.len() as u64));
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris_need_a_bucket_and_a_key() {
        assert_eq!(
            split_s3_uri("s3://geo/dbip/country.mmdb"),
            Some(("geo", "dbip/country.mmdb"))
        );
        assert_eq!(split_s3_uri("s3://geo/"), None);
        assert_eq!(split_s3_uri("s3:///key"), None);
        assert_eq!(split_s3_uri("s3://geo"), None);
        assert_eq!(split_s3_uri("/opt/geo.mmdb"), None);
    }

    #[test]
    fn arns_of_other_services_are_refused() {
        let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/cflog/ip-key";
        assert_eq!(KeySource::parse(arn), Ok(KeySource::Ssm(arn.into())));
        assert!(KeySource::parse("arn:aws:kms:eu-west-1:123456789012:key/1").is_err());
    }
}
