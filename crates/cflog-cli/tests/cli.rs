//! The `cflog` binary end to end: inputs of every kind, every era of the
//! format, the output formats, bad lines, exit statuses and pipes.
//!
//! Expected values come from the raw test files, read naively by
//! `common::raw_records`, never from cflog's own output.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use common::{cflog, cflog_std, objects, percent_decode, raw_records, testdata, testdata_text};
use predicates::prelude::*;
use serde_json::Value;

/// The eras and layouts of standard logs in `testdata/`, all TAB-delimited
/// with their `#Fields` header.
const ERAS: [&str; 8] = [
    "era-18-fields-2014.log",
    "era-24-fields-2017.log",
    "real-26-fields-2018-2019.log",
    "aws-docs-33-fields.log",
    "real-33-fields-2025.log",
    "era-35-fields-2025.log",
    "v2-w3c-39-fields.log",
    "v2-w3c-aws-docs.log",
];

/// Checks that `object` holds the raw record's values, read by name.
fn assert_matches_raw(object: &serde_json::Map<String, Value>, raw: &common::RawRecord) {
    let context = format!("line {}: {object:?}", raw.line);
    if let Some(status) = raw.get("sc-status") {
        assert_eq!(
            object["sc_status"],
            Value::from(status.parse::<u64>().unwrap()),
            "{context}"
        );
    }
    if let Some(bytes) = raw.get("sc-bytes") {
        assert_eq!(
            object["sc_bytes"],
            Value::from(bytes.parse::<u64>().unwrap()),
            "{context}"
        );
    }
    for (name, key) in [
        ("x-edge-location", "x_edge_location"),
        ("cs-uri-stem", "cs_uri_stem"),
        ("cs(User-Agent)", "cs_user_agent"),
        ("x-edge-result-type", "x_edge_result_type"),
    ] {
        if raw.fields.contains_key(name) {
            let expected = raw.get(name).map(percent_decode);
            assert_eq!(object[key].as_str(), expected.as_deref(), "{context}");
        }
    }
    if let (Some(date), Some(time)) = (raw.get("date"), raw.get("time")) {
        let timestamp = object["timestamp"].as_str().unwrap();
        assert!(
            timestamp.starts_with(&format!("{date}T{time}")),
            "{context}"
        );
    }
}

