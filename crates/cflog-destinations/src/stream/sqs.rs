//! Amazon SQS: `SendMessageBatch`.

use std::fmt::Write;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use sha2::{Digest, Sha256};

use super::{BatchService, CallError, Refusal};
use crate::pack::{Limits, Packing, Record};

/// An SQS queue, by URL. Each message holds as many whole NDJSON lines as
/// fit.
///
/// A FIFO queue (its URL ends in `.fifo`) gets, with each message, a
/// message group (the key of its first entry, see
/// [`StreamOptions::key_field`], so that groups spread and none holds the
/// others up) and a deduplication id: the SHA-256 of its body. The same
/// input packs into the same messages, so a retried object is
/// deduplicated by SQS within its five-minute window.
///
/// [`StreamOptions::key_field`]: super::StreamOptions::key_field
#[derive(Clone, Debug)]
pub struct Sqs {
    client: Client,
    queue_url: String,
    fifo: bool,
}

/// The longest message group id SQS takes.
const GROUP_CHARS: usize = 128;

impl Sqs {
    /// Messages to the queue at `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Sqs {
        let queue_url = queue_url.into();
        Sqs {
            client,
            fifo: queue_url.ends_with(".fifo"),
            queue_url,
        }
    }

    /// Whether the queue is a FIFO queue.
    pub fn is_fifo(&self) -> bool {
        self.fifo
    }
}

/// The deduplication id of a FIFO message: the hex SHA-256 of its body.
///
/// ```
/// # use cflog_destinations::stream::deduplication_id;
/// assert_eq!(deduplication_id(b"").len(), 64);
/// assert_eq!(deduplication_id(b"{\"a\":1}\n"), deduplication_id(b"{\"a\":1}\n"));
/// ```
pub fn deduplication_id(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

impl BatchService for Sqs {
    fn name(&self) -> &'static str {
        "sqs"
    }

    fn target(&self) -> &str {
        &self.queue_url
    }

    fn limits(&self) -> Limits {
        Limits::SQS
    }

    fn packing(&self) -> Packing {
        Packing::Packed
    }

    fn key_chars(&self) -> Option<usize> {
        self.fifo.then_some(GROUP_CHARS)
    }

    async fn put(&self, records: &[Record]) -> Result<Vec<Option<Refusal>>, CallError> {
        let entries = records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                // Entries are JSON, so UTF-8; lossy only to be total.
                let body = String::from_utf8_lossy(record.data()).into_owned();
                let entry = SendMessageBatchRequestEntry::builder().id(i.to_string());
                let entry = match self.fifo {
                    true => entry
                        .message_group_id(match record.key() {
                            "" => "cflog",
                            key => key,
                        })
                        .message_deduplication_id(deduplication_id(body.as_bytes())),
                    false => entry,
                };
                entry.message_body(body).build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(CallError::permanent)?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .customize()
            .config_override(
                aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        // SQS answers by entry id, not in order.
        let mut outcomes = vec![None; records.len()];
        let mut answered = vec![false; records.len()];
        for ok in output.successful() {
            if let Some(i) = ok.id().parse::<usize>().ok().filter(|&i| i < records.len()) {
                answered[i] = true;
            }
        }
        for failed in output.failed() {
            if let Some(i) = failed
                .id()
                .parse::<usize>()
                .ok()
                .filter(|&i| i < records.len())
            {
                answered[i] = true;
                let mut refusal = Refusal::new(failed.code(), failed.message().unwrap_or_default());
                // The sender's fault (a malformed message) is not mended by sending it again.
                refusal.retryable &= !failed.sender_fault();
                outcomes[i] = Some(refusal);
            }
        }
        if let Some(missing) = answered.iter().position(|&a| !a) {
            return Err(CallError::permanent(format!(
                "SendMessageBatch did not answer for entry {missing}"
            )));
        }
        Ok(outcomes)
    }
}
