//! Counts kept exactly while they fit in a fixed amount of memory, and
//! estimated past it: the client addresses, and the time taken to the
//! millisecond. Logs of a normal size get exact figures; a log with
//! more distinct values than the bound still gets figures, in bounded
//! memory, each saying it is an estimate.
//!
//! ```
//! use cflog_encoders::aggregate::exact::{ClientAddresses, Milliseconds};
//!
//! let mut addresses = ClientAddresses::default();
//! for last in [1, 2, 1] {
//!     addresses.insert([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, last]);
//! }
//! assert_eq!((addresses.count(), addresses.is_exact()), (2, true));
//! let top = addresses.top(1);
//! assert_eq!((top[0].ip.to_string(), top[0].count), ("192.0.2.1".to_owned(), 2));
//!
//! let mut taken = Milliseconds::default();
//! for ms in [1, 10, 100, 10] {
//!     taken.add(ms);
//! }
//! assert_eq!(taken.percentile(50.0), Some(10));
//! assert_eq!(taken.percentile(100.0), Some(100));
//! ```

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

use foldhash::fast::RandomState;
use foldhash::quality::FixedState;

use super::series::{Distinct, Latency};
use super::top::TopK;

/// The most distinct addresses counted exactly (4 MiB of addresses and
/// counts if they are all IPv4, 12 MiB if they are all IPv6).
pub const EXACT_ADDRESSES: usize = 1 << 18;

/// The most distinct times (in milliseconds) kept exactly: more than 65
/// seconds of every millisecond.
pub const EXACT_MILLISECONDS: usize = 1 << 16;

/// The seed of the sketches' hash: fixed, so that the sketches of every
/// input (each counted apart) can be merged.
const SKETCH_SEED: u64 = 0x6366_6c6f_6720_7631;

/// The hash a sketch keeps of `value`.
#[inline]
pub(crate) fn sketch_hash(value: impl std::hash::Hash) -> u64 {
    FixedState::with_seed(SKETCH_SEED).hash_one(value)
}

/// Client addresses (as 16 bytes, IPv4 mapped into IPv6) and their
/// requests: every one, counted exactly, while there are at most
/// [`EXACT_ADDRESSES`]; past that, the most frequent in a space-saving
/// summary and the distinct count in a HyperLogLog sketch.
///
/// Exact counts first, because a busy site's day has tens of thousands of
/// addresses: more than a summary of a few thousand keeps, which would
/// then replace a value for most entries.
#[derive(Clone, Debug)]
pub struct ClientAddresses {
    /// Requests by address, until there are too many addresses.
    exact: Option<ExactAddresses>,
    /// The most frequent, once there were too many.
    top: TopK<()>,
    /// The distinct count, once there were too many.
    sketch: Distinct,
    /// Requests counted.
    total: u64,
}

/// Requests by address: IPv4 apart, in slots of a quarter of the size
/// (a 4-byte address and a 4-byte count), since most addresses are IPv4
/// and the table is looked up once per entry, at random: the smaller the
/// table, the more of it stays in the cache.
#[derive(Clone, Debug, Default)]
struct ExactAddresses {
    /// IPv4 requests, modulo 2^32.
    v4: Table<u32, u32>,
    /// IPv4 requests past 2^32, in units of 2^32 (almost always empty).
    v4_carried: HashMap<u32, u64, RandomState>,
    /// IPv6 requests, by the address's two halves (in 24 bytes, where a
    /// `u128` key would take 32 with its alignment).
    v6: Table<[u64; 2], u64>,
}

/// The first 12 bytes of an IPv4 address mapped into IPv6.
const MAPPED: u128 = 0xffff << 32;

impl ExactAddresses {
    #[inline]
    fn add(&mut self, address: u128, n: u64) {
        if address >> 32 != MAPPED >> 32 {
            self.add_v6(address, n);
            return;
        }
        self.add_v4(address as u32, n);
    }

    #[inline]
    fn add_v4(&mut self, v4: u32, n: u64) {
        let count = self.v4.entry(v4);
        let sum = u64::from(*count) + n;
        *count = sum as u32;
        if sum > u64::from(u32::MAX) {
            *self.v4_carried.entry(v4).or_default() += sum >> 32;
        }
    }