#[test]
fn every_era_gives_one_object_per_record_with_the_raw_values() {
    for name in ERAS {
        let (records, bad) = raw_records(&testdata_text(name), "\t");
        assert!(bad.is_empty() && !records.is_empty(), "{name}");
        let output = cflog()
            .arg(testdata(name))
            .assert()
            .success()
            .get_output()
            .clone();
        let objects = objects(&output.stdout);
        assert_eq!(objects.len(), records.len(), "{name}");
        for (object, raw) in objects.iter().zip(&records) {
            assert_matches_raw(object, raw);
        }
        let stderr = String::from_utf8(output.stderr).unwrap();
        let entries = match records.len() {
            1 => "1 entry".to_owned(),
            n => format!("{n} entries"),
        };
        assert!(
            stderr.contains(&format!("{entries}, 0 rejected")),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn gzip_is_detected_by_content_not_by_name_and_multi_member_is_read_whole() {
    let plain = testdata_text("aws-docs-33-fields.log");
    let dir = tempfile::tempdir().unwrap();
    let disguised = dir.path().join("log-without-extension");
    std::fs::write(&disguised, common::gzip(plain.as_bytes())).unwrap();
    let (first, second) = plain.split_at(plain.find("\n2019").unwrap() + 200);
    let members = dir.path().join("two-members.gz");
    std::fs::write(
        &members,
        cflog_testkit::gzip_members(&[first.as_bytes(), second.as_bytes()]),
    )
    .unwrap();

    let expected = cflog()
        .arg(testdata("aws-docs-33-fields.log"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let (records, _) = raw_records(&plain, "\t");
    assert_eq!(objects(&expected).len(), records.len());
    for path in [&disguised, &members] {
        cflog()
            .arg(path)
            .assert()
            .success()
            .stdout(expected.clone())
            .stderr(predicate::str::contains("(gzip)"));
    }
}

#[test]
fn stdin_with_a_dash_or_without_any_input() {
    let text = testdata_text("real-33-fields-2025.log");
    let (records, _) = raw_records(&text, "\t");
    for args in [&["-"][..], &[][..]] {
        let output = cflog()
            .args(args)
            .write_stdin(text.clone())
            .assert()
            .success()
            .stderr(predicate::str::contains("1 input,"))
            .get_output()
            .stdout
            .clone();
        let objects = objects(&output);
        assert_eq!(objects.len(), records.len());
        assert_matches_raw(&objects[0], &records[0]);
    }
}

#[test]
fn a_directory_is_read_recursively_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("b/c")).unwrap();
    std::fs::write(
        root.join("b/c/2.log.gz"),
        common::gzip(common::synthetic_log("two", 50).as_bytes()),
    )
    .unwrap();
    std::fs::write(root.join("a.log"), common::synthetic_log("one", 30)).unwrap();
    std::fs::write(root.join("c.log"), common::synthetic_log("three", 20)).unwrap();
    std::fs::write(root.join(".hidden.log"), "not a log at all").unwrap();

    let output = cflog()
        .args(["--jobs", "1", "--fields", "x_edge_request_id"])
        .arg(root)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "3 inputs (1 gzip), 106 lines: 100 entries",
        ))
        .get_output()
        .stdout
        .clone();
    let ids: Vec<String> = objects(&output)
        .iter()
        .map(|o| o["x_edge_request_id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..30)
        .map(|n| format!("one-{n}"))
        .chain((0..50).map(|n| format!("two-{n}")))
        .chain((0..20).map(|n| format!("three-{n}")))
        .collect();
    assert_eq!(ids, expected);
}

#[test]
fn parallel_inputs_keep_their_order_and_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for tag in ["p", "q", "r", "s"] {
        let path = dir.path().join(format!("{tag}.log"));
        // Several output blocks per file, so that blocks alternate.
        std::fs::write(&path, common::synthetic_log(tag, 3000)).unwrap();
        paths.push(path);
    }
    let output = cflog()
        .args(["--jobs", "4"])
        .args(&paths)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let objects = objects(&output);
    assert_eq!(objects.len(), 4 * 3000);
    let mut next = std::collections::HashMap::new();
    for object in &objects {
        let id = object["x_edge_request_id"].as_str().unwrap();
        let (tag, n) = id.split_once('-').unwrap();
        let expected = next.entry(tag.to_owned()).or_insert(0usize);
        assert_eq!(n.parse::<usize>().unwrap(), *expected, "{id} out of order");
        *expected += 1;
    }
    assert!(next.values().all(|n| *n == 3000), "{next:?}");
}

#[test]
fn bad_lines_are_skipped_counted_and_located_with_exit_status_1() {
    let text = testdata_text("bad-lines.log");
    let (records, bad) = raw_records(&text, "\t");
    // Two lines have the right field count but a bad value (c-ip, sc-status).
    let good: Vec<&common::RawRecord> = records
        .iter()
        .filter(|r| {
            r.get("c-ip")
                .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_ok())
                && r.get("sc-status").is_some_and(|s| s.parse::<u16>().is_ok())
        })
        .collect();
    let bad_values: Vec<usize> = records
        .iter()
        .filter(|r| !good.iter().any(|g| g.line == r.line))
        .map(|r| r.line)
        .collect();
    assert_eq!((good.len(), bad_values.len()), (2, 2));

    let output = cflog()
        .arg(testdata("bad-lines.log"))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let objects = objects(&output.stdout);
    assert_eq!(objects.len(), good.len());
    for (object, raw) in objects.iter().zip(&good) {
        assert_matches_raw(object, raw);
    }
    let stderr = String::from_utf8(output.stderr).unwrap();
    let rejected = bad.len() + bad_values.len();
    assert!(
        stderr.contains(&format!("{} entries, {rejected} rejected", good.len())),
        "{stderr}"
    );
    assert!(stderr.contains("2 field_value"), "{stderr}");
    for line in bad.iter().chain(&bad_values) {
        assert!(
            stderr.contains(&format!("bad-lines.log:{line}: ")),
            "line {line} is not listed: {stderr}"
        );
    }
}

#[test]
fn strict_stops_at_the_first_bad_line_after_writing_the_lines_before_it() {
    let text = testdata_text("bad-lines.log");
    let (records, bad) = raw_records(&text, "\t");
    let first_bad = bad[0];
    let before = records.iter().filter(|r| r.line < first_bad).count();
    let output = cflog()
        .arg("--strict")
        .arg(testdata("bad-lines.log"))
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(objects(&output.stdout).len(), before);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("bad-lines.log:{first_bad}: expected")),
        "{stderr}"
    );
    assert!(stderr.contains("--strict"), "{stderr}");
    // One message, not a summary of every bad line.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A clean file passes --strict.
    cflog()
        .arg("--strict")
        .arg(testdata("aws-docs-33-fields.log"))
        .assert()
        .success();
}

