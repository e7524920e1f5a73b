//! What `cflog backfill` accepts.

use clap::{Args, Subcommand, ValueEnum};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The examples and rules of `cflog backfill --help`.
pub const EXAMPLES: &str = "\
Examples:
  What a week of logs would take, writing nothing:
    cflog backfill s3://my-log-bucket/cf/ --stack cflog \\
      --since 2025-03-01T00:00:00Z --until 2025-03-08T00:00:00Z --dry-run

  Start it: the manifest goes under the stack's BackfillPrefix and S3 Batch
  Operations invokes the stack's function once per object:
    cflog backfill s3://my-log-bucket/cf/ --stack cflog \\
      --since 2025-03-01T00:00:00Z --until 2025-03-08T00:00:00Z

  Follow the job it printed:
    cflog backfill status 00e123a4-c0d8-41f4-a0eb-b46f9ba5b07c

  One distribution of a v2 delivery, resuming after the last key a previous
  (stopped) listing reached:
    cflog backfill s3://my-log-bucket/v2/ --stack cflog --distribution E3EJA0CG95HSWP \\
      --start-after 'v2/DistributionId=E3EJA0CG95HSWP/year=2025/month=02/day=16/hour=10/x.gz'

Which objects:
  Every object under the prefix, in key order. With --since or --until, an
  object is taken when the hour in its key overlaps [since, until): until is
  exclusive, and an hour partly inside the range is taken. The hour is read
  from CloudFront's file name (E2ABCDEF.2025-03-01-17.a1b2c3d4.gz), else
  from a v2 path: .../2025/03/01/17/... or year=2025/month=03/day=01/hour=17
  (a path with the day alone stands for the whole day). Keys with no
  readable time are left out when a time filter is given, and counted.
  --distribution reads the ID from the file name, a DistributionId= segment
  or a path segment that is the ID. Folder markers (keys ending in /) and
  cflog's own manifests and reports are never taken.

Where things go:
  --stack NAME reads the stack's outputs FunctionArn, BatchOperationsRoleArn
  and BackfillPrefix; the manifest is written to
  <BackfillPrefix>manifests/<job name>.csv and reports to
  <BackfillPrefix>reports/. --function-arn, --role-arn, --manifest and
  --report override them (the role must be allowed to read and write
  there). The job is created in the account of the function's ARN
  (--account-id overrides) and in the configured region.

Retries:
  The job name and the request token come from the manifest's content and
  the job's settings, so running the same command again writes the same
  manifest and S3 Batch Operations returns the job it already created
  instead of starting another one. Give --until so that new logs do not
  change the plan; --client-request-token starts the same plan again.";

/// The examples of `cflog backfill status --help`.
pub const STATUS_EXAMPLES: &str = "\
Examples:
  cflog backfill status 00e123a4-c0d8-41f4-a0eb-b46f9ba5b07c
  cflog backfill status --account-id 111122223333 00e123a4-c0d8-41f4-a0eb-b46f9ba5b07c

The account is --account-id, or the caller's own (STS GetCallerIdentity).";

/// Arguments of `cflog backfill`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BackfillArgs {
    /// `cflog backfill status JOB`.
    #[command(subcommand)]
    pub command: Option<BackfillCommand>,

    /// The logs to process: every object under s3://bucket/prefix.
    #[arg(value_name = "S3_URI", required = true)]
    pub source: Option<String>,

    /// Only objects whose hour ends after this time (RFC 3339, such as
    /// 2025-03-02T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time, help_heading = "Selection")]
    pub since: Option<OffsetDateTime>,

    /// Only objects whose hour starts before this time (RFC 3339;
    /// exclusive).
    #[arg(long, value_name = "TIME", value_parser = parse_time, help_heading = "Selection")]
    pub until: Option<OffsetDateTime>,

    /// Only objects of this distribution ID (repeatable).
    #[arg(long, value_name = "ID", help_heading = "Selection")]
    pub distribution: Vec<String>,

    /// List the keys after this one only, to resume a listing.
    #[arg(long, value_name = "KEY", help_heading = "Selection")]
    pub start_after: Option<String>,

    /// Print the objects, bytes, estimated cost and time; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Where the job goes.
    #[command(flatten)]
    pub job: JobArgs,

    /// The figures of the estimate.
    #[command(flatten)]
    pub estimate: EstimateArgs,

    /// Address S3 buckets by path (http://host/bucket/key), as S3-compatible
    /// servers need.
    #[arg(
        long,
        env = "CFLOG_S3_PATH_STYLE",
        value_parser = clap::builder::FalseyValueParser::new(),
        help_heading = "S3"
    )]
    pub s3_path_style: bool,

    /// No progress bar while listing.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print an AWS error's whole chain of causes after its one-line message.
    #[arg(long, short = 'v', conflicts_with = "quiet")]
    pub verbose: bool,
}

