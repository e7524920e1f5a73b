//! An event payload as the Lambda's handler reads it: any JSON goes to
//! `event::parse_event` (Records, `s3:TestEvent`, Kinesis or S3 records),
//! and every S3 record's key to `s3::decode_event_key`. Never a panic; and
//! a decoded key, form-URL-encoded as S3 sends keys, decodes to itself.
//!
//! Input that is not JSON is taken as an event key on its own.
#![no_main]

use cflog_lambda::event::{Event, parse_event};
use cflog_pipeline::s3::decode_event_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        if let Ok(key) = std::str::from_utf8(data) {
            check_key(key);
        }
        return;
    };
    match parse_event(payload) {
        Ok(Event::S3(event)) => {
            for record in &event.records {
                if let Some(key) = &record.s3.object.key {
                    check_key(key);
                }
            }
        }
        Ok(Event::Kinesis(event)) => {
            for record in &event.records {
                let _ = record.kinesis.data.len();
            }
        }
        Ok(Event::S3Test(_)) | Err(_) => {}
    }
});

/// Decodes a key; when it decodes, encodes it the way S3 does (form-URL
/// encoding: a space as `+`) and decodes that again.
fn check_key(raw: &str) {
    let Ok(key) = decode_event_key(raw) else {
        return;
    };
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let again = decode_event_key(&encoded).expect("an encoded UTF-8 key decodes");
    assert_eq!(again, key, "encoded as {encoded:?}");
}
