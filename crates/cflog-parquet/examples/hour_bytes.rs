//! Bytes per entry of Parquet objects laid out as the S3 destination lays
//! them out: one object per hour of the entries' own times, each its own
//! file with its own footer and dictionaries, and, beside them, the same
//! entries as one file. Exact bytes, so two builds compare without noise.
//!
//! ```text
//! gzip -dc target/cflog-bench/corpus-1000000-seed42.log.gz |
//!   cargo run --release -p cflog-parquet --example hour_bytes -- [GZIP_BYTES [ZSTD_LEVEL]]
//! ```
//!
//! `GZIP_BYTES`, the size of the gzip input, adds each layout's ratio to
//! it; `ZSTD_LEVEL` overrides the writer's default level. The CPU time
//! printed (parse and encode, both layouts) is a rough figure for comparing
//! levels on one machine, not a benchmark.

use std::io::BufReader;

use cflog_core::{Reader, Record};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let gzip_bytes: Option<u64> = args.next().map(|n| n.parse()).transpose()?;
    let mut options = WriterOptions::default();
    if let Some(level) = args.next() {
        options = options.zstd_level(level.parse()?);
    }
    let started = std::time::Instant::now();
    let mut hours: Vec<(i64, ParquetWriter<Vec<u8>>)> = Vec::new();
    let mut whole = ParquetWriter::new(Vec::new(), ColumnSet::standard(), options.clone())?;
    let mut reader = Reader::from_reader(BufReader::new(std::io::stdin().lock()));
    let mut record = Record::new();
    let mut entries = 0u64;
    while reader.read_record(&mut record)? {
        let line = record.line();
        // The destination's partition: the entry's hour (lines without a
        // time are rejected there, and left out here).
        let Some(at) = line.timestamp()? else {
            continue;
        };
        let hour = at.unix_timestamp().div_euclid(3600);
        let i = match hours.iter().position(|(h, _)| *h == hour) {
            Some(i) => i,
            None => {
                let writer =
                    ParquetWriter::new(Vec::new(), ColumnSet::standard(), options.clone())?;
                hours.push((hour, writer));
                hours.len() - 1
            }
        };
        hours[i].1.write(&line)?;
        whole.write(&line)?;
        entries += 1;
    }
    let objects = hours.len();
    let mut hourly = 0u64;
    for (_, writer) in hours {
        hourly += writer.finish()?.1.bytes;
    }
    let single = whole.finish()?.1.bytes;
    println!("{entries} entries, {options:?}");
    for (layout, bytes) in [
        (format!("{objects} hour objects"), hourly),
        ("one object".into(), single),
    ] {
        let per_entry = bytes as f64 / entries as f64;
        let ratio = gzip_bytes.map_or(String::new(), |gz| {
            format!(", {:.4}x the gzip input", bytes as f64 / gz as f64)
        });
        println!("{layout}: {bytes} bytes, {per_entry:.3} B per entry{ratio}");
    }
    println!("{:.1} s wall", started.elapsed().as_secs_f64());
    Ok(())
}
