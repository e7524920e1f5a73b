//! The command line: what `cflog` accepts, and how the arguments become the
//! pipeline's settings.
//!
//! Everything the user can get wrong is checked here, before any input is
//! opened, so a typo in `--fields` costs nothing and exits with 2 (clap's
//! status for usage errors).

use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use cflog_core::contract::{Contract, Selection};
use cflog_core::{DEFAULT_MAX_LINE_LEN, DecoderBuilder, Delimiter, Field, InputFormat, Schema};
use cflog_pipeline::Options;
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  One downloaded log file (gzip or plain, told apart by content) as NDJSON:
    cflog E2ABCDEF.2024-03-14-21.a1b2c3d4.gz

  A month of logs synced from S3, several files at a time, into one file:
    cflog logs/2024-03/ -o march.ndjson

  Straight from S3; credentials, region and AWS_ENDPOINT_URL come from the
  usual AWS environment:
    cflog s3://my-log-bucket/cf/E2ABCDEF.2024-03-14

  Chosen columns as CSV, for a spreadsheet or DuckDB:
    cflog --format csv --fields timestamp,c_ip,sc_status,cs_uri_stem logs/ > requests.csv

  Into jq: the paths that answered 5xx, most frequent first:
    cflog logs/ | jq -r 'select(.sc_status >= 500) | .cs_uri_stem' | sort | uniq -c | sort -rn

  The quick look people otherwise open GoAccess for:
    cflog stats logs/

  A v2 delivery with '|' between fields and no #Fields header:
    cflog --delimiter '|' --fields-header 'sc-status c-ip timestamp(ms) cs-uri-stem' part-0001.log

  v2 JSON output (one object per line) is told from W3C by its first line:
    cflog E2ABCDEF.2025-01-18-20.2f7f926e.gz

  A v2 delivery as Parquet, or a file cflog wrote, is told apart by its bytes:
    cflog stats s3://my-log-bucket/cf/E2ABCDEF/2025/01/18/
    cflog march.parquet -o march.ndjson

  Real-time log records saved from Kinesis, with the configuration's fields:
    cflog --realtime --fields-header 'timestamp,c-ip,sc-status,cs-uri-stem' records.tsv

Output:
  NDJSON is the JSON contract the cflog Lambda writes too: keys are CloudFront's
  field names in snake_case (cs(User-Agent) -> cs_user_agent), date and time
  become one RFC 3339 `timestamp`, numbers are numbers, `-` is null, text is
  decoded one level. `cflog --list-fields` prints every key. CSV and TSV hold
  the same values, one column per key, null as an empty cell.

  Several inputs are read in parallel (--jobs). Each input's entries stay in
  their order and lines are never cut, but the entries of different inputs
  may alternate in blocks; use --jobs 1 to keep inputs one after another.

Exit status:
  0  every line read: each one an entry, a header or blank (an empty
     input says so on stderr)
  1  some lines were rejected (listed in the summary on stderr),
     or --strict stopped at the first one
  2  an input failed: it could not be read (missing file, S3 error,
     corrupt gzip or Parquet), or it has lines and none is a CloudFront
     log entry (another kind of file: the Lambda's NotACloudFrontLog); or
     the output could not be written, or a usage error
  A closed pipe, as in `cflog logs/ | head`, ends cflog quietly with 0.";

const STATS_EXAMPLES: &str = "\
Examples:
  cflog stats logs/
  cflog stats --top 20 s3://my-log-bucket/cf/E2ABCDEF.2024-03-14
  cflog stats --json logs/ | jq .cache.hit_ratio

Figures:
  requests        entries parsed (rejected lines are not counted)
  bytes_sent      the sum of sc-bytes
  status classes  1xx..5xx, and 000 when the viewer hung up first
  cache           hits (Hit, RefreshHit, OriginShieldHit) against misses (Miss,
                  MissGeneratedResponse), from x-edge-result-type; other result
                  types are left out of the ratio
  errors          x-edge-result-type values that are errors (Error,
                  LimitExceeded, CapacityExceeded, ...)
  time_taken      percentiles of time-taken, in seconds
  top             the most frequent paths, referers, user agents, edge
                  locations and client IPs (missing values are not counted)
  per hour        requests per UTC hour (per day on a terminal when the logs
                  span more than two days; --json always has hours)

Exit status: as for `cflog` (0 every line read, 1 lines rejected, 2 an input
failed or is not a CloudFront log). When no entry was read and an input failed,
no report is printed.";

/// Turns Amazon CloudFront access logs into typed events: NDJSON (the same
/// contract as the cflog Lambda), CSV, TSV or Parquet, or a quick
/// statistical look.
///
/// Reads files (gzip and Parquet told by their content), directories
/// (recursively, in name order), `-` for stdin and s3://bucket/prefix URIs.
/// Every era of the standard log format is read by its #Fields header, as
/// are v2 deliveries (text, JSON or Parquet) and, with --realtime,
/// real-time logs.
#[derive(Debug, Parser)]
#[command(
    name = "cflog",
    version,
    after_long_help = EXAMPLES,
    after_help = "Examples, output format and exit status: cflog --help",
    args_conflicts_with_subcommands = true,
    max_term_width = 100
)]
pub struct Cli {
    /// A subcommand; without one, cflog converts.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The conversion's arguments.
    #[command(flatten)]
    pub convert: ConvertArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarize logs: requests, bytes, status classes, cache hit ratio,
    /// error result types, latency, top paths/referers/user agents/edge
    /// locations/client IPs, requests per hour.
    #[command(after_long_help = STATS_EXAMPLES)]
    Stats(StatsArgs),

