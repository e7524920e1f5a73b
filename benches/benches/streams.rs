//! The stream destinations' encode and pack cost per entry, beside the
//! NDJSON sink in the same run: the same 100,000 lines pushed through the
//! pipeline into `NdjsonSink` (writing to `io::sink()`), and into a
//! `StreamSink` for each service, modeled without a network
//! (`cflog_benches::streams`): every call is taken at once, so what is
//! timed is parsing, the JSON line, its key, packing into records and
//! calls, and the task each call runs on. The SDK's own cost (the JSON
//! body, base64, SigV4) and the network are not. Times are this thread's
//! CPU time, on a current-thread Tokio runtime, so the calls' tasks run
//! on it too. Figures are in BENCHMARKS.md.

use std::hint::black_box;

use cflog_benches::ThreadCpu;
use cflog_benches::streams::services;
use cflog_destinations::stream::{StreamDestination, StreamOptions};
use cflog_pipeline::sink::{NdjsonSink, Sink, SinkFactory, Source};
use cflog_pipeline::{Options, Pipeline};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LINES: u64 = 100_000;

/// Pushes `text` through a pipeline into `sink` in 64 KiB chunks, waiting
/// for the sink between them as the Lambda does; the entries delivered.
async fn run<S: Sink>(text: &[u8], sink: S) -> u64 {
    let mut pipeline = Pipeline::new(&Options::default(), sink);
    for chunk in text.chunks(64 * 1024) {
        let _ = pipeline.push(chunk).expect("the corpus parses");
        pipeline.ready().await.expect("the sink is ready");
    }
    pipeline
        .finish()
        .await
        .expect("the sink finishes")
        .delivered
        .entries
}

fn streams(c: &mut Criterion<ThreadCpu>) {
    let text = std::fs::read(cflog_benches::corpus(LINES, "log")).expect("the corpus");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut g = c.benchmark_group("streams");
    g.throughput(Throughput::Elements(LINES)).sample_size(10);
    g.bench_function("ndjson", |b| {
        b.iter(|| {
            let entries = runtime.block_on(run(black_box(&text), NdjsonSink::new(std::io::sink())));
            assert_eq!(entries, LINES);
        });
    });
    for service in services() {
        let name = service.name;
        let destination = StreamDestination::on_runtime(
            service,
            StreamOptions::default(),
            runtime.handle().clone(),
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                let sink = destination.open(&Source::Stdin);
                let entries = runtime.block_on(run(black_box(&text), sink));
                assert_eq!(entries, LINES);
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = streams
}
criterion_main!(benches);
