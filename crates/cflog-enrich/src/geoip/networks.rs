//! Database answers kept by the network they are for, so that most lines
//! need no lookup.

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use maxminddb::MaxMindDbError;
use thread_local::ThreadLocal;

use super::{Geo, GeoIp};
use crate::CacheStats;

/// The default bound: 1 MiB a thread, a table of 16,384 sets of four
/// answers, room for the networks of 65,536 clients. A table four times
/// larger held more and was no faster: its reads went further out in
/// memory (BENCHMARKS.md, "Who visits: per-thread caches").
pub const DEFAULT_NETWORKS_CAPACITY_BYTES: u64 = 1 << 20;

/// A network of the database, as its search tree gives it: every address
/// in it has the same answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Network {
    /// The network's address, its host bits zero; an IPv4 one in the low
    /// 32 bits.
    bits: u128,
    /// The prefix length.
    len: u8,
    v4: bool,
}

impl Network {
    /// The network of `len` bits of `address`; `None` for a length longer
    /// than the address.
    pub(crate) fn new(address: IpAddr, len: u8) -> Option<Network> {
        let (bits, v4) = bits(address);
        (len <= width(v4)).then(|| Network {
            bits: bits & mask(len, v4),
            len,
            v4,
        })
    }

    /// Whether `address` is in the network (of the same IP version).
    pub(crate) fn contains(&self, address: IpAddr) -> bool {
        let (bits, v4) = bits(address);
        v4 == self.v4 && bits & mask(self.len, v4) == self.bits
    }
}

fn bits(address: IpAddr) -> (u128, bool) {
    match address {
        IpAddr::V4(v4) => (v4.to_bits().into(), true),
        IpAddr::V6(v6) => (v6.to_bits(), false),
    }
}

fn width(v4: bool) -> u8 {
    if v4 { 32 } else { 128 }
}

/// The first `len` bits of an address of `width(v4)` bits.
fn mask(len: u8, v4: bool) -> u128 {
    match len {
        0 => 0,
        len => (u128::MAX << (128 - u32::from(len))) >> (128 - u32::from(width(v4))),
    }
}

/// The set of an address's answer: a hash of its /24 (IPv4) or /48
/// (IPv6), the prefixes a client's addresses share, to `bits` bits.
fn set_of(address: IpAddr, bits: u32) -> usize {
    let prefix = match address {
        // The top bit tells an IPv4 prefix from an IPv6 one.
        IpAddr::V4(v4) => u64::from(v4.to_bits() >> 8) | 1 << 63,
        IpAddr::V6(v6) => (v6.to_bits() >> 80) as u64,
    };
    // Fibonacci hashing: the top bits of the product.
    let hash = prefix.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // Of no bits (a table of one set), set 0.
    hash.checked_shr(64 - bits).unwrap_or(0) as usize
}

/// An answer and the network it holds for, in 16 bytes: four fill a line
/// of memory.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// The network's first 64 bits, its host bits zero: an IPv4 network's
    /// 32 in the low half.
    prefix: u64,
    asn: u32,
    country: [u8; 2],
    /// The prefix length, at most 64 (an IPv6 network longer than that is
    /// not kept).
    len: u8,
    /// [`FILLED`], [`V4`], [`HAS_ASN`], [`HAS_COUNTRY`].
    flags: u8,
}

const FILLED: u8 = 1;
const V4: u8 = 2;
const HAS_ASN: u8 = 4;
const HAS_COUNTRY: u8 = 8;

impl Entry {
    /// The entry of `geo` for `network`; `None` for an IPv6 network of more
    /// than 64 bits.
    fn new(network: Network, geo: Geo) -> Option<Entry> {
        let prefix = if network.v4 {
            network.bits as u64
        } else {
            (network.bits >> 64) as u64
        };
        let mut flags = FILLED;
        for (yes, flag) in [
            (network.v4, V4),
            (geo.asn.is_some(), HAS_ASN),
            (geo.country.is_some(), HAS_COUNTRY),
        ] {
            if yes {
                flags |= flag;
            }
        }
        (network.v4 || network.len <= 64).then_some(Entry {
            prefix,
            asn: geo.asn.unwrap_or(0),
            country: geo.country.unwrap_or_default(),
            len: network.len,
            flags,
        })
    }

