//! `cflog stats --json` against figures computed here from the raw lines,
//! with plain string splitting.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use common::{RawRecord, cflog, percent_decode, raw_records, testdata, testdata_text};
use predicates::prelude::*;
use serde_json::Value;

/// The `n` most frequent values, ties by value, as `cflog stats` lists them.
fn top<K: Ord + Clone>(counts: &HashMap<K, u64>, n: usize) -> Vec<(K, u64)> {
    let mut all: Vec<(K, u64)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

fn listed(value: &Value) -> Vec<(String, u64)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["value"].as_str().unwrap().to_owned(),
                item["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn count_by(records: &[RawRecord], field: &str, decode: bool) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for record in records {
        if let Some(value) = record.get(field) {
            let value = if decode {
                percent_decode(value)
            } else {
                value.to_owned()
            };
            *counts.entry(value).or_default() += 1;
        }
    }
    counts
}

/// Checks every figure of `report` against `records`.
fn check(report: &Value, records: &[RawRecord], top_n: usize) {
    assert_eq!(report["requests"].as_u64(), Some(records.len() as u64));
    let bytes: u64 = records
        .iter()
        .filter_map(|r| r.get("sc-bytes"))
        .map(|b| b.parse::<u64>().unwrap())
        .sum();
    assert_eq!(report["bytes_sent"].as_u64(), Some(bytes));

    let mut classes: BTreeMap<String, u64> = ["000", "1xx", "2xx", "3xx", "4xx", "5xx", "other"]
        .iter()
        .map(|c| (c.to_string(), 0))
        .collect();
    for record in records {
        let class = match record.get("sc-status") {
            Some("000") => "000".to_owned(),
            Some(s) if ('1'..='5').contains(&s.chars().next().unwrap()) => format!("{}xx", &s[..1]),
            _ => "other".to_owned(),
        };
        *classes.get_mut(&class).unwrap() += 1;
    }
    for (class, n) in &classes {
        assert_eq!(report["status"][class].as_u64(), Some(*n), "status {class}");
    }

    let results = count_by(records, "x-edge-result-type", false);
    let sum = |names: &[&str]| {
        names
            .iter()
            .map(|n| results.get(*n).copied().unwrap_or(0))
            .sum::<u64>()
    };
    let hits = sum(&["Hit", "RefreshHit", "OriginShieldHit"]);
    let misses = sum(&["Miss", "MissGeneratedResponse"]);
    assert_eq!(report["cache"]["hits"].as_u64(), Some(hits));
    assert_eq!(report["cache"]["misses"].as_u64(), Some(misses));
    if hits + misses > 0 {
        let ratio = report["cache"]["hit_ratio"].as_f64().unwrap();
        assert!((ratio - hits as f64 / (hits + misses) as f64).abs() < 1e-9);
    }
    for (name, n) in &results {
        assert_eq!(report["result_types"][name].as_u64(), Some(*n), "{name}");
    }
    let errors: Vec<&String> = results
        .keys()
        .filter(|n| ["Error", "LimitExceeded", "CapacityExceeded"].contains(&n.as_str()))
        .collect();
    assert_eq!(report["errors"].as_object().unwrap().len(), errors.len());
    for name in errors {
        assert_eq!(report["errors"][name], report["result_types"][name]);
    }

    let want =
        |field, decode| -> Vec<(String, u64)> { top(&count_by(records, field, decode), top_n) };
    assert_eq!(listed(&report["top"]["paths"]), want("cs-uri-stem", true));
    assert_eq!(
        listed(&report["top"]["referers"]),
        want("cs(Referer)", true)
    );
    assert_eq!(
        listed(&report["top"]["user_agents"]),
        want("cs(User-Agent)", true)
    );
    assert_eq!(
        listed(&report["top"]["edge_locations"]),
        want("x-edge-location", false)
    );

    // Client IPs count by address: 2001:0db8::1 is 2001:db8::1.
    let mut ips: HashMap<IpAddr, u64> = HashMap::new();
    for record in records {
        *ips.entry(record.get("c-ip").unwrap().parse().unwrap())
            .or_default() += 1;
    }
    let expected: Vec<(String, u64)> = top(&ips, top_n)
        .into_iter()
        .map(|(ip, n)| (ip.to_string(), n))
        .collect();
    assert_eq!(listed(&report["top"]["client_ips"]), expected);
    assert_eq!(
        report["distinct_client_ips"].as_u64(),
        Some(ips.len() as u64)
    );

    let mut hours: BTreeMap<String, u64> = BTreeMap::new();
    for record in records {
        let hour = format!(
            "{}T{}:00:00Z",
            record.get("date").unwrap(),
            &record.get("time").unwrap()[..2]
        );
        *hours.entry(hour).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = report["requests_per_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["hour"].as_str().unwrap().to_owned(),
                h["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, hours);
    let stamps: Vec<String> = records
        .iter()
        .map(|r| format!("{}T{}Z", r.get("date").unwrap(), r.get("time").unwrap()))
        .collect();
    // To the second: v2 logs with `timestamp(ms)` add milliseconds.
    let second = |key: &str| report[key].as_str().map(|t| format!("{}Z", &t[..19]));
    assert_eq!(second("first").as_ref(), stamps.iter().min());
    assert_eq!(second("last").as_ref(), stamps.iter().max());

    // Nearest-rank percentiles of time-taken, in milliseconds.
    let mut taken: Vec<u64> = records
        .iter()
        .filter_map(|r| r.get("time-taken"))
        .map(|t| {
            let (s, ms) = t.split_once('.').unwrap_or((t, "0"));
            s.parse::<u64>().unwrap() * 1000 + format!("{ms:0<3}")[..3].parse::<u64>().unwrap()
        })
        .collect();
    taken.sort_unstable();
    let rank = |p: f64| taken[((p / 100.0 * taken.len() as f64).ceil() as usize).max(1) - 1];
    let latency = &report["time_taken"];
    for (key, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
        assert_eq!(
            latency[key].as_f64(),
            Some(rank(p) as f64 / 1000.0),
            "{key}"
        );
    }
    assert_eq!(latency["count"].as_u64(), Some(taken.len() as u64));
}

#[test]
fn stats_of_a_synthetic_day_match_counts_from_the_raw_lines() {
    let dir = tempfile::tempdir().unwrap();
    let texts = [
        common::synthetic_log("a", 4000),
        common::synthetic_log("b", 1500),
    ];
    std::fs::write(dir.path().join("a.log"), &texts[0]).unwrap();
    std::fs::write(
        dir.path().join("b.log.gz"),
        common::gzip(texts[1].as_bytes()),
    )
    .unwrap();
    let records: Vec<RawRecord> = texts.iter().flat_map(|t| raw_records(t, "\t").0).collect();

    let output = cflog()
        .args(["stats", "--json", "--top", "4", "--jobs", "2"])
        .arg(dir.path())
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&output).unwrap();
    check(&report, &records, 4);
    assert_eq!(report["inputs"].as_u64(), Some(2));
    assert_eq!(report["rejected"].as_u64(), Some(0));
    assert_eq!(report["lines"].as_u64(), Some(records.len() as u64 + 4));
}

#[test]
fn stats_of_the_real_samples_match_counts_from_the_raw_lines() {
    let names = [
        "aws-docs-33-fields.log",
        "real-26-fields-2018-2019.log",
        "real-33-fields-2025.log",
        "era-35-fields-2025.log",
        "v2-w3c-39-fields.log",
    ];
    let records: Vec<RawRecord> = names
        .iter()
        .flat_map(|name| raw_records(&testdata_text(name), "\t").0)
        .collect();
    let output = cflog()
        .args(["stats", "--json"])
        .args(names.map(testdata))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    check(&serde_json::from_slice(&output).unwrap(), &records, 10);
}

#[test]
fn stats_reject_the_same_lines_as_the_conversion() {
    let (records, bad) = raw_records(&testdata_text("bad-lines.log"), "\t");
    let good: Vec<RawRecord> = records
        .into_iter()
        .filter(|r| {
            r.get("c-ip").is_some_and(|ip| ip.parse::<IpAddr>().is_ok())
                && r.get("sc-status").is_some_and(|s| s.parse::<u16>().is_ok())
        })
        .collect();
    let output = cflog()
        .args(["stats", "--json"])
        .arg(testdata("bad-lines.log"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad-lines.log:"))
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(report["requests"].as_u64(), Some(good.len() as u64));
    assert_eq!(report["rejected"].as_u64(), Some(bad.len() as u64 + 2));
}

#[test]
fn the_table_shows_the_figures_for_people() {
    let text = common::synthetic_log("t", 600);
    let (records, _) = raw_records(&text, "\t");
    let output = cflog()
        .arg("stats")
        .write_stdin(text)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(output).unwrap();
    let first = table.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("Requests        {}", records.len())),
        "{table}"
    );
    for heading in [
        "Cache hit ratio",
        "Status",
        "Errors",
        "Top paths",
        "Top user agents",
        "Top client IPs",
        "Requests per hour (UTC)",
    ] {
        assert!(table.contains(heading), "{heading} missing:\n{table}");
    }
    // 30 hours of requests: one chart row per hour.
    let rows = table
        .lines()
        .skip_while(|l| !l.starts_with("Requests per hour"))
        .count()
        - 1;
    let hours: std::collections::HashSet<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.get("date").unwrap(),
                &r.get("time").unwrap()[..2]
            )
        })
        .collect();
    assert_eq!(rows, hours.len());
}

