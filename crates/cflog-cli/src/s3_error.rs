//! What a failed S3 request means to someone at a terminal, when the cause
//! is this machine's setup rather than S3's answer: no credentials, an
//! endpoint that does not answer, a bucket in another region. Each gets one
//! line that says what to do; the SDK's whole answer, hundreds of characters
//! of `Debug` output, is for `--verbose` only. Any other failure keeps the
//! line of `cflog_pipeline::s3::RequestError`: S3's code, message, HTTP
//! status and request id.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Where the S3 client sends its requests, as configured.
#[derive(Clone, Debug)]
pub struct Target {
    /// `AWS_ENDPOINT_URL` (or the profile's), when set.
    pub endpoint: Option<String>,
    /// The region requests are signed for.
    pub region: String,
}

/// The one line that says what to do about `err`, when its cause is one
/// this module knows.
pub fn explain<E>(err: &SdkError<E, HttpResponse>, target: &Target) -> Option<String>
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    if let Some(credentials) = causes(err).find_map(|e| e.downcast_ref::<CredentialsError>()) {
        return Some(match credentials {
            CredentialsError::CredentialsNotLoaded(_) => {
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                 or AWS_PROFILE (see `aws configure`)"
                    .into()
            }
            other => format!(
                "the AWS credentials could not be loaded ({}): check AWS_PROFILE and ~/.aws/config, \
                 or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                one_line(&other.to_string())
            ),
        });
    }
    let unreachable = match err {
        SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout(),
        SdkError::TimeoutError(_) => true,
        _ => false,
    };
    if unreachable {
        let cause = causes(err)
            .last()
            .map(|e| one_line(&e.to_string()))
            .unwrap_or_default();
        return Some(match &target.endpoint {
            Some(endpoint) => format!(
                "cannot reach S3 at {endpoint} ({cause}): check AWS_ENDPOINT_URL, and that the server there is running"
            ),
            None => format!(
                "cannot reach S3 in {} ({cause}): check the network connection, and AWS_REGION",
                target.region
            ),
        });
    }
    if let SdkError::ServiceError(service) = err {
        let status = service.raw().status().as_u16();
        let redirected = status == 301
            || matches!(
                service.err().code(),
                Some(
                    "PermanentRedirect"
                        | "AuthorizationHeaderMalformed"
                        | "IllegalLocationConstraintException"
                )
            );
        if redirected {
            let region = service.raw().headers().get("x-amz-bucket-region");
            return Some(match region {
                Some(region) if region != target.region => format!(
                    "the bucket is in the region {region}, not {}: set AWS_REGION={region}",
                    target.region
                ),
                _ => format!(
                    "the bucket is not in the region {}: set AWS_REGION to the bucket's region",
                    target.region
                ),
            });
        }
    }
    None
}

/// `err` and each of its causes, outermost first.
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

/// `text` on one line, and not longer than a line.
fn one_line(text: &str) -> String {
    const WIDTH: usize = 120;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(WIDTH) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn causes_are_shown_on_one_short_line() {
        assert_eq!(
            one_line("io error\n  Connection refused (os error 111)"),
            "io error Connection refused (os error 111)"
        );
        assert_eq!(one_line(&"x".repeat(200)).chars().count(), 121);
    }
}
