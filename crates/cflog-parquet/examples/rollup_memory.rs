//! The rollup's peak memory on an hour of any size, whole process: an
//! hour's staging files are read from a directory one at a time, each
//! into memory, planned
//! into parts ([`plan_parts`]) and each part written to a file, as the S3
//! destination rolls an hour up (there the part goes to a multipart
//! upload instead, in pieces of a bounded size). Prints the parts, their
//! rows and the process's peak resident memory.
//!
//! ```text
//! # Stage an hour as files of 1,000 rows, as the S3 destination does:
//! python3 scripts/gen_cflog.py --seed 42 --lines 10000000 --span-hours 1 |
//!   cargo run --release -p cflog-parquet --example rollup_memory -- stage staged/ 1000
//! # Roll it up into parts/:
//! cargo run --release -p cflog-parquet --example rollup_memory -- roll staged/ parts/
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use cflog_core::{Reader, Record};
use cflog_parquet::rollup::{RollupOptions, RollupWriter, plan_parts};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["stage", dir, file_lines] => stage(Path::new(dir), file_lines.parse()?),
        ["roll", staged, parts] => roll(Path::new(staged), Path::new(parts)),
        _ => Err(
            "usage: rollup_memory stage DIR FILE_LINES < log | roll STAGED_DIR PARTS_DIR".into(),
        ),
    }
}

/// Writes the log on stdin as staging files of `file_lines` rows each.
fn stage(dir: &Path, file_lines: u64) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let new_writer = |n: usize| -> Result<_, Box<dyn std::error::Error>> {
        let file = BufWriter::new(File::create(dir.join(format!("{n:06}.parquet")))?);
        Ok(ParquetWriter::new(
            file,
            ColumnSet::standard(),
            WriterOptions::staged(),
        )?)
    };
    let (mut files, mut rows) = (0, 0);
    let mut writer = new_writer(files)?;
    let mut reader = Reader::from_reader(BufReader::new(std::io::stdin().lock()));
    let mut record = Record::new();
    while reader.read_record(&mut record)? {
        if writer.write(&record.line()).is_err() {
            continue;
        }
        rows += 1;
        if writer.rows() == file_lines {
            files += 1;
            std::mem::replace(&mut writer, new_writer(files)?).finish()?;
        }
    }
    writer.finish()?;
    println!("{rows} rows staged in {} files", files + 1);
    Ok(())
}

/// Rolls the staging files of `staged`, in name order, into parts in
/// `parts`.
fn roll(staged: &Path, parts: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(parts)?;
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(staged)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    inputs.sort();
    let sizes: Vec<u64> = inputs
        .iter()
        .map(|path| path.metadata().map(|m| m.len()))
        .collect::<Result<_, _>>()?;
    let options = RollupOptions::default();
    for (number, part) in plan_parts(&sizes, options.get_part_input_bytes())
        .into_iter()
        .enumerate()
    {
        let input_bytes = sizes[part.clone()].iter().sum();
        let out = BufWriter::new(File::create(
            parts.join(format!("part-{number:05}.parquet")),
        )?);
        let mut writer =
            RollupWriter::new(out, ColumnSet::standard(), options.writer(input_bytes))?;
        // As the S3 destination holds a staging object of up to 16 MiB,
        // fetched whole, in memory.
        for path in &inputs[part.clone()] {
            writer.append(bytes::Bytes::from(std::fs::read(path)?))?;
        }
        let (_, stats) = writer.finish()?;
        println!(
            "part {number}: {} inputs, {} rows, {} row groups, {} bytes",
            stats.inputs, stats.rows, stats.row_groups, stats.bytes
        );
    }
    println!(
        "peak resident memory: {}",
        peak_rss().unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

/// The process's peak resident memory, as Linux's `/proc/self/status`
/// gives it (`VmHWM`).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}
