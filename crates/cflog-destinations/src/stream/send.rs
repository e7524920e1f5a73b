//! One call's records, sent until the service has taken them all or the
//! attempts run out.

use cflog_pipeline::sink::Delivery;

use super::BatchService;
use super::error::{CallError, Failure, Refusal};
use crate::pack::{Call, Record};
use crate::retry::{Backoff, RetryPolicy};

/// What calls delivered, added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub entries: u64,
    pub records: u64,
    pub bytes: u64,
    pub requests: u64,
    pub retried_records: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.entries += other.entries;
        self.records += other.records;
        self.bytes += other.bytes;
        self.requests += other.requests;
        self.retried_records += other.retried_records;
    }

    pub fn delivery(self) -> Delivery {
        Delivery {
            entries: self.entries,
            bytes: self.bytes,
            records: self.records,
            requests: self.requests,
            retried_records: self.retried_records,
            ..Delivery::default()
        }
    }

    fn taken(&mut self, record: &Record) {
        self.entries += record.entries();
        self.records += 1;
        self.bytes += record.data().len() as u64;
    }
}

/// Why the records left were not delivered, before the attempts are
/// counted in.
enum Setback {
    Refused(Refusal),
    Call(CallError),
}

/// What a call delivered, and its records, sent, for their buffers to be
/// reused.
pub(crate) struct Sent {
    pub counts: Counts,
    pub records: Vec<Record>,
}

/// Sends `call`, and again only the records the service refused, after a
/// wait drawn by `backoff`, until none is left or the attempts run out.
/// Fails at once when the service refuses a record, or fails a call, in a
/// way no attempt mends. Either way, the counts say what was delivered.
pub(crate) async fn deliver<S: BatchService>(
    service: S,
    call: Call,
    policy: RetryPolicy,
) -> Result<Sent, (Counts, Failure)> {
    let mut backoff = Backoff::new(policy);
    let mut counts = Counts::default();
    let mut pending = call.into_records();
    let mut sent = Vec::new();
    loop {
        counts.requests += 1;
        let setback = match service.put(&pending).await {
            Ok(outcomes) if outcomes.len() != pending.len() => {
                Setback::Call(CallError::permanent(format!(
                    "the answer has {} outcomes for {} records",
                    outcomes.len(),
                    pending.len()
                )))
            }
            Ok(outcomes) => {
                let mut last: Option<Refusal> = None;
                let mut refused = Vec::new();
                for (record, outcome) in pending.drain(..).zip(outcomes) {
                    match outcome {
                        None => {
                            counts.taken(&record);
                            sent.push(record);
                        }
                        Some(refusal) => {
                            // A refusal that no attempt mends decides; else the last one.
                            if last.as_ref().is_none_or(|r| r.retryable) {
                                last = Some(refusal);
                            }
                            refused.push(record);
                        }
                    }
                }
                pending = refused;
                match last {
                    None => {
                        return Ok(Sent {
                            counts,
                            records: sent,
                        });
                    }
                    Some(refusal) => Setback::Refused(refusal),
                }
            }
            Err(error) => Setback::Call(error),
        };
        let retryable = match &setback {
            Setback::Refused(refusal) => refusal.retryable,
            Setback::Call(error) => error.retryable,
        };
        let wait = if retryable {
            backoff.next_delay()
        } else {
            None
        };
        match wait {
            Some(wait) => {
                counts.retried_records += pending.len() as u64;
                tokio::time::sleep(wait).await;
            }
            None => {
                let records = pending.len();
                let entries = pending.iter().map(Record::entries).sum();
                let attempts = backoff.attempts();
                let failure = match setback {
                    Setback::Refused(last) => Failure::Refused {
                        records,
                        entries,
                        attempts,
                        last,
                    },
                    Setback::Call(error) => Failure::Call {
                        records,
                        entries,
                        attempts,
                        error,
                    },
                };
                return Err((counts, failure));
            }
        }
    }
}
