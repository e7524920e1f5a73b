//! The stream destinations' services as they pack, without a network: each
//! takes every record at once and counts what it was sent, so that a
//! benchmark measures cflog's encoding and packing, and a report counts
//! the calls and the units each service bills.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cflog_destinations::pack::{Limits, Packing, Record};
use cflog_destinations::stream::{BatchService, CallError, Refusal};

/// One of the services, by its limits, packing and keys; see [`services`].
#[derive(Clone, Debug)]
pub struct Modeled {
    /// Its name in the figures: `firehose`, `kinesis`, `kinesis-packed`,
    /// `sqs` or `sqs-fifo`.
    pub name: &'static str,
    limits: Limits,
    packing: Packing,
    key_chars: Option<usize>,
    /// The size in bytes of the unit the service bills a record by.
    unit: u64,
    counts: Arc<Counts>,
}

/// What a [`Modeled`] service was sent.
#[derive(Debug, Default)]
pub struct Counts {
    /// Calls.
    pub calls: AtomicU64,
    /// Records.
    pub records: AtomicU64,
    /// Bytes of the records, keys included.
    pub bytes: AtomicU64,
    /// Billed units: each record rounded up to the service's unit.
    pub units: AtomicU64,
}

/// The services cflog sends to, as configured by default, and their
/// variants: Firehose (records packed; billed in 5 KB units), Kinesis (one
/// entry per record, keyed; PUT payload units of 25 KB), Kinesis packed,
/// SQS standard and FIFO (messages packed; billed per 64 KB chunk).
pub fn services() -> Vec<Modeled> {
    let modeled = |name, limits, packing, key_chars, unit| Modeled {
        name,
        limits,
        packing,
        key_chars,
        unit,
        counts: Arc::default(),
    };
    vec![
        modeled(
            "firehose",
            Limits::FIREHOSE,
            Packing::Packed,
            None,
            5 * 1024,
        ),
        modeled(
            "kinesis",
            Limits::KINESIS,
            Packing::PerEntry,
            Some(256),
            25 * 1024,
        ),
        modeled(
            "kinesis-packed",
            Limits::KINESIS,
            Packing::Packed,
            Some(256),
            25 * 1024,
        ),
        modeled("sqs", Limits::SQS, Packing::Packed, None, 64 * 1024),
        modeled(
            "sqs-fifo",
            Limits::SQS,
            Packing::Packed,
            Some(128),
            64 * 1024,
        ),
    ]
}

impl Modeled {
    /// What it was sent so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The limits it packs to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// How it maps entries to records.
    pub fn packing(&self) -> Packing {
        self.packing
    }

    /// The bytes of a billed unit.
    pub fn unit(&self) -> u64 {
        self.unit
    }
}

impl BatchService for Modeled {
    fn name(&self) -> &'static str {
        self.name
    }

    fn target(&self) -> &str {
        "modeled"
    }

    fn limits(&self) -> Limits {
        self.limits
    }

    fn packing(&self) -> Packing {
        self.packing
    }

    fn key_chars(&self) -> Option<usize> {
        self.key_chars
    }

    async fn put(&self, records: &[Record]) -> Result<Vec<Option<Refusal>>, CallError> {
        let counts = &self.counts;
        counts.calls.fetch_add(1, Ordering::Relaxed);
        counts
            .records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        for record in records {
            let size = record.size() as u64;
            counts.bytes.fetch_add(size, Ordering::Relaxed);
            counts
                .units
                .fetch_add(size.div_ceil(self.unit).max(1), Ordering::Relaxed);
        }
        Ok(vec![None; records.len()])
    }
}
