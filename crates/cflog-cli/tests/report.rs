//! `cflog report`: the page opened in a real browser (Debian's chromium,
//! driven by playwright from the tools venv) on every `testdata/` log and a
//! generated corpus, its overview against `cflog stats --json`; and the
//! JSON form's figures against DuckDB's count over the same entries
//! written as Parquet by `cflog --format parquet`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cflog, testdata};
use serde_json::{Value, json};

/// The largest page the report may write.
const MAX_PAGE_BYTES: u64 = 3 * 1024 * 1024;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where pages and screenshots are kept after the run, as CI artifacts.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-pages");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A generated log of `lines` lines with a share of bad ones, gzipped.
fn generated(dir: &Path, seed: &str, lines: &str, fields: &str, bad_rate: &str) -> PathBuf {
    let path = dir.join(format!("gen-{seed}-{fields}.log.gz"));
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen_cflog.py"))
        .args(["--seed", seed, "--lines", lines, "--fields", fields])
        .args(["--bad-rate", bad_rate, "--span-hours", "100", "--out"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "gen_cflog.py failed");
    path
}

/// Runs `cflog ARGS`, and returns its stdout and exit status: 0, 1 for
/// rejected lines, or 2 for an input in which no line is an entry (such as
/// the README among `testdata/`'s logs); the page is written all the same.
fn run(args: &[&std::ffi::OsStr]) -> (Vec<u8>, i32) {
    let output = cflog().args(args).output().unwrap();
    let code = output.status.code().unwrap();
    assert!(
        (0..=2).contains(&code),
        "cflog {args:?}: {code}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output.stdout, code)
}

/// One page to check: `cflog report` and `cflog stats --json` over the same
/// `args`.
fn case(name: &str, args: &[&std::ffi::OsStr]) -> Value {
    let dir = artifacts();
    let html = dir.join(format!("{name}.html"));
    let stats = dir.join(format!("{name}.stats.json"));
    let mut report_args: Vec<&std::ffi::OsStr> = vec!["report".as_ref(), "-q".as_ref()];
    report_args.extend_from_slice(args);
    report_args.extend(["-o".as_ref(), html.as_os_str()]);
    let (_, report_code) = run(&report_args);
    let mut stats_args: Vec<&std::ffi::OsStr> = vec!["stats".as_ref(), "--json".as_ref()];
    stats_args.extend_from_slice(args);
    let (stats_json, stats_code) = run(&stats_args);
    assert_eq!(report_code, stats_code, "{name}: exit statuses differ");
    std::fs::write(&stats, &stats_json).unwrap();
    let size = std::fs::metadata(&html).unwrap().len();
    assert!(size <= MAX_PAGE_BYTES, "{name}: the page is {size} bytes");
    json!({
        "name": name,
        "html": html,
        "stats": stats,
        "screenshot": dir.join(format!("{name}.png")),
        "dark_screenshot": dir.join(format!("{name}.dark.png")),
    })
}

#[test]
fn pages_open_offline_in_chromium_with_every_panel_and_the_figures_of_stats() {
    let status = Command::new(repo().join("scripts/install-browser"))
        .status()
        .unwrap();
    assert!(status.success(), "scripts/install-browser failed");
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(testdata(""))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            (name.ends_with(".log") || name.ends_with(".ndjson")) && path.is_file()
        })
        .collect();
    logs.sort();
    assert!(logs.len() >= 12, "{logs:?}");
    for log in &logs {
        let name = log.file_stem().unwrap().to_string_lossy().into_owned();
        // Lines with a delimiter of their own say so in their name.
        let delimiter = match name.as_str() {
            "v2-custom-order-pipe" => Some("|"),
            "v2-custom-order-multichar" => Some(" | "),
            _ => None,
        };
        match delimiter {
            Some(d) => cases.push(case(
                &name,
                &["--delimiter".as_ref(), d.as_ref(), log.as_os_str()],
            )),
            None => cases.push(case(&name, &[log.as_os_str()])),
        }
    }
    let fields = std::fs::read_to_string(testdata("realtime-40-fields-2020.fields")).unwrap();
    cases.push(case(
        "realtime-40-fields-2020",
        &[
            "--realtime".as_ref(),
            "--fields-header".as_ref(),
            fields.trim().as_ref(),
            testdata("realtime-40-fields-2020.tsv").as_os_str(),
        ],
    ));
    // Every testdata file at once, the files that are not logs included:
    // their lines are rejected, and the page says so.
    cases.push(case("testdata-all", &[testdata("").as_os_str()]));
    // A generated corpus over four days, with bad lines, in two inputs.
    let first = generated(dir.path(), "31", "30000", "33", "0.01");
    let second = generated(dir.path(), "32", "10000", "26", "0.01");
    cases.push(case("generated", &[first.as_os_str(), second.as_os_str()]));

    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, serde_json::to_vec(&cases).unwrap()).unwrap();
    let python = cflog_testkit::install_tools().join("browser/bin/python");
    let output = Command::new(python)
        .arg(repo().join("crates/cflog-cli/tests/report/check_pages.py"))
        .arg(&manifest)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "check_pages.py failed");
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["pages"], cases.len());
    // The generated corpus draws every chart but the origin latencies
    // (which standard logs lack).
    let generated = summary["checked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "generated")
        .unwrap();
    assert!(generated["charts"].as_u64().unwrap() >= 10, "{generated}");
}

