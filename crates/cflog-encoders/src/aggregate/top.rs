//! The most frequent values of a stream in bounded memory: the
//! space-saving summary (Metwally, Agrawal and El Abbadi, 2005).
//!
//! A summary of capacity `k` keeps at most `k` values, each with a count
//! and the most that count may overstate. While fewer than `k` distinct
//! values have been seen, every count is exact. Past that, a new value
//! takes the place of the value with the smallest count, inheriting that
//! count as its possible overstatement: every value that occurs more than
//! `n / k` times in `n` entries is kept, and no count is ever too low.
//!
//! Each kept value carries a payload of the caller's (the bytes and
//! statuses of an object, say), counted from when the value was last
//! taken in; a value that takes another's place starts with an empty one.
//!
//! ```
//! use cflog_encoders::aggregate::top::TopK;
//!
//! let mut top: TopK<()> = TopK::new(2);
//! for path in ["/a", "/b", "/a", "/c", "/a"] {
//!     top.add(path.as_bytes());
//! }
//! let list = top.top(2);
//! assert_eq!(list[0].key, b"/a");
//! assert_eq!((list[0].count, list[0].overstated_by), (3, 0));
//! assert!(!top.is_exact());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// A payload kept beside each value of a [`TopK`].
pub trait Payload: Default {
    /// Adds another payload of the same value.
    fn merge(&mut self, other: &Self);
}

impl Payload for () {
    fn merge(&mut self, _other: &()) {}
}

/// What a kept value has beside its [`Probe`]: read and written only
/// when the value takes a slot, or is longer than the probe's prefix.
#[derive(Clone, Debug, Default)]
struct Slot {
    /// The value when it is longer than [`PREFIX`] (shorter ones are
    /// whole in the probe); a value that takes this slot's place reuses
    /// its allocation when it fits (values are at most
    /// [`MAX_VALUE_BYTES`](super::MAX_VALUE_BYTES) long when the
    /// aggregate adds them).
    long: Vec<u8>,
    /// How much the count may overstate the value's occurrences.
    error: u64,
}

/// The bytes of a value kept in its [`Probe`]: most paths, agents'
/// names and referrers' hosts are shorter.
const PREFIX: usize = 48;

/// Up to this many values, a summary is looked up by comparing each value
/// in turn, without hashing.
const SCANNED: usize = 8;

/// What a lookup compares of one kept value, in one cache line: its hash,
/// its length and its first bytes, so that a value found is compared
/// without reaching for the rest of it (a second cache miss), unless it
/// is longer than [`PREFIX`].
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Probe {
    /// The hash of the key, by the summary's hasher.
    hash: u64,
    len: usize,
    prefix: [u8; PREFIX],
}

impl Probe {
    fn new(key: &[u8], hash: u64) -> Probe {
        let mut prefix = [0; PREFIX];
        let kept = key.len().min(PREFIX);
        prefix[..kept].copy_from_slice(&key[..kept]);
        Probe {
            hash,
            len: key.len(),
            prefix,
        }
    }

    /// Whether this probe's value is `key`, asking `rest` (whether the
    /// value's bytes past the prefix are `key`'s) only for a long key.
    #[inline]
    fn is(&self, key: &[u8], rest: impl FnOnce() -> bool) -> bool {
        if self.len != key.len() {
            return false;
        }
        match key.len() <= PREFIX {
            true => self.prefix[..key.len()] == *key,
            false => self.prefix == key[..PREFIX] && rest(),
        }
    }
}

