//! An event payload as the Lambda's handler reads it: any JSON goes to
//! `event::parse_event` (Records, `s3:TestEvent`, Kinesis, SQS or S3
//! records, S3 Batch Operations tasks), every SQS message's body to
//! `event::parse_notification`, and every S3 record's or task's key to
//! `s3::decode_event_key`. Never a panic; and a decoded key,
//! form-URL-encoded as S3 sends keys, decodes to itself.
//!
//! Input that is not JSON is taken as an event key on its own.
#![no_main]

use cflog_lambda::event::{Event, Notification, parse_event, parse_notification};
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
        Ok(Event::S3(event)) => check_records(&event),
        Ok(Event::Sqs(event)) => {
            for message in &event.records {
                if let Some(Ok(Notification::S3(event))) =
                    message.body.as_deref().map(parse_notification)
                {
                    check_records(&event);
                }
            }
        }
        Ok(Event::S3Batch(job)) => {
            let _ = job.schema();
            for task in &job.tasks {
                check_key(&task.key);
            }
        }
        Ok(Event::Kinesis(event)) => {
            for record in &event.records {
                let _ = record.kinesis.data.len();
            }
        }
        Ok(Event::S3Test(_) | Event::Rollup(_)) | Err(_) => {}
    }
});

fn check_records(event: &aws_lambda_events::event::s3::S3Event) {
    for record in &event.records {
        if let Some(key) = &record.s3.object.key {
            check_key(key);
        }
    }
}

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
