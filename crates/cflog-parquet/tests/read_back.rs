//! cflog's own Parquet read back: a line's JSON object from the file is the
//! one its text gives, whatever its text values hold (escapes of every
//! sort, `%`, a lone `-`, a leading `#`, quotes, bytes that are not UTF-8,
//! empty values), in batches and row groups of every size.
//!
//! The reader writes each row as a line again, escaping decoded text so
//! that one decoding gives it back; this is the check that it does, with
//! the JSON writer of the text as the reference. (The command line's
//! tests compare the files of `testdata/` and of a generated corpus.) A
//! leading `#` is not reached here: every row of cflog's file starts with
//! its date; the reader's unit tests write one first in a line.

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Decoder, LogLine, Record, Schema, SplitLines};
use cflog_parquet::read::{FOOTER_TAIL, ParquetLog, metadata_len};
use cflog_parquet::{ColumnSet, ParquetWriter, WriteError, WriterOptions};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Text fields of every kind cflog decodes, a word, and a field cflog has no
/// column for (kept in `extra`). The request time is always there, so that
/// a line is a row.
const FIELDS: &str = "#Fields: date time cs(User-Agent) cs(Referer) cs-uri-query cs(Cookie) \
                      x-edge-location cs-uri-stem x-custom";

/// Pieces of text values: escapes of what a line cannot hold, of `%` (one
/// that decodes to an escape, `%2541`, too) and of `-`, and what JSON
/// escapes.
const PIECES: &[&str] = &[
    "a", "%", "%2", "%25", "%2541", "%2D", "-", "#", "%23", "%09", "%0A", "%0D", "%20", " ", "\"",
    "%22", "\\", "%5C", "%FF", "%C3%A9", "é", "+", "=", "&", "%00", "%7F",
];

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("-".to_owned()),
        1 => Just(String::new()),
        8 => proptest::collection::vec(proptest::sample::select(PIECES), 1..6)
            .prop_map(|pieces| pieces.concat()),
    ]
}

/// The object `json` writes for `line`, without its nulls: a column the
/// source lacked comes back null, and a `-` as a key left out.
fn object(json: &mut JsonWriter, line: &LogLine<'_>) -> Map<String, Value> {
    let mut out = Vec::new();
    json.write(line, &mut out).expect("an accepted line");
    let Value::Object(mut object) = serde_json::from_slice(&out).expect("a JSON object") else {
        panic!("not an object: {}", String::from_utf8_lossy(&out));
    };
    object.retain(|_, value| !value.is_null());
    object
}

/// Every row of cflog's Parquet `file`, read back through the decoder, as
/// its JSON object.
fn objects_of_file(file: &[u8]) -> Vec<Map<String, Value>> {
    let len = file.len() as u64;
    let tail: &[u8; FOOTER_TAIL] = file[file.len() - FOOTER_TAIL..].try_into().unwrap();
    let start = (len - FOOTER_TAIL as u64 - metadata_len(len, tail).unwrap()) as usize;
    let log = ParquetLog::from_metadata(len, &file[start..file.len() - FOOTER_TAIL]).unwrap();
    let mut json = JsonWriter::new(Selection::all());
    let mut decoder = Decoder::new();
    let mut lines = SplitLines::new();
    let mut objects = Vec::new();
    for group in 0..log.row_groups() {
        let range = log.row_group_range(group).unwrap();
        let bytes = bytes::Bytes::copy_from_slice(&file[range.start as usize..range.end as usize]);
        let mut rows = log.row_group(group, range.start, bytes).unwrap();
        while let Some(schema) = rows.next_lines(&mut lines).unwrap() {
            for i in 0..lines.len() {
                let (line, _) = decoder.split_line(&lines, i, &schema).unwrap();
                objects.push(object(&mut json, &line));
            }
        }
    }
    objects
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn a_lines_object_from_cflogs_parquet_is_the_one_its_text_gives(
        lines in proptest::collection::vec(
            (proptest::collection::vec(text_value(), 4), "[A-Z]{3}[0-9]{1,2}|-", text_value(), text_value()),
            1..40,
        ),
        rows in 1..50usize,
        batch in 1..8usize,
    ) {
        let schema = Schema::from_fields_header(FIELDS.as_bytes()).unwrap();
        let options = WriterOptions::default().row_group_rows(rows).batch_rows(batch);
        let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), options).unwrap();
        let mut json = JsonWriter::new(Selection::all());
        let mut wanted = Vec::new();
        for (texts, location, stem, custom) in &lines {
            let text = format!(
                "2019-12-04\t21:02:31\t{}\t{location}\t/{stem}\t{custom}",
                texts.join("\t")
            );
            let mut spans = Vec::new();
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            match writer.write(&line) {
                Ok(()) => wanted.push(object(&mut json, &line)),
                // Refused as the JSON writer refuses it: nothing to compare.
                Err(WriteError::Rejected(_)) => {
                    prop_assert!(json.write(&line, &mut Vec::new()).is_err(), "{text}")
                }
                Err(other) => panic!("{other}"),
            }
        }
        let (file, _) = writer.finish().unwrap();
        prop_assert_eq!(objects_of_file(&file), wanted);
    }
}

/// The reader and `Record` agree on a whole file too: one line of every
/// piece, read by the text reader, then from the Parquet file.
#[test]
fn every_piece_reads_back_as_its_text_gives_it() {
    let mut log = format!("{FIELDS}\n");
    for piece in PIECES {
        log.push_str(&format!(
            "2019-12-04\t21:02:31\t{piece}\t{piece}x\t{piece}={piece}\tx{piece}\t-\t/{piece}\t{piece}\n"
        ));
    }
    let mut writer =
        ParquetWriter::new(Vec::new(), ColumnSet::standard(), WriterOptions::default()).unwrap();
    let mut json = JsonWriter::new(Selection::all());
    let mut reader = cflog_core::Reader::from_reader(log.as_bytes());
    let mut record = Record::new();
    let mut wanted = Vec::new();
    while reader.read_record(&mut record).unwrap() {
        writer.write(&record.line()).unwrap();
        wanted.push(object(&mut json, &record.line()));
    }
    assert_eq!(wanted.len(), PIECES.len());
    let (file, _) = writer.finish().unwrap();
    assert_eq!(objects_of_file(&file), wanted);
}