    /// Whether the entry is filled and `address` is in its network.
    #[inline]
    fn holds(&self, address: IpAddr) -> bool {
        let (bits, v4) = bits(address);
        let (top, width) = if v4 {
            (bits as u64, 32)
        } else {
            ((bits >> 64) as u64, 64)
        };
        // `mask` in 64 bits: built from `mask`'s 128, a lookup took 40 ns
        // more (`geo_only`, +236 against +196 ns a line).
        let mask = match self.len {
            0 => 0,
            len => (u64::MAX << (64 - u32::from(len))) >> (64 - width),
        };
        self.flags & FILLED != 0 && ((self.flags & V4 != 0) == v4) && top & mask == self.prefix
    }

    fn geo(&self) -> Geo {
        Geo {
            country: (self.flags & HAS_COUNTRY != 0).then_some(self.country),
            asn: (self.flags & HAS_ASN != 0).then_some(self.asn),
        }
    }
}

/// The answers of the prefixes that hash alike, the one used last first:
/// four, so that a few busy prefixes of one hash (or the networks of a
/// split /24) do not take turns. One line of memory.
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(64))]
struct Set([Entry; 4]);

/// One thread's table: a set per hash of a /24 or /48, and its counts.
#[derive(Debug)]
struct Table {
    sets: Box<[Set]>,
    hits: u64,
    misses: u64,
}

/// A [`GeoIp`] database behind a cache of its answers, bounded in bytes.
///
/// The cache is a table of sets of four answers, each with the network
/// the database gave it for; an address's set is chosen by its /24 (IPv4)
/// or /48 (IPv6), and the answer used least recently makes room for a new
/// one. An answer serves an address only when the address is in its
/// network, so every answer is the database's: a network wider than the
/// prefix (most are) answers for the whole prefix, and a narrower one (a
/// /24 split between two countries) for its own addresses, another address
/// of the prefix being looked up in the database and taking a place in
/// the set.
///
/// A hit reads one set, one line of memory: no hash table, no pointer to
/// follow (the cost of a hit is a read of memory, BENCHMARKS.md, "Who
/// visits, split"). An IPv6 network of more than 64 bits is not kept (an
/// entry holds a network's first 64 bits); its addresses are looked up in
/// the database each time.
///
/// It takes `&self`, for every writer on every thread, and each thread has
/// a table of its own, made on its first lookup: a lookup takes a lock no
/// other thread takes, already in this core's cache, and then reads its
/// set with plain loads. A lock per slot, shared by the threads, was an
/// atomic operation on a line of memory not in any cache, most of a hit.
/// So the bound is per thread that looks up.
///
/// ```no_run
/// use cflog_enrich::geoip::{GeoCache, GeoIp, DEFAULT_NETWORKS_CAPACITY_BYTES};
///
/// let geo = GeoCache::new(GeoIp::open("dbip-country.mmdb")?, DEFAULT_NETWORKS_CAPACITY_BYTES);
/// let first = geo.lookup("192.0.2.1".parse()?)?;
/// // The same network: no lookup in the database.
/// assert_eq!(geo.lookup("192.0.2.2".parse()?)?, first);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GeoCache {
    db: GeoIp,
    tables: ThreadLocal<Mutex<Table>>,
    /// Each table has `1 << bits` sets.
    bits: u32,
}

impl GeoCache {
    /// `db` behind a cache of at most `capacity_bytes` a thread: the
    /// largest power of two of sets that fits, and at least one.
    pub fn new(db: GeoIp, capacity_bytes: u64) -> GeoCache {
        let sets = (capacity_bytes / std::mem::size_of::<Set>() as u64).max(1);
        GeoCache {
            db,
            tables: ThreadLocal::new(),
            bits: sets.ilog2().min(32),
        }
    }

    /// The database.
    pub fn db(&self) -> &GeoIp {
        &self.db
    }

    /// What [`GeoIp::lookup`] says of `address`.
    ///
    /// # Errors
    ///
    /// As [`GeoIp::lookup`]'s: a record that cannot be read (it is not
    /// kept).
    pub fn lookup(&self, address: IpAddr) -> Result<Geo, MaxMindDbError> {
        let Some(address) = self.db.searched(address) else {
            return Ok(Geo::default());
        };
        let mut table = self
            .tables
            .get_or(|| {
                Mutex::new(Table {
                    sets: vec![Set::default(); 1 << self.bits].into_boxed_slice(),
                    hits: 0,
                    misses: 0,
                })
            })
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let table = &mut *table;
        let Set(set) = &mut table.sets[set_of(address, self.bits)];
        if let Some(at) = set.iter().position(|entry| entry.holds(address)) {
            // The entry used last goes first; the one used least is last.
            set[..=at].rotate_right(1);
            table.hits += 1;
            return Ok(set[0].geo());
        }
        table.misses += 1;
        let (geo, network) = self.db.lookup_searched(address)?;
        if let Some(entry) = network.and_then(|network| Entry::new(network, geo)) {
            set.rotate_right(1);
            set[0] = entry;
        }
        Ok(geo)
    }

