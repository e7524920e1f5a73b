//! Amazon Data Firehose: `PutRecordBatch`.

use aws_sdk_firehose::Client;
use aws_sdk_firehose::config::retry::RetryConfig;
use aws_sdk_firehose::primitives::Blob;

use super::{BatchService, CallError, Refusal};
use crate::pack::{Limits, Packing, Record};

/// A Firehose delivery stream, by name or ARN. Records are packed: each
/// holds as many whole NDJSON lines as fit, and Firehose writes them to its
/// destination back to back, so the objects it delivers are NDJSON.
#[derive(Clone, Debug)]
pub struct Firehose {
    client: Client,
    stream: String,
    name: String,
}

impl Firehose {
    /// Records to `stream`, a delivery stream's name or ARN
    /// (`arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME`).
    pub fn new(client: Client, stream: impl Into<String>) -> Firehose {
        let stream = stream.into();
        // PutRecordBatch takes the name only.
        let name = match stream.split_once(":deliverystream/") {
            Some((_, name)) if stream.starts_with("arn:") => name.to_owned(),
            _ => stream.clone(),
        };
        Firehose {
            client,
            stream,
            name,
        }
    }

    /// The delivery stream's name.
    pub fn stream_name(&self) -> &str {
        &self.name
    }
}

impl BatchService for Firehose {
    fn name(&self) -> &'static str {
        "firehose"
    }

    fn target(&self) -> &str {
        &self.stream
    }

    fn limits(&self) -> Limits {
        Limits::FIREHOSE
    }

    fn packing(&self) -> Packing {
        Packing::Packed
    }

    fn key_chars(&self) -> Option<usize> {
        None
    }

    async fn put(&self, records: &[Record]) -> Result<Vec<Option<Refusal>>, CallError> {
        let records = records
            .iter()
            .map(|record| {
                aws_sdk_firehose::types::Record::builder()
                    .data(Blob::new(record.data()))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(CallError::permanent)?;
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.name)
            .set_records(Some(records))
            .customize()
            .config_override(
                aws_sdk_firehose::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(output
            .request_responses()
            .iter()
            .map(|response| {
                response
                    .error_code()
                    .map(|code| Refusal::new(code, response.error_message().unwrap_or_default()))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_gives_the_stream_name() {
        let client = Client::from_conf(
            aws_sdk_firehose::Config::builder()
                .behavior_version_latest()
                .region(aws_sdk_firehose::config::Region::new("us-east-1"))
                .build(),
        );
        let arn = "arn:aws:firehose:us-east-1:123456789012:deliverystream/cflog-requests";
        let by_arn = Firehose::new(client.clone(), arn);
        assert_eq!(by_arn.stream_name(), "cflog-requests");
        assert_eq!(by_arn.target(), arn);
        assert_eq!(Firehose::new(client, "plain").stream_name(), "plain");
    }
}
