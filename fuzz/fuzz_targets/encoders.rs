//! Arbitrary input through the decoder, then every record through the
//! encoders of the typed-value layer: the JSON writer, the CSV cells and
//! the tally of `cflog stats` and `cflog report` (in both its scopes) must
//! accept or refuse each record alike (each kind has one parser), and a CSV row must be what the `csv` crate writes of the
//! same cells, and read back into them.
#![no_main]

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Decoded, Decoder, Record};
use cflog_encoders::aggregate::{Aggregate, Aggregator, Scope};
use cflog_encoders::delimited::{Cells, Columns, RowWriter, write_row};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, input)) = data.split_first() else {
        return;
    };
    let delimiter = if knobs & 1 == 0 { b',' } else { b'\t' };
    let mut decoder = Decoder::new();
    let mut record = Record::new();
    let mut json = JsonWriter::new(Selection::all());
    let mut cells = Cells::new(Selection::all());
    let mut page = Aggregator::new();
    let mut summary = Aggregator::new().with_scope(Scope::Summary);
    let (mut page_counts, mut summary_counts) = (Aggregate::default(), Aggregate::default());
    let rows = RowWriter::new(delimiter);
    let (mut out, mut row) = (Vec::new(), Vec::new());
    let mut entry = |record: &Record| {
        let line = record.line();
        out.clear();
        let written = json.write(&line, &mut out);
        let read = cells.read(&line);
        let counted = page.add(&line, &mut page_counts);
        let summed = summary.add(&line, &mut summary_counts);
        assert_eq!(
            counted.is_ok(),
            summed.is_ok(),
            "page {counted:?}, summary {summed:?}"
        );
        assert_eq!(page_counts.requests, summary_counts.requests);
        assert_eq!(
            written.is_ok(),
            read.is_ok(),
            "JSON {written:?}, cells {read:?}"
        );
        assert_eq!(
            read.is_ok(),
            counted.is_ok(),
            "cells {read:?}, tally {counted:?}"
        );
        if read.is_err() {
            return;
        }
        let keys = cells.keys(line.schema()).to_vec();
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&out).expect("the writer writes JSON");
        assert_eq!(object.len(), keys.len(), "{keys:?}");
        assert_eq!(cells.len(), keys.len());
        let slots = Columns::new(keys.clone()).slots(&keys);
        row.clear();
        rows.write_row(&cells, &slots, &mut row);
        let mut oracle = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        write_row(&mut oracle, &cells, &slots).expect("csv writes to memory");
        let oracle = oracle.into_inner().expect("csv flushes to memory");
        assert_eq!(row, oracle, "the row writer and the csv crate differ");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .from_reader(&row[..]);
        let back = reader
            .byte_records()
            .next()
            .expect("one row")
            .expect("the row reads back");
        for (i, cell) in back.iter().enumerate() {
            assert_eq!(Some(cell), cells.get(i), "cell {i} of {keys:?}");
        }
    };
    let mut input = input;
    loop {
        let (result, used) = decoder.decode(input, &mut record);
        input = &input[used..];
        match result {
            Ok(Decoded::Record) => entry(&record),
            Ok(_) => break,
            Err(_) => {}
        }
    }
    loop {
        match decoder.finish(&mut record) {
            Ok(Decoded::Record) => entry(&record),
            Ok(_) => break,
            Err(_) => {}
        }
    }
});
