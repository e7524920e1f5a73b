//! The Batch Operations job: CreateJob with a LambdaInvoke operation over
//! the manifest, and a token that makes a retried command idempotent.

use aws_sdk_s3control::error::BuildError;
use aws_sdk_s3control::operation::create_job::CreateJobError;
use aws_sdk_s3control::types::{
    JobManifest, JobManifestFieldName, JobManifestFormat, JobManifestLocation, JobManifestSpec,
    JobOperation, JobReport, JobReportFormat, JobReportScope, LambdaInvokeOperation,
};
use cflog_pipeline::s3::RequestError;
use sha2::{Digest, Sha256};

use super::args::ReportScope;
use super::aws::Aws;
use super::location::S3Uri;
use super::manifest::hex;

/// The payload Batch Operations sends the function: 2.0 has the bucket's
/// name rather than its ARN (the function reads both 1.0 and 2.0).
pub const INVOCATION_SCHEMA: &str = "2.0";

/// Everything CreateJob is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRequest {
    /// The account that owns the job.
    pub account_id: String,
    /// `aws`, `aws-cn`…, for the ARNs of buckets and objects.
    pub partition: String,
    /// The function invoked per object.
    pub function_arn: String,
    /// The role Batch Operations runs as.
    pub role_arn: String,
    /// The manifest object.
    pub manifest: S3Uri,
    /// Its ETag, without quotes.
    pub manifest_etag: String,
    /// Where the report goes (a folder).
    pub report: S3Uri,
    /// Which tasks the report lists.
    pub report_scope: ReportScope,
    /// The job's priority.
    pub priority: i32,
    /// Whether the job waits for a confirmation.
    pub confirmation_required: bool,
    /// What the job is, for people (at most 256 characters).
    pub description: String,
    /// The idempotency token.
    pub token: String,
}

/// The token of a job: the SHA-256 of everything that makes it this job,
/// as 64 hex digits (S3 Control's limit). The same plan gives the same
/// token, so S3 Control answers a retried CreateJob with the job it
/// already made.
pub fn token(request: &JobRequest) -> String {
    let mut hasher = Sha256::new();
    for part in [
        request.account_id.as_str(),
        &request.function_arn,
        &request.role_arn,
        &request.manifest.to_string(),
        &request.manifest_etag,
        &request.report.to_string(),
        match request.report_scope {
            ReportScope::All => "all",
            ReportScope::Failed => "failed",
        },
        &request.priority.to_string(),
        if request.confirmation_required {
            "confirm"
        } else {
            "run"
        },
        INVOCATION_SCHEMA,
    ] {
        // The length first, so that no two lists of parts hash alike.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Why the job was not created.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A part of the request is missing (a bug).
    #[error("the CreateJob request is incomplete: {0}")]
    Build(#[from] BuildError),
    /// S3 Control refused or failed.
    #[error(transparent)]
    Request(#[from] RequestError<CreateJobError>),
    /// The answer had no job ID.
    #[error("CreateJob answered without a job ID")]
    NoJobId,
}

/// Creates the job and returns its ID.
///
/// # Errors
///
/// See [`JobError`].
pub fn create(aws: &Aws, request: &JobRequest) -> Result<String, JobError> {
    let operation = JobOperation::builder()
        .lambda_invoke(
            LambdaInvokeOperation::builder()
                .function_arn(&request.function_arn)
                .invocation_schema_version(INVOCATION_SCHEMA)
                .build(),
        )
        .build();
    let manifest = JobManifest::builder()
        .spec(
            JobManifestSpec::builder()
                .format(JobManifestFormat::S3BatchOperationsCsv20180820)
                .fields(JobManifestFieldName::Bucket)
                .fields(JobManifestFieldName::Key)
                .build()?,
        )
        .location(
            JobManifestLocation::builder()
                .object_arn(format!(
                    "arn:{}:s3:::{}/{}",
                    request.partition, request.manifest.bucket, request.manifest.prefix
                ))
                .e_tag(&request.manifest_etag)
                .build()?,
        )
        .build();
    // Batch Operations writes `<prefix>/job-<id>/…`: the prefix without its `/`.
    let report_prefix = request.report.prefix.trim_end_matches('/');
    let report = JobReport::builder()
        .bucket(request.report.bucket_arn(&request.partition))
        .format(JobReportFormat::ReportCsv20180820)
        .enabled(true)
        .set_prefix((!report_prefix.is_empty()).then(|| report_prefix.to_owned()))
        .report_scope(match request.report_scope {
            ReportScope::All => JobReportScope::AllTasks,
            ReportScope::Failed => JobReportScope::FailedTasksOnly,
        })
        .build();
    let client = aws.s3_control();
    let response = aws
        .block_on(
            client
                .create_job()
                .account_id(&request.account_id)
                .operation(operation)
                .manifest(manifest)
                .report(report)
                .priority(request.priority)
                .role_arn(&request.role_arn)
                .confirmation_required(request.confirmation_required)
                .description(&request.description)
                .client_request_token(&request.token)
                .send(),
        )
        .map_err(|e| {
            RequestError::new("CreateJob", format!("account {}", request.account_id), e)
        })?;
    response
        .job_id()
        .map(str::to_owned)
        .ok_or(JobError::NoJobId)
}

/// At most `limit` characters of `text`, cut at a character boundary.
pub fn truncated(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> JobRequest {
        JobRequest {
            account_id: "111122223333".into(),
            partition: "aws".into(),
            function_arn: "arn:aws:lambda:us-east-1:111122223333:function:cflog".into(),
            role_arn: "arn:aws:iam::111122223333:role/cflog-batch".into(),
            manifest: S3Uri::parse("s3://logs/cflog/manifests/backfill-0123.csv").unwrap(),
            manifest_etag: "0123abcd".into(),
            report: S3Uri::parse("s3://logs/cflog/reports/").unwrap(),
            report_scope: ReportScope::All,
            priority: 10,
            confirmation_required: false,
            description: "d".into(),
            token: String::new(),
        }
    }

    #[test]
    fn the_token_follows_the_plan_and_fits_s3_control() {
        let base = token(&request());
        assert_eq!(base.len(), 64);
        assert_eq!(token(&request()), base);
        // The description and the token field itself do not matter…
        let mut same = request();
        same.description = "other words".into();
        same.token = "x".into();
        assert_eq!(token(&same), base);
        // …everything that changes the job does.
        let changes: [fn(&mut JobRequest); 6] = [
            |r| r.manifest_etag = "ffff".into(),
            |r| r.role_arn.push('2'),
            |r| r.report_scope = ReportScope::Failed,
            |r| r.priority = 11,
            |r| r.confirmation_required = true,
            |r| r.report = S3Uri::parse("s3://logs/elsewhere/").unwrap(),
        ];
        for change in changes {
            let mut other = request();
            change(&mut other);
            assert_ne!(token(&other), base, "{other:?}");
        }
    }

    #[test]
    fn descriptions_are_cut_at_characters() {
        assert_eq!(truncated("ééé", 2), "éé");
        assert_eq!(truncated("ab", 256), "ab");
    }
}
