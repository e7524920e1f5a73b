//! `--enrich ua`, `--geoip-db`, `--ip-privacy`, `--drop-fields` and
//! `--drop-query-params` through the command line: the enriched keys, the
//! country from the whole address, CloudFront's own country kept, and no
//! address of the input left in any output format.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::cflog;
use serde_json::Value;

const GOOGLEBOT: &str = "Mozilla/5.0%20(Linux;%20Android%206.0.1;%20Nexus%205X%20Build/MMB29P)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/131.0.6778.139%20Mobile%20Safari/537.36%20(compatible;%20Googlebot/2.1;%20+http://www.google.com/bot.html)";
const CHROME: &str = "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/131.0.0.0%20Safari/537.36";

/// Every address of the input, as it is written there.
const ADDRESSES: [&str; 6] = [
    "192.0.2.200",
    "203.0.113.9",
    "198.51.100.77",
    "198.51.100.7",
    "2001:db8:1::5",
    "192.0.2.33",
];

fn log() -> String {
    format!(
        "#Version: 1.0\n\
         #Fields: date time x-edge-location c-ip cs(User-Agent) x-forwarded-for cs-uri-stem cs-uri-query sc-status\n\
         2024-03-14\t10:00:00\tFRA56-C1\t192.0.2.200\t{GOOGLEBOT}\t203.0.113.9,%20198.51.100.77\t/a\ttoken=s3cr3t&page=2\t200\n\
         2024-03-14\t10:00:01\tIAD89-P1\t198.51.100.7\t{CHROME}\t-\t/b\t-\t200\n\
         2024-03-14\t10:00:02\tNRT57-P2\t2001:db8:1::5\tcurl/8.5.0\t::ffff:192.0.2.33\t/c\temail=a%2540b.example\t404\n"
    )
}

/// The test GeoIP databases (crates/cflog-enrich/tests/support), written
/// once per test process with the tools venv's mmdb-writer.
fn databases() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../cflog-enrich/tests/support/make_geoip_dbs.py");
        let status = Command::new(cflog_testkit::tools_python())
            .arg(script)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "make_geoip_dbs.py failed");
        dir
    })
}

fn input(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ndjson(args: &[&str], input: &Path) -> Vec<Value> {
    let output = cflog().args(args).arg(input).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn user_agents_countries_and_truncation_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = input(dir.path(), "a.log", &log());
    let db = databases().join("geoip2.mmdb");
    let entries = ndjson(
        &[
            "--enrich",
            "ua",
            "--geoip-db",
            db.to_str().unwrap(),
            "--ip-privacy",
            "truncate",
            "--drop-query-params",
            "token,email",
        ],
        &log,
    );
    let pick = |entry: &Value, keys: &[&str]| -> Vec<Value> {
        keys.iter().map(|k| entry[*k].clone()).collect()
    };
    let keys = [
        "c_ip",
        "c_country",
        "asn",
        "ua_name",
        "ua_device",
        "is_bot",
        "x_forwarded_for",
        "cs_uri_query",
        "query_params",
    ];
    let expected = [
        serde_json::json!(["192.0.2.0", "FR", 64501, "Googlebot", "bot", true, "203.0.113.0, 198.51.100.0", "page=2", {"page": "2"}]),
        serde_json::json!([
            "198.51.100.0",
            "US",
            64502,
            "Chrome",
            "desktop",
            false,
            null,
            null,
            null
        ]),
        serde_json::json!([
            "2001:db8:1::",
            "JP",
            64503,
            "curl",
            "bot",
            true,
            "::ffff:192.0.2.0",
            null,
            null
        ]),
    ];
    assert_eq!(entries.len(), 3);
    for (entry, expected) in entries.iter().zip(expected) {
        assert_eq!(Value::Array(pick(entry, &keys)), expected, "{entry}");
    }
}

#[test]
fn cloudfronts_own_country_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = input(
        dir.path(),
        "v2.log",
        "#Fields: date time c-ip c-country\n2024-03-14\t10:00:00\t192.0.2.200\tIT\n2024-03-14\t10:00:01\t192.0.2.1\t-\n",
    );
    let db = databases().join("ip-location-db.mmdb");
    let entries = ndjson(&["--geoip-db", db.to_str().unwrap()], &log);
    assert_eq!(entries[0]["c_country"], "IT");
    // The logged value, `-`, is written as logged: null, not looked up.
    assert_eq!(entries[1]["c_country"], Value::Null);
}

