//! Encoded entries packed into records, and records into calls, within a
//! stream destination's limits.
//!
//! Firehose, Kinesis Data Streams and SQS all take a batch of records per
//! call, and each caps three things: the bytes of one record, the records of
//! one call and the bytes of one call. They charge by the call or by the
//! record (Firehose in 5 KB units), so a sink that sends one small entry per
//! call pays hundreds of times what a packed one pays. [`Packer`] fills
//! records greedily with whole entries (an entry never straddles two
//! records, so each record can be read on its own), and calls greedily with
//! records, and never exceeds a limit. An entry that cannot fit in a record
//! even alone is refused with [`TooLarge`], for the sink to count as
//! rejected: never cut, never dropped unseen.
//!
//! ```
//! use cflog_destinations::pack::{Limits, Packer, Packing};
//!
//! // Records of at most 32 bytes, calls of at most 2 records and 64 bytes.
//! let limits = Limits { record_bytes: 32, call_records: 2, call_bytes: 64 };
//! let mut packer = Packer::new(limits, Packing::Packed);
//! let mut calls = Vec::new();
//! for entry in [&b"{\"a\":1}\n"[..], b"{\"b\":2}\n", b"{\"c\":333333333333333333}\n"] {
//!     calls.extend(packer.push(entry, "").unwrap());
//! }
//! // Too big for any record: refused, with its size.
//! assert_eq!(packer.push(&[b'x'; 40], "").unwrap_err().bytes, 40);
//! calls.extend(packer.finish());
//!
//! assert_eq!(calls.len(), 1);
//! let records = calls[0].records();
//! assert_eq!(records.len(), 2);
//! assert_eq!(records[0].data(), b"{\"a\":1}\n{\"b\":2}\n");
//! assert_eq!(records[0].entries(), 2);
//! assert_eq!(records[1].entries(), 1);
//! ```

use thiserror::Error;

/// What one call of a destination's API may carry. Sizes count what the
/// service counts: a record's data and its partition key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest record: data and key.
    pub record_bytes: usize,
    /// The most records in one call.
    pub call_records: usize,
    /// The most bytes in one call, all its records' data and keys.
    pub call_bytes: usize,
}

impl Limits {
    /// Firehose `PutRecordBatch`: records of up to 1,000 KiB, 500 records
    /// and 4 MiB a call.
    pub const FIREHOSE: Limits = Limits {
        record_bytes: 1000 * 1024,
        call_records: 500,
        call_bytes: 4 * 1024 * 1024,
    };

    /// Kinesis Data Streams `PutRecords`: records of up to 1 MiB with their
    /// partition key, 500 records and 5 MiB a call, keys included.
    pub const KINESIS: Limits = Limits {
        record_bytes: 1024 * 1024,
        call_records: 500,
        call_bytes: 5 * 1024 * 1024,
    };

    /// SQS `SendMessageBatch`: messages of up to 256 KiB, 10 messages a
    /// call, and 256 KiB for the call's messages together.
    ///
    /// SQS has taken messages of up to 1 MiB since 2025, but a queue refuses
    /// any larger than its own `MaximumMessageSize`, which may still be
    /// 256 KiB; and SQS bills every 64 KiB of a message as one request, so
    /// larger messages would save no money. 256 KiB fits every queue.
    pub const SQS: Limits = Limits {
        record_bytes: 256 * 1024,
        call_records: 10,
        call_bytes: 256 * 1024,
    };
}

/// How entries map to records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// One entry per record: what a Kinesis consumer expects by default, each
    /// record with its own partition key.
    PerEntry,
    /// As many whole entries per record as fit: fewer, fuller records, for
    /// Firehose and SQS, and for Kinesis when asked.
    Packed,
}

/// A record to send: whole entries, each ending in its line break, and the
/// partition key of the record's first entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    data: Vec<u8>,
    key: String,
    entries: u64,
}

impl Record {
    /// The entries, back to back.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The partition key (empty where the destination has none).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many entries the data holds.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// What the record counts against the limits: its data and its key.
    pub fn size(&self) -> usize {
        self.data.len() + self.key.len()
    }
}

