//! `cflog`: Amazon CloudFront access logs from files, stdin and S3 to
//! NDJSON, CSV or TSV, or a quick statistical look (`cflog stats`).
//!
//! The binary is glue, as in ripgrep: parsing lives in cflog-core and
//! streaming in cflog-pipeline, the same code the Lambda runs. `cflog
//! --help` documents the options, the output and the exit statuses.
//!
//! Modules import only modules below them: `run` (every command) above
//! `cli` (the arguments), which names `backfill`'s and `rollup`'s; below those `output`,
//! `stats`, `progress`, `inputs` and `s3`; at the bottom `report` (messages
//! on stderr) and `exit` (the exit statuses).

#![forbid(unsafe_code)]

mod backfill;
mod cli;
mod enrich;
mod exit;
mod inputs;
mod output;
mod progress;
mod report;
mod report_page;
#[cfg(feature = "parquet")]
mod rollup;
mod run;
mod s3;
mod s3_error;
mod stats;
mod tally;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so a closed pipe (`cflog … | head`) shows up as
    // a BrokenPipe write error, which `run` turns into a quiet exit with 0.
    run::main(cli::Cli::parse())
}