/// The text of a Parquet file read back by pyarrow, with each column's type.
fn parquet_text(path: &Path) -> String {
    let read = Command::new(cflog_testkit::tools_python())
        .args([
            "-c",
            "import sys, json, pyarrow.parquet as pq\n\
             t = pq.read_table(sys.argv[1])\n\
             print(json.dumps({'types': {f.name: str(f.type) for f in t.schema}, 'rows': t.to_pylist()}, default=str))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    String::from_utf8(read.stdout).unwrap()
}

#[test]
fn no_address_of_the_input_is_left_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let log = input(dir.path(), "a.log", &log());
    let key = input(dir.path(), "key", "0123456789abcdef0123456789abcdef\n");
    let key = key.to_str().unwrap();
    let truncate: &[&str] = &["--ip-privacy", "truncate"];
    let hmac: &[&str] = &["--ip-privacy", "hmac", "--ip-hmac-key-file", key];
    for privacy in [truncate, hmac] {
        for format in ["ndjson", "csv", "tsv", "parquet"] {
            let out = dir.path().join(format!("out.{format}"));
            let status = cflog()
                .args(["-q", "--enrich", "ua", "--format", format])
                .args(["-o", out.to_str().unwrap()])
                .args(privacy)
                .arg(&log)
                .output()
                .unwrap();
            assert!(
                status.status.success(),
                "{}",
                String::from_utf8_lossy(&status.stderr)
            );
            let text = match format {
                "parquet" => parquet_text(&out),
                _ => std::fs::read_to_string(&out).unwrap(),
            };
            assert!(text.contains("Googlebot"), "{format}: {text}");
            if format == "parquet" {
                // A pseudonym and an address alike: a utf8 column.
                assert!(text.contains(r#""c_ip": "string""#), "{text}");
            }
            for address in ADDRESSES {
                assert!(
                    !text.contains(address),
                    "{privacy:?} {format}: {address} in {text}"
                );
            }
        }
    }
}

#[test]
fn a_missing_or_corrupt_database_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = input(dir.path(), "a.log", &log());
    let corrupt = input(dir.path(), "corrupt.mmdb", "not a database");
    for db in [dir.path().join("missing.mmdb"), corrupt] {
        let output = cflog()
            .args(["--geoip-db", db.to_str().unwrap()])
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(db.to_str().unwrap()), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn hmac_needs_a_key_file_and_dropped_fields_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let log = input(dir.path(), "a.log", &log());
    let output = cflog()
        .args(["--ip-privacy", "hmac"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--ip-hmac-key-file"));
    // With a key: a pseudonym of 32 hex digits in place of each address,
    // the same for one key, another for another key.
    let pseudonyms = |key: &str| -> Vec<Value> {
        let key = input(dir.path(), "key", key);
        let args = [
            "--ip-privacy",
            "hmac",
            "--ip-hmac-key-file",
            key.to_str().unwrap(),
        ];
        ndjson(&args, &log)
            .iter()
            .flat_map(|entry| [entry["c_ip"].clone(), entry["x_forwarded_for"].clone()])
            .collect()
    };
    let first = pseudonyms("0123456789abcdef0123456789abcdef\n");
    assert_eq!(first, pseudonyms("0123456789abcdef0123456789abcdef\n"));
    let other = pseudonyms("another key, of more than 16 bytes");
    for (one, two) in first.iter().zip(&other) {
        if !one.is_null() {
            assert_ne!(one, two);
        }
    }
    let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let c_ips: Vec<&str> = first
        .iter()
        .step_by(2)
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(c_ips.iter().all(|p| hex(p)), "{c_ips:?}");
    // The list keeps its separators; each address is a pseudonym.
    let list = first[1].as_str().unwrap();
    let items: Vec<&str> = list.split(", ").collect();
    assert!(items.len() == 2 && items.iter().all(|p| hex(p)), "{list}");
    // `::ffff:192.0.2.33` is 192.0.2.33: one address, one pseudonym.
    let one_key = input(dir.path(), "key", "0123456789abcdef0123456789abcdef\n");
    let args = [
        "--ip-privacy",
        "hmac",
        "--ip-hmac-key-file",
        one_key.to_str().unwrap(),
    ];
    let mapped = input(
        dir.path(),
        "mapped.log",
        "#Fields: date time c-ip x-forwarded-for\n2024-03-14\t10:00:00\t192.0.2.33\t::ffff:192.0.2.33\n",
    );
    let entry = &ndjson(&args, &mapped)[0];
    assert_eq!(entry["c_ip"], entry["x_forwarded_for"]);

    let entries = ndjson(&["--drop-fields", "x_forwarded_for,cs_uri_query"], &log);
    for entry in &entries {
        assert!(
            entry.get("x_forwarded_for").is_none() && entry.get("cs_uri_query").is_none(),
            "{entry}"
        );
        assert!(entry.get("c_ip").is_some());
    }
}

/// `cflog stats` with the enrichments: the bot share and the top browsers,
/// devices and countries, in the JSON and in the table, equal to what
/// `cflog report` counts of the same run; without them, none of it.
#[test]
fn stats_show_bots_browsers_devices_and_countries() {
    let dir = tempfile::tempdir().unwrap();
    let log = input(dir.path(), "a.log", &log());
    let db = databases().join("geoip2.mmdb");
    let enrich = ["--enrich", "ua", "--geoip-db", db.to_str().unwrap()];
    let run = |args: &[&str]| -> String {
        let output = cflog().args(args).arg(&log).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let stats: Value =
        serde_json::from_str(&run(&[&["stats", "--json"][..], &enrich].concat())).unwrap();
    // Googlebot (hidden in a phone's Chrome) and curl are bots, Chrome is not.
    assert_eq!(stats["bots"]["classified"], 3);
    assert_eq!(stats["bots"]["requests"], 2);
    let listed = |list: &Value| -> Vec<(String, u64)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let value = row["value"].as_str().unwrap().to_owned();
                (value, row["requests"].as_u64().unwrap())
            })
            .collect()
    };
    let pairs = |list: &[(&str, u64)]| -> Vec<(String, u64)> {
        list.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect()
    };
    assert_eq!(
        listed(&stats["top"]["browsers"]),
        pairs(&[("Chrome", 1), ("Googlebot", 1), ("curl", 1)])
    );
    assert_eq!(
        listed(&stats["top"]["devices"]),
        pairs(&[("bot", 2), ("desktop", 1)])
    );
    assert_eq!(
        listed(&stats["top"]["countries"]),
        pairs(&[("FR", 1), ("JP", 1), ("US", 1)])
    );

    // The report counts the same, from the same tally.
    let report: Value = serde_json::from_str(&run(
        &[&["report", "--format", "json"][..], &enrich].concat()
    ))
    .unwrap();
    let report_text = report.to_string();
    assert!(report_text.contains("\"bot_requests\":2"), "{report_text}");

    let table = run(&[&["stats"][..], &enrich].concat());
    for expected in [
        "Bots            66.7%   (2 of 3 requests told apart)",
        "Top browsers",
        "Top devices",
        "Top countries",
    ] {
        assert!(table.contains(expected), "{expected} in\n{table}");
    }
    let row = table.lines().find(|line| line.starts_with("bot ")).unwrap();
    assert!(row.ends_with("2   66.7%"), "{row}");

    // Without the enrichments, the plain log has none of it.
    let plain: Value = serde_json::from_str(&run(&["stats", "--json"])).unwrap();
    assert!(plain.get("bots").is_none());
    for list in ["browsers", "devices", "countries"] {
        assert!(plain["top"].get(list).is_none(), "{list}");
    }
    assert!(!run(&["stats"]).contains("Bots"));
}

/// CloudFront's own `c-country` (v2 logs) is listed with no database.
#[test]
fn stats_list_cloudfronts_own_countries() {
    let dir = tempfile::tempdir().unwrap();
    let log = input(
        dir.path(),
        "v2.log",
        "#Fields: date time c-ip c-country\n\
         2024-03-14\t10:00:00\t192.0.2.200\tIT\n\
         2024-03-14\t10:00:01\t192.0.2.1\t-\n\
         2024-03-14\t10:00:02\t192.0.2.2\tIT\n\
         2024-03-14\t10:00:03\t192.0.2.3\tDE\n",
    );
    let output = cflog()
        .args(["stats", "--json"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stats: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        stats["top"]["countries"],
        serde_json::json!([{"value": "IT", "requests": 2}, {"value": "DE", "requests": 1}])
    );
    let table = cflog().arg("stats").arg(&log).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("Top countries"), "{table}");
    assert!(!table.contains("Bots"), "{table}");
}

#[test]
fn rejected_lines_quote_no_address_with_privacy_on() {
    let dir = tempfile::tempdir().unwrap();
    // The status column holds an address list, as a line whose columns
    // shifted would: the rejection quotes it.
    let log = input(
        dir.path(),
        "shifted.log",
        "#Fields: date time c-ip sc-status\n\
         2024-03-14\t10:00:00\t192.0.2.200\t200\n\
         2024-03-14\t10:00:01\t192.0.2.201\t198.51.100.23,%20[2001:db8:1:2::7]:443\n",
    );
    let key = input(dir.path(), "key", "0123456789abcdef0123456789abcdef\n");
    let run = |args: &[&str]| {
        let output = cflog().args(args).arg(&log).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let raw = ["198.51.100.23", "2001:db8:1:2::7"];
    // Without privacy the message quotes the value as logged.
    let (_, plain) = run(&[]);
    assert!(raw.iter().all(|a| plain.contains(a)), "{plain}");

    let key = key.to_str().unwrap();
    for (args, kept) in [
        (
            &["--ip-privacy", "truncate"][..],
            "198.51.100.0,%20[2001:db8:1::]:443",
        ),
        (
            &["--ip-privacy", "hmac", "--ip-hmac-key-file", key][..],
            ":443",
        ),
    ] {
        for strict in [false, true] {
            let mut args = args.to_vec();
            if strict {
                args.push("--strict");
            }
            let (code, stderr) = run(&args);
            assert_eq!(code, Some(1), "{stderr}");
            assert!(stderr.contains("sc-status"), "{args:?}: {stderr}");
            assert!(stderr.contains(kept), "{args:?}: {stderr}");
            for address in raw {
                assert!(!stderr.contains(address), "{args:?}: {address} in {stderr}");
            }
        }
    }
}
