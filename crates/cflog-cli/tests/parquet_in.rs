//! Parquet in: AWS's v2 Parquet deliveries (every column a string) and
//! cflog's own typed Parquet, read by `cflog FILE.parquet` and `cflog
//! stats`, and checked against the same entries read from text.
//!
//! AWS's files are written here by pyarrow (a writer nobody here wrote,
//! from the tools venv) from the raw values of every `testdata/` log and of
//! a generated corpus: once with `-` for a missing value and the
//! documented column names, once with nulls and the other plausible
//! spellings (`cs_referrer`, `timestamp(ms)`, `DistributionId`). Their
//! NDJSON must be the text's, byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cflog_core::{DecoderBuilder, Delimiter, Field, Reader, Record, json_key_for_name};
use common::{cflog_std, testdata};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A text log and the options `cflog` reads it with.
struct TextLog {
    path: PathBuf,
    args: Vec<String>,
    builder: DecoderBuilder,
    /// AWS delivers standard logs only as Parquet.
    standard: bool,
}

fn text_log(path: PathBuf) -> TextLog {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut builder = DecoderBuilder::new();
    let mut args = Vec::new();
    for (tag, delimiter) in [("multichar", " | "), ("pipe", "|")] {
        if name.contains(tag) {
            builder.delimiter(Delimiter::new(delimiter.as_bytes()).unwrap());
            args = vec!["--delimiter".into(), delimiter.into()];
            break;
        }
    }
    TextLog {
        path,
        args,
        builder,
        standard: true,
    }
}

/// Every log of `testdata/`; the real-time sample with its field list.
fn testdata_logs() -> Vec<TextLog> {
    let mut logs: Vec<TextLog> = [
        "aws-docs-33-fields.log",
        "bad-lines.log",
        "edge-cases.log",
        "era-18-fields-2014.log",
        "era-24-fields-2017.log",
        "era-35-fields-2025.log",
        "real-26-fields-2018-2019.log",
        "real-33-fields-2025.log",
        "v2-custom-order-multichar.log",
        "v2-custom-order-pipe.log",
        "v2-json-aws-docs.ndjson",
        "v2-w3c-39-fields.log",
        "v2-w3c-aws-docs.log",
    ]
    .into_iter()
    .map(|name| text_log(testdata(name)))
    .collect();
    let fields = std::fs::read_to_string(testdata("realtime-40-fields-2020.fields")).unwrap();
    let fields = fields.trim().to_owned();
    let mut builder = DecoderBuilder::new();
    let (schema, _) = cflog_core::Schema::realtime(fields.split(',')).unwrap();
    builder.schema(schema);
    logs.push(TextLog {
        path: testdata("realtime-40-fields-2020.tsv"),
        args: vec!["--realtime".into(), "--fields-header".into(), fields],
        builder,
        standard: false,
    });
    logs
}

/// A generated corpus with bad lines (the project's seeded generator).
fn generated(dir: &Path, seed: &str, fields: &str, lines: &str) -> TextLog {
    let path = dir.join(format!("gen-{seed}-{fields}.log"));
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen_cflog.py"))
        .args(["--seed", seed, "--lines", lines, "--fields", fields])
        .args(["--bad-rate", "0.02", "--out"])
        .arg(&path)
        .status()
        .expect("run python3 scripts/gen_cflog.py");
    assert!(status.success());
    // AWS's strings are UTF-8: the generator's lines of other bytes could
    // be in no such file, so both sides go without them.
    let text = std::fs::read(&path).unwrap();
    let utf8: Vec<&[u8]> = text
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| std::str::from_utf8(line).is_ok())
        .collect();
    std::fs::write(&path, utf8.concat()).unwrap();
    text_log(path)
}

