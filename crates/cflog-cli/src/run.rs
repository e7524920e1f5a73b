//! Running a command: inputs read in parallel through the shared pipeline,
//! the summary, and the exit status.
//!
//! Workers are plain threads taking the next input in order, so `--jobs 1`
//! reads inputs exactly one after the other. A worker reads local files and
//! stdin with `input::run_sync`, and S3 objects with the Lambda's
//! `s3::process_object` (driven on the worker thread, see `crate::s3`).
//!
//! Some failures stop every worker: the output failing (a closed pipe, a
//! full disk) and `--strict` meeting a bad line. A sink sees the stop flag
//! at its next entry and stops its input (`Verdict::Stop`), so the run ends
//! within one entry of the failure.

use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_encoders::aggregate::{Scope, Window};
use cflog_pipeline::input::{InputError, run_sync};
use cflog_pipeline::s3::ObjectError;
use cflog_pipeline::sink::{Delivery, EntryError, Sink, SinkFactory, Source, Verdict};
use cflog_pipeline::{Options, Pipeline, PipelineError, Summary};
use clap::CommandFactory;

use crate::cli::{self, Cli, Command, ConvertArgs, Format, InputArgs, StatsArgs};
use crate::exit::Status;
use crate::inputs::{self, Arg, Input};
use crate::output::{DelimitedFactory, NdjsonFactory, Output};
use crate::progress::Progress;
use crate::report::{Reporter, Totals, line_message};
use crate::s3::S3;
use crate::stats;
use crate::tally::TallyFactory;

/// Runs the command line.
pub fn main(cli: Cli) -> ExitCode {
    let status = match cli.command {
        Some(Command::Stats(args)) => stats(&args),
        Some(Command::Report(args)) => report(&args),
        Some(Command::Backfill(args)) => crate::backfill::main(&args, Cli::command),
        #[cfg(feature = "parquet")]
        Some(Command::Rollup(args)) => crate::rollup::main(&args),
        None if cli.convert.list_fields => print_stdout(cli::fields_listing().as_bytes()),
        None => convert(&cli.convert),
    };
    status.into()
}

/// Writes `bytes` to stdout; a closed pipe is not an error.
fn print_stdout(bytes: &[u8]) -> Status {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Status::Parsed,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Status::Parsed,
        Err(e) => {
            Reporter::default().warn(format_args!("writing to stdout failed: {e}"));
            Status::Failed
        }
    }
}