/// The records of one call, within [`Limits`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Call {
    records: Vec<Record>,
    bytes: usize,
}

impl Call {
    /// The records, in the order their entries came.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records, to send or to keep the failed ones of for a retry.
    pub fn into_records(self) -> Vec<Record> {
        self.records
    }

    /// The records' sizes together.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The entries of every record.
    pub fn entries(&self) -> u64 {
        self.records.iter().map(Record::entries).sum()
    }

    fn fits(&self, record: &Record, limits: &Limits) -> bool {
        self.records.len() < limits.call_records && self.bytes + record.size() <= limits.call_bytes
    }

    fn add(&mut self, record: Record) {
        self.bytes += record.size();
        self.records.push(record);
    }
}

/// An entry too large for a record even alone.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error(
    "an entry of {bytes} bytes, with its partition key, is over the record limit of {limit} bytes"
)]
pub struct TooLarge {
    /// The entry's size with its key.
    pub bytes: usize,
    /// [`Limits::record_bytes`].
    pub limit: usize,
}

/// Packs entries into records and records into calls; see the [module
/// docs](self).
///
/// Memory is bounded by the limits: at most one call and one open record are
/// held, [`Limits::call_bytes`] plus [`Limits::record_bytes`], and the
/// records given back by [`recycle`](Packer::recycle), up to two calls'
/// worth or [`spare_bytes`](Packer::spare_bytes).
#[derive(Debug)]
pub struct Packer {
    limits: Limits,
    packing: Packing,
    open: Option<Record>,
    call: Call,
    /// Emptied records whose buffers the next records reuse: memory that is
    /// already the process's, instead of fresh pages to fault in for every
    /// record sent (a fifth of the time, measured, without them).
    spare: Vec<Record>,
    spare_bytes: usize,
    max_spare_bytes: usize,
    /// An emptied call's list of records, for the next call.
    spare_list: Vec<Record>,
}

impl Packer {
    /// A packer for `limits`.
    ///
    /// # Panics
    ///
    /// If a limit is zero, or a record may be larger than a call: limits
    /// under which some record could never be sent.
    pub fn new(limits: Limits, packing: Packing) -> Packer {
        assert!(
            limits.record_bytes > 0 && limits.call_records > 0,
            "limits must allow a record: {limits:?}"
        );
        assert!(
            limits.record_bytes <= limits.call_bytes,
            "a record of the most bytes must fit in a call: {limits:?}"
        );
        Packer {
            limits,
            packing,
            open: None,
            call: Call::default(),
            spare: Vec::new(),
            spare_bytes: 0,
            max_spare_bytes: 2 * limits.call_bytes,
            spare_list: Vec::new(),
        }
    }

    /// How many bytes of buffers [`recycle`](Packer::recycle) keeps, at
    /// least two calls' worth (the default): as many as a sender has in
    /// flight, so that every record reuses one.
    #[must_use]
    pub fn spare_bytes(mut self, bytes: usize) -> Packer {
        self.max_spare_bytes = bytes.max(2 * self.limits.call_bytes);
        self
    }

    /// Takes back the records of a call that was sent, to reuse their
    /// buffers, up to [`spare_bytes`](Packer::spare_bytes); the rest are
    /// dropped.
    ///
    /// ```
    /// use cflog_destinations::pack::{Limits, Packer, Packing};
    ///
    /// let limits = Limits { record_bytes: 8, call_records: 1, call_bytes: 8 };
    /// let mut packer = Packer::new(limits, Packing::PerEntry);
    /// assert!(packer.push(b"one\n", "").unwrap().is_none());
    /// assert!(packer.push(b"two\n", "").unwrap().is_none());
    /// let call = packer.push(b"six\n", "").unwrap().expect("the first call is full");
    /// assert_eq!(call.records()[0].data(), b"one\n");
    /// // Sent: its buffers hold the next records.
    /// packer.recycle(call.into_records());
    /// let call = packer.push(b"ten\n", "").unwrap().expect("the second call");
    /// assert_eq!(call.records()[0].data(), b"two\n");
    /// ```
    pub fn recycle(&mut self, mut records: Vec<Record>) {
        let room = self.max_spare_bytes;
        for mut record in records.drain(..) {
            let capacity = record.data.capacity() + record.key.capacity();
            if self.spare_bytes + capacity > room {
                break;
            }
            record.data.clear();
            record.key.clear();
            record.entries = 0;
            self.spare_bytes += capacity;
            self.spare.push(record);
        }
        if self.spare_list.capacity() < records.capacity() {
            self.spare_list = records;
        }
    }