#[test]
fn csv_with_selected_fields_parses_back_to_the_raw_values() {
    let names = ["aws-docs-33-fields.log", "real-26-fields-2018-2019.log"];
    let output = cflog()
        .args(["--format", "csv", "--jobs", "1"])
        .args([
            "--fields",
            "timestamp,c_ip,sc_status,cs(User-Agent),cs_uri_query,query_params",
        ])
        .args(names.map(testdata))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut reader = csv::Reader::from_reader(&output[..]);
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "timestamp",
            "c_ip",
            "sc_status",
            "cs_user_agent",
            "cs_uri_query",
            "query_params"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let raw: Vec<common::RawRecord> = names
        .iter()
        .flat_map(|name| raw_records(&testdata_text(name), "\t").0)
        .collect();
    assert_eq!(rows.len(), raw.len());
    for (row, raw) in rows.iter().zip(&raw) {
        let date_time = format!("{}T{}Z", raw.get("date").unwrap(), raw.get("time").unwrap());
        assert_eq!(&row[0], date_time);
        assert_eq!(&row[1], raw.get("c-ip").unwrap());
        assert_eq!(&row[2], raw.get("sc-status").unwrap());
        assert_eq!(
            row[3],
            raw.get("cs(User-Agent)")
                .map(percent_decode)
                .unwrap_or_default()
        );
        assert_eq!(
            row[4],
            raw.get("cs-uri-query")
                .map(percent_decode)
                .unwrap_or_default()
        );
        if raw.get("cs-uri-query").is_some() {
            // The parameters stay one JSON object in one cell.
            assert!(serde_json::from_str::<serde_json::Map<String, Value>>(&row[5]).is_ok());
        } else {
            assert_eq!(&row[5], "");
        }
    }
}

#[test]
fn csv_without_fields_has_the_columns_of_the_first_layout() {
    let text = testdata_text("era-35-fields-2025.log");
    let (records, _) = raw_records(&text, "\t");
    let output = cflog()
        .args(["--format", "csv"])
        .arg(testdata("era-35-fields-2025.log"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut reader = csv::Reader::from_reader(&output[..]);
    let headers = reader.headers().unwrap().clone();
    // date and time make one timestamp; cs-uri-query adds query_params.
    let header_names = text.lines().nth(1).unwrap().split_whitespace().count() - 1;
    assert_eq!(headers.len(), header_names - 2 + 1 + 1);
    assert_eq!(&headers[0], "timestamp");
    let tenant = headers
        .iter()
        .position(|h| h == "distribution_tenant_id")
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), records.len());
    for (row, raw) in rows.iter().zip(&records) {
        assert_eq!(
            &row[tenant],
            raw.get("distribution-tenant-id").unwrap_or("")
        );
    }
}