/// The lines of a log that split into fields, one segment per schema: the
/// columns' field names and each row's raw values.
struct Segment {
    fields: Vec<Option<Field>>,
    names: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn segments(log: &TextLog) -> Vec<Segment> {
    let text = std::fs::read(&log.path).unwrap();
    let mut reader = Reader::from_builder(&log.builder, &text[..]);
    let mut record = Record::new();
    let mut segments: Vec<Segment> = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if e.is_io_error() => panic!("{e}"),
            // Lines that do not split have no row to be.
            Err(_) => continue,
        }
        let line = record.line();
        let schema = line.schema();
        let names: Vec<String> = schema
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        if segments.last().is_none_or(|s| s.names != names) {
            segments.push(Segment {
                fields: schema.columns().iter().map(|c| c.field()).collect(),
                names,
                rows: Vec::new(),
            });
        }
        let row = (0..line.len())
            .map(|i| String::from_utf8(line.column(i).unwrap_or(b"-").to_vec()).unwrap())
            .collect();
        segments.last_mut().unwrap().rows.push(row);
    }
    segments
}

/// How a test writes AWS's Parquet.
#[derive(Clone, Copy)]
struct Style {
    /// Nulls for `-`.
    nulls: bool,
    /// A column null in every row typed null, as pyarrow infers it.
    null_type: bool,
    /// `cs_referrer`, `timestamp(ms)`, `DistributionId` for the documented
    /// `cs_referer`, `timestamp_ms`, `distribution_id`.
    other_spellings: bool,
    compression: &'static str,
    row_group_size: usize,
}

const STYLES: [Style; 2] = [
    Style {
        nulls: false,
        null_type: false,
        other_spellings: false,
        compression: "snappy",
        row_group_size: 700,
    },
    Style {
        nulls: true,
        null_type: true,
        other_spellings: true,
        compression: "zstd",
        row_group_size: 1 << 20,
    },
];

fn column_name(field: Option<Field>, name: &str, style: Style) -> String {
    match (field, style.other_spellings) {
        (Some(Field::Referer), true) => "cs_referrer".into(),
        (Some(Field::TimestampMs), true) => "timestamp(ms)".into(),
        (Some(Field::DistributionId), true) => "DistributionId".into(),
        (Some(field), _) => field.json_key().into(),
        (None, _) => json_key_for_name(name),
    }
}

/// Writes `segment` as AWS's Parquet with pyarrow; `extra` are more
/// arguments of `parquet_in.py`.
fn write_aws(dir: &Path, name: &str, segment: &Segment, style: Style, extra: &[&str]) -> PathBuf {
    let columns: Vec<String> = segment
        .fields
        .iter()
        .zip(&segment.names)
        .map(|(field, name)| column_name(*field, name, style))
        .collect();
    let json = dir.join(format!("{name}.json"));
    let data = serde_json::json!({"columns": columns, "rows": segment.rows});
    std::fs::write(&json, serde_json::to_vec(&data).unwrap()).unwrap();
    let parquet = dir.join(format!("{name}.parquet"));
    let mut command = Command::new(cflog_testkit::tools_python());
    command
        .arg(repo().join("crates/cflog-cli/tests/parquet_in.py"))
        .arg(&json)
        .arg(&parquet)
        .args(["--compression", style.compression])
        .args(["--row-group-size", &style.row_group_size.to_string()])
        .args(extra);
    if style.nulls {
        command.arg("--nulls");
    }
    if style.null_type {
        command.arg("--null-type");
    }
    let status = command.status().expect("run parquet_in.py");
    assert!(status.success(), "parquet_in.py {name}");
    parquet
}

fn run(args: &[String]) -> Output {
    cflog_std()
        .args(["-q", "--jobs", "1"])
        .args(args)
        .output()
        .unwrap()
}

