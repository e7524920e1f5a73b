//! Counts kept exactly while they fit in a fixed amount of memory, and
//! estimated past it: the distinct client addresses, and the time taken to
//! the millisecond. Logs of a normal size get exact figures; a log with
//! more distinct values than the bound still gets figures, in bounded
//! memory, each saying it is an estimate.
//!
//! ```
//! use cflog_encoders::aggregate::exact::{DistinctAddresses, Milliseconds};
//!
//! let mut addresses = DistinctAddresses::default();
//! for last in [1, 2, 1] {
//!     addresses.insert([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, last]);
//! }
//! assert_eq!((addresses.count(), addresses.is_exact()), (2, true));
//!
//! let mut taken = Milliseconds::default();
//! for ms in [1, 10, 100, 10] {
//!     taken.add(ms);
//! }
//! assert_eq!(taken.percentile(50.0), Some(10));
//! assert_eq!(taken.percentile(100.0), Some(100));
//! ```

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use foldhash::quality::FixedState;

use super::series::Distinct;

/// The most distinct addresses counted exactly (4 MiB of addresses).
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

/// Distinct client addresses (as 16 bytes, IPv4 mapped into IPv6):
/// every one while there are at most [`EXACT_ADDRESSES`], then a
/// HyperLogLog estimate.
#[derive(Clone, Debug)]
pub struct DistinctAddresses {
    /// Every address, until there are too many.
    exact: Option<HashSet<u128, RandomState>>,
    /// The estimate, once there were too many.
    sketch: Distinct,
}

impl Default for DistinctAddresses {
    fn default() -> DistinctAddresses {
        DistinctAddresses {
            exact: Some(HashSet::default()),
            sketch: Distinct::default(),
        }
    }
}

impl DistinctAddresses {
    /// Counts `octets`.
    #[inline]
    pub fn insert(&mut self, octets: [u8; 16]) {
        match &mut self.exact {
            Some(set) => {
                if set.insert(u128::from_be_bytes(octets)) && set.len() > EXACT_ADDRESSES {
                    self.spill();
                }
            }
            None => self.sketch.insert_hash(sketch_hash(octets)),
        }
    }

    /// Moves the exact set into the sketch.
    fn spill(&mut self) {
        for address in self.exact.take().into_iter().flatten() {
            self.sketch.insert_hash(sketch_hash(address.to_be_bytes()));
        }
    }

    /// How many distinct addresses: exact, or an estimate (see
    /// [`is_exact`](Self::is_exact)).
    pub fn count(&self) -> u64 {
        match &self.exact {
            Some(set) => set.len() as u64,
            None => self.sketch.estimate() as u64,
        }
    }

    /// Whether [`count`](Self::count) is exact.
    pub fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// Adds the addresses of `other`.
    pub fn merge(&mut self, other: &DistinctAddresses) {
        if let (Some(mine), Some(theirs)) = (&mut self.exact, &other.exact) {
            mine.extend(theirs.iter().copied());
            if mine.len() > EXACT_ADDRESSES {
                self.spill();
            }
            return;
        }
        self.spill();
        match &other.exact {
            Some(theirs) => {
                for address in theirs {
                    self.sketch.insert_hash(sketch_hash(address.to_be_bytes()));
                }
            }
            None => self.sketch.merge(&other.sketch),
        }
    }
}

/// Times in whole milliseconds, and how often each occurs, for exact
/// percentiles in little memory: while there are at most
/// [`EXACT_MILLISECONDS`] distinct times. The count and the sum are
/// always exact.
#[derive(Clone, Debug)]
pub struct Milliseconds {
    /// Occurrences by time, until there are too many distinct times.
    exact: Option<HashMap<u64, u64, RandomState>>,
    count: u64,
    sum: u128,
}

impl Default for Milliseconds {
    fn default() -> Milliseconds {
        Milliseconds {
            exact: Some(HashMap::default()),
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
        if let Some(counts) = &mut self.exact {
            *counts.entry(ms).or_default() += 1;
            if counts.len() > EXACT_MILLISECONDS {
                self.exact = None;
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

    /// The time below which `percent` of the times are (nearest rank);
    /// `None` when nothing was counted, or when there were too many
    /// distinct times to keep them all.
    pub fn percentile(&self, percent: f64) -> Option<u64> {
        let counts = self.exact.as_ref()?;
        let mut values: Vec<(u64, u64)> = counts.iter().map(|(k, v)| (*k, *v)).collect();
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
        match (&mut self.exact, &other.exact) {
            (Some(mine), Some(theirs)) => {
                for (ms, n) in theirs {
                    *mine.entry(*ms).or_default() += n;
                }
                if mine.len() > EXACT_MILLISECONDS {
                    self.exact = None;
                }
            }
            _ => self.exact = None,
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
    fn addresses_are_exact_up_to_the_bound_then_estimated() {
        let mut exact = DistinctAddresses::default();
        let mut other = DistinctAddresses::default();
        for n in 0..EXACT_ADDRESSES as u32 {
            exact.insert(address(n));
            other.insert(address(n + 10));
        }
        assert_eq!(exact.count(), EXACT_ADDRESSES as u64);
        assert!(exact.is_exact());
        // Merged, one address more than the bound: estimated from then on.
        exact.merge(&other);
        assert!(!exact.is_exact());
        let truth = EXACT_ADDRESSES as f64 + 10.0;
        assert!((exact.count() as f64 / truth - 1.0).abs() < 0.05);
        for n in 0..100_000 {
            exact.insert(address(n + 1_000_000));
        }
        let truth = truth + 100_000.0;
        assert!((exact.count() as f64 / truth - 1.0).abs() < 0.05);
        // An exact set merged into an estimate joins it.
        let mut few = DistinctAddresses::default();
        few.insert(address(u32::MAX));
        let before = exact.clone();
        exact.merge(&few);
        assert!(exact.count() >= before.count());
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
        assert_eq!(merged.percentile(50.0), None);
        assert_eq!(merged.count(), 200 + EXACT_MILLISECONDS as u64 + 1);
        assert_eq!(Milliseconds::default().percentile(50.0), None);
    }
}
