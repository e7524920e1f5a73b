//! Kinesis Data Streams: `PutRecords`.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

use super::{BatchService, CallError, Refusal};
use crate::pack::{Limits, Packing, Record};

/// A Kinesis data stream, by name or ARN: one entry per record by default,
/// each keyed by its entry (see [`StreamOptions::key_field`]).
///
/// [`StreamOptions::key_field`]: super::StreamOptions::key_field
#[derive(Clone, Debug)]
pub struct Kinesis {
    client: Client,
    stream: String,
    packing: Packing,
}

/// The longest partition key Kinesis takes, in Unicode characters.
const KEY_CHARS: usize = 256;

impl Kinesis {
    /// Records to `stream`, a stream's name or ARN, one entry each.
    pub fn new(client: Client, stream: impl Into<String>) -> Kinesis {
        Kinesis {
            client,
            stream: stream.into(),
            packing: Packing::PerEntry,
        }
    }

    /// How entries map to records: [`Packing::Packed`] puts as many whole
    /// entries in a record as fit (fewer PUT payload units, keyed by the
    /// record's first entry).
    #[must_use]
    pub fn packing(mut self, packing: Packing) -> Kinesis {
        self.packing = packing;
        self
    }
}

impl BatchService for Kinesis {
    fn name(&self) -> &'static str {
        "kinesis"
    }

    fn target(&self) -> &str {
        &self.stream
    }

    fn limits(&self) -> Limits {
        Limits::KINESIS
    }

    fn packing(&self) -> Packing {
        self.packing
    }

    fn key_chars(&self) -> Option<usize> {
        Some(KEY_CHARS)
    }

    async fn put(&self, records: &[Record]) -> Result<Vec<Option<Refusal>>, CallError> {
        let entries = records
            .iter()
            .map(|record| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(record.data()))
                    .partition_key(record.key())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(CallError::permanent)?;
        let request = self.client.put_records().set_records(Some(entries));
        let request = match self.stream.starts_with("arn:") {
            true => request.stream_arn(&self.stream),
            false => request.stream_name(&self.stream),
        };
        let output = request
            .customize()
            .config_override(
                aws_sdk_kinesis::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(output
            .records()
            .iter()
            .map(|result| {
                result
                    .error_code()
                    .map(|code| Refusal::new(code, result.error_message().unwrap_or_default()))
            })
            .collect())
    }
}