/// The README shows `cflog stats testdata/`; it must be what cflog prints.
#[test]
fn the_readme_example_is_what_cflog_prints() {
    let readme = std::fs::read_to_string(testdata("../README.md")).unwrap();
    let example = readme
        .split("`cflog stats testdata/`")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("the README has a `cflog stats testdata/` example");
    let output = cflog()
        .arg("stats")
        .arg(testdata(""))
        .assert()
        .code(2) // testdata/ holds files that are not logs
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(output).unwrap();
    // The example stops at `…`; every line before it is cflog's own.
    let shown: Vec<&str> = example.lines().take_while(|l| *l != "…").collect();
    let printed: Vec<&str> = table.lines().take(shown.len()).collect();
    assert_eq!(shown, printed, "update the README's example:\n{table}");
}

/// User agents longer than the table's column: the table cuts them in the
/// middle, or shows them whole where a cut would make two rows alike, so
/// that every row of the top list is a different text and each agent can
/// be told from its row.
#[test]
fn long_values_stay_apart_in_the_table() {
    let start = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36";
    let end = "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    let agents = [
        // Alike but for the middle: a cut keeps the start and the end.
        format!("{start}%20Variant-A%20{end}"),
        format!("{start}%20Variant-B%20{end}"),
        // Alike but for the end.
        format!("{start}%20{end}%20one"),
        format!("{start}%20{end}%20two"),
    ];
    let mut log = String::from("#Version: 1.0\n#Fields: date time cs(User-Agent)\n");
    for agent in &agents {
        log.push_str(&format!("2024-03-14\t21:00:00\t{agent}\n"));
    }
    let output = cflog()
        .args(["stats", "--top", "10", "-"])
        .write_stdin(log)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(output).unwrap();
    let section: Vec<&str> = table
        .split("Top user agents")
        .nth(1)
        .expect("a top list of user agents")
        .lines()
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect();
    // A row's value: the first 60 characters of its first line, then the
    // lines of its wrapped rest ("  …").
    let mut values: Vec<String> = Vec::new();
    for line in section {
        match line.strip_prefix("  ") {
            Some(rest) => values.last_mut().expect("a row to continue").push_str(rest),
            None => values.push(
                line.chars()
                    .take(60)
                    .collect::<String>()
                    .trim_end()
                    .to_owned(),
            ),
        }
    }
    assert_eq!(values.len(), agents.len(), "{table}");
    // Each agent is told by exactly one row: itself, or its start and its
    // end around a `…`.
    let shows = |value: &str, agent: &str| {
        value == agent
            || value.split_once('…').is_some_and(|(start, end)| {
                agent.starts_with(start) && agent.ends_with(end) && !start.is_empty()
            })
    };
    for agent in &agents {
        let agent = percent_decode(agent);
        let rows: Vec<&String> = values.iter().filter(|value| shows(value, &agent)).collect();
        assert_eq!(rows.len(), 1, "{agent} is shown by {rows:?}:\n{table}");
    }
    for value in &values {
        let agents: Vec<String> = agents
            .iter()
            .map(|agent| percent_decode(agent))
            .filter(|agent| shows(value, agent))
            .collect();
        assert_eq!(agents.len(), 1, "{value} shows {agents:?}:\n{table}");
    }
}
