//! Parsing throughput, side by side with the fastest Rust peer
//! (`cloudfront-logs` 0.10) on the same corpus in the same run.
//!
//! Every benchmark asserts its result count inside the timed closure, so a
//! benchmark that silently parses nothing fails instead of looking fast.
//! Times are this thread's CPU time, which other load on the machine does
//! not inflate. The figures are recorded in BENCHMARKS.md.

use std::hint::black_box;

use cflog_benches::ThreadCpu;
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{LogLine, Reader, Record, Schema};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};

struct Corpus {
    bytes: Vec<u8>,
    /// The data lines (no headers), without line breaks.
    lines: Vec<&'static str>,
}

fn corpus() -> Corpus {
    let text =
        std::fs::read_to_string(cflog_benches::corpus(100_000, "log")).expect("read the corpus");
    let text: &'static str = text.leak();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(lines.len(), 100_000);
    Corpus {
        bytes: text.as_bytes().to_vec(),
        lines,
    }
}

fn group<'c>(
    c: &'c mut Criterion<ThreadCpu>,
    name: &str,
    corpus: &Corpus,
) -> BenchmarkGroup<'c, ThreadCpu> {
    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Bytes(corpus.bytes.len() as u64))
        .sample_size(20);
    group
}

/// Splitting into fields with the header-driven schema and validating the
/// field count, against the peer's `ValidatedRawLogline` and a bare memchr
/// split (the ceiling).
fn split(c: &mut Criterion<ThreadCpu>) {
    let corpus = corpus();
    let lines = &corpus.lines;
    let expected = lines.len();
    let mut g = group(c, "split", &corpus);
    g.bench_function("memchr_tab_split", |b| {
        b.iter(|| {
            let mut n = 0;
            for line in black_box(lines) {
                n += usize::from(memchr::memchr_iter(b'\t', line.as_bytes()).count() == 32);
            }
            assert_eq!(n, expected);
        })
    });
    g.bench_function("cflog_LogLine_parse", |b| {
        let schema = Schema::standard();
        let mut ends = Vec::new();
        b.iter(|| {
            let mut n = 0;
            for line in black_box(lines) {
                if let Ok(line) = LogLine::parse(line.as_bytes(), &schema, &mut ends) {
                    black_box(&line);
                    n += 1;
                }
            }
            assert_eq!(n, expected);
        })
    });
    g.bench_function("peer_ValidatedRawLogline", |b| {
        b.iter(|| {
            let mut n = 0;
            for &line in black_box(lines) {
                if let Ok(record) = cloudfront_logs::ValidatedRawLogline::try_from(line) {
                    black_box(&record);
                    n += 1;
                }
            }
            assert_eq!(n, expected);
        })
    });
    g.finish();
}

/// Reads every typed field of a line into a checksum, so nothing is left
/// lazily unparsed.
fn typed_checksum(line: &LogLine<'_>) -> Option<u64> {
    let mut sum = line.timestamp().ok()??.unix_timestamp() as u64;
    sum = sum.wrapping_add(line.sc_bytes().ok()??);
    sum = sum.wrapping_add(u64::from(line.client_ip().ok()??.is_ipv4()));
    sum = sum.wrapping_add(u64::from(line.status().ok()??));
    sum = sum.wrapping_add(line.edge_result_type().ok()??.as_str().len() as u64);
    sum = sum.wrapping_add(line.protocol().ok()??.as_str().len() as u64);
    sum = sum.wrapping_add(line.cs_bytes().ok()?.unwrap_or(0));
    sum = sum.wrapping_add(line.time_taken().ok()??.as_millis() as u64);
    sum = sum.wrapping_add(line.forwarded_for().map_or(0, |x| x.count() as u64));
    sum = sum.wrapping_add(
        line.ssl_protocol()
            .ok()?
            .map_or(0, |p| p.as_str().len() as u64),
    );
    sum = sum.wrapping_add(line.edge_response_result_type().ok()??.as_str().len() as u64);
    sum = sum.wrapping_add(line.http_version().ok()??.as_str().len() as u64);
    sum = sum.wrapping_add(
        line.fle_status()
            .ok()?
            .map_or(0, |s| s.as_str().len() as u64),
    );
    sum = sum.wrapping_add(
        line.u64(cflog_core::Field::FleEncryptedFields)
            .ok()?
            .unwrap_or(0),
    );
    sum = sum.wrapping_add(u64::from(line.client_port().ok()??));
    sum = sum.wrapping_add(line.time_to_first_byte().ok()??.as_millis() as u64);
    sum = sum.wrapping_add(line.edge_detailed_result_type().ok()??.as_str().len() as u64);
    sum = sum.wrapping_add(line.content_len().ok()?.unwrap_or(0));
    sum = sum.wrapping_add(line.range_start().ok()?.unwrap_or(0) as u64);
    sum = sum.wrapping_add(line.range_end().ok()?.unwrap_or(0) as u64);
    Some(sum)
}

