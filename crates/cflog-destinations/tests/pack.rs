//! Properties of `pack::Packer` over any entries, keys and limits: no record
//! and no call ever exceeds a limit, every entry that fits comes out once,
//! whole and in order, every one that cannot is refused, and packed records
//! close only when the next entry does not fit.

use cflog_destinations::pack::{Call, Limits, Packer, Packing, TooLarge};
use proptest::prelude::*;

/// Limits small enough that every boundary is crossed often.
fn limits() -> impl Strategy<Value = Limits> {
    (4usize..64, 1usize..8, 0usize..4).prop_map(|(record_bytes, call_records, extra)| Limits {
        record_bytes,
        call_records,
        // From exactly one record's worth up to several.
        call_bytes: record_bytes * (1 + extra),
    })
}

/// Entries as the NDJSON encoder gives them (ending in a line break), some
/// longer than any record, each with a partition key of 0 to 5 bytes.
fn entries() -> impl Strategy<Value = Vec<(Vec<u8>, String)>> {
    prop::collection::vec(
        (
            prop::collection::vec(b'a'..=b'z', 0..80).prop_map(|mut line| {
                line.push(b'\n');
                line
            }),
            "[a-z0-9]{0,5}",
        ),
        0..200,
    )
}

fn packing() -> impl Strategy<Value = Packing> {
    prop_oneof![Just(Packing::PerEntry), Just(Packing::Packed)]
}

struct Packed {
    calls: Vec<Call>,
    refused: Vec<usize>,
    buffered_max: usize,
}

fn pack(limits: Limits, packing: Packing, entries: &[(Vec<u8>, String)]) -> Packed {
    let mut packer = Packer::new(limits, packing);
    let mut calls = Vec::new();
    let mut refused = Vec::new();
    let mut buffered_max = 0;
    for (i, (entry, key)) in entries.iter().enumerate() {
        match packer.push(entry, key) {
            Ok(call) => calls.extend(call),
            Err(TooLarge { bytes, limit }) => {
                assert_eq!(bytes, entry.len() + key.len());
                assert_eq!(limit, limits.record_bytes);
                refused.push(i);
            }
        }
        buffered_max = buffered_max.max(packer.buffered_bytes());
    }
    calls.extend(packer.finish());
    Packed {
        calls,
        refused,
        buffered_max,
    }
}

proptest! {
    #[test]
    fn no_record_and_no_call_exceeds_a_limit(
        limits in limits(), packing in packing(), entries in entries(),
    ) {
        let packed = pack(limits, packing, &entries);
        for call in &packed.calls {
            prop_assert!(!call.records().is_empty(), "an empty call");
            prop_assert!(call.records().len() <= limits.call_records);
            prop_assert!(call.bytes() <= limits.call_bytes);
            prop_assert_eq!(call.bytes(), call.records().iter().map(|r| r.size()).sum::<usize>());
            for record in call.records() {
                prop_assert!(record.size() <= limits.record_bytes);
                prop_assert!(record.entries() >= 1);
            }
        }
        prop_assert!(packed.buffered_max <= limits.call_bytes + limits.record_bytes);
    }

    #[test]
    fn every_entry_comes_out_once_in_order_or_is_refused(
        limits in limits(), packing in packing(), entries in entries(),
    ) {
        let packed = pack(limits, packing, &entries);
        let expected_refused: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, (entry, key))| entry.len() + key.len() > limits.record_bytes)
            .map(|(i, _)| i)
            .collect();
        prop_assert_eq!(&packed.refused, &expected_refused);

        let accepted: Vec<&(Vec<u8>, String)> = entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !expected_refused.contains(i))
            .map(|(_, e)| e)
            .collect();
        // Split each record back into its entries, at their line breaks
        // (entries hold no other line break), and compare.
        let mut out = Vec::new();
        for record in packed.calls.iter().flat_map(Call::records) {
            let lines: Vec<&[u8]> = record.data().split_inclusive(|&b| b == b'\n').collect();
            prop_assert_eq!(lines.len() as u64, record.entries());
            for (j, line) in lines.into_iter().enumerate() {
                out.push((line, j == 0, record.key()));
            }
        }
        prop_assert_eq!(out.len(), accepted.len());
        for ((line, first, key), (entry, entry_key)) in out.iter().zip(&accepted) {
            prop_assert_eq!(*line, &entry[..]);
            if *first {
                // A record takes its first entry's key.
                prop_assert_eq!(*key, entry_key.as_str());
            }
        }
        if packing == Packing::PerEntry {
            prop_assert!(packed.calls.iter().flat_map(Call::records).all(|r| r.entries() == 1));
        }
    }

    /// Greedy packing: a record is closed only when the next entry would
    /// not fit in it, and a call only when the next record would not; so
    /// no destination is sent more records or calls than it must.
    #[test]
    fn records_and_calls_close_only_when_full(
        limits in limits(), packing in packing(), entries in entries(),
    ) {
        let packed = pack(limits, packing, &entries);
        let records: Vec<_> = packed.calls.iter().flat_map(Call::records).collect();
        if packing == Packing::Packed {
            for pair in records.windows(2) {
                let next_entry = pair[1].data().split_inclusive(|&b| b == b'\n').next().unwrap();
                prop_assert!(pair[0].size() + next_entry.len() > limits.record_bytes);
            }
        }
        for pair in packed.calls.windows(2) {
            let next = &pair[1].records()[0];
            prop_assert!(
                pair[0].records().len() == limits.call_records
                    || pair[0].bytes() + next.size() > limits.call_bytes
            );
        }
    }
}
