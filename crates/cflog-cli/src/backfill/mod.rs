//! `cflog backfill`: plans and starts the processing of log objects already
//! in S3, by the deployed function, through S3 Batch Operations.
//!
//! One machine is the wrong engine for millions of files; Batch Operations
//! invokes the function once per object of a manifest, with retries,
//! concurrency control and a completion report. This command only plans:
//! it lists the prefix, writes the manifest, creates the job, and later
//! shows its progress (`cflog backfill status JOB`).
//!
//! The steps, one module each: [`listing`] (which keys, by what each key
//! says: [`ObjectKey`](cflog_pipeline::object_key::ObjectKey)),
//! [`manifest`], [`stack`] (where things go), [`job`] (CreateJob),
//! [`estimate`] (cost and time on paper), [`status`] (DescribeJob).

mod args;
mod aws;
mod estimate;
mod job;
mod listing;
mod location;
mod manifest;
mod stack;
mod status;

use std::fmt::Display;
use std::io::{self, Write};

use aws_sdk_s3::primitives::{ByteStream, Length};
use indicatif::HumanBytes;
use time::format_description::well_known::Rfc3339;

pub use args::{BackfillArgs, EXAMPLES};

use crate::exit::Status;
use crate::report::Reporter;
use args::{BackfillCommand, StatusArgs};
use aws::{Aws, describe};
use estimate::{Dollars, Span, Workload};
use job::{JobError, JobRequest};
use listing::{ListError, Selection, Tally};
use location::S3Uri;
use manifest::{Manifest, ManifestWriter};

/// Runs `cflog backfill` or `cflog backfill status`. `root` makes the
/// whole command line's definition, whose `backfill` subcommand usage
/// errors name: the caller owns it, as this module sits below it.
pub fn main(args: &BackfillArgs, root: fn() -> clap::Command) -> Status {
    let usage = Usage { root };
    match &args.command {
        Some(BackfillCommand::Status(status)) => show_status(status),
        None => plan(args, &usage),
    }
}

/// Reports usage errors in clap's format, under `cflog backfill`.
struct Usage {
    root: fn() -> clap::Command,
}

impl Usage {
    /// Prints `message` as a usage error naming `cflog backfill`; exits
    /// with 2.
    fn error(&self, message: impl Display) -> ! {
        let mut command = (self.root)();
        command.build();
        match command.find_subcommand_mut("backfill") {
            Some(backfill) => backfill.error(clap::error::ErrorKind::ValueValidation, message),
            None => command.error(clap::error::ErrorKind::ValueValidation, message),
        }
        .exit()
    }
}

fn load_aws(path_style: bool) -> Result<Aws, Status> {
    Aws::load(path_style).map_err(|e| {
        Reporter::default().warn(format_args!("cannot start the AWS clients: {e}"));
        Status::Failed
    })
}

/// Where the job's pieces are, from the flags and the stack.
struct Targets {
    function_arn: Option<String>,
    role_arn: Option<String>,
    manifest: Option<S3Uri>,
    report: Option<S3Uri>,
}

impl Targets {
    fn read(aws: &Aws, args: &BackfillArgs, usage: &Usage) -> Result<Targets, Status> {
        let job = &args.job;
        let outputs = match &job.stack {
            Some(name) => stack::outputs(aws, name).map_err(|e| {
                let message = match &e {
                    stack::StackError::Request(e) => describe(e, args.verbose),
                    other => other.to_string(),
                };
                Reporter::default().warn(message);
                Status::Failed
            })?,
            None => stack::Outputs::default(),
        };
        let prefix = outputs
            .backfill_prefix
            .as_deref()
            .map(|text| {
                S3Uri::parse(text).map(S3Uri::folder).map_err(|e| {
                    Reporter::default().warn(format_args!(
                        "the stack's output {}: {e}",
                        stack::BACKFILL_PREFIX
                    ));
                    Status::Failed
                })
            })
            .transpose()?;
        let under = |folder: &str| {
            prefix.clone().map(|mut uri| {
                uri.prefix.push_str(folder);
                uri
            })
        };
        let flag = |name: &str, value: &Option<String>| {
            value.as_deref().map(|text| {
                S3Uri::parse(text)
                    .map(S3Uri::folder)
                    .unwrap_or_else(|e| usage.error(format_args!("{name}: {e}")))
            })
        };
        Ok(Targets {
            function_arn: job.function_arn.clone().or(outputs.function_arn),
            role_arn: job.role_arn.clone().or(outputs.role_arn),
            manifest: flag("--manifest", &job.manifest).or_else(|| under("manifests/")),
            report: flag("--report", &job.report).or_else(|| under("reports/")),
        })
    }