/// A usage error in clap's format, which exits with 2.
fn usage_error(message: impl fmt::Display) -> ! {
    Cli::command()
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

/// What every command needs before reading: the inputs, expanded, and the
/// settings.
struct Plan {
    inputs: Vec<Input>,
    s3: Option<S3>,
    options: Options,
    strict: bool,
    jobs: usize,
    quiet: bool,
    verbose: bool,
    /// Arguments that named nothing readable (already reported).
    unreadable: usize,
    /// The flags given that Parquet inputs do not heed.
    text_only_flags: Vec<&'static str>,
}

impl Plan {
    /// Lets go of the S3 client without waiting for idle connections.
    fn close(self) {
        if let Some(s3) = self.s3 {
            s3.shutdown();
        }
    }
}

fn plan(args: &InputArgs) -> Result<Plan, Status> {
    let options = args.options().unwrap_or_else(|e| usage_error(e));
    let mut parsed = Vec::new();
    for arg in &args.inputs {
        parsed.push(Arg::parse(arg).unwrap_or_else(|e| usage_error(e)));
    }
    if parsed.is_empty() {
        if io::stdin().is_terminal() {
            usage_error(
                "no input: give log files, directories, s3://bucket/prefix URIs, or `-` for stdin (see --help)",
            );
        }
        parsed.push(Arg::Stdin);
    }
    let reporter = Reporter::default();
    let s3 = if parsed.iter().any(|arg| matches!(arg, Arg::S3 { .. })) {
        match S3::connect(args.s3_path_style) {
            Ok(s3) => Some(s3),
            Err(e) => {
                reporter.warn(format_args!("cannot start the S3 client: {e}"));
                return Err(Status::Failed);
            }
        }
    } else {
        None
    };
    let expanded = inputs::expand(&parsed, |bucket, prefix| match &s3 {
        Some(s3) => s3.list(bucket, prefix).map_err(|e| {
            let uri = format!("s3://{bucket}/{prefix}");
            format!(
                "{} {uri} failed: {}",
                e.operation(),
                s3.reason(&e, args.verbose)
            )
        }),
        None => Err("no S3 client".into()),
    });
    for error in &expanded.errors {
        reporter.warn(error);
    }
    if !args.quiet {
        for note in &expanded.notes {
            reporter.warn(note);
        }
    }
    Ok(Plan {
        inputs: expanded.inputs,
        s3,
        options,
        strict: args.strict,
        jobs: args.jobs(),
        quiet: args.quiet,
        verbose: args.verbose,
        unreadable: expanded.errors.len(),
        text_only_flags: args.text_only_flags(),
    })
}

fn convert(args: &ConvertArgs) -> Status {
    let (contract, redact) =
        crate::enrich::contract(&args.enrich).unwrap_or_else(|e| usage_error(e));
    let selection =
        cli::selection(&contract, args.fields.as_deref()).unwrap_or_else(|e| usage_error(e));
    #[cfg(feature = "parquet")]
    if args.format == Format::Parquet {
        if args.fields.is_some() {
            usage_error("--fields does not apply to --format parquet: its columns are fixed");
        }
        if args.output.is_none() && io::stdout().is_terminal() {
            usage_error("--format parquet writes a binary file: give -o FILE, or redirect stdout");
        }
    }
    #[cfg(feature = "parquet")]
    if let Some((bucket, prefix)) = args
        .output
        .as_deref()
        .and_then(|path| path.to_str())
        .and_then(crate::output::s3::parse_uri)
    {
        return convert_to_s3(args, bucket, prefix, selection, redact);
    }
    let mut plan = match plan(&args.input) {
        Ok(plan) => plan,
        Err(status) => return status,
    };
    // Rejected lines' messages quote the line: with privacy on, their
    // addresses are rewritten as the outputs' are.
    plan.options.redact = redact;
    let output = match &args.output {
        None => Output::stdout(),
        Some(path) => {
            if let Some(input) = plan.inputs.iter().find(|input| same_file(input, path)) {
                Reporter::default()
                    .warn(format_args!("{}: the output file is also an input", input));
                return Status::Failed;
            }
            match Output::create(path) {
                Ok(output) => output,
                Err(e) => {
                    Reporter::default().warn(format_args!("{}: {e}", path.display()));
                    return Status::Failed;
                }
            }
        }
    };
    let progress = Progress::start(&plan.inputs, plan.quiet);
    let reporter = Reporter::with_progress(progress.bar());
    let started = Instant::now();
    let mut outcomes = match args.format {
        Format::Ndjson => {
            let factory = NdjsonFactory {
                output: output.clone(),
                selection,
            };
            process(&plan, &factory, &progress, &reporter)
        }
        Format::Csv | Format::Tsv => {
            let delimiter = if args.format == Format::Csv {
                b','
            } else {
                b'\t'
            };
            let factory =
                DelimitedFactory::new(output.clone(), delimiter, selection, reporter.clone());
            let mut outcomes = process(&plan, &factory, &progress, &reporter);
            if let Err(e) = factory.finish() {
                outcomes.push(output_failure(e));
            }
            outcomes
        }
        #[cfg(feature = "parquet")]
        Format::Parquet => {
            // The columns of the selection's contract: its derived keys
            // (`--enrich`, `--geoip-db`), transforms and dropped keys.
            let family = match args.input.realtime {
                true => cflog_core::Family::Realtime,
                false => cflog_core::Family::Standard,
            };
            let columns = cflog_parquet::ColumnSet::for_contract(family, selection.contract());
            let factory = match crate::output::ParquetFactory::new(output.clone(), columns) {
                Ok(factory) => factory,
                Err(e) => {
                    let name = args.output.as_deref().unwrap_or("stdout".as_ref());
                    reporter.warn(format_args!("{}: {e}", name.display()));
                    return Status::Failed;
                }
            };
            let mut outcomes = process(&plan, &factory, &progress, &reporter);
            if let Err(e) = factory.finish() {
                outcomes.push(output_failure(e));
            }
            outcomes
        }
    };
    if let Err(e) = output.clone().flush() {
        outcomes.push(output_failure(e));
    }
    drop(output);
    progress.finish();
    let entries = outcomes.iter().map(|outcome| outcome.summary.entries).sum();
    let status = finish(&plan, outcomes, started, true, |_| Ok(()));
    if let Some(path) = &args.output {
        settle_output(path, entries, status, plan.quiet);
    }
    plan.close();
    status
}

/// The output file after the run: a run that wrote no entry leaves none
/// behind (not an empty NDJSON file, a CSV header or a Parquet footer
/// alone), and a run that failed keeps the entries it wrote, and says so
/// in its summary (so not with `--quiet`).
fn settle_output(path: &std::path::Path, entries: u64, status: Status, quiet: bool) {
    let reporter = Reporter::default();
    // Only a file of cflog's own making: never /dev/null or a pipe.
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_file());
    if entries == 0 && is_file {
        match std::fs::remove_file(path) {
            Ok(()) if quiet => {}
            Ok(()) => reporter.warn(format_args!(
                "{}: not written, no entry to write",
                path.display()
            )),
            Err(e) => reporter.warn(format_args!(
                "{}: holds no entry, and could not be removed: {e}",
                path.display()
            )),
        }
    } else if entries > 0 && status == Status::Failed && !quiet {
        reporter.warn(format_args!(
            "{}: kept, with the {} entries read before or beside the failure",
            path.display(),
            crate::report::thousands(entries)
        ));
    }
}

