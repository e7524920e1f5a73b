//! `cflog rollup s3://bucket/prefix/`: the function's hourly rollup, from a
//! laptop: every staged distribution-hour under `prefix/staging/` whose
//! staging objects changed, into the table's one object per hour. Also
//! what `cflog --format parquet --output s3://…` runs on the hours it
//! wrote, unless `--no-rollup`.

use clap::Args;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use cflog_destinations::s3::rollup::{HourlyRollup, RollupSummary, RollupWindow};
use cflog_destinations::s3::{HourKey, Partition};

use crate::exit::Status;
use crate::report::Reporter;
use crate::s3::S3;

/// `cflog rollup --help`'s examples.
pub const EXAMPLES: &str = "\
Examples:
  Every staged hour under the prefix (what the function's schedule does for
  the last RollupWindowHours):
    cflog rollup s3://my-athena-bucket/cloudfront/

  One distribution's March, after a backfill staged it:
    cflog rollup s3://my-athena-bucket/cloudfront/ --distribution E2ABCDEF123456 \\
      --since 2025-03-01T00:00:00Z --until 2025-04-01T00:00:00Z

Layout:
  prefix/staging/distribution=ID/year=/month=/day=/hour=HH/<log file>.parquet
      one object per log file and hour, written by the function or by
      `cflog --format parquet --output s3://bucket/prefix/`
  prefix/distribution=ID/year=/month=/day=/hour=HH/part-00000.parquet
      the table's object for the hour (more parts for very large hours)

  A rolled part is a pure function of its staging objects: one rolled again
  unchanged is not written, so running this twice changes nothing.

Exit status: 0 every hour rolled up, 2 an hour or a listing failed.";

/// Arguments of `cflog rollup`.
#[derive(Debug, Args)]
pub struct RollupArgs {
    /// The table: s3://bucket/prefix/, its staging objects under
    /// prefix/staging/.
    #[arg(value_name = "S3_URI", value_parser = parse_table)]
    pub table: (String, String),

    /// Only hours that end after this time (RFC 3339, such as
    /// 2025-03-02T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<OffsetDateTime>,

    /// Only hours that start before this time (RFC 3339; exclusive).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<OffsetDateTime>,

    /// Only this distribution ID.
    #[arg(long, value_name = "ID", value_parser = parse_distribution)]
    pub distribution: Option<String>,

    /// No summary on stderr; errors are still printed.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Address S3 buckets by path (http://host/bucket/key), as S3-compatible
    /// servers such as MinIO need.
    #[arg(
        long,
        env = "CFLOG_S3_PATH_STYLE",
        value_parser = clap::builder::FalseyValueParser::new(),
    )]
    pub s3_path_style: bool,
}

/// `s3://bucket/prefix/`: the bucket and the prefix.
fn parse_table(text: &str) -> Result<(String, String), String> {
    crate::output::s3::parse_uri(text)
        .map(|(bucket, prefix)| (bucket.to_owned(), prefix.to_owned()))
        .ok_or_else(|| format!("{text}: expected s3://bucket/prefix/"))
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time such as 2025-03-02T00:00:00Z ({e})"))
}

fn parse_distribution(text: &str) -> Result<String, String> {
    match !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        true => Ok(text.to_owned()),
        false => Err("expected a distribution ID: 1 to 64 letters and digits".into()),
    }
}

/// The window of hours that end after `since` and start before `until`.
fn window(
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    distribution: Option<String>,
) -> RollupWindow {
    // The hour that starts at or after `until` is the first one out; an
    // hour starting before it is in.
    let until =
        until.and_then(|t| HourKey::of(t + time::Duration::HOUR - time::Duration::nanoseconds(1)));
    RollupWindow {
        since: since.and_then(HourKey::of),
        until,
        distribution,
        ..RollupWindow::default()
    }
}

/// `cflog rollup`.
pub fn main(args: &RollupArgs) -> Status {
    let (bucket, prefix) = (args.table.0.as_str(), args.table.1.as_str());
    let s3 = match S3::connect(args.s3_path_style) {
        Ok(s3) => s3,
        Err(e) => {
            Reporter::default().warn(format_args!("cannot start the S3 client: {e}"));
            return Status::Failed;
        }
    };
    let window = window(args.since, args.until, args.distribution.clone());
    let status = s3.handle().block_on(async {
        let rollup = HourlyRollup::new(s3.client().clone(), bucket, prefix);
        match rollup.roll(&window).await {
            Ok(summary) => report(bucket, &rollup, summary, args.quiet),
            Err(error) => {
                Reporter::default().warn(format_args!("{error}"));
                Status::Failed
            }
        }
    });
    s3.shutdown();
    status
}

/// Rolls up the hours of `written` (staging objects' `s3://` URIs) under
/// the table at `prefix`: what `--output s3://` does when it is done.
pub fn roll_written(
    s3: &S3,
    bucket: &str,
    prefix: &str,
    written: &[String],
    quiet: bool,
) -> Status {
    s3.handle().block_on(async {
        let rollup = HourlyRollup::new(s3.client().clone(), bucket, prefix);
        let bucket_uri = format!("s3://{bucket}/");
        let mut partitions: Vec<Partition> = written
            .iter()
            .filter_map(|uri| rollup.staged_partition(uri.strip_prefix(&bucket_uri)?))
            .collect();
        partitions.sort_by(|a, b| (&a.distribution, a.hour).cmp(&(&b.distribution, b.hour)));
        partitions.dedup();
        let summary = rollup.roll_partitions(&partitions).await;
        report(bucket, &rollup, summary, quiet)
    })
}

/// Prints what the rollup did, and each failure; gives the exit status.
fn report(bucket: &str, rollup: &HourlyRollup, summary: RollupSummary, quiet: bool) -> Status {
    let reporter = Reporter::default();
    for failure in &summary.failures {
        reporter.warn(format_args!(
            "rollup of {}: {}",
            failure.partition.path(),
            failure.error
        ));
    }
    if !quiet {
        let deleted: usize = summary.hours.iter().map(|h| h.deleted.len()).sum();
        reporter.warn(format_args!(
            "rolled up {} hours into s3://{bucket}/{}: {} parts written ({} rows), {} unchanged, {deleted} left over deleted{}",
            summary.hours.len(),
            rollup.table_prefix(),
            summary.written(),
            summary.rows(),
            summary.unchanged(),
            match summary.failures.len() {
                0 => String::new(),
                n => format!(", {n} failed"),
            }
        ));
    }
    match summary.failures.is_empty() {
        true => Status::Parsed,
        false => Status::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_window_holds_the_hours_that_overlap_since_and_until() {
        let w = window(
            Some(datetime!(2025-03-01 10:30 UTC)),
            Some(datetime!(2025-03-01 13:00 UTC)),
            None,
        );
        assert_eq!(w.since, HourKey::new(2025, 3, 1, 10));
        assert_eq!(w.until, HourKey::new(2025, 3, 1, 13));
        let w = window(None, Some(datetime!(2025-03-01 13:00:01 UTC)), None);
        assert_eq!(w.until, HourKey::new(2025, 3, 1, 14));
    }
}