/// A space-saving summary of at most `capacity` values (see the [module
/// docs](self)).
///
/// The slots are in a min-heap by count (`heap` holds each slot's count
/// and number, and `place` where each slot is in it), so the value to
/// replace is found at once and a count that grows moves down the heap
/// without a lookup, comparing counts side by side in the heap rather
/// than one slot away each (a new value in a full summary goes down most
/// of the heap's levels). The heap holds the only copy of each count.
///
/// The index holds slot numbers only, found by the slots' probes (hash,
/// length and first bytes, a cache line each, which hold a short value
/// whole): counting a value seen before reads its index entry, its probe
/// and its place in the heap, and nothing else. A value that takes
/// another's place costs no hashing of the old value, and no allocation.
/// Payloads are apart, and made only for the slots whose payload is asked
/// for ([`add_with_payload`](Self::add_with_payload)): a summary counted
/// with [`add`](Self::add) alone never reads or writes one.
#[derive(Clone, Debug)]
pub struct TopK<P> {
    capacity: usize,
    slots: Vec<Slot>,
    /// One per slot, in the same order.
    probes: Vec<Probe>,
    /// Each slot's hash again, side by side: the index entry of the value
    /// that gives its place is found by it, without reading that value's
    /// probe (a cache miss, where this small array mostly is not).
    hashes: Vec<u64>,
    /// The payloads of the first slots, as far as one was asked for; a
    /// slot past the end has an empty one.
    payloads: Vec<P>,
    /// The payload of a slot past the end of `payloads`, to lend.
    empty: P,
    /// (count, slot).
    heap: Vec<(u64, u32)>,
    place: Vec<u32>,
    index: HashTable<u32>,
    hasher: RandomState,
    /// The hash of [`HASHER_CHECK`] by `hasher`: tells summaries that
    /// share a hasher from the others.
    hasher_check: u64,
    /// The slot of the last value counted: runs of one value (a method, a
    /// protocol, an edge location) skip the lookup.
    last: u32,
    /// Entries counted, kept or not.
    total: u64,
    /// Whether a value was ever replaced (the counts are estimates then).
    replaced: bool,
}

/// One value of [`TopK::top`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked<'a, P> {
    /// The value, as added.
    pub key: &'a [u8],
    /// Its count: never below the true count.
    pub count: u64,
    /// How much `count` may overstate it (0: exact).
    pub overstated_by: u64,
    /// Its payload.
    pub payload: &'a P,
}

/// A kept value taken out of its summary, to merge.
struct Taken<P> {
    key: Vec<u8>,
    count: u64,
    error: u64,
    payload: P,
}

/// A value and its hash, by the hasher of the summary that made it
/// ([`TopK::hashed`]).
#[derive(Clone, Copy, Debug)]
pub struct Hashed<'a> {
    key: &'a [u8],
    hash: u64,
    hasher_check: u64,
}

/// What each summary hashes to tell its hasher from another's.
const HASHER_CHECK: &[u8] = b"cflog";

impl<P: Payload> TopK<P> {
    /// An empty summary that keeps at most `capacity` values (at least 1).
    pub fn new(capacity: usize) -> TopK<P> {
        let hasher = RandomState::default();
        TopK {
            capacity: capacity.clamp(1, u32::MAX as usize),
            slots: Vec::new(),
            probes: Vec::new(),
            hashes: Vec::new(),
            payloads: Vec::new(),
            empty: P::default(),
            heap: Vec::new(),
            place: Vec::new(),
            index: HashTable::new(),
            hasher_check: hasher.hash_one(HASHER_CHECK),
            hasher,
            last: 0,
            total: 0,
            replaced: false,
        }
    }

    /// Counts one occurrence of `key`.
    #[inline]
    pub fn add(&mut self, key: &[u8]) {
        self.add_n(key, 1);
    }

    /// Counts `n` occurrences of `key`.
    #[inline]
    pub fn add_n(&mut self, key: &[u8], n: u64) {
        self.count(key, n, None);
    }

    /// Counts one occurrence of `key`, and returns its payload to update.
    #[inline]
    pub fn add_with_payload(&mut self, key: &[u8]) -> &mut P {
        let slot = self.count(key, 1, None);
        self.payload_mut(slot)
    }

    /// An empty summary of at most `capacity` values, with the hasher of
    /// this one: a value [`hashed`](Self::hashed) by either is counted by
    /// both without hashing it again.
    pub fn sharing_hasher<Q: Payload>(&self, capacity: usize) -> TopK<Q> {
        TopK {
            hasher: self.hasher.clone(),
            hasher_check: self.hasher_check,
            ..TopK::new(capacity)
        }
    }