    /// Gives up the spare records [`recycle`](Packer::recycle) kept, for
    /// another packer to reuse.
    pub fn take_spare(&mut self) -> Vec<Record> {
        self.spare_bytes = 0;
        std::mem::take(&mut self.spare)
    }

    /// A record holding `entry` and `key`, in a spare buffer when there is
    /// one.
    fn new_record(&mut self, entry: &[u8], key: &str) -> Record {
        let mut record = match self.spare.pop() {
            Some(record) => {
                self.spare_bytes -= record.data.capacity() + record.key.capacity();
                record
            }
            None => Record::default(),
        };
        record.data.extend_from_slice(entry);
        record.key.push_str(key);
        record.entries = 1;
        record
    }

    /// The limits packed to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Adds one encoded entry, its line break included, with the partition
    /// key a record it opens takes. Returns a full call, to send, when the
    /// entry's record did not fit in the call being filled.
    ///
    /// # Errors
    ///
    /// [`TooLarge`] when the entry and `key` exceed
    /// [`Limits::record_bytes`]; nothing is added.
    pub fn push(&mut self, entry: &[u8], key: &str) -> Result<Option<Call>, TooLarge> {
        let alone = entry.len() + key.len();
        if alone > self.limits.record_bytes {
            return Err(TooLarge {
                bytes: alone,
                limit: self.limits.record_bytes,
            });
        }
        if self.packing == Packing::Packed
            && let Some(open) = &mut self.open
            && open.size() + entry.len() <= self.limits.record_bytes
        {
            open.data.extend_from_slice(entry);
            open.entries += 1;
            return Ok(None);
        }
        let full = self.close_record();
        self.open = Some(self.new_record(entry, key));
        Ok(full)
    }

    /// Ends the input: the calls still held, in order. Usually one; two
    /// when the open record does not fit in the call being filled.
    pub fn finish(mut self) -> Vec<Call> {
        let mut calls: Vec<Call> = self.close_record().into_iter().collect();
        if !self.call.records.is_empty() {
            calls.push(self.call);
        }
        calls
    }

    /// The bytes held: the call being filled and the open record.
    pub fn buffered_bytes(&self) -> usize {
        self.call.bytes + self.open.as_ref().map_or(0, Record::size)
    }

