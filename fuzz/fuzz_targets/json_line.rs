//! Arbitrary bytes as a v2 JSON line: the parser must never panic, every
//! field must be a slice of what it returns, and the JSON writer must
//! either write the entry or name a field, as serde does.
#![no_main]

mod writer_oracle;

use cflog_core::JsonLineParser;
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parser = JsonLineParser::new();
    // Twice, so that the second parse may reuse the first one's schema.
    for _ in 0..2 {
        let Ok(line) = parser.parse(data) else {
            return;
        };
        for i in 0..line.len() {
            assert!(line.column(i).is_some());
        }
        let _ = (
            line.timestamp(),
            line.status(),
            line.client_ip(),
            line.query_params(),
        );
        writer_oracle::check(&line, &mut JsonWriter::new(Selection::all()));
    }
});
