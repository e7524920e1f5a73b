//! Lines of good and bad values, written in tiny batches and row groups and
//! read back with the `parquet` crate's own Arrow reader: every accepted
//! line is one row, in order, with the values its accessors give, and a
//! rejected line leaves nothing behind. (pyarrow and DuckDB read the files
//! in `tests/readback.rs`.)

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Field, LogLine, Schema};
use cflog_parquet::{Batcher, ColumnSet, ParquetWriter, WriteError, WriterOptions};
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Lines dealt to several [`Batcher`]s, as the command line's workers
    /// each batch their own input, and the batches written by one writer in
    /// the order they fill: each batch's rows are in the file in order, and
    /// nothing is lost at the end.
    #[test]
    fn batches_from_several_batchers_are_rows_in_the_order_written(lines in proptest::collection::vec((
        value(&["200", "404", "OK"]),
        value(&["/", "/a%20b", "-"]),
        value(&["a=1&b=2&a=3", "-"]),
        value(&["new", "-"]),
        0..3usize,
    ), 0..60), batch in 1..5usize, rows in 1..8usize) {
        let schema = Schema::from_fields_header(FIELDS.as_bytes()).unwrap();
        let options = WriterOptions::default().row_group_rows(rows).batch_rows(batch);
        let mut writer = ParquetWriter::new(Vec::new(), ColumnSet::standard(), options.clone()).unwrap();
        let mut batchers: Vec<Batcher> = (0..3).map(|_| Batcher::new(ColumnSet::standard(), &options)).collect();
        // Per batcher, the rows it holds; then the rows in the file's order.
        let mut pending: Vec<Vec<Expected>> = (0..3).map(|_| Vec::new()).collect();
        let mut wanted = Vec::new();
        for (status, stem, query, custom, which) in &lines {
            let text = format!("2019-12-04\t21:02:31\t{status}\t1\t{stem}\t{query}\t0.5\t{custom}");
            let mut spans = Vec::new();
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            match batchers[*which].push(&line) {
                Ok(full) => {
                    pending[*which].push(expected(&line));
                    if let Some(full) = full {
                        prop_assert_eq!(full.rows(), batch);
                        writer.write_batch(full).unwrap();
                        wanted.append(&mut pending[*which]);
                    }
                }
                Err(WriteError::Rejected(_)) => prop_assert_eq!(*status, "OK"),
                Err(other) => panic!("{other}"),
            }
        }
        for (batcher, rows) in batchers.iter_mut().zip(&mut pending) {
            prop_assert_eq!(batcher.rows(), rows.len());
            if let Some(rest) = batcher.take().unwrap() {
                writer.write_batch(rest).unwrap();
                wanted.append(rows);
            }
            prop_assert!(rows.is_empty());
        }
        let (file, stats) = writer.finish().unwrap();
        prop_assert_eq!(stats.rows, wanted.len() as u64);
        let with_extra = wanted.iter().filter(|row| row.custom.is_some()).count();
        prop_assert_eq!(stats.rows_with_extra, with_extra as u64);
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap();
        let mut got = Vec::new();
        for batch in reader.build().unwrap() {
            got.extend(rows_of(&batch.unwrap()));
        }
        prop_assert_eq!(got, wanted);
    }
}

#[test]
fn a_batch_of_other_columns_is_refused_and_the_writer_goes_on() {
    let options = WriterOptions::default();
    let mut writer =
        ParquetWriter::new(Vec::new(), ColumnSet::standard(), options.clone()).unwrap();
    let mut realtime = Batcher::new(ColumnSet::realtime(), &options);
    let schema = Schema::from_fields_header(FEW_FIELDS.as_bytes()).unwrap();
    let mut spans = Vec::new();
    let line = LogLine::parse(b"2019-12-04\t21:02:31\t200\t/", &schema, &mut spans).unwrap();
    realtime.push(&line).unwrap();
    let batch = realtime.take().unwrap().unwrap();
    let error = writer.write_batch(batch).unwrap_err();
    assert!(error.to_string().contains("other columns"), "{error}");
    writer.write(&line).unwrap();
    let (_, stats) = writer.finish().unwrap();
    assert_eq!(stats.rows, 1);
}
