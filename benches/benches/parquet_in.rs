//! Parquet in: the same 100,000 requests to NDJSON from gzip text, from
//! AWS's v2 Parquet (every column a string, snappy, as Firehose and Glue
//! write by default) and from cflog's own typed Parquet, each through the
//! pipeline's input (`run_sync` for the gzip, `run_parquet_file` for the
//! files) into an NDJSON sink in memory.
//!
//! `…_to_nothing` runs the gzip text and cflog's own file into a sink that
//! keeps nothing: each input's own share, without the JSON writer.
//!
//! The files are made before timing, from the generated 33-field corpus.
//! Times are this thread's CPU time. Figures are in BENCHMARKS.md.

use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use cflog_benches::ThreadCpu;
use cflog_core::{Reader, Record};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
use cflog_pipeline::input::{run_parquet_file, run_sync};
use cflog_pipeline::sink::{NdjsonSink, NullSink};
use cflog_pipeline::{Options, Pipeline};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

const LINES: usize = 100_000;

/// The corpus as AWS's Parquet: its columns as strings, named by the JSON
/// keys, snappy, in row groups of 128 Ki rows (one, here).
fn aws_parquet(text: &[u8], path: &Path) {
    let mut reader = Reader::from_reader(text);
    let mut record = Record::new();
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<String>> = Vec::new();
    while reader.read_record(&mut record).expect("the corpus parses") {
        let line = record.line();
        if names.is_empty() {
            names = line
                .schema()
                .columns()
                .iter()
                .map(|c| c.json_key().to_owned())
                .collect();
            columns = vec![Vec::with_capacity(LINES); names.len()];
        }
        for (i, column) in columns.iter_mut().enumerate() {
            let raw = line.column(i).unwrap_or(b"-");
            column.push(String::from_utf8_lossy(raw).into_owned());
        }
    }
    let arrays: Vec<(String, ArrayRef)> = names
        .into_iter()
        .zip(columns)
        .map(|(name, values)| (name, Arc::new(StringArray::from(values)) as ArrayRef))
        .collect();
    let batch = RecordBatch::try_from_iter(arrays).unwrap();
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(128 * 1024))
        .build();
    let mut writer = ArrowWriter::try_new(
        File::create(path).unwrap(),
        batch.schema(),
        Some(properties),
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// The corpus as cflog's own Parquet, with the writer's defaults.
fn own_parquet(text: &[u8], path: &Path) {
    let file = File::create(path).unwrap();
    let mut writer =
        ParquetWriter::new(file, ColumnSet::standard(), WriterOptions::default()).unwrap();
    let mut reader = Reader::from_reader(text);
    let mut record = Record::new();
    while reader.read_record(&mut record).expect("the corpus parses") {
        writer.write(&record.line()).unwrap();
    }
    writer.finish().unwrap();
}

fn made(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let path = cflog_benches::workspace()
        .join("target/cflog-bench")
        .join(name);
    make(&path);
    path
}

fn parquet_in(c: &mut Criterion<ThreadCpu>) {
    let gz_path = cflog_benches::corpus(LINES as u64, "log.gz");
    let text = std::fs::read(cflog_benches::corpus(LINES as u64, "log")).unwrap();
    let gz = std::fs::read(&gz_path).unwrap();
    let aws = made("corpus-100000-aws-strings.parquet", |p| {
        aws_parquet(&text, p)
    });
    let own = made("corpus-100000-cflog.parquet", |p| own_parquet(&text, p));
    for (name, path) in [("gzip", &gz_path), ("aws", &aws), ("cflog", &own)] {
        let bytes = std::fs::metadata(path).unwrap().len();
        eprintln!(
            "parquet_in: {name} input {bytes} bytes, {:.1} bytes per entry",
            bytes as f64 / LINES as f64
        );
    }

    let mut g = c.benchmark_group("parquet_in");
    g.throughput(Throughput::Elements(LINES as u64))
        .sample_size(10);
    let mut out = Vec::with_capacity(1 << 29);
    g.bench_function("gzip_text_to_ndjson", |b| {
        b.iter(|| {
            out.clear();
            let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
            let summary = run_sync(black_box(&gz[..]), &mut pipeline).unwrap();
            assert_eq!(summary.entries as usize, LINES);
        });
    });
    for (name, path) in [
        ("aws_strings_parquet_to_ndjson", &aws),
        ("cflog_parquet_to_ndjson", &own),
    ] {
        let file = File::open(path).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut pipeline = Pipeline::new(&Options::default(), NdjsonSink::new(&mut out));
                let summary = run_parquet_file(black_box(&file), &mut pipeline).unwrap();
                assert_eq!(summary.entries as usize, LINES);
            });
        });
    }
    without_output(&mut g, &gz, &own);
    g.finish();
}

/// The gzip text and cflog's own Parquet into a sink that keeps nothing:
/// each input's own share (the inflate and the splitting of the text; the
/// Parquet decoding and the lines written from the columns), without the
/// JSON writer that both pay.
fn without_output(g: &mut BenchmarkGroup<'_, ThreadCpu>, gz: &[u8], own: &Path) {
    g.bench_function("gzip_text_to_nothing", |b| {
        b.iter(|| {
            let mut pipeline = Pipeline::new(&Options::default(), NullSink::new());
            let summary = run_sync(black_box(gz), &mut pipeline).unwrap();
            assert_eq!(summary.entries as usize, LINES);
        });
    });
    let file = File::open(own).unwrap();
    g.bench_function("cflog_parquet_to_nothing", |b| {
        b.iter(|| {
            let mut pipeline = Pipeline::new(&Options::default(), NullSink::new());
            let summary = run_parquet_file(black_box(&file), &mut pipeline).unwrap();
            assert_eq!(summary.entries as usize, LINES);
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = parquet_in
}
criterion_main!(benches);