/// `--output s3://bucket/prefix/`: every input into the S3 destination's
/// objects, as the Lambda writes them.
#[cfg(feature = "parquet")]
fn convert_to_s3(
    args: &ConvertArgs,
    bucket: &str,
    prefix: &str,
    selection: cflog_core::contract::Selection,
    redact: cflog_pipeline::Redact,
) -> Status {
    use cflog_destinations::s3::{ObjectFormat, S3Options};

    let format = match args.format {
        Format::Parquet => ObjectFormat::Parquet,
        Format::Ndjson => ObjectFormat::NdjsonGz,
        Format::Csv | Format::Tsv => usage_error(
            "an s3:// output takes --format parquet or ndjson (written as .ndjson.gz objects)",
        ),
    };
    if args.input.realtime {
        usage_error(
            "an s3:// output takes standard logs; real-time records have no file name to key objects by",
        );
    }
    let mut plan = match plan(&args.input) {
        Ok(plan) => plan,
        Err(status) => return status,
    };
    plan.options.redact = redact;
    let connected;
    let s3 = match &plan.s3 {
        Some(s3) => s3,
        None => match S3::connect(args.input.s3_path_style) {
            Ok(s3) => {
                connected = s3;
                &connected
            }
            Err(e) => {
                Reporter::default().warn(format_args!("cannot start the S3 client: {e}"));
                return Status::Failed;
            }
        },
    };
    // Parquet goes to the staging prefix, and the hours written are rolled
    // up into the table's objects at the end, as the function's schedule
    // does; with --no-rollup (or NDJSON) into the table's prefix itself.
    let rollup = format == ObjectFormat::Parquet && !args.no_rollup;
    let options = S3Options::default().selection(selection);
    let factory = crate::output::s3::S3Factory::new(s3, bucket, prefix, format, options);
    let factory = if rollup { factory.staging() } else { factory };
    let progress = Progress::start(&plan.inputs, plan.quiet);
    let reporter = Reporter::with_progress(progress.bar());
    let started = Instant::now();
    let outcomes = process(&plan, &factory, &progress, &reporter);
    progress.finish();
    // Every object written, of the inputs that failed too: their complete
    // objects are staged, and rolled up with the rest.
    let written: Vec<String> = outcomes
        .iter()
        .flat_map(|outcome| &outcome.summary.delivered.objects)
        .map(|object| object.uri.clone())
        .collect();
    let status = finish(&plan, outcomes, started, true, |_| Ok(()));
    let status = match rollup {
        true => status.max(crate::rollup::roll_written(
            s3, bucket, prefix, &written, plan.quiet,
        )),
        false => status,
    };
    plan.close();
    status
}

