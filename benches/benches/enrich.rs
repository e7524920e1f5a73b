//! What the enrichments cost, in one run beside plain NDJSON and Parquet:
//! `--enrich ua`, `--geoip-db` (DB-IP Lite country, `scripts/fetch-geoip-db`)
//! and `--ip-privacy truncate` all on, against none, on 400,000 lines of
//! `gen_cflog.py --agents many` (10,875 distinct agents drawn with a
//! realistic skew).
//!
//! The agent cache is shared by every iteration, as by every object a warm
//! function reads, so after the first pass it holds every agent of the
//! corpus: `enriched/*` is the steady state, as is the cache of the
//! database's answers by network. `enriched_cold_cache/ndjson` starts each
//! pass with both caches empty, the cost of a first file. `ua_only`,
//! `geo_only` and `truncate_only` have one enrichment on each, to split the
//! cost. `floor/ndjson` asks nothing of anyone: the same seven keys set from
//! constants and `c-ip` rewritten as logged, which is what the contract
//! and the JSON writer cost for the enrichments' output alone
//! (`floor_keys` and `floor_rewrite` split it). The caches' hit rates and
//! sizes on one cold pass, and the database's load time and size, are
//! printed for BENCHMARKS.md. Times are this thread's CPU time.
//!
//! ```text
//! scripts/fetch-geoip-db
//! cargo bench -p cflog-benches --bench enrich
//! ```

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use cflog_benches::ThreadCpu;
use cflog_core::contract::{
    Contract, Derive, DerivedKey, DerivedValues, KeyKind, Selection, Transform,
};
use cflog_core::json::JsonWriter;
use cflog_core::{Field, FieldError, LogLine, Reader, Record};
use cflog_enrich::geoip::{DEFAULT_NETWORKS_CAPACITY_BYTES, GeoCache, GeoIp};
use cflog_enrich::keys::{GeoKeys, IpPrivacyTransform, USER_AGENT_KEYS, UserAgentKeys};
use cflog_enrich::privacy::IpPrivacy;
use cflog_enrich::ua::{AgentCache, DEFAULT_CAPACITY_BYTES};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const LINES: usize = 400_000;

/// The corpus, generated once into target/cflog-bench.
fn corpus() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join(format!("target/cflog-bench/agents-{LINES}-seed42.log"));
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).expect("target/cflog-bench");
        let partial = path.with_extension("partial.log");
        let status = Command::new("python3")
            .arg(root.join("scripts/gen_cflog.py"))
            .args(["--seed", "42", "--lines", &LINES.to_string()])
            .args(["--agents", "many", "--out"])
            .arg(&partial)
            .status()
            .expect("run python3 scripts/gen_cflog.py");
        assert!(status.success(), "gen_cflog.py failed");
        std::fs::rename(&partial, &path).expect("move the corpus in place");
    }
    path
}

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

/// The contract of `--enrich ua --geoip-db DB --ip-privacy truncate`.
fn enriched(cache: Arc<AgentCache>, geo: Arc<GeoCache>) -> Contract {
    Contract::standard()
        .derive(UserAgentKeys::new(cache))
        .expect("the user agent keys")
        .derive(GeoKeys::cached(geo))
        .expect("the GeoIP keys")
        .transform(IpPrivacyTransform::new(IpPrivacy::Truncate))
}

/// The keys of `--enrich ua --geoip-db DB`, in their order.
const FLOOR_KEYS: [DerivedKey; 7] = [
    USER_AGENT_KEYS[0],
    USER_AGENT_KEYS[1],
    USER_AGENT_KEYS[2],
    USER_AGENT_KEYS[3],
    USER_AGENT_KEYS[4],
    USER_AGENT_KEYS[5],
    DerivedKey {
        name: "c_country",
        kind: KeyKind::Text,
    },
];

/// The enrichments' keys with values that need no lookup: a common
/// browser's, and a country.
#[derive(Debug)]
struct ConstantKeys;

impl Derive for ConstantKeys {
    fn keys(&self) -> &[DerivedKey] {
        &FLOOR_KEYS
    }

    fn derive(&self, _: &LogLine<'_>, values: &mut DerivedValues) -> Result<(), FieldError> {
        for (key, text) in ["Chrome", "120.0.0.0", "Windows", "10", "desktop"]
            .into_iter()
            .enumerate()
        {
            values.set_text(key, text);
        }
        values.set_boolean(5, false);
        values.set_text(6, "US");
        Ok(())
    }
}

/// Truncation's fields, rewritten as logged.
#[derive(Debug)]
struct AsLogged;

impl Transform for AsLogged {
    fn fields(&self) -> &[Field] {
        &[Field::ClientIp, Field::ForwardedFor]
    }

    fn rewrite(&self, _: Field, raw: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(raw);
    }
}

/// The database behind a new network cache of the default bound.
fn geo_cache(db: GeoIp) -> Arc<GeoCache> {
    Arc::new(GeoCache::new(db, DEFAULT_NETWORKS_CAPACITY_BYTES))
}