fn path_arg(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// Each log as AWS's Parquet, one file per schema, in both styles: the
/// NDJSON of the files is the text's.
fn check_aws_files_give_the_texts_ndjson(dir: &Path, logs: &[TextLog]) {
    for (n, log) in logs.iter().enumerate().filter(|(_, log)| log.standard) {
        let name = log.path.file_name().unwrap().to_string_lossy().into_owned();
        let mut text_args = log.args.clone();
        text_args.push(path_arg(&log.path));
        let text = run(&text_args);
        let segments = segments(log);
        assert!(!segments.is_empty(), "{name}");
        for (s, style) in STYLES.iter().enumerate() {
            let files: Vec<String> = segments
                .iter()
                .enumerate()
                .map(|(i, segment)| {
                    path_arg(&write_aws(
                        dir,
                        &format!("aws-{n}-{s}-{i}"),
                        segment,
                        *style,
                        &[],
                    ))
                })
                .collect();
            let parquet = run(&files);
            assert_eq!(
                String::from_utf8_lossy(&parquet.stdout),
                String::from_utf8_lossy(&text.stdout),
                "{name}, style {s}: {}",
                String::from_utf8_lossy(&parquet.stderr)
            );
            assert!(matches!(parquet.status.code(), Some(0 | 1)), "{name}");
        }
    }
}

#[test]
fn aws_parquet_of_every_testdata_log_gives_the_ndjson_of_its_text() {
    let dir = tempfile::tempdir().unwrap();
    check_aws_files_give_the_texts_ndjson(dir.path(), &testdata_logs());
}

#[test]
fn aws_parquet_of_a_generated_corpus_gives_the_ndjson_of_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let logs = [
        generated(dir.path(), "11", "33", "12000"),
        generated(dir.path(), "12", "24", "3000"),
    ];
    check_aws_files_give_the_texts_ndjson(dir.path(), &logs);
}

/// AWS does not say which codec its Parquet uses, so every one that
/// pyarrow writes is read, to the text's NDJSON.
#[test]
fn aws_parquet_of_every_codec_gives_the_ndjson_of_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = text_log(testdata("v2-w3c-39-fields.log"));
    let text = run(&[path_arg(&log.path)]);
    assert!(!text.stdout.is_empty());
    for compression in ["none", "snappy", "gzip", "zstd", "lz4", "brotli"] {
        let files: Vec<String> = segments(&log)
            .iter()
            .enumerate()
            .map(|(i, segment)| {
                let style = Style {
                    compression,
                    ..STYLES[0]
                };
                let name = format!("codec-{compression}-{i}");
                path_arg(&write_aws(dir.path(), &name, segment, style, &[]))
            })
            .collect();
        let parquet = run(&files);
        assert_eq!(
            String::from_utf8_lossy(&parquet.stdout),
            String::from_utf8_lossy(&text.stdout),
            "{compression}: {}",
            String::from_utf8_lossy(&parquet.stderr)
        );
    }
}

/// An NDJSON output as objects without their null values: cflog's
/// Parquet has a column for every field, null where a line lacks it, so a
/// `-` and a column the source lacked read back alike.
fn objects_without_nulls(ndjson: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(ndjson)
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            value
        })
        .collect()
}

#[test]
fn cflogs_own_parquet_reads_back_as_the_entries_of_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut logs = testdata_logs();
    logs.push(generated(dir.path(), "13", "33", "20000"));
    for (n, log) in logs.iter().enumerate() {
        let name = log.path.file_name().unwrap().to_string_lossy().into_owned();
        let parquet = dir.path().join(format!("own-{n}.parquet"));
        let mut args = log.args.clone();
        args.push(path_arg(&log.path));
        let text = run(&args);
        let written = write_own(&args, &parquet);
        assert_eq!(written.status.code(), text.status.code(), "{name}");
        let read = run(&[path_arg(&parquet)]);
        assert_eq!(
            read.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&read.stderr)
        );
        assert_eq!(
            objects_without_nulls(&read.stdout),
            objects_without_nulls(&text.stdout),
            "{name}"
        );
    }
}

/// A `stats --json` report without what describes the inputs rather than
/// the entries (their bytes, lines, time).
fn entries_report(output: &Output) -> Value {
    let mut report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&output.stderr));
    });
    let object = report.as_object_mut().unwrap();
    for key in [
        "bytes",
        "lines",
        "header_lines",
        "blank_lines",
        "rejected",
        "duration_ms",
        "elapsed_ms",
        "inputs",
        "input_bytes",
    ] {
        object.remove(key);
    }
    report
}