fn stats(args: &StatsArgs) -> Status {
    let mut plan = match plan(&args.input) {
        Ok(plan) => plan,
        Err(status) => return status,
    };
    let (contract, redact) =
        crate::enrich::contract(&args.enrich).unwrap_or_else(|e| usage_error(e));
    plan.options.redact = redact;
    let progress = Progress::start(&plan.inputs, plan.quiet);
    let reporter = Reporter::with_progress(progress.bar());
    let started = Instant::now();
    let factory = TallyFactory::new(contract.select_all(), Window::default(), Scope::Summary);
    let outcomes = process(&plan, &factory, &progress, &reporter);
    progress.finish();
    let aggregate = factory.into_aggregate();
    // The table repeats the counts; stderr only says what went wrong.
    let status = finish(&plan, outcomes, started, false, |totals| {
        // Nothing read and an input failed: a report of zeros would only
        // look like one of an empty log.
        if totals.summary.entries == 0 && totals.any_failed() {
            return Ok(());
        }
        let report = stats::Report::new(&aggregate, totals, args.top);
        let text = if args.json {
            let mut json = serde_json::to_string_pretty(&report).map_err(io::Error::other)?;
            json.push('\n');
            json
        } else {
            stats::table(&report, &aggregate)
        };
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    });
    plan.close();
    status
}

/// `cflog report`: the inputs the filters select, read into one
/// aggregate, written as the HTML page or its figures as JSON.
fn report(args: &cli::ReportArgs) -> Status {
    use crate::report_page::{self, Filters, Page};

    let mut plan = match plan(&args.input) {
        Ok(plan) => plan,
        Err(status) => return status,
    };
    let (contract, redact) =
        crate::enrich::contract(&args.enrich).unwrap_or_else(|e| usage_error(e));
    plan.options.redact = redact;
    if let Some(path) = &args.output
        && let Some(input) = plan.inputs.iter().find(|input| same_file(input, path))
    {
        Reporter::default().warn(format_args!("{input}: the output file is also an input"));
        return Status::Failed;
    }
    let title = args.title.clone().unwrap_or_else(|| {
        let names: Vec<String> = args
            .input
            .inputs
            .iter()
            .take(3)
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        let more = args.input.inputs.len().saturating_sub(3);
        match (names.is_empty(), more) {
            (true, _) => "CloudFront logs from stdin".to_owned(),
            (false, 0) => format!("CloudFront logs: {}", names.join(", ")),
            (false, more) => format!("CloudFront logs: {} and {more} more", names.join(", ")),
        }
    });
    let before = plan.inputs.len();
    plan.inputs
        .retain(|input| report_page::selected(input, args));
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let filters = Filters {
        since: args.since.map(rfc3339),
        until: args.until.map(rfc3339),
        distributions: args.distribution.clone(),
        inputs_skipped: before - plan.inputs.len(),
        entries_outside: 0,
    };
    let progress = Progress::start(&plan.inputs, plan.quiet);
    let reporter = Reporter::with_progress(progress.bar());
    let started = Instant::now();
    let factory = TallyFactory::new(
        contract.select_all(),
        Window {
            since: args.since,
            until: args.until,
        },
        Scope::Page,
    );
    let outcomes = process(&plan, &factory, &progress, &reporter);
    progress.finish();
    let aggregate = factory.into_aggregate();
    let status = finish(&plan, outcomes, started, false, |totals| {
        let page = Page::new(title, filters, &aggregate, totals, args.top);
        let text = match args.format {
            cli::ReportFormat::Json => {
                let mut json = serde_json::to_string_pretty(&page).map_err(io::Error::other)?;
                json.push('\n');
                json
            }
            cli::ReportFormat::Html => report_page::render(&page).map_err(io::Error::other)?,
        };
        match &args.output {
            Some(path) => std::fs::write(path, text)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            None => {
                let mut stdout = io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()
            }
        }
    });
    plan.close();
    status
}

