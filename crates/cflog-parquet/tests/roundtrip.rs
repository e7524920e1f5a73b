//! Lines of good and bad values, written in tiny batches and row groups and
//! read back with the `parquet` crate's own Arrow reader: every accepted
//! line is one row, in order, with the values its accessors give, and a
//! rejected line leaves nothing behind. (pyarrow and DuckDB read the files
//! in `tests/readback.rs`.)

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use cflog_core::json::{JsonWriter, Selection};
use cflog_core::{Field, LogLine, Schema};
use cflog_parquet::{ColumnSet, ParquetWriter, WriteError, WriterOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;

const FIELDS: &str =
    "#Fields: date time sc-status sc-bytes cs-uri-stem cs-uri-query time-taken x-custom";
/// A second schema, mixed with the first line by line, so that columns
/// absent from one are present in the other within a batch.
const FEW_FIELDS: &str = "#Fields: date time sc-status cs-uri-stem";

/// What a row should hold, from the line's own accessors.
#[derive(Debug, PartialEq)]
struct Expected {
    millis: i64,
    status: Option<i64>,
    bytes: Option<i64>,
    stem: Option<String>,
    query_names: Option<Vec<String>>,
    seconds: Option<f64>,
    custom: Option<String>,
}

fn expected(line: &LogLine<'_>) -> Expected {
    let time = line.timestamp().unwrap().unwrap();
    Expected {
        millis: (time.unix_timestamp_nanos() / 1_000_000) as i64,
        status: line.status().unwrap().map(i64::from),
        bytes: line.sc_bytes().unwrap().map(|n| n as i64),
        stem: line
            .get(Field::UriStem)
            .map(|v| v.decoded_str().into_owned()),
        query_names: line.query_params().map(|params| {
            let mut names: Vec<String> = Vec::new();
            for (name, _) in params.iter() {
                if !names.iter().any(|n| *n == name) {
                    names.push(name.into_owned());
                }
            }
            names
        }),
        seconds: line
            .time_taken()
            .unwrap()
            .map(|d| d.as_nanos() as f64 / 1e9),
        custom: line
            .column(7)
            .and_then(cflog_core::Value::new)
            .map(|v| v.decoded_str().into_owned()),
    }
}

fn rows_of(batch: &RecordBatch) -> Vec<Expected> {
    let column = |name: &str| batch.column_by_name(name).unwrap();
    let time = column("timestamp").as_primitive::<TimestampMillisecondType>();
    let status = column("sc_status").as_primitive::<Int64Type>();
    let bytes = column("sc_bytes").as_primitive::<Int64Type>();
    let stem = column("cs_uri_stem").as_string::<i32>();
    let query = column("query_params").as_map();
    let seconds = column("time_taken").as_primitive::<Float64Type>();
    let extra = column("extra").as_map();
    (0..batch.num_rows())
        .map(|i| {
            let int =
                |a: &arrow_array::PrimitiveArray<Int64Type>| (!a.is_null(i)).then(|| a.value(i));
            Expected {
                millis: time.value(i),
                status: int(status),
                bytes: int(bytes),
                stem: (!stem.is_null(i)).then(|| stem.value(i).to_owned()),
                query_names: (!query.is_null(i)).then(|| {
                    let entries = query.value(i);
                    let names = entries.column(0).as_string::<i32>();
                    names.iter().map(|n| n.unwrap().to_owned()).collect()
                }),
                seconds: (!seconds.is_null(i)).then(|| seconds.value(i)),
                custom: (!extra.is_null(i)).then(|| {
                    let entries = extra.value(i);
                    assert_eq!(entries.column(0).as_string::<i32>().value(0), "x_custom");
                    entries.column(1).as_string::<i32>().value(0).to_owned()
                }),
            }
        })
        .collect()
}

fn value(choices: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(choices)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn accepted_lines_are_rows_and_rejected_ones_leave_nothing(lines in proptest::collection::vec((
        value(&["200", "000", "404", "20", "OK", "-"]),
        value(&["0", "42", "9223372036854775807", "9223372036854775808", "1x", "-"]),
        value(&["/", "/a%20b", "/%C3%A9t%C3%A9", "/%FF", "-"]),
        value(&["a=1&b=2&a=3", "q=a%2520b+c", "flag", "&", "-"]),
        value(&["0.082", "12", "0.0000000001", "1.", "-"]),
        value(&["new", "%22quoted%22", "-"]),
        any::<bool>(),
    ), 0..40), rows in 1..6usize, batch in 1..4usize) {
        let schema = Schema::from_fields_header(FIELDS.as_bytes()).unwrap();
        let few = Schema::from_fields_header(FEW_FIELDS.as_bytes()).unwrap();
        let options = WriterOptions::default().row_group_rows(rows).batch_rows(batch);
        let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), options).unwrap();
        let mut json = JsonWriter::new(Selection::all());
        let mut wanted = Vec::new();
        for (status, bytes, stem, query, taken, custom, short) in &lines {
            let (text, schema) = match short {
                true => (format!("2019-12-04\t21:02:31\t{status}\t{stem}"), &few),
                false => (format!("2019-12-04\t21:02:31\t{status}\t{bytes}\t{stem}\t{query}\t{taken}\t{custom}"), &schema),
            };
            let mut spans = Vec::new();
            let line = LogLine::parse(text.as_bytes(), schema, &mut spans).unwrap();
            // The oracle: what the JSON writer accepts, and fits an INT64.
            let fits = line.sc_bytes().map_or(true, |n| n.is_none_or(|n| n <= i64::MAX as u64));
            let accepted = json.write(&line, &mut Vec::new()).is_ok() && fits;
            match writer.write(&line) {
                Ok(()) => {
                    prop_assert!(accepted, "{text}");
                    wanted.push(expected(&line));
                }
                Err(WriteError::Rejected(_)) => prop_assert!(!accepted, "{text}"),
                Err(other) => panic!("{other}"),
            }
        }
        let (file, stats) = writer.finish().unwrap();
        prop_assert_eq!(stats.rows, wanted.len() as u64);
        prop_assert_eq!(stats.row_groups, wanted.len().div_ceil(rows));
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap();
        let metadata = reader.metadata().clone();
        let mut got = Vec::new();
        for batch in reader.build().unwrap() {
            got.extend(rows_of(&batch.unwrap()));
        }
        prop_assert_eq!(got, wanted);
        for group in metadata.row_groups() {
            prop_assert!(group.num_rows() as usize <= rows);
        }
    }
}
