//! Database answers kept by the network they are for, so that most lines
//! need no lookup.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use maxminddb::MaxMindDbError;
use quick_cache::UnitWeighter;
use quick_cache::sync::Cache;

use super::{Geo, GeoIp};

/// The default bound: 4 MiB, 65,536 networks, the networks of more clients
/// than a busy site's file holds.
pub const DEFAULT_NETWORKS_CAPACITY_BYTES: u64 = 4 << 20;

/// What one cached network counts for: its key (24 bytes), the network and
/// answer (32), and the cache's own slot and hash, rounded up.
const ENTRY_BYTES: u64 = 64;

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

/// Where an address's answer is kept: its /24 (IPv4) or /48 (IPv6), the
/// prefixes a client's addresses share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Prefix {
    V4(u32),
    V6(u64),
}

impl Prefix {
    fn of(address: IpAddr) -> Prefix {
        match address {
            IpAddr::V4(v4) => Prefix::V4(v4.to_bits() >> 8),
            IpAddr::V6(v6) => Prefix::V6((v6.to_bits() >> 80) as u64),
        }
    }
}

/// An answer and the network it holds for.
#[derive(Clone, Copy, Debug)]
struct Entry {
    network: Network,
    geo: Geo,
}

/// A [`GeoIp`] database behind a cache of its answers, bounded in bytes.
///
/// An answer is kept under the /24 (IPv4) or /48 (IPv6) of the address
/// looked up, with the network the database gave it for, and serves an
/// address of that prefix only when the address is in that network. A
/// network wider than the prefix (most are) then answers for the whole
/// prefix; a narrower one (a /24 split between two countries) answers for
/// its own addresses, and another address of the prefix is looked up in
/// the database and takes the place. So every answer is the database's.
///
/// It takes `&self`, for every writer on every thread (the cache is
/// sharded, each shard behind its own lock).
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
    entries: Cache<Prefix, Entry, UnitWeighter>,
    capacity_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A [`GeoCache`]'s counts since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkCacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups in the database.
    pub misses: u64,
    /// The networks kept now.
    pub entries: usize,
    /// What they count for, in bytes (at most the bound).
    pub bytes: u64,
}

impl NetworkCacheStats {
    /// The share of lookups answered from the cache, 0 with none.
    pub fn hit_rate(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

impl GeoCache {
    /// `db` behind a cache of at most `capacity_bytes` (64 bytes a network).
    pub fn new(db: GeoIp, capacity_bytes: u64) -> GeoCache {
        let networks = (capacity_bytes / ENTRY_BYTES).max(1);
        GeoCache {
            db,
            entries: Cache::new(networks as usize),
            capacity_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
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
        let prefix = Prefix::of(address);
        if let Some(entry) = self.entries.get(&prefix)
            && entry.network.contains(address)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(entry.geo);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let (geo, network) = self.db.lookup_searched(address)?;
        if let Some(network) = network {
            self.entries.insert(prefix, Entry { network, geo });
        }
        Ok(geo)
    }

    /// The counts so far, and the cache's size now.
    pub fn stats(&self) -> NetworkCacheStats {
        let entries = self.entries.len();
        NetworkCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            bytes: entries as u64 * ENTRY_BYTES,
        }
    }

    /// The bound, in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }
}

impl std::fmt::Debug for GeoCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoCache")
            .field("db", &self.db)
            .field("stats", &self.stats())
            .field("capacity_bytes", &self.capacity_bytes)
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
