//! What a run leaves behind: no output file when it wrote no entry (not
//! even a Parquet footer), every entry it wrote when an input failed, and
//! no `stats` report when nothing was read and an input failed.

mod common;

use common::{cflog, objects, synthetic_log};
use predicates::prelude::*;

#[test]
fn a_run_that_writes_no_entry_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gz");
    let mut formats = vec!["ndjson", "csv"];
    if cfg!(feature = "parquet") {
        formats.push("parquet");
    }
    for format in formats {
        let out = dir.path().join(format!("out.{format}"));
        cflog()
            .args(["--format", format, "-o"])
            .arg(&out)
            .arg(&missing)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("nope.gz: No such file"))
            .stderr(predicate::str::contains(format!(
                "{}: not written, no entry to write",
                out.display()
            )));
        assert!(!out.exists(), "{format}: {} was left behind", out.display());
    }
}

#[test]
fn a_run_that_fails_beside_entries_keeps_them_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("E1.2024-03-14-21.a1b2c3d4");
    std::fs::write(&good, synthetic_log("a", 250)).unwrap();
    let out = dir.path().join("out.ndjson");
    cflog()
        .args(["--jobs", "1", "-o"])
        .arg(&out)
        .arg(&good)
        .arg(dir.path().join("nope.gz"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: kept, with the 250 entries read before or beside the failure",
            out.display()
        )));
    assert_eq!(objects(&std::fs::read(&out).unwrap()).len(), 250);
}

#[test]
fn stats_prints_no_report_when_every_input_failed() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["stats"][..], &["stats", "--json"]] {
        cflog()
            .args(args)
            .arg(dir.path().join("nope.gz"))
            .arg(dir.path().join("gone.gz"))
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("2 inputs could not be read"));
    }
}
