//! One line against today's layout: splitting, every typed accessor and
//! the JSON writer must never panic, and the writer must agree with serde.
#![no_main]

mod writer_oracle;

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Field, LogLine, Schema};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    let schema = Schema::standard();
    let mut spans = Vec::new();
    let Ok(line) = LogLine::parse(line, &schema, &mut spans) else {
        return;
    };
    let _ = (
        line.timestamp(),
        line.status(),
        line.sc_bytes(),
        line.client_ip(),
    );
    let _ = (
        line.time_taken(),
        line.time_to_first_byte(),
        line.range_start(),
        line.client_port(),
    );
    let _ = (
        line.edge_result_type(),
        line.protocol(),
        line.http_version(),
        line.fle_status(),
    );
    if let Some(xff) = line.forwarded_for() {
        xff.for_each(|entry| {
            let _ = (entry.ip(), entry.port());
        });
    }
    if let Some(params) = line.query_params() {
        let _ = params.iter().count();
    }
    for &field in Field::ALL {
        if let Some(value) = line.get(field) {
            let _ = value.decoded_str();
        }
    }
    writer_oracle::check(&line, &mut JsonWriter::new(Selection::all()));
});
