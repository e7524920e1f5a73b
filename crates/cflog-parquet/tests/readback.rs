//! cflog's Parquet read back by readers nobody here wrote: pyarrow and
//! DuckDB, from the tools venv (`scripts/install-tools` installs them).
//!
//! Each input is written twice, line by line: as Parquet by
//! `ParquetWriter`, and as NDJSON by the JSON writer, which is the contract.
//! `tests/readback.py` then reads the Parquet with pyarrow and DuckDB and
//! compares every value of every row with the JSON object of the same
//! entry, and checks the file's types, row groups, statistics and codec.
//! Inputs: every standard log in `testdata/` (each alone, and all of them
//! in one file, so eras and layouts meet in one schema), the real-time
//! sample, and generated corpora with bad lines.

use std::path::{Path, PathBuf};
use std::process::Command;

use cflog_core::Family;
use cflog_core::contract::testing;
use cflog_core::json::JsonWriter;
use cflog_core::{DecoderBuilder, Delimiter, Reader, Record, Schema};
use cflog_parquet::{ColumnSet, ParquetWriter, WriteError, WriterOptions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One input, as the test writes it.
struct Input {
    name: String,
    text: Vec<u8>,
    builder: DecoderBuilder,
}

/// The builder that reads `name` from `testdata/`.
fn builder_for(name: &str) -> DecoderBuilder {
    let mut builder = DecoderBuilder::new();
    if name.contains("pipe") {
        builder.delimiter(Delimiter::new(b"|").unwrap());
    } else if name.contains("multichar") {
        builder.delimiter(Delimiter::new(b" | ").unwrap());
    }
    builder
}

/// What one Parquet file should hold, for the Python side.
struct Written {
    parquet: PathBuf,
    ndjson: PathBuf,
    rows: u64,
    row_group_rows: usize,
    family: &'static str,
    /// The Glue columns of the file's set.
    glue: String,
}

/// Writes `inputs` into one Parquet file and one NDJSON file under `dir`,
/// rejecting (and counting) the lines either writer rejects: the two must
/// agree on every line.
fn write(
    dir: &Path,
    name: &str,
    inputs: &[Input],
    set: ColumnSet,
    options: WriterOptions,
) -> Written {
    let parquet = dir.join(format!("{name}.parquet"));
    let ndjson = dir.join(format!("{name}.ndjson"));
    let family = match set.family() {
        cflog_core::Family::Realtime => "realtime",
        _ => "standard",
    };
    let row_group_rows = options.get_row_group_rows();
    let glue = set.render_glue_columns();
    // The JSON of the set's contract: its derived keys and transforms too.
    let selection = set.contract().select_all();
    let file = std::fs::File::create(&parquet).unwrap();
    let mut writer = ParquetWriter::new(file, set, options).unwrap();
    let mut json = JsonWriter::new(selection);
    let mut objects = Vec::new();
    let (mut rows, mut rejected) = (0u64, 0u64);
    for input in inputs {
        let mut reader = Reader::from_builder(&input.builder, &input.text[..]);
        let mut record = Record::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                // Lines the reader itself refuses reach no writer.
                Err(_) => continue,
            }
            let line = record.line();
            let mut object = Vec::new();
            let by_json = json.write(&line, &mut object);
            match (writer.write(&line), by_json) {
                (Ok(()), Ok(())) => {
                    objects.extend_from_slice(&object);
                    objects.push(b'\n');
                    rows += 1;
                }
                (Err(WriteError::Rejected(ours)), Err(theirs)) => {
                    assert_eq!(ours, theirs, "{}: both reject, for one reason", input.name);
                    rejected += 1;
                }
                (ours, theirs) => panic!("{}: Parquet {ours:?}, JSON {theirs:?}", input.name),
            }
        }
    }
    let (_, stats) = writer.finish().unwrap();
    assert_eq!(stats.rows, rows, "{name}");
    assert_eq!(
        stats.bytes,
        std::fs::metadata(&parquet).unwrap().len(),
        "{name}"
    );
    std::fs::write(&ndjson, objects).unwrap();
    eprintln!(
        "{name}: {rows} rows, {rejected} rejected, {} row groups, {} bytes",
        stats.row_groups, stats.bytes
    );
    Written {
        parquet,
        ndjson,
        rows,
        row_group_rows,
        family,
        glue,
    }
}

