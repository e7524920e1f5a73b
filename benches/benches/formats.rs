//! The three log families side by side, from the same 100,000 requests:
//! legacy W3C text, v2 JSON lines, and real-time records in Kinesis
//! batches, each read into the JSON contract (NDJSON in memory).
//!
//! The v2 JSON and real-time inputs are converted from the generated
//! 33-field corpus before timing, so every benchmark carries the same
//! requests. Every benchmark asserts its entry count inside the timed
//! closure. Times are this thread's CPU time. Figures are in BENCHMARKS.md.

use std::hint::black_box;

use aws_lambda_events::event::kinesis::KinesisEvent;
use cflog_benches::ThreadCpu;
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Field, InputFormat, LogLine, REALTIME_ORDER, Reader, Record, Schema};
use cflog_lambda::Config;
use cflog_lambda::kinesis::process_batch;
use cflog_pipeline::sink::NdjsonSink;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const LINES: usize = 100_000;
/// Kinesis batches as Lambda delivers them (its default batch size is 100;
/// the SAM template asks for up to 1,000).
const BATCH: usize = 1_000;

/// The corpus as W3C text with its header.
fn w3c() -> Vec<u8> {
    std::fs::read(cflog_benches::corpus(LINES as u64, "log")).expect("read the corpus")
}

/// Calls `each` with every data line of the corpus, parsed.
fn for_each_line(text: &[u8], mut each: impl FnMut(&LogLine<'_>)) {
    let mut reader = Reader::from_reader(text);
    let mut record = Record::new();
    while reader.read_record(&mut record).expect("the corpus parses") {
        each(&record.line());
    }
}

/// The corpus as v2 JSON output: one object per line, every value a string,
/// keyed by the field names of the header.
fn v2_json(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for_each_line(text, |line| {
        let object: serde_json::Map<String, serde_json::Value> = line
            .iter()
            .map(|(column, raw)| {
                let value = String::from_utf8_lossy(raw).into_owned();
                (column.name().to_owned(), json!(value))
            })
            .collect();
        serde_json::to_writer(&mut out, &object).unwrap();
        out.push(b'\n');
    });
    out
}

/// The real-time fields that standard logs have too, by meaning.
fn realtime_fields() -> Vec<Field> {
    let standard = Schema::standard();
    REALTIME_ORDER
        .iter()
        .copied()
        .filter(|f| *f == Field::Timestamp || standard.contains(*f))
        .collect()
}

/// The corpus as real-time records, in canonical order: epoch seconds with
/// milliseconds, the stem with its query, and every other shared field.
fn realtime_records(text: &[u8]) -> Vec<Vec<u8>> {
    let fields = realtime_fields();
    let mut records = Vec::with_capacity(LINES);
    for_each_line(text, |line| {
        let values: Vec<String> = fields
            .iter()
            .map(|field| match field {
                Field::Timestamp => {
                    let t = line.timestamp().unwrap().unwrap();
                    format!("{}.{:03}", t.unix_timestamp(), t.millisecond())
                }
                Field::UriStem => {
                    let stem = String::from_utf8_lossy(line.raw(Field::UriStem).unwrap());
                    match line.raw(Field::UriQuery) {
                        Some(b"-") | None => stem.into_owned(),
                        Some(q) => format!("{stem}?{}", String::from_utf8_lossy(q)),
                    }
                }
                field => String::from_utf8_lossy(line.raw(*field).unwrap()).into_owned(),
            })
            .collect();
        records.push(values.join("\t").into_bytes());
    });
    records
}

/// Kinesis events of `BATCH` records each, as Lambda delivers them (data in
/// base64), serialized to JSON.
fn kinesis_events(records: &[Vec<u8>]) -> Vec<Vec<u8>> {
    records
        .chunks(BATCH)
        .enumerate()
        .map(|(b, chunk)| {
            let sequences: Vec<String> = (0..chunk.len())
                .map(|i| format!("4959{:010}", b * BATCH + i))
                .collect();
            let records: Vec<(&str, &[u8])> = sequences
                .iter()
                .zip(chunk)
                .map(|(sequence, data)| (sequence.as_str(), data.as_slice()))
                .collect();
            let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/cf";
            serde_json::to_vec(&cflog_testkit::kinesis_event(stream, &records)).unwrap()
        })
        .collect()
}

/// Every entry of `input` as NDJSON, through the reader and the writer.
fn ndjson(input: &[u8], format: InputFormat, out: &mut Vec<u8>) -> usize {
    let mut builder = cflog_core::DecoderBuilder::new();
    builder.format(format);
    let mut reader = Reader::from_builder(&builder, input);
    let mut record = Record::new();
    let mut writer = JsonWriter::new(Selection::all());
    let mut entries = 0;
    out.clear();
    while reader.read_record(&mut record).unwrap() {
        writer.write(&record.line(), out).unwrap();
        out.push(b'\n');
        entries += 1;
    }
    entries
}

fn formats(c: &mut Criterion<ThreadCpu>) {
    let w3c = w3c();
    let json = v2_json(&w3c);
    let records = realtime_records(&w3c);
    let events = kinesis_events(&records);
    let names: Vec<&str> = realtime_fields()
        .iter()
        .map(|f| f.realtime_name())
        .collect();
    let config =
        Config::from_lookup(|name| (name == "CFLOG_REALTIME_FIELDS").then(|| names.join(",")))
            .unwrap();
    let realtime = config.realtime.expect("the real-time configuration");

    let mut g = c.benchmark_group("formats");
    g.throughput(Throughput::Elements(LINES as u64))
        .sample_size(10);
    let mut out = Vec::with_capacity(1 << 30);
    g.bench_function("w3c_33_fields_to_ndjson", |b| {
        b.iter(|| assert_eq!(ndjson(black_box(&w3c), InputFormat::Auto, &mut out), LINES));
    });
    g.bench_function("v2_json_33_fields_to_ndjson", |b| {
        b.iter(|| assert_eq!(ndjson(black_box(&json), InputFormat::Auto, &mut out), LINES));
    });
    g.bench_function("kinesis_batches_to_ndjson", |b| {
        // The Lambda's path: the event's JSON and base64, then the batch,
        // record by record, into an NDJSON sink.
        b.iter(|| {
            let mut entries = 0;
            for event in black_box(&events) {
                let event: KinesisEvent = serde_json::from_slice(event).unwrap();
                let sink = NdjsonSink::new(std::io::sink());
                let (result, report) =
                    futures_executor::block_on(process_batch(&event.records, &realtime, sink));
                result.unwrap();
                entries += report.summary.entries as usize;
            }
            assert_eq!(entries, LINES);
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = formats
}
criterion_main!(benches);