/// A full typed parse (timestamp, numbers, IP, durations, enums), against
/// the peer's `ValidatedTimeLogline`.
fn typed(c: &mut Criterion<ThreadCpu>) {
    let corpus = corpus();
    let lines = &corpus.lines;
    let expected = lines.len();
    let mut g = group(c, "typed", &corpus);
    g.bench_function("cflog_typed_all_fields", |b| {
        let schema = Schema::standard();
        let mut ends = Vec::new();
        b.iter(|| {
            let (mut n, mut sum) = (0, 0u64);
            for line in black_box(lines) {
                let Ok(line) = LogLine::parse(line.as_bytes(), &schema, &mut ends) else {
                    continue;
                };
                if let Some(s) = typed_checksum(&line) {
                    sum = sum.wrapping_add(s);
                    n += 1;
                }
            }
            assert_eq!(n, expected);
            sum
        })
    });
    g.bench_function("peer_ValidatedTimeLogline", |b| {
        b.iter(|| {
            let (mut n, mut sum) = (0, 0u64);
            for &line in black_box(lines) {
                if let Ok(record) = cloudfront_logs::ValidatedTimeLogline::try_from(line) {
                    sum = sum
                        .wrapping_add(record.datetime.unix_timestamp() as u64)
                        .wrapping_add(record.sc_bytes);
                    black_box(&record);
                    n += 1;
                }
            }
            assert_eq!(n, expected);
            sum
        })
    });
    g.finish();
}

/// The JSON contract for all 33 fields, into one reused buffer.
fn json(c: &mut Criterion<ThreadCpu>) {
    let corpus = corpus();
    let lines = &corpus.lines;
    let expected = lines.len();
    let mut g = group(c, "json", &corpus);
    g.bench_function("cflog_json_all_fields", |b| {
        let schema = Schema::standard();
        let mut ends = Vec::new();
        let mut writer = JsonWriter::new(Selection::all());
        let mut out = Vec::with_capacity(4096);
        b.iter(|| {
            let (mut n, mut bytes) = (0, 0);
            for line in black_box(lines) {
                let Ok(line) = LogLine::parse(line.as_bytes(), &schema, &mut ends) else {
                    continue;
                };
                out.clear();
                if writer.write(&line, &mut out).is_ok() {
                    bytes += out.len();
                    n += 1;
                }
            }
            assert_eq!(n, expected);
            bytes
        })
    });
    g.finish();
}

/// The whole reader: framing, headers, copying into the reused record and
/// splitting, from one in-memory buffer.
fn reader(c: &mut Criterion<ThreadCpu>) {
    let corpus = corpus();
    let expected = corpus.lines.len();
    let mut g = group(c, "reader", &corpus);
    g.bench_function("cflog_Reader_read_record", |b| {
        let mut record = Record::new();
        b.iter(|| {
            let mut reader = Reader::from_reader(black_box(&corpus.bytes[..]));
            let mut n = 0;
            while reader.read_record(&mut record).expect("the corpus parses") {
                n += 1;
            }
            assert_eq!(n, expected);
        })
    });
    g.finish();
}

/// Building a schema from a header, measured apart from per-line work.
fn schema(c: &mut Criterion<ThreadCpu>) {
    let header = b"#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";
    c.bench_function("schema/from_fields_header_33", |b| {
        b.iter(|| {
            let schema = Schema::from_fields_header(black_box(header)).expect("valid header");
            assert_eq!(schema.len(), 33);
            schema
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = split, typed, json, reader, schema
}
criterion_main!(benches);