    /// Write one self-contained HTML page of charts and tables (or, with
    /// --format json, the same figures as JSON): traffic over time, status
    /// codes, popular and missed objects, referrers, latency, edge
    /// locations… in memory bounded whatever the input.
    #[command(after_long_help = REPORT_EXAMPLES)]
    Report(ReportArgs),

    /// Process the logs already in S3 with the deployed function: list an
    /// S3 prefix (by time and distribution), write the manifest and start an
    /// S3 Batch Operations job; `cflog backfill status JOB` follows it.
    #[command(after_long_help = crate::backfill::EXAMPLES)]
    Backfill(Box<crate::backfill::BackfillArgs>),

    /// Roll up the staged hours under s3://bucket/prefix/ into the table's
    /// one Parquet object per distribution-hour, as the function's schedule
    /// does; hours whose staging objects did not change are left alone.
    #[cfg(feature = "parquet")]
    #[command(after_long_help = crate::rollup::EXAMPLES)]
    Rollup(crate::rollup::RollupArgs),
}

/// Arguments of the default command: logs in, entries out.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson, help_heading = "Output")]
    pub format: Format,

    /// The JSON keys to write, comma-separated, in this order (default: every
    /// field of each log's layout). CloudFront names such as `cs(User-Agent)`
    /// are accepted too; `--list-fields` prints the keys.
    #[arg(long, short = 'f', value_name = "KEYS", help_heading = "Output")]
    pub fields: Option<String>,

    /// Write the entries to FILE instead of stdout (a Parquet file is
    /// complete only when cflog ends). `s3://bucket/prefix/` writes the
    /// Lambda's S3 layout instead: with --format parquet, one object per
    /// input and hour under `prefix/staging/`, then the hours written rolled
    /// up into `prefix/distribution=ID/year=YYYY/month=MM/day=DD/hour=HH/
    /// part-00000.parquet` (see `cflog rollup --help`); with --format
    /// ndjson, `.ndjson.gz` objects per input and hour under `prefix/`. The
    /// same keys on every run.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// With --format parquet --output s3://…, leave the objects per input
    /// in the table's prefix, as before the rollup, instead of staging and
    /// rolling them up.
    #[cfg(feature = "parquet")]
    #[arg(long, help_heading = "Output")]
    pub no_rollup: bool,

    /// Print the keys `--fields` accepts, with their CloudFront names, and exit.
    #[arg(long, exclusive = true, help_heading = "Output")]
    pub list_fields: bool,

    /// Who visits, and what may be stored.
    #[command(flatten)]
    pub enrich: EnrichArgs,

    /// What to read (after the output options, so that `--help` shows
    /// those first).
    #[command(flatten)]
    pub input: InputArgs,
}