    /// cflog's own prefixes, never listed as logs.
    fn own(&self) -> Vec<S3Uri> {
        self.manifest.iter().chain(&self.report).cloned().collect()
    }
}

fn plan(args: &BackfillArgs, usage: &Usage) -> Status {
    let source = args.source.as_deref().unwrap_or_default();
    let source = S3Uri::parse(source).unwrap_or_else(|e| usage.error(e));
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        usage.error("--since must be before --until (until is exclusive)");
    }
    let aws = match load_aws(args.s3_path_style) {
        Ok(aws) => aws,
        Err(status) => return status,
    };
    let targets = match Targets::read(&aws, args, usage) {
        Ok(targets) => targets,
        Err(status) => return status,
    };
    // Checked before listing, so that a missing flag costs no listing.
    let job = match args.dry_run {
        true => None,
        false => Some(job_settings(&aws, args, &targets, usage)),
    };
    let selection = Selection {
        since: args.since,
        until: args.until,
        distributions: args.distribution.clone(),
        own: targets.own(),
    };
    let reporter = Reporter::default();
    let mut writer = match job {
        Some(_) => match ManifestWriter::new() {
            Ok(writer) => Some(writer),
            Err(e) => {
                reporter.warn(format_args!(
                    "cannot create the manifest's temporary file: {e}"
                ));
                return Status::Failed;
            }
        },
        None => None,
    };
    let listed = listing::list(
        &aws,
        &source,
        args.start_after.as_deref(),
        &selection,
        args.quiet,
        |object| match &mut writer {
            Some(writer) => writer.push(&source.bucket, &object.key),
            None => Ok(()),
        },
    );
    let tally = match listed {
        Ok(tally) => tally,
        Err(e) => {
            let (message, tally) = match e {
                ListError::Request { source, tally } => (describe(&source, args.verbose), tally),
                ListError::Take { source, tally } => (
                    format!("writing the manifest's temporary file failed: {source}"),
                    tally,
                ),
            };
            reporter.warn(message);
            if let Some(last) = &tally.last_key {
                reporter.warn(format_args!(
                    "{} keys were listed before; resume with --start-after '{last}'",
                    tally.listed
                ));
            }
            return Status::Failed;
        }
    };
    if tally.no_time > 0 {
        reporter.warn(format_args!(
            "{} keys have no readable time and were left out by the time filter, such as {}",
            tally.no_time,
            tally.no_time_examples.join(", ")
        ));
    }
    let printed = print(&plan_text(&source, args, &tally));
    let (Some(settings), Some(writer)) = (job, writer) else {
        return match printed {
            Status::Parsed => print("Dry run: nothing was written.\n"),
            failed => failed,
        };
    };
    if printed != Status::Parsed {
        return printed;
    }
    if tally.taken == 0 {
        reporter.warn(format_args!(
            "no objects to process under {source}: no job created"
        ));
        return Status::Failed;
    }
    let manifest = match writer.finish() {
        Ok(manifest) => manifest,
        Err(e) => {
            reporter.warn(format_args!(
                "writing the manifest's temporary file failed: {e}"
            ));
            return Status::Failed;
        }
    };
    start(&aws, args, &source, settings, manifest)
}

/// The job's settings that do not depend on the listing.
struct Settings {
    account_id: String,
    partition: String,
    function_arn: String,
    role_arn: String,
    manifest_folder: S3Uri,
    report: S3Uri,
}

