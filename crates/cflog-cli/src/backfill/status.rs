//! `cflog backfill status JOB`: a job's progress, from DescribeJob.

use std::fmt::Write as _;
use std::time::Duration;

use aws_sdk_s3control::operation::describe_job::DescribeJobError;
use aws_sdk_s3control::types::{JobDescriptor, JobStatus};
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
use cflog_pipeline::s3::RequestError;

use super::aws::Aws;
use super::estimate::Span;

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// STS GetCallerIdentity failed.
    #[error(transparent)]
    Caller(#[from] RequestError<GetCallerIdentityError>),
    /// DescribeJob failed.
    #[error(transparent)]
    Describe(#[from] RequestError<DescribeJobError>),
    /// An answer lacked what it always has.
    #[error("{0} answered without {1}")]
    Incomplete(&'static str, &'static str),
}

/// The caller's account, from STS.
///
/// # Errors
///
/// See [`StatusError`].
pub fn caller_account(aws: &Aws) -> Result<String, StatusError> {
    let client = aws.sts();
    let identity = aws
        .block_on(client.get_caller_identity().send())
        .map_err(|e| RequestError::new("GetCallerIdentity", "the caller".into(), e))?;
    identity
        .account()
        .map(str::to_owned)
        .ok_or(StatusError::Incomplete("GetCallerIdentity", "an account"))
}

/// The job's description.
///
/// # Errors
///
/// See [`StatusError`].
pub fn describe(aws: &Aws, account_id: &str, job_id: &str) -> Result<JobDescriptor, StatusError> {
    let client = aws.s3_control();
    let response = aws
        .block_on(
            client
                .describe_job()
                .account_id(account_id)
                .job_id(job_id)
                .send(),
        )
        .map_err(|e| RequestError::new("DescribeJob", format!("job {job_id}"), e))?;
    response
        .job
        .ok_or(StatusError::Incomplete("DescribeJob", "a job"))
}

/// The job as people read it:
///
/// ```text
/// Job       00e123a4-c0d8-41f4-a0eb-b46f9ba5b07c: Active
///           cflog backfill of s3://logs/cf/: 1200 objects
/// Tasks     1200: 830 succeeded, 2 failed, 368 left (69.3 % done)
/// Active    14 min
/// Report    s3://logs/cflog/reports/job-00e123a4-c0d8-41f4-a0eb-b46f9ba5b07c/ (all tasks)
/// ```
pub fn render(job: &JobDescriptor) -> String {
    let mut out = String::new();
    let id = job.job_id().unwrap_or("?");
    let status = job.status().map_or("unknown", JobStatus::as_str);
    let _ = writeln!(out, "Job       {id}: {status}");
    if let Some(description) = job.description().filter(|d| !d.is_empty()) {
        let _ = writeln!(out, "          {description}");
    }
    if let Some(reason) = job.status_update_reason().filter(|r| !r.is_empty()) {
        let _ = writeln!(out, "Reason    {reason}");
    }
    if let Some(cause) = job.suspended_cause().filter(|c| !c.is_empty()) {
        let _ = writeln!(out, "Suspended {cause}");
    }
    if let Some(progress) = job.progress_summary() {
        let total = progress.total_number_of_tasks().unwrap_or(0);
        let succeeded = progress.number_of_tasks_succeeded().unwrap_or(0);
        let failed = progress.number_of_tasks_failed().unwrap_or(0);
        let left = (total - succeeded - failed).max(0);
        let done = match total {
            0 => 0.0,
            total => (succeeded + failed) as f64 * 100.0 / total as f64,
        };
        let _ = writeln!(
            out,
            "Tasks     {total}: {succeeded} succeeded, {failed} failed, {left} left ({done:.1} % done)"
        );
        if let Some(active) = progress
            .timers()
            .and_then(|timers| timers.elapsed_time_in_active_seconds())
            .and_then(|s| u64::try_from(s).ok())
        {
            let _ = writeln!(out, "Active    {}", Span(Duration::from_secs(active)));
        }
    }
    for failure in job.failure_reasons() {
        let _ = writeln!(
            out,
            "Failure   {}: {}",
            failure.failure_code().unwrap_or("?"),
            failure.failure_reason().unwrap_or("")
        );
    }
    if let Some(report) = job.report().filter(|r| r.enabled())
        && let Some(bucket) = report.bucket()
    {
        let bucket = bucket.rsplit(':').next().unwrap_or(bucket);
        let prefix = match report.prefix().filter(|p| !p.is_empty()) {
            Some(prefix) => format!("{prefix}/"),
            None => String::new(),
        };
        let scope = match report.report_scope().map(|s| s.as_str()) {
            Some("FailedTasksOnly") => "failed tasks",
            _ => "all tasks",
        };
        let _ = writeln!(out, "Report    s3://{bucket}/{prefix}job-{id}/ ({scope})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3control::types::{
        JobFailure, JobProgressSummary, JobReport, JobReportScope, JobTimers,
    };

    #[test]
    fn a_job_under_way() {
        let job = JobDescriptor::builder()
            .job_id("00e1")
            .status(JobStatus::Active)
            .description("cflog backfill of s3://logs/cf/: 1200 objects")
            .progress_summary(
                JobProgressSummary::builder()
                    .total_number_of_tasks(1200)
                    .number_of_tasks_succeeded(830)
                    .number_of_tasks_failed(2)
                    .timers(
                        JobTimers::builder()
                            .elapsed_time_in_active_seconds(840)
                            .build(),
                    )
                    .build(),
            )
            .report(
                JobReport::builder()
                    .bucket("arn:aws:s3:::logs")
                    .enabled(true)
                    .prefix("cflog/reports")
                    .report_scope(JobReportScope::AllTasks)
                    .build(),
            )
            .failure_reasons(
                JobFailure::builder()
                    .failure_code("Lambda.Throttled")
                    .failure_reason("slow down")
                    .build(),
            )
            .build();
        assert_eq!(
            render(&job),
            "Job       00e1: Active\n\
             \x20         cflog backfill of s3://logs/cf/: 1200 objects\n\
             Tasks     1200: 830 succeeded, 2 failed, 368 left (69.3 % done)\n\
             Active    14 min\n\
             Failure   Lambda.Throttled: slow down\n\
             Report    s3://logs/cflog/reports/job-00e1/ (all tasks)\n"
        );
    }

    #[test]
    fn a_new_job_has_little_to_say() {
        let job = JobDescriptor::builder()
            .job_id("j")
            .status(JobStatus::New)
            .build();
        assert_eq!(render(&job), "Job       j: New\n");
    }
}