    #[inline]
    fn add_v6(&mut self, address: u128, n: u64) {
        *self.v6.entry([(address >> 64) as u64, address as u64]) += n;
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every address (IPv4 mapped into IPv6) with its requests.
    fn iter(&self) -> impl Iterator<Item = (u128, u64)> + '_ {
        let v4 = self.v4.iter().map(|(a, n)| {
            let carried = self.v4_carried.get(&a).map_or(0, |high| high << 32);
            (MAPPED | u128::from(a), carried | u64::from(n))
        });
        let v6 = self
            .v6
            .iter()
            .map(|([high, low], n)| ((u128::from(high) << 64) | u128::from(low), n));
        v4.chain(v6)
    }
}

/// A key of a [`Table`], with the one value that marks a free slot.
trait TableKey: Copy + Eq + std::hash::Hash {
    /// Marks a free slot; the count of this key itself is kept apart.
    const FREE: Self;
}

impl TableKey for u32 {
    const FREE: u32 = u32::MAX;
}

impl TableKey for u64 {
    const FREE: u64 = u64::MAX;
}

impl TableKey for [u64; 2] {
    const FREE: [u64; 2] = [u64::MAX; 2];
}

/// Counts by key in one array of (key, count) slots, found by linear
/// probing from the key's hash: a lookup reads one slot, and the ones
/// beside it in the same cache line, where a `HashMap` reads its control
/// bytes, and then its entry, two dependent loads. At most three quarters
/// full, as a `HashMap` is at most seven eighths, so runs of slots to
/// probe stay short (most end in the cache line they start in).
#[derive(Clone, Debug)]
struct Table<K, C> {
    /// A power of two of slots, or none.
    slots: Box<[(K, C)]>,
    /// Keys in `slots`.
    len: usize,
    /// The count of the key that marks free slots, which has no slot.
    of_free: Option<C>,
    hasher: RandomState,
}

impl<K: TableKey, C: Copy + Default> Default for Table<K, C> {
    fn default() -> Table<K, C> {
        Table {
            slots: Box::default(),
            len: 0,
            of_free: None,
            hasher: RandomState::default(),
        }
    }
}

impl<K: TableKey, C: Copy + Default> Table<K, C> {
    /// The count of `key`, 0 when it was missing.
    #[inline]
    fn entry(&mut self, key: K) -> &mut C {
        if key == K::FREE {
            return self.of_free.get_or_insert_with(C::default);
        }
        if 4 * (self.len + 1) > 3 * self.slots.len() {
            self.grow();
        }
        let at = self.find(key);
        let slot = &mut self.slots[at];
        if slot.0 == K::FREE {
            *slot = (key, C::default());
            self.len += 1;
        }
        &mut slot.1
    }

    /// The slot of `key`, or the free one where it goes.
    #[inline]
    fn find(&self, key: K) -> usize {
        let mask = self.slots.len() - 1;
        let mut at = self.hasher.hash_one(key) as usize & mask;
        loop {
            let held = self.slots[at].0;
            if held == key || held == K::FREE {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// Twice the slots (16 at first), every key moved to its new place.
    #[cold]
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![(K::FREE, C::default()); size].into());
        for (key, count) in old.iter().copied().filter(|(key, _)| *key != K::FREE) {
            let at = self.find(key);
            self.slots[at] = (key, count);
        }
    }

    /// Distinct keys.
    fn len(&self) -> usize {
        self.len + usize::from(self.of_free.is_some())
    }

    /// Every key with its count.
    fn iter(&self) -> impl Iterator<Item = (K, C)> + '_ {
        let free = self.of_free.map(|count| (K::FREE, count));
        self.slots
            .iter()
            .copied()
            .filter(|(key, _)| *key != K::FREE)
            .chain(free)
    }
}

impl Default for ClientAddresses {
    fn default() -> ClientAddresses {
        ClientAddresses {
            exact: Some(ExactAddresses::default()),
            top: TopK::new(super::capacity::LARGE),
            sketch: Distinct::default(),
            total: 0,
        }
    }
}

/// One address of [`ClientAddresses::top`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressCount {
    /// The address, IPv4 mapped back.
    pub ip: IpAddr,
    /// Its requests (never below the true count).
    pub count: u64,
    /// How much `count` may overstate them (0: exact).
    pub overstated_by: u64,
}