/// Runs `cflog` with `text_args` into cflog's own Parquet at `file`.
fn write_own(text_args: &[String], file: &Path) -> Output {
    let mut args = text_args.to_vec();
    args.extend([
        "--format".into(),
        "parquet".into(),
        "-o".into(),
        path_arg(file),
    ]);
    run(&args)
}

/// The [`entries_report`] of `cflog stats --json` over `args`.
fn stats_of(args: &[String]) -> Value {
    let output = cflog_std()
        .args(["stats", "--json", "-q", "--jobs", "1"])
        .args(args)
        .output()
        .unwrap();
    entries_report(&output)
}

#[test]
fn stats_agree_between_a_text_log_and_its_parquet_forms() {
    let dir = tempfile::tempdir().unwrap();
    for log in [
        text_log(testdata("real-33-fields-2025.log")),
        text_log(testdata("v2-w3c-39-fields.log")),
        generated(dir.path(), "14", "33", "8000"),
    ] {
        let name = log.path.file_name().unwrap().to_string_lossy().into_owned();
        let mut text_args = log.args.clone();
        text_args.push(path_arg(&log.path));
        let from_text = stats_of(&text_args);
        let segments = segments(&log);
        let aws: Vec<String> = segments
            .iter()
            .enumerate()
            .map(|(i, segment)| {
                path_arg(&write_aws(
                    dir.path(),
                    &format!("stats-{name}-{i}"),
                    segment,
                    STYLES[1],
                    &[],
                ))
            })
            .collect();
        assert_eq!(stats_of(&aws), from_text, "{name}: AWS's Parquet");
        let own = dir.path().join(format!("stats-{name}-own.parquet"));
        write_own(&text_args, &own);
        assert_eq!(
            stats_of(&[path_arg(&own)]),
            from_text,
            "{name}: cflog's Parquet"
        );
    }
}

#[test]
fn cflogs_parquet_written_with_enrichments_reads_back_with_them() {
    let dir = tempfile::tempdir().unwrap();
    for log in [
        text_log(testdata("real-33-fields-2025.log")),
        generated(dir.path(), "15", "33", "6000"),
    ] {
        let name = log.path.file_name().unwrap().to_string_lossy().into_owned();
        let mut text_args = log.args.clone();
        text_args.extend(["--enrich".into(), "ua".into(), path_arg(&log.path)]);
        let own = dir.path().join(format!("enriched-{name}.parquet"));
        write_own(&text_args, &own);

        // The stored browsers, devices and bots are the figures' without
        // --enrich: what the S3 destination stored is read as it is.
        let from_text = stats_of(&text_args);
        let browsers = &from_text["top"]["browsers"];
        assert!(
            browsers.as_array().is_some_and(|b| !b.is_empty()),
            "{name}: {from_text}"
        );
        assert_eq!(stats_of(&[path_arg(&own)]), from_text, "{name}");

        // The NDJSON is the text's, `is_bot` a boolean as the contract has
        // it: without --enrich, and with it again, each key written once.
        let text = objects_without_nulls(&run(&text_args).stdout);
        let bots: Vec<&Value> = text.iter().filter_map(|o| o.get("is_bot")).collect();
        assert!(
            !bots.is_empty() && bots.iter().all(|b| b.is_boolean()),
            "{name}: {bots:?}"
        );
        let read = run(&[path_arg(&own)]);
        assert_eq!(objects_without_nulls(&read.stdout), text, "{name}");
        let again = run(&["--enrich".into(), "ua".into(), path_arg(&own)]);
        for line in String::from_utf8_lossy(&again.stdout).lines() {
            let keys = line.matches("\"ua_name\":").count();
            assert_eq!(keys, 1, "{name}: {line}");
        }
        assert_eq!(objects_without_nulls(&again.stdout), text, "{name}");

        // Written to Parquet again with --enrich, each derived key is back
        // in its typed column, and the file reads as the first did.
        let rewritten = dir.path().join(format!("rewritten-{name}.parquet"));
        let written = write_own(
            &["--enrich".into(), "ua".into(), path_arg(&own)],
            &rewritten,
        );
        assert_eq!(written.status.code(), Some(0), "{name}: {written:?}");
        let read = run(&[path_arg(&rewritten)]);
        assert_eq!(objects_without_nulls(&read.stdout), text, "{name}");
    }
}

