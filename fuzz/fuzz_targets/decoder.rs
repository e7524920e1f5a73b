//! Arbitrary input, cut into chunks at arbitrary places: the decoder must
//! never panic, positions must only move forward, the counts must
//! reconcile, and the JSON writer must agree with serde on every record,
//! whatever schema its headers made.
#![no_main]

mod writer_oracle;

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Decoded, DecoderBuilder, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(knobs & 0x1f) + 1;
    let mut builder = DecoderBuilder::new();
    // Short limits, to reach the over-long line path, or the default, for
    // whole log lines (about 450 bytes).
    if knobs >> 5 < 7 {
        builder.max_line_len(usize::from(knobs >> 5) * 40 + 1);
    }
    let mut decoder = builder.build();
    let mut record = Record::new();
    let mut last = (0, 0);
    let mut writer = JsonWriter::new(Selection::all());
    let mut check = |result: cflog_core::Result<Decoded>, record: &Record| -> bool {
        let pos = match &result {
            Ok(Decoded::Record) => {
                let line = record.line();
                let _ = (line.timestamp(), line.status(), line.client_ip());
                writer_oracle::check(&line, &mut writer);
                record.position()
            }
            Ok(_) => return false,
            Err(e) => e.position().expect("line errors have positions"),
        };
        assert!(pos.line() > last.0 && pos.byte() >= last.1);
        last = (pos.line(), pos.byte());
        true
    };
    for piece in input.chunks(chunk) {
        let mut piece = piece;
        loop {
            let (result, used) = decoder.decode(piece, &mut record);
            piece = &piece[used..];
            if !check(result, &record) {
                break;
            }
        }
    }
    while check(decoder.finish(&mut record), &record) {}
    let stats = decoder.stats();
    assert_eq!(stats.bytes, input.len() as u64);
    assert_eq!(
        stats.records + stats.rejected + stats.header_lines + stats.blank_lines,
        stats.lines
    );
});