impl ClientAddresses {
    /// Counts one request of `octets`.
    #[inline]
    pub fn insert(&mut self, octets: [u8; 16]) {
        self.total += 1;
        match &mut self.exact {
            Some(counts) => {
                counts.add(u128::from_be_bytes(octets), 1);
                if counts.len() > EXACT_ADDRESSES {
                    self.spill();
                }
            }
            None => self.add_estimated(octets, 1),
        }
    }

    fn add_estimated(&mut self, octets: [u8; 16], n: u64) {
        self.top.add_n(&octets, n);
        self.sketch.insert_hash(sketch_hash(octets));
    }

    /// Moves the exact counts into the summary and the sketch.
    fn spill(&mut self) {
        if let Some(counts) = self.exact.take() {
            for (address, n) in counts.iter() {
                self.add_estimated(address.to_be_bytes(), n);
            }
        }
    }

    /// How many distinct addresses: exact, or an estimate (see
    /// [`is_exact`](Self::is_exact)).
    pub fn count(&self) -> u64 {
        match &self.exact {
            Some(counts) => counts.len() as u64,
            None => self.sketch.estimate() as u64,
        }
    }

    /// Whether [`count`](Self::count) and the counts of
    /// [`top`](Self::top) are exact.
    pub fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// Requests counted, of every address.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The `n` addresses with the most requests, most first, ties in
    /// the order of the addresses as IPv6, IPv4 mapped into it (`::1`,
    /// then `0.0.0.1`, then `2001:db8::1`).
    pub fn top(&self, n: usize) -> Vec<AddressCount> {
        let Some(counts) = &self.exact else {
            return self
                .top
                .top(n)
                .into_iter()
                .filter_map(|ranked| {
                    Some(AddressCount {
                        ip: super::client_ip(ranked.key)?,
                        count: ranked.count,
                        overstated_by: ranked.overstated_by,
                    })
                })
                .collect();
        };
        let mut all: Vec<(u128, u64)> = counts.iter().collect();
        let order = |a: &(u128, u64), b: &(u128, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if n == 0 {
            return Vec::new();
        }
        // Only the first `n` need sorting: a partition finds them first.
        if n < all.len() {
            all.select_nth_unstable_by(n - 1, order);
            all.truncate(n);
        }
        all.sort_unstable_by(order);
        all.into_iter()
            .filter_map(|(address, count)| {
                Some(AddressCount {
                    ip: super::client_ip(&address.to_be_bytes())?,
                    count,
                    overstated_by: 0,
                })
            })
            .collect()
    }

    /// Adds the addresses of `other`.
    pub fn merge(&mut self, other: ClientAddresses) {
        self.total += other.total;
        if let (Some(mine), Some(theirs)) = (&mut self.exact, &other.exact) {
            // The first input's are taken whole.
            if mine.is_empty() {
                *mine = theirs.clone();
            } else {
                for (address, n) in theirs.iter() {
                    mine.add(address, n);
                }
            }
            if mine.len() > EXACT_ADDRESSES {
                self.spill();
            }
            return;
        }
        self.spill();
        match other.exact {
            Some(theirs) => {
                for (address, n) in theirs.iter() {
                    self.add_estimated(address.to_be_bytes(), n);
                }
            }
            None => {
                self.top.merge(other.top);
                self.sketch.merge(&other.sketch);
            }
        }
    }
}

/// Times in whole milliseconds, and how often each occurs, for exact
/// percentiles in little memory: while there are at most
/// [`EXACT_MILLISECONDS`] distinct times. Past that, every time goes into
/// a DDSketch (the times counted so far with it), and the percentiles are
/// estimates within 1%. The count and the sum are always exact.
#[derive(Clone, Debug)]
pub struct Milliseconds {
    /// Occurrences by time, until there are too many distinct times.
    exact: Option<Table<u64, u64>>,
    /// Every time, once there were too many to keep them all.
    sketch: Option<Box<Latency>>,
    count: u64,
    sum: u128,
}

impl Default for Milliseconds {
    fn default() -> Milliseconds {
        Milliseconds {
            exact: Some(Table::default()),
            sketch: None,
            count: 0,
            sum: 0,
        }
    }
}

impl Milliseconds {
    /// Counts one time of `ms` milliseconds.
    #[inline]
    pub fn add(&mut self, ms: u64) {
        self.count += 1;
        self.sum += u128::from(ms);
        match &mut self.exact {
            Some(counts) => {
                *counts.entry(ms) += 1;
                if counts.len() > EXACT_MILLISECONDS {
                    self.spill();
                }
            }
            None => self.sketch_mut().add(ms as f64),
        }
    }

