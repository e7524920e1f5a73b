//! The Lambda's per-object path, gz object to NDJSON (or to Parquet
//! objects in S3, `CFLOG_SINK=s3`), from a real
//! S3-compatible server in-process, beside the ceiling it is measured
//! against: a streaming gunzip (flate2 with zlib-rs) plus a memchr split of
//! the same text into lines and fields. A bare count of the delimiters
//! after the same gunzip, which splits nothing, is measured too: no reader
//! of lines can beat it.
//!
//! The server runs on a runtime thread of its own, as S3 runs elsewhere for
//! the real function; the client, gunzip, parser and sink run on the
//! benchmark thread (a current-thread runtime), whose CPU time is measured.

use std::io::{BufRead, BufReader};

use cflog_benches::ThreadCpu;
use cflog_destinations::s3::{ObjectFormat, S3Destination};
use cflog_pipeline::Options;
use cflog_pipeline::input::GUNZIP_BUFFER;
use cflog_pipeline::s3::process_object;
use cflog_pipeline::sink::{NdjsonSink, NullSink, SinkFactory, Source};
use cflog_testkit::S3Server;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LINES: u64 = 100_000;

fn handler(c: &mut Criterion<ThreadCpu>) {
    let gz = std::fs::read(cflog_benches::corpus(LINES, "log.gz")).expect("read the corpus");
    let hour_gz = std::fs::read(cflog_benches::corpus_spanning(LINES, 1, "log.gz"))
        .expect("read the one-hour corpus");
    let plain_len = std::fs::read(cflog_benches::corpus(LINES, "log"))
        .expect("read the corpus")
        .len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the server's runtime");
    let server = server_runtime.block_on(async {
        let server = S3Server::start().await;
        server.create_bucket("bench").await;
        server.create_bucket("athena").await;
        server
            .put("bench", "E1.2024-03-14-00.cflog.gz", gz.clone())
            .await;
        server
            .put("bench", "E1.2024-03-14-00.hour.gz", hour_gz)
            .await;
        server
    });
    let client = server.client();
    let options = Options::default();

    let mut group = c.benchmark_group("handler");
    group
        .throughput(Throughput::Bytes(plain_len as u64))
        .sample_size(10);
    group.bench_function("ceiling_gunzip_memchr_split", |b| {
        b.iter(|| {
            let (lines, fields) = gunzip_memchr_split(&gz);
            assert_eq!(lines, LINES + 2);
            // Two header lines of one field each.
            assert_eq!(fields, LINES * 33 + 2);
        })
    });
    group.bench_function("gunzip_memchr_count", |b| {
        b.iter(|| {
            let mut reader = gunzip(&gz);
            let (mut lines, mut tabs) = (0u64, 0u64);
            loop {
                let chunk = reader.fill_buf().expect("gunzip");
                if chunk.is_empty() {
                    break;
                }
                lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
                tabs += memchr::memchr_iter(b'\t', chunk).count() as u64;
                let n = chunk.len();
                reader.consume(n);
            }
            assert_eq!(lines, LINES + 2);
            assert_eq!(tabs, LINES * 32);
        })
    });
    group.bench_function("s3_object_to_ndjson", |b| {
        b.iter(|| {
            let sink = NdjsonSink::new(std::io::sink());
            let summary = runtime
                .block_on(process_object(
                    &client,
                    "bench",
                    "E1.2024-03-14-00.cflog.gz",
                    &options,
                    sink,
                ))
                .expect("the object parses");
            assert_eq!(summary.entries, LINES);
        })
    });
    // The S3 destination: typed Parquet objects (one per hour of the
    // corpus) uploaded to the same server, the uploads driven by the
    // benchmark thread's runtime, so their CPU time is counted.
    let destination =
        S3Destination::on_runtime(client.clone(), "athena", "bench", runtime.handle().clone())
            .format(ObjectFormat::Parquet);
    // The 24-hour corpus makes 24 objects of about 4,170 rows, each with
    // its own footer and 45 column writers; a real CloudFront file holds
    // one hour, which is one object.
    for (name, key) in [
        ("s3_object_to_parquet_in_s3", "E1.2024-03-14-00.cflog.gz"),
        (
            "s3_hour_object_to_parquet_in_s3",
            "E1.2024-03-14-00.hour.gz",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let source = Source::Object {
                    bucket: "bench",
                    key,
                };
                let summary = runtime
                    .block_on(process_object(
                        &client,
                        "bench",
                        key,
                        &options,
                        destination.open(&source),
                    ))
                    .expect("the object parses and its objects are written");
                assert_eq!(summary.entries, LINES);
                assert_eq!(summary.delivered.entries, LINES);
            })
        });
    }
    group.bench_function("s3_object_parse_only", |b| {
        b.iter(|| {
            let summary = runtime
                .block_on(process_object(
                    &client,
                    "bench",
                    "E1.2024-03-14-00.cflog.gz",
                    &options,
                    NullSink::new(),
                ))
                .expect("the object parses");
            assert_eq!(summary.entries, LINES);
        })
    });
    group.finish();
}

/// A streaming gunzip of `gz`, with the handler's buffer size.
fn gunzip(gz: &[u8]) -> impl BufRead + '_ {
    BufReader::with_capacity(GUNZIP_BUFFER, flate2::bufread::MultiGzDecoder::new(gz))
}

/// The ceiling the cflog-lambda issue sets: a streaming gunzip, and a
/// memchr split of its text into lines and of each line into fields, into a
/// span list that is reused. Returns the number of lines and of fields.
fn gunzip_memchr_split(gz: &[u8]) -> (u64, u64) {
    let mut reader = gunzip(gz);
    // A line cut by the end of a chunk, completed by the next one.
    let mut carry = Vec::new();
    let mut spans = Vec::new();
    let (mut lines, mut fields) = (0u64, 0u64);
    let mut split = |line: &[u8]| {
        spans.clear();
        let mut start = 0;
        for tab in memchr::memchr_iter(b'\t', line) {
            spans.push([start, tab]);
            start = tab + 1;
        }
        spans.push([start, line.len()]);
        lines += 1;
        fields += std::hint::black_box(&spans).len() as u64;
    };
    loop {
        let chunk = reader.fill_buf().expect("gunzip");
        if chunk.is_empty() {
            break;
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            if carry.is_empty() {
                split(&chunk[start..end]);
            } else {
                carry.extend_from_slice(&chunk[start..end]);
                split(&carry);
                carry.clear();
            }
            start = end + 1;
        }
        carry.extend_from_slice(&chunk[start..]);
        let n = chunk.len();
        reader.consume(n);
    }
    if !carry.is_empty() {
        split(&carry);
    }
    (lines, fields)
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = handler
}
criterion_main!(benches);
