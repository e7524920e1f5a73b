//! A Kinesis batch of real-time log records, as the Lambda's
//! `kinesis::process_batch` gets it: any field list, any record data. It
//! must never panic, the output never fails (it is a `Vec`), every entry is
//! one JSON line, and the batch summary reconciles.
//!
//! The input: a knob byte, the field list up to the first `\n`
//! (`CFLOG_REALTIME_FIELDS`), then the records' data, split at each 0x1E
//! byte (ASCII record separator).
#![no_main]

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use cflog_lambda::Config;
use cflog_lambda::kinesis::process_batch;
use cflog_pipeline::sink::{NdjsonSink, NullSink};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let (fields, records) = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (rest, &[][..]),
    };
    let fields = String::from_utf8_lossy(fields).into_owned();
    // Bit 0: retry records with rejects; bits 2-4: a short line limit
    // (64 to 448 bytes), to reach the over-long line path.
    let rejects = if knobs & 1 == 1 { "retry" } else { "report" };
    let max_line = (knobs >> 2) & 7;
    let max_line = (max_line != 0).then(|| (usize::from(max_line) * 64).to_string());
    let Ok(config) = Config::from_lookup(|name| match name {
        "CFLOG_REALTIME_FIELDS" => Some(fields.clone()),
        "CFLOG_REALTIME_REJECTS" => Some(rejects.into()),
        "CFLOG_MAX_LINE_BYTES" => max_line.clone(),
        _ => None,
    }) else {
        return;
    };
    let Some(realtime) = config.realtime else {
        return;
    };
    let batch: Vec<KinesisEventRecord> = records
        .split(|&b| b == 0x1e)
        .take(64)
        .enumerate()
        .map(|(i, data)| {
            let mut record = KinesisEventRecord::default();
            record.event_source = Some("aws:kinesis".into());
            record.kinesis.sequence_number = format!("{:056}", i);
            *record.kinesis.data = data.to_vec();
            record
        })
        .collect();
    // Bit 1: NDJSON into a Vec, else the null sink.
    let mut out = Vec::new();
    let (result, report) = if knobs & 2 == 2 {
        let (result, report) =
            futures_executor::block_on(process_batch(&batch, &realtime, NdjsonSink::new(&mut out)));
        (result.map_err(|e| e.to_string()), report)
    } else {
        let (result, report) =
            futures_executor::block_on(process_batch(&batch, &realtime, NullSink::new()));
        (result.map_err(|e| e.to_string()), report)
    };
    let response = result.expect("writing to a Vec or nowhere cannot fail");
    let s = &report.summary;
    assert_eq!(
        s.entries + s.rejected + s.header_lines + s.blank_lines,
        s.lines
    );
    assert_eq!(report.records, batch.len() as u64);
    assert!(report.records_with_rejects <= report.records);
    assert_eq!(response.batch_item_failures.len(), report.retried.len());
    assert!(report.retried.len() <= 1);
    if knobs & 2 == 2 {
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        assert_eq!(
            lines.last(),
            Some(&&[][..]),
            "the output ends with a line break"
        );
        assert_eq!(lines.len() as u64 - 1, s.entries);
        for line in &lines[..lines.len() - 1] {
            serde_json::from_slice::<serde_json::Value>(line).expect("every entry is JSON");
        }
    }
});