fn job_settings(aws: &Aws, args: &BackfillArgs, targets: &Targets, usage: &Usage) -> Settings {
    let (Some(function_arn), Some(role_arn), Some(manifest_folder), Some(report)) = (
        targets.function_arn.clone(),
        targets.role_arn.clone(),
        targets.manifest.clone(),
        targets.report.clone(),
    ) else {
        let missing: Vec<&str> = [
            (targets.function_arn.is_none(), "--function-arn"),
            (targets.role_arn.is_none(), "--role-arn"),
            (targets.manifest.is_none(), "--manifest"),
            (targets.report.is_none(), "--report"),
        ]
        .into_iter()
        .filter_map(|(missing, flag)| missing.then_some(flag))
        .collect();
        let from = match &args.job.stack {
            Some(stack) => format!("the stack {stack} lacks outputs for "),
            None => "give --stack NAME, or ".into(),
        };
        usage.error(format_args!(
            "{from}{} (or use --dry-run)",
            missing.join(", ")
        ));
    };
    let parts = location::function_arn(&function_arn).unwrap_or_else(|e| usage.error(e));
    if let Some(region) = aws.region()
        && region != parts.region
    {
        usage.error(format_args!(
            "the function is in {} but the configured region is {region}: the job, the function \
             and the manifest must be in one region (set AWS_REGION={})",
            parts.region, parts.region
        ));
    }
    Settings {
        account_id: args
            .job
            .account_id
            .clone()
            .unwrap_or_else(|| parts.account.to_owned()),
        partition: parts.partition.to_owned(),
        role_arn,
        manifest_folder,
        report,
        function_arn,
    }
}

/// What was found and what processing it would cost.
fn plan_text(source: &S3Uri, args: &BackfillArgs, tally: &Tally) -> String {
    let mut text = format!(
        "{} objects, {} ({} bytes), under {source}",
        tally.taken,
        HumanBytes(tally.bytes),
        tally.bytes
    );
    let time = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    if let Some(since) = args.since {
        text.push_str(&format!(" since {}", time(since)));
    }
    if let Some(until) = args.until {
        text.push_str(&format!(" until {}", time(until)));
    }
    if !args.distribution.is_empty() {
        text.push_str(&format!(" of {}", args.distribution.join(", ")));
    }
    text.push('\n');
    let left_out = tally.left_out();
    if !left_out.is_empty() {
        text.push_str(&format!(
            "Left out: {} (of {} keys listed)\n",
            left_out.join(", "),
            tally.listed
        ));
    }
    let workload = Workload {
        objects: tally.taken,
        bytes: tally.bytes,
        memory_mb: args.estimate.memory,
        concurrency: args.estimate.concurrency,
    };
    let estimate = workload.estimate();
    text.push_str(&format!(
        "Cost:     about {}: Batch Operations {} ($0.25 a job, $1.00 a million objects), \
         Lambda {} for requests and {} for compute, S3 GET {}\n",
        Dollars(estimate.total),
        Dollars(estimate.batch_operations),
        Dollars(estimate.lambda_requests),
        Dollars(estimate.lambda_compute),
        Dollars(estimate.s3_requests),
    ));
    text.push_str(&format!(
        "Time:     about {} at {} invocations at once ({:.2} s an object at {} MB)\n",
        Span(estimate.wall),
        workload.concurrency,
        estimate.per_object.as_secs_f64(),
        workload.memory_mb,
    ));
    text.push_str(&format!(
        "Not counted: the destination; the stdout sink's CloudWatch Logs ingestion would be about {} \
         (1 kB events of all fields; fewer fields cost less)\n",
        Dollars(estimate.logs_ingestion)
    ));
    text
}