    /// Moves the open record into the call, and returns the call first when
    /// the record does not fit in it.
    fn close_record(&mut self) -> Option<Call> {
        let record = self.open.take()?;
        if self.call.fits(&record, &self.limits) {
            self.call.add(record);
            return None;
        }
        let next = Call {
            records: std::mem::take(&mut self.spare_list),
            bytes: 0,
        };
        let full = std::mem::replace(&mut self.call, next);
        self.call.add(record);
        Some(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        record_bytes: 10,
        call_records: 3,
        call_bytes: 20,
    };

    fn drain(mut packer: Packer, entries: &[&[u8]], key: &str) -> Vec<Call> {
        let mut calls: Vec<Call> = entries
            .iter()
            .filter_map(|entry| packer.push(entry, key).unwrap())
            .collect();
        calls.extend(packer.finish());
        calls
    }

    #[test]
    fn per_entry_records_fill_calls_up_to_their_record_count() {
        let packer = Packer::new(SMALL, Packing::PerEntry);
        let calls = drain(packer, &[&b"a\n"[..]; 7], "");
        let shape: Vec<usize> = calls.iter().map(|c| c.records().len()).collect();
        assert_eq!(shape, [3, 3, 1]);
        assert!(
            calls
                .iter()
                .flat_map(Call::records)
                .all(|r| r.entries() == 1)
        );
    }

    #[test]
    fn a_call_closes_at_its_byte_limit() {
        let packer = Packer::new(SMALL, Packing::PerEntry);
        // 8-byte records: two fit in 20 bytes, a third would not.
        let calls = drain(packer, &[&b"1234567\n"[..]; 5], "");
        let bytes: Vec<usize> = calls.iter().map(Call::bytes).collect();
        assert_eq!(bytes, [16, 16, 8]);
    }

    #[test]
    fn keys_count_against_both_limits() {
        let mut packer = Packer::new(SMALL, Packing::PerEntry);
        assert_eq!(
            packer.push(b"123456\n", "abcd"),
            Err(TooLarge {
                bytes: 11,
                limit: 10
            })
        );
        let calls = drain(packer, &[&b"12345\n"[..]; 3], "abc");
        assert_eq!(calls[0].bytes(), 18);
        assert_eq!(calls[0].records()[0].key(), "abc");
        assert_eq!(calls.len(), 2);
    }

    #[test]
    fn packed_records_take_whole_entries_only() {
        let packer = Packer::new(SMALL, Packing::Packed);
        let calls = drain(packer, &[&b"abc\n"[..], b"defg\n", b"hi\n"], "");
        let records: Vec<&[u8]> = calls
            .iter()
            .flat_map(Call::records)
            .map(Record::data)
            .collect();
        assert_eq!(records, [&b"abc\ndefg\n"[..], b"hi\n"]);
    }

    #[test]
    fn nothing_in_nothing_out() {
        let packer = Packer::new(Limits::SQS, Packing::Packed);
        assert_eq!(packer.buffered_bytes(), 0);
        assert_eq!(packer.finish(), []);
    }

    #[test]
    fn a_refused_entry_leaves_the_packer_as_it_was() {
        let mut packer = Packer::new(SMALL, Packing::Packed);
        packer.push(b"abc\n", "").unwrap();
        let before = packer.buffered_bytes();
        assert!(packer.push(&[b'x'; 11], "").is_err());
        assert_eq!(packer.buffered_bytes(), before);
        let calls = drain(packer, &[], "");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].entries(), 1);
    }

    #[test]
    #[should_panic(expected = "must fit in a call")]
    fn a_record_larger_than_a_call_is_refused_up_front() {
        Packer::new(
            Limits {
                record_bytes: 10,
                call_records: 1,
                call_bytes: 9,
            },
            Packing::Packed,
        );
    }

    #[test]
    fn recycled_buffers_are_kept_within_their_bound_and_reused() {
        let limits = Limits {
            record_bytes: 10,
            call_records: 1,
            call_bytes: 10,
        };
        let mut packer = Packer::new(limits, Packing::PerEntry);
        let sent = |n| {
            (0..n)
                .map(|_| Record {
                    data: Vec::with_capacity(10),
                    key: String::new(),
                    entries: 1,
                })
                .collect::<Vec<_>>()
        };
        // Two calls' worth by default: two records of 10 bytes.
        packer.recycle(sent(5));
        assert_eq!(packer.take_spare().len(), 2);
        assert!(packer.take_spare().is_empty());
        let mut packer = packer.spare_bytes(40);
        packer.recycle(sent(5));
        // A record takes a spare buffer, emptied.
        assert!(packer.push(b"abc\n", "k").unwrap().is_none());
        let spare = packer.take_spare();
        assert_eq!(spare.len(), 3);
        assert!(spare.iter().all(|r| r.data.is_empty() && r.entries == 0));
        let call = packer.finish().pop().unwrap();
        assert_eq!(call.records()[0].data(), b"abc\n");
        assert_eq!(call.records()[0].key(), "k");
        assert!(call.records()[0].data.capacity() >= 10);
    }

    #[test]
    fn the_services_limits_are_consistent() {
        for limits in [Limits::FIREHOSE, Limits::KINESIS, Limits::SQS] {
            Packer::new(limits, Packing::Packed);
        }
    }
}