#[test]
fn tsv_and_v2_delimiters() {
    for (name, delimiter) in [
        ("v2-custom-order-pipe.log", "|"),
        ("v2-custom-order-multichar.log", " | "),
    ] {
        let (records, bad) = raw_records(&testdata_text(name), delimiter);
        assert!(bad.is_empty());
        let output = cflog()
            .args([
                "--format",
                "tsv",
                "--fields",
                "sc_status,c_ip,asn,c_country,cs_uri_stem",
            ])
            .args(["--delimiter", delimiter])
            .arg(testdata(name))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .from_reader(&output[..]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), records.len(), "{name}");
        for (row, raw) in rows.iter().zip(&records) {
            for (i, field) in ["sc-status", "c-ip", "asn", "c-country", "cs-uri-stem"]
                .iter()
                .enumerate()
            {
                assert_eq!(&row[i], raw.get(field).unwrap_or(""), "{name} {field}");
            }
        }
    }
}

#[test]
fn fields_select_keys_in_order_with_null_for_missing_columns() {
    let output = cflog()
        .args(["--fields", "sc_status,timestamp,asn,cs_uri_stem"])
        .arg(testdata("aws-docs-33-fields.log"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let (records, _) = raw_records(&testdata_text("aws-docs-33-fields.log"), "\t");
    let objects = objects(&output);
    assert_eq!(objects.len(), records.len());
    for (object, raw) in objects.iter().zip(&records) {
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        // serde_json's map is ordered by key; compare as sets, then the line itself.
        assert_eq!(keys.len(), 4);
        assert_eq!(object["asn"], Value::Null);
        let status = raw.get("sc-status").unwrap().parse::<u64>().unwrap();
        assert_eq!(object["sc_status"], Value::from(status));
        assert_eq!(object["cs_uri_stem"].as_str(), raw.get("cs-uri-stem"));
        let date_time = format!("{}T{}Z", raw.get("date").unwrap(), raw.get("time").unwrap());
        assert_eq!(object["timestamp"].as_str(), Some(date_time.as_str()));
    }
    let first_line = std::str::from_utf8(&output)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let order: Vec<usize> = [
        "\"sc_status\"",
        "\"timestamp\"",
        "\"asn\"",
        "\"cs_uri_stem\"",
    ]
    .iter()
    .map(|key| first_line.find(key).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{first_line}");
}

#[test]
fn a_stripped_header_is_given_with_fields_header() {
    let text = testdata_text("v2-custom-order-pipe.log");
    let header = text.lines().next().unwrap().to_owned();
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let (records, _) = raw_records(&text, "|");
    for given in [
        header.clone(),
        header.trim_start_matches("#Fields:").replace(' ', ","),
    ] {
        let output = cflog()
            .args([
                "--delimiter",
                "|",
                "--fields-header",
                &given,
                "--fields",
                "c_ip,cs_uri_stem",
            ])
            .write_stdin(body.clone())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let objects = objects(&output);
        assert_eq!(objects.len(), records.len());
        for (object, raw) in objects.iter().zip(&records) {
            assert_eq!(object["c_ip"].as_str(), raw.get("c-ip"));
            assert_eq!(object["cs_uri_stem"].as_str(), raw.get("cs-uri-stem"));
        }
    }
}

#[test]
fn realtime_logs_with_their_configured_fields() {
    let names = "timestamp c-ip time-to-first-byte sc-status sc-bytes cs-method cs-protocol cs-host \
        cs-uri-stem cs-bytes x-edge-location x-edge-request-id x-host-header time-taken \
        cs-protocol-version c-ip-version cs-user-agent cs-referer cs-cookie cs-uri-query \
        x-edge-response-result-type x-forwarded-for ssl-protocol ssl-cipher x-edge-result-type \
        fle-encrypted-fields fle-status sc-content-type sc-content-len sc-range-start sc-range-end \
        c-port x-edge-detailed-result-type c-country cs-accept-encoding cs-accept \
        cache-behavior-path-pattern cs-headers cs-header-names cs-headers-count";
    let text = testdata_text("realtime-40-fields-2020.tsv");
    let values: Vec<&str> = text.trim_end().split('\t').collect();
    let names: Vec<&str> = names.split_whitespace().collect();
    assert_eq!(values.len(), names.len());
    // Listed in another order: real-time fields are placed canonically.
    let shuffled: Vec<&str> = names.iter().rev().copied().collect();
    let output = cflog()
        .args(["--realtime", "--fields-header", &shuffled.join(",")])
        .args(["--fields", "sc_status,c_ip,sc_bytes,x_edge_location"])
        .arg(testdata("realtime-40-fields-2020.tsv"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let objects = objects(&output);
    assert_eq!(objects.len(), 1);
    let value = |name: &str| values[names.iter().position(|n| *n == name).unwrap()];
    assert_eq!(
        objects[0]["sc_status"],
        Value::from(value("sc-status").parse::<u64>().unwrap())
    );
    assert_eq!(objects[0]["c_ip"].as_str(), Some(value("c-ip")));
    assert_eq!(
        objects[0]["sc_bytes"],
        Value::from(value("sc-bytes").parse::<u64>().unwrap())
    );
    assert_eq!(
        objects[0]["x_edge_location"].as_str(),
        Some(value("x-edge-location"))
    );
}

#[test]
fn v2_json_is_detected_gzipped_or_not_and_gives_the_same_contract() {
    // The oracle: the sample's objects, read with serde_json, every value a
    // string keyed by CloudFront's field name.
    let text = testdata_text("v2-json-aws-docs.ndjson");
    let raw: Vec<serde_json::Map<String, Value>> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("E1.2024-11-15-19.abcdef01.gz");
    std::fs::write(&gz, common::gzip(text.as_bytes())).unwrap();
    for input in [testdata("v2-json-aws-docs.ndjson"), gz] {
        let output = cflog()
            .arg(&input)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let objects = objects(&output);
        assert_eq!(objects.len(), raw.len());
        for (object, raw) in objects.iter().zip(&raw) {
            let text = |name: &str| raw[name].as_str().unwrap();
            assert_eq!(
                object["x_edge_location"].as_str(),
                Some(text("x-edge-location"))
            );
            assert_eq!(
                object["x_host_header"].as_str(),
                Some(text("x-host-header"))
            );
            assert_eq!(object["cs_cookie"].as_str(), Some(text("cs(Cookie)")));
            assert_eq!(
                object["asn"],
                Value::from(text("asn").parse::<u64>().unwrap())
            );
            let ms: u64 = text("timestamp(ms)").parse().unwrap();
            assert_eq!(object["timestamp_ms"], Value::from(ms));
            let fbl = object["origin_fbl"].as_f64().unwrap();
            assert_eq!(fbl, text("origin-fbl").parse::<f64>().unwrap());
            let timestamp = object["timestamp"].as_str().unwrap();
            let second = format!("{}T{}.{:03}Z", text("date"), text("time"), ms % 1000);
            assert_eq!(timestamp, second);
        }
    }

    // Read as W3C on purpose, the objects are not log lines: every line is
    // rejected (with the 33-field layout), and the exit status says the
    // input is not a CloudFront log.
    cflog()
        .args(["--input-format", "w3c"])
        .arg(testdata("v2-json-aws-docs.ndjson"))
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("field_count"));
    cflog()
        .args(["--input-format", "parquet"])
        .arg(testdata("v2-json-aws-docs.ndjson"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected auto, w3c or json"));
}

#[test]
fn edge_cases_crlf_blank_lines_and_a_second_header() {
    let text = testdata_text("edge-cases.log");
    let (records, bad) = raw_records(&text, "\t");
    assert!(bad.is_empty());
    let blank = text
        .split('\n')
        .filter(|l| l.trim_end_matches('\r').is_empty())
        .count()
        // The last line has no line break, so split gives no empty tail.
        - usize::from(text.ends_with('\n'));
    let output = cflog()
        .arg(testdata("edge-cases.log"))
        .assert()
        .success()
        .get_output()
        .clone();
    let objects = objects(&output.stdout);
    assert_eq!(objects.len(), records.len());
    for (object, raw) in objects.iter().zip(&records) {
        assert_matches_raw(object, raw);
    }
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&format!("{blank} blank")), "{stderr}");
}

#[test]
fn output_to_a_file_and_never_onto_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ndjson");
    cflog()
        .arg(testdata("aws-docs-33-fields.log"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let (records, _) = raw_records(&testdata_text("aws-docs-33-fields.log"), "\t");
    assert_eq!(objects(&std::fs::read(&out).unwrap()).len(), records.len());

    let input = dir.path().join("in.log");
    std::fs::copy(testdata("aws-docs-33-fields.log"), &input).unwrap();
    cflog()
        .arg(dir.path())
        .arg("--output")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the output file is also an input"));
    assert_eq!(
        std::fs::read(&input).unwrap(),
        std::fs::read(testdata("aws-docs-33-fields.log")).unwrap()
    );
}

#[test]
fn unreadable_inputs_exit_with_2_after_the_others_are_read() {
    let (records, _) = raw_records(&testdata_text("aws-docs-33-fields.log"), "\t");
    let output = cflog()
        .arg("/no/such/dir/E2.2024-03-14-00.gz")
        .arg(testdata("aws-docs-33-fields.log"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/no/such/dir/E2.2024-03-14-00.gz: ",
        ))
        .stderr(predicate::str::contains("1 input could not be read"))
        .get_output()
        .stdout
        .clone();
    assert_eq!(objects(&output).len(), records.len());

    // A truncated gzip is an error of that input, with what came before kept.
    let dir = tempfile::tempdir().unwrap();
    let gz = common::gzip(common::synthetic_log("t", 2000).as_bytes());
    let cut = dir.path().join("cut.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    cflog()
        .arg(&cut)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("corrupt or truncated"));
}

#[test]
fn usage_errors_exit_with_2_and_say_what_to_do() {
    cflog()
        .args(["--fields", "timestamp,sc_stauts", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `sc_status`?"));
    cflog()
        .args(["--delimiter", "", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--delimiter"));
    cflog()
        .args(["--realtime", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--fields-header"));
    cflog()
        .args(["--max-line-bytes", "10", "-"])
        .assert()
        .code(2);
    cflog()
        .arg("s3://")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("s3://bucket"));
}

#[test]
fn help_teaches_with_examples_and_exit_statuses() {
    cflog()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("cflog stats logs/"))
        .stdout(predicate::str::contains("Exit status:"))
        .stdout(predicate::str::contains("s3://"));
    cflog()
        .args(["stats", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--json"))
        .stdout(predicate::str::contains("RefreshHit"));
    let listing = cflog()
        .arg("--list-fields")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listing = String::from_utf8(listing).unwrap();
    for key in [
        "timestamp",
        "sc_status",
        "cs_user_agent",
        "query_params",
        "c_country",
    ] {
        assert!(listing.lines().any(|l| l.starts_with(key)), "{key}");
    }
}

#[test]
fn a_closed_pipe_ends_cflog_quietly_with_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    // Far more output than a pipe buffers, so cflog is still writing.
    std::fs::write(&path, common::synthetic_log("pipe", 50_000)).unwrap();
    for format in ["ndjson", "csv"] {
        let mut child = cflog_std()
            .args(["--format", format])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(!first.is_empty());
        drop(stdout); // what `head -1` does
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{format}: {stderr}");
        assert_eq!(stderr, "", "{format}");
    }
}

#[test]
fn a_file_that_is_not_a_log_is_named_once_not_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let notes =
        "# Notes\n\nThese logs came from the March backfill.\nAsk ops before deleting them.\n";
    std::fs::write(dir.path().join("NOTES.md"), notes).unwrap();
    std::fs::write(dir.path().join("a.log"), common::synthetic_log("a", 10)).unwrap();
    // Markdown headings start with `#`, so they count as header lines.
    let rejected = notes
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    let output = cflog()
        .arg(dir.path())
        .assert()
        .code(2) // NOTES.md is not a CloudFront log
        .get_output()
        .clone();
    assert_eq!(objects(&output.stdout).len(), 10);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("no line is a CloudFront log entry in"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("NOTES.md ({rejected} rejected)")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("NOTES.md:"),
        "listed line by line: {stderr}"
    );
}
