//! The Lambda's per-object path, gz object to NDJSON, from a real
//! S3-compatible server in-process, beside the ceiling it is measured
//! against: a streaming gunzip (flate2 with zlib-rs) plus a memchr line split
//! of the same bytes.
//!
//! The server runs on a runtime thread of its own, as S3 runs elsewhere for
//! the real function; the client, gunzip, parser and sink run on the
//! benchmark thread (a current-thread runtime), whose CPU time is measured.

use std::io::{BufRead, BufReader};

use cflog_benches::ThreadCpu;
use cflog_pipeline::Options;
use cflog_pipeline::s3::process_object;
use cflog_pipeline::sink::{NdjsonSink, NullSink};
use cflog_testkit::S3Server;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LINES: u64 = 100_000;

fn handler(c: &mut Criterion<ThreadCpu>) {
    let gz = std::fs::read(cflog_benches::corpus(LINES, "log.gz")).expect("read the corpus");
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
        server
            .put("bench", "E1.2024-03-14-00.cflog.gz", gz.clone())
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
            let mut reader =
                BufReader::with_capacity(64 * 1024, flate2::bufread::MultiGzDecoder::new(&gz[..]));
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

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = handler
}
criterion_main!(benches);