/// Enrichments and privacy: derived keys and transforms of the contract,
/// which every output writes.
#[derive(Debug, Default, Args)]
pub struct EnrichArgs {
    /// Derived keys to add, comma-separated. `ua`: `ua_name`, `ua_version`,
    /// `ua_os`, `ua_os_version`, `ua_device` (desktop, phone, tablet, bot,
    /// other) and `is_bot`, from the decoded `cs(User-Agent)`.
    #[arg(
        long,
        value_name = "KEYS",
        value_delimiter = ',',
        value_enum,
        help_heading = "Enrichment and privacy"
    )]
    pub enrich: Vec<Enrichment>,

    /// A MaxMind DB file (GeoIP2, GeoLite2, DB-IP, ip-location-db) that
    /// fills `c_country`, and `asn` when it has AS numbers, from the whole
    /// `c-ip`, for logs that lack CloudFront's own (which are kept).
    /// `scripts/fetch-geoip-db` fetches DB-IP Lite (CC BY 4.0: credit
    /// "IP Geolocation by DB-IP" where countries are shown).
    #[arg(long, value_name = "PATH", help_heading = "Enrichment and privacy")]
    pub geoip_db: Option<PathBuf>,

    /// Rewrite `c_ip` and every address of `x_forwarded_for` before any
    /// output: `truncate` keeps the /24 (IPv4) or /48 (IPv6); `hmac` writes
    /// a keyed HMAC-SHA256 pseudonym (needs --ip-hmac-key-file).
    #[arg(
        long,
        value_name = "MODE",
        value_enum,
        help_heading = "Enrichment and privacy"
    )]
    pub ip_privacy: Option<IpPrivacyMode>,

    /// The key of `--ip-privacy hmac`: a file of at least 16 bytes (one
    /// trailing line break is not part of the key), e.g. `openssl rand -hex 32`.
    #[arg(long, value_name = "PATH", help_heading = "Enrichment and privacy")]
    pub ip_hmac_key_file: Option<PathBuf>,

    /// Keys no output writes, comma-separated (e.g. `cs_cookie`).
    #[arg(long, value_name = "KEYS", help_heading = "Enrichment and privacy")]
    pub drop_fields: Option<String>,

    /// Query parameters to remove from `cs_uri_query` and `query_params`,
    /// by decoded name, comma-separated (e.g. `token,email`).
    #[arg(long, value_name = "NAMES", help_heading = "Enrichment and privacy")]
    pub drop_query_params: Option<String>,
}

/// A group of derived keys of `--enrich`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Enrichment {
    /// The user agent's client, device class and bot flag.
    Ua,
}

/// How `--ip-privacy` rewrites addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IpPrivacyMode {
    /// Keep the /24 or /48, zero the rest.
    Truncate,
    /// A keyed HMAC-SHA256 pseudonym, as hex.
    Hmac,
}

/// Arguments of `cflog stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Write the figures as one JSON object, for machines.
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// How many entries each top list has.
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Output")]
    pub top: usize,

    /// Who visits (browsers, devices, bots, countries), and what is
    /// counted of the addresses.
    #[command(flatten)]
    pub enrich: EnrichArgs,

    /// What to read.
    #[command(flatten)]
    pub input: InputArgs,
}

const REPORT_EXAMPLES: &str = "\
Examples:
  cflog report logs/ -o report.html
  cflog report --title 'www, March' --since 2024-03-01 --until 2024-04-01 s3://my-log-bucket/cf/ -o march.html
  cflog report --format json logs/ | jq .overview

The page:
  One HTML file with its styles and charts inline: it opens from file://,
  offline, and makes no request. Totals (requests, bytes, status classes,
  hits and misses, the time range, rejected lines) are exact and equal
  `cflog stats`'. Lists of values with no bound (paths, referrers, user
  agents, addresses) are kept in fixed-size summaries: each says whether its
  counts are exact or estimates, and by how much a count may be over.
  Visitors (distinct address and user agent per day, as GoAccess counts
  them) are HyperLogLog estimates; latency percentiles are within 1%.

