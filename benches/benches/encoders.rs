//! The outputs of the typed layer against the JSON writer, on the same
//! 100,000 parsed lines: NDJSON (the JSON contract's fast path), CSV and
//! TSV rows from `cflog_encoders::delimited`, the tally of `cflog stats`
//! and `cflog report` from `cflog_encoders::aggregate`, which writes nothing, and a Parquet file from
//! `cflog_parquet`, footer included; beside it, parquet's own writer on
//! the same rows already in Arrow batches (its share of that path), with
//! cflog's settings and with one of them changed at a time, and the
//! fastest Rust peer's Parquet writer.
//!
//! Each benchmark reads the corpus from memory, parses every line and
//! encodes it, so they differ only in the encoder. Every benchmark
//! asserts its entry count inside the timed closure. Times are this
//! thread's CPU time. Figures are in BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::RecordBatch;
use cflog_benches::ThreadCpu;
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{LogLine, Reader, Record};
use cflog_encoders::aggregate::{Aggregate, Aggregator};
use cflog_encoders::delimited::{Cells, Columns, RowWriter};
use cflog_parquet::{ColumnSet, ParquetWriter, WriteStats, WriterOptions};
use cloudfront_logs::ValidatedParquetLogline;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::RecordWriter;

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
        let mut aggregator = Aggregator::new();
        b.iter(|| {
            let mut aggregate = Aggregate::default();
            for_each_line(black_box(&text), |line| {
                aggregator
                    .add(line, &mut aggregate)
                    .expect("the corpus is valid");
            });
            assert_eq!(aggregate.requests, LINES as u64);
        });
    });
    g.bench_function("parquet", |b| {
        b.iter(|| {
            out.clear();
            let (lines, stats) = write_parquet(black_box(&text), &mut out);
            assert_eq!((lines, stats.rows), (LINES, LINES as u64));
        });
    });
    // parquet's share alone: the same rows, already in Arrow batches of
    // cflog's batch size, written with the same properties. The rest of
    // the `parquet` benchmark is parsing and filling the column buffers.
    let set = ColumnSet::standard();
    let props = WriterOptions::default()
        .writer_properties(&set)
        .expect("the properties");
    let mut file = Vec::new();
    // Outside the benchmarks, so that the sizes are printed whichever of
    // them a filter runs.
    let (_, cflog_file) = write_parquet(&text, &mut file);
    let batches = arrow_batches(&file);
    let mut file = Vec::with_capacity(1 << 24);
    g.bench_function("parquet_writer_alone", |b| {
        b.iter(|| write_batches(&batches, &props, &mut file));
    });
    // What each of parquet's settings would buy: the same batches with one
    // setting changed from cflog's, and the file's bytes per entry beside
    // the time, since the issue also holds the file to 0.7x the gzip input.
    let variants = [
        (
            "statistics_per_chunk",
            props
                .clone()
                .into_builder()
                .set_statistics_enabled(EnabledStatistics::Chunk),
        ),
        (
            "no_statistics",
            props
                .clone()
                .into_builder()
                .set_statistics_enabled(EnabledStatistics::None),
        ),
        (
            "no_dictionaries",
            props.clone().into_builder().set_dictionary_enabled(false),
        ),
        (
            "uncompressed",
            props
                .clone()
                .into_builder()
                .set_compression(Compression::UNCOMPRESSED),
        ),
    ];
    let mut sizes = Vec::new();
    for (name, builder) in variants {
        let variant = builder.build();
        write_batches(&batches, &variant, &mut file);
        sizes.push((name, file.len()));
        g.bench_function(format!("parquet_writer_alone/{name}"), |b| {
            b.iter(|| write_batches(&batches, &variant, &mut file));
        });
    }
    // The fastest Rust peer's Parquet: its `parquet_derive` record writer
    // over its own parse of each line, with the same compression (zstd 1)
    // and page statistics; one row group, as ours for 100k lines. It keeps
    // text escaped, has no query parameters, and writes 34 columns.
    let peer_props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1")))
            .set_statistics_enabled(EnabledStatistics::Page)
            .build(),
    );
    let text_str = std::str::from_utf8(&text).expect("the corpus is UTF-8");
    g.bench_function("peer_cloudfront_logs_parquet", |b| {
        let schema = Arc::new(ValidatedParquetLogline::schema_as_type());
        b.iter(|| {
            out.clear();
            let rows: Vec<ValidatedParquetLogline<'_>> = black_box(text_str)
                .lines()
                .filter(|line| !line.starts_with('#'))
                .map(|line| ValidatedParquetLogline::try_from(line).expect("the peer parses it"))
                .collect();
            let mut writer =
                SerializedFileWriter::new(&mut out, Arc::clone(&schema), Arc::clone(&peer_props))
                    .expect("a writer");
            let mut group = writer.next_row_group().expect("a row group");
            rows.as_slice()
                .write_to_row_group(&mut group)
                .expect("the rows are written");
            group.close().expect("the row group is written");
            writer.close().expect("the file is written");
            assert_eq!(rows.len(), LINES);
        });
    });
    g.finish();
    parquet_size(&text, cflog_file.bytes);
    for (name, bytes) in sizes {
        eprintln!(
            "encoders/parquet_writer_alone/{name}: {:.1} B per entry",
            bytes as f64 / LINES as f64
        );
    }
}

/// Writes `batches` to `file` as one Parquet file with `props`, as
/// parquet's `ArrowWriter` alone does.
fn write_batches(batches: &[RecordBatch], props: &WriterProperties, file: &mut Vec<u8>) {
    file.clear();
    let mut writer = ArrowWriter::try_new(&mut *file, batches[0].schema(), Some(props.clone()))
        .expect("a writer");
    for batch in batches {
        writer.write(batch).expect("the batch is written");
    }
    let metadata = writer.close().expect("the file is written");
    assert_eq!(metadata.file_metadata().num_rows(), LINES as i64);
}

/// Writes the Parquet file of `text` to `out` as `cflog --format parquet`
/// does (default row groups, zstd): the lines read, and what was written.
fn write_parquet(text: &[u8], out: &mut Vec<u8>) -> (usize, WriteStats) {
    let mut writer =
        ParquetWriter::new(out, ColumnSet::standard(), WriterOptions::default()).expect("a writer");
    let lines = for_each_line(text, |line| {
        writer.write(line).expect("the corpus is valid");
    });
    (lines, writer.finish().expect("the file is written").1)
}

/// The rows of a Parquet file as Arrow batches of the writer's default
/// batch size, read back with parquet's own reader.
fn arrow_batches(file: &[u8]) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(file))
        .expect("cflog's file opens")
        .with_batch_size(8 * 1024)
        .build()
        .expect("a reader")
        .collect::<Result<_, _>>()
        .expect("cflog's file reads back")
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
