//! `#Fields` headers and real-time field lists: a schema or an error,
//! never a panic.
#![no_main]

use cflog_core::Schema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &[u8]| {
    if let Ok(schema) = Schema::from_fields_header(header) {
        assert!(!schema.is_empty());
        for column in schema.columns() {
            assert!(!column.json_key().contains(' '));
        }
    }
    if let Ok(text) = std::str::from_utf8(header) {
        let _ = Schema::realtime(text.split(','));
    }
});