Filters:
  --since and --until keep the entries of [since, until), and skip inputs
  whose key or file name says they hold none (CloudFront's
  <distribution>.YYYY-MM-DD-HH.<id>.gz, or a v2 path's hour); --distribution
  keeps the inputs its ID names in their key or path.

Exit status: as for `cflog` (0 all parsed, 1 lines rejected, 2 errors).";

/// Arguments of `cflog report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the page to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// The page as HTML, or the same figures as one JSON object.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html, help_heading = "Output")]
    pub format: ReportFormat,

    /// The page's title [default: the inputs' names].
    #[arg(long, value_name = "TEXT", help_heading = "Output")]
    pub title: Option<String>,

    /// How many rows each list of values has.
    #[arg(long, value_name = "N", default_value_t = 25, help_heading = "Output")]
    pub top: usize,

    /// Only entries at or after this time: RFC 3339 (2024-03-14T10:00:00Z)
    /// or a UTC date (2024-03-14).
    #[arg(long, value_name = "TIME", value_parser = parse_instant, help_heading = "Filters")]
    pub since: Option<time::OffsetDateTime>,

    /// Only entries before this time, as for --since.
    #[arg(long, value_name = "TIME", value_parser = parse_instant, help_heading = "Filters")]
    pub until: Option<time::OffsetDateTime>,

    /// Only inputs of this distribution ID, by their key or path
    /// (repeatable).
    #[arg(long, value_name = "ID", help_heading = "Filters")]
    pub distribution: Vec<String>,

    /// Who visits (browsers, devices, bots, countries), and what is
    /// counted of the addresses.
    #[command(flatten)]
    pub enrich: EnrichArgs,

    /// What to read.
    #[command(flatten)]
    pub input: InputArgs,
}

/// What `cflog report` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML page.
    Html,
    /// The page's figures as one JSON object.
    Json,
}

/// An instant: RFC 3339, or a date for its midnight UTC.
fn parse_instant(text: &str) -> Result<time::OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(instant) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(instant);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_format)
        .map(|date| date.midnight().assume_utc())
        .map_err(|_| "expected RFC 3339 (2024-03-14T10:00:00Z) or a date (2024-03-14)".into())
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line (the cflog JSON contract).
    Ndjson,
    /// Comma-separated values with a header row of JSON keys (RFC 4180 quoting).
    Csv,
    /// Tab-separated values with a header row; quoted like CSV only when a
    /// value holds a TAB, a quote or a line break.
    Tsv,
    /// Typed Parquet for Athena, DuckDB or pyarrow (zstd): the fixed columns
    /// of cflog-parquet, so files of every era have one schema. Binary:
    /// give -o FILE, or redirect stdout.
    #[cfg(feature = "parquet")]
    Parquet,
}

/// What to read and how to parse it; shared by every command.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Log files (plain, gzip or Parquet, told by their content),
    /// directories (read recursively, in name order, hidden files skipped),
    /// `-` for stdin, or s3://bucket/prefix (every object under the prefix,
    /// in key order). Without any, stdin.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<OsString>,

    /// Stop at the first rejected line: write the entries before it, print
    /// the error, stop every other input and exit with 1. Without it, bad
    /// lines are skipped and counted in the summary.
    #[arg(long)]
    pub strict: bool,

    /// How many inputs are read at once [default: the number of CPUs].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// No summary and no progress bar on stderr; errors are still printed.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print an input error's whole chain of causes after its one-line
    /// message (for S3: the SDK's full answer, headers and body included).
    #[arg(long, short = 'v', conflicts_with = "quiet")]
    pub verbose: bool,

    /// The field delimiter, for v2 deliveries that do not use TAB: `|`, ` | `,
    /// `\t`… (up to 8 bytes).
    #[arg(long, value_name = "DELIM", value_parser = parse_delimiter, help_heading = "Log format")]
    pub delimiter: Option<Delimiter>,

    /// The field names of lines that come before any #Fields header, for
    /// input whose header was stripped: `#Fields: date time …` or the names
    /// alone, separated by spaces or commas [default: the current 33-field
    /// layout]. A #Fields header in the input still takes over.
    #[arg(long, value_name = "FIELDS", help_heading = "Log format")]
    pub fields_header: Option<String>,

    /// The input is real-time logs (Kinesis): no header, fields in
    /// CloudFront's canonical order. `--fields-header` must list the fields
    /// of the real-time configuration, in any order.
    #[arg(long, requires = "fields_header", help_heading = "Log format")]
    pub realtime: bool,

    /// How lines are read: `auto` tells v2 JSON (a first line starting with
    /// `{`) from W3C and other delimited text; `w3c` or `json` say it for
    /// input that auto-detection cannot tell.
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "auto",
        value_parser = parse_input_format,
        help_heading = "Log format"
    )]
    pub input_format: InputFormat,

    /// Lines longer than this are rejected without being buffered.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = DEFAULT_MAX_LINE_LEN,
        value_parser = parse_max_line_bytes,
        help_heading = "Log format"
    )]
    pub max_line_bytes: usize,

    /// Address S3 buckets by path (http://host/bucket/key), as S3-compatible
    /// servers such as MinIO need. The environment variable counts as set
    /// unless it is empty, 0, false, no, off or n.
    #[arg(
        long,
        env = "CFLOG_S3_PATH_STYLE",
        value_parser = clap::builder::FalseyValueParser::new(),
        help_heading = "S3"
    )]
    pub s3_path_style: bool,
}