#[test]
fn cflogs_parquet_of_pseudonymised_addresses_reads_back_as_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    for log in [
        text_log(testdata("v2-w3c-39-fields.log")),
        generated(dir.path(), "16", "33", "4000"),
    ] {
        let name = log.path.file_name().unwrap().to_string_lossy().into_owned();
        let mut text_args = log.args.clone();
        text_args.extend([
            "--ip-privacy".into(),
            "hmac".into(),
            "--ip-hmac-key-file".into(),
            path_arg(&key),
            path_arg(&log.path),
        ]);
        let own = dir.path().join(format!("hmac-{name}.parquet"));
        write_own(&text_args, &own);
        // `c_ip` and `x_forwarded_for` hold pseudonyms, text as the
        // writer's contract wrote them, not addresses that fail to parse.
        let text = run(&text_args);
        let parquet = run(&[path_arg(&own)]);
        assert_eq!(parquet.status.code(), Some(0), "{name}");
        let objects = objects_without_nulls(&parquet.stdout);
        assert!(!objects.is_empty());
        let addresses: Vec<&str> = objects
            .iter()
            .filter_map(|o| o.get("c_ip")?.as_str())
            .collect();
        assert!(!addresses.is_empty(), "{name}");
        assert!(
            addresses.iter().all(|ip| !ip.contains(['.', ':'])),
            "{name}: {addresses:?}"
        );
        assert_eq!(objects, objects_without_nulls(&text.stdout), "{name}");
    }
}

