//! API calls, records and billed units per million entries for each stream
//! destination, against the fewest the services' limits allow, and against
//! one call per entry, on the generated corpus: the figures of
//! BENCHMARKS.md's "Stream destinations".
//!
//! `cargo run --release -p cflog-benches --bin stream-calls [LINES]`
//! (default 1,000,000).

use std::sync::atomic::Ordering;

use cflog_benches::streams::{Modeled, services};
use cflog_destinations::pack::Packing;
use cflog_destinations::stream::{StreamDestination, StreamOptions};
use cflog_pipeline::sink::{SinkFactory, Source};
use cflog_pipeline::{Options, Pipeline};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let lines: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |n| n.parse().expect("LINES is a number"));
    let text = std::fs::read(cflog_benches::corpus(lines, "log")).expect("the corpus");
    println!(
        "{lines} lines; per million entries: | destination | calls | fewest calls the limits allow | records | billed units | records per entry |"
    );
    for service in services() {
        let destination = StreamDestination::new(service.clone(), StreamOptions::default());
        let mut pipeline = Pipeline::new(&Options::default(), destination.open(&Source::Stdin));
        for chunk in text.chunks(64 * 1024) {
            let _ = pipeline.push(chunk).expect("the corpus parses");
            pipeline.ready().await.expect("the sink is ready");
        }
        let summary = pipeline.finish().await.expect("the sink finishes");
        report(&service, summary.delivered.entries);
    }
}

/// One row: the counts scaled to a million entries, and the fewest calls
/// any packing within the same limits could make of the same bytes.
fn report(service: &Modeled, entries: u64) {
    let counts = service.counts();
    let calls = counts.calls.load(Ordering::Relaxed);
    let records = counts.records.load(Ordering::Relaxed);
    let bytes = counts.bytes.load(Ordering::Relaxed);
    let units = counts.units.load(Ordering::Relaxed);
    let limits = service.limits();
    // A call carries at most call_bytes and call_records records; packed,
    // a record carries at most record_bytes; one entry per record, there
    // is one record per entry.
    let fewest_records = match service.packing() {
        Packing::PerEntry => entries,
        Packing::Packed => bytes.div_ceil(limits.record_bytes as u64),
    };
    let fewest_calls = bytes
        .div_ceil(limits.call_bytes as u64)
        .max(fewest_records.div_ceil(limits.call_records as u64));
    let per_million = |n: u64| n as f64 * 1e6 / entries as f64;
    println!(
        "| {} | {:.0} | {:.0} | {:.0} | {:.0} ({} KiB units) | {:.4} |",
        service.name,
        per_million(calls),
        per_million(fewest_calls),
        per_million(records),
        per_million(units),
        service.unit() / 1024,
        records as f64 / entries as f64,
    );
}