impl InputArgs {
    /// The parsing options, or a message saying which argument is wrong.
    pub fn options(&self) -> Result<Options, String> {
        let mut decoder = DecoderBuilder::new();
        decoder.max_line_len(self.max_line_bytes);
        if let Some(delimiter) = &self.delimiter {
            decoder.delimiter(delimiter.clone());
        }
        if let Some(header) = &self.fields_header {
            decoder.schema(initial_schema(header, self.realtime)?);
        }
        if self.realtime && self.input_format == InputFormat::Json {
            return Err(
                "--realtime records are TAB-separated text, not --input-format json".into(),
            );
        }
        decoder.format(match self.realtime {
            true => InputFormat::W3c,
            false => self.input_format,
        });
        Ok(Options {
            decoder,
            ..Options::default()
        })
    }

    /// The flags given that shape how text is read, and that a Parquet
    /// input, read by its columns, does not heed.
    pub fn text_only_flags(&self) -> Vec<&'static str> {
        [
            ("--delimiter", self.delimiter.is_some()),
            ("--fields-header", self.fields_header.is_some()),
            ("--realtime", self.realtime),
            ("--input-format", self.input_format != InputFormat::Auto),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// How many inputs to read at once.
    pub fn jobs(&self) -> usize {
        self.jobs
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }
}

fn parse_input_format(text: &str) -> Result<InputFormat, String> {
    text.parse()
        .map_err(|e: cflog_core::UnknownInputFormat| e.to_string())
}

/// A line limit from 64 bytes to 4 GiB (the parser's offsets are 32-bit).
fn parse_max_line_bytes(text: &str) -> Result<usize, String> {
    match text.parse::<u64>() {
        Ok(n) if (64..=u64::from(u32::MAX)).contains(&n) => Ok(n as usize),
        _ => Err(format!(
            "expected a number of bytes from 64 to {}",
            u32::MAX
        )),
    }
}

/// `\t` or `tab` for TAB, which is awkward to type; anything else as given.
fn parse_delimiter(text: &str) -> Result<Delimiter, String> {
    let text = match text {
        "\\t" | "tab" | "TAB" => "\t",
        other => other,
    };
    Delimiter::new(text.as_bytes()).map_err(|e| e.to_string())
}

/// The schema of lines before any `#Fields` header.
fn initial_schema(header: &str, realtime: bool) -> Result<Schema, String> {
    let names = header.strip_prefix("#Fields:").unwrap_or(header);
    let names = names
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|name| !name.is_empty());
    if realtime {
        let (schema, unknown) =
            Schema::realtime(names).map_err(|e| format!("--fields-header: {e}"))?;
        if !unknown.is_empty() {
            // Real-time fields are placed by their canonical number; a name
            // this version cannot place would shift every later column.
            return Err(format!(
                "--fields-header: unknown real-time field names: {} (a newer cflog may know them)",
                unknown.join(", ")
            ));
        }
        return Ok(schema);
    }
    Schema::from_names(names).map_err(|e| format!("--fields-header: {e}"))
}

/// The selection of `--fields` from the keys of `contract`: JSON keys, or CloudFront names turned into
/// their keys. An unknown key gets a suggestion.
pub fn selection(contract: &Contract, fields: Option<&str>) -> Result<Selection, String> {
    let Some(list) = fields else {
        return Ok(contract.select_all());
    };
    let keys: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(|key| match Field::from_name(key) {
            // `date`/`time` have no key of their own; `timestamp` says why.
            Some(Field::Date | Field::Time) => "timestamp".to_owned(),
            Some(field) if Field::from_json_key(key).is_none() => field.json_key().to_owned(),
            _ => key.to_owned(),
        })
        .fold(Vec::new(), |mut keys, key| {
            // `date,time` both mean `timestamp`: one column, not two.
            if !keys.contains(&key) {
                keys.push(key);
            }
            keys
        });
    if keys.is_empty() {
        return Err("--fields: no keys given".into());
    }
    contract.select_keys(&keys).map_err(|e| {
        let hint = closest_key(contract, &e.key)
            .map(|k| format!("did you mean `{k}`? "))
            .unwrap_or_default();
        format!(
            "--fields: unknown key `{}`; {hint}`cflog --list-fields` prints every key",
            e.key
        )
    })
}

