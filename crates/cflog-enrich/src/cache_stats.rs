//! What a cache of the enrichments did: the agents' ([`ua::AgentCache`])
//! and the networks' ([`geoip::GeoCache`]) alike.
//!
//! [`ua::AgentCache`]: crate::ua::AgentCache
//! [`geoip::GeoCache`]: crate::geoip::GeoCache

/// A cache's counts since it was made, and its size now.
///
/// ```
/// use cflog_enrich::CacheStats;
///
/// let stats = CacheStats { hits: 3, misses: 1, ..CacheStats::default() };
/// assert_eq!(stats.hit_rate(), 0.75);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not: the agent parsed, or the address looked up
    /// in the database.
    pub misses: u64,
    /// The bytes the cache holds now (at most its bound).
    pub bytes: u64,
    /// The entries kept now.
    pub entries: usize,
}

impl CacheStats {
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