/// Whether `input` is the file at `path` (which may not exist yet).
fn same_file(input: &Input, path: &std::path::Path) -> bool {
    let Input::File(input) = input else {
        return false;
    };
    match (input.canonicalize(), path.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What happened to one input.
#[derive(Debug)]
struct Outcome {
    /// The input's name, or empty for a failure of the output.
    input: String,
    /// Its counts (partial when it failed).
    summary: Summary,
    failure: Option<Failure>,
}

/// Why an input did not reach its end.
#[derive(Debug)]
enum Failure {
    /// Reading it failed: I/O, corrupt gzip, S3.
    Input(String),
    /// The output could not be written.
    Output(String),
    /// The output is a pipe whose reader has gone, as in `| head`.
    BrokenPipe,
    /// `--strict` stopped at this rejected line.
    Strict(String),
    /// Another input's failure stopped this one.
    Stopped,
}

fn output_failure(e: io::Error) -> Outcome {
    Outcome {
        input: String::new(),
        summary: Summary::default(),
        failure: Some(failure_of_output(e)),
    }
}

/// Reads every input of `plan`, `plan.jobs` at a time.
fn process<F: SinkFactory<Sink: Sink<Error = io::Error>>>(
    plan: &Plan,
    factory: &F,
    progress: &Progress,
    reporter: &Reporter,
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcomes: Mutex<Vec<Option<Outcome>>> =
        Mutex::new(plan.inputs.iter().map(|_| None).collect());
    let worker = || {
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = plan.inputs.get(i) else {
                break;
            };
            let outcome = read_one(input, plan, factory, progress, &stop);
            match &outcome.failure {
                Some(Failure::Input(message)) => reporter.warn(format_args!("{input}: {message}")),
                Some(Failure::Output(_) | Failure::BrokenPipe | Failure::Strict(_)) => {
                    stop.store(true, Ordering::Relaxed);
                }
                Some(Failure::Stopped) | None => {}
            }
            progress.input_done();
            outcomes.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(outcome);
        }
    };
    let workers = plan.jobs.clamp(1, plan.inputs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(worker);
        }
        worker();
    });
    outcomes
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

/// Reads one input to its end through a sink from `factory`.
fn read_one<F: SinkFactory<Sink: Sink<Error = io::Error>>>(
    input: &Input,
    plan: &Plan,
    factory: &F,
    progress: &Progress,
    stop: &AtomicBool,
) -> Outcome {
    let source = match input {
        Input::Stdin => Source::Stdin,
        Input::File(path) => Source::File(path),
        Input::S3Object { bucket, key } => Source::Object { bucket, key },
    };
    let mut sink = Guard {
        inner: factory.open(&source),
        strict: plan.strict,
        redact: plan.options.redact.clone(),
        stop,
        stopped: None,
    };
    let result = match input {
        Input::Stdin => read_sync(progress.reader(io::stdin().lock()), plan, &mut sink),
        Input::File(path) => match File::open(path) {
            Ok(file) => read_file(file, progress, plan, &mut sink),
            Err(e) => (Summary::default(), Some(Failure::Input(e.to_string()))),
        },
        Input::S3Object { bucket, key } => match &plan.s3 {
            Some(s3) => match s3.process(bucket, key, &plan.options, &mut sink) {
                Ok(summary) => (summary, None),
                Err(ObjectError::Body {
                    source, summary, ..
                }) => (*summary, Some(failure_of_input(source))),
                // One line: the summary names the object already.
                Err(ObjectError::Request(e)) => {
                    let message =
                        format!("{} failed: {}", e.operation(), s3.reason(&e, plan.verbose));
                    (Summary::default(), Some(Failure::Input(message)))
                }
                Err(e) => (
                    Summary::default(),
                    Some(Failure::Input(without_uri(&e, input))),
                ),
            },
            None => (
                Summary::default(),
                Some(Failure::Input("no S3 client".into())),
            ),
        },
    };
    let (summary, mut failure) = result;
    // Stopping is not a failure of the input: say why it stopped.
    if failure.is_none() {
        failure = sink.stopped;
    }
    Outcome {
        input: input.to_string(),
        summary,
        failure,
    }
}

/// Reads a local file: Parquet where it lies, by seeking; text as a stream,
/// counted by the progress bar.
fn read_file<S: Sink<Error = io::Error>>(
    file: File,
    progress: &Progress,
    plan: &Plan,
    sink: &mut S,
) -> (Summary, Option<Failure>) {
    #[cfg(feature = "parquet")]
    match cflog_pipeline::input::is_parquet_file(&file) {
        Ok(true) => {
            let mut pipeline = Pipeline::new(&plan.options, sink);
            return match cflog_pipeline::input::run_parquet_file(&file, &mut pipeline) {
                Ok(summary) => (summary, None),
                Err(e) => (pipeline.summary().clone(), Some(failure_of_input(e))),
            };
        }
        Ok(false) => {}
        Err(e) => return (Summary::default(), Some(Failure::Input(e.to_string()))),
    }
    read_sync(progress.reader(file), plan, sink)
}

fn read_sync<R: io::Read, S: Sink<Error = io::Error>>(
    reader: R,
    plan: &Plan,
    sink: &mut S,
) -> (Summary, Option<Failure>) {
    let mut pipeline = Pipeline::new(&plan.options, sink);
    match run_sync(reader, &mut pipeline) {
        Ok(summary) => (summary, None),
        Err(e) => (pipeline.summary().clone(), Some(failure_of_input(e))),
    }
}