/// The valid key nearest to `key`, when one is near enough to be a typo.
fn closest_key(contract: &Contract, key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase().replace(['-', '(', ')'], "_");
    contract
        .valid_keys()
        .map(|candidate| (edit_distance(&key, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, for suggestions only.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The text of `--list-fields`: every key, its CloudFront name and kind.
pub fn fields_listing() -> String {
    fields_listing_of(&Contract::standard())
}

/// The text of `--list-fields` for the keys of `contract`: a registered
/// derived key is listed with its kind, from its declaration.
pub fn fields_listing_of(contract: &Contract) -> String {
    let mut out = String::from("KEY                            CLOUDFRONT NAME\n");
    for key in contract.valid_keys() {
        let derived = contract
            .extra_derived_keys()
            .find(|derived| derived.name == key)
            .map(|derived| format!("derived ({})", derived.kind.name()));
        let name = match key {
            "timestamp" => "date + time, or timestamp (RFC 3339 UTC)",
            "query_params" => "cs-uri-query decoded into an object",
            _ if derived.is_some() => derived.as_deref().unwrap_or_default(),
            key => Field::from_json_key(key).map_or("", Field::name),
        };
        out.push_str(&format!("{key:<30} {name}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_listing_has_every_key_of_the_contract_and_derived_keys_with_their_kinds() {
        assert_eq!(fields_listing(), fields_listing_of(&Contract::standard()));
        let listing = fields_listing_of(&cflog_core::contract::testing::contract());
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), fields_listing().lines().count() + 3);
        for (key, kind) in [
            ("test_ip_bytes", "integer"),
            ("test_has_query", "boolean"),
            ("test_method", "text"),
        ] {
            assert!(
                lines.contains(&format!("{key:<30} derived ({kind})").as_str()),
                "{listing}"
            );
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fields_accept_json_keys_and_cloudfront_names() {
        let chosen = selection(
            &Contract::standard(),
            Some("timestamp, cs(User-Agent),sc-status,c_ip"),
        )
        .unwrap();
        assert_eq!(
            chosen.keys().unwrap(),
            ["timestamp", "cs_user_agent", "sc_status", "c_ip"]
        );
        assert_eq!(
            selection(&Contract::standard(), Some("date,time"))
                .unwrap()
                .keys()
                .unwrap(),
            ["timestamp"]
        );
    }

    #[test]
    fn an_unknown_key_gets_a_suggestion() {
        let err = selection(&Contract::standard(), Some("timestamp,sc_stauts")).unwrap_err();
        assert!(err.contains("`sc_stauts`"), "{err}");
        assert!(err.contains("did you mean `sc_status`?"), "{err}");
        let err = selection(&Contract::standard(), Some("nothing_like_it_at_all")).unwrap_err();
        assert!(!err.contains("did you mean"), "{err}");
        assert!(selection(&Contract::standard(), Some(" , ")).is_err());
    }

    #[test]
    fn delimiters_by_name_or_escape() {
        assert_eq!(parse_delimiter("\\t").unwrap(), Delimiter::tab());
        assert_eq!(parse_delimiter("tab").unwrap(), Delimiter::tab());
        assert_eq!(parse_delimiter(" | ").unwrap().as_bytes(), b" | ");
        assert!(parse_delimiter("").is_err());
    }

    #[test]
    fn a_fields_header_with_or_without_its_prefix() {
        let with = initial_schema("#Fields: date time sc-status", false).unwrap();
        let without = initial_schema("date,time, sc-status", false).unwrap();
        assert_eq!(with, without);
        assert_eq!(with.position(Field::Status), Some(2));
        assert!(initial_schema("#Fields:", false).is_err());
    }

    #[test]
    fn realtime_names_are_put_in_canonical_order_and_unknown_ones_refused() {
        let schema = initial_schema("sc-status timestamp", true).unwrap();
        assert_eq!(schema.position(Field::Timestamp), Some(0));
        assert!(
            initial_schema("timestamp x-unheard-of", true)
                .unwrap_err()
                .contains("x-unheard-of")
        );
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("sc_stauts", "sc_status"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