/// Uploads the manifest, creates the job and says how to follow it.
fn start(
    aws: &Aws,
    args: &BackfillArgs,
    source: &S3Uri,
    settings: Settings,
    manifest: Manifest,
) -> Status {
    let reporter = Reporter::default();
    let name = manifest.job_name();
    let objects = manifest.objects;
    let mut location = settings.manifest_folder.clone();
    location.prefix.push_str(&format!("{name}.csv"));
    let etag = match upload(aws, &location, manifest) {
        Ok(etag) => etag,
        Err(message) => {
            reporter.warn(message);
            return Status::Failed;
        }
    };
    let mut description = format!("cflog {name} of {source}: {objects} objects");
    if let Some(since) = args.since.and_then(|t| t.format(&Rfc3339).ok()) {
        description.push_str(&format!(" since {since}"));
    }
    if let Some(until) = args.until.and_then(|t| t.format(&Rfc3339).ok()) {
        description.push_str(&format!(" until {until}"));
    }
    let mut request = JobRequest {
        account_id: settings.account_id,
        partition: settings.partition,
        function_arn: settings.function_arn,
        role_arn: settings.role_arn,
        manifest: location,
        manifest_etag: etag,
        report: settings.report,
        report_scope: args.job.report_scope,
        priority: args.job.priority,
        confirmation_required: args.job.confirmation_required,
        description: job::truncated(&description, 256),
        token: String::new(),
    };
    request.token = args
        .job
        .client_request_token
        .clone()
        .unwrap_or_else(|| job::token(&request));
    let id = match job::create(aws, &request) {
        Ok(id) => id,
        Err(JobError::Request(e)) => {
            reporter.warn(describe(&e, args.verbose));
            return Status::Failed;
        }
        Err(e) => {
            reporter.warn(e);
            return Status::Failed;
        }
    };
    let mut text = format!(
        "Manifest: {} (ETag {})\n",
        request.manifest, request.manifest_etag
    );
    text.push_str(&format!(
        "Report:   {}job-{id}/\nJob:      {id}{}\nFollow it: cflog backfill status {id}\n",
        request.report,
        match request.confirmation_required {
            true => " (waiting for confirmation: aws s3control update-job-status --requested-job-status Ready)",
            false => "",
        }
    ));
    print(&text)
}

/// Puts the manifest and returns its ETag, unquoted.
fn upload(aws: &Aws, location: &S3Uri, manifest: Manifest) -> Result<String, String> {
    let client = aws.s3();
    let put = async {
        let body = ByteStream::read_from()
            .file(tokio::fs::File::from_std(manifest.file))
            .length(Length::Exact(manifest.len))
            .build()
            .await
            .map_err(|e| format!("reading the manifest's temporary file failed: {e}"))?;
        client
            .put_object()
            .bucket(&location.bucket)
            .key(&location.prefix)
            .content_type("text/csv")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let e = cflog_pipeline::s3::RequestError::new("PutObject", location.to_string(), e);
                describe(&e, false)
            })
    };
    let response = aws.block_on(put)?;
    response
        .e_tag()
        .map(|etag| etag.trim_matches('"').to_owned())
        .ok_or_else(|| format!("PutObject {location} answered without an ETag"))
}

fn show_status(args: &StatusArgs) -> Status {
    let aws = match load_aws(false) {
        Ok(aws) => aws,
        Err(status) => return status,
    };
    let reporter = Reporter::default();
    let shown = args
        .account_id
        .clone()
        .map_or_else(|| status::caller_account(&aws), Ok)
        .and_then(|account| status::describe(&aws, &account, &args.job_id));
    match shown {
        Ok(job) => print(&status::render(&job)),
        Err(e) => {
            let message = match &e {
                status::StatusError::Caller(e) => describe(e, args.verbose),
                status::StatusError::Describe(e) => describe(e, args.verbose),
                other => other.to_string(),
            };
            reporter.warn(message);
            Status::Failed
        }
    }
}

/// Writes `text` to stdout; a closed pipe is not an error.
fn print(text: &str) -> Status {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Status::Parsed,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Status::Parsed,
        Err(e) => {
            Reporter::default().warn(format_args!("writing to stdout failed: {e}"));
            Status::Failed
        }
    }
}