#[test]
fn bad_input_still_renders_and_counts_what_it_rejected() {
    let page = artifacts().join("bad-lines-json.json");
    let (_, code) = run(&[
        "report".as_ref(),
        "-q".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        testdata("bad-lines.log").as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ]);
    assert_eq!(code, 1, "rejected lines exit with 1");
    let page: Value = serde_json::from_slice(&std::fs::read(page).unwrap()).unwrap();
    let overview = &page["overview"];
    let rejected = overview["rejected"].as_u64().unwrap();
    assert!(rejected > 0);
    let by_reason: u64 = overview["rejected_by_reason"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, rejected);
    assert!(!overview["rejected_lines"].as_array().unwrap().is_empty());

    // Not a log at all: an empty page, with every line rejected.
    let html = artifacts().join("not-a-log.html");
    let (_, code) = run(&[
        "report".as_ref(),
        "-q".as_ref(),
        testdata("README.md").as_os_str(),
        "-o".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(code, 2, "no line of it is an entry: not a CloudFront log");
    let text = std::fs::read_to_string(html).unwrap();
    assert!(text.contains("data-figure=\"requests\">0<"), "no requests");
    assert!(text.contains("id=\"rejected-reasons\""));
}

#[test]
fn since_until_and_distribution_filter_the_inputs_and_the_entries() {
    let dir = tempfile::tempdir().unwrap();
    let log = generated(dir.path(), "33", "5000", "33", "0");
    // CloudFront's own name: the distribution and the hour the file is of.
    let named = dir.path().join("E2ABCDEF.2024-03-14-21.a1b2c3d4.gz");
    std::fs::copy(&log, &named).unwrap();
    let json_of = |args: &[&str], input: &Path| -> Value {
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "report".as_ref(),
            "-q".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        all.push(input.as_os_str());
        serde_json::from_slice(&run(&all).0).unwrap()
    };
    let whole = json_of(&[], &log);
    let requests = whole["overview"]["requests"].as_u64().unwrap();
    assert_eq!(requests, 5000);
    // Entries are kept by their time: a window over the middle of the span.
    let first = whole["overview"]["first"].as_str().unwrap().to_owned();
    let buckets = whole["over_time"]["buckets"].as_array().unwrap();
    let middle = buckets[buckets.len() / 2]["start"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = json_of(&["--until", &middle], &log);
    let after = json_of(&["--since", &middle], &log);
    let (b, a) = (
        before["overview"]["requests"].as_u64().unwrap(),
        after["overview"]["requests"].as_u64().unwrap(),
    );
    assert!(b > 0 && a > 0, "{b} {a}");
    assert_eq!(b + a, requests);
    assert_eq!(before["filters"]["entries_outside"].as_u64(), Some(a));
    assert_eq!(before["overview"]["first"].as_str(), Some(first.as_str()));
    assert!(after["overview"]["first"].as_str().unwrap() >= middle.as_str());
    // Inputs are skipped by their name: another distribution, another day.
    let other = json_of(&["--distribution", "E9OTHER"], &named);
    assert_eq!(other["filters"]["inputs_skipped"].as_u64(), Some(1));
    assert_eq!(other["overview"]["requests"].as_u64(), Some(0));
    let ours = json_of(&["--distribution", "E2ABCDEF"], &named);
    assert_eq!(ours["overview"]["requests"].as_u64(), Some(requests));
    let later = json_of(&["--since", "2024-03-15"], &named);
    assert_eq!(later["filters"]["inputs_skipped"].as_u64(), Some(1));
}

#[test]
fn json_figures_equal_duckdbs_count_over_the_same_entries_as_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let log = generated(dir.path(), "34", "40000", "33", "0.01");
    let parquet = dir.path().join("entries.parquet");
    let (_, code) = run(&[
        "-q".as_ref(),
        "--format".as_ref(),
        "parquet".as_ref(),
        "-o".as_ref(),
        parquet.as_os_str(),
        log.as_os_str(),
    ]);
    assert_eq!(code, 1, "the corpus has bad lines");
    let page = dir.path().join("report.json");
    run(&[
        "report".as_ref(),
        "-q".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--top".as_ref(),
        "10".as_ref(),
        "-o".as_ref(),
        page.as_os_str(),
        log.as_os_str(),
    ]);
    let output = Command::new(cflog_testkit::tools_python())
        .arg(repo().join("crates/cflog-cli/tests/report/against_duckdb.py"))
        .arg(&parquet)
        .arg(&page)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "against_duckdb.py failed");
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(summary["rows"].as_u64().unwrap() > 39_000, "{summary}");
    assert!(summary["checks"].as_u64().unwrap() >= 10, "{summary}");
}