    /// The counts so far, and the cache's size now, over every thread's
    /// table.
    pub fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        for table in self.tables.iter() {
            let table = table.lock().unwrap_or_else(PoisonError::into_inner);
            stats.hits += table.hits;
            stats.misses += table.misses;
            stats.entries += (table.sets.iter())
                .flat_map(|Set(set)| set)
                .filter(|entry| entry.flags & FILLED != 0)
                .count();
            stats.bytes += self.capacity_bytes();
        }
        stats
    }

    /// The bytes of one thread's table, which is made whole on the
    /// thread's first lookup: at most the bound given to
    /// [`new`](GeoCache::new).
    pub fn capacity_bytes(&self) -> u64 {
        (1_u64 << self.bits) * std::mem::size_of::<Set>() as u64
    }
}

impl std::fmt::Debug for GeoCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoCache")
            .field("db", &self.db)
            .field("sets_per_thread", &(1_u64 << self.bits))
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Network {
        let (address, len) = text.split_once('/').unwrap();
        Network::new(address.parse().unwrap(), len.parse().unwrap()).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_entry_holds_what_its_network_holds_and_gives_back_its_answer() {
        let geo = Geo {
            country: Some(*b"FR"),
            asn: None,
        };
        for (network, inside, outside) in [
            ("192.0.2.128/25", "192.0.2.200", "192.0.2.127"),
            ("0.0.0.0/0", "255.255.255.255", "::1"),
            ("192.0.2.7/32", "192.0.2.7", "192.0.2.6"),
            ("2001:db8:1::/48", "2001:db8:1:ffff::1", "2001:db8:2::1"),
            (
                "2001:db8:0:1::/64",
                "2001:db8:0:1:ffff::1",
                "2001:db8:0:2::1",
            ),
            ("::/0", "ffff::1", "1.2.3.4"),
        ] {
            let entry = Entry::new(net(network), geo).unwrap();
            assert!(entry.holds(ip(inside)), "{network} {inside}");
            assert!(!entry.holds(ip(outside)), "{network} {outside}");
            assert_eq!(entry.geo(), geo);
        }
        let none = Geo::default();
        assert_eq!(Entry::new(net("10.0.0.0/8"), none).unwrap().geo(), none);
        // An AS number of 0 is the database's answer, not "none".
        let zero = Geo {
            country: None,
            asn: Some(0),
        };
        assert_eq!(Entry::new(net("10.0.0.0/8"), zero).unwrap().geo(), zero);
        // Past 64 bits an IPv6 network is not kept.
        assert!(Entry::new(net("2001:db8::/65"), geo).is_none());
        // An empty entry holds nothing.
        assert!(!Entry::default().holds(ip("0.0.0.0")));
        assert_eq!(std::mem::size_of::<Set>(), 64);
    }

    #[test]
    fn a_network_holds_the_addresses_of_its_prefix_and_its_version_only() {
        let half = net("192.0.2.128/25");
        assert!(half.contains(ip("192.0.2.129")));
        assert!(half.contains(ip("192.0.2.255")));
        assert!(!half.contains(ip("192.0.2.127")));
        assert!(!half.contains(ip("::c000:281")));
        let wide = net("10.0.0.0/8");
        assert!(wide.contains(ip("10.255.1.2")));
        assert!(!wide.contains(ip("11.0.0.0")));
        assert!(net("0.0.0.0/0").contains(ip("255.255.255.255")));
        assert!(net("192.0.2.7/32").contains(ip("192.0.2.7")));
        assert!(!net("192.0.2.7/32").contains(ip("192.0.2.6")));
        let v6 = net("2001:db8:1::/48");
        assert!(v6.contains(ip("2001:db8:1:ffff::1")));
        assert!(!v6.contains(ip("2001:db8:2::1")));
        assert!(net("::/0").contains(ip("ffff::1")));
        assert!(!net("::/0").contains(ip("1.2.3.4")));
        assert_eq!(Network::new(ip("1.2.3.4"), 33), None);
        // The host bits of the address given are dropped.
        assert_eq!(net("192.0.2.77/24"), net("192.0.2.0/24"));
    }
}
