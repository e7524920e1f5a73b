//! The outputs of the typed layer against the JSON writer, on the same
//! 100,000 parsed lines: NDJSON (the JSON contract's fast path), CSV and
//! TSV rows from `cflog_encoders::delimited`, the `cflog stats` tally from
//! `cflog_encoders::tally`, which writes nothing, and a Parquet file from
//! `cflog_parquet`, footer included.
//!
//! Each benchmark reads the corpus from memory, parses every line and
//! encodes it, so they differ only in the encoder. Every benchmark
//! asserts its entry count inside the timed closure. Times are this
//! thread's CPU time. Figures are in BENCHMARKS.md.

use std::hint::black_box;

use cflog_benches::ThreadCpu;
use cflog_core::json::{JsonWriter, Selection};
use cflog_core::{LogLine, Reader, Record};
use cflog_encoders::delimited::{Cells, Columns, RowWriter};
use cflog_encoders::tally::{Tallier, Tally};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LINES: usize = 100_000;

/// Calls `each` with every data line of `text`, parsed; the count.
fn for_each_line(text: &[u8], mut each: impl FnMut(&LogLine<'_>)) -> usize {
    let mut reader = Reader::from_reader(text);
    let mut record = Record::new();
    let mut lines = 0;
    while reader.read_record(&mut record).expect("the corpus parses") {
        each(&record.line());
        lines += 1;
    }
    lines
}

fn encoders(c: &mut Criterion<ThreadCpu>) {
    let text = std::fs::read(cflog_benches::corpus(LINES as u64, "log")).expect("the corpus");
    let mut g = c.benchmark_group("encoders");
    g.throughput(Throughput::Elements(LINES as u64))
        .sample_size(10);

    let mut out = Vec::with_capacity(1 << 28);
    g.bench_function("ndjson", |b| {
        let mut json = JsonWriter::new(Selection::all());
        b.iter(|| {
            out.clear();
            let lines = for_each_line(black_box(&text), |line| {
                json.write(line, &mut out).expect("the corpus is valid");
                out.push(b'\n');
            });
            assert_eq!(lines, LINES);
        });
    });
    for (name, delimiter) in [("csv", b','), ("tsv", b'\t')] {
        g.bench_function(name, |b| {
            // As `cflog --format csv` (or `tsv`) writes them.
            let mut cells = Cells::new(Selection::all());
            let rows = RowWriter::new(delimiter);
            b.iter(|| {
                out.clear();
                let mut slots: Option<Vec<Option<usize>>> = None;
                let lines = for_each_line(black_box(&text), |line| {
                    let slots = slots.get_or_insert_with(|| {
                        let keys = cells.keys(line.schema()).to_vec();
                        Columns::new(keys.clone()).slots(&keys)
                    });
                    cells.read(line).expect("the corpus is valid");
                    rows.write_row(&cells, slots, &mut out);
                });
                assert_eq!(lines, LINES);
            });
        });
    }
    g.bench_function("stats_tally", |b| {
        let mut tallier = Tallier::new();
        b.iter(|| {
            let mut tally = Tally::default();
            for_each_line(black_box(&text), |line| {
                tallier.add(line, &mut tally).expect("the corpus is valid");
            });
            assert_eq!(tally.requests, LINES as u64);
        });
    });
    let mut bytes = 0;
    g.bench_function("parquet", |b| {
        // As `cflog --format parquet` writes them: default row groups, zstd.
        b.iter(|| {
            out.clear();
            let mut writer =
                ParquetWriter::new(&mut out, ColumnSet::standard(), WriterOptions::default())
                    .expect("a writer");
            let lines = for_each_line(black_box(&text), |line| {
                writer.write(line).expect("the corpus is valid");
            });
            let (_, stats) = writer.finish().expect("the file is written");
            assert_eq!((lines, stats.rows), (LINES, LINES as u64));
            bytes = stats.bytes;
        });
    });
    g.finish();
    parquet_size(&text, bytes);
}

/// Prints the Parquet file's bytes per entry beside the gzip input's (zlib
/// level 6, as CloudFront's files are about), for BENCHMARKS.md.
fn parquet_size(text: &[u8], parquet: u64) {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(text).expect("gzip in memory");
    let gzip = gz.finish().expect("gzip in memory").len() as f64 / LINES as f64;
    let parquet = parquet as f64 / LINES as f64;
    eprintln!(
        "encoders/parquet: {parquet:.1} B per entry, gzip input {gzip:.1} B per entry ({:.2}x)",
        parquet / gzip
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = encoders
}
criterion_main!(benches);