fn enrich(c: &mut Criterion<ThreadCpu>) {
    let text = std::fs::read(corpus()).expect("the corpus");
    let db_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/geoip/dbip-country.mmdb");
    let started = Instant::now();
    let db = GeoIp::open(&db_path).unwrap_or_else(|e| panic!("{e}: run scripts/fetch-geoip-db"));
    let load = started.elapsed();
    eprintln!(
        "enrich: {} opened in {:.1} ms, {:.1} MB in memory",
        db_path.display(),
        load.as_secs_f64() * 1e3,
        db.size_bytes() as f64 / 1e6
    );
    // One cold pass: the cache's hit rate and size over the corpus.
    let cache = Arc::new(AgentCache::new(DEFAULT_CAPACITY_BYTES));
    let db_bytes = std::fs::read(&db_path).expect("the database");
    let geo = geo_cache(db);
    let contract = enriched(Arc::clone(&cache), Arc::clone(&geo));
    let mut json = JsonWriter::new(contract.select_all());
    let mut out = Vec::with_capacity(1 << 30);
    for_each_line(&text, |line| {
        json.write(line, &mut out).expect("the corpus is valid");
    });
    let stats = cache.stats();
    eprintln!(
        "enrich: agent cache on one pass of {LINES} lines: hit rate {:.2} %, {} entries in {:.1} MB (bound {:.1} MB)",
        stats.hit_rate() * 100.0,
        stats.entries,
        stats.bytes as f64 / 1e6,
        DEFAULT_CAPACITY_BYTES as f64 / 1e6
    );
    let stats = geo.stats();
    eprintln!(
        "enrich: network cache on one pass of {LINES} lines: hit rate {:.2} %, {} networks in {:.1} MB (bound {:.1} MB)",
        stats.hit_rate() * 100.0,
        stats.entries,
        stats.bytes as f64 / 1e6,
        DEFAULT_NETWORKS_CAPACITY_BYTES as f64 / 1e6
    );
    // Each enrichment on its own, to split the cost (warm caches, as
    // `enriched/*`).
    let ua_only = Contract::standard()
        .derive(UserAgentKeys::new(Arc::clone(&cache)))
        .expect("the user agent keys");
    let geo_only = Contract::standard()
        .derive(GeoKeys::cached(Arc::clone(&geo)))
        .expect("the GeoIP keys");
    let truncate_only =
        Contract::standard().transform(IpPrivacyTransform::new(IpPrivacy::Truncate));
    let floor = Contract::standard()
        .derive(ConstantKeys)
        .expect("the constant keys")
        .transform(AsLogged);
    let floor_keys = Contract::standard()
        .derive(ConstantKeys)
        .expect("the constant keys");
    let floor_rewrite = Contract::standard().transform(AsLogged);

    cold_start_cost(&db_path);

    let mut g = c.benchmark_group("enrich");
    g.throughput(Throughput::Elements(LINES as u64))
        .sample_size(10);
    for (name, selection) in [
        ("plain/ndjson", Selection::all()),
        ("enriched/ndjson", contract.select_all()),
        ("ua_only/ndjson", ua_only.select_all()),
        ("geo_only/ndjson", geo_only.select_all()),
        ("truncate_only/ndjson", truncate_only.select_all()),
        ("floor/ndjson", floor.select_all()),
        ("floor_keys/ndjson", floor_keys.select_all()),
        ("floor_rewrite/ndjson", floor_rewrite.select_all()),
    ] {
        g.bench_function(name, |b| {
            let mut json = JsonWriter::new(selection.clone());
            b.iter(|| {
                out.clear();
                let lines = for_each_line(black_box(&text), |line| {
                    json.write(line, &mut out).expect("the corpus is valid");
                    out.push(b'\n');
                });
                assert_eq!(lines, LINES);
            });
        });
    }
    g.bench_function("enriched_cold_cache/ndjson", |b| {
        // A new cache (and database, from memory) per pass, made untimed.
        let fresh = || {
            let cache = Arc::new(AgentCache::new(DEFAULT_CAPACITY_BYTES));
            let db = GeoIp::from_bytes(&db_path, db_bytes.clone()).expect("the database");
            JsonWriter::new(enriched(cache, geo_cache(db)).select_all())
        };
        b.iter_batched(
            fresh,
            |mut json| {
                out.clear();
                let lines = for_each_line(black_box(&text), |line| {
                    json.write(line, &mut out).expect("the corpus is valid");
                    out.push(b'\n');
                });
                assert_eq!(lines, LINES);
            },
            BatchSize::PerIteration,
        );
    });
    for (name, contract) in [
        ("plain/parquet", Contract::standard()),
        ("enriched/parquet", contract.clone()),
        ("floor/parquet", floor.clone()),
    ] {
        let columns = ColumnSet::for_contract(cflog_core::Family::Standard, &contract);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut writer =
                    ParquetWriter::new(&mut out, columns.clone(), WriterOptions::default())
                        .expect("a writer");
                let lines = for_each_line(black_box(&text), |line| {
                    writer.write(line).expect("the corpus is valid");
                });
                writer.finish().expect("the file is written");
                assert_eq!(lines, LINES);
            });
        });
    }
    g.finish();
}

/// What enabling the enrichments adds to the function's cold start: its
/// configuration read with `CFLOG_ENRICH=ua`, `CFLOG_GEOIP_DB` (the file)
/// and `CFLOG_IP_PRIVACY=truncate` against without (the fastest of five
/// each, wall time: the cold start's own clock).
fn cold_start_cost(db: &std::path::Path) {
    let db = db.to_str().expect("a UTF-8 path");
    let fastest = |vars: &[(&str, &str)]| {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                let config = cflog_lambda::Config::from_lookup(cflog_testkit::env(vars))
                    .expect("the configuration");
                let took = started.elapsed();
                black_box(config);
                took.as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };
    let plain = fastest(&[]);
    let enriched = fastest(&[
        ("CFLOG_ENRICH", "ua"),
        ("CFLOG_GEOIP_DB", db),
        ("CFLOG_IP_PRIVACY", "truncate"),
    ]);
    eprintln!(
        "enrich: the function's configuration in {plain:.2} ms plain, {enriched:.2} ms with ua, the database and truncation (+{:.2} ms)",
        enriched - plain
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = enrich
}
criterion_main!(benches);
