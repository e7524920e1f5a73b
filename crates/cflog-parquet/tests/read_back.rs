//! Parquet read back: a line's JSON object from the file is the one its
//! text gives, whatever its text values hold (escapes of every sort, `%`, a
//! lone `-`, a leading `#`, quotes, bytes that are not UTF-8, empty values),
//! in batches and row groups of every size.
//!
//! The reader writes each row as a line again: cflog's decoded text escaped
//! so that one decoding gives it back, and AWS's strings as they are but
//! for what a line cannot hold. This is the check that it does, with the
//! JSON writer of the text as the reference. (The command line's
//! tests compare the files of `testdata/` and of a generated corpus.) A
//! leading `#` is not reached here: every row of cflog's file starts with
//! its date; the reader's unit tests write one first in a line.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Decoder, LogLine, Record, Schema, SplitLines};
use cflog_parquet::read::{FOOTER_TAIL, ParquetLog, metadata_len};
use cflog_parquet::{ColumnSet, ParquetWriter, WriteError, WriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
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

/// Every row of a Parquet `file`, read back through the decoder: its line,
/// and its JSON object (nulls left out, as [`object`] leaves them). The
/// line's text, split at its tabs as a text log's line is, must give the
/// same object as the spans the reader wrote.
fn read_back(file: &[u8]) -> Vec<(Vec<u8>, Map<String, Value>)> {
    let len = file.len() as u64;
    let tail: &[u8; FOOTER_TAIL] = file[file.len() - FOOTER_TAIL..].try_into().unwrap();
    let start = (len - FOOTER_TAIL as u64 - metadata_len(len, tail).unwrap()) as usize;
    let log = ParquetLog::from_metadata(len, &file[start..file.len() - FOOTER_TAIL]).unwrap();
    let mut json = JsonWriter::new(Selection::all());
    let mut decoder = Decoder::new();
    let mut lines = SplitLines::new();
    let mut rows = Vec::new();
    for group in 0..log.row_groups() {
        let range = log.row_group_range(group).unwrap();
        let bytes = bytes::Bytes::copy_from_slice(&file[range.start as usize..range.end as usize]);
        let mut group = log.row_group(group, range.start, bytes).unwrap();
        while let Some(schema) = group.next_lines(&mut lines).unwrap() {
            for i in 0..lines.len() {
                let (line, _) = decoder.split_line(&lines, i, &schema).unwrap();
                let text = line.as_bytes().to_vec();
                let by_spans = object(&mut json, &line);
                let mut spans = Vec::new();
                let split = LogLine::parse(&text, &schema, &mut spans).unwrap();
                assert_eq!(object(&mut json, &split), by_spans);
                rows.push((text, by_spans));
            }
        }
    }
    rows
}

/// The JSON objects of [`read_back`].
fn objects_of_file(file: &[u8]) -> Vec<Map<String, Value>> {
    read_back(file)
        .into_iter()
        .map(|(_, object)| object)
        .collect()
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

/// AWS's columns, a text one first (so that a leading `#` starts a line),
/// and one cflog does not know, which is kept as text.
const AWS_COLUMNS: [&str; 7] = [
    "cs_user_agent",
    "date",
    "time",
    "cs_referer",
    "cs_uri_query",
    "x_edge_location",
    "x_new_field",
];

/// The same as a `#Fields` header.
const AWS_FIELDS: &str =
    "#Fields: cs(User-Agent) date time cs(Referer) cs-uri-query x-edge-location x_new_field";

/// A value as AWS's Parquet may hold it: logged text, with a tab, a line
/// break or a `#` that a line could not hold as they are; `-`, empty, or
/// null.
fn aws_value() -> impl Strategy<Value = Option<String>> {
    let raw = proptest::sample::select(&["\t", "\n", "\r", "\r\n", "#"][..]);
    prop_oneof![
        1 => Just(None),
        1 => Just(Some("-".to_owned())),
        1 => Just(Some(String::new())),
        8 => proptest::collection::vec(
            prop_oneof![3 => proptest::sample::select(PIECES), 1 => raw],
            1..6,
        )
        .prop_map(|pieces| Some(pieces.concat())),
    ]
}

/// `value` as a text log has it in a line: null as `-`, and escaped where
/// the line could not hold it.
fn as_logged(value: &Option<String>, first: bool) -> String {
    let Some(value) = value else {
        return "-".to_owned();
    };
    let escaped = value
        .replace('\t', "%09")
        .replace('\n', "%0A")
        .replace('\r', "%0D");
    match escaped.strip_prefix('#') {
        Some(rest) if first => format!("%23{rest}"),
        _ => escaped,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn a_lines_object_from_aws_parquet_is_the_one_its_text_gives(
        rows in proptest::collection::vec(
            (aws_value(), aws_value(), aws_value(), aws_value()),
            1..40,
        ),
        group_rows in 1..50usize,
        dictionary in any::<bool>(),
    ) {
        let rows: Vec<[Option<String>; 7]> = rows
            .into_iter()
            .map(|(agent, referer, query, new)| {
                let date = Some("2019-12-04".to_owned());
                let time = Some("21:02:31".to_owned());
                let location = Some("LAX1".to_owned());
                [agent, date, time, referer, query, location, new]
            })
            .collect();
        let columns = AWS_COLUMNS.iter().enumerate().map(|(c, name)| {
            let values: Vec<Option<&str>> = rows.iter().map(|row| row[c].as_deref()).collect();
            (*name, Arc::new(StringArray::from(values)) as ArrayRef)
        });
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .set_dictionary_enabled(dictionary)
            .build();
        let mut file = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut file, batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        // The line is the one a text log would have, and so is its object.
        let schema = Schema::from_fields_header(AWS_FIELDS.as_bytes()).unwrap();
        let mut json = JsonWriter::new(Selection::all());
        let wanted: Vec<(Vec<u8>, Map<String, Value>)> = rows
            .iter()
            .map(|row| {
                let values: Vec<String> =
                    row.iter().enumerate().map(|(c, v)| as_logged(v, c == 0)).collect();
                let text = values.join("\t");
                let mut spans = Vec::new();
                let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
                let object = object(&mut json, &line);
                (text.into_bytes(), object)
            })
            .collect();
        prop_assert_eq!(read_back(&file), wanted);
    }
}