    /// `key` with its hash, to count in this summary and the ones that
    /// share its hasher.
    #[inline]
    pub fn hashed<'a>(&self, key: &'a [u8]) -> Hashed<'a> {
        Hashed {
            key,
            hash: self.hasher.hash_one(key),
            hasher_check: self.hasher_check,
        }
    }

    /// Counts one occurrence of a value hashed by this summary or one that
    /// shares its hasher (hashed again if not).
    #[inline]
    pub fn add_hashed(&mut self, value: Hashed<'_>) {
        let hash = (value.hasher_check == self.hasher_check).then_some(value.hash);
        self.count(value.key, 1, hash);
    }

    /// [`add_hashed`](Self::add_hashed), and returns the value's payload
    /// to update.
    #[inline]
    pub fn add_hashed_with_payload(&mut self, value: Hashed<'_>) -> &mut P {
        let hash = (value.hasher_check == self.hasher_check).then_some(value.hash);
        let slot = self.count(value.key, 1, hash);
        self.payload_mut(slot)
    }

    /// The payload of `slot`, made when missing.
    #[inline]
    fn payload_mut(&mut self, slot: u32) -> &mut P {
        let slot = slot as usize;
        if slot >= self.payloads.len() {
            self.payloads.resize_with(slot + 1, P::default);
        }
        &mut self.payloads[slot]
    }

    /// Counts `n` occurrences of `key`, and returns its slot.
    fn count(&mut self, key: &[u8], n: u64, hash: Option<u64>) -> u32 {
        self.total += n;
        let last = self.last as usize;
        let slot = match self.probes.get(last) {
            Some(probe) if probe.is(key, || tail_is(&self.slots[last].long, key)) => self.last,
            _ => self.find_or_take(key, hash),
        };
        self.last = slot;
        let place = self.place[slot as usize] as usize;
        self.heap[place].0 += n;
        // Most counts stay where they are: the call is made for the others.
        let count = self.heap[place].0;
        let left = 2 * place + 1;
        let below = |i: usize| self.heap.get(i).is_some_and(|&(c, _)| c < count);
        if below(left) || below(left + 1) {
            self.sift_down(place);
        }
        slot
    }

    /// The slot of `key`: its own, a new one, or the one of the value with
    /// the smallest count, which `key` takes.
    fn find_or_take(&mut self, key: &[u8], hash: Option<u64>) -> u32 {
        let (slots, probes) = (&self.slots, &self.probes);
        // A handful of values (methods, protocols, result types) are
        // found sooner side by side than by their hash.
        if probes.len() <= SCANNED {
            for (slot, probe) in probes.iter().enumerate() {
                if probe.is(key, || tail_is(&slots[slot].long, key)) {
                    return slot as u32;
                }
            }
        }
        let hash = hash.unwrap_or_else(|| self.hasher.hash_one(key));
        if let Some(&slot) = self.index.find(hash, |&slot| {
            let probe = &probes[slot as usize];
            probe.hash == hash && probe.is(key, || tail_is(&slots[slot as usize].long, key))
        }) {
            return slot;
        }
        if self.slots.len() < self.capacity {
            let slot = self.slots.len() as u32;
            self.slots.push(Slot {
                long: long_part(key).to_vec(),
                error: 0,
            });
            self.probes.push(Probe::new(key, hash));
            self.hashes.push(hash);
            self.place.push(self.heap.len() as u32);
            self.heap.push((0, slot));
            let probes = &self.probes;
            self.index
                .insert_unique(hash, slot, |&slot| probes[slot as usize].hash);
            self.sift_up(self.heap.len() - 1);
            return slot;
        }
        // The value with the smallest count gives its place.
        self.replaced = true;
        let (count, slot) = self.heap[0];
        let old_hash = std::mem::replace(&mut self.hashes[slot as usize], hash);
        if let Ok(entry) = self.index.find_entry(old_hash, |&s| s == slot) {
            entry.remove();
        }
        self.probes[slot as usize] = Probe::new(key, hash);
        let old = &mut self.slots[slot as usize];
        if !old.long.is_empty() || key.len() > PREFIX {
            old.long.clear();
            old.long.extend_from_slice(long_part(key));
        }
        old.error = count;
        if let Some(payload) = self.payloads.get_mut(slot as usize) {
            *payload = P::default();
        }
        let probes = &self.probes;
        self.index
            .insert_unique(hash, slot, |&slot| probes[slot as usize].hash);
        slot
    }

    /// The value of `slot`.
    fn key(&self, slot: usize) -> &[u8] {
        let probe = &self.probes[slot];
        match probe.len <= PREFIX {
            true => &probe.prefix[..probe.len],
            false => &self.slots[slot].long,
        }
    }

    /// The payload of `slot`.
    fn payload(&self, slot: usize) -> &P {
        self.payloads.get(slot).unwrap_or(&self.empty)
    }

    /// Entries counted, kept or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether every count is exact: no value was ever replaced.
    pub fn is_exact(&self) -> bool {
        !self.replaced
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The `n` values with the highest counts, highest first, ties in key
    /// order so the list is the same on every run.
    pub fn top(&self, n: usize) -> Vec<Ranked<'_, P>> {
        let mut all: Vec<Ranked<'_, P>> = self
            .heap
            .iter()
            .map(|&(count, slot)| Ranked {
                key: self.key(slot as usize),
                count,
                overstated_by: self.slots[slot as usize].error,
                payload: self.payload(slot as usize),
            })
            .collect();
        all.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(b.key)));
        all.truncate(n);
        all
    }

    /// Adds another summary's counts to this one (of the same capacity or
    /// not; this one's is kept).
    ///
    /// A value kept by both gets the sum of both counts; a value kept by
    /// one only may have been counted by the other below that one's
    /// smallest count, which is added to its possible overstatement
    /// (Agarwal et al., "Mergeable summaries", 2012). The `capacity`
    /// highest are kept.
    pub fn merge(&mut self, mut other: TopK<P>) {
        if self.total == 0 && self.capacity <= other.capacity {
            *self = TopK {
                capacity: self.capacity,
                ..other
            };
            self.shrink();
            return;
        }
        let mine_full = self.slots.len() >= self.capacity;
        let theirs_full = other.slots.len() >= other.capacity;
        let my_min = if mine_full { self.min_count() } else { 0 };
        let their_min = if theirs_full { other.min_count() } else { 0 };
        let (total, replaced) = (other.total, other.replaced);
        let theirs = other.take_all();
        let mut merged: HashMap<Vec<u8>, Taken<P>, RandomState> = HashMap::with_capacity_and_hasher(
            self.slots.len() + theirs.len(),
            RandomState::default(),
        );
        for mut taken in self.take_all() {
            taken.count += their_min;
            taken.error += their_min;
            merged.insert(taken.key.clone(), taken);
        }
        for taken in theirs {
            match merged.get_mut(&taken.key) {
                Some(mine) => {
                    // Counted by both: the other's minimum was a guess.
                    mine.count = mine.count - their_min + taken.count;
                    mine.error = mine.error - their_min + taken.error;
                    mine.payload.merge(&taken.payload);
                }
                None => {
                    let mut taken = taken;
                    taken.count += my_min;
                    taken.error += my_min;
                    merged.insert(taken.key.clone(), taken);
                }
            }
        }
        self.total += total;
        self.replaced |= replaced || my_min > 0 || their_min > 0;
        self.rebuild(merged.into_values().collect());
    }

    fn min_count(&self) -> u64 {
        self.heap.first().map_or(0, |&(count, _)| count)
    }

    /// Every kept value, in slot order, leaving this summary empty of
    /// them.
    fn take_all(&mut self) -> Vec<Taken<P>> {
        let mut payloads = std::mem::take(&mut self.payloads).into_iter();
        let taken = (0..self.slots.len())
            .map(|slot| Taken {
                key: self.key(slot).to_vec(),
                count: self.heap[self.place[slot] as usize].0,
                error: self.slots[slot].error,
                payload: payloads.next().unwrap_or_default(),
            })
            .collect();
        self.slots.clear();
        self.probes.clear();
        self.hashes.clear();
        taken
    }

    /// Keeps the `capacity` highest of `taken`, and indexes them again.
    fn rebuild(&mut self, mut taken: Vec<Taken<P>>) {
        if taken.len() > self.capacity {
            taken.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
            taken.truncate(self.capacity);
            self.replaced = true;
        }
        self.index.clear();
        self.heap.clear();
        self.place.clear();
        self.slots.clear();
        self.probes.clear();
        self.hashes.clear();
        self.payloads.clear();
        for (i, value) in taken.into_iter().enumerate() {
            let hash = self.hasher.hash_one(&*value.key);
            self.probes.push(Probe::new(&value.key, hash));
            self.hashes.push(hash);
            self.slots.push(Slot {
                long: long_part(&value.key).to_vec(),
                error: value.error,
            });
            self.payloads.push(value.payload);
            let probes = &self.probes;
            self.index
                .insert_unique(hash, i as u32, |&i| probes[i as usize].hash);
            self.heap.push((value.count, i as u32));
            self.place.push(i as u32);
        }
        self.last = 0;
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }

    /// After taking a larger summary whole: keeps this one's capacity.
    fn shrink(&mut self) {
        if self.slots.len() > self.capacity {
            let taken = self.take_all();
            self.rebuild(taken);
        }
    }

    /// Moves the value at `i` of the heap up to its place: the values
    /// above it that are larger come down one level each, and it is
    /// written once, where it stops (the heap a swap at each level makes).
    fn sift_up(&mut self, mut i: usize) {
        let moving = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[parent].0 <= moving.0 {
                break;
            }
            self.put(i, self.heap[parent]);
            i = parent;
        }
        self.put(i, moving);
    }

    /// Moves the value at `i` of the heap down to its place, as
    /// [`sift_up`](Self::sift_up) does up: the smaller child, the left on
    /// a tie, comes up while it is smaller than the value.
    fn sift_down(&mut self, mut i: usize) {
        let len = self.heap.len();
        let moving = self.heap[i];
        loop {
            let (left, right) = (2 * i + 1, 2 * i + 2);
            let mut smallest = moving.0;
            let mut child = i;
            if left < len && self.heap[left].0 < smallest {
                (smallest, child) = (self.heap[left].0, left);
            }
            if right < len && self.heap[right].0 < smallest {
                child = right;
            }
            if child == i {
                break;
            }
            self.put(i, self.heap[child]);
            i = child;
        }
        self.put(i, moving);
    }

    /// Writes `entry` at `i` of the heap, and its place.
    #[inline]
    fn put(&mut self, i: usize, entry: (u64, u32)) {
        self.heap[i] = entry;
        self.place[entry.1 as usize] = i as u32;
    }
}