#[test]
fn a_parquet_file_on_stdin_reads_as_the_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let log = text_log(testdata("aws-docs-33-fields.log"));
    let file = write_aws(dir.path(), "stdin", &segments(&log)[0], STYLES[0], &[]);
    let from_file = run(&[path_arg(&file)]);
    let from_stdin = cflog_std()
        .args(["-q", "-"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert_eq!(from_stdin.status.code(), Some(0));
    assert!(!from_file.stdout.is_empty());
    assert_eq!(from_stdin.stdout, from_file.stdout);
}

#[test]
fn summaries_count_rows_and_name_a_rejected_row_by_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let segment = Segment {
        fields: vec![Some(Field::Date), Some(Field::Time), Some(Field::Status)],
        names: vec!["date".into(), "time".into(), "sc-status".into()],
        rows: vec![
            vec!["2025-01-18".into(), "20:00:01".into(), "200".into()],
            vec!["2025-01-18".into(), "20:00:02".into(), "2x0".into()],
            vec!["2025-01-18".into(), "20:00:03".into(), "304".into()],
            // What a text line would be rejected for, a row is too.
            vec!["-".into(), "-".into(), "-".into()],
            vec!["2025-01-18".into(), "20:00:05".into(), "2".repeat(70_000)],
            vec!["2025-01-18".into(), "20:00:06".into(), "200".into()],
        ],
    };
    let file = write_aws(dir.path(), "rows", &segment, STYLES[0], &[]);
    let output = cflog_std().arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("1 input (Parquet), 6 rows: 3 entries, 3 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 rejected rows: 1 field_value, 1 line_too_long, 1 no_values"),
        "{stderr}"
    );
    for (row, message) in [
        (2, "field sc-status: expected a three-digit status: \"2x0\""),
        (4, "no field has a value (every cell is empty or \"-\")"),
        (5, "line is longer than the limit of 65536 bytes"),
    ] {
        let line = format!("{}: row {row}: {message}", file.display());
        assert!(stderr.contains(&line), "{line}\n{stderr}");
    }

    // `cflog stats` and the report count rows too.
    let stats = cflog_std()
        .args(["stats", "-q"])
        .arg(&file)
        .output()
        .unwrap();
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("Rows") && l.ends_with("6 in 1 input, 3 rejected")),
        "{stats}"
    );
    let report = cflog_std()
        .args(["report", "-q"])
        .arg(&file)
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&report.stdout);
    for label in [
        "<dt>Rows rejected</dt>",
        "<th scope=\"row\">Rows</th>",
        "<caption>Rejected rows by reason</caption>",
        "<th scope=\"col\">Row</th>",
    ] {
        assert!(page.contains(label), "{label} is not in the page");
    }
    assert!(!page.contains("Rejected lines"));

    // Flags for text change nothing for a Parquet input, and say so.
    let flagged = cflog_std()
        .args(["--delimiter", "|", "--input-format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(flagged.stdout, output.stdout);
    let stderr = String::from_utf8_lossy(&flagged.stderr);
    assert!(
        stderr.contains("cflog: --delimiter and --input-format apply to text logs only: the Parquet input was read by its columns"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("text logs only"));
}

/// Runs `cflog` on a bad Parquet file into an output file: exit 2, a
/// message that says what is wrong, and nothing written.
fn refused(file: &Path, expected: &str) {
    let out = file.with_extension("ndjson");
    let output = cflog_std().arg("-o").arg(&out).arg(file).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}: {stderr}",
        file.display()
    );
    assert!(stderr.contains(expected), "{}: {stderr}", file.display());
    let written = std::fs::read(&out).unwrap_or_default();
    assert!(
        written.is_empty(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&written)
    );
    let stats = cflog_std()
        .args(["stats", "--json"])
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(stats.status.code(), Some(2), "stats {}", file.display());
}

#[test]
fn bad_parquet_files_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = text_log(testdata("real-33-fields-2025.log"));
    let segment = &segments(&log)[0];
    let good = write_aws(dir.path(), "good", segment, STYLES[0], &[]);
    let bytes = std::fs::read(&good).unwrap();

    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    refused(&truncated, "the Parquet file is truncated");

    // A footer that claims more metadata than the file has.
    let mut lying = bytes.clone();
    let at = lying.len() - 8;
    lying[at..at + 4].copy_from_slice(&(bytes.len() as u32 + 100).to_le_bytes());
    let too_long = dir.path().join("footer-too-long.parquet");
    std::fs::write(&too_long, &lying).unwrap();
    refused(&too_long, "the Parquet footer claims");

    // One that claims less: the metadata read does not decode.
    let real = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    lying[at..at + 4].copy_from_slice(&(real - 7).to_le_bytes());
    let too_short = dir.path().join("footer-too-short.parquet");
    std::fs::write(&too_short, &lying).unwrap();
    refused(&too_short, "the Parquet metadata is corrupt");

    let no_cloudfront = write_aws(
        dir.path(),
        "no-cloudfront",
        segment,
        STYLES[0],
        &["--rename-all"],
    );
    refused(
        &no_cloudfront,
        "no column of the Parquet file is a CloudFront log field (its columns: col0, col1",
    );

    let int_status = write_aws(
        dir.path(),
        "int-status",
        segment,
        STYLES[0],
        &["--int-column", "sc_status"],
    );
    refused(
        &int_status,
        "column sc_status is Int64, where a CloudFront log has text",
    );

    // Without a CloudFront column, that is what is said, whatever the
    // columns' types.
    let no_cloudfront_int = write_aws(
        dir.path(),
        "no-cloudfront-int",
        segment,
        STYLES[0],
        &["--rename-all", "--int-column", "sc_status"],
    );
    refused(
        &no_cloudfront_int,
        "no column of the Parquet file is a CloudFront log field",
    );
}
