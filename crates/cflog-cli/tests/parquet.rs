//! `cflog --format parquet`: one file for every input, read back by pyarrow
//! and DuckDB (readers nobody here wrote) and compared value by value with
//! what `cflog` writes as NDJSON of the same inputs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use cflog_core::Family;
use cflog_parquet::ColumnSet;
use common::{cflog, testdata};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One file to compare: its Parquet and the NDJSON of the same inputs.
struct Written {
    parquet: PathBuf,
    ndjson: PathBuf,
    rows: usize,
    family: Family,
    /// The Parquet was written by parallel workers, whose rows alternate in
    /// blocks: paired with the NDJSON's by request id.
    any_order: bool,
}

/// Runs `cflog` on `inputs` twice, as Parquet and as NDJSON, one input at a
/// time so both have the same order; both must exit alike.
fn convert(dir: &Path, name: &str, args: &[&str], inputs: &[PathBuf], family: Family) -> Written {
    convert_with_jobs(dir, name, args, inputs, family, 1)
}

/// [`convert`], with the Parquet written by `jobs` workers at once.
fn convert_with_jobs(
    dir: &Path,
    name: &str,
    args: &[&str],
    inputs: &[PathBuf],
    family: Family,
    jobs: usize,
) -> Written {
    let parquet = dir.join(format!("{name}.parquet"));
    let ndjson = dir.join(format!("{name}.ndjson"));
    let run = |jobs: usize, extra: &[&str]| {
        cflog()
            .args(["-q", "--jobs", &jobs.to_string()])
            .args(args)
            .args(extra)
            .args(inputs)
            .output()
            .unwrap()
    };
    let as_parquet = run(
        jobs,
        &["--format", "parquet", "-o", parquet.to_str().unwrap()],
    );
    let as_ndjson = run(1, &["-o", ndjson.to_str().unwrap()]);
    assert_eq!(
        as_parquet.status.code(),
        as_ndjson.status.code(),
        "{name}: {}",
        String::from_utf8_lossy(&as_parquet.stderr)
    );
    let mut rejected = [&as_parquet.stderr, &as_ndjson.stderr].map(|stderr| {
        let mut lines: Vec<String> = String::from_utf8_lossy(stderr)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    });
    if jobs == 1 {
        assert_eq!(as_parquet.stderr, as_ndjson.stderr);
    }
    let [parquet_rejected, ndjson_rejected] = &mut rejected;
    assert_eq!(
        parquet_rejected, ndjson_rejected,
        "{name}: the same lines rejected"
    );
    let rows = std::fs::read_to_string(&ndjson).unwrap().lines().count();
    Written {
        parquet,
        ndjson,
        rows,
        family,
        any_order: jobs > 1,
    }
}

#[test]
fn pyarrow_and_duckdb_read_every_value_as_the_ndjson_output_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    // Every testdata file at once, logs of every era beside files that are
    // not logs: the rejected lines are left out of both outputs alike.
    written.push(convert(
        dir.path(),
        "testdata",
        &[],
        &[testdata("")],
        Family::Standard,
    ));
    // A generated corpus with bad lines, gzipped, in more than one input.
    let mut corpora = Vec::new();
    for (seed, fields) in [("3", "33"), ("4", "24"), ("5", "33")] {
        let path = dir.path().join(format!("gen-{seed}.log.gz"));
        let status = Command::new("python3")
            .arg(repo().join("scripts/gen_cflog.py"))
            .args(["--seed", seed, "--lines", "20000", "--fields", fields])
            .args(["--bad-rate", "0.02", "--out"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        corpora.push(path);
    }
    written.push(convert(
        dir.path(),
        "generated",
        &[],
        &corpora[..2],
        Family::Standard,
    ));
    // The same, three inputs by three workers: each batches its own rows,
    // and the one writer encodes the batches as they fill.
    written.push(convert_with_jobs(
        dir.path(),
        "parallel",
        &[],
        &corpora,
        Family::Standard,
        3,
    ));
    // A gzip cut off half-way: the rows read before the break, the last
    // ones still in the input's batch when it failed, are in the file, as
    // they are in the NDJSON.
    let gz = std::fs::read(&corpora[2]).unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let cut_off = convert(dir.path(), "cut", &[], &[cut], Family::Standard);
    assert!(
        (8_193..19_000).contains(&cut_off.rows),
        "more than a batch, and not all: {}",
        cut_off.rows
    );
    written.push(cut_off);
    // Real-time records, in the real-time columns.
    let fields = std::fs::read_to_string(testdata("realtime-40-fields-2020.fields")).unwrap();
    written.push(convert(
        dir.path(),
        "realtime",
        &["--realtime", "--fields-header", fields.trim()],
        &[testdata("realtime-40-fields-2020.tsv")],
        Family::Realtime,
    ));
    assert!(written[1].rows > 35_000, "{}", written[1].rows);

    let manifest: Vec<serde_json::Value> = written
        .iter()
        .map(|w| {
            let columns = ColumnSet::for_family(w.family).render_glue_columns();
            serde_json::json!({
                "parquet": w.parquet,
                "ndjson": w.ndjson,
                "rows": w.rows,
                "any_order": w.any_order,
                "row_group_rows": cflog_parquet::WriterOptions::default().get_row_group_rows(),
                "glue_columns": serde_json::from_str::<serde_json::Value>(&columns).unwrap(),
            })
        })
        .collect();
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let output = Command::new(cflog_testkit::tools_python())
        .arg(repo().join("crates/cflog-parquet/tests/readback.py"))
        .arg(&manifest_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "readback.py failed");
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let total: usize = written.iter().map(|w| w.rows).sum();
    assert_eq!(summary["files"], written.len());
    assert_eq!(summary["rows"], total);
    assert_eq!(summary["duckdb_rows"], total);
}

#[test]
fn stdin_to_a_redirected_stdout_is_a_whole_file() {
    let log = std::fs::read(testdata("real-33-fields-2025.log")).unwrap();
    let output = cflog()
        .args(["-q", "--format", "parquet"])
        .write_stdin(log)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let file = output.stdout;
    assert!(file.starts_with(b"PAR1") && file.ends_with(b"PAR1"));
}

#[test]
fn fields_do_not_apply_to_the_fixed_columns() {
    let output = cflog()
        .args([
            "--format",
            "parquet",
            "--fields",
            "sc_status",
            "-o",
            "/dev/null",
        ])
        .arg(testdata("real-33-fields-2025.log"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("its columns are fixed"), "{stderr}");
}