    /// The sketch, made when missing.
    fn sketch_mut(&mut self) -> &mut Latency {
        self.sketch.get_or_insert_with(Box::default)
    }

    /// Moves the exact counts into the sketch.
    fn spill(&mut self) {
        if let Some(counts) = self.exact.take() {
            let sketch = self.sketch_mut();
            for (ms, n) in counts.iter() {
                sketch.add_n(ms as f64, n);
            }
        }
    }

    /// How many times were counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of the times, in milliseconds.
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// The time below which `percent` of the times are (nearest rank),
    /// exact while [`is_exact`](Self::is_exact), within 1% past that;
    /// `None` when nothing was counted.
    pub fn percentile(&self, percent: f64) -> Option<u64> {
        let Some(counts) = self.exact.as_ref() else {
            let quantile = self.sketch.as_ref()?.quantile(percent / 100.0)?;
            return Some(quantile.round() as u64);
        };
        let mut values: Vec<(u64, u64)> = counts.iter().collect();
        values.sort_unstable();
        let total: u64 = values.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return None;
        }
        let rank = ((percent / 100.0 * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        values.into_iter().find_map(|(ms, n)| {
            seen += n;
            (seen >= rank).then_some(ms)
        })
    }

    /// Whether [`percentile`](Self::percentile) has every time.
    pub fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// Adds the times of `other`.
    pub fn merge(&mut self, other: &Milliseconds) {
        self.count += other.count;
        self.sum += other.sum;
        if let (Some(mine), Some(theirs)) = (&mut self.exact, &other.exact) {
            for (ms, n) in theirs.iter() {
                *mine.entry(ms) += n;
            }
            if mine.len() > EXACT_MILLISECONDS {
                self.spill();
            }
            return;
        }
        self.spill();
        let sketch = self.sketch_mut();
        if let Some(theirs) = &other.exact {
            for (ms, n) in theirs.iter() {
                sketch.add_n(ms as f64, n);
            }
        }
        if let Some(theirs) = &other.sketch {
            sketch.merge(theirs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(n: u32) -> [u8; 16] {
        std::net::Ipv4Addr::from(n).to_ipv6_mapped().octets()
    }

    #[test]
    fn ipv4_and_ipv6_addresses_are_counted_apart_and_listed_together() {
        let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut addresses = ClientAddresses::default();
        for octets in [v6.octets(), address(1), v6.octets(), address(2)] {
            addresses.insert(octets);
        }
        let listed: Vec<(String, u64)> = addresses
            .top(3)
            .iter()
            .map(|a| (a.ip.to_string(), a.count))
            .collect();
        let expected = [("2001:db8::1", 2), ("0.0.0.1", 1), ("0.0.0.2", 1)];
        let expected: Vec<(String, u64)> = expected
            .iter()
            .map(|(a, n)| ((*a).to_owned(), *n))
            .collect();
        assert_eq!(listed, expected);
        assert_eq!((addresses.count(), addresses.total()), (3, 4));
    }

    /// The addresses that mark a table's free slots are counted too, and
    /// every count survives the table's growth.
    #[test]
    fn the_addresses_that_mark_free_slots_are_counted_too() {
        let mut addresses = ClientAddresses::default();
        let all_ones_v6 = [0xff; 16];
        for _ in 0..3 {
            addresses.insert(address(u32::MAX));
            addresses.insert(all_ones_v6);
        }
        for n in 0..10_000 {
            addresses.insert(address(n));
            addresses.insert((u128::from(n) << 64).to_be_bytes());
        }
        assert_eq!((addresses.count(), addresses.total()), (20_002, 20_006));
        let top: Vec<(String, u64)> = addresses
            .top(3)
            .iter()
            .map(|a| (a.ip.to_string(), a.count))
            .collect();
        let all_ones = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".to_owned();
        let expected = [
            ("255.255.255.255".to_owned(), 3),
            (all_ones, 3),
            // Ties in the order of the addresses as IPv6: `::` first.
            ("::".to_owned(), 1),
        ];
        assert_eq!(top, expected);
    }

    /// An IPv4 address's count is kept in 32 bits, and carried past them.
    #[test]
    fn ipv4_counts_past_32_bits_are_carried() {
        let mut exact = ExactAddresses::default();
        let a = u128::from_be_bytes(address(1));
        exact.add(a, u64::from(u32::MAX));
        exact.add(a, 2);
        exact.add(a, 1 << 33);
        let counts: Vec<(u128, u64)> = exact.iter().collect();
        assert_eq!(counts, [(a, (1 << 32) + 1 + (1 << 33))]);
        let mut addresses = ClientAddresses::default();
        addresses.merge(ClientAddresses {
            exact: Some(exact),
            ..ClientAddresses::default()
        });
        assert_eq!(addresses.top(1)[0].count, (1 << 32) + 1 + (1 << 33));
    }

    #[test]
    fn addresses_are_exact_up_to_the_bound_then_estimated() {
        let mut exact = ClientAddresses::default();
        let mut other = ClientAddresses::default();
        for n in 0..EXACT_ADDRESSES as u32 {
            exact.insert(address(n));
            other.insert(address(n + 10));
        }
        // One address with more requests than the others: more than a 2,048th
        // of all, which the summary is sure to keep.
        for _ in 0..1000 {
            exact.insert(address(7));
        }
        assert_eq!(exact.count(), EXACT_ADDRESSES as u64);
        assert!(exact.is_exact());
        let top = exact.top(2);
        assert_eq!(
            (top[0].ip.to_string(), top[0].count),
            ("0.0.0.7".to_owned(), 1001)
        );
        // Ties in address order.
        assert_eq!(
            (top[1].ip.to_string(), top[1].count),
            ("0.0.0.0".to_owned(), 1)
        );
        // Merged, ten addresses more than the bound: estimated from then on.
        exact.merge(other);
        assert!(!exact.is_exact());
        let truth = EXACT_ADDRESSES as f64 + 10.0;
        assert!((exact.count() as f64 / truth - 1.0).abs() < 0.05);
        assert_eq!(exact.total(), 2 * EXACT_ADDRESSES as u64 + 1000);
        let top = exact.top(1)[0];
        assert_eq!(top.ip.to_string(), "0.0.0.7");
        assert!(top.count >= 1001 && top.count - top.overstated_by <= 1001);
        for n in 0..100_000 {
            exact.insert(address(n + 1_000_000));
        }
        let truth = truth + 100_000.0;
        assert!((exact.count() as f64 / truth - 1.0).abs() < 0.05);
        // An exact set merged into an estimate joins it.
        let mut few = ClientAddresses::default();
        few.insert(address(u32::MAX));
        let before = exact.count();
        exact.merge(few);
        assert!(exact.count() >= before);
    }

    #[test]
    fn percentiles_are_exact_until_too_many_distinct_times() {
        let mut times = Milliseconds::default();
        for ms in 1..=100 {
            times.add(ms);
        }
        assert_eq!(times.percentile(90.0), Some(90));
        assert_eq!(times.percentile(1.0), Some(1));
        let mut merged = Milliseconds::default();
        merged.merge(&times);
        merged.merge(&times);
        assert_eq!((merged.count(), merged.sum()), (200, 10_100));
        assert_eq!(merged.percentile(50.0), Some(50));
        for ms in 0..=EXACT_MILLISECONDS as u64 {
            merged.add(ms * 1000);
        }
        assert!(!merged.is_exact());
        assert_eq!(merged.count(), 200 + EXACT_MILLISECONDS as u64 + 1);
        assert_eq!(Milliseconds::default().percentile(50.0), None);
        // Past the bound, every time is in the sketch, within 1%: the
        // 200 small ones and 0 s, 1 s… 65.536 s, each once.
        let within = |got: Option<u64>, truth: f64| {
            let got = got.unwrap() as f64;
            assert!(
                (got - truth).abs() <= truth * 0.01 + 0.5,
                "{got} against {truth}"
            );
        };
        within(merged.percentile(50.0), 32_668_000.0);
        within(merged.percentile(100.0), EXACT_MILLISECONDS as f64 * 1000.0);
        // And merged into an exact set, or an exact set into it.
        let mut exact = Milliseconds::default();
        exact.add(7);
        let mut estimated = merged.clone();
        exact.merge(&merged);
        estimated.merge(&times);
        assert!(!exact.is_exact() && !estimated.is_exact());
        assert_eq!(exact.count(), merged.count() + 1);
        within(exact.percentile(99.0), 64_879_000.0);
        within(estimated.percentile(99.0), 64_877_000.0);
    }
}
