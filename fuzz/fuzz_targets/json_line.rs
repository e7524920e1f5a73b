//! Arbitrary bytes as a v2 JSON line: the parser must never panic, every
//! field must be a slice of what it returns, and the JSON writer must
//! either write the entry or name a field.
#![no_main]

use cflog_core::JsonLineParser;
use cflog_core::json::{JsonWriter, Selection};
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
        let _ = (line.timestamp(), line.status(), line.client_ip(), line.query_params());
        let mut out = Vec::new();
        if JsonWriter::new(Selection::all()).write(&line, &mut out).is_ok() {
            serde_json::from_slice::<serde_json::Value>(&out).expect("the writer writes JSON");
        }
    }
});