/// The subcommands of `cflog backfill`.
#[derive(Debug, Subcommand)]
pub enum BackfillCommand {
    /// Show a Batch Operations job's progress: its status, tasks succeeded
    /// and failed, time active, and where its report goes.
    #[command(after_long_help = STATUS_EXAMPLES)]
    Status(StatusArgs),
}

/// Arguments of `cflog backfill status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The job ID that `cflog backfill` printed.
    #[arg(value_name = "JOB")]
    pub job_id: String,

    /// The account that owns the job [default: the caller's].
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Print an AWS error's whole chain of causes.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// Where the job goes and how it runs.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// The cflog stack whose outputs give the function, the role and the
    /// backfill prefix.
    #[arg(long, value_name = "NAME", help_heading = "Job")]
    pub stack: Option<String>,

    /// The function to invoke per object [default: the stack's FunctionArn].
    #[arg(long, value_name = "ARN", help_heading = "Job")]
    pub function_arn: Option<String>,

    /// The role Batch Operations runs as [default: the stack's
    /// BatchOperationsRoleArn].
    #[arg(long, value_name = "ARN", help_heading = "Job")]
    pub role_arn: Option<String>,

    /// Where to write the manifest, as s3://bucket/prefix/ [default:
    /// manifests/ under the stack's BackfillPrefix].
    #[arg(long, value_name = "S3_URI", help_heading = "Job")]
    pub manifest: Option<String>,

    /// Where Batch Operations writes its completion report, as
    /// s3://bucket/prefix/ [default: reports/ under the stack's BackfillPrefix].
    #[arg(long, value_name = "S3_URI", help_heading = "Job")]
    pub report: Option<String>,

    /// Which tasks the report lists: `all` gives every object's result
    /// (entries and rejected lines), `failed` only the failures.
    #[arg(long, value_enum, default_value_t = ReportScope::All, help_heading = "Job")]
    pub report_scope: ReportScope,

    /// The job's priority among the account's Batch Operations jobs
    /// (higher runs first).
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Job")]
    pub priority: i32,

    /// Create the job suspended, to be confirmed in the S3 console (or with
    /// `aws s3control update-job-status --requested-job-status Ready`)
    /// before it runs. Without it the job starts at once.
    #[arg(long, help_heading = "Job")]
    pub confirmation_required: bool,

    /// The account that owns the job [default: the function ARN's].
    #[arg(long, value_name = "ID", help_heading = "Job")]
    pub account_id: Option<String>,

    /// The idempotency token of CreateJob [default: derived from the
    /// manifest and the settings, so a retried command returns the same
    /// job]. Give another to start the same plan again.
    #[arg(long, value_name = "TOKEN", value_parser = parse_token, help_heading = "Job")]
    pub client_request_token: Option<String>,
}

/// Which tasks the completion report lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportScope {
    /// Every task, with its result string.
    All,
    /// Failed tasks only.
    Failed,
}

/// The figures the estimate assumes.
#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// Invocations at once, for the time estimate: the function's reserved
    /// concurrency, or what the account's quota leaves.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        help_heading = "Estimate"
    )]
    pub concurrency: u32,

    /// The function's memory in MB, as deployed (MemorySize).
    #[arg(
        long,
        value_name = "MB",
        default_value_t = 512,
        help_heading = "Estimate"
    )]
    pub memory: u32,
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time such as 2025-03-02T00:00:00Z ({e})"))
}

/// S3 Control takes 1 to 64 characters.
fn parse_token(text: &str) -> Result<String, String> {
    match text.len() {
        1..=64 => Ok(text.to_owned()),
        _ => Err("expected 1 to 64 characters".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_rfc_3339_in_any_offset() {
        assert_eq!(
            parse_time("2025-03-02T00:00:00Z").unwrap(),
            datetime!(2025-03-02 00:00 UTC)
        );
        assert_eq!(
            parse_time("2025-03-02T01:30:00+01:00").unwrap(),
            datetime!(2025-03-02 00:30 UTC)
        );
        assert!(parse_time("2025-03-02").is_err());
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn tokens_are_bounded() {
        assert!(parse_token("").is_err());
        assert!(parse_token(&"x".repeat(65)).is_err());
        assert_eq!(parse_token("again-1").unwrap(), "again-1");
    }
}
