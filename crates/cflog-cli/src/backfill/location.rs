//! Where things are: `s3://bucket/prefix` URIs, and what an ARN says.

use std::fmt;

/// `s3://bucket/prefix`; the prefix may be empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Uri {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, as given.
    pub prefix: String,
}

impl S3Uri {
    /// Reads `s3://bucket` or `s3://bucket/prefix`.
    ///
    /// # Errors
    ///
    /// When the text is not such a URI.
    pub fn parse(text: &str) -> Result<S3Uri, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{text}: expected s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{text}: expected s3://bucket/prefix"));
        }
        Ok(S3Uri {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The same place as a folder: the prefix ends with `/` unless it is
    /// empty (the bucket's root).
    pub fn folder(mut self) -> S3Uri {
        if !self.prefix.is_empty() && !self.prefix.ends_with('/') {
            self.prefix.push('/');
        }
        self
    }

    /// Whether `key` of `bucket` lies under this prefix.
    pub fn holds(&self, bucket: &str, key: &str) -> bool {
        self.bucket == bucket && key.starts_with(&self.prefix)
    }

    /// The ARN of the bucket in `partition` (`aws`…), as S3 Control names
    /// report buckets.
    pub fn bucket_arn(&self, partition: &str) -> String {
        format!("arn:{partition}:s3:::{}", self.bucket)
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// The region and account of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArnParts<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`…
    pub partition: &'a str,
    /// The region; empty for global resources.
    pub region: &'a str,
    /// The 12-digit account ID.
    pub account: &'a str,
}

/// Reads the parts of a Lambda function's ARN.
///
/// # Errors
///
/// When `arn` is not `arn:…:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
pub fn function_arn(arn: &str) -> Result<ArnParts<'_>, String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let shape_ok = matches!(parts.as_slice(),
        ["arn", partition, "lambda", region, account, "function", name, ..]
            if !partition.is_empty() && !region.is_empty() && !name.is_empty()
                && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        && parts.len() <= 8;
    if !shape_ok {
        return Err(format!(
            "{arn}: expected a Lambda function ARN, arn:aws:lambda:REGION:ACCOUNT:function:NAME"
        ));
    }
    Ok(ArnParts {
        partition: parts[1],
        region: parts[3],
        account: parts[4],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris() {
        let uri = S3Uri::parse("s3://logs/cf/E2").unwrap();
        assert_eq!(
            (uri.bucket.as_str(), uri.prefix.as_str()),
            ("logs", "cf/E2")
        );
        assert_eq!(uri.clone().folder().prefix, "cf/E2/");
        assert_eq!(S3Uri::parse("s3://logs").unwrap().folder().prefix, "");
        assert_eq!(
            S3Uri::parse("s3://logs/").unwrap().to_string(),
            "s3://logs/"
        );
        assert!(uri.holds("logs", "cf/E2.2024"));
        assert!(!uri.holds("other", "cf/E2.2024"));
        assert_eq!(uri.bucket_arn("aws"), "arn:aws:s3:::logs");
        for bad in ["logs/cf", "s3://", "s3:///cf", "https://logs/cf"] {
            assert!(S3Uri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn function_arns_give_region_and_account() {
        let parts = function_arn("arn:aws:lambda:eu-west-1:111122223333:function:cflog").unwrap();
        assert_eq!((parts.region, parts.account), ("eu-west-1", "111122223333"));
        let parts =
            function_arn("arn:aws-cn:lambda:cn-north-1:111122223333:function:cflog:live").unwrap();
        assert_eq!(parts.partition, "aws-cn");
        for bad in [
            "cflog",
            "arn:aws:lambda:eu-west-1:1111:function:cflog",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:eu-west-1:111122223333:function:",
            "arn:aws:lambda::111122223333:function:cflog",
            "arn:aws:lambda:eu-west-1:111122223333:function:cflog:live:extra",
        ] {
            assert!(function_arn(bad).is_err(), "{bad}");
        }
    }
}
