//! The rollup's rate on one core, whole process: an hour of generated
//! entries (stdin) staged in memory as files of `FILE_LINES` rows each, as
//! the S3 destination writes one per log file, then merged into one part
//! with the rollup's settings, timed alone. Prints rows per second of the
//! merge, and the staged and rolled bytes per entry.
//!
//! ```text
//! python3 scripts/gen_cflog.py --seed 42 --lines 1000000 --span-hours 1 |
//!   cargo run --release -p cflog-parquet --example rollup_rate -- [FILE_LINES]
//! ```

use std::io::BufReader;
use std::time::Instant;

use bytes::Bytes;
use cflog_core::{Reader, Record};
use cflog_parquet::rollup::{RollupOptions, RollupWriter};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file_lines: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000);
    let new_writer =
        || ParquetWriter::new(Vec::new(), ColumnSet::standard(), WriterOptions::staged());
    let mut files = Vec::new();
    let mut writer = new_writer()?;
    let mut reader = Reader::from_reader(BufReader::new(std::io::stdin().lock()));
    let mut record = Record::new();
    while reader.read_record(&mut record)? {
        if writer.write(&record.line()).is_err() {
            continue;
        }
        if writer.rows() == file_lines {
            let full = std::mem::replace(&mut writer, new_writer()?);
            files.push(Bytes::from(full.finish()?.0));
        }
    }
    if writer.rows() > 0 {
        files.push(Bytes::from(writer.finish()?.0));
    }
    let staged: usize = files.iter().map(Bytes::len).sum();

    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let options = RollupOptions::default();
    let writer = options.writer(staged as u64);
    let mut part = RollupWriter::new(Vec::new(), ColumnSet::standard(), writer)?;
    for file in &files {
        part.append(file.clone())?;
    }
    let (out, stats) = part.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    let rows = stats.rows as f64;
    println!(
        "{} staging files of up to {file_lines} rows, {} rows: rolled up in {seconds:.2} s, {:.2} M rows/s; {} row groups",
        files.len(),
        stats.rows,
        rows / seconds / 1e6,
        stats.row_groups
    );
    if let (Some(before), Some(after)) = (cpu_started, cpu_seconds()) {
        let cpu = after - before;
        println!(
            "CPU (user + system): {cpu:.2} s, {:.2} M rows per CPU second",
            rows / cpu / 1e6
        );
    }
    println!(
        "bytes per entry: staged {:.1}, rolled {:.1} ({} bytes)",
        staged as f64 / rows,
        out.len() as f64 / rows,
        out.len()
    );
    Ok(())
}

/// This process's CPU time so far, user and system, where Linux's
/// `/proc/self/stat` tells it (in clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command's name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}