/// Whether the bytes past a probe's prefix of `long`, a value longer
/// than it, are those of `key` (whose prefix and length are the same).
#[inline]
fn tail_is(long: &[u8], key: &[u8]) -> bool {
    long.get(PREFIX..) == key.get(PREFIX..)
}

/// What of `key` a [`Slot`] keeps: all of it when it is longer than a
/// probe's prefix, nothing otherwise.
fn long_part(key: &[u8]) -> &[u8] {
    match key.len() > PREFIX {
        true => key,
        false => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn exact(keys: &[u16]) -> HashMap<u16, u64> {
        let mut counts = HashMap::new();
        for key in keys {
            *counts.entry(*key).or_default() += 1;
        }
        counts
    }

    fn check(top: &TopK<()>, keys: &[u16]) -> Result<(), proptest::test_runner::TestCaseError> {
        let counts = exact(keys);
        let n = keys.len() as u64;
        let k = top.capacity as u64;
        proptest::prop_assert_eq!(top.total(), n);
        for ranked in top.top(usize::MAX) {
            let key = u16::from_be_bytes(ranked.key.try_into().unwrap());
            let truth = counts.get(&key).copied().unwrap_or(0);
            // Never too low, and never more too high than it says.
            proptest::prop_assert!(ranked.count >= truth);
            proptest::prop_assert!(ranked.count - ranked.overstated_by <= truth);
            if top.is_exact() {
                proptest::prop_assert_eq!(ranked.count, truth);
            }
        }
        // Every value above n/k is kept.
        for (key, truth) in &counts {
            if truth * k > n {
                let key = key.to_be_bytes();
                proptest::prop_assert!((0..top.len()).any(|slot| top.key(slot) == key));
            }
        }
        proptest::prop_assert!(top.len() <= top.capacity);
        Ok(())
    }

    proptest::proptest! {
        /// The space-saving guarantees hold for one summary and for two
        /// merged, against exact counts.
        #[test]
        fn counts_are_bounded_as_promised(
            keys in proptest::collection::vec(0u16..40, 0..400),
            capacity in 1usize..20,
            split in 0usize..400,
        ) {
            let mut whole: TopK<()> = TopK::new(capacity);
            for key in &keys {
                whole.add(&key.to_be_bytes());
            }
            check(&whole, &keys)?;
            let split = split.min(keys.len());
            let (mut first, mut second): (TopK<()>, TopK<()>) = (TopK::new(capacity), TopK::new(capacity));
            for key in &keys[..split] {
                first.add(&key.to_be_bytes());
            }
            for key in &keys[split..] {
                second.add(&key.to_be_bytes());
            }
            first.merge(second);
            check(&first, &keys)?;
        }
    }

    /// Values longer than a probe's prefix, alike in it, and values that
    /// are prefixes of others, are told apart.
    #[test]
    fn long_values_alike_in_their_first_bytes_are_apart() {
        let long = |end: &str| format!("/{}{end}", "x".repeat(PREFIX));
        let keys = [
            long("a"),
            long("b"),
            long("a"),
            long(""),
            "/x".to_owned(),
            long("b"),
            long("a"),
            long("").chars().take(PREFIX).collect(),
        ];
        let mut top: TopK<()> = TopK::new(10);
        for key in &keys {
            top.add(key.as_bytes());
        }
        let counts: Vec<(String, u64)> = top
            .top(10)
            .iter()
            .map(|r| (String::from_utf8(r.key.to_vec()).unwrap(), r.count))
            .collect();
        let mut expected = vec![
            (long("a"), 3),
            (long("b"), 2),
            ("/x".to_owned(), 1),
            (long(""), 1),
            (long("").chars().take(PREFIX).collect::<String>(), 1),
        ];
        expected[2..].sort();
        assert_eq!(counts, expected);
    }

    /// A value hashed by one summary is counted alike by one that shares
    /// its hasher and by one that does not (which hashes it again).
    #[test]
    fn hashed_values_are_found_by_every_summary() {
        let mut first: TopK<()> = TopK::new(4);
        let mut sharing: TopK<()> = first.sharing_hasher(4);
        let mut apart: TopK<()> = TopK::new(4);
        for key in ["/a", "/b", "/a", "/c", "/d", "/e", "/a"] {
            let hashed = first.hashed(key.as_bytes());
            first.add_hashed_with_payload(hashed);
            sharing.add_hashed(hashed);
            apart.add_hashed(hashed);
            apart.add(key.as_bytes());
        }
        let counts = |top: &TopK<()>| -> Vec<(Vec<u8>, u64, u64)> {
            top.top(4)
                .iter()
                .map(|r| (r.key.to_vec(), r.count, r.overstated_by))
                .collect()
        };
        assert_eq!(counts(&first)[0], (b"/a".to_vec(), 3, 0));
        assert_eq!(counts(&sharing), counts(&first));
        assert_eq!(counts(&apart)[0], (b"/a".to_vec(), 6, 0));
        assert_eq!(apart.len(), 4);
    }

    /// A value takes the place of one longer or shorter than a probe's
    /// prefix, and each is listed whole, with the counts space-saving
    /// gives.
    #[test]
    fn long_and_short_values_take_each_others_places() {
        let long = |end: &str| format!("/{}{end}", "y".repeat(PREFIX));
        let mut top: TopK<()> = TopK::new(2);
        for key in [
            long("a"),
            "/s".to_owned(),
            long("a"),
            long("b"),
            "/t".to_owned(),
        ] {
            top.add(key.as_bytes());
        }
        // `/s` (1) gave its place to the long `b` (2, 1 of it overstated),
        // which gave its place to `/t` (3, 2 of it overstated).
        let listed: Vec<(String, u64, u64)> = top
            .top(2)
            .iter()
            .map(|r| {
                let key = String::from_utf8(r.key.to_vec()).unwrap();
                (key, r.count, r.overstated_by)
            })
            .collect();
        assert_eq!(listed, [("/t".to_owned(), 3, 2), (long("a"), 2, 0)]);
        top.add(long("c").as_bytes());
        top.add(long("c").as_bytes());
        assert_eq!(top.top(1)[0].key, long("c").as_bytes());
        assert_eq!((top.top(1)[0].count, top.top(1)[0].overstated_by), (4, 2));
    }

    #[test]
    fn few_values_are_counted_exactly_with_their_payloads() {
        #[derive(Default, Debug, PartialEq)]
        struct Bytes(u64);
        impl Payload for Bytes {
            fn merge(&mut self, other: &Bytes) {
                self.0 += other.0;
            }
        }
        let mut top: TopK<Bytes> = TopK::new(10);
        for (key, bytes) in [("b", 1), ("a", 2), ("b", 4), ("c", 8)] {
            top.add_with_payload(key.as_bytes()).0 += bytes;
        }
        let mut other: TopK<Bytes> = TopK::new(10);
        other.add_with_payload(b"a").0 += 16;
        top.merge(other);
        let list = top.top(3);
        let got: Vec<(&[u8], u64, u64)> =
            list.iter().map(|r| (r.key, r.count, r.payload.0)).collect();
        assert_eq!(
            got,
            [(&b"a"[..], 2, 18), (&b"b"[..], 2, 5), (&b"c"[..], 1, 8)]
        );
        assert!(top.is_exact());
        assert_eq!(top.top(0), []);
    }
}