/// A generated corpus (the project's seeded generator).
fn generated(dir: &Path, fields: u32, lines: u32, bad_rate: &str) -> Input {
    let out = dir.join(format!("generated-{fields}.log"));
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen_cflog.py"))
        .args([
            "--seed",
            "17",
            "--fields",
            &fields.to_string(),
            "--lines",
            &lines.to_string(),
        ])
        .args(["--bad-rate", bad_rate, "--out"])
        .arg(&out)
        .status()
        .expect("run python3 scripts/gen_cflog.py");
    assert!(status.success());
    Input {
        name: format!("generated-{fields}"),
        text: std::fs::read(&out).unwrap(),
        builder: DecoderBuilder::new(),
    }
}

#[test]
fn pyarrow_and_duckdb_read_every_value_as_the_json_writer_wrote_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo().join("testdata");
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".log") || name.ends_with(".ndjson"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    let standard: Vec<Input> = names
        .iter()
        .map(|name| Input {
            name: name.clone(),
            text: std::fs::read(data.join(name)).unwrap(),
            builder: builder_for(name),
        })
        .collect();

    let mut written = Vec::new();
    for input in &standard {
        let one = std::slice::from_ref(input);
        let stem = input.name.rsplit_once('.').unwrap().0;
        written.push(write(
            dir.path(),
            stem,
            one,
            ColumnSet::standard(),
            WriterOptions::default(),
        ));
    }
    // Every era and layout in one file, in small row groups.
    let small = WriterOptions::default().row_group_rows(4).batch_rows(3);
    written.push(write(
        dir.path(),
        "all-standard",
        &standard,
        ColumnSet::standard(),
        small,
    ));

    // The test-only derived keys and transform: their columns (a boolean
    // among them) hold what the JSON of the same contract holds.
    written.push(write(
        dir.path(),
        "test-contract",
        &standard,
        ColumnSet::for_contract(Family::Standard, &testing::contract()),
        WriterOptions::default(),
    ));

    // Real-time: the sample record with its configured fields.
    let fields = std::fs::read_to_string(data.join("realtime-40-fields-2020.fields")).unwrap();
    let (schema, _) = Schema::realtime(fields.trim().split(',')).unwrap();
    let mut builder = DecoderBuilder::new();
    builder.schema(schema);
    let realtime = Input {
        name: "realtime".into(),
        text: std::fs::read(data.join("realtime-40-fields-2020.tsv")).unwrap(),
        builder,
    };
    written.push(write(
        dir.path(),
        "realtime",
        std::slice::from_ref(&realtime),
        ColumnSet::realtime(),
        WriterOptions::default(),
    ));
    // A real-time line in standard columns: its own fields go to `extra`.
    written.push(write(
        dir.path(),
        "realtime-as-standard",
        &[realtime],
        ColumnSet::standard(),
        WriterOptions::default(),
    ));

    // Generated corpora of two eras with bad lines, in bounded row groups.
    let corpora = [
        generated(dir.path(), 33, 30_000, "0.02"),
        generated(dir.path(), 24, 5_000, "0.05"),
    ];
    let bounded = WriterOptions::default()
        .row_group_rows(7_000)
        .batch_rows(1_000);
    written.push(write(
        dir.path(),
        "generated",
        &corpora,
        ColumnSet::standard(),
        bounded,
    ));
    let total: u64 = written.iter().map(|w| w.rows).sum();
    assert!(total > 30_000, "{total}");

    let manifest: Vec<serde_json::Value> = written
        .iter()
        .map(|w| {
            serde_json::json!({
                "parquet": w.parquet,
                "ndjson": w.ndjson,
                "rows": w.rows,
                "row_group_rows": w.row_group_rows,
                "family": w.family,
                "glue_columns": serde_json::from_str::<serde_json::Value>(&w.glue).unwrap(),
            })
        })
        .collect();
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();

    let output = Command::new(cflog_testkit::tools_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readback.py"))
        .arg(&manifest_path)
        .output()
        .expect("run tests/readback.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "tests/readback.py failed");
    // The script's last line: how much it compared, which must be all.
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["files"], written.len());
    assert_eq!(summary["rows"], total);
    assert_eq!(summary["duckdb_rows"], total);
    assert!(
        summary["values"].as_u64().unwrap() > 30 * total,
        "{summary}"
    );
}