/// `ObjectError`'s message without the `s3://bucket/key` the summary puts
/// in front anyway.
fn without_uri(err: &ObjectError<io::Error>, input: &Input) -> String {
    let message = err.to_string();
    let uri = input.to_string();
    message
        .strip_prefix(&format!("{uri}: "))
        .map(str::to_owned)
        .unwrap_or(message)
}

fn failure_of_input(err: InputError<io::Error>) -> Failure {
    match err {
        InputError::Sink(PipelineError(e)) => failure_of_output(e),
        other => Failure::Input(other.to_string()),
    }
}

fn failure_of_output(err: io::Error) -> Failure {
    if err.kind() == io::ErrorKind::BrokenPipe {
        return Failure::BrokenPipe;
    }
    Failure::Output(err.to_string())
}

/// Adds up the outcomes, prints the summary and `output`'s text, and
/// decides the exit status.
fn finish(
    plan: &Plan,
    outcomes: Vec<Outcome>,
    started: Instant,
    counts: bool,
    output: impl FnOnce(&Totals) -> io::Result<()>,
) -> Status {
    let reporter = Reporter::default();
    let mut totals = Totals {
        failed: plan.unreadable,
        ..Totals::default()
    };
    let mut status = Status::Parsed;
    let mut strict = None;
    for outcome in &outcomes {
        match &outcome.failure {
            Some(Failure::BrokenPipe) => return Status::Parsed,
            Some(Failure::Output(message)) => {
                reporter.warn(format_args!("writing the output failed: {message}"));
                return Status::Failed;
            }
            Some(Failure::Input(_)) if outcome.input.is_empty() => totals.failed += 1,
            Some(Failure::Input(_)) => {
                totals.add_failed(&outcome.input, &outcome.summary);
                continue;
            }
            Some(Failure::Strict(message)) => {
                strict.get_or_insert((outcome.input.clone(), message.clone()));
            }
            Some(Failure::Stopped) | None => {}
        }
        if !outcome.input.is_empty() {
            totals.add(&outcome.input, &outcome.summary);
        }
    }
    totals.elapsed = started.elapsed();
    if let Some((input, message)) = strict {
        reporter.warn(format_args!("{input}:{message} (--strict)"));
        return if totals.failed > 0 {
            Status::Failed
        } else {
            Status::Rejected
        };
    }
    if let Err(e) = output(&totals) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Status::Parsed;
        }
        reporter.warn(format_args!("writing the output failed: {e}"));
        return Status::Failed;
    }
    if !plan.quiet {
        for line in totals.render(counts) {
            reporter.warn(line);
        }
        if let Some(note) = totals.text_only_note(&plan.text_only_flags) {
            reporter.warn(note);
        }
    }
    if totals.any_failed() {
        status = Status::Failed;
    } else if totals.summary.rejected > 0 {
        status = Status::Rejected;
    }
    status
}

/// Wraps each input's sink with the run's policy: `--strict`, and stopping
/// when another input stopped the run. Either stops the input with
/// [`Verdict::Stop`], and `stopped` says why.
struct Guard<'a, S> {
    inner: S,
    strict: bool,
    /// What the pipeline's messages go through ([`Options::redact`]).
    redact: cflog_pipeline::Redact,
    stop: &'a AtomicBool,
    stopped: Option<Failure>,
}

impl<S: Sink> Sink for Guard<'_, S> {
    type Error = S::Error;

    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<S::Error>> {
        if self.stop.load(Ordering::Relaxed) {
            self.stopped = Some(Failure::Stopped);
            return Ok(Verdict::Stop);
        }
        self.inner.entry(line)
    }

    fn rejected(&mut self, error: &cflog_core::Error) -> Result<Verdict, S::Error> {
        if !self.strict {
            return self.inner.rejected(error);
        }
        // The entries before the bad line are good: the sink is finished as
        // usual, so they are written out.
        let pos = error.position().unwrap_or_default();
        let message = self.redact.apply(error.to_string());
        let message = line_message(pos.line(), pos.byte(), &message);
        self.stopped = Some(Failure::Strict(message));
        Ok(Verdict::Stop)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<Delivery, S::Error>> {
        self.inner.poll_finish(cx)
    }
}
